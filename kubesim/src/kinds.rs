//! Per-kind behaviour, as data: which writes bump `metadata.generation`,
//! which kinds have a status subresource, the default delete propagation,
//! name rules, known top-level fields and selectable fields, plus the few
//! kind-specific create/update steps (namespace finalizers, Secret
//! `stringData`, Service cluster IPs).
//!
//! # Caveats
//! Defaulting is minimal in part 1: server-side apply (part 2) needs the
//! full defaults a real server fills in and will extend [`prepare_create`].

use serde_json::{Map, Value, json};

use crate::base64;
use crate::error::{ApiError, Cause};
use crate::resources::ResourceType;

/// When `metadata.generation` is set and bumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// The kind has no generation (ConfigMap, Secret, Pod in 1.32, ...).
    Absent,
    /// Bumped when `spec` changes.
    Spec,
    /// Bumped when `spec` or `metadata.annotations` change (Deployment:
    /// annotations are copied to its ReplicaSets; fixture 21).
    SpecAndAnnotations,
}

/// Which name syntax a kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (most kinds).
    Subdomain,
    /// DNS-1123 label (Namespace).
    Label,
    /// DNS-1035 label (Service).
    Label1035,
    /// Any path segment (RBAC kinds).
    PathSegment,
}

/// Kind-specific create/update steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    None,
    Namespace,
    Secret,
    Service,
    Pod,
}

/// The behaviour of one kind.
#[derive(Debug)]
pub struct KindRules {
    pub generation: Generation,
    /// Has a `/status` subresource: main-resource writes keep the stored
    /// status and `/status` writes change only the status.
    pub status: bool,
    /// Delete without a propagationPolicy orphans dependents (Jobs).
    pub orphan_by_default: bool,
    pub name_rule: NameRule,
    /// Known top-level fields besides `apiVersion`, `kind` and `metadata`.
    pub fields: &'static [&'static str],
    /// Selectable fields besides `metadata.name`/`metadata.namespace`:
    /// (selector name, dotted JSON path).
    pub field_selectors: &'static [(&'static str, &'static str)],
    pub special: Special,
    /// Maximum name length when shorter than the rule's own limit.
    pub max_name: Option<usize>,
}

const fn rules(generation: Generation, status: bool, fields: &'static [&'static str]) -> KindRules {
    KindRules {
        generation,
        status,
        orphan_by_default: false,
        name_rule: NameRule::Subdomain,
        fields,
        field_selectors: &[],
        special: Special::None,
        max_name: None,
    }
}

const SPEC_STATUS: &[&str] = &["spec", "status"];

pub static CONFIG_MAP: KindRules = rules(
    Generation::Absent,
    false,
    &["data", "binaryData", "immutable"],
);
pub static SECRET: KindRules = KindRules {
    special: Special::Secret,
    field_selectors: &[("type", "type")],
    ..rules(
        Generation::Absent,
        false,
        &["data", "stringData", "type", "immutable"],
    )
};
pub static SERVICE_ACCOUNT: KindRules = rules(
    Generation::Absent,
    false,
    &[
        "secrets",
        "imagePullSecrets",
        "automountServiceAccountToken",
    ],
);
pub static NAMESPACE: KindRules = KindRules {
    special: Special::Namespace,
    name_rule: NameRule::Label,
    field_selectors: &[("status.phase", "status.phase")],
    ..rules(Generation::Absent, true, SPEC_STATUS)
};
pub static SERVICE: KindRules = KindRules {
    special: Special::Service,
    name_rule: NameRule::Label1035,
    ..rules(Generation::Absent, true, SPEC_STATUS)
};
pub static PVC: KindRules = rules(Generation::Absent, true, SPEC_STATUS);
pub static PV: KindRules = rules(Generation::Absent, true, SPEC_STATUS);
pub static NODE: KindRules = KindRules {
    field_selectors: &[("spec.unschedulable", "spec.unschedulable")],
    ..rules(Generation::Absent, true, SPEC_STATUS)
};
pub static POD: KindRules = KindRules {
    special: Special::Pod,
    field_selectors: &[
        ("spec.nodeName", "spec.nodeName"),
        ("spec.restartPolicy", "spec.restartPolicy"),
        ("spec.schedulerName", "spec.schedulerName"),
        ("spec.serviceAccountName", "spec.serviceAccountName"),
        ("status.phase", "status.phase"),
        ("status.podIP", "status.podIP"),
        ("status.nominatedNodeName", "status.nominatedNodeName"),
    ],
    ..rules(Generation::Absent, true, SPEC_STATUS)
};
pub static EVENT: KindRules = KindRules {
    field_selectors: &[
        ("involvedObject.kind", "involvedObject.kind"),
        ("involvedObject.namespace", "involvedObject.namespace"),
        ("involvedObject.name", "involvedObject.name"),
        ("involvedObject.uid", "involvedObject.uid"),
        ("involvedObject.apiVersion", "involvedObject.apiVersion"),
        (
            "involvedObject.resourceVersion",
            "involvedObject.resourceVersion",
        ),
        ("involvedObject.fieldPath", "involvedObject.fieldPath"),
        ("reason", "reason"),
        ("reportingComponent", "reportingComponent"),
        ("source", "source.component"),
        ("type", "type"),
    ],
    ..rules(
        Generation::Absent,
        false,
        &[
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
    )
};
/// events.k8s.io/v1 Events: the same selectable fields, under their new names.
pub static EVENT_V1: KindRules = KindRules {
    field_selectors: &[
        ("regarding.kind", "regarding.kind"),
        ("regarding.namespace", "regarding.namespace"),
        ("regarding.name", "regarding.name"),
        ("regarding.uid", "regarding.uid"),
        ("reason", "reason"),
        ("reportingController", "reportingController"),
        ("type", "type"),
    ],
    ..rules(
        Generation::Absent,
        false,
        &[
            "eventTime",
            "series",
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "regarding",
            "related",
            "note",
            "type",
            "deprecatedSource",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "deprecatedCount",
        ],
    )
};
pub static CONTROLLER_REVISION: KindRules = rules(Generation::Absent, false, &["data", "revision"]);
pub static DEPLOYMENT: KindRules = rules(Generation::SpecAndAnnotations, true, SPEC_STATUS);
pub static REPLICA_SET: KindRules = KindRules {
    field_selectors: &[("status.replicas", "status.replicas")],
    ..rules(Generation::Spec, true, SPEC_STATUS)
};
pub static STATEFUL_SET: KindRules = rules(Generation::Spec, true, SPEC_STATUS);
pub static DAEMON_SET: KindRules = rules(Generation::Spec, true, SPEC_STATUS);
pub static JOB: KindRules = KindRules {
    orphan_by_default: true,
    field_selectors: &[("status.successful", "status.succeeded")],
    ..rules(Generation::Spec, true, SPEC_STATUS)
};
pub static CRONJOB: KindRules = KindRules {
    max_name: Some(52),
    ..rules(Generation::Spec, true, SPEC_STATUS)
};
pub static INGRESS: KindRules = rules(Generation::Spec, true, SPEC_STATUS);
pub static NETWORK_POLICY: KindRules = rules(Generation::Spec, false, &["spec"]);
/// autoscaling/v2 HPAs have no generation (fixture 22).
pub static HPA: KindRules = rules(Generation::Absent, true, SPEC_STATUS);
pub static PDB: KindRules = rules(Generation::Spec, true, SPEC_STATUS);
pub static LEASE: KindRules = rules(Generation::Absent, false, &["spec"]);
pub static ROLE: KindRules = KindRules {
    name_rule: NameRule::PathSegment,
    ..rules(Generation::Absent, false, &["rules"])
};
pub static ROLE_BINDING: KindRules = KindRules {
    name_rule: NameRule::PathSegment,
    ..rules(Generation::Absent, false, &["subjects", "roleRef"])
};
pub static STORAGE_CLASS: KindRules = rules(
    Generation::Absent,
    false,
    &[
        "provisioner",
        "parameters",
        "reclaimPolicy",
        "mountOptions",
        "allowVolumeExpansion",
        "volumeBindingMode",
        "allowedTopologies",
    ],
);

/// Known `metadata` fields (ObjectMeta).
pub const METADATA_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Whether an update from `old` to `new` bumps `metadata.generation`.
pub fn bumps_generation(
    rules: &KindRules,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> bool {
    let meta = |o: &Map<String, Value>, k: &str| o.get("metadata").and_then(|m| m.get(k)).cloned();
    match rules.generation {
        Generation::Absent => false,
        Generation::Spec => old.get("spec") != new.get("spec"),
        Generation::SpecAndAnnotations => {
            old.get("spec") != new.get("spec")
                || meta(old, "annotations") != meta(new, "annotations")
        }
    }
}

/// Kind-specific steps on create, after metadata is filled in.
pub fn prepare_create(
    rt: &ResourceType,
    obj: &mut Map<String, Value>,
    ips: &mut dyn FnMut() -> String,
) -> Result<(), ApiError> {
    if rt.rules.status {
        obj.insert("status".into(), crate::ssa::defaults::initial_status(rt));
    }
    match rt.rules.special {
        Special::Namespace => {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let meta = obj["metadata"]
                .as_object_mut()
                .expect("metadata is an object");
            let labels = meta
                .entry("labels")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .ok_or_else(|| ApiError::bad_request("metadata.labels must be an object"))?;
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            obj.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
            obj.insert("status".into(), json!({"phase": "Active"}));
        }
        Special::Secret => fold_string_data(rt, obj)?,
        Special::Service => {
            let spec = obj.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                default_service(spec, ips);
            }
            obj.insert("status".into(), json!({"loadBalancer": {}}));
        }
        Special::Pod => {
            obj.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        Special::None => {}
    }
    Ok(())
}

/// Kind-specific steps on update (main resource), `old` being the stored
/// object.
pub fn prepare_update(
    rt: &ResourceType,
    old: &Map<String, Value>,
    new: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    match rt.rules.special {
        Special::Secret => fold_string_data(rt, new)?,
        Special::Service => {
            let old_ip = old.get("spec").and_then(|s| s.get("clusterIP")).cloned();
            let old_ips = old.get("spec").and_then(|s| s.get("clusterIPs")).cloned();
            let name = crate::object::meta_str(new, "name")
                .unwrap_or_default()
                .to_string();
            if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                match (spec.get("clusterIP"), &old_ip) {
                    (None, Some(ip)) | (Some(Value::String(_)), Some(ip))
                        if spec
                            .get("clusterIP")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .is_empty() =>
                    {
                        spec.insert("clusterIP".into(), ip.clone());
                        if let Some(ips) = &old_ips {
                            spec.insert("clusterIPs".into(), ips.clone());
                        }
                    }
                    (Some(new_ip), Some(ip)) if new_ip != ip => {
                        return Err(ApiError::invalid(
                            rt,
                            &name,
                            vec![Cause::invalid_go(
                                "spec.clusterIPs[0]",
                                &format!("[]string{{{:?}}}", new_ip.as_str().unwrap_or_default()),
                                "may not change once set",
                            )],
                        ));
                    }
                    _ => {}
                }
                if !spec.contains_key("clusterIPs")
                    && let Some(ips) = &old_ips
                {
                    spec.insert("clusterIPs".into(), ips.clone());
                }
            }
        }
        Special::Namespace => {
            // spec.finalizers is only changed through /finalize.
            if let Some(spec) = old.get("spec") {
                new.insert("spec".into(), spec.clone());
            }
        }
        Special::Pod | Special::None => {}
    }
    Ok(())
}

/// Folds Secret `stringData` into base64 `data` and checks `data` values.
fn fold_string_data(rt: &ResourceType, obj: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(Value::Object(sd)) = obj.remove("stringData") {
        let data = obj
            .entry("data")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("data must be an object"))?;
        for (k, v) in sd {
            let text = v.as_str().unwrap_or_default();
            data.insert(k, json!(base64::encode(text.as_bytes())));
        }
    }
    if let Some(Value::Object(data)) = obj.get("data") {
        for (k, v) in data {
            let ok = v.as_str().is_some_and(|s| base64::decode(s).is_some());
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "{} in version \"{}\" cannot be handled as a {}: illegal base64 data in data.{k}",
                    rt.kind, rt.version, rt.kind
                )));
            }
        }
    }
    if !obj.contains_key("type") {
        obj.insert("type".into(), json!("Opaque"));
    }
    Ok(())
}

fn default_service(spec: &mut Map<String, Value>, ips: &mut dyn FnMut() -> String) {
    let ty = spec
        .entry("type")
        .or_insert_with(|| json!("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if ty != "ExternalName" {
        let ip = match spec.get("clusterIP").and_then(Value::as_str) {
            Some(ip) if !ip.is_empty() => ip.to_string(),
            _ => ips(),
        };
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
        spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert_with(|| json!("SingleStack"));
        spec.entry("internalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
    }
    spec.entry("sessionAffinity")
        .or_insert_with(|| json!("None"));
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert_with(|| json!("TCP"));
            if !p.contains_key("targetPort")
                && let Some(port) = p.get("port").cloned()
            {
                p.insert("targetPort".into(), port);
            }
        }
    }
}

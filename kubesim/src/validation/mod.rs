//! Semantic validation per kind, the real server's `Validate` and
//! `ValidateUpdate` (kubernetes 1.32 `pkg/apis/*/validation`) for the
//! kinds kubesim serves, run on create, update, apply and patch (dry runs
//! included) after defaulting: metadata (labels, annotations), then one
//! table per kind ([`KINDS`]: integer fields that may not be negative,
//! enums, required fields, and the kind's rule functions), and on update
//! the immutable fields. Messages, fields and reasons follow the real
//! server (fixtures 07, 12, 24). [`decode`] holds what the real server
//! finds earlier, while decoding the body into the typed object.
//!
//! # Caveats
//! Not every rule of the real server is here: the fields whose rules are
//! missing are refused ([`unvalidated`], listed in the README) unless they
//! hold a neutral value, so nothing is silently accepted. Messages
//! that embed a Go struct dump are shortened (`{...}`) or carry made-up
//! pointers (a PDB's spec).

mod config;
pub mod decode;
mod env;
mod events;
mod fields;
mod hpa;
mod network;
mod pod;
mod probes;
mod scheduling;
mod security;
mod selectors;
mod unvalidated;
mod volumes;
mod workloads;

use serde_json::{Map, Value};

use crate::error::{ApiError, Cause};
use crate::resources::ResourceType;
use crate::validate;
use fields::{at, non_negative, one_of, positive, required};
use selectors::go_selector;

type Rule = fn(&Value, &mut Vec<Cause>);

/// What the real server checks on one kind.
struct KindChecks {
    group: &'static str,
    kind: &'static str,
    /// Integer fields (dotted paths) that may not be negative.
    non_negative: &'static [&'static str],
    /// Integer fields that must be positive, with the server's wording.
    positive: &'static [(&'static str, &'static str)],
    /// String fields and their supported values (absent is fine).
    enums: &'static [(&'static str, &'static [&'static str])],
    /// Fields that must be present and non-empty.
    required: &'static [&'static str],
    rules: &'static [Rule],
}

const NONE: KindChecks = KindChecks {
    group: "",
    kind: "",
    non_negative: &[],
    positive: &[],
    enums: &[],
    required: &[],
    rules: &[],
};

/// The kinds with more than metadata to check.
static KINDS: &[KindChecks] = &[
    KindChecks {
        kind: "ConfigMap",
        rules: &[config::config_keys, config::data_size],
        ..NONE
    },
    KindChecks {
        kind: "Secret",
        rules: &[config::config_keys, config::data_size, config::secret_type],
        ..NONE
    },
    KindChecks {
        kind: "Service",
        enums: &[
            (
                "spec.type",
                &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
            ),
            ("spec.sessionAffinity", &["ClientIP", "None"]),
            ("spec.externalTrafficPolicy", &["Cluster", "Local"]),
            ("spec.internalTrafficPolicy", &["Cluster", "Local"]),
        ],
        rules: &[network::service],
        ..NONE
    },
    KindChecks {
        kind: "PersistentVolumeClaim",
        enums: &[("spec.volumeMode", &["Block", "Filesystem"])],
        rules: &[config::pvc],
        ..NONE
    },
    KindChecks {
        kind: "Pod",
        rules: &[|o, out| pod::pod_spec(o.get("spec"), "spec", pod::ANY_RESTART, out)],
        ..NONE
    },
    KindChecks {
        group: "apps",
        kind: "Deployment",
        non_negative: &[
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.progressDeadlineSeconds",
        ],
        enums: &[("spec.strategy.type", &["Recreate", "RollingUpdate"])],
        rules: &[
            workloads::selector_matches_template,
            workloads::apps_template,
            workloads::deployment_strategy,
        ],
        ..NONE
    },
    KindChecks {
        group: "apps",
        kind: "StatefulSet",
        non_negative: &[
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.updateStrategy.rollingUpdate.partition",
        ],
        enums: &[
            ("spec.podManagementPolicy", &["OrderedReady", "Parallel"]),
            ("spec.updateStrategy.type", &["OnDelete", "RollingUpdate"]),
            (
                "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
                &["Retain", "Delete"],
            ),
            (
                "spec.persistentVolumeClaimRetentionPolicy.whenScaled",
                &["Retain", "Delete"],
            ),
        ],
        rules: &[
            workloads::selector_matches_template,
            workloads::statefulset_template,
        ],
        ..NONE
    },
    KindChecks {
        group: "apps",
        kind: "ReplicaSet",
        non_negative: &["spec.replicas", "spec.minReadySeconds"],
        rules: &[
            workloads::selector_matches_template,
            workloads::apps_template,
        ],
        ..NONE
    },
    KindChecks {
        group: "apps",
        kind: "DaemonSet",
        non_negative: &["spec.minReadySeconds", "spec.revisionHistoryLimit"],
        enums: &[("spec.updateStrategy.type", &["RollingUpdate", "OnDelete"])],
        rules: &[
            workloads::selector_matches_template,
            workloads::apps_template,
            workloads::daemonset_rolling_update,
        ],
        ..NONE
    },
    KindChecks {
        group: "apps",
        kind: "ControllerRevision",
        non_negative: &["revision"],
        ..NONE
    },
    KindChecks {
        group: "batch",
        kind: "Job",
        non_negative: &[
            "spec.parallelism",
            "spec.completions",
            "spec.backoffLimit",
            "spec.ttlSecondsAfterFinished",
            "spec.activeDeadlineSeconds",
        ],
        enums: &[("spec.completionMode", &["Indexed", "NonIndexed"])],
        rules: &[workloads::job_template],
        ..NONE
    },
    KindChecks {
        group: "batch",
        kind: "CronJob",
        non_negative: &[
            "spec.startingDeadlineSeconds",
            "spec.successfulJobsHistoryLimit",
            "spec.failedJobsHistoryLimit",
            "spec.jobTemplate.spec.backoffLimit",
            "spec.jobTemplate.spec.parallelism",
            "spec.jobTemplate.spec.completions",
        ],
        enums: &[("spec.concurrencyPolicy", &["Allow", "Forbid", "Replace"])],
        required: &["spec.schedule"],
        rules: &[workloads::cronjob_template, unvalidated::schedule],
        ..NONE
    },
    KindChecks {
        group: "networking.k8s.io",
        kind: "Ingress",
        rules: &[network::ingress],
        ..NONE
    },
    KindChecks {
        group: "networking.k8s.io",
        kind: "NetworkPolicy",
        rules: &[network::network_policy],
        ..NONE
    },
    KindChecks {
        group: "autoscaling",
        kind: "HorizontalPodAutoscaler",
        rules: &[hpa::hpa],
        ..NONE
    },
    KindChecks {
        group: "policy",
        kind: "PodDisruptionBudget",
        rules: &[config::pdb],
        ..NONE
    },
    KindChecks {
        kind: "Event",
        rules: &[|o, out| events::event(o, false, out)],
        ..NONE
    },
    KindChecks {
        group: "events.k8s.io",
        kind: "Event",
        rules: &[|o, out| events::event(o, true, out)],
        ..NONE
    },
    KindChecks {
        kind: "ServiceAccount",
        rules: &[service_account],
        ..NONE
    },
    KindChecks {
        group: "coordination.k8s.io",
        kind: "Lease",
        non_negative: &["spec.leaseTransitions"],
        positive: &[("spec.leaseDurationSeconds", "must be greater than 0")],
        ..NONE
    },
];

/// A ServiceAccount's references need a name. Stricter than the real
/// server (`ValidateServiceAccount` checks only metadata): a reference
/// without a name points at nothing.
fn service_account(o: &Value, out: &mut Vec<Cause>) {
    for list in ["secrets", "imagePullSecrets"] {
        for (i, r) in fields::items(Some(o), list).iter().enumerate() {
            required(out, &format!("{list}[{i}].name"), r.get("name"));
        }
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

/// Causes that make a new object invalid.
fn object_causes(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let meta = obj.get("metadata");
    validate::label_causes(
        "metadata.labels",
        meta.and_then(|m| m.get("labels")),
        &mut out,
    );
    validate::annotation_causes(meta.and_then(|m| m.get("annotations")), &mut out);
    for field in ["spec.selector.matchLabels", "spec.template.metadata.labels"] {
        validate::label_causes(field, at(obj, field), &mut out);
    }
    let Some(k) = KINDS
        .iter()
        .find(|k| k.group == rt.group && k.kind == rt.kind)
    else {
        return out;
    };
    for f in k.required {
        required(&mut out, f, at(obj, f));
    }
    for f in k.non_negative {
        non_negative(&mut out, f, at(obj, f));
    }
    for (f, why) in k.positive {
        positive(&mut out, f, at(obj, f), why);
    }
    for (f, allowed) in k.enums {
        one_of(&mut out, f, at(obj, f), allowed);
    }
    for rule in k.rules {
        rule(obj, &mut out);
    }
    unvalidated::object(rt.group, rt.kind, obj, &mut out);
    out
}

/// Validates a new object (after defaulting).
pub fn validate_create(
    rt: &ResourceType,
    name: &str,
    obj: &Map<String, Value>,
) -> Result<(), ApiError> {
    let causes = object_causes(rt, &Value::Object(obj.clone()));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

/// Validates an update of `old` to `new` (main resource).
pub fn validate_update(
    rt: &ResourceType,
    name: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ApiError> {
    let (old, new) = (Value::Object(old.clone()), Value::Object(new.clone()));
    let mut causes = object_causes(rt, &new);
    let changed = |path: &[&str]| get(&old, path) != get(&new, path);
    match (rt.group, rt.plural) {
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
            if changed(&["spec", "selector"]) =>
        {
            let sel = get(&new, &["spec", "selector"])
                .cloned()
                .unwrap_or(Value::Null);
            causes.push(Cause::invalid_go(
                "spec.selector",
                &go_selector(&sel),
                "field is immutable",
            ));
        }
        ("batch", "jobs") if changed(&["spec", "template"]) => {
            causes.push(Cause::invalid_go(
                "spec.template",
                "core.PodTemplateSpec{...}",
                "field is immutable",
            ));
        }
        ("", "configmaps" | "secrets") if old.get("immutable") == Some(&Value::Bool(true)) => {
            for f in ["data", "binaryData"] {
                if changed(&[f]) {
                    causes.push(Cause {
                        reason: "FieldValueForbidden",
                        message: "Forbidden: field is immutable when `immutable` is set".into(),
                        field: Some(f.to_string()),
                    });
                }
            }
            if new.get("immutable") != Some(&Value::Bool(true)) {
                causes.push(Cause {
                    reason: "FieldValueForbidden",
                    message: "Forbidden: field is immutable when `immutable` is set".into(),
                    field: Some("immutable".to_string()),
                });
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rt(plural: &str) -> &'static ResourceType {
        crate::resources::find("apps", "v1", plural).unwrap().1
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn selector_change_matches_fixture_07() {
        let old = map(json!({"spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "b"}]}}}}));
        let new = map(
            json!({"spec": {"selector": {"matchLabels": {"app": "web2"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "b"}]}}}}),
        );
        let e = validate_update(rt("deployments"), "web", &old, &new).unwrap_err();
        assert_eq!(
            e.message,
            "Deployment.apps \"web\" is invalid: [spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`, spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable]"
        );
    }

    fn invalid_fields(
        group: &str,
        version: &str,
        plural: &str,
        obj: Value,
    ) -> Vec<(String, &'static str)> {
        let rt = crate::resources::find(group, version, plural).unwrap().1;
        match validate_create(rt, "x", &map(obj)) {
            Ok(()) => Vec::new(),
            Err(e) => e
                .details
                .unwrap()
                .causes
                .into_iter()
                .map(|c| (c.field.unwrap(), c.reason))
                .collect(),
        }
    }

    fn pairs(v: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        v.iter().map(|(f, r)| (f.to_string(), *r)).collect()
    }

    #[test]
    fn other_kinds_rules() {
        let svc = |spec: Value| {
            let mut spec = spec;
            spec["ports"] = json!([{"port": 80}]);
            json!({"metadata": {"name": "x"}, "spec": spec})
        };
        assert_eq!(
            invalid_fields(
                "",
                "v1",
                "services",
                svc(json!({"sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}}))
            ),
            []
        );
        assert_eq!(
            invalid_fields(
                "",
                "v1",
                "services",
                svc(json!({"sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
                "allocateLoadBalancerNodePorts": true}))
            ),
            pairs(&[
                (
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    "FieldValueInvalid"
                ),
                ("spec.allocateLoadBalancerNodePorts", "FieldValueForbidden"),
            ])
        );
        assert_eq!(
            invalid_fields(
                "",
                "v1",
                "services",
                svc(json!({"sessionAffinity": "None",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10}}}))
            ),
            pairs(&[("spec.sessionAffinityConfig", "FieldValueForbidden")])
        );
        let np = |egress: Value| {
            json!({"metadata": {"name": "x"}, "spec": {"podSelector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web"]}]}, "egress": egress}})
        };
        assert_eq!(
            invalid_fields(
                "networking.k8s.io",
                "v1",
                "networkpolicies",
                np(
                    json!([{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]}])
                )
            ),
            []
        );
        assert_eq!(
            invalid_fields(
                "networking.k8s.io",
                "v1",
                "networkpolicies",
                np(
                    json!([{"to": [{}, {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Has"}]}}]}])
                )
            ),
            pairs(&[
                ("spec.egress[0].to[0]", "FieldValueRequired"),
                (
                    "spec.egress[0].to[1].podSelector.matchExpressions[0].operator",
                    "FieldValueInvalid"
                ),
            ])
        );
        assert_eq!(
            invalid_fields(
                "",
                "v1",
                "persistentvolumeclaims",
                json!({"spec": {
                "storageClassName": "Fast_SSD", "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}}})
            ),
            pairs(&[("spec.storageClassName", "FieldValueInvalid")])
        );
        let ds = |ru: Value| {
            json!({"spec": {"selector": {"matchLabels": {"a": "b"}}, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": ru},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        };
        assert_eq!(
            invalid_fields(
                "apps",
                "v1",
                "daemonsets",
                ds(json!({"maxUnavailable": 1, "maxSurge": 0}))
            ),
            []
        );
        assert_eq!(
            invalid_fields(
                "apps",
                "v1",
                "daemonsets",
                ds(json!({"maxUnavailable": "10%", "maxSurge": 1}))
            ),
            pairs(&[(
                "spec.updateStrategy.rollingUpdate.maxSurge",
                "FieldValueInvalid"
            )])
        );
        assert_eq!(
            invalid_fields(
                "apps",
                "v1",
                "daemonsets",
                ds(json!({"maxUnavailable": 0, "maxSurge": "0%"}))
            ),
            pairs(&[(
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                "FieldValueInvalid"
            )])
        );
        let mut sts = ds(json!(null));
        sts["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": -1}});
        sts["spec"]["persistentVolumeClaimRetentionPolicy"] =
            json!({"whenDeleted": "Keep", "whenScaled": "Delete"});
        assert_eq!(
            invalid_fields("apps", "v1", "statefulsets", sts),
            pairs(&[
                (
                    "spec.updateStrategy.rollingUpdate.partition",
                    "FieldValueInvalid"
                ),
                (
                    "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
                    "FieldValueNotSupported"
                ),
            ])
        );
        let cj = |schedule: &str| {
            json!({"spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}}})
        };
        assert_eq!(
            invalid_fields("batch", "v1", "cronjobs", cj("*/15 * * * *")),
            []
        );
        assert_eq!(
            invalid_fields("batch", "v1", "cronjobs", cj("every minute")),
            pairs(&[("spec.schedule", "FieldValueForbidden")])
        );
    }

    #[test]
    fn service_account_references_need_names() {
        let sa = crate::resources::find("", "v1", "serviceaccounts")
            .unwrap()
            .1;
        let ok = map(
            json!({"metadata": {"name": "bot"}, "secrets": [{"name": "tok"}],
            "imagePullSecrets": [{"name": "registry"}]}),
        );
        assert!(validate_create(sa, "bot", &ok).is_ok());
        let bad = map(
            json!({"metadata": {"name": "bot"}, "secrets": [{"namespace": "x"}],
            "imagePullSecrets": [{"name": ""}]}),
        );
        let e = validate_create(sa, "bot", &bad).unwrap_err();
        assert_eq!(
            e.message,
            "ServiceAccount \"bot\" is invalid: [secrets[0].name: Required value, imagePullSecrets[0].name: Required value]"
        );
    }

    #[test]
    fn workloads_need_selector_and_containers() {
        let e = validate_create(rt("deployments"), "d", &map(json!({"spec": {}}))).unwrap_err();
        let fields: Vec<String> = e
            .details
            .unwrap()
            .causes
            .iter()
            .map(|c| c.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["spec.selector", "spec.template.spec.containers"]);
    }
}

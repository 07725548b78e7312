//! Schema: every built-in kind deserializes strictly into its k8s-openapi
//! type. k8s-openapi ignores unknown fields by design, so `serde_ignored`
//! reports each with its path; `serde_path_to_error` names the field of a
//! wrong type. The typed value is thrown away: the applied object stays
//! the rendered JSON (a round trip through the structs would drop exactly
//! the fields this rule reports).
//!
//! # Caveats
//! Deserialization stops at the first wrong type, so an object reports at
//! most one type error per run (fix it and lint again). Kinds without a
//! k8s-openapi type (custom resources such as a Prometheus ServiceMonitor)
//! are not schema-checked: a note says so.

use k8s_openapi::Resource;
use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, discovery, networking};
use k8s_openapi::api::{policy, rbac, scheduling, storage};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{index_path, join_path};

/// What strict deserialization found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    unknown: Vec<String>,
    wrong: Option<(String, String)>,
}

type CheckFn = fn(&Value) -> Outcome;

/// Deserializes `value` as `T`, collecting unknown fields and the first
/// type error.
fn strict<T: DeserializeOwned>(value: &Value) -> Outcome {
    let mut unknown = Vec::new();
    let mut record = |p: serde_ignored::Path| unknown.push(ignored_path(&p));
    let de = serde_ignored::Deserializer::new(value, &mut record);
    let wrong = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(_) => None,
        Err(e) => {
            let path = e.path().iter().fold(String::new(), |p, s| match s {
                serde_path_to_error::Segment::Seq { index } => index_path(&p, *index),
                serde_path_to_error::Segment::Map { key }
                | serde_path_to_error::Segment::Enum { variant: key } => join_path(&p, key),
                serde_path_to_error::Segment::Unknown => p,
            });
            Some((path, e.into_inner().to_string()))
        }
    };
    Outcome { unknown, wrong }
}

fn ignored_path(p: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match p {
        Path::Root => String::new(),
        Path::Seq { parent, index } => index_path(&ignored_path(parent), *index),
        Path::Map { parent, key } => join_path(&ignored_path(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

macro_rules! kinds {
    ($($t:ty),* $(,)?) => {
        &[$((<$t as Resource>::API_VERSION, <$t as Resource>::KIND, strict::<$t> as CheckFn)),*]
    };
}

/// The built-in kinds lint knows, by (apiVersion, kind).
const KINDS: &[(&str, &str, CheckFn)] = kinds![
    core::v1::ConfigMap,
    core::v1::Endpoints,
    core::v1::LimitRange,
    core::v1::Namespace,
    core::v1::PersistentVolume,
    core::v1::PersistentVolumeClaim,
    core::v1::Pod,
    core::v1::ReplicationController,
    core::v1::ResourceQuota,
    core::v1::Secret,
    core::v1::Service,
    core::v1::ServiceAccount,
    apps::v1::DaemonSet,
    apps::v1::Deployment,
    apps::v1::ReplicaSet,
    apps::v1::StatefulSet,
    autoscaling::v1::HorizontalPodAutoscaler,
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::CronJob,
    batch::v1::Job,
    coordination::v1::Lease,
    discovery::v1::EndpointSlice,
    networking::v1::Ingress,
    networking::v1::IngressClass,
    networking::v1::NetworkPolicy,
    policy::v1::PodDisruptionBudget,
    rbac::v1::ClusterRole,
    rbac::v1::ClusterRoleBinding,
    rbac::v1::Role,
    rbac::v1::RoleBinding,
    scheduling::v1::PriorityClass,
    storage::v1::StorageClass,
];

/// Whether an apiVersion belongs to Kubernetes itself (not a CRD).
fn built_in_group(api_version: &str) -> bool {
    match api_version.split_once('/') {
        None => true,
        Some((group, _)) => {
            matches!(group, "apps" | "batch" | "policy" | "autoscaling")
                || group.ends_with(".k8s.io")
        }
    }
}

pub fn check(ctx: &Context, out: &mut Findings) {
    for (o, at) in ctx.each() {
        let api_version = o.str_at("/apiVersion");
        let kind = o.kind();
        match KINDS
            .iter()
            .find(|(a, k, _)| *a == api_version && *k == kind)
        {
            Some((_, _, strict)) => {
                let mut outcome = strict(&o.value);
                if kind == "Secret" {
                    redact(&mut outcome);
                }
                report(&outcome, &at, out)
            }
            None => unknown_kind(api_version, kind, &at, out),
        }
    }
}

/// A Secret's data never reaches the terminal (SPEC §3): serde's message
/// quotes the value (`invalid type: integer `12345``), so only what was
/// expected is kept.
fn redact(outcome: &mut Outcome) {
    let Some((path, message)) = &mut outcome.wrong else {
        return;
    };
    if !(path.starts_with("data") || path.starts_with("stringData")) {
        return;
    }
    let expected = message
        .split_once(", expected")
        .map(|(_, e)| format!(": expected{e}"))
        .unwrap_or_default();
    *message = format!("the value is invalid (not shown: Secret data){expected}");
}

fn report(outcome: &Outcome, at: &Subject, out: &mut Findings) {
    for path in &outcome.unknown {
        let field = path.rsplit(['.', '[']).next().unwrap_or(path);
        out.error(
            "schema/unknown-field",
            at,
            path,
            format!("unknown field `{}`: Kubernetes drops it (or rejects the object under strict field validation)", field.trim_end_matches(']')),
            "fix its spelling or indentation, or remove it (`kubectl explain <kind>.<path>` lists the fields)",
        );
    }
    if let Some((path, message)) = &outcome.wrong {
        out.error(
            "schema/type",
            at,
            path,
            message.clone(),
            "give the field the type Kubernetes expects (numbers unquoted, text quoted); \
             lint stops at the first type error of an object, run it again after the fix",
        );
    }
}

fn unknown_kind(api_version: &str, kind: &str, at: &Subject, out: &mut Findings) {
    let served: Vec<&str> = KINDS
        .iter()
        .filter(|(_, k, _)| *k == kind)
        .map(|(a, _, _)| *a)
        .collect();
    if built_in_group(api_version) && !served.is_empty() {
        out.error(
            "schema/api-version",
            at,
            "apiVersion",
            format!("Kubernetes 1.32 does not serve {kind} as `{api_version}`"),
            format!("use apiVersion {}", served.join(" or ")),
        );
    } else {
        out.note(
            "schema/skipped",
            at,
            "",
            format!("{api_version} {kind} has no built-in schema: its fields are not checked"),
            "check it against its CRD (`kubectl apply --dry-run=server`)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(container: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"selector": {"matchLabels": {"a": "b"}},
                        "template": {"metadata": {"labels": {"a": "b"}},
                                     "spec": {"containers": [container]}}}})
    }

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let out = strict::<apps::v1::Deployment>(&deployment(
            json!({"name": "c", "image": "x:1", "resources": {"limits": {"memory": "1Gi"}}, "imagePullPolicy": "Always", "livenesProbe": {}}),
        ));
        assert_eq!(
            out.unknown,
            ["spec.template.spec.containers[0].livenesProbe"]
        );
        assert_eq!(out.wrong, None);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let out = strict::<apps::v1::Deployment>(&deployment(
            json!({"name": "c", "ports": [{"containerPort": "http"}]}),
        ));
        let (path, message) = out.wrong.unwrap();
        assert_eq!(
            path,
            "spec.template.spec.containers[0].ports[0].containerPort"
        );
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn secret_data_is_never_quoted() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                            "data": {"PW": 12345}});
        let mut out = strict::<core::v1::Secret>(&secret);
        assert!(out.wrong.as_ref().unwrap().1.contains("12345"));
        redact(&mut out);
        let (path, message) = out.wrong.unwrap();
        assert_eq!(path, "data.PW");
        assert!(!message.contains("12345"), "{message}");
        assert!(message.contains("not shown"), "{message}");
    }

    #[test]
    fn every_kind_is_known_once() {
        for (i, (a, k, _)) in KINDS.iter().enumerate() {
            assert!(
                !KINDS[i + 1..].iter().any(|(a2, k2, _)| a2 == a && k2 == k),
                "{a} {k}"
            );
        }
        assert!(built_in_group("networking.k8s.io/v1"));
        assert!(!built_in_group("monitoring.coreos.com/v1"));
    }
}

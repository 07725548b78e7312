//! `--force-replace`: an object whose change the server refuses because a
//! field cannot change after creation (a StatefulSet's
//! volumeClaimTemplates, a Deployment's selector, a Service's clusterIP)
//! is deleted and created again from the render.
//!
//! An apply is always tried first: the server is the judge. A refusal
//! counts as an immutable-field change when it is a 422 Invalid and every
//! cause names a field of [`IMMUTABLE_FIELDS`] whose rendered value
//! differs from the live one (or, the documented fallback for fields not
//! in the table, says so in the server's words: [`IMMUTABLE_PHRASES`]).
//! Any other refusal stays a refusal, so a plain validation error never
//! deletes anything.
//!
//! Workloads are deleted with Orphan propagation: their pods (and a
//! StatefulSet's claims, which it never owns) survive, and the recreated
//! controller adopts the pods its selector matches. The delete carries a
//! uid precondition (only the object judged is deleted), and the object
//! is recreated only once a GET answers 404.
//!
//! # Caveats
//! - PersistentVolumeClaims are never replaced: deleting one deletes its
//!   data. The refusal says so.
//! - Recreating a StatefulSet does not resize the claims it made earlier:
//!   new volumeClaimTemplates apply to claims created from now on.
//! - A Deployment whose selector changed adopts nothing: its old
//!   ReplicaSet and pods stay, orphaned, until deleted by hand.
//! - Between the delete and the create the object does not exist (its
//!   pods keep running); if the create then fails, it stays deleted and
//!   the error says so.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Preconditions, PropagationPolicy};
use serde_json::Value;

use super::live::LiveIndex;
use crate::cluster::retry;
use crate::manifest::{Object, ObjectId};

/// Fields the API server refuses to change on an existing object, by
/// (API group, kind), as JSON pointers. Kept small: the kinds thebot
/// renders and the fields a values change can reach.
pub const IMMUTABLE_FIELDS: &[(&str, &str, &[&str])] = &[
    (
        "apps",
        "StatefulSet",
        &[
            "/spec/selector",
            "/spec/volumeClaimTemplates",
            "/spec/serviceName",
            "/spec/podManagementPolicy",
        ],
    ),
    ("apps", "Deployment", &["/spec/selector"]),
    ("apps", "DaemonSet", &["/spec/selector"]),
    ("batch", "Job", &["/spec/selector", "/spec/template"]),
    ("", "Service", &["/spec/clusterIP", "/spec/clusterIPs"]),
    (
        "",
        "PersistentVolumeClaim",
        &[
            "/spec/storageClassName",
            "/spec/accessModes",
            "/spec/volumeMode",
            "/spec/volumeName",
            "/spec/selector",
        ],
    ),
];

/// The fallback: how a 1.32 server words a refusal of an immutable field
/// (fixtures 07, 08, 11, 12, 13). Read only when no table field explains
/// a 422 Invalid cause.
pub const IMMUTABLE_PHRASES: &[&str] = &[
    "field is immutable",
    "may not change once set",
    "updates to statefulset spec for fields other than",
    "spec is immutable after creation",
];

/// How long a replaced object may take to disappear (finalizers, the
/// garbage collector orphaning its pods) before thebot gives up.
pub const GONE_WITHIN: Duration = Duration::from_secs(120);

/// How an object of a kind is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Delete with Orphan propagation: dependents (pods) are kept.
    Orphan,
    /// Delete with Background propagation.
    Background,
    /// Never deleted (its data would go with it).
    Refuse,
}

impl Policy {
    pub fn of(id: &ObjectId) -> Policy {
        match (id.group.as_str(), id.kind.as_str()) {
            ("apps", "StatefulSet" | "Deployment" | "DaemonSet" | "ReplicaSet") => Policy::Orphan,
            ("", "PersistentVolumeClaim") => Policy::Refuse,
            _ => Policy::Background,
        }
    }

    fn propagation(self) -> PropagationPolicy {
        match self {
            Policy::Orphan => PropagationPolicy::Orphan,
            _ => PropagationPolicy::Background,
        }
    }
}

/// An object replaced (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// `Kind/namespace/name`.
    pub object: String,
    /// The fields that could not change (`spec.volumeClaimTemplates`).
    pub fields: Vec<String>,
    pub policy: Policy,
    pub dry_run: bool,
}

impl Replaced {
    /// What happened, without the object: `replaced: spec.x cannot
    /// change; deleted with Orphan propagation (its pods were kept) and
    /// recreated`.
    pub fn what(&self) -> String {
        let fields = self.fields.join(", ");
        let (done, kept) = match self.dry_run {
            false => ("replaced", "its pods were kept"),
            true => ("would be replaced", "its pods would be kept"),
        };
        match self.policy {
            Policy::Orphan => format!(
                "{done}: {fields} cannot change; deleted with Orphan propagation ({kept}) and recreated"
            ),
            _ => format!("{done}: {fields} cannot change; deleted and recreated"),
        }
    }
}

impl std::fmt::Display for Replaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.what())
    }
}

/// `/spec/volumeClaimTemplates` -> `spec.volumeClaimTemplates`.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// Whether everything `render` sets is in `live` with the same value
/// (the server adds defaults, so `live` may hold more).
fn within(render: &Value, live: &Value) -> bool {
    match (render, live) {
        (Value::Object(r), Value::Object(l)) => r
            .iter()
            .all(|(k, v)| v.is_null() || l.get(k).is_some_and(|lv| within(v, lv))),
        (Value::Array(r), Value::Array(l)) => {
            r.len() == l.len() && r.iter().zip(l).all(|(a, b)| within(a, b))
        }
        _ => render == live,
    }
}

/// The table's fields whose rendered value differs from the live object's
/// (`spec.volumeClaimTemplates`). A field the render omits is not a change.
pub fn changed_fields(object: &Object, live: &Value) -> Vec<String> {
    let id = object.id();
    let Some((_, _, fields)) = IMMUTABLE_FIELDS
        .iter()
        .find(|(g, k, _)| *g == id.group && *k == id.kind)
    else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|p| {
            object
                .value
                .pointer(p)
                .is_some_and(|r| !r.is_null() && !live.pointer(p).is_some_and(|l| within(r, l)))
        })
        .map(|p| dotted(p))
        .collect()
}

/// Whether a cause's field (`spec`, `spec.selector`, `spec.clusterIPs[0]`)
/// is `field`, inside it, or encloses it.
fn related(cause: &str, field: &str) -> bool {
    let inside = |a: &str, b: &str| {
        a == b
            || a.strip_prefix(b)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    inside(cause, field) || inside(field, cause)
}

fn says_immutable(message: &str) -> bool {
    IMMUTABLE_PHRASES.iter().any(|p| message.contains(p))
}

/// The fields an apply refusal is about, when it refuses an immutable-field
/// change (and nothing else); `changed` is [`changed_fields`].
pub fn immutable_change(e: &kube::Error, changed: &[String]) -> Option<Vec<String>> {
    let kube::Error::Api(status) = e else {
        return None;
    };
    if status.code != 422 || status.reason != "Invalid" {
        return None;
    }
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    if causes.is_empty() {
        return (!changed.is_empty() || says_immutable(&status.message)).then(|| {
            if changed.is_empty() {
                vec!["a field".to_string()]
            } else {
                changed.to_vec()
            }
        });
    }
    let mut fields = Vec::new();
    for c in causes {
        let by_table: Vec<&String> = changed.iter().filter(|f| related(&c.field, f)).collect();
        if !by_table.is_empty() {
            fields.extend(by_table.into_iter().cloned());
        } else if says_immutable(&c.message) {
            fields.push(if c.field.is_empty() {
                "a field".to_string()
            } else {
                c.field.clone()
            });
        } else {
            return None;
        }
    }
    fields.sort();
    fields.dedup();
    Some(fields)
}

/// The refusal without `--force-replace` (or of a kind never replaced).
pub fn advice(id: &ObjectId, fields: &[String], server: &str) -> String {
    let fields = fields.join(", ");
    match Policy::of(id) {
        Policy::Refuse => format!(
            "{fields} cannot change on an existing {} (the server refused: {server}). \
             --force-replace does not replace it: deleting it would delete its data. \
             Keep the old value, or move the data to a new claim by hand",
            id.kind
        ),
        Policy::Orphan => format!(
            "{fields} cannot change on an existing {} (the server refused: {server}). \
             Re-run with --force-replace to delete it (its pods and volumes are kept) and recreate it",
            id.kind
        ),
        Policy::Background => format!(
            "{fields} cannot change on an existing {} (the server refused: {server}). \
             Re-run with --force-replace to delete and recreate it",
            id.kind
        ),
    }
}

/// The uid and value of the object as it is: from the plan-time LIST, or
/// a GET when it appeared since.
pub async fn current(
    api: &Api<DynamicObject>,
    id: &ObjectId,
    live: &LiveIndex,
) -> Result<Option<(String, Value)>, kube::Error> {
    if let Some(l) = live.get(id) {
        return Ok(Some((l.uid.clone(), l.value.clone())));
    }
    let found = retry::idempotent(|_| api.get_opt(&id.name)).await?;
    Ok(found.map(|o| {
        let uid = o.metadata.uid.clone().unwrap_or_default();
        (uid, serde_json::to_value(&o).unwrap_or(Value::Null))
    }))
}

/// Deletes the object with `uid` (and only it) and waits until it is gone.
pub async fn delete_and_wait(
    api: &Api<DynamicObject>,
    name: &str,
    uid: &str,
    policy: Policy,
) -> Result<(), String> {
    let dp = DeleteParams {
        propagation_policy: Some(policy.propagation()),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match retry::idempotent(|_| api.delete(name, &dp)).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => {
            return Err(format!(
                "cannot delete it to replace it: {}",
                super::describe(&e)
            ));
        }
    }
    let until = tokio::time::Instant::now() + GONE_WITHIN;
    let mut pause = Duration::from_millis(50);
    loop {
        match retry::idempotent(|_| api.get_opt(name)).await {
            Ok(None) => return Ok(()),
            Ok(Some(o)) if o.metadata.uid.as_deref() != Some(uid) => {
                return Err(
                    "was deleted to be replaced, but something else created it again meanwhile: re-run"
                        .to_string(),
                );
            }
            Ok(Some(o)) if tokio::time::Instant::now() >= until => {
                let finalizers = o.metadata.finalizers.unwrap_or_default().join(", ");
                return Err(format!(
                    "was deleted to be replaced, but is still there after {} s (finalizers: [{finalizers}])",
                    GONE_WITHIN.as_secs()
                ));
            }
            Ok(Some(_)) => {}
            Err(e) => {
                return Err(format!(
                    "was deleted to be replaced, but cannot be read: {}",
                    super::describe(&e)
                ));
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{Status, response::StatusCause, response::StatusDetails};
    use serde_json::json;

    fn sts(storage: &str) -> Object {
        Object {
            source: String::new(),
            value: json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "db", "namespace": "ns"},
                "spec": {"serviceName": "db", "selector": {"matchLabels": {"a": "b"}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}]}}),
        }
    }

    /// The live set as a server returns it: with defaults in the templates.
    fn live(storage: &str) -> Value {
        json!({"spec": {"serviceName": "db", "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"a": "b"}},
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": storage}}},
                "status": {"phase": "Pending"}}]}})
    }

    fn refusal(field: &str, reason: &str, message: &str) -> kube::Error {
        let status = Status::failure("StatefulSet.apps \"db\" is invalid", "Invalid")
            .with_code(422)
            .with_details(StatusDetails {
                causes: vec![StatusCause {
                    reason: reason.into(),
                    message: message.into(),
                    field: field.into(),
                }],
                name: "db".into(),
                group: "apps".into(),
                kind: "StatefulSet".into(),
                uid: String::new(),
                retry_after_seconds: 0,
            });
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn only_a_table_field_the_render_changes_counts() {
        assert!(
            changed_fields(&sts("5Gi"), &live("5Gi")).is_empty(),
            "defaults are no change"
        );
        assert_eq!(
            changed_fields(&sts("10Gi"), &live("5Gi")),
            ["spec.volumeClaimTemplates"]
        );
        let mut omitted = sts("5Gi");
        omitted.value["spec"]
            .as_object_mut()
            .unwrap()
            .remove("serviceName");
        assert!(changed_fields(&omitted, &live("5Gi")).is_empty());
    }

    #[test]
    fn the_statefulset_refusal_of_fixture_11_is_an_immutable_change() {
        // Fixture 11's cause is on `spec`, not on the template field.
        let e = refusal(
            "spec",
            "FieldValueForbidden",
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
        let changed = vec!["spec.volumeClaimTemplates".to_string()];
        assert_eq!(
            immutable_change(&e, &changed),
            Some(vec!["spec.volumeClaimTemplates".to_string()])
        );
        // Not in the table: the fallback names the server's field.
        assert_eq!(immutable_change(&e, &[]), Some(vec!["spec".to_string()]));
    }

    #[test]
    fn a_plain_validation_error_is_never_an_immutable_change() {
        let e = refusal(
            "spec.template.metadata.labels",
            "FieldValueInvalid",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        assert_eq!(immutable_change(&e, &["spec.selector".to_string()]), None);
        let conflict = kube::Error::Api(Box::new(
            Status::failure("conflict", "Conflict").with_code(409),
        ));
        assert_eq!(immutable_change(&conflict, &["spec.selector".into()]), None);
    }

    #[test]
    fn the_service_fallback_reads_the_servers_words() {
        // Fixture 12: the cause is on clusterIPs[0].
        let e = refusal(
            "spec.clusterIPs[0]",
            "FieldValueInvalid",
            "Invalid value: []string{\"10.0.0.49\"}: may not change once set",
        );
        assert_eq!(
            immutable_change(&e, &["spec.clusterIPs".into()]),
            Some(vec!["spec.clusterIPs".to_string()])
        );
        assert_eq!(
            immutable_change(&e, &[]),
            Some(vec!["spec.clusterIPs[0]".to_string()])
        );
    }

    #[test]
    fn claims_are_never_replaced_and_workloads_keep_their_pods() {
        let id = |group: &str, kind: &str| ObjectId {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: "x".into(),
        };
        assert_eq!(Policy::of(&id("", "PersistentVolumeClaim")), Policy::Refuse);
        assert_eq!(Policy::of(&id("apps", "StatefulSet")), Policy::Orphan);
        assert_eq!(Policy::of(&id("", "Service")), Policy::Background);
        let msg = advice(
            &id("apps", "StatefulSet"),
            &["spec.volumeClaimTemplates".into()],
            "x",
        );
        assert!(msg.contains("--force-replace"), "{msg}");
        let msg = advice(
            &id("", "PersistentVolumeClaim"),
            &["spec.accessModes".into()],
            "x",
        );
        assert!(msg.contains("does not replace it"), "{msg}");
    }
}

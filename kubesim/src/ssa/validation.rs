//! Update rules the real server enforces on the objects thebot applies,
//! beyond [`crate::validation`]: a StatefulSet's spec is frozen but for a
//! few fields (fixture 11), and a PersistentVolumeClaim may only grow a
//! bound claim's storage request, through a StorageClass that allows
//! expansion (fixture 13: 422 for a shrink or an unbound claim, 403 from
//! admission otherwise).
//!
//! # Caveats
//! The unbound-PVC message gives the first line of the real one, not its
//! Go struct diff.

use serde_json::{Map, Value};

use super::defaults::quantity_nanos;
use crate::error::{ApiError, Cause, Details};
use crate::resources::ResourceType;

const STS_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn spec_without(o: &Map<String, Value>, keep: &[&str]) -> Map<String, Value> {
    let mut s = o
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    s.retain(|k, _| !keep.contains(&k.as_str()));
    s
}

/// Checks an update of the main resource (after defaulting); `allows_expansion`
/// says whether a StorageClass lets claims grow.
pub fn validate_update(
    rt: &ResourceType,
    name: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    allows_expansion: &dyn Fn(&str) -> bool,
) -> Result<(), ApiError> {
    match (rt.group, rt.kind) {
        ("apps", "StatefulSet")
            if spec_without(old, STS_MUTABLE) != spec_without(new, STS_MUTABLE) =>
        {
            return Err(ApiError::invalid(
                rt,
                name,
                vec![Cause::forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )],
            ));
        }
        ("", "PersistentVolumeClaim") => pvc(rt, name, old, new, allows_expansion)?,
        _ => {}
    }
    Ok(())
}

fn storage(o: &Map<String, Value>, path: &str) -> Option<i128> {
    Value::Object(o.clone())
        .pointer(path)
        .and_then(Value::as_str)
        .and_then(quantity_nanos)
}

fn pvc(
    rt: &ResourceType,
    name: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    allows_expansion: &dyn Fn(&str) -> bool,
) -> Result<(), ApiError> {
    // Binding sets volumeName, and a claim without a class gets the
    // default one (retroactive default StorageClass): both allowed once.
    let mut settable: Vec<&str> = vec![];
    for f in ["volumeName", "storageClassName"] {
        if old
            .get("spec")
            .and_then(|s| s.get(f))
            .is_none_or(|v| v.is_null() || v == "")
        {
            settable.push(f);
        }
    }
    let bound = Value::Object(old.clone()).pointer("/status/phase") == Some(&Value::from("Bound"));
    let limits = |o: &Map<String, Value>| {
        Value::Object(o.clone())
            .pointer("/spec/resources/limits")
            .cloned()
    };
    let mut ignored = settable.clone();
    if bound {
        ignored.extend(["resources", "volumeAttributesClassName"]);
    }
    let others_changed = spec_without(old, &ignored) != spec_without(new, &ignored)
        || (bound && limits(old) != limits(new));
    if others_changed {
        return Err(ApiError::invalid(
            rt,
            name,
            vec![Cause::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            )],
        ));
    }
    let request = "/spec/resources/requests/storage";
    let (was, now) = (storage(old, request), storage(new, request));
    if was == now {
        return Ok(());
    }
    if let (Some(now), Some(cap)) = (now, storage(old, "/status/capacity/storage"))
        && now < cap
    {
        return Err(ApiError::invalid(
            rt,
            name,
            vec![Cause::forbidden(
                "spec.resources.requests.storage",
                "field can not be less than status.capacity",
            )],
        ));
    }
    let class = new
        .get("spec")
        .and_then(|s| s.get("storageClassName"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if class.is_empty() || !allows_expansion(class) {
        return Err(ApiError::forbidden(
            format!(
                "persistentvolumeclaims \"{name}\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
            ),
            Details {
                name: Some(name.to_string()),
                kind: Some("persistentvolumeclaims".into()),
                ..Details::default()
            },
        ));
    }
    Ok(())
}

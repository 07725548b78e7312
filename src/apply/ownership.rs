//! Who owns an existing object: thebot refuses to apply over an object
//! that another release, another tool or a person created, unless asked
//! to take it over (`--take-ownership`).
//!
//! Taking an object over is two steps: an apply with force (thebot owns
//! every field it sets), then [`take_fields`]: the managedFields entries
//! of the deploy tools that wrote the object before ([`TAKEN_OVER`]) are
//! merged into thebot's Apply entry and removed, by writing
//! `metadata.managedFields` (the API lets any write but an apply replace
//! them). thebot then owns the fields only they had set, so its next
//! apply removes those it no longer renders (server-side apply removes
//! omitted fields only from their sole owner).
//!
//! # Caveats
//! - Only the main resource's entries move; `/status` and `/scale` entries
//!   (controllers, an autoscaler) stay.
//! - Managers not in [`TAKEN_OVER`] (controllers, operators, webhooks)
//!   keep their fields: thebot never prunes what they co-own.
//! - Field sets are merged as written: an entry recorded for another API
//!   version of the kind is merged as if it were the applied one.

use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::live::LiveIndex;
use super::{FIELD_MANAGER, api_for, describe};
use crate::cluster::{Discovery, retry};
use crate::manifest::{Object, ObjectId};
use crate::plan::RELEASE_ANNOTATION;

/// The managers whose fields `--take-ownership` moves to thebot: deploy
/// tools and hand edits (Helm 3 and 4, kubectl's client-side and
/// server-side apply and its editing commands, and `before-first-apply`,
/// the entry a server makes when a client-side-applied object is first
/// applied server-side). `kubectl-rollout` is not one: its restart stamp
/// would be removed, rolling the pods.
pub const TAKEN_OVER: &[&str] = &[
    "helm",
    "kubectl",
    "kubectl-client-side-apply",
    "before-first-apply",
    "kubectl-create",
    "kubectl-edit",
    "kubectl-patch",
    "kubectl-replace",
    "kubectl-label",
    "kubectl-annotate",
    "kubectl-set",
];

/// An existing object the release does not own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `Kind/namespace/name`.
    pub object: String,
    /// Who owns it, as far as its metadata tells.
    pub owner: String,
    /// Extra advice (Helm).
    pub hint: Option<String>,
}

/// Every planned object that exists without this release's annotation.
pub fn foreign_objects(objects: &[Object], live: &LiveIndex, release_key: &str) -> Vec<Foreign> {
    let mut out = Vec::new();
    for o in objects {
        let Some(existing) = live.get(&o.id()) else {
            continue;
        };
        let owner = existing.annotation(RELEASE_ANNOTATION);
        if owner == Some(release_key) {
            continue;
        }
        let helm_release = existing.annotation("meta.helm.sh/release-name");
        let helm = helm_release.is_some()
            || existing.label("app.kubernetes.io/managed-by") == Some("Helm");
        out.push(Foreign {
            object: o.id().to_string(),
            owner: match (owner, helm_release) {
                (Some(other), _) => format!("thebot release {other}"),
                (None, Some(h)) => format!("Helm release {h}"),
                (None, None) if helm => "Helm".to_string(),
                (None, None) => "no release (created by hand or another tool)".to_string(),
            },
            hint: helm.then(|| {
                "it is managed by Helm: adopt it with --take-ownership, then remove it from the Helm release \
                 (`helm uninstall --keep-history` would otherwise delete it)"
                    .to_string()
            }),
        });
    }
    out
}

fn is_main_resource(entry: &Value) -> bool {
    entry
        .get("subresource")
        .is_none_or(|s| s.as_str().is_some_and(str::is_empty))
}

fn manager(entry: &Value) -> &str {
    entry.get("manager").and_then(Value::as_str).unwrap_or("")
}

/// Adds every field of `from` to `into` (FieldsV1 sets are trees of
/// objects: `f:`/`k:`/`v:`/`i:` keys, `.` for the node itself).
fn union(into: &mut Value, from: &Value) {
    let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in from {
        match into.get_mut(k) {
            Some(existing) => union(existing, v),
            None => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `entries` with the [`TAKEN_OVER`] managers' main-resource fields merged
/// into thebot's Apply entry and their entries removed, and the managers
/// moved; `None` when there is nothing to move (or no thebot entry to
/// move it to).
pub fn moved_to_thebot(entries: &[Value]) -> Option<(Vec<Value>, Vec<String>)> {
    let is_thebot =
        |e: &Value| manager(e) == FIELD_MANAGER && e["operation"] == "Apply" && is_main_resource(e);
    let taken = |e: &Value| TAKEN_OVER.contains(&manager(e)) && is_main_resource(e);
    let mut thebot = entries.iter().find(|e| is_thebot(e))?.clone();
    let mut moved: Vec<String> = Vec::new();
    for e in entries.iter().filter(|e| taken(e)) {
        union(&mut thebot["fieldsV1"], &e["fieldsV1"]);
        if !moved.iter().any(|m| m == manager(e)) {
            moved.push(manager(e).to_string());
        }
    }
    if moved.is_empty() {
        return None;
    }
    let out = entries
        .iter()
        .filter(|e| !taken(e))
        .map(|e| {
            if is_thebot(e) {
                thebot.clone()
            } else {
                e.clone()
            }
        })
        .collect();
    Some((out, moved))
}

/// Moves the fields other deploy tools own on `ids` to thebot (see the
/// module comment); returns each object changed and the managers moved.
/// A write races with controllers, so it carries the resourceVersion it
/// was computed from and is recomputed on a conflict.
pub async fn take_fields(
    client: &kube::Client,
    discovery: &Discovery,
    ids: &[ObjectId],
) -> Result<Vec<(ObjectId, Vec<String>)>, String> {
    let mut out = Vec::new();
    for id in ids {
        let api = api_for(client, discovery, id).ok_or_else(|| format!("{id}: kind not served"))?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let obj = retry::idempotent(|_| api.get(&id.name))
                .await
                .map_err(|e| {
                    format!(
                        "{id}: cannot read it to take its fields over: {}",
                        describe(&e)
                    )
                })?;
            let value = serde_json::to_value(&obj).unwrap_or(Value::Null);
            let entries = value
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let Some((fields, moved)) = moved_to_thebot(&entries) else {
                break;
            };
            let body = json!({"metadata": {
                "resourceVersion": obj.metadata.resource_version,
                "managedFields": fields,
            }});
            match api
                .patch(&id.name, &PatchParams::default(), &Patch::Merge(&body))
                .await
            {
                Ok(_) => {
                    out.push((id.clone(), moved));
                    break;
                }
                Err(kube::Error::Api(s)) if s.code == 409 && attempts < 4 => continue,
                Err(e) => {
                    return Err(format!(
                        "{id}: cannot move the fields of {} to thebot: {}",
                        moved.join(", "),
                        describe(&e)
                    ));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_tools_fields_move_to_thebot_and_controllers_keep_theirs() {
        let entries = vec![
            json!({"manager": "helm", "operation": "Update", "apiVersion": "v1",
                "fieldsV1": {"f:data": {"f:EXTRA": {}, "f:LOG_LEVEL": {}}}}),
            json!({"manager": "thebot", "operation": "Apply", "apiVersion": "v1",
                "fieldsV1": {"f:data": {"f:LOG_LEVEL": {}}, "f:metadata": {"f:labels": {"f:a": {}}}}}),
            json!({"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                "fieldsV1": {"f:metadata": {"f:annotations": {"f:x": {}}}}}),
            json!({"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "subresource": "status", "fieldsV1": {"f:status": {}}}),
        ];
        let (after, moved) = moved_to_thebot(&entries).expect("helm's fields move");
        assert_eq!(moved, ["helm"]);
        let managers: Vec<&str> = after.iter().map(manager).collect();
        assert_eq!(managers, ["thebot", "kube-controller-manager", "kubectl"]);
        assert_eq!(
            after[0]["fieldsV1"],
            json!({"f:data": {"f:LOG_LEVEL": {}, "f:EXTRA": {}}, "f:metadata": {"f:labels": {"f:a": {}}}})
        );
        assert!(moved_to_thebot(&after).is_none(), "nothing left to move");
    }

    #[test]
    fn nothing_moves_without_a_thebot_apply_entry() {
        let entries =
            vec![json!({"manager": "helm", "operation": "Update", "fieldsV1": {"f:data": {}}})];
        assert!(moved_to_thebot(&entries).is_none());
    }
}

//! Server-side apply of planned objects and the change set it produces.
//!
//! Every object is applied as rendered (never round-tripped through typed
//! structs) with field manager `thebot` and `fieldValidation=Strict`;
//! objects of one stage go concurrently (bounded). Whether an object was
//! created, configured or left unchanged is read from the apply response
//! against the LIST taken at plan time: a real server does not write a
//! no-op apply, so its resourceVersion stays the same.
//!
//! An apply the server refuses because a field cannot change after
//! creation is, with `--force-replace`, a delete and a create
//! ([`replace`]); without it, a refusal that says so.

pub mod handover;
pub mod live;
pub mod ownership;
pub mod replace;

use futures_util::stream::{self, StreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams, ValidationDirective};
use serde::Serialize;
use serde_json::Value;

use crate::cluster::{Discovery, retry};
use crate::manifest::{Object, ObjectId};
use live::LiveIndex;
use replace::{Policy, Replaced};

/// The field manager of every thebot apply.
pub const FIELD_MANAGER: &str = "thebot";

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Deleted,
}

/// One entry of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(skip)]
    pub id: ObjectId,
    /// `Kind/namespace/name`.
    pub object: String,
    pub action: Action,
    /// `metadata.generation` the apply produced, when the kind has one:
    /// a wait must not judge an older version of the object.
    #[serde(skip)]
    pub generation: Option<i64>,
    /// `metadata.uid` of the applied object: after a replacement, a wait
    /// must not judge the deleted object the watch may still show.
    #[serde(skip)]
    pub uid: Option<String>,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// `--force-conflicts`: take fields other managers own.
    pub force_conflicts: bool,
    /// `--force-replace`: delete and recreate an object whose change the
    /// server refuses as immutable (workloads with Orphan propagation).
    pub force_replace: bool,
    /// Apply with dryRun=All (nothing is persisted).
    pub dry_run: bool,
    /// Objects applied at once within a stage.
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force_conflicts: false,
            force_replace: false,
            dry_run: false,
            concurrency: 8,
        }
    }
}

/// An object the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `Kind/namespace/name`.
    pub object: String,
    pub message: String,
}

/// Why a stage could not be applied: every refusal, not only the first.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|r| format!("{}: {}", r.object, r.message)).collect::<Vec<_>>().join("\n"))]
pub struct ApplyError(pub Vec<Refusal>);

fn params(opts: &ApplyOptions, force: bool) -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        force: force || opts.force_conflicts,
        field_validation: Some(ValidationDirective::Strict),
        dry_run: opts.dry_run,
    }
}

/// The API for an object's kind, in its namespace.
pub fn api_for(
    client: &kube::Client,
    discovery: &Discovery,
    id: &ObjectId,
) -> Option<Api<DynamicObject>> {
    let res = discovery.resource_for(id)?;
    Some(if res.namespaced {
        Api::namespaced_with(client.clone(), &id.namespace, &res.api_resource())
    } else {
        Api::all_with(client.clone(), &res.api_resource())
    })
}

/// What a stage's apply did: the change set in input order, and the
/// objects replaced on the way (`--force-replace`).
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub changes: Vec<Change>,
    pub replaced: Vec<Replaced>,
}

/// One object's apply: its change, and its replacement if any.
type OneApplied = Result<(Change, Option<Replaced>), Refusal>;

/// Applies `objects` concurrently.
/// `force_for` names objects applied with force whatever the options
/// (objects taken over with `--take-ownership`).
pub async fn apply(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[&Object],
    live: &LiveIndex,
    opts: &ApplyOptions,
    force_for: &[ObjectId],
) -> Result<Applied, ApplyError> {
    let results: Vec<(usize, OneApplied)> = stream::iter(objects.iter().enumerate())
        .map(|(i, o)| async move {
            let force = force_for.contains(&o.id());
            (i, apply_one(client, discovery, o, live, opts, force).await)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut ordered: Vec<_> = results;
    ordered.sort_by_key(|(i, _)| *i);
    let mut applied = Applied::default();
    let mut refusals = Vec::new();
    for (_, r) in ordered {
        match r {
            Ok((c, r)) => {
                applied.changes.push(c);
                applied.replaced.extend(r);
            }
            Err(e) => refusals.push(e),
        }
    }
    if refusals.is_empty() {
        Ok(applied)
    } else {
        Err(ApplyError(refusals))
    }
}

async fn apply_one(
    client: &kube::Client,
    discovery: &Discovery,
    object: &Object,
    live: &LiveIndex,
    opts: &ApplyOptions,
    force: bool,
) -> OneApplied {
    let id = object.id();
    let refuse = |message: String| Refusal {
        object: id.to_string(),
        message,
    };
    let api = api_for(client, discovery, &id)
        .ok_or_else(|| refuse("its kind is not served by the cluster".into()))?;
    let pp = params(opts, force);
    let patch = Patch::Apply(&object.value);
    let mut replaced = None;
    let applied = match retry::idempotent(|_| api.patch(&id.name, &pp, &patch)).await {
        Ok(a) => a,
        Err(e) => {
            let Some(r) = replacement(&api, object, live, opts, &e).await? else {
                return Err(refuse(describe(&e)));
            };
            if r.dry_run {
                let change = Change {
                    object: id.to_string(),
                    id,
                    action: Action::Configured,
                    generation: None,
                    uid: None,
                };
                return Ok((change, Some(r)));
            }
            replaced = Some(r);
            retry::idempotent(|_| api.patch(&id.name, &pp, &patch))
                .await
                .map_err(|e| {
                    refuse(format!(
                        "was deleted to be replaced, but creating it again failed: {}. \
                         It stays deleted (its pods, if any, keep running): fix the cause and re-run",
                        describe(&e)
                    ))
                })?
        }
    };
    let action = action_of(live.get(&id), &applied, replaced.is_some(), opts.dry_run);
    let change = Change {
        object: id.to_string(),
        id,
        action,
        generation: applied.metadata.generation,
        uid: applied.metadata.uid.clone(),
    };
    Ok((change, replaced))
}

/// What an apply did to the object that was `before` (`None`: it did not
/// exist), judging by what the server answered.
fn action_of(
    before: Option<&live::LiveObject>,
    applied: &DynamicObject,
    replaced: bool,
    dry_run: bool,
) -> Action {
    let after = serde_json::to_value(applied).unwrap_or(Value::Null);
    match before {
        None => Action::Created,
        // A replaced object is a new one, but the release had it before.
        Some(_) if replaced => Action::Configured,
        // A dry run persists nothing, so its resourceVersion never moves:
        // compare what the object would be with what it is.
        Some(b) if dry_run => {
            if comparable(b.value.clone()) == comparable(after) {
                Action::Unchanged
            } else {
                Action::Configured
            }
        }
        Some(b)
            if b.resource_version.as_str()
                == applied.metadata.resource_version.as_deref().unwrap_or("") =>
        {
            Action::Unchanged
        }
        // Controllers write status between our LIST and the apply: the
        // resourceVersion moved, but thebot's own apply entry (its time
        // and fields) only changes when the apply changed something.
        Some(b)
            if applier_entry(&b.value).is_some()
                && applier_entry(&b.value) == applier_entry(&after) =>
        {
            Action::Unchanged
        }
        Some(_) => Action::Configured,
    }
}

/// After an apply refused with `e`: `None` when it is not an
/// immutable-field change; the replacement when `--force-replace` allows
/// one (done, unless a dry run); a refusal that says what to do otherwise.
async fn replacement(
    api: &kube::Api<kube::api::DynamicObject>,
    object: &Object,
    live: &LiveIndex,
    opts: &ApplyOptions,
    e: &kube::Error,
) -> Result<Option<Replaced>, Refusal> {
    let id = object.id();
    let refuse = |message: String| Refusal {
        object: id.to_string(),
        message,
    };
    let Some((uid, value)) = replace::current(api, &id, live)
        .await
        .map_err(|e| refuse(describe(&e)))?
    else {
        return Ok(None);
    };
    let changed = replace::changed_fields(object, &value);
    let Some(fields) = replace::immutable_change(e, &changed) else {
        return Ok(None);
    };
    let policy = Policy::of(&id);
    if !opts.force_replace || policy == Policy::Refuse {
        return Err(refuse(replace::advice(&id, &fields, &describe(e))));
    }
    if !opts.dry_run {
        replace::delete_and_wait(api, &id.name, &uid, policy)
            .await
            .map_err(refuse)?;
    }
    Ok(Some(Replaced {
        object: id.to_string(),
        fields,
        policy,
        dry_run: opts.dry_run,
    }))
}

/// An object without what the server maintains (managedFields,
/// resourceVersion, generation, uid, timestamps, status) and without kind
/// and apiVersion (listed items lack them): what a change is judged on.
pub fn comparable(mut v: Value) -> Value {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            m.shift_remove(k);
        }
    }
    if let Some(o) = v.as_object_mut() {
        for k in ["status", "kind", "apiVersion"] {
            o.shift_remove(k);
        }
    }
    v
}

/// thebot's own Apply entry of an object's managedFields.
fn applier_entry(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e["manager"] == FIELD_MANAGER
                && e["operation"] == "Apply"
                && e.get("subresource").is_none_or(|s| s.as_str() == Some(""))
        })
}

/// A server error as a sentence: conflicts list each field and manager.
pub fn describe(e: &kube::Error) -> String {
    let kube::Error::Api(status) = e else {
        return format!("request failed: {e}");
    };
    let causes: Vec<(String, String, String)> = status
        .details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.reason.clone(), c.field.clone(), c.message.clone()))
                .collect()
        })
        .unwrap_or_default();
    if status.code == 409 && causes.iter().any(|(r, _, _)| r == "FieldManagerConflict") {
        let fields: Vec<String> = causes
            .iter()
            .filter(|(r, _, _)| r == "FieldManagerConflict")
            .map(|(_, field, message)| {
                format!(
                    "{field} is owned by {}",
                    message.trim_start_matches("conflict with ")
                )
            })
            .collect();
        return format!(
            "conflict with another field manager: {}. Re-run with --force-conflicts to take these fields over",
            fields.join(", ")
        );
    }
    let mut message = format!("{} ({} {})", status.message, status.code, status.reason);
    if status.code == 401 {
        message.push_str(": the credentials were rejected");
    } else if status.code == 403 {
        message.push_str(": the user may not do this (check RBAC or --as)");
    }
    message
}

/// `spec.replicas` of a live object, if any.
pub fn live_replicas(value: &Value) -> Option<i64> {
    value.pointer("/spec/replicas").and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{Status, response::StatusCause, response::StatusDetails};

    #[test]
    fn conflicts_name_each_field_and_manager() {
        let status = Status::failure("Apply failed with 2 conflicts", "Conflict")
            .with_code(409)
            .with_details(StatusDetails {
                causes: vec![
                    StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: "conflict with \"kubectl\"".into(),
                        field: ".spec.replicas".into(),
                    },
                    StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: "conflict with \"helm\"".into(),
                        field: ".data.a".into(),
                    },
                ],
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                retry_after_seconds: 0,
            });
        let msg = describe(&kube::Error::Api(Box::new(status)));
        assert!(
            msg.contains(".spec.replicas is owned by \"kubectl\""),
            "{msg}"
        );
        assert!(msg.contains(".data.a is owned by \"helm\""), "{msg}");
        assert!(msg.contains("--force-conflicts"), "{msg}");
    }
}

//! `PATCH` with `application/apply-patch+yaml`: the checks the real server
//! makes before merging (options, body, kind, name, namespace, namespace
//! admission, typed conversion), then [`super::apply`] and the write
//! pipeline: 201 when the apply created the object, 200 otherwise, and the
//! stored bytes unchanged (same resourceVersion) when nothing changed.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};
use crate::object::{meta_mut, meta_str};
use crate::reply::{JSON, Reply};
use crate::resources::ResourceType;
use crate::verbs::Call;
use crate::verbs::checks;
use crate::verbs::write::{self, Part};

use super::Track;

pub fn apply(call: &Call, dry: bool) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let manager = call.query.get("fieldManager").unwrap_or("").to_string();
    if manager.is_empty() {
        return Err(ApiError::invalid_options(
            "PatchOptions",
            vec![Cause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        ));
    }
    // fieldValidation is checked for its syntax only: unknown fields in an
    // apply body are a 500 whatever it says (fixture 14).
    call.field_validation()?;
    let force = match call.query.get("force") {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid boolean value for force: {other}"
            )));
        }
    };
    let text = String::from_utf8_lossy(&call.body);
    let mut obj = match crate::yaml::to_json(&text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(ApiError::bad_request("error decoding YAML: not an object")),
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "error decoding YAML: error converting YAML to JSON: yaml: {e}"
            )));
        }
    };
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind != rt.kind || av != rt.api_version() {
        let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
        return Err(ApiError::bad_request(format!(
            "invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    let name = meta_str(&obj, "name").unwrap_or("");
    if name != call.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            call.name()
        )));
    }
    let ns = meta_str(&obj, "namespace").unwrap_or("");
    if rt.namespaced && !ns.is_empty() && ns != call.ns() {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if obj
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    if rt.namespaced {
        meta_mut(&mut obj).insert("namespace".into(), json!(call.ns()));
    }
    if let Some(e) = crate::validation::decode::typed_patch_error(rt, &obj) {
        return Err(internal(format!(
            "failed to create typed patch object ({}/{}; {}): {e}",
            call.ns(),
            call.name(),
            super::gvk(rt)
        )));
    }
    if let Some(root) = crate::schema::root(rt)
        && let Some(e) = crate::schema::apply_type_error(
            &crate::schema::Ty::Object(root),
            &Value::Object(obj.clone()),
        )
    {
        return Err(ApiError {
            code: 500,
            reason: None,
            message: format!(
                "failed to create typed patch object ({}/{}; {}): {e}",
                call.ns(),
                call.name(),
                super::gvk(rt)
            ),
            details: None,
        });
    }
    let now = call.sim.clock.now().rfc3339();
    let (subresource, part) = match call.t.sub.as_deref() {
        None => ("", Part::Main),
        Some("status") => ("status", Part::Status),
        Some(other) => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("kubesim does not implement server-side apply to /{other}"),
            ));
        }
    };
    let who = super::Applier {
        manager: &manager,
        subresource,
        force,
        now: &now,
    };
    let key = call.key();
    let (status, json) = {
        let mut store = call.sim.store();
        match store.get(&key).cloned() {
            None if part == Part::Status => return Err(ApiError::not_found(rt, call.name())),
            None => {
                checks::admit_namespace(&store, rt, call.ns(), call.name())?;
                let applied = super::apply(rt, None, obj, &who)?;
                converts(rt, call, &applied.obj)?;
                let track = Track::Applied(applied.managed_fields);
                let json = write::insert_tracked(
                    &call.sim,
                    &mut store,
                    key.res,
                    applied.obj,
                    dry,
                    &track,
                )?;
                (201, json)
            }
            Some(old) => {
                let live = old.to_map();
                let applied = super::apply(rt, Some(&live), obj, &who)?;
                converts(rt, call, &applied.obj)?;
                let track = Track::Applied(applied.managed_fields);
                let json =
                    write::update_tracked(&mut store, &key, &old, applied.obj, part, dry, &track)?;
                (200, json)
            }
        }
    };
    call.sim.gc.notify_one();
    Ok(Reply::bytes(status, JSON, json))
}

fn internal(message: String) -> ApiError {
    ApiError {
        code: 500,
        reason: None,
        message,
        details: None,
    }
}

/// The merged object must decode into the typed object (quantities,
/// integers, base64), else the real server's 500.
fn converts(rt: &ResourceType, call: &Call, obj: &Map<String, Value>) -> Result<(), ApiError> {
    match crate::validation::decode::conversion_error(rt, obj) {
        None => Ok(()),
        Some(e) => Err(internal(format!(
            "failed to convert new object ({}/{}; {gvk}) to proper version: unable to convert unstructured object to {gvk}: {e}",
            call.ns(),
            call.name(),
            gvk = super::gvk(rt)
        ))),
    }
}

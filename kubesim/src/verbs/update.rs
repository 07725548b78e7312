//! PUT on an object or its `/status` (or a workload's `/scale`):
//! resourceVersion precondition (409), name/namespace checks (400).

use serde_json::{Value, json};

use super::Call;
use super::checks;
use super::write::{self, Part};
use crate::error::ApiError;
use crate::object::meta_str;
use crate::reply::{JSON, Reply};

pub fn update(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let dry = call.dry_run("UpdateOptions")?;
    if call.t.sub.as_deref() == Some("scale") {
        let obj = call.body_object()?;
        return set_scale(
            call,
            obj.get("spec").and_then(|s| s.get("replicas")).cloned(),
            dry,
        );
    }
    let fv = call.field_validation()?;
    let mut obj = call.body_object()?;
    checks::check_kind(rt, &obj)?;
    let warnings = checks::unknown_fields(rt, &mut obj, fv)?;
    let body_name = meta_str(&obj, "name").unwrap_or("").to_string();
    if body_name != call.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            call.name()
        )));
    }
    checks::check_namespace_field(rt, &mut obj, call.ns())?;
    let key = call.key();
    let json = {
        let mut store = call.sim.store();
        let old = store
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, call.name()))?;
        let part = match call.t.sub.as_deref() {
            Some("status") => Part::Status,
            _ => Part::Main,
        };
        write::update_tracked(&mut store, &key, &old, obj, part, dry, &call.track())?
    };
    call.sim.gc.notify_one();
    Ok(Reply::bytes(200, JSON, json).with_warnings(&warnings))
}

/// Sets `spec.replicas` through `/scale` and answers with the new Scale.
pub fn set_scale(call: &Call, replicas: Option<Value>, dry: bool) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let key = call.key();
    let mut store = call.sim.store();
    let old = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, call.name()))?;
    let mut obj = old.to_map();
    if let Some(r) = replicas {
        if !r.is_i64() || r.as_i64().unwrap_or(-1) < 0 {
            return Err(ApiError::invalid(
                rt,
                call.name(),
                vec![crate::error::Cause::invalid(
                    "spec.replicas",
                    &r.to_string(),
                    "must be greater than or equal to 0",
                )],
            ));
        }
        obj.entry("spec")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|s| s.insert("replicas".into(), r));
    }
    let json = write::update_tracked(&mut store, &key, &old, obj, Part::Main, dry, &call.track())?;
    let entry =
        crate::store::Entry::new(key.res, &serde_json::from_slice(&json).unwrap_or_default());
    Ok(Reply::json(200, &super::read::scale_of(&entry)))
}

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

/// `ValidateScale`: `spec.replicas` an int32 (else the decoder's 400)
/// and not negative (else a 422 about the Scale, not its owner).
fn scale_replicas(name: &str, r: &Value) -> Result<(), ApiError> {
    let n = match r.as_i64() {
        Some(n) if i32::try_from(n).is_ok() => n,
        _ => {
            let what = match r {
                Value::String(_) => "string".to_string(),
                other => format!("number {other}"),
            };
            return Err(ApiError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {what} into Go struct field ScaleSpec.spec.replicas of type int32"
            )));
        }
    };
    if n >= 0 {
        return Ok(());
    }
    let cause = crate::error::Cause::invalid_go(
        "spec.replicas",
        &n.to_string(),
        "must be greater than or equal to 0",
    );
    let message = format!(
        "Scale.autoscaling \"{name}\" is invalid: spec.replicas: {}",
        cause.message
    );
    let details = crate::error::Details {
        name: Some(name.to_string()),
        group: Some("autoscaling".into()),
        kind: Some("Scale".into()),
        causes: vec![cause],
        ..Default::default()
    };
    Err(ApiError::new(422, "Invalid", message).with_details(details))
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
        scale_replicas(call.name(), &r)?;
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

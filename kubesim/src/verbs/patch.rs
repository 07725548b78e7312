//! PATCH: dispatches on the Content-Type. JSON merge patch, JSON patch and
//! strategic merge patch are applied to the stored object and then go
//! through the update pipeline; server-side apply is [`crate::ssa::request`].

use serde_json::Value;

use super::Call;
use super::checks;
use super::write::{self, Part};
use crate::error::ApiError;
use crate::patch::{self as algo, JsonPatchError};
use crate::reply::{JSON, Reply};

/// The patch formats a real server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

pub fn patch(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let ty = PatchType::from_content_type(&call.content_type)
        .ok_or_else(ApiError::unsupported_media_type)?;
    let dry = call.dry_run("PatchOptions")?;
    if ty == PatchType::Apply {
        return crate::ssa::request::apply(call, dry);
    }
    let fv = call.field_validation()?;
    let patch: Value = serde_json::from_slice(&call.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if call.t.sub.as_deref() == Some("scale") {
        let mut scale = {
            let store = call.sim.store();
            let e = store
                .get(&call.key())
                .cloned()
                .ok_or_else(|| ApiError::not_found(rt, call.name()))?;
            super::read::scale_of(&e)
        };
        apply_patch(ty, &mut scale, &patch, None)?;
        return super::update::set_scale(call, scale["spec"].get("replicas").cloned(), dry);
    }
    let key = call.key();
    let (json, warnings) = {
        let mut store = call.sim.store();
        let old = store
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, call.name()))?;
        let mut doc = Value::Object(old.to_map());
        apply_patch(
            ty,
            &mut doc,
            &patch,
            crate::schema::root(rt).map(crate::schema::Ty::Object),
        )?;
        let Value::Object(mut obj) = doc else {
            return Err(ApiError::bad_request("the patch produced a non-object"));
        };
        checks::check_kind(rt, &obj)?;
        let warnings = checks::unknown_fields(rt, &mut obj, fv)?;
        let part = match call.t.sub.as_deref() {
            Some("status") => Part::Status,
            _ => Part::Main,
        };
        (
            write::update_tracked(&mut store, &key, &old, obj, part, dry, &call.track())?,
            warnings,
        )
    };
    call.sim.gc.notify_one();
    Ok(Reply::bytes(200, JSON, json).with_warnings(&warnings))
}

fn apply_patch(
    kind: PatchType,
    doc: &mut Value,
    patch: &Value,
    ty: Option<crate::schema::Ty>,
) -> Result<(), ApiError> {
    match kind {
        PatchType::Merge => algo::merge(doc, patch),
        PatchType::Strategic => algo::strategic(doc, patch, ty.as_ref()),
        PatchType::Json => algo::json_patch(doc, patch).map_err(|e| match e {
            JsonPatchError::Malformed(m) => ApiError::bad_request(m),
            JsonPatchError::Failed(m) => ApiError::new(422, "Invalid", m),
        })?,
        PatchType::Apply => unreachable!("apply patches are handled by apply()"),
    }
    Ok(())
}

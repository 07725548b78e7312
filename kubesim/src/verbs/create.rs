//! POST: decode, check kind and namespace, then the write pipeline.

use super::Call;
use super::{checks, write};
use crate::error::ApiError;
use crate::reply::{JSON, Reply};

pub fn create(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let dry = call.dry_run("CreateOptions")?;
    let fv = call.field_validation()?;
    let mut obj = call.body_object()?;
    checks::check_kind(rt, &obj)?;
    let warnings = checks::unknown_fields(rt, &mut obj, fv)?;
    checks::check_namespace_field(rt, &mut obj, call.ns())?;
    let json = {
        let mut store = call.sim.store();
        write::insert_tracked(&call.sim, &mut store, call.t.id, obj, dry, &call.track())?
    };
    Ok(Reply::bytes(201, JSON, json).with_warnings(&warnings))
}

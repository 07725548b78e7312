//! Checks of a request body before it reaches the store, in the order
//! the real server makes them: value types and unknown fields
//! (`fieldValidation`), kind, namespace against the URL, and namespace
//! admission (missing: 404, terminating: 403).

use serde_json::{Map, Value, json};

use super::FieldValidation;
use crate::error::{ApiError, Cause, Details};
use crate::object::{meta_mut, meta_str};
use crate::resources::{self, ResourceType};
use crate::schema;
use crate::store::{Key, Store};
use crate::validate;

/// Applies `fieldValidation` to a decoded body: Strict rejects unknown
/// fields (400), Warn returns a warning per field; both drop them, as the
/// real server's decoder does.
pub fn unknown_fields(
    rt: &ResourceType,
    obj: &mut Map<String, Value>,
    fv: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let root = schema::root(rt).map(schema::Ty::Object);
    if let Some(ty) = &root
        && let Some(e) = schema::type_error(ty, &Value::Object(obj.clone()))
    {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {e}",
            kind = rt.kind,
            v = rt.version
        )));
    }
    if let Some(e) = crate::validation::decode::conversion_error(rt, obj) {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {e}",
            kind = rt.kind,
            v = rt.version
        )));
    }
    let unknown = match &root {
        Some(ty) => {
            let mut out = Vec::new();
            schema::unknown_fields(ty, &Value::Object(obj.clone()), "", &mut out);
            out
        }
        None => validate::unknown_fields(rt, obj),
    };
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if fv == FieldValidation::Strict {
        let list: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
            list.join(", "),
            kind = rt.kind,
            v = rt.version
        )));
    }
    match &root {
        Some(ty) => {
            let mut v = Value::Object(std::mem::take(obj));
            schema::prune(ty, &mut v);
            if let Value::Object(m) = v {
                *obj = m;
            }
        }
        None => {
            for f in &unknown {
                match f.strip_prefix("metadata.") {
                    Some(m) => {
                        meta_mut(obj).remove(m);
                    }
                    None => {
                        obj.remove(f);
                    }
                }
            }
        }
    }
    Ok(match fv {
        FieldValidation::Warn => unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect(),
        _ => Vec::new(),
    })
}

/// Checks `apiVersion`/`kind` in a body against the endpoint.
pub fn check_kind(rt: &ResourceType, obj: &Map<String, Value>) -> Result<(), ApiError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or(rt.kind);
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| rt.api_version());
    if kind != rt.kind || av != rt.api_version() {
        let (g, v) = av.rsplit_once('/').unwrap_or(("", av.as_str()));
        return Err(ApiError::bad_request(format!(
            "the server rejected our request due to an error in our request: invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    Ok(())
}

/// Checks `metadata.namespace` in a body against the URL and fills it in.
pub fn check_namespace_field(
    rt: &ResourceType,
    obj: &mut Map<String, Value>,
    url_ns: &str,
) -> Result<(), ApiError> {
    let body_ns = meta_str(obj, "namespace").unwrap_or("").to_string();
    if rt.namespaced {
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta_mut(obj).insert("namespace".into(), json!(url_ns));
    } else {
        meta_mut(obj).remove("namespace");
    }
    Ok(())
}

/// NamespaceLifecycle admission for creates: 404 when the namespace is
/// missing, 403 while it terminates (fixtures 14 and 23).
pub fn admit_namespace(
    store: &Store,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    if !rt.namespaced {
        return Ok(());
    }
    let (ns_id, ns_rt) = resources::find("", "v1", "namespaces").expect("namespaces served");
    let key = Key {
        res: ns_id,
        ns: String::new(),
        name: ns.to_string(),
    };
    match store.get(&key) {
        None => Err(ApiError::not_found(ns_rt, ns)),
        Some(e) if e.deleting => {
            let mut details = Details::object(rt, name);
            details.causes = vec![Cause {
                reason: "NamespaceTerminating",
                message: format!("namespace {ns} is being terminated"),
                field: Some("metadata.namespace".into()),
            }];
            Err(ApiError::forbidden(
                format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    rt.qualified()
                ),
                details,
            ))
        }
        Some(_) => Ok(()),
    }
}

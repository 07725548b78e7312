//! API errors as the real server reports them: a `metav1.Status` body with a
//! code, a reason and details, built by constructors named after the reason
//! so that handlers never assemble Status JSON by hand.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// One `details.causes` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// A failed request, rendered as a `Status` with `status: Failure`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason:?}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: Option<&'static str>,
    pub message: String,
    pub details: Option<Box<Details>>,
}

/// `details` of a Status; absent fields are omitted on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: Option<u32>,
}

impl Details {
    /// `{name, group, kind}` for an object of `rt` (group omitted for core).
    pub fn object(rt: &ResourceType, name: &str) -> Details {
        Details {
            name: (!name.is_empty()).then(|| name.to_string()),
            group: (!rt.group.is_empty()).then(|| rt.group.to_string()),
            kind: Some(rt.plural.to_string()),
            ..Details::default()
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(n) = &self.name {
            m.insert("name".into(), json!(n));
        }
        if let Some(g) = &self.group {
            m.insert("group".into(), json!(g));
        }
        if let Some(k) = &self.kind {
            m.insert("kind".into(), json!(k));
        }
        if !self.causes.is_empty() {
            let causes: Vec<Value> = self
                .causes
                .iter()
                .map(|c| {
                    let mut o = Map::new();
                    o.insert("reason".into(), json!(c.reason));
                    o.insert("message".into(), json!(c.message));
                    if let Some(f) = &c.field {
                        o.insert("field".into(), json!(f));
                    }
                    Value::Object(o)
                })
                .collect();
            m.insert("causes".into(), Value::Array(causes));
        }
        if let Some(r) = self.retry_after_seconds {
            m.insert("retryAfterSeconds".into(), json!(r));
        }
        Value::Object(m)
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason: Some(reason),
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Details) -> ApiError {
        self.details = Some(Box::new(details));
        self
    }

    /// `configmaps "x" not found`.
    pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.qualified()),
        )
        .with_details(Details::object(rt, name))
    }

    /// An unknown resource in a known group/version.
    pub fn unknown_resource() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(Details::default())
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.qualified()),
        )
        .with_details(Details::object(rt, name))
    }

    /// Optimistic-concurrency failure (stale resourceVersion).
    pub fn conflict(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::conflict_msg(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict_msg(rt: &ResourceType, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                rt.qualified()
            ),
        )
        .with_details(Details::object(rt, name))
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 422 for an object: `Kind "name" is invalid: field: message`.
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> ApiError {
        let summary = summarize(&causes);
        let mut details = Details {
            name: (!name.is_empty()).then(|| name.to_string()),
            group: (!rt.group.is_empty()).then(|| rt.group.to_string()),
            kind: Some(rt.kind.to_string()),
            ..Details::default()
        };
        details.causes = causes;
        ApiError::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {summary}", kind_group(rt)),
        )
        .with_details(details)
    }

    /// 422 for request options (`CreateOptions.meta.k8s.io "" is invalid`).
    pub fn invalid_options(kind: &str, causes: Vec<Cause>) -> ApiError {
        let summary = summarize(&causes);
        ApiError::new(
            422,
            "Invalid",
            format!("{kind}.meta.k8s.io \"\" is invalid: {summary}"),
        )
        .with_details(Details {
            group: Some("meta.k8s.io".into()),
            kind: Some(kind.into()),
            causes,
            ..Details::default()
        })
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>, details: Details) -> ApiError {
        ApiError::new(403, "Forbidden", message).with_details(details)
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(415, "UnsupportedMediaType", "415: Unsupported Media Type")
            .with_details(Details::default())
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(Details::default())
    }

    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    /// The `Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if let Some(r) = self.reason {
            m.insert("reason".into(), json!(r));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), d.to_json());
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// `Deployment.apps`, or `ConfigMap` for the core group.
fn kind_group(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        rt.kind.to_string()
    } else {
        format!("{}.{}", rt.kind, rt.group)
    }
}

/// `field: message` for one cause, `[a, b]` for several (as field.ErrorList).
fn summarize(causes: &[Cause]) -> String {
    let one = |c: &Cause| match &c.field {
        Some(f) => format!("{f}: {}", c.message),
        None => c.message.clone(),
    };
    // As `ErrorList.ToAggregate`: a message repeated is shown once.
    let mut msgs: Vec<String> = Vec::new();
    for m in causes.iter().map(one) {
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    }
    match msgs.as_slice() {
        [m] => m.clone(),
        _ => format!("[{}]", msgs.join(", ")),
    }
}

impl Cause {
    pub fn invalid(field: &str, value: &str, why: &str) -> Cause {
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: \"{value}\": {why}"),
            field: Some(field.to_string()),
        }
    }

    /// `Invalid value: <Go-formatted value>: why` (the value as Go's `%#v`
    /// prints it, for maps and structs).
    pub fn invalid_go(field: &str, go_value: &str, why: &str) -> Cause {
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {go_value}: {why}"),
            field: Some(field.to_string()),
        }
    }

    /// `Required value` without further explanation.
    pub fn required_bare(field: &str) -> Cause {
        Cause {
            reason: "FieldValueRequired",
            message: "Required value".to_string(),
            field: Some(field.to_string()),
        }
    }

    pub fn required(field: &str, why: &str) -> Cause {
        Cause {
            reason: "FieldValueRequired",
            message: format!("Required value: {why}"),
            field: Some(field.to_string()),
        }
    }

    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Cause {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
            field: Some(field.to_string()),
        }
    }

    pub fn forbidden(field: &str, why: &str) -> Cause {
        Cause {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {why}"),
            field: Some(field.to_string()),
        }
    }
}

/// A `Status` with `status: Success` for a completed delete.
pub fn success_status(details: &Details, uid: &str) -> Value {
    let mut d = details.to_json();
    if let Value::Object(m) = &mut d {
        m.insert("uid".into(), json!(uid));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

//! The verbs on resources, one module each, sharing [`Call`] (the parsed
//! request) and the write pipeline in [`write`].

pub mod checks;
pub mod create;
pub mod delete;
pub mod list;
pub mod patch;
pub mod read;
pub mod update;
pub mod watch;
pub mod write;

use std::sync::Arc;

use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, Cause};
use crate::query::Query;
use crate::reply::Reply;
use crate::resources::ResourceType;
use crate::router::Target;
use crate::sim::Sim;
use crate::store::Key;

/// One request on a resource.
pub struct Call {
    pub sim: Arc<Sim>,
    pub t: Target,
    pub query: Query,
    pub body: Bytes,
    pub content_type: String,
    pub accept: String,
    /// The User-Agent header: names the field manager of a write sent
    /// without `fieldManager`.
    pub user_agent: String,
    pub verb: &'static str,
}

/// `fieldValidation` for writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl Call {
    pub fn rt(&self) -> &'static ResourceType {
        self.t.rt
    }

    pub fn ns(&self) -> &str {
        self.t.namespace.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.t.name.as_deref().unwrap_or("")
    }

    /// Who a write's changed fields belong to: `fieldManager`, else the
    /// User-Agent up to its first `/`.
    pub fn field_manager(&self) -> String {
        match self.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => crate::ssa::manager_from_user_agent(&self.user_agent),
        }
    }

    /// [`crate::ssa::Track`] for an update by this request's manager.
    pub fn track(&self) -> crate::ssa::Track {
        crate::ssa::Track::Update {
            manager: self.field_manager(),
            subresource: self.t.sub.clone().unwrap_or_default(),
            now: self.sim.clock.now().rfc3339(),
        }
    }

    pub fn key(&self) -> Key {
        Key {
            res: self.t.id,
            ns: self.ns().to_string(),
            name: self.name().to_string(),
        }
    }

    /// `dryRun`: absent, or `All`; anything else is 422 on `options_kind`.
    pub fn dry_run(&self, options_kind: &str) -> Result<bool, ApiError> {
        let values = self.query.all("dryRun");
        if values.is_empty() {
            return Ok(false);
        }
        if values.iter().all(|v| *v == "All") {
            return Ok(true);
        }
        let shown: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        Err(ApiError::invalid_options(
            options_kind,
            vec![Cause::not_supported(
                "dryRun",
                &format!("[]string{{{}}}", shown.join(", ")),
                &["All"],
            )],
        ))
    }

    pub fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.query.get("fieldValidation") {
            None | Some("" | "Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid fieldValidation directive: {other}"
            ))),
        }
    }

    /// The request body as a JSON object (JSON or YAML), with the real
    /// server's 400 for a malformed body.
    pub fn body_object(&self) -> Result<Map<String, Value>, ApiError> {
        let rt = self.rt();
        if self.content_type.contains("protobuf")
            && let Some(obj) = crate::proto::decode(&self.body)
        {
            return Ok(obj);
        }
        if self.content_type.contains("protobuf") || self.content_type.contains("cbor") {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "kubesim accepts JSON and YAML bodies (and protobuf only for Namespaces, ConfigMaps, Secrets and ServiceAccounts), not {}",
                    self.content_type
                ),
            ));
        }
        let parsed: Result<Value, String> = if self.content_type.contains("yaml") {
            crate::yaml::to_json(&String::from_utf8_lossy(&self.body))
                .map_err(|e| format!("error converting YAML to JSON: {e}"))
        } else {
            serde_json::from_slice(&self.body).map_err(|e| {
                format!(
                    "couldn't get version/kind; json parse error: {e} ({})",
                    String::from_utf8_lossy(&self.body)
                        .chars()
                        .take(40)
                        .collect::<String>()
                )
            })
        };
        match parsed {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: cannot unmarshal into an object",
                rt.kind
            ))),
            Err(e) => Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {e}",
                rt.kind
            ))),
        }
    }
}

/// The RBAC verb of a request.
pub fn verb_of(method: &Method, t: &Target, query: &Query) -> &'static str {
    let named = t.name.is_some();
    match *method {
        Method::GET if named => "get",
        Method::GET if query.flag("watch") => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

/// Runs a resource request.
pub async fn handle(call: Call) -> Reply {
    let sub = call.t.sub.clone();
    let named = call.t.name.is_some();
    let verbs = match &sub {
        Some(s) => call
            .rt()
            .subresources
            .iter()
            .find(|x| x.name == s)
            .map(|x| x.verbs)
            .unwrap_or(&[]),
        None => call.rt().verbs,
    };
    if !verbs.contains(&call.verb) {
        return ApiError::method_not_allowed().into();
    }
    let result = match call.verb {
        "get" => read::get(&call),
        "list" => list::list(&call),
        "watch" => return watch::watch(call).await,
        "create" if !named => create::create(&call),
        "update" => update::update(&call),
        "patch" => patch::patch(&call),
        "delete" => delete::delete(&call),
        "deletecollection" => delete::delete_collection(&call),
        _ => Err(ApiError::method_not_allowed()),
    };
    result.unwrap_or_else(Reply::from)
}

//! Bearer-token authentication and a two-role authorizer: the admin token
//! may do anything (and impersonate, which yields a user with no rights);
//! the optional read-only token may only get, list and watch; no token is
//! `system:anonymous`, which may only read `/version` and health paths
//! (fixture 14). A wrong token is 401. An impersonated service account
//! (`system:serviceaccount:NS:NAME`) may get, list and watch in NS only,
//! as if a namespaced view Role were bound to it.

use hyper::HeaderMap;

use crate::error::{ApiError, Details};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    Admin,
    ReadOnly,
    Anonymous,
    /// Impersonated by the admin; has no RBAC rights.
    Other(String),
}

pub const ADMIN_NAME: &str = "kubesim-admin";
pub const READ_ONLY_NAME: &str = "kubesim-viewer";

impl User {
    pub fn name(&self) -> &str {
        match self {
            User::Admin => ADMIN_NAME,
            User::ReadOnly => READ_ONLY_NAME,
            User::Anonymous => "system:anonymous",
            User::Other(n) => n,
        }
    }
}

/// The tokens one instance accepts.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub read_only: Option<String>,
}

/// Maps the Authorization (and Impersonate-User) headers to a user.
pub fn authenticate(headers: &HeaderMap, tokens: &Tokens) -> Result<User, ApiError> {
    let auth = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // "Bearer " with nothing after it arrives trimmed to "Bearer".
    let token = match auth.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Some(t.trim()),
        None if auth.eq_ignore_ascii_case("bearer") => Some(""),
        _ => None,
    };
    let user = match token {
        None if auth.trim().is_empty() => User::Anonymous,
        Some("") => User::Anonymous,
        Some(t) if t == tokens.admin => User::Admin,
        Some(t) if tokens.read_only.as_deref() == Some(t) => User::ReadOnly,
        _ => return Err(ApiError::unauthorized()),
    };
    match headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    {
        Some(name) if user == User::Admin => Ok(match name {
            ADMIN_NAME => User::Admin,
            READ_ONLY_NAME => User::ReadOnly,
            other => User::Other(other.to_string()),
        }),
        Some(_) => Err(ApiError::forbidden(
            format!(
                "users \"{}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
                headers
                    .get("impersonate-user")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
                user.name()
            ),
            Details {
                kind: Some("users".into()),
                ..Details::default()
            },
        )),
        None => Ok(user),
    }
}

/// What a request does, for authorization and for the request counter.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `deployments` or `deployments/status`; empty for non-resource paths.
    pub resource: String,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    pub path: &'a str,
}

/// `system:serviceaccount:<namespace>:<name>` → the namespace.
fn service_account_namespace(user: &str) -> Option<&str> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty()).then_some(ns)
}

const READ_VERBS: &[&str] = &["get", "list", "watch"];
const PUBLIC_PATHS: &[&str] = &["/version", "/healthz", "/livez", "/readyz"];

/// Allows or forbids a request with the real server's message.
pub fn authorize(user: &User, a: &Attributes<'_>) -> Result<(), ApiError> {
    let allowed = match user {
        User::Admin => true,
        User::ReadOnly => READ_VERBS.contains(&a.verb),
        User::Anonymous => a.resource.is_empty() && PUBLIC_PATHS.contains(&a.path),
        // A namespaced viewer: what a Role granting get/list/watch in the
        // service account's own namespace (and nothing cluster-wide) allows.
        // Every authenticated user may read the discovery paths
        // (system:discovery).
        User::Other(name) => service_account_namespace(name).is_some_and(|ns| {
            READ_VERBS.contains(&a.verb)
                && (a.namespace == Some(ns) || (a.resource.is_empty() && a.verb == "get"))
        }),
    };
    if allowed {
        return Ok(());
    }
    if a.resource.is_empty() {
        return Err(ApiError::forbidden(
            format!(
                "forbidden: User \"{}\" cannot {} path \"{}\"",
                user.name(),
                a.verb,
                a.path
            ),
            Details::default(),
        ));
    }
    let plural = a.resource.split('/').next().unwrap_or_default();
    let qualified = if a.group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{}", a.group)
    };
    let subject = match a.name {
        Some(n) => format!("{qualified} \"{n}\""),
        None => qualified,
    };
    let scope = match a.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    Err(ApiError::forbidden(
        format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            user.name(),
            a.verb,
            a.resource,
            a.group
        ),
        Details {
            name: a.name.map(str::to_string),
            group: (!a.group.is_empty()).then(|| a.group.to_string()),
            kind: Some(plural.to_string()),
            ..Details::default()
        },
    ))
}

#[cfg(test)]
mod service_account_tests {
    use super::*;

    fn list_in(ns: Option<&'static str>) -> Attributes<'static> {
        Attributes {
            verb: "list",
            group: "",
            resource: "secrets".into(),
            namespace: ns,
            name: None,
            path: "/api/v1/secrets",
        }
    }

    #[test]
    fn an_impersonated_service_account_reads_its_namespace_only() {
        let sa = User::Other("system:serviceaccount:team:viewer".into());
        assert!(authorize(&sa, &list_in(Some("team"))).is_ok());
        assert!(authorize(&sa, &list_in(Some("other"))).is_err());
        assert!(
            authorize(&sa, &list_in(None)).is_err(),
            "no cluster-wide list"
        );
        let mut write = list_in(Some("team"));
        write.verb = "create";
        assert!(authorize(&sa, &write).is_err(), "read only");
        assert!(authorize(&User::Other("bob".into()), &list_in(Some("team"))).is_err());
    }
}

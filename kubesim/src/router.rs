//! Maps a URL path to what it addresses: a discovery document, a resource
//! collection or object (with namespace and subresource), a control
//! endpoint, or nothing (the Go mux's plain-text 404 for unknown groups, a
//! JSON NotFound for unknown resources in a known group, as in fixture 14).

use crate::resources::{self, ResourceId, ResourceType};

/// A resource collection or object.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: ResourceId,
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1` or `/apis/GROUP/VERSION`
    Resources {
        group: String,
        version: String,
    },
    OpenApiRoot,
    OpenApiDoc {
        group: String,
        version: String,
    },
    /// `/_sim/...`
    Control(String),
    Resource(Target),
    /// JSON 404 "the server could not find the requested resource".
    UnknownResource,
    /// Plain-text `404 page not found`.
    NotFound,
}

/// Parses a path (without query string).
pub fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", "api", v] => Route::OpenApiDoc {
            group: String::new(),
            version: v.to_string(),
        },
        ["openapi", "v3", "apis", g, v] => Route::OpenApiDoc {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["_sim", rest @ ..] => Route::Control(rest.join("/")),
        ["api", "v1", rest @ ..] => in_group_version("", "v1", rest),
        ["apis", g] if resources::RESOURCES.iter().any(|r| r.group == *g) => {
            Route::Group(g.to_string())
        }
        ["apis", g, v, rest @ ..] if resources::serves_group_version(g, v) => {
            in_group_version(g, v, rest)
        }
        _ => Route::NotFound,
    }
}

fn in_group_version(group: &str, version: &str, rest: &[&str]) -> Route {
    let target = |plural: &str, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        let Some((id, rt)) = resources::find(group, version, plural) else {
            return Route::UnknownResource;
        };
        if rt.namespaced != ns.is_some() && (name.is_some() || !rt.namespaced) {
            return Route::UnknownResource;
        }
        if let Some(s) = sub
            && !rt.has_subresource(s)
        {
            return Route::UnknownResource;
        }
        Route::Resource(Target {
            id,
            rt,
            namespace: ns.map(str::to_string),
            name: name.map(str::to_string),
            sub: sub.map(str::to_string),
        })
    };
    match rest {
        [] => Route::Resources {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            target("namespaces", None, Some(ns), Some(sub))
        }
        ["namespaces", ns, plural] => target(plural, Some(ns), None, None),
        ["namespaces", ns, plural, name] => target(plural, Some(ns), Some(name), None),
        ["namespaces", ns, plural, name, sub] => target(plural, Some(ns), Some(name), Some(sub)),
        [plural] => match resources::find(group, version, plural) {
            // A namespaced collection without a namespace lists all of them.
            Some((id, rt)) => Route::Resource(Target {
                id,
                rt,
                namespace: None,
                name: None,
                sub: None,
            }),
            None => Route::UnknownResource,
        },
        [plural, name] => target(plural, None, Some(name), None),
        [plural, name, sub] => target(plural, None, Some(name), Some(sub)),
        _ => Route::UnknownResource,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(route("/version"), Route::Version));
        assert!(matches!(
            route("/apis/nosuchgroup.example.com/v1"),
            Route::NotFound
        ));
        assert!(matches!(
            route("/api/v1/namespaces/x/foos"),
            Route::UnknownResource
        ));
        let Route::Resource(t) = route("/apis/apps/v1/namespaces/ns/deployments/d/status") else {
            panic!("not a resource");
        };
        assert_eq!(t.rt.plural, "deployments");
        assert_eq!(t.namespace.as_deref(), Some("ns"));
        assert_eq!(t.sub.as_deref(), Some("status"));
        let Route::Resource(t) = route("/api/v1/namespaces/ns") else {
            panic!("not a resource");
        };
        assert_eq!(t.rt.plural, "namespaces");
        assert_eq!(t.name.as_deref(), Some("ns"));
        assert!(t.namespace.is_none());
        let Route::Resource(t) = route("/api/v1/configmaps") else {
            panic!("not a resource");
        };
        assert!(t.namespace.is_none() && t.name.is_none());
    }
}

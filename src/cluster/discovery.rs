//! One discovery per run: the aggregated document (two requests) when the
//! server offers it, else the legacy per-group-version lists. kube's
//! `Discovery::run_aggregated` returns nothing on servers without the
//! aggregated API, so this is done here, checking the response type.

use std::collections::BTreeMap;

use http::Request;
use kube::api::ApiResource;
use serde_json::Value;

use super::{Cluster, ClusterError};
use crate::manifest::ObjectId;

const AGGREGATED_ACCEPT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const AGGREGATED_TYPE: &str = "as=APIGroupDiscoveryList";

/// The oldest Kubernetes minor version whose APIs the manifests use.
pub const MIN_MINOR: u32 = 25;

/// One served resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: if self.group.is_empty() {
                self.version.clone()
            } else {
                format!("{}/{}", self.group, self.version)
            },
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

/// What the server serves, by (group, version, kind).
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    resources: BTreeMap<(String, String, String), Resource>,
    /// `v1.32.6` etc.
    pub server_version: String,
    /// How many requests discovery took (for benchmarks).
    pub requests: usize,
}

impl Discovery {
    pub fn resource(&self, group: &str, version: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
    }

    pub fn resource_for(&self, id: &ObjectId) -> Option<&Resource> {
        self.resource(&id.group, &id.version, &id.kind)
    }

    /// Every kind in `ids` that is not served, plus a too-old server.
    pub fn check(&self, ids: &[ObjectId], server: &str) -> Result<(), ClusterError> {
        let mut missing = Vec::new();
        match minor_of(&self.server_version) {
            Some(m) if m >= MIN_MINOR => {}
            _ => missing.push(format!(
                "Kubernetes {} is too old or unknown: thebot needs 1.{MIN_MINOR} or newer",
                self.server_version
            )),
        }
        let mut seen = std::collections::BTreeSet::new();
        for id in ids {
            let gv = if id.group.is_empty() {
                id.version.clone()
            } else {
                format!("{}/{}", id.group, id.version)
            };
            if self.resource_for(id).is_none() && seen.insert((gv.clone(), id.kind.clone())) {
                missing.push(format!("{gv} {} is not served (needed by {id})", id.kind));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ClusterError::Capability {
                server: server.to_string(),
                missing,
            })
        }
    }
}

fn minor_of(version: &str) -> Option<u32> {
    let rest = version.trim_start_matches('v');
    let minor = rest.split('.').nth(1)?;
    minor
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

async fn get(cluster: &Cluster, path: &str, accept: &str) -> Result<(String, Value), ClusterError> {
    let req = Request::get(path)
        .header("Accept", accept)
        .body(Vec::new())
        .map_err(|e| ClusterError::Discovery(e.to_string()))?;
    let resp = cluster
        .client
        .send(req.map(Into::into))
        .await
        .map_err(|e| {
            ClusterError::Discovery(format!(
                "cannot reach the API server at {}: {e}",
                cluster.server
            ))
        })?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| ClusterError::Discovery(format!("reading {path}: {e}")))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        let hint = match status.as_u16() {
            401 => {
                " (the credentials in the kubeconfig were rejected: log in again or check the token)"
            }
            403 => " (the user may not read the API: check RBAC or --as)",
            _ => "",
        };
        return Err(ClusterError::Discovery(format!(
            "GET {path} on {}: {status}: {message}{hint}",
            cluster.server
        )));
    }
    let value = serde_json::from_slice(&body)
        .map_err(|e| ClusterError::Discovery(format!("GET {path}: not JSON: {e}")))?;
    Ok((content_type, value))
}

/// Discovers the server's version and resources.
pub async fn discover(cluster: &Cluster) -> Result<Discovery, ClusterError> {
    let mut d = Discovery::default();
    let (_, version) = get(cluster, "/version", "application/json").await?;
    d.requests += 1;
    d.server_version = version
        .get("gitVersion")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();

    let (ct, core) = get(cluster, "/api", AGGREGATED_ACCEPT).await?;
    d.requests += 1;
    if ct.contains(AGGREGATED_TYPE) {
        let (_, groups) = get(cluster, "/apis", AGGREGATED_ACCEPT).await?;
        d.requests += 1;
        for doc in [&core, &groups] {
            add_aggregated(&mut d, doc);
        }
        return Ok(d);
    }
    // Legacy discovery: one request per group-version.
    let mut paths = vec!["/api/v1".to_string()];
    let (_, groups) = get(cluster, "/apis", "application/json").await?;
    d.requests += 1;
    for g in groups
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for v in g
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(gv) = v.get("groupVersion").and_then(Value::as_str) {
                paths.push(format!("/apis/{gv}"));
            }
        }
    }
    for path in paths {
        let (_, list) = get(cluster, &path, "application/json").await?;
        d.requests += 1;
        add_legacy(&mut d, &list);
    }
    Ok(d)
}

fn add_aggregated(d: &mut Discovery, doc: &Value) {
    for group in doc
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let group_name = group
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for version in group
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = version.get("version").and_then(Value::as_str).unwrap_or("");
            for r in version
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let kind = r
                    .pointer("/responseKind/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let plural = r.get("resource").and_then(Value::as_str).unwrap_or("");
                if kind.is_empty() || plural.is_empty() {
                    continue;
                }
                insert(
                    d,
                    group_name,
                    v,
                    kind,
                    plural,
                    r.get("scope").and_then(Value::as_str) == Some("Namespaced"),
                );
            }
        }
    }
}

fn add_legacy(d: &mut Discovery, list: &Value) {
    let gv = list
        .get("groupVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (group, version) = gv.split_once('/').unwrap_or(("", gv));
    for r in list
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let plural = r.get("name").and_then(Value::as_str).unwrap_or("");
        if plural.contains('/') {
            continue;
        }
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
        insert(
            d,
            group,
            version,
            kind,
            plural,
            r.get("namespaced").and_then(Value::as_bool) == Some(true),
        );
    }
}

fn insert(
    d: &mut Discovery,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
) {
    d.resources.insert(
        (group.to_string(), version.to_string(), kind.to_string()),
        Resource {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_aggregated_and_legacy_documents() {
        let mut d = Discovery::default();
        add_aggregated(
            &mut d,
            &json!({"items": [{"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [
                {"resource": "deployments", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "scope": "Namespaced"}]}]}]}),
        );
        add_legacy(
            &mut d,
            &json!({"groupVersion": "v1", "resources": [
                {"name": "namespaces", "kind": "Namespace", "namespaced": false},
                {"name": "pods/log", "kind": "Pod", "namespaced": true}]}),
        );
        assert!(d.resource("apps", "v1", "Deployment").unwrap().namespaced);
        assert!(!d.resource("", "v1", "Namespace").unwrap().namespaced);
        assert!(
            d.resource("", "v1", "Pod").is_none(),
            "subresources are not kinds"
        );
    }

    #[test]
    fn capability_check_lists_everything_missing() {
        let mut d = Discovery {
            server_version: "v1.32.6".into(),
            ..Default::default()
        };
        insert(&mut d, "apps", "v1", "Deployment", "deployments", true);
        let id = |g: &str, k: &str| ObjectId {
            group: g.into(),
            version: "v1".into(),
            kind: k.into(),
            namespace: "ns".into(),
            name: "x".into(),
        };
        assert!(d.check(&[id("apps", "Deployment")], "s").is_ok());
        let err = d
            .check(
                &[
                    id("apps", "Deployment"),
                    id("monitoring.coreos.com", "ServiceMonitor"),
                    id("x.io", "Widget"),
                ],
                "s",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("monitoring.coreos.com/v1 ServiceMonitor is not served"),
            "{err}"
        );
        assert!(err.contains("x.io/v1 Widget"), "{err}");
        d.server_version = "v1.20.0".into();
        assert!(
            d.check(&[], "s")
                .unwrap_err()
                .to_string()
                .contains("too old")
        );
    }

    #[test]
    fn minor_versions() {
        assert_eq!(minor_of("v1.32.6"), Some(32));
        assert_eq!(minor_of("v1.29.3-eks+abc"), Some(29));
        assert_eq!(minor_of("garbage"), None);
    }
}

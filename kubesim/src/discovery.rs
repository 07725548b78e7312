//! Discovery documents generated from the resource table: `/version`,
//! legacy `/api`, `/api/v1`, `/apis`, `/apis/GROUP[/VERSION]`, and the
//! aggregated `apidiscovery.k8s.io` v2 / v2beta1 lists that kubectl and
//! kube-rs ask for first.

use serde_json::{Map, Value, json};

use crate::reply::Reply;
use crate::resources::{GROUP_ORDER, RESOURCES, ResourceType};

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.6",
        "gitCommit": "kubesim",
        "gitTreeState": "clean",
        "buildDate": "2026-11-25T00:00:00Z",
        "goVersion": "kubesim",
        "compiler": "rustc",
        "platform": "linux/amd64"
    })
}

/// Which aggregated-discovery version (if any) an Accept header asks for.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let ty = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        match ty {
            "application/json"
                if param("g") == Some("apidiscovery.k8s.io")
                    && param("as") == Some("APIGroupDiscoveryList") =>
            {
                match param("v") {
                    Some("v2") => return Some("v2"),
                    Some("v2beta1") => return Some("v2beta1"),
                    _ => continue,
                }
            }
            "application/json" if param("as").is_none() => return None,
            "*/*" | "application/*" => return None,
            _ => continue,
        }
    }
    None
}

fn groups() -> Vec<&'static str> {
    let mut gs: Vec<&str> = GROUP_ORDER
        .iter()
        .copied()
        .filter(|g| RESOURCES.iter().any(|r| r.group == *g))
        .collect();
    for r in RESOURCES {
        if !r.group.is_empty() && !gs.contains(&r.group) {
            gs.push(r.group);
        }
    }
    gs
}

fn versions_of(group: &str) -> Vec<&'static str> {
    let mut vs: Vec<&'static str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !vs.contains(&r.version) {
            vs.push(r.version);
        }
    }
    vs
}

fn resources_of(group: &str, version: &str) -> Vec<&'static ResourceType> {
    let mut rs: Vec<&ResourceType> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    rs.sort_by_key(|r| r.plural);
    rs
}

fn strs(xs: &[&str]) -> Value {
    Value::Array(xs.iter().map(|s| json!(s)).collect())
}

/// `/api`.
pub fn core_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]
    })
}

fn group_json(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions[0].clone();
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `/apis`.
pub fn group_list() -> Value {
    let groups: Vec<Value> = groups().iter().map(|g| group_json(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/GROUP`.
pub fn group(group: &str) -> Value {
    let mut g = group_json(group);
    let m = g.as_object_mut().expect("object");
    let mut out = Map::new();
    out.insert("kind".into(), json!("APIGroup"));
    out.insert("apiVersion".into(), json!("v1"));
    out.append(m);
    Value::Object(out)
}

/// `/api/v1` or `/apis/GROUP/VERSION`.
pub fn resource_list(group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for r in resources_of(group, version) {
        let mut e = Map::new();
        e.insert("name".into(), json!(r.plural));
        e.insert("singularName".into(), json!(r.singular));
        e.insert("namespaced".into(), json!(r.namespaced));
        e.insert("kind".into(), json!(r.kind));
        e.insert("verbs".into(), strs(r.verbs));
        if !r.short_names.is_empty() {
            e.insert("shortNames".into(), strs(r.short_names));
        }
        if !r.categories.is_empty() {
            e.insert("categories".into(), strs(r.categories));
        }
        if !r.storage_version_hash.is_empty() {
            e.insert("storageVersionHash".into(), json!(r.storage_version_hash));
        }
        list.push(Value::Object(e));
        for s in r.subresources {
            let mut e = Map::new();
            e.insert("name".into(), json!(format!("{}/{}", r.plural, s.name)));
            e.insert("singularName".into(), json!(""));
            e.insert("namespaced".into(), json!(r.namespaced));
            if !s.group.is_empty() {
                e.insert("group".into(), json!(s.group));
                e.insert("version".into(), json!(s.version));
            }
            e.insert("kind".into(), json!(s.kind));
            e.insert("verbs".into(), strs(s.verbs));
            list.push(Value::Object(e));
        }
    }
    let mut out = Map::new();
    out.insert("kind".into(), json!("APIResourceList"));
    if group.is_empty() {
        out.insert("groupVersion".into(), json!(version));
    } else {
        out.insert("apiVersion".into(), json!("v1"));
        out.insert("groupVersion".into(), json!(format!("{group}/{version}")));
    }
    out.insert("resources".into(), Value::Array(list));
    Value::Object(out)
}

fn aggregated_resource(r: &ResourceType) -> Value {
    let kind = |k: &str, g: &str, v: &str| json!({"group": g, "version": v, "kind": k});
    let mut e = Map::new();
    e.insert("resource".into(), json!(r.plural));
    e.insert("responseKind".into(), kind(r.kind, "", ""));
    e.insert(
        "scope".into(),
        json!(if r.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    e.insert("singularResource".into(), json!(r.singular));
    e.insert("verbs".into(), strs(r.verbs));
    if !r.short_names.is_empty() {
        e.insert("shortNames".into(), strs(r.short_names));
    }
    if !r.categories.is_empty() {
        e.insert("categories".into(), strs(r.categories));
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| {
                json!({"subresource": s.name, "responseKind": kind(s.kind, s.group, s.version), "verbs": strs(s.verbs)})
            })
            .collect();
        e.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(e)
}

fn aggregated_item(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .iter()
        .map(|v| {
            let rs: Vec<Value> = resources_of(group, v)
                .into_iter()
                .map(aggregated_resource)
                .collect();
            json!({"version": v, "resources": rs, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (`core`) or `/apis`.
pub fn aggregated(core: bool, version: &str) -> Reply {
    let items: Vec<Value> = if core {
        vec![aggregated_item("")]
    } else {
        groups().iter().map(|g| aggregated_item(g)).collect()
    };
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items
    });
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    Reply::bytes(200, &ct, serde_json::to_vec(&body).expect("serialises"))
        .with_header("Vary", "Accept".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl), Some("v2"));
        assert_eq!(aggregated_version("application/json"), None);
        assert_eq!(
            aggregated_version(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            ),
            Some("v2beta1")
        );
    }
}

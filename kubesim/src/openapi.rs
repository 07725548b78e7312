//! A minimal OpenAPI v3 surface: the root index and one document per
//! group/version. Each document lists the resources' paths with the
//! `x-kubernetes-group-version-kind` extension and the `fieldValidation`
//! query parameter on PATCH/PUT/POST, which is what kubectl checks before
//! it sends `fieldValidation=Strict` (kubesim then rejects unknown fields).
//!
//! # Caveats
//! Schemas are skeletons (`type: object` with the top-level fields); part 2
//! (server-side apply) needs list-map keys and will extend them.

use serde_json::{Map, Value, json};

use crate::resources::{RESOURCES, ResourceType};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// `/openapi/v3`.
pub fn root() -> Value {
    let mut paths = Map::new();
    for (g, v) in group_versions() {
        let p = gv_path(g, v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=kubesim1")}),
        );
    }
    json!({"paths": paths})
}

fn schema_name(rt: &ResourceType) -> String {
    let group = if rt.group.is_empty() {
        "core".to_string()
    } else {
        rt.group.split('.').next().unwrap_or(rt.group).to_string()
    };
    format!("io.k8s.api.{group}.{}.{}", rt.version, rt.kind)
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(rt: &ResourceType, verb: &str, with_validation: bool) -> Value {
    let mut params = vec![param("dryRun"), param("fieldManager")];
    if with_validation {
        params.push(param("fieldValidation"));
    }
    json!({
        "operationId": format!("{verb}{}", rt.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(rt))}}}}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind}
    })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION`.
pub fn document(group: &str, version: &str) -> Option<Value> {
    let rts: Vec<&ResourceType> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if rts.is_empty() {
        return None;
    }
    let base = format!("/{}", gv_path(group, version));
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for rt in rts {
        let prefix = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
        } else {
            format!("{base}/{}", rt.plural)
        };
        paths.insert(
            prefix.clone(),
            json!({"get": operation(rt, "list", false), "post": operation(rt, "post", true)}),
        );
        paths.insert(
            format!("{prefix}/{{name}}"),
            json!({
                "get": operation(rt, "get", false),
                "put": operation(rt, "put", true),
                "patch": operation(rt, "patch", true),
                "delete": operation(rt, "delete", false),
            }),
        );
        let mut props = Map::new();
        for f in ["apiVersion", "kind"] {
            props.insert(f.into(), json!({"type": "string"}));
        }
        props.insert("metadata".into(), json!({"type": "object"}));
        for f in rt.rules.fields {
            props.insert((*f).into(), json!({}));
        }
        schemas.insert(
            schema_name(rt),
            json!({
                "type": "object",
                "properties": props,
                "x-kubernetes-group-version-kind": [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.6"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}

//! Helpers over objects as JSON maps: metadata access and the canonical
//! field order the real server writes (`kind`, `apiVersion`, `metadata` in
//! ObjectMeta order, then the body, `status` last).

use serde_json::{Map, Value};

use crate::kinds::METADATA_FIELDS;
use crate::resources::ResourceType;

/// `metadata.<key>` as a string, if present.
pub fn meta_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(key)?.as_str()
}

/// `metadata` as a mutable map, created when missing.
pub fn meta_mut(obj: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let m = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut().expect("just made an object")
}

/// Reorders `obj` into the canonical field order and sets kind/apiVersion.
pub fn canonical(rt: &ResourceType, mut obj: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(rt.kind.to_string()));
    out.insert("apiVersion".into(), Value::String(rt.api_version()));
    obj.remove("kind");
    obj.remove("apiVersion");
    let mut meta = match obj.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut m2 = Map::new();
    for k in METADATA_FIELDS {
        if let Some(v) = meta.remove(*k) {
            let empty = match &v {
                Value::Null => true,
                Value::Object(o) => o.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::String(s) => s.is_empty(),
                _ => false,
            };
            if !empty {
                m2.insert(k.to_string(), v);
            }
        }
    }
    out.insert("metadata".into(), Value::Object(m2));
    for k in rt.rules.fields {
        if *k == "status" {
            continue;
        }
        if let Some(v) = obj.remove(*k)
            && !v.is_null()
        {
            out.insert(k.to_string(), v);
        }
    }
    let status = obj.remove("status");
    for (k, v) in obj {
        out.insert(k, v);
    }
    if let Some(s) = status
        && !s.is_null()
    {
        out.insert("status".into(), s);
    }
    out
}

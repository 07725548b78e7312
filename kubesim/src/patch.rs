//! The three patch formats kubectl and kube-rs send besides server-side
//! apply: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a
//! strategic merge patch that merges known lists by their merge key.
//! Pure functions over JSON values.
//!
//! # Caveats
//! The strategic merge patch takes merge keys from the server-side-apply
//! list keys of [`crate::schema`] (the first key); `$setElementOrder` and
//! `$retainKeys` directives are accepted and ignored.

use serde_json::{Map, Value};

use crate::schema::{self, ListKind, Ty};

/// RFC 7386: `null` deletes, objects merge, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("just made an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Why a JSON patch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPatchError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Failed(String),
}

/// RFC 6902 operations applied in order.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), JsonPatchError> {
    let Value::Array(ops) = ops else {
        return Err(JsonPatchError::Malformed(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
        ));
    };
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| JsonPatchError::Malformed("missing path".into()))?;
        match name {
            "add" => add(doc, path, value_of(op)?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                remove(doc, path)?;
                add(doc, path, value_of(op)?)?;
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| JsonPatchError::Malformed("missing from".into()))?;
                let v = if name == "move" {
                    remove(doc, from)?
                } else {
                    doc.pointer(from).cloned().ok_or_else(|| missing(from))?
                };
                add(doc, path, v)?;
            }
            "test" => {
                let want = value_of(op)?;
                if doc.pointer(path) != Some(&want) {
                    return Err(JsonPatchError::Failed(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => {
                return Err(JsonPatchError::Malformed(format!(
                    "Unexpected kind: {other}"
                )));
            }
        }
    }
    Ok(())
}

fn value_of(op: &Value) -> Result<Value, JsonPatchError> {
    op.get("value")
        .cloned()
        .ok_or_else(|| JsonPatchError::Malformed("missing value".into()))
}

fn missing(path: &str) -> JsonPatchError {
    JsonPatchError::Failed(format!(
        "the server rejected our request due to an error in our request: path {path} not found"
    ))
}

fn split(path: &str) -> Result<(String, String), JsonPatchError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| JsonPatchError::Malformed(format!("invalid path {path}")))?;
    Ok((
        parent.to_string(),
        last.replace("~1", "/").replace("~0", "~"),
    ))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), JsonPatchError> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => {
            m.insert(last, v);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>().map_err(|_| missing(path))?
            };
            if i > a.len() {
                return Err(missing(path));
            }
            a.insert(i, v);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, JsonPatchError> {
    let (parent, last) = split(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => m.shift_remove(&last).ok_or_else(|| missing(path)),
        Some(Value::Array(a)) => {
            let i = last.parse::<usize>().map_err(|_| missing(path))?;
            if i >= a.len() {
                return Err(missing(path));
            }
            Ok(a.remove(i))
        }
        _ => Err(missing(path)),
    }
}

/// The type of `key` inside a value of type `ty`.
fn child<'a>(ty: Option<&'a Ty>, key: &str) -> Option<&'a Ty> {
    match ty {
        Some(Ty::Object(i)) => schema::field(*i, key),
        Some(Ty::Map(elem)) => Some(elem),
        _ => None,
    }
}

/// A strategic merge patch; `ty` (from [`crate::schema`]) tells how lists
/// merge: keyed lists by their first key, sets as unions, others replaced.
pub fn strategic(target: &mut Value, patch: &Value, ty: Option<&Ty>) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut clean = p.clone();
        clean.remove("$patch");
        *target = strip_directives(Value::Object(clean));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("just made an object");
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        let fty = child(ty, k);
        match (t.get_mut(k), v) {
            (Some(Value::Array(cur)), Value::Array(items)) => match fty {
                Some(Ty::List(elem, ListKind::Map(keys))) => {
                    merge_list(cur, items, keys[0], Some(elem));
                }
                Some(Ty::List(_, ListKind::Set)) => {
                    for it in items {
                        if !cur.contains(it) {
                            cur.push(it.clone());
                        }
                    }
                }
                _ => *cur = items.iter().cloned().map(strip_directives).collect(),
            },
            (Some(cur @ Value::Object(_)), Value::Object(_)) => strategic(cur, v, fty),
            _ => {
                t.insert(k.clone(), strip_directives(v.clone()));
            }
        }
    }
}

fn merge_list(cur: &mut Vec<Value>, items: &[Value], key: &str, elem: Option<&Ty>) {
    // New items go first, in patch order (as the real server orders them).
    let mut next_new = 0;
    for it in items {
        let id = it.get(key);
        let delete = it.get("$patch").and_then(Value::as_str) == Some("delete");
        let pos = cur.iter().position(|c| id.is_some() && c.get(key) == id);
        match (pos, delete) {
            (Some(i), true) => {
                cur.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut cur[i], it, elem),
            (None, false) => {
                cur.insert(next_new, strip_directives(it.clone()));
                next_new += 1;
            }
        }
    }
}

fn strip_directives(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k, strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_directives).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(&mut v, &json!({"a": null, "b": {"c": 5}, "e": [1]}));
        assert_eq!(v, json!({"b": {"c": 5, "d": 3}, "e": [1]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut v = json!({"a": {"b": [1, 2]}});
        json_patch(
            &mut v,
            &json!([
                {"op": "add", "path": "/a/b/-", "value": 3},
                {"op": "replace", "path": "/a/b/0", "value": 0},
                {"op": "remove", "path": "/a/b/1"},
                {"op": "test", "path": "/a/b", "value": [0, 3]},
                {"op": "copy", "from": "/a", "path": "/c"}
            ]),
        )
        .unwrap();
        assert_eq!(v, json!({"a": {"b": [0, 3]}, "c": {"b": [0, 3]}}));
        assert!(json_patch(&mut v, &json!([{"op": "remove", "path": "/x"}])).is_err());
        assert!(json_patch(&mut v, &json!([{"op": "test", "path": "/c", "value": 1}])).is_err());
    }

    fn deployment() -> Ty {
        let rt = crate::resources::find("apps", "v1", "deployments")
            .unwrap()
            .1;
        Ty::Object(schema::root(rt).unwrap())
    }

    #[test]
    fn strategic_merges_conditions_by_type() {
        let d = deployment();
        let mut v = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
        strategic(
            &mut v,
            &json!({"status": {"conditions": [{"type": "Custom", "status": "True"}]}}),
            Some(&d),
        );
        let types: Vec<&str> = v["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Custom", "Available"]);
        strategic(
            &mut v,
            &json!({"status": {"conditions": [{"type": "Custom", "$patch": "delete"}]}}),
            Some(&d),
        );
        assert_eq!(v["status"]["conditions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn strategic_merges_containers_by_name_and_replaces_args() {
        let d = deployment();
        let mut v = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "1", "args": ["x", "y"]}, {"name": "b", "image": "2"}]}}}});
        strategic(
            &mut v,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "3", "args": ["z"]}]}}}}),
            Some(&d),
        );
        assert_eq!(
            v["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "3", "args": ["z"]}, {"name": "b", "image": "2"}])
        );
    }
}

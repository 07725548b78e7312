//! What every controller needs: the resource ids it works on, JSON
//! accessors, owner references, conditions and the hash names of
//! ReplicaSets and ControllerRevisions.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::resources::{self, ResourceId};

/// The resources the controllers read and write.
#[derive(Debug)]
pub struct Ids {
    pub pods: ResourceId,
    pub events: ResourceId,
    pub nodes: ResourceId,
    pub pvcs: ResourceId,
    pub pvs: ResourceId,
    pub deployments: ResourceId,
    pub replicasets: ResourceId,
    pub statefulsets: ResourceId,
    pub revisions: ResourceId,
    pub jobs: ResourceId,
    pub hpas: ResourceId,
    pub pdbs: ResourceId,
    pub storageclasses: ResourceId,
}

pub fn ids() -> &'static Ids {
    static IDS: OnceLock<Ids> = OnceLock::new();
    IDS.get_or_init(|| {
        let f = |g: &str, v: &str, p: &str| resources::find(g, v, p).expect("served").0;
        Ids {
            pods: f("", "v1", "pods"),
            events: f("", "v1", "events"),
            nodes: f("", "v1", "nodes"),
            pvcs: f("", "v1", "persistentvolumeclaims"),
            pvs: f("", "v1", "persistentvolumes"),
            deployments: f("apps", "v1", "deployments"),
            replicasets: f("apps", "v1", "replicasets"),
            statefulsets: f("apps", "v1", "statefulsets"),
            revisions: f("apps", "v1", "controllerrevisions"),
            jobs: f("batch", "v1", "jobs"),
            hpas: f("autoscaling", "v2", "horizontalpodautoscalers"),
            pdbs: f("policy", "v1", "poddisruptionbudgets"),
            storageclasses: f("storage.k8s.io", "v1", "storageclasses"),
        }
    })
}

/// An integer at a JSON pointer.
pub fn int(v: &Map<String, Value>, ptr: &str) -> Option<i64> {
    pointer(v, ptr).and_then(Value::as_i64)
}

/// A string at a JSON pointer.
pub fn text<'a>(v: &'a Map<String, Value>, ptr: &str) -> Option<&'a str> {
    pointer(v, ptr).and_then(Value::as_str)
}

pub fn pointer<'a>(v: &'a Map<String, Value>, ptr: &str) -> Option<&'a Value> {
    let rest = ptr.strip_prefix('/')?;
    let (first, tail) = match rest.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    let top = v.get(first)?;
    match tail {
        Some(t) => top.pointer(&format!("/{t}")),
        None => Some(top),
    }
}

/// `obj[key]` as a map, created when missing or not an object.
pub fn child<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = obj.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("just made an object")
}

pub fn name(obj: &Map<String, Value>) -> &str {
    text(obj, "/metadata/name").unwrap_or("")
}

pub fn uid(obj: &Map<String, Value>) -> &str {
    text(obj, "/metadata/uid").unwrap_or("")
}

pub fn generation(obj: &Map<String, Value>) -> i64 {
    int(obj, "/metadata/generation").unwrap_or(0)
}

pub fn deleting(obj: &Map<String, Value>) -> bool {
    pointer(obj, "/metadata/deletionTimestamp").is_some()
}

/// The controller reference (kind, name, uid), if any.
pub fn controller_of(obj: &Map<String, Value>) -> Option<(String, String, String)> {
    pointer(obj, "/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (s("kind"), s("name"), s("uid"))
        })
}

/// Whether `obj` is controlled by the object with `uid`.
pub fn controlled_by(obj: &Map<String, Value>, owner_uid: &str) -> bool {
    controller_of(obj).is_some_and(|(_, _, u)| u == owner_uid)
}

/// A controller ownerReference to `owner`.
pub fn owner_ref(owner: &Map<String, Value>) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": owner.get("kind").cloned().unwrap_or(Value::Null),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true
    })
}

/// The `matchLabels` of a selector as `(key, value)` pairs.
pub fn match_labels(selector: Option<&Value>) -> Map<String, Value> {
    selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Whether `labels` carry every pair of `want`.
pub fn labels_match(labels: Option<&Value>, want: &Map<String, Value>) -> bool {
    let have = labels.and_then(Value::as_object);
    want.iter()
        .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
}

/// The condition of `type` in `status.conditions`.
pub fn condition<'a>(obj: &'a Map<String, Value>, ty: &str) -> Option<&'a Map<String, Value>> {
    pointer(obj, "/status/conditions")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

/// 32-bit FNV-1a, as the controllers hash pod templates.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `rand.SafeEncodeString` of the decimal hash: the shape of
/// `pod-template-hash` (`5b6c5d57d`) and revision suffixes.
pub fn safe_encode(h: u32) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// The hash name of a pod template (plus a collision count).
pub fn template_hash(template: &Value, collisions: i64) -> String {
    let mut data = serde_json::to_vec(&sorted(template)).unwrap_or_default();
    if collisions > 0 {
        data.extend_from_slice(collisions.to_string().as_bytes());
    }
    safe_encode(fnv32a(&data))
}

/// `v` with object keys sorted, so equal templates hash alike.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `25%` of `total` or an absolute number, rounded up or down.
pub fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: &str) -> i64 {
    let s = match v {
        Some(Value::Number(n)) => return n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.clone(),
        _ => default.to_string(),
    };
    match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
        Some(p) if round_up => (p * total + 99) / 100,
        Some(p) => p * total / 100,
        None => s.parse().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_rounds_up_and_unavailable_down() {
        let pct = json!("25%");
        assert_eq!(int_or_percent(Some(&pct), 2, true, "25%"), 1);
        assert_eq!(int_or_percent(Some(&pct), 2, false, "25%"), 0);
        assert_eq!(int_or_percent(Some(&json!(3)), 2, false, "25%"), 3);
        assert_eq!(int_or_percent(None, 10, true, "25%"), 3);
    }

    #[test]
    fn hashes_have_the_real_shape() {
        let h = template_hash(&json!({"metadata": {"labels": {"app": "web"}}}), 0);
        assert!((8..=10).contains(&h.len()), "{h}");
        assert!(
            h.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
        let a = json!({"b": 1, "a": {"y": 2, "x": 1}});
        let b = json!({"a": {"x": 1, "y": 2}, "b": 1});
        assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
        assert_ne!(template_hash(&a, 0), template_hash(&a, 1));
    }
}

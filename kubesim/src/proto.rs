//! Protobuf request bodies for the few kinds kubectl's typed commands send
//! that way (`kubectl create namespace|configmap|secret|serviceaccount`):
//! the `k8s\0` envelope (`runtime.Unknown`) and ObjectMeta's common fields,
//! decoded into the same JSON the handlers expect. Other kinds are 415.

use serde_json::{Map, Value, json};

use crate::base64;

/// A protobuf field: number and value.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        out |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

/// The fields of one message, in order.
fn fields(b: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        let tag = varint(b, &mut pos)?;
        let value = match tag & 7 {
            0 => Wire::Varint(varint(b, &mut pos)?),
            2 => {
                let len = varint(b, &mut pos)? as usize;
                let v = b.get(pos..pos.checked_add(len)?)?;
                pos += len;
                Wire::Bytes(v)
            }
            1 => {
                pos += 8;
                Wire::Varint(0)
            }
            5 => {
                pos += 4;
                Wire::Varint(0)
            }
            _ => return None,
        };
        out.push((tag >> 3, value));
    }
    Some(out)
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// A `map<string, string|bytes>` entry (key 1, value 2).
fn entry(b: &[u8], bytes_value: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, w) in fields(b)? {
        if let Wire::Bytes(v) = w {
            match n {
                1 => key = String::from_utf8_lossy(v).into_owned(),
                2 if bytes_value => value = Value::String(base64::encode(v)),
                2 => value = text(v),
                _ => {}
            }
        }
    }
    Some((key, value))
}

fn insert_entry(
    m: &mut Map<String, Value>,
    field: &str,
    b: &[u8],
    bytes_value: bool,
) -> Option<()> {
    let (k, v) = entry(b, bytes_value)?;
    m.entry(field)
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .insert(k, v);
    Some(())
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(v)) => {
                m.insert("name".into(), text(v));
            }
            (2, Wire::Bytes(v)) => {
                m.insert("generateName".into(), text(v));
            }
            (3, Wire::Bytes(v)) => {
                m.insert("namespace".into(), text(v));
            }
            (6, Wire::Bytes(v)) => {
                m.insert("resourceVersion".into(), text(v));
            }
            (11, Wire::Bytes(v)) => insert_entry(&mut m, "labels", v, false)?,
            (12, Wire::Bytes(v)) => insert_entry(&mut m, "annotations", v, false)?,
            (14, Wire::Bytes(v)) => {
                m.entry("finalizers")
                    .or_insert_with(|| json!([]))
                    .as_array_mut()?
                    .push(text(v));
            }
            _ => {}
        }
    }
    Some(Value::Object(m))
}

/// Decodes a `k8s\0`-framed body of one of the supported kinds.
pub fn decode(body: &[u8]) -> Option<Map<String, Value>> {
    let envelope = body.strip_prefix(b"k8s\0")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, w) in fields(envelope)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm)? {
                    if let Wire::Bytes(v) = w {
                        match n {
                            1 => api_version = String::from_utf8_lossy(v).into_owned(),
                            2 => kind = String::from_utf8_lossy(v).into_owned(),
                            _ => {}
                        }
                    }
                }
            }
            (2, Wire::Bytes(v)) => raw = v,
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    for (n, w) in fields(raw)? {
        let Wire::Bytes(v) = w else {
            if let (5, Wire::Varint(x), "Secret") | (4, Wire::Varint(x), "ConfigMap") =
                (n, &w, kind.as_str())
            {
                obj.insert("immutable".into(), json!(*x != 0));
            }
            continue;
        };
        match (kind.as_str(), n) {
            (_, 1) => {
                obj.insert("metadata".into(), object_meta(v)?);
            }
            ("Namespace", 2) => {
                let finalizers: Vec<Value> = fields(v)?
                    .into_iter()
                    .filter_map(|(n, w)| match (n, w) {
                        (1, Wire::Bytes(f)) => Some(text(f)),
                        _ => None,
                    })
                    .collect();
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            ("ConfigMap", 2) => insert_entry(&mut obj, "data", v, false)?,
            ("ConfigMap", 3) => insert_entry(&mut obj, "binaryData", v, true)?,
            ("Secret", 2) => insert_entry(&mut obj, "data", v, true)?,
            ("Secret", 3) => {
                obj.insert("type".into(), text(v));
            }
            ("Secret", 4) => insert_entry(&mut obj, "stringData", v, false)?,
            ("Namespace" | "ConfigMap" | "Secret" | "ServiceAccount", _) => {}
            _ => return None,
        }
    }
    match kind.as_str() {
        "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount" => Some(obj),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_namespace_from_kubectl() {
        let meta = field(1, b"foo");
        let raw = field(1, &meta);
        let type_meta = [field(1, b"v1"), field(2, b"Namespace")].concat();
        let mut body = b"k8s\0".to_vec();
        body.extend([field(1, &type_meta), field(2, &raw)].concat());
        let obj = decode(&body).unwrap();
        assert_eq!(
            Value::Object(obj),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}})
        );
    }

    #[test]
    fn decodes_configmap_data() {
        let meta = field(1, b"cm");
        let data = [field(1, b"k"), field(2, b"v")].concat();
        let raw = [field(1, &meta), field(2, &data)].concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let mut body = b"k8s\0".to_vec();
        body.extend([field(1, &type_meta), field(2, &raw)].concat());
        let obj = decode(&body).unwrap();
        assert_eq!(obj["data"], json!({"k": "v"}));
        let deployment = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let mut other = b"k8s\0".to_vec();
        other.extend([field(1, &deployment), field(2, &field(1, &meta))].concat());
        assert!(decode(&other).is_none());
    }
}

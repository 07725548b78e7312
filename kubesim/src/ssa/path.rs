//! Path elements of a field set, as structured-merge-diff names them: a
//! struct or map field (`f:name`), a list item by its key fields
//! (`k:{"containerPort":80,"protocol":"TCP"}`, keys sorted), a set item by
//! its value (`v:"x"`), or a list item by its index (`i:0`, atomic-free
//! lists without keys). Ordered as the real server orders them, so that
//! FieldsV1 and conflict lists come out in the same order.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pe {
    Field(String),
    /// Key fields of a list item, sorted by name.
    Key(Vec<(String, Value)>),
    Value(Value),
    Index(usize),
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Orders JSON values the way structured-merge-diff's `value.Compare` does
/// for the scalars keys are made of.
pub fn cmp_value(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ if rank(a) != rank(b) => rank(a).cmp(&rank(b)),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

impl Pe {
    fn rank(&self) -> u8 {
        match self {
            Pe::Field(_) => 0,
            Pe::Key(_) => 1,
            Pe::Value(_) => 2,
            Pe::Index(_) => 3,
        }
    }

    /// `f:name`, `k:{...}`, `v:...` or `i:N`, as in FieldsV1.
    pub fn encode(&self) -> String {
        match self {
            Pe::Field(f) => format!("f:{f}"),
            Pe::Key(k) => {
                let m: Map<String, Value> = k.iter().cloned().collect();
                format!("k:{}", Value::Object(m))
            }
            Pe::Value(v) => format!("v:{v}"),
            Pe::Index(i) => format!("i:{i}"),
        }
    }

    /// The inverse of [`Pe::encode`].
    pub fn decode(s: &str) -> Option<Pe> {
        let (kind, rest) = s.split_at_checked(2)?;
        match kind {
            "f:" => Some(Pe::Field(rest.to_string())),
            "k:" => match serde_json::from_str::<Value>(rest).ok()? {
                Value::Object(m) => {
                    let mut k: Vec<(String, Value)> = m.into_iter().collect();
                    k.sort_by(|a, b| a.0.cmp(&b.0));
                    Some(Pe::Key(k))
                }
                _ => None,
            },
            "v:" => serde_json::from_str(rest).ok().map(Pe::Value),
            "i:" => rest.parse().ok().map(Pe::Index),
            _ => None,
        }
    }
}

impl Ord for Pe {
    fn cmp(&self, other: &Pe) -> Ordering {
        match (self, other) {
            (Pe::Field(a), Pe::Field(b)) => a.cmp(b),
            (Pe::Key(a), Pe::Key(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    let o = ka.cmp(kb).then_with(|| cmp_value(va, vb));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Pe::Value(a), Pe::Value(b)) => cmp_value(a, b),
            (Pe::Index(a), Pe::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Pe {
    fn partial_cmp(&self, other: &Pe) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A path from the object's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<Pe>);

impl fmt::Display for Path {
    /// `.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]`,
    /// as in a conflict's `field`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            match pe {
                Pe::Field(n) => write!(f, ".{n}")?,
                Pe::Key(k) => {
                    let parts: Vec<String> = k.iter().map(|(n, v)| format!("{n}={v}")).collect();
                    write!(f, "[{}]", parts.join(","))?
                }
                Pe::Value(v) => write!(f, "[={v}]")?,
                Pe::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_and_orders_as_the_server() {
        let k = Pe::Key(vec![
            ("containerPort".into(), json!(80)),
            ("protocol".into(), json!("TCP")),
        ]);
        assert_eq!(k.encode(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(Pe::decode(&k.encode()), Some(k.clone()));
        assert_eq!(Pe::decode("v:\"a\""), Some(Pe::Value(json!("a"))));
        assert_eq!(Pe::decode("i:3"), Some(Pe::Index(3)));
        assert!(Pe::Field("z".into()) < k);
        let p = Path(vec![
            Pe::Field("spec".into()),
            Pe::Field("ports".into()),
            k,
            Pe::Field("name".into()),
        ]);
        assert_eq!(
            p.to_string(),
            r#".spec.ports[containerPort=80,protocol="TCP"].name"#
        );
    }
}

//! `metadata.managedFields`: one entry per manager identity (manager,
//! operation, subresource; Update entries also by apiVersion, which is one
//! per kind here), decoded into field sets and encoded back in the order
//! the real server writes them (operation, time, manager).

use serde_json::{Map, Value, json};

use super::set::Set;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One manager's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub set: Set,
}

impl Entry {
    pub fn same_identity(&self, manager: &str, op: Operation, subresource: &str) -> bool {
        self.manager == manager && self.operation == op && self.subresource == subresource
    }

    /// How a conflict names this manager: `"thebot"`,
    /// `"python-requests" using v1`, `"m" with subresource "status"`.
    pub fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", self.subresource);
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation.as_str()));
        m.insert("apiVersion".into(), json!(self.api_version));
        if !self.time.is_empty() {
            m.insert("time".into(), json!(self.time));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m)
    }
}

/// The entries of an object's `metadata.managedFields`; malformed entries
/// are dropped (a client may send `[{}]` to clear them).
pub fn decode(obj: &Map<String, Value>) -> Vec<Entry> {
    let Some(list) = obj
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let operation = match e.get("operation").and_then(Value::as_str)? {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return None,
            };
            let set = Set::from_fields_v1(e.get("fieldsV1")?)?;
            let manager = s("manager");
            Some(Entry {
                manager,
                operation,
                api_version: s("apiVersion"),
                time: s("time"),
                subresource: s("subresource"),
                set,
            })
        })
        .collect()
}

/// Sorted as the real server sorts them; entries with empty sets dropped.
pub fn encode(entries: &[Entry]) -> Value {
    let mut v: Vec<&Entry> = entries.iter().filter(|e| !e.set.is_empty()).collect();
    v.sort_by(|a, b| {
        a.operation
            .cmp(&b.operation)
            .then_with(|| {
                crate::clock::parse_rfc3339(&a.time).cmp(&crate::clock::parse_rfc3339(&b.time))
            })
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    Value::Array(v.into_iter().map(Entry::to_json).collect())
}

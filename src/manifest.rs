//! Rendered objects: their identity (group, version, kind, namespace, name)
//! and the multi-document YAML stream `thebot template` prints.

use std::fmt;

use serde_json::Value;

use crate::yaml;

/// One rendered Kubernetes object and the template it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// `manifests/<file>`.
    pub source: String,
    /// The object as JSON, keys in template order.
    pub value: Value,
}

/// What names an object on a cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectId {
    /// `Kind/namespace/name`, as messages name objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl Object {
    pub fn str_at(&self, pointer: &str) -> &str {
        self.value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.str_at("/kind")
    }

    pub fn name(&self) -> &str {
        self.str_at("/metadata/name")
    }

    pub fn namespace(&self) -> &str {
        self.str_at("/metadata/namespace")
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    pub fn id(&self) -> ObjectId {
        let api_version = self.str_at("/apiVersion");
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        ObjectId {
            group,
            version,
            kind: self.kind().to_string(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// Sets `metadata.annotations[key]`, creating the map if needed.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        set_map_entry(&mut self.value, &["metadata", "annotations"], key, value);
    }
}

/// Sets `root[path...][key] = value`, creating maps on the way.
pub fn set_map_entry(root: &mut Value, path: &[&str], key: &str, value: &str) {
    let mut node = root;
    for p in path {
        if !node.is_object() {
            *node = Value::Object(Default::default());
        }
        let map = node.as_object_mut().expect("just made a map");
        let child = map.entry(p.to_string()).or_insert(Value::Null);
        if !child.is_object() {
            *child = Value::Object(Default::default());
        }
        node = child;
    }
    if let Some(map) = node.as_object_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The `---`-separated stream with a `# Source:` line per document.
pub fn to_stream(objects: &[Object]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n# Source: ");
        out.push_str(&o.source);
        out.push('\n');
        out.push_str(&yaml::to_yaml(&o.value));
    }
    out
}

/// Parses a stream written by [`to_stream`] back into objects (a release
/// record's manifest), keeping each document's `# Source:`.
pub fn from_stream(stream: &str) -> Result<Vec<Object>, yaml::YamlError> {
    // Every document of such a stream starts `---` then `# Source: ...`.
    let mut sources = stream
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .map(str::to_string);
    Ok(yaml::parse_documents(stream)?
        .into_iter()
        .filter(|d| d.value.is_object())
        .map(|d| Object {
            source: sources.next().unwrap_or_default(),
            value: d.value,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_and_display() {
        let o = Object {
            source: "manifests/x.yaml".into(),
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "ns"}}),
        };
        let id = o.id();
        assert_eq!((id.group.as_str(), id.version.as_str()), ("apps", "v1"));
        assert_eq!(id.to_string(), "Deployment/ns/a");
        let core = Object {
            source: String::new(),
            value: json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
        };
        assert_eq!(core.id().group, "");
        assert_eq!(core.id().to_string(), "Secret/s");
    }

    #[test]
    fn streams_read_back() {
        let objects = vec![
            Object {
                source: "manifests/a.yaml".into(),
                value: json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "---"}}),
            },
            Object {
                source: "manifests/b.yaml".into(),
                value: json!({"kind": "Secret", "metadata": {"name": "b"}, "data": {"t": "line\n---\nline\n"}}),
            },
        ];
        assert_eq!(from_stream(&to_stream(&objects)).unwrap(), objects);
    }

    #[test]
    fn stream_has_source_lines() {
        let o = Object {
            source: "manifests/x.yaml".into(),
            value: json!({"kind": "ConfigMap"}),
        };
        assert_eq!(
            to_stream(&[o]),
            "---\n# Source: manifests/x.yaml\nkind: ConfigMap\n"
        );
    }
}

//! Structural schemas of the served kinds, generated from k8s-openapi
//! (`tools/gen_schema.py`): which fields exist at every level, and how
//! lists merge (keyed, set, atomic). Used to find unknown fields at any
//! depth for `fieldValidation`, and by the strategic merge patch.
//!
//! # Caveats
//! The schemas are those of Kubernetes 1.33 (k8s-openapi's oldest); the
//! handful of fields new in 1.33 are accepted although a 1.32 server would
//! call them unknown.

#[rustfmt::skip]
mod generated;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::resources::ResourceType;

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    Atomic,
    Set,
    /// Items identified by these fields.
    Map(Vec<&'static str>),
}

/// A scalar's Go type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    String,
    Int32,
    Int64,
    Bool,
    Float,
}

impl Scalar {
    fn go(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Bool => "bool",
            Scalar::Float => "float64",
        }
    }
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Scalar(Scalar),
    /// Anything goes (int-or-string, quantity, time, raw extension).
    Any,
    Object(usize),
    List(Box<Ty>, ListKind),
    Map(Box<Ty>),
}

/// One object type.
#[derive(Debug)]
pub struct TypeDef {
    pub name: &'static str,
    pub fields: Vec<(&'static str, Ty)>,
    /// No fixed fields (unstructured).
    pub any: bool,
}

fn parse_ty(code: &'static str) -> Ty {
    let (shape, strategy) = code.split_once('|').unwrap_or((code, ""));
    let elem = |s: &'static str| -> Ty {
        match s {
            "s" => Ty::Scalar(Scalar::String),
            "i32" => Ty::Scalar(Scalar::Int32),
            "i64" => Ty::Scalar(Scalar::Int64),
            "b" => Ty::Scalar(Scalar::Bool),
            "f" => Ty::Scalar(Scalar::Float),
            t if t.starts_with('T') => t[1..].parse().map(Ty::Object).unwrap_or(Ty::Any),
            _ => Ty::Any,
        }
    };
    match shape.as_bytes().first() {
        Some(b'[') => {
            let kind = match strategy {
                "set" => ListKind::Set,
                s if s.starts_with("map:") => ListKind::Map(s[4..].split(',').collect()),
                _ => ListKind::Atomic,
            };
            Ty::List(Box::new(elem(&shape[1..])), kind)
        }
        Some(b'{') => Ty::Map(Box::new(elem(&shape[1..]))),
        _ => elem(shape),
    }
}

struct Schemas {
    types: Vec<TypeDef>,
    by_name: HashMap<&'static str, usize>,
}

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| {
        let types: Vec<TypeDef> = generated::TYPES
            .iter()
            .map(|(name, fields)| TypeDef {
                name,
                any: fields.iter().any(|(n, _)| *n == "*"),
                fields: fields.iter().map(|(n, c)| (*n, parse_ty(c))).collect(),
            })
            .collect();
        let by_name = types.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        Schemas { types, by_name }
    })
}

/// The type with this index.
pub fn type_def(i: usize) -> &'static TypeDef {
    &schemas().types[i]
}

/// The root type of a resource (`io.k8s.api.apps.v1.Deployment`).
pub fn root(rt: &ResourceType) -> Option<usize> {
    let group = if rt.group.is_empty() {
        "core"
    } else {
        rt.group.split('.').next().unwrap_or(rt.group)
    };
    let name = format!("io.k8s.api.{group}.{}.{}", rt.version, rt.kind);
    schemas().by_name.get(name.as_str()).copied()
}

/// The type of `field` in object type `ty`.
pub fn field(ty: usize, field: &str) -> Option<&'static Ty> {
    let def = type_def(ty);
    def.fields.iter().find(|(n, _)| *n == field).map(|(_, t)| t)
}

/// Unknown fields in `v` (of type `ty`), as the real server's strict
/// decoder names them: `bogus`, `metadata.bogus`,
/// `spec.template.spec.containers[0].imagee`.
pub fn unknown_fields(ty: &Ty, v: &Value, path: &str, out: &mut Vec<String>) {
    match (ty, v) {
        (Ty::Object(i), Value::Object(m)) => {
            let def = type_def(*i);
            if def.any {
                return;
            }
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match field(*i, k) {
                    Some(t) => unknown_fields(t, x, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Ty::List(elem, _), Value::Array(a)) => {
            for (n, x) in a.iter().enumerate() {
                unknown_fields(elem, x, &format!("{path}[{n}]"), out);
            }
        }
        (Ty::Map(elem), Value::Object(m)) => {
            for (k, x) in m {
                unknown_fields(elem, x, &format!("{path}[{k}]"), out);
            }
        }
        _ => {}
    }
}

/// The first value of the wrong JSON type, as Go's decoder reports it:
/// `json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string`.
pub fn type_error(ty: &Ty, v: &Value) -> Option<String> {
    let Ty::Object(i) = ty else { return None };
    let mut path = Vec::new();
    walk_types(ty, v, short_name(*i), &mut path, false)
}

/// As [`type_error`] for a server-side apply body, whose typed-patch
/// check takes any number for an integer field (a fraction fails later,
/// when the merged object is converted).
pub fn apply_type_error(ty: &Ty, v: &Value) -> Option<String> {
    let Ty::Object(i) = ty else { return None };
    let mut path = Vec::new();
    walk_types(ty, v, short_name(*i), &mut path, true)
}

fn short_name(i: usize) -> &'static str {
    let name = type_def(i).name;
    name.rsplit('.').next().unwrap_or(name)
}

/// Go's name of a type: `string`, `[]string`, `v1.PodSpec`...
fn go_type(ty: &Ty) -> String {
    match ty {
        Ty::Scalar(s) => s.go().to_string(),
        Ty::Any => "interface {}".to_string(),
        Ty::Object(i) => {
            let name = type_def(*i).name;
            let mut parts = name.rsplit('.');
            let short = parts.next().unwrap_or(name);
            format!("{}.{short}", parts.next().unwrap_or(""))
        }
        Ty::List(e, _) => format!("[]{}", go_type(e)),
        Ty::Map(e) => format!("map[string]{}", go_type(e)),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::Null => "null".into(),
    }
}

fn walk_types(
    ty: &Ty,
    v: &Value,
    strukt: &str,
    path: &mut Vec<String>,
    any_number: bool,
) -> Option<String> {
    let mismatch = || {
        Some(format!(
            "json: cannot unmarshal {} into Go struct field {strukt}.{} of type {}",
            describe(v),
            path.join("."),
            go_type(ty)
        ))
    };
    if let Ty::Object(i) = ty
        && type_def(*i).any
    {
        // Time, IntOrString, Quantity, RawExtension: custom decoders.
        return None;
    }
    match (ty, v) {
        (_, Value::Null) | (Ty::Any, _) => None,
        (Ty::Scalar(s), _) => {
            let ok = match s {
                Scalar::String => v.is_string(),
                Scalar::Bool => v.is_boolean(),
                Scalar::Float => v.is_number(),
                Scalar::Int32 | Scalar::Int64 if any_number && v.is_f64() => true,
                Scalar::Int32 => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                Scalar::Int64 => v.is_i64() || v.is_u64(),
            };
            if ok { None } else { mismatch() }
        }
        (Ty::Object(i), Value::Object(m)) => {
            let inner = short_name(*i);
            for (k, x) in m {
                if let Some(t) = field(*i, k) {
                    path.push(k.clone());
                    let e = walk_types(t, x, inner, path, any_number);
                    path.pop();
                    if e.is_some() {
                        return e;
                    }
                }
            }
            None
        }
        (Ty::List(e, _), Value::Array(a)) => a
            .iter()
            .find_map(|x| walk_types(e, x, strukt, path, any_number)),
        (Ty::Map(e), Value::Object(m)) => m
            .values()
            .find_map(|x| walk_types(e, x, strukt, path, any_number)),
        _ => mismatch(),
    }
}

/// Removes the fields [`unknown_fields`] reports (what the real decoder
/// drops when it does not reject them).
pub fn prune(ty: &Ty, v: &mut Value) {
    match (ty, v) {
        (Ty::Object(i), Value::Object(m)) => {
            let def = type_def(*i);
            if def.any {
                return;
            }
            m.retain(|k, _| field(*i, k).is_some());
            for (k, x) in m.iter_mut() {
                if let Some(t) = field(*i, k) {
                    prune(t, x);
                }
            }
        }
        (Ty::List(elem, _), Value::Array(a)) => a.iter_mut().for_each(|x| prune(elem, x)),
        (Ty::Map(elem), Value::Object(m)) => m.values_mut().for_each(|x| prune(elem, x)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Ty {
        let rt = crate::resources::find("apps", "v1", "deployments")
            .unwrap()
            .1;
        Ty::Object(root(rt).expect("Deployment schema"))
    }

    #[test]
    fn finds_nested_unknown_fields() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
            "metadata": {"name": "x", "labelz": {}},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "imagee": "x"}]}},
                     "selector": {"matchLabels": {"a": "b"}}}});
        let mut out = Vec::new();
        unknown_fields(&deployment(), &d, "", &mut out);
        assert_eq!(
            out,
            [
                "bogus",
                "metadata.labelz",
                "spec.template.spec.containers[0].imagee"
            ]
        );
        let mut pruned = d.clone();
        prune(&deployment(), &mut pruned);
        let mut again = Vec::new();
        unknown_fields(&deployment(), &pruned, "", &mut again);
        assert!(again.is_empty());
        assert_eq!(
            pruned["spec"]["template"]["spec"]["containers"][0],
            json!({"name": "a"})
        );
    }

    #[test]
    fn reports_type_errors_as_go_does() {
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": 1}]}]}}}});
        assert_eq!(
            type_error(&deployment(), &d).unwrap(),
            "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"
        );
        let d = json!({"spec": {"replicas": "3"}});
        assert_eq!(
            type_error(&deployment(), &d).unwrap(),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let cm = crate::resources::find("", "v1", "configmaps").unwrap().1;
        let cm = Ty::Object(root(cm).unwrap());
        assert_eq!(
            type_error(&cm, &json!({"data": {"port": 8080}})).unwrap(),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        assert!(type_error(&cm, &json!({"data": {"port": "8080"}})).is_none());
    }

    #[test]
    fn every_served_kind_has_a_schema() {
        for rt in crate::resources::RESOURCES {
            assert!(root(rt).is_some(), "{}", rt.kind);
        }
    }

    #[test]
    fn list_kinds() {
        let Ty::Object(d) = deployment() else {
            panic!()
        };
        let Some(Ty::Object(meta)) = field(d, "metadata") else {
            panic!()
        };
        assert!(matches!(
            field(*meta, "finalizers"),
            Some(Ty::List(_, ListKind::Set))
        ));
        assert!(
            matches!(field(*meta, "ownerReferences"), Some(Ty::List(_, ListKind::Map(k))) if k == &vec!["uid"])
        );
    }
}

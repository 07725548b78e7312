//! How each field of the served kinds merges under server-side apply: the
//! `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` /
//! `x-kubernetes-map-type` extensions of the Kubernetes 1.32 OpenAPI v3
//! (and `+structType=atomic`), as structured-merge-diff reads them.
//!
//! Most of it comes from the structural schemas of [`crate::schema`]
//! (generated from k8s-openapi by `tools/gen_schema.py`, which takes the
//! list strategies from its `DeepMerge` impls). Those carry only the first
//! key of a multi-key list and no struct/map atomicity, so the table below
//! corrects them. It was written from the 1.32 OpenAPI (`/openapi/v3`
//! documents of a 1.32 kube-apiserver, `x-kubernetes-*` extensions) and
//! checked against the recorded managedFields in `fixtures/k8s-1.32`
//! (06, 12, 22). To regenerate: fetch `/openapi/v3/api/v1` and
//! `/openapi/v3/apis/<group>/<version>` from a 1.32 server and list every
//! property whose extensions differ from the generated schema's strategy.

use crate::schema::{self, ListKind, Ty};

/// List fields whose semantics differ from the generated schema:
/// (schema type, field, keys; empty keys = atomic).
#[rustfmt::skip]
pub static LIST_OVERRIDES: &[(&str, &str, &[&str])] = &[
    ("io.k8s.api.core.v1.Container", "ports", &["containerPort", "protocol"]),
    ("io.k8s.api.core.v1.EphemeralContainer", "ports", &["containerPort", "protocol"]),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", &["port", "protocol"]),
    ("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", &["topologyKey", "whenUnsatisfiable"]),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "volumeClaimTemplates", &[]),
];

/// Maps with `x-kubernetes-map-type: atomic`: (schema type, field).
pub static ATOMIC_MAPS: &[(&str, &str)] = &[
    ("io.k8s.api.core.v1.ServiceSpec", "selector"),
    ("io.k8s.api.core.v1.PodSpec", "nodeSelector"),
];

/// Structs with `x-kubernetes-map-type: atomic` (`+structType=atomic`).
pub static ATOMIC_STRUCTS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "io.k8s.api.core.v1.ResourceFieldSelector",
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "io.k8s.api.core.v1.SecretKeySelector",
    "io.k8s.api.core.v1.LocalObjectReference",
    "io.k8s.api.core.v1.TypedLocalObjectReference",
    "io.k8s.api.core.v1.NodeSelector",
    "io.k8s.api.core.v1.NodeSelectorTerm",
    "io.k8s.api.core.v1.TopologySelectorTerm",
    "io.k8s.api.core.v1.ObjectReference",
    "io.k8s.api.core.v1.SecretReference",
];

/// Defaults of list-map key fields, used when an item omits them (the
/// OpenAPI `default` of the key property).
pub static KEY_DEFAULTS: &[(&str, &str)] = &[("protocol", "TCP")];

/// How a value at some position merges.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Scalars, atomic lists/maps/structs, untyped values: owned whole.
    Leaf,
    /// A struct: fields merge one by one.
    Struct(usize),
    /// A granular map of `Ty`.
    Map(Ty),
    /// An associative list of `Ty` keyed by these fields.
    Assoc(Ty, Vec<&'static str>),
    /// A set of scalars.
    Set,
}

/// The shape of a value of type `ty` (an element type or a root).
pub fn shape(ty: &Ty) -> Shape {
    match ty {
        Ty::Scalar(_) | Ty::Any => Shape::Leaf,
        Ty::Object(i) => {
            let def = schema::type_def(*i);
            if def.any || ATOMIC_STRUCTS.contains(&def.name) {
                Shape::Leaf
            } else {
                Shape::Struct(*i)
            }
        }
        Ty::List(elem, kind) => match kind {
            ListKind::Atomic => Shape::Leaf,
            ListKind::Set => Shape::Set,
            ListKind::Map(keys) => Shape::Assoc((**elem).clone(), keys.clone()),
        },
        Ty::Map(elem) => Shape::Map((**elem).clone()),
    }
}

/// The type of field `name` of struct `parent` with the overrides applied;
/// `None` for a field the schema does not declare.
pub fn field(parent: usize, name: &str) -> Option<Ty> {
    let ty = schema::field(parent, name)?;
    let pname = schema::type_def(parent).name;
    if let Some((_, _, keys)) = LIST_OVERRIDES
        .iter()
        .find(|(t, f, _)| *t == pname && *f == name)
        && let Ty::List(elem, _) = ty
    {
        let kind = if keys.is_empty() {
            ListKind::Atomic
        } else {
            ListKind::Map(keys.to_vec())
        };
        return Some(Ty::List(elem.clone(), kind));
    }
    if ATOMIC_MAPS.iter().any(|(t, f)| *t == pname && *f == name) {
        return Some(Ty::Any);
    }
    Some(ty.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty_of(kind: &str) -> usize {
        let rt = crate::resources::RESOURCES
            .iter()
            .find(|r| r.kind == kind)
            .unwrap();
        schema::root(rt).unwrap()
    }

    /// Every type reachable from the served kinds, by name.
    fn all_types() -> Vec<(&'static str, usize)> {
        let mut seen: Vec<(&'static str, usize)> = Vec::new();
        let mut todo: Vec<usize> = crate::resources::RESOURCES
            .iter()
            .filter_map(schema::root)
            .collect();
        while let Some(i) = todo.pop() {
            if seen.iter().any(|(_, j)| *j == i) {
                continue;
            }
            let def = schema::type_def(i);
            seen.push((def.name, i));
            for (_, t) in &def.fields {
                let mut t = t;
                while let Ty::List(e, _) | Ty::Map(e) = t {
                    t = e;
                }
                if let Ty::Object(j) = t {
                    todo.push(*j);
                }
            }
        }
        seen
    }

    #[test]
    fn every_override_names_a_real_field() {
        let types = all_types();
        let names: Vec<&str> = types.iter().map(|(n, _)| *n).collect();
        for (t, f, _) in LIST_OVERRIDES {
            let i = types.iter().find(|(n, _)| n == t).expect(t).1;
            assert!(matches!(schema::field(i, f), Some(Ty::List(..))), "{t}.{f}");
        }
        for (t, f) in ATOMIC_MAPS {
            let i = types.iter().find(|(n, _)| n == t).expect(t).1;
            assert!(matches!(schema::field(i, f), Some(Ty::Map(..))), "{t}.{f}");
        }
        for t in ATOMIC_STRUCTS {
            assert!(names.contains(t), "{t}");
        }
    }

    #[test]
    fn service_ports_are_keyed_by_port_and_protocol() {
        let svc = ty_of("Service");
        let Some(Ty::Object(spec)) = field(svc, "spec") else {
            panic!()
        };
        match shape(&field(spec, "ports").unwrap()) {
            Shape::Assoc(_, keys) => assert_eq!(keys, ["port", "protocol"]),
            s => panic!("{s:?}"),
        }
        assert!(matches!(
            shape(&field(spec, "selector").unwrap()),
            Shape::Leaf
        ));
    }
}

//! Field sets of objects and the three walks server-side apply makes over
//! them, driven by the merge semantics of [`super::semantics`]: the set of
//! fields a value holds, the merge of an applied configuration into the
//! live object, the comparison of two objects (modified, added, removed
//! fields), and the removal of a set of fields from an object.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::path::{Path, Pe};
use super::semantics::{self, KEY_DEFAULTS, Shape};
use super::set::Set;

/// The path element of a list item: its key fields (sorted by name, a
/// missing key taking its default) or, in a set, its value. `Err` names
/// the key an item lacks.
pub fn item_pe(item: &Value, shape: &Shape) -> Result<Pe, String> {
    match shape {
        Shape::Assoc(_, keys) => {
            let mut k: Vec<(String, Value)> = Vec::new();
            for name in keys {
                match item.get(*name) {
                    Some(v) if !v.is_null() => k.push((name.to_string(), v.clone())),
                    _ => match KEY_DEFAULTS.iter().find(|(n, _)| n == name) {
                        Some((_, d)) => k.push((name.to_string(), Value::String(d.to_string()))),
                        None => {
                            return Err(format!(
                                "associative list with keys has an element that omits key field {name:?} (and doesn't have default value)"
                            ));
                        }
                    },
                }
            }
            k.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Pe::Key(k))
        }
        _ => Ok(Pe::Value(item.clone())),
    }
}

fn elem_shape(shape: &Shape) -> Shape {
    match shape {
        Shape::Assoc(elem, _) => semantics::shape(elem),
        _ => Shape::Leaf,
    }
}

fn child_shape(shape: &Shape, key: &str) -> Option<Shape> {
    match shape {
        Shape::Struct(i) => semantics::field(*i, key).map(|t| semantics::shape(&t)),
        Shape::Map(elem) => Some(semantics::shape(elem)),
        _ => None,
    }
}

fn path_str(path: &[Pe]) -> String {
    Path(path.to_vec()).to_string()
}

/// Indexes list items by path element; `strict` reports missing keys and
/// duplicates, otherwise items without a key are skipped and the first
/// duplicate wins.
fn index_items(
    items: &[Value],
    shape: &Shape,
    path: &[Pe],
    strict: bool,
    errs: &mut Vec<String>,
) -> Vec<(Pe, usize)> {
    let mut out: Vec<(Pe, usize)> = Vec::new();
    let mut seen: BTreeMap<Pe, ()> = BTreeMap::new();
    for (n, item) in items.iter().enumerate() {
        match item_pe(item, shape) {
            Ok(pe) => {
                if seen.insert(pe.clone(), ()).is_some() {
                    if strict {
                        let key = Path(vec![pe]).to_string();
                        errs.push(format!(
                            "{}: duplicate entries for key {key}",
                            path_str(path)
                        ));
                    }
                    continue;
                }
                out.push((pe, n));
            }
            Err(e) => {
                if strict {
                    errs.push(format!("{}: element {n}: {e}", path_str(path)));
                }
            }
        }
    }
    out
}

/// The fields `v` sets, as an applied configuration's set; `Err` lists
/// what the real server's typed conversion rejects (undeclared fields,
/// items without keys, duplicate keys).
pub fn to_set(v: &Value, shape: &Shape) -> Result<Set, Vec<String>> {
    let mut out = Set::default();
    let mut errs = Vec::new();
    walk_set(v, shape, &mut Vec::new(), &mut out, &mut errs, true, false);
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn walk_set(
    v: &Value,
    shape: &Shape,
    path: &mut Vec<Pe>,
    out: &mut Set,
    errs: &mut Vec<String>,
    strict: bool,
    created: bool,
) {
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(m)) if !m.is_empty() => {
            for (k, x) in m {
                if x.is_null() {
                    continue;
                }
                match child_shape(shape, k) {
                    Some(s) => {
                        path.push(Pe::Field(k.clone()));
                        if created
                            && pointer_like(&s, path)
                            && x.as_object().is_some_and(|m| !m.is_empty())
                        {
                            out.insert(path);
                        }
                        walk_set(x, &s, path, out, errs, strict, created);
                        path.pop();
                    }
                    None => {
                        if strict {
                            errs.push(format!(
                                "{}.{k}: field not declared in schema",
                                path_str(path)
                            ));
                        }
                    }
                }
            }
        }
        (Shape::Assoc(..) | Shape::Set, Value::Array(a)) if !a.is_empty() => {
            let elem = elem_shape(shape);
            for (pe, n) in index_items(a, shape, path, strict, errs) {
                path.push(pe);
                out.insert(path);
                if let Shape::Struct(_) = elem
                    && a[n].as_object().is_some_and(|m| !m.is_empty())
                {
                    walk_set(&a[n], &elem, path, out, errs, strict, created);
                }
                path.pop();
            }
        }
        _ => out.insert(path),
    }
}

/// Merges an applied configuration into the live value.
pub fn merge(live: Option<&Value>, cfg: &Value, shape: &Shape) -> Value {
    match (shape, live, cfg) {
        (Shape::Struct(_) | Shape::Map(_), Some(Value::Object(l)), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, x) in c {
                if x.is_null() {
                    continue;
                }
                let merged = match child_shape(shape, k) {
                    Some(s) => merge(l.get(k), x, &s),
                    None => x.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::Struct(_) | Shape::Map(_), _, Value::Object(c)) => Value::Object(strip_nulls(c)),
        (Shape::Assoc(..) | Shape::Set, Some(Value::Array(l)), Value::Array(r)) => {
            Value::Array(merge_lists(l, r, shape))
        }
        _ => cfg.clone(),
    }
}

fn strip_nulls(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// structured-merge-diff's list merge: items only in the live list keep
/// their place, shared items follow the applied order, new items come
/// where the applied list has them.
fn merge_lists(lhs: &[Value], rhs: &[Value], shape: &Shape) -> Vec<Value> {
    let elem = elem_shape(shape);
    let mut ignore = Vec::new();
    let lpes = index_items(lhs, shape, &[], false, &mut ignore);
    let rpes = index_items(rhs, shape, &[], false, &mut ignore);
    let lmap: BTreeMap<&Pe, usize> = lpes.iter().map(|(p, n)| (p, *n)).collect();
    let rmap: BTreeMap<&Pe, usize> = rpes.iter().map(|(p, n)| (p, *n)).collect();
    let mut shared: std::collections::VecDeque<&Pe> = rpes
        .iter()
        .map(|(p, _)| p)
        .filter(|p| lmap.contains_key(p))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: BTreeMap<&Pe, ()> = BTreeMap::new();
    let mut out = Vec::new();
    let item = |pe: &Pe| -> Value {
        let l = lmap.get(pe).map(|n| &lhs[*n]);
        match rmap.get(pe) {
            Some(r) => merge(l, &rhs[*r], &elem),
            None => l.cloned().unwrap_or(Value::Null),
        }
    };
    let (llen, rlen) = (lpes.len(), rpes.len());
    let (mut li, mut ri) = (0, 0);
    while li < llen || ri < rlen {
        if li < llen && ri < rlen {
            let pe = &lpes[li].0;
            if *pe == rpes[ri].0 {
                merged_rhs.insert(pe, ());
                out.push(item(pe));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if rmap.contains_key(pe) && next_shared.is_some_and(|s| s != pe) {
                li += 1;
                continue;
            }
        }
        if li < llen {
            let pe = &lpes[li].0;
            if !rmap.contains_key(pe) {
                out.push(lhs[lpes[li].1].clone());
                li += 1;
                continue;
            } else if merged_rhs.contains_key(pe) {
                li += 1;
                continue;
            }
        }
        if ri < rlen {
            let pe = &rpes[ri].0;
            merged_rhs.insert(pe, ());
            out.push(item(pe));
            ri += 1;
            if next_shared.is_some_and(|s| s == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out
}

/// The fields that differ between two versions of an object.
#[derive(Debug, Default)]
pub struct Comparison {
    pub modified: Set,
    pub added: Set,
    pub removed: Set,
}

impl Comparison {
    pub fn changed(&self) -> Set {
        self.modified.union(&self.added)
    }
}

/// Compares `old` with `new` field by field.
pub fn compare(old: &Value, new: &Value, shape: &Shape) -> Comparison {
    let mut c = Comparison::default();
    cmp(Some(old), Some(new), shape, &mut Vec::new(), &mut c);
    c
}

fn subtree(v: &Value, shape: &Shape, path: &mut Vec<Pe>, into: &mut Set) {
    walk_set(v, shape, path, into, &mut Vec::new(), false, true);
}

fn cmp(
    old: Option<&Value>,
    new: Option<&Value>,
    shape: &Shape,
    path: &mut Vec<Pe>,
    c: &mut Comparison,
) {
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => {
            if pointer_like(shape, path) {
                c.added.insert(path);
            }
            subtree(n, shape, path, &mut c.added)
        }
        (Some(o), None) => {
            if pointer_like(shape, path) {
                c.removed.insert(path);
            }
            subtree(o, shape, path, &mut c.removed)
        }
        (Some(o), Some(n)) => match (shape, o, n) {
            (Shape::Struct(_) | Shape::Map(_), Value::Object(a), Value::Object(b)) => {
                for (k, x) in a {
                    let Some(s) = child_shape(shape, k) else {
                        continue;
                    };
                    path.push(Pe::Field(k.clone()));
                    cmp(
                        Some(x).filter(|x| !x.is_null()),
                        b.get(k).filter(|x| !x.is_null()),
                        &s,
                        path,
                        c,
                    );
                    path.pop();
                }
                for (k, y) in b {
                    if a.contains_key(k) || y.is_null() {
                        continue;
                    }
                    let Some(s) = child_shape(shape, k) else {
                        continue;
                    };
                    path.push(Pe::Field(k.clone()));
                    cmp(None, Some(y), &s, path, c);
                    path.pop();
                }
            }
            (Shape::Assoc(..) | Shape::Set, Value::Array(a), Value::Array(b)) => {
                let elem = elem_shape(shape);
                let mut ignore = Vec::new();
                let ai = index_items(a, shape, path, false, &mut ignore);
                let bi = index_items(b, shape, path, false, &mut ignore);
                let bmap: BTreeMap<&Pe, usize> = bi.iter().map(|(p, n)| (p, *n)).collect();
                let amap: BTreeMap<&Pe, usize> = ai.iter().map(|(p, n)| (p, *n)).collect();
                for (pe, n) in &ai {
                    path.push(pe.clone());
                    match bmap.get(pe) {
                        Some(m) => {
                            if let Shape::Struct(_) = elem {
                                cmp(Some(&a[*n]), Some(&b[*m]), &elem, path, c);
                            }
                        }
                        None => {
                            c.removed.insert(path);
                            subtree_item(&a[*n], &elem, path, &mut c.removed);
                        }
                    }
                    path.pop();
                }
                for (pe, m) in &bi {
                    if amap.contains_key(pe) {
                        continue;
                    }
                    path.push(pe.clone());
                    c.added.insert(path);
                    subtree_item(&b[*m], &elem, path, &mut c.added);
                    path.pop();
                }
            }
            _ if o == n => {}
            (Shape::Leaf, ..) => c.modified.insert(path),
            _ => {
                // A container that became (or stopped being) empty, or a
                // value of the wrong type: old fields go, new ones come.
                subtree(o, shape, path, &mut c.removed);
                subtree(n, shape, path, &mut c.added);
            }
        },
    }
}

/// Struct fields Go serialises even when empty (non-pointer structs): an
/// object that gains their content did not gain the field itself.
const VALUE_STRUCTS: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
    "resources",
    "jobTemplate",
    "scaleTargetRef",
    "loadBalancer",
    "port",
    "target",
];

/// Whether a map or struct field that appears (or goes) counts as a field
/// of its own, as a nil map or pointer struct does in Go: structured-merge
/// -diff then lists it as a member (`".": {}` in FieldsV1).
fn pointer_like(shape: &Shape, path: &[Pe]) -> bool {
    match (shape, path.last()) {
        (Shape::Map(_), Some(Pe::Field(_))) => true,
        (Shape::Struct(_), Some(Pe::Field(f))) => !VALUE_STRUCTS.contains(&f.as_str()),
        _ => false,
    }
}

fn subtree_item(item: &Value, elem: &Shape, path: &mut Vec<Pe>, into: &mut Set) {
    if let Shape::Struct(_) = elem
        && item.as_object().is_some_and(|m| !m.is_empty())
    {
        subtree(item, elem, path, into);
    }
}

/// Removes every member of `set` from `v`.
pub fn remove(v: &mut Value, set: &Set, shape: &Shape) {
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(m)) => {
            for (pe, child) in &set.children {
                let Pe::Field(k) = pe else { continue };
                if child.member {
                    m.remove(k);
                } else if let (Some(x), Some(s)) = (m.get_mut(k), child_shape(shape, k)) {
                    remove(x, child, &s);
                }
            }
        }
        (Shape::Assoc(..) | Shape::Set, Value::Array(a)) => {
            let elem = elem_shape(shape);
            let mut keep = Vec::with_capacity(a.len());
            for mut item in std::mem::take(a) {
                match item_pe(&item, shape)
                    .ok()
                    .and_then(|pe| set.children.get(&pe))
                {
                    Some(child) if child.member => continue,
                    Some(child) => {
                        remove(&mut item, child, &elem);
                        keep.push(item);
                    }
                    None => keep.push(item),
                }
            }
            *a = keep;
        }
        _ => {}
    }
}

/// Adds as members the named struct fields on the way to every member
/// (structured-merge-diff's `EnsureNamedFieldsAreMembers`): owning
/// `.metadata.labels.app` means owning `.metadata.labels` too, so that a
/// map emptied by pruning goes away.
pub fn with_named_fields(set: &Set, shape: &Shape) -> Set {
    let mut out = Set {
        member: set.member,
        children: BTreeMap::new(),
    };
    for (pe, child) in &set.children {
        let (s, named) = match (shape, pe) {
            (Shape::Struct(i), Pe::Field(k)) => match semantics::field(*i, k) {
                Some(t) => (semantics::shape(&t), true),
                None => (Shape::Leaf, false),
            },
            (Shape::Map(elem), Pe::Field(_)) => (semantics::shape(elem), false),
            (Shape::Assoc(..), _) => (elem_shape(shape), false),
            _ => (Shape::Leaf, false),
        };
        let mut c = with_named_fields(child, &s);
        c.member |= named;
        out.children.insert(pe.clone(), c);
    }
    out
}

//! Field paths as findings print them (`spec.ports[0].name`,
//! `metadata.labels["app.kubernetes.io/name"]`), and a walk over every
//! value of an object for the rules that look at a field wherever it
//! occurs (quantities, enum strings).

use serde_json::Value;

pub use crate::yaml::load::{index_path, join_path};

/// Appends a dotted field path written in code (`capabilities.drop`): each
/// segment a key, unlike [`join_path`], which quotes a key holding a dot.
pub fn field(base: &str, dotted: &str) -> String {
    dotted
        .split('.')
        .fold(base.to_string(), |p, k| join_path(&p, k))
}

/// One step of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The printed form of a path.
pub fn render(segs: &[Seg]) -> String {
    segs.iter().fold(String::new(), |p, s| match s {
        Seg::Key(k) => join_path(&p, k),
        Seg::Index(i) => index_path(&p, *i),
    })
}

/// Whether `segs` ends with `pattern`: `*` stands for any key, `[]` for
/// any index, anything else for that key.
pub fn ends_with(segs: &[Seg], pattern: &[&str]) -> bool {
    if segs.len() < pattern.len() {
        return false;
    }
    segs[segs.len() - pattern.len()..]
        .iter()
        .zip(pattern)
        .all(|(s, p)| match (s, *p) {
            (Seg::Index(_), "[]") => true,
            (Seg::Key(_), "*") => true,
            (Seg::Key(k), p) => *k == p,
            _ => false,
        })
}

/// Calls `f` with the path of every scalar (string, number, bool) of `value`.
pub fn walk_scalars<'a>(value: &'a Value, f: &mut dyn FnMut(&[Seg<'a>], &'a Value)) {
    fn go<'a>(v: &'a Value, segs: &mut Vec<Seg<'a>>, f: &mut dyn FnMut(&[Seg<'a>], &'a Value)) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    segs.push(Seg::Key(k));
                    go(child, segs, f);
                    segs.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    segs.push(Seg::Index(i));
                    go(child, segs, f);
                    segs.pop();
                }
            }
            Value::Null => {}
            scalar => f(segs, scalar),
        }
    }
    go(value, &mut Vec::new(), f);
}

/// The items of the list at `key` of `v` with their paths under `base`.
pub fn items<'a>(v: &'a Value, base: &str, key: &str) -> Vec<(String, &'a Value)> {
    let list = join_path(base, key);
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, item)| (index_path(&list, i), item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_matches_paths() {
        let segs = [
            Seg::Key("spec"),
            Seg::Key("ports"),
            Seg::Index(2),
            Seg::Key("protocol"),
        ];
        assert_eq!(render(&segs), "spec.ports[2].protocol");
        assert!(ends_with(&segs, &["ports", "[]", "protocol"]));
        assert!(ends_with(&segs, &["*", "[]", "protocol"]));
        assert!(!ends_with(&segs, &["ports", "protocol"]));
        assert_eq!(field("a[0]", "b.c"), "a[0].b.c");
        assert_eq!(
            render(&[Seg::Key("labels"), Seg::Key("a.io/b")]),
            "labels[\"a.io/b\"]"
        );
    }
}

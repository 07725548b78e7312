//! A field set: the paths one manager owns, as a tree of path elements
//! where a node is a member when the path itself is in the set (a leaf
//! field, a list item, an atomic list or map). Encoded in and decoded from
//! `managedFields[].fieldsV1` (`f:`/`k:`/`v:`/`i:` children, `"."` for a
//! member that also has children).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::path::{Path, Pe};

/// One node of the tree; the root is never a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    pub member: bool,
    pub children: BTreeMap<Pe, Set>,
}

impl Set {
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Adds `path` as a member.
    pub fn insert(&mut self, path: &[Pe]) {
        match path.split_first() {
            None => self.member = true,
            Some((pe, rest)) => self.children.entry(pe.clone()).or_default().insert(rest),
        }
    }

    #[cfg(test)]
    pub fn has(&self, path: &[Pe]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((pe, rest)) => self.children.get(pe).is_some_and(|c| c.has(rest)),
        }
    }

    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    pub fn union_with(&mut self, other: &Set) {
        self.member |= other.member;
        for (pe, c) in &other.children {
            self.children.entry(pe.clone()).or_default().union_with(c);
        }
    }

    /// Members of `self` that are not members of `other`.
    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Set {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (pe, c) in &self.children {
            let d = match other.children.get(pe) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(pe.clone(), d);
            }
        }
        out
    }

    /// Members of both.
    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (pe, c) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = c.intersection(o);
                if !i.is_empty() {
                    out.children.insert(pe.clone(), i);
                }
            }
        }
        out
    }

    /// Members without member descendants (what conflicts are reported on).
    pub fn leaves(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut |p, s| {
            if s.member && s.children.values().all(|c| c.members_count() == 0) {
                out.push(Path(p.to_vec()));
            }
        });
        out
    }

    fn members_count(&self) -> usize {
        usize::from(self.member)
            + self
                .children
                .values()
                .map(Set::members_count)
                .sum::<usize>()
    }

    fn walk(&self, prefix: &mut Vec<Pe>, f: &mut dyn FnMut(&[Pe], &Set)) {
        f(prefix, self);
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.walk(prefix, f);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (pe, c) in &self.children {
            if c.is_empty() {
                continue;
            }
            m.insert(pe.encode(), c.to_fields_v1());
        }
        Value::Object(m)
    }

    /// Parses FieldsV1; `None` when malformed.
    pub fn from_fields_v1(v: &Value) -> Option<Set> {
        fn node(v: &Value) -> Option<Set> {
            let m = v.as_object()?;
            let mut s = Set {
                member: m.is_empty(),
                children: BTreeMap::new(),
            };
            for (k, c) in m {
                if k == "." {
                    s.member = true;
                    continue;
                }
                s.children.insert(Pe::decode(k)?, node(c)?);
            }
            Some(s)
        }
        let mut s = node(v)?;
        s.member = false;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_v1_round_trips() {
        let v = json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}},
            "f:selector": {}}});
        let s = Set::from_fields_v1(&v).unwrap();
        assert_eq!(s.to_fields_v1(), v);
        assert!(s.has(&[Pe::Field("spec".into()), Pe::Field("selector".into())]));
        assert!(!s.has(&[Pe::Field("spec".into())]));
        let leaves: Vec<String> = s.leaves().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            leaves,
            [
                ".metadata.labels.app",
                ".spec.containers[name=\"web\"].image",
                ".spec.containers[name=\"web\"].name",
                ".spec.selector"
            ]
        );
    }

    #[test]
    fn set_algebra() {
        let a = Set::from_fields_v1(&json!({"f:data": {"f:a": {}, "f:b": {}}})).unwrap();
        let b = Set::from_fields_v1(&json!({"f:data": {"f:b": {}, "f:c": {}}})).unwrap();
        assert_eq!(
            a.difference(&b).to_fields_v1(),
            json!({"f:data": {"f:a": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:data": {"f:b": {}}})
        );
        assert_eq!(
            a.union(&b).to_fields_v1(),
            json!({"f:data": {"f:a": {}, "f:b": {}, "f:c": {}}})
        );
    }
}

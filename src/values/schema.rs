//! The typo guard: `releases/defaults.yaml` declares every key a template
//! reads, and a user value whose path it does not declare is an error.
//!
//! Declaration rules: a non-empty map declares its keys; an empty map `{}`
//! is free-form (annotations, node selectors: any keys); `null` is an unset
//! leaf that takes any value; a list takes any list (lists replace).

use serde_json::Value;

use super::set::{Segment, display_path};
use crate::yaml::load::join_path;

/// What is wrong with one user value, and where (a path such as `a.b[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The path is not declared; `hint` is a close declared key, if any.
    UnknownKey { path: String, hint: Option<String> },
    /// The value's shape differs from the declaration.
    WrongShape { path: String, expected: String },
    /// The value breaks its type (`releases/types.yaml`); the message is whole.
    Type { path: String, message: String },
    /// Two values break a rule together ([`super::cross`]); `path` is the first.
    Cross { path: String, message: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::UnknownKey { path, hint } => {
                write!(
                    f,
                    "unknown key `{path}`: releases/defaults.yaml declares no such value"
                )?;
                if let Some(h) = hint {
                    write!(f, " (did you mean `{h}`?)")?;
                }
                Ok(())
            }
            Problem::WrongShape { path, expected } => write!(f, "`{path}` must be {expected}"),
            Problem::Type { message, .. } | Problem::Cross { message, .. } => f.write_str(message),
        }
    }
}

impl Problem {
    /// The path the problem is about.
    pub fn path(&self) -> &str {
        match self {
            Problem::UnknownKey { path, .. }
            | Problem::WrongShape { path, .. }
            | Problem::Type { path, .. }
            | Problem::Cross { path, .. } => path,
        }
    }
}

fn describe(schema: &Value) -> String {
    match schema {
        Value::Object(m) if m.is_empty() => "a map".into(),
        Value::Object(m) => {
            let keys: Vec<_> = m.keys().map(String::as_str).collect();
            format!("a map with the keys {}", keys.join(", "))
        }
        Value::Array(_) => "a list".into(),
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "true or false".into(),
        Value::Null => "any value".into(),
    }
}

/// Checks a whole user document against the declaration; every problem.
pub fn check_value(user: &Value, schema: &Value, path: &str, out: &mut Vec<Problem>) {
    match (user, schema) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(u), Value::Object(s)) if !s.is_empty() => {
            for (k, v) in u {
                let child = join_path(path, k);
                match s.get(k) {
                    Some(decl) => check_value(v, decl, &child, out),
                    None => out.push(Problem::UnknownKey {
                        hint: closest(k, s.keys()).map(|h| join_path(path, h)),
                        path: child,
                    }),
                }
            }
        }
        (Value::Object(_), Value::Object(_)) => {}
        (Value::Array(_), Value::Array(_)) => {}
        (
            Value::Number(_) | Value::String(_) | Value::Bool(_),
            Value::Number(_) | Value::String(_) | Value::Bool(_),
        ) => {}
        (_, decl) => out.push(Problem::WrongShape {
            path: if path.is_empty() {
                "(top level)".into()
            } else {
                path.to_string()
            },
            expected: describe(decl),
        }),
    }
}

/// Checks a `--set` path and the value it assigns.
pub fn check_path(path: &[Segment], value: &Value, schema: &Value) -> Result<(), Problem> {
    let mut node = schema;
    for (depth, seg) in path.iter().enumerate() {
        let here = display_path(&path[..depth]);
        match (seg, node) {
            (_, Value::Null) => return Ok(()),
            (Segment::Key(_), Value::Object(m)) if m.is_empty() => return Ok(()),
            (Segment::Key(k), Value::Object(m)) => match m.get(k) {
                Some(decl) => node = decl,
                None => {
                    return Err(Problem::UnknownKey {
                        path: display_path(&path[..=depth]),
                        hint: closest(k, m.keys()).map(|h| join_path(&here, h)),
                    });
                }
            },
            (Segment::Index(_), Value::Array(_)) => return Ok(()),
            (_, decl) => {
                return Err(Problem::WrongShape {
                    path: here,
                    expected: describe(decl),
                });
            }
        }
    }
    let mut problems = Vec::new();
    check_value(value, node, &display_path(path), &mut problems);
    problems.into_iter().next().map_or(Ok(()), Err)
}

/// Fills every declared key that the merged values lack with `null`, so a
/// template reading an unset value sees `none` rather than an undefined.
pub fn complete(merged: &mut Value, schema: &Value) {
    if let (Value::Object(m), Value::Object(s)) = (merged, schema) {
        for (k, decl) in s {
            let entry = m.entry(k.clone()).or_insert(Value::Null);
            complete(entry, decl);
        }
    }
}

/// The declared key closest to a misspelt one (edit distance ≤ 2).
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(key, c), c))
        .filter(|(d, c)| *d <= 2 && *d < c.len())
        .min()
        .map(|(_, c)| c.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"backend": {"replicas": 1, "annotations": {}, "extra": null, "ports": [80]}})
    }

    #[test]
    fn unknown_keys_are_reported_with_a_hint() {
        let mut out = Vec::new();
        check_value(
            &json!({"backend": {"replicaz": 2, "bogus": 1}}),
            &schema(),
            "",
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].to_string(),
            "unknown key `backend.replicaz`: releases/defaults.yaml declares no such value (did you mean `backend.replicas`?)"
        );
        assert_eq!(out[1].path(), "backend.bogus");
    }

    #[test]
    fn free_form_maps_and_null_leaves_take_anything() {
        let mut out = Vec::new();
        let user = json!({"backend": {"annotations": {"x.io/y": "z"}, "extra": {"deep": [1]}, "ports": [1, 2]}});
        check_value(&user, &schema(), "", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn shape_mismatch() {
        let mut out = Vec::new();
        check_value(&json!({"backend": 3}), &schema(), "", &mut out);
        assert!(
            out[0]
                .to_string()
                .contains("`backend` must be a map with the keys replicas")
        );
    }

    #[test]
    fn set_paths() {
        let s = schema();
        let p = |segs: Vec<Segment>| check_path(&segs, &json!(1), &s);
        assert!(
            p(vec![
                Segment::Key("backend".into()),
                Segment::Key("replicas".into())
            ])
            .is_ok()
        );
        assert!(
            p(vec![
                Segment::Key("backend".into()),
                Segment::Key("annotations".into()),
                Segment::Key("a".into())
            ])
            .is_ok()
        );
        assert!(
            p(vec![
                Segment::Key("backend".into()),
                Segment::Key("ports".into()),
                Segment::Index(1)
            ])
            .is_ok()
        );
        let err = p(vec![
            Segment::Key("backend".into()),
            Segment::Key("replica".into()),
        ])
        .unwrap_err();
        assert_eq!(err.path(), "backend.replica");
        assert!(
            p(vec![
                Segment::Key("backend".into()),
                Segment::Key("replicas".into()),
                Segment::Key("x".into())
            ])
            .is_err()
        );
    }

    #[test]
    fn complete_fills_declared_keys() {
        let mut merged = json!({"backend": {"replicas": 3}});
        complete(&mut merged, &schema());
        assert_eq!(merged["backend"]["extra"], Value::Null);
        assert_eq!(merged["backend"]["replicas"], 3);
    }
}

//! Typing each layer's values with [`Types`], at the layer that set them,
//! and remembering which layer set what (for the rules across values and
//! for unset required values).
//!
//! A layer is checked alone, before merging: a file's problems carry its
//! lines, a `--set`'s its argument. The merged values are checked by
//! [`super::cross`] and [`required`].

use std::collections::HashMap;

use serde_json::Value;

use super::rules::Refusal;
use super::schema::Problem;
use super::set::Segment;
use super::types::{Entry, Presence, Types};
use crate::yaml::load::{index_path, join_path};

/// Where a value was last set: the layer (`releases/dev.yaml:12`,
/// `--set a=1`) and the layer's position (defaults are 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub at: String,
    pub order: usize,
}

/// The origin of every value a layer set, by path (`a.b[0]`).
#[derive(Debug, Clone, Default)]
pub struct Origins(HashMap<String, Origin>);

impl Origins {
    pub fn set(&mut self, path: &str, at: &str, order: usize) {
        self.0.insert(
            path.to_string(),
            Origin {
                at: at.to_string(),
                order,
            },
        );
    }

    pub fn get(&self, path: &str) -> Option<&Origin> {
        self.0.get(path)
    }
}

/// The path form origins and messages use: `a.b[0]`, `a["x.y"]`.
pub fn path_string(path: &[Segment]) -> String {
    path.iter().fold(String::new(), |p, seg| match seg {
        Segment::Key(k) => join_path(&p, k),
        Segment::Index(i) => index_path(&p, *i),
    })
}

/// One layer's checking: the table, the declaration and the layer.
pub struct Layer<'a> {
    pub types: &'a Types,
    pub schema: &'a Value,
    /// The layer's position: 0 for the defaults, then in order.
    pub order: usize,
}

impl Layer<'_> {
    /// Types every declared value of a document; `at` gives a path's location.
    pub fn document(
        &self,
        value: &Value,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<(String, Problem)>,
        origins: &mut Origins,
    ) {
        let mut keys = Vec::new();
        self.walk(value, self.schema, &mut keys, "", &mut |path, found| {
            let here = at(path);
            if let Some(p) = found {
                problems.push((at(p.path()), p));
            }
            origins.set(path, &here, self.order);
        });
    }

    fn walk<'v>(
        &self,
        user: &'v Value,
        decl: &Value,
        keys: &mut Vec<&'v str>,
        path: &str,
        f: &mut dyn FnMut(&str, Option<Problem>),
    ) {
        if let Some(entry) = self.types.lookup(keys) {
            return f(path, leaf(entry, path, user, decl).err());
        }
        match (user, decl) {
            (Value::Object(u), Value::Object(d)) if !d.is_empty() => {
                for (k, v) in u {
                    // Unknown keys are the typo guard's.
                    let Some(child_decl) = d.get(k) else { continue };
                    keys.push(k);
                    self.walk(v, child_decl, keys, &join_path(path, k), f);
                    keys.pop();
                }
            }
            // A map unset, or a value only the typo guard judges.
            _ => f(path, None),
        }
    }

    /// Types one `--set` assignment (`value` is `null` for `a.b=null`).
    pub fn assignment(&self, path: &[Segment], value: &Value) -> Result<(), Problem> {
        let shown = path_string(path);
        let Some((entry, rest)) = self.types.covering(path) else {
            return Ok(());
        };
        if rest.is_empty() {
            let decl = declaration(self.schema, path);
            return leaf(entry, &shown, value, decl.unwrap_or(&Value::Null));
        }
        // Into a typed list or map: only an item's own type is known.
        let item = match (&entry.rule, rest) {
            (super::rules::Rule::List(Some(item)), [Segment::Index(_)]) => item.as_ref(),
            (super::rules::Rule::TextMap, [Segment::Key(_)]) => &super::rules::Rule::Text,
            _ => return Ok(()),
        };
        if value.is_null() {
            return Ok(());
        }
        item.check(value)
            .map_err(|r| refusal(&shown, item.is_secret(), r))
    }
}

/// The declaration at a `--set` path (`None` below a list or free map).
fn declaration<'s>(schema: &'s Value, path: &[Segment]) -> Option<&'s Value> {
    path.iter().try_fold(schema, |node, seg| match seg {
        Segment::Key(k) => node.get(k),
        Segment::Index(_) => None,
    })
}

/// Checks one typed value against its entry.
/// An empty text unsets a value where unset is allowed (`--set-string
/// images.x.digest=`, as templates read `""` as unset).
fn leaf(entry: &Entry, path: &str, user: &Value, decl: &Value) -> Result<(), Problem> {
    let may_unset = decl.is_null() || entry.presence == Presence::Optional;
    if may_unset && user.as_str() == Some("") {
        return Ok(());
    }
    if user.is_null() {
        return if may_unset {
            Ok(())
        } else {
            Err(Problem::Type {
                path: path.to_string(),
                message: format!(
                    "{path} cannot be unset: releases/defaults.yaml gives it a value, and it must be {}",
                    entry.rule.expected()
                ),
            })
        };
    }
    entry
        .rule
        .check(user)
        .map_err(|r| refusal(path, entry.rule.is_secret(), r))
}

fn refusal(path: &str, secret: bool, r: Refusal) -> Problem {
    let full = format!("{path}{}", r.below);
    let message = if secret {
        format!("the value of {full} must be {}", r.expected)
    } else {
        format!("{full} must be {}{}", r.expected, r.detail)
    };
    Problem::Type {
        path: full,
        message,
    }
}

/// Every `required` value the merged values leave unset (or empty), at the layer
/// that unset it or at the defaults' line.
pub fn required(
    types: &Types,
    merged: &Value,
    origins: &Origins,
    defaults_at: &dyn Fn(&str) -> String,
    out: &mut Vec<(String, Problem)>,
) {
    for entry in types
        .entries
        .iter()
        .filter(|e| e.presence == Presence::Required)
    {
        each_match(merged, &entry.pattern, "", &mut |path, v| {
            if !v.is_null() && v.as_str() != Some("") {
                return;
            }
            let at = origins
                .get(path)
                .map_or_else(|| defaults_at(path), |o| o.at.clone());
            out.push((
                at,
                Problem::Type {
                    path: path.to_string(),
                    message: format!("{path} is required: set it to {}", entry.rule.expected()),
                },
            ));
        });
    }
}

/// Calls `f` for every value of `root` a pattern matches (`*` any key).
pub fn each_match(root: &Value, pattern: &[String], path: &str, f: &mut dyn FnMut(&str, &Value)) {
    let Some((first, rest)) = pattern.split_first() else {
        return f(path, root);
    };
    let Value::Object(m) = root else { return };
    for (k, v) in m {
        if first == "*" || first == k {
            each_match(v, rest, &join_path(path, k), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> Types {
        Types::parse(
            "types.yaml",
            "backend.replicas: count\nbackend.limit: optional quantity\nbackend.host: host\n\
             backend.paths: list url-path\nbackend.labels: text-map\nsecrets.pw: secret\n",
        )
        .unwrap()
    }

    fn schema() -> Value {
        json!({"backend": {"replicas": 1, "limit": "1Gi", "host": null, "paths": ["/api"], "labels": {}},
               "secrets": {"pw": null}})
    }

    fn doc(value: Value) -> Vec<String> {
        let (t, s) = (table(), schema());
        let layer = Layer {
            types: &t,
            schema: &s,
            order: 1,
        };
        let mut problems = Vec::new();
        let mut origins = Origins::default();
        layer.document(
            &value,
            &|p| format!("f.yaml({p})"),
            &mut problems,
            &mut origins,
        );
        problems
            .into_iter()
            .map(|(at, p)| format!("{at}: {p}"))
            .collect()
    }

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    #[test]
    fn a_document_reports_every_bad_value_at_its_path() {
        let got = doc(
            json!({"backend": {"replicas": "abc", "host": "Bad_Host", "paths": ["/ok", "nope"],
                                          "labels": {"a": 1}}}),
        );
        assert_eq!(
            got,
            [
                "f.yaml(backend.replicas): backend.replicas must be a whole number ≥ 0, not the text \"abc\"",
                "f.yaml(backend.host): backend.host must be a lower-case DNS host name (RFC 1123) such as thebot.example.com, not the text \"Bad_Host\"",
                "f.yaml(backend.paths[1]): backend.paths[1] must be a URL path starting with `/` (no spaces, `?` or `#`), not the text \"nope\"",
                "f.yaml(backend.labels.a): backend.labels.a must be text, not the number 1 (quote it in YAML, or use --set-string)",
            ]
        );
    }

    #[test]
    fn unset_is_allowed_where_the_defaults_leave_it_or_the_type_says_optional() {
        assert!(doc(json!({"backend": {"host": null, "limit": null}})).is_empty());
        let got = doc(json!({"backend": {"replicas": null}}));
        assert_eq!(
            got,
            [
                "f.yaml(backend.replicas): backend.replicas cannot be unset: releases/defaults.yaml gives it a value, and it must be a whole number ≥ 0"
            ]
        );
    }

    #[test]
    fn a_secret_value_is_never_shown() {
        let got = doc(json!({"secrets": {"pw": ["hunter2hunter2"]}}));
        assert_eq!(
            got,
            ["f.yaml(secrets.pw): the value of secrets.pw must be text"]
        );
        assert!(doc(json!({"secrets": {"pw": 12345}})).is_empty());
    }

    #[test]
    fn set_assignments_are_typed_like_file_values() {
        let (t, s) = (table(), schema());
        let layer = Layer {
            types: &t,
            schema: &s,
            order: 1,
        };
        let replicas = [key("backend"), key("replicas")];
        assert!(layer.assignment(&replicas, &json!(3)).is_ok());
        let err = layer.assignment(&replicas, &json!("3")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backend.replicas must be a whole number ≥ 0, not the text \"3\" (write it unquoted; --set-string always gives text, use --set)"
        );
        let item = [key("backend"), key("paths"), Segment::Index(0)];
        assert!(layer.assignment(&item, &json!("x")).is_err());
        assert!(layer.assignment(&item, &json!("/x")).is_ok());
        let label = [key("backend"), key("labels"), key("x.io/y")];
        assert!(layer.assignment(&label, &json!(true)).is_err());
        assert!(layer.assignment(&label, &json!("on")).is_ok());
    }

    #[test]
    fn required_values_left_unset_name_who_unset_them() {
        let t = Types::parse("types.yaml", "images.*.tag: required tag\n").unwrap();
        let merged = json!({"images": {"a": {"tag": null}, "b": {"tag": "1"}, "c": {"tag": null}}});
        let mut origins = Origins::default();
        origins.set("images.c.tag", "--set images.c.tag=null", 3);
        let mut out = Vec::new();
        required(
            &t,
            &merged,
            &origins,
            &|p| format!("defaults.yaml({p})"),
            &mut out,
        );
        let got: Vec<_> = out.iter().map(|(at, p)| format!("{at}: {p}")).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with(
            "defaults.yaml(images.a.tag): images.a.tag is required: set it to an image tag"
        ));
        assert!(got[1].starts_with("--set images.c.tag=null: images.c.tag is required"));
    }
}

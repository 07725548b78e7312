//! `releases/types.yaml`: the type of every value `releases/defaults.yaml`
//! declares, by dotted path (`backend.replicas`, `images.*.tag`; `*`
//! stands for one key).
//!
//! A type is a [`Rule`], optionally after a modifier: `optional` lets a
//! layer unset (`null`) a value the defaults set (a resource limit);
//! `required` refuses a merged value that is unset. Otherwise a value the
//! defaults set cannot be unset, and one the defaults leave unset (`null`)
//! may stay so. A type on a map (`text-map`) covers everything below it.
//!
//! When several patterns match a path, the one with the fewest `*` wins.

use serde_json::Value;

use super::rules::Rule;
use super::set::Segment;
use crate::yaml::{self, load::join_path};

/// May the value be unset?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Unset only where the defaults leave it unset.
    AsDefaults,
    /// Any layer may unset it.
    Optional,
    /// The merged value must be set.
    Required,
}

/// One line of `types.yaml`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub pattern: Vec<String>,
    pub rule: Rule,
    pub presence: Presence,
    /// Where it is written (`releases/types.yaml:12`).
    pub at: String,
}

/// The whole table.
#[derive(Debug, Clone, Default)]
pub struct Types {
    pub entries: Vec<Entry>,
}

impl Types {
    /// Reads `types.yaml`; every line with a problem, `file:line: message`.
    pub fn parse(file: &str, text: &str) -> Result<Types, Vec<String>> {
        let doc = yaml::parse_single(text).map_err(|e| vec![format!("{file}:{e}")])?;
        let empty = serde_json::Map::new();
        let map = match &doc.value {
            Value::Object(m) => m,
            Value::Null => &empty,
            _ => {
                return Err(vec![format!(
                    "{file}: the top level must be a map of path: type"
                )]);
            }
        };
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (key, value) in map {
            let at = format!("{file}:{}", doc.line_of(&join_path("", key)));
            let Some(text) = value.as_str() else {
                errors.push(format!(
                    "{at}: the type of `{key}` must be text such as `count`"
                ));
                continue;
            };
            let (presence, rule_text) = match text.split_once(' ') {
                Some(("optional", rest)) => (Presence::Optional, rest),
                Some(("required", rest)) => (Presence::Required, rest),
                _ => (Presence::AsDefaults, text),
            };
            match Rule::parse(rule_text) {
                Ok(rule) => entries.push(Entry {
                    pattern: key.split('.').map(str::to_string).collect(),
                    rule,
                    presence,
                    at,
                }),
                Err(e) => errors.push(format!("{at}: `{key}`: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(Types { entries })
        } else {
            Err(errors)
        }
    }

    /// The entry for a path of keys, if any.
    pub fn lookup(&self, keys: &[&str]) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| {
                e.pattern.len() == keys.len()
                    && e.pattern.iter().zip(keys).all(|(p, k)| p == "*" || p == k)
            })
            .min_by_key(|e| e.pattern.iter().filter(|p| *p == "*").count())
    }

    /// The entry covering a `--set` path: the path itself, or the list or
    /// map type it assigns into, with the rest of the path.
    pub fn covering<'a>(&self, path: &'a [Segment]) -> Option<(&Entry, &'a [Segment])> {
        let mut keys = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let Segment::Key(k) = seg else { break };
            keys.push(k.as_str());
            if let Some(e) = self.lookup(&keys) {
                return Some((e, &path[i + 1..]));
            }
        }
        None
    }

    /// Problems of the table against the defaults: a leaf without a type,
    /// or a pattern that matches no declared value (`file:line: ...`).
    pub fn coverage(&self, defaults: &yaml::Document, defaults_file: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut used = vec![false; self.entries.len()];
        let mut keys = Vec::new();
        self.walk(&defaults.value, &mut keys, &mut |keys, entry| match entry {
            Some(i) => used[i] = true,
            None => {
                let path = keys.iter().fold(String::new(), |p, k| join_path(&p, k));
                out.push(format!(
                    "{defaults_file}:{}: `{path}` has no type: declare it in types.yaml",
                    defaults.line_of(&path)
                ));
            }
        });
        for (e, used) in self.entries.iter().zip(used) {
            if !used {
                out.push(format!(
                    "{}: `{}` matches no value of {defaults_file}",
                    e.at,
                    e.pattern.join(".")
                ));
            }
        }
        out
    }

    /// Calls `f` for every leaf of the declaration with its entry's index.
    fn walk<'v>(
        &self,
        decl: &'v Value,
        keys: &mut Vec<&'v str>,
        f: &mut dyn FnMut(&[&str], Option<usize>),
    ) {
        let index = self.lookup(keys).map(|e| {
            self.entries
                .iter()
                .position(|x| std::ptr::eq(x, e))
                .unwrap_or_default()
        });
        match decl {
            Value::Object(m) if !m.is_empty() && index.is_none() => {
                for (k, v) in m {
                    keys.push(k);
                    self.walk(v, keys, f);
                    keys.pop();
                }
            }
            _ if keys.is_empty() => {}
            _ => f(keys, index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(text: &str) -> Types {
        Types::parse("types.yaml", text).unwrap()
    }

    #[test]
    fn most_specific_pattern_wins() {
        let t = types("images.*.tag: tag\nimages.backend.tag: required tag\nx: count\n");
        assert_eq!(
            t.lookup(&["images", "backend", "tag"]).unwrap().presence,
            Presence::Required
        );
        assert_eq!(
            t.lookup(&["images", "redis", "tag"]).unwrap().presence,
            Presence::AsDefaults
        );
        assert!(t.lookup(&["images", "redis"]).is_none());
    }

    #[test]
    fn bad_lines_are_all_reported_with_their_line() {
        let err = Types::parse("types.yaml", "a: count\nb: cout\nc: int 5..1\nd: 3\n").unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(
            err[0].starts_with("types.yaml:2: `b`: unknown type `cout`"),
            "{err:?}"
        );
        assert!(err[1].starts_with("types.yaml:3:"), "{err:?}");
        assert!(err[2].starts_with("types.yaml:4:"), "{err:?}");
    }

    #[test]
    fn coverage_names_untyped_leaves_and_stale_patterns() {
        let doc = yaml::parse_single("a:\n  b: 1\n  c: {}\n  m: {k: v}\nd: [1]\n").unwrap();
        let t = types("a.b: count\na.m: text-map\nd: list\nzz: bool\n");
        let out = t.coverage(&doc, "defaults.yaml");
        assert_eq!(
            out,
            [
                "defaults.yaml:3: `a.c` has no type: declare it in types.yaml",
                "types.yaml:4: `zz` matches no value of defaults.yaml",
            ]
        );
    }

    #[test]
    fn set_paths_into_lists_and_maps() {
        let t = types("a.l: list url-path\na.m: text-map\n");
        let path = [
            Segment::Key("a".into()),
            Segment::Key("l".into()),
            Segment::Index(2),
        ];
        let (e, rest) = t.covering(&path).unwrap();
        assert_eq!(e.pattern, ["a", "l"]);
        assert_eq!(rest, &[Segment::Index(2)]);
    }
}

//! Parses YAML text into JSON values, keeping the line of every key.
//!
//! Values files need `file:line` in their errors (typo guard, type
//! mismatches) and rendered manifests need their key order kept, which a
//! plain serde deserializer gives neither of. Scalars are resolved with the
//! YAML 1.2 core schema (`yes` is a string, `0x1F` an integer), as
//! Kubernetes' own decoder does for the values that matter here.
//!
//! # Caveats
//! Merge keys (`<<`), non-scalar keys and `.inf`/`.nan` (JSON has no such
//! numbers) are rejected with an error rather than approximated.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's content (`Null` for an empty document).
    pub value: Value,
    /// Line (1-based) of the document's first node.
    pub line: usize,
    /// Line of every key and list item, by path (`a.b[0].c`; see [`join_path`]).
    pub lines: BTreeMap<String, usize>,
}

impl Document {
    /// The line of `path`, or of its nearest ancestor that has one.
    pub fn line_of(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return *l;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.line,
            }
        }
    }
}

/// A YAML syntax or content error, with its position (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Appends a map key to a path: `a` + `b` = `a.b`; keys holding a dot or a
/// bracket are quoted: `a["x.y"]`.
pub fn join_path(base: &str, key: &str) -> String {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"']);
    match (base.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{base}.{key}"),
        (_, false) => format!("{base}[{}]", serde_json::to_string(key).unwrap_or_default()),
    }
}

/// Appends a list index to a path: `a` + 0 = `a[0]`.
pub fn index_path(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

/// Parses every document of `src`.
pub fn parse_documents(src: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(src);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

/// Parses a stream that must hold at most one document (`Null` when empty).
pub fn parse_single(src: &str) -> Result<Document, YamlError> {
    let mut docs = parse_documents(src)?;
    match docs.len() {
        0 => Ok(Document {
            value: Value::Null,
            line: 1,
            lines: BTreeMap::new(),
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(YamlError {
            line: docs[1].line,
            column: 1,
            message: "expected one YAML document, found several (`---`)".into(),
        }),
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        path: String,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        path: String,
        anchor: usize,
        pending_key: Option<(String, Marker)>,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    lines: BTreeMap<String, usize>,
    doc_line: usize,
    root: Option<Value>,
    error: Option<YamlError>,
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: mark.line(),
                column: mark.col() + 1,
                message: message.into(),
            });
        }
    }

    /// The path of the node about to be completed in the current frame.
    fn child_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { items, path, .. }) => index_path(path, items.len()),
            Some(Frame::Map {
                path, pending_key, ..
            }) => match pending_key {
                Some((k, _)) => join_path(path, k),
                None => path.clone(),
            },
        }
    }

    fn in_key_position(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn finish_node(&mut self, value: Value, anchor: usize, mark: Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        let path = self.child_path();
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => {
                self.lines.entry(path).or_insert(mark.line());
                items.push(value);
            }
            Some(Frame::Map {
                map, pending_key, ..
            }) => {
                let Some((key, key_mark)) = pending_key.take() else {
                    return;
                };
                if key == "<<" {
                    self.fail(
                        key_mark,
                        "merge keys (`<<`) are not supported: write the keys out",
                    );
                    return;
                }
                if map.contains_key(&key) {
                    self.fail(key_mark, format!("duplicate key `{key}`"));
                    return;
                }
                map.insert(key, value);
                self.lines.insert(path, key_mark.line());
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.lines = BTreeMap::new();
                self.anchors.clear();
                self.root = None;
                self.doc_line = mark.line();
            }
            Event::DocumentEnd => {
                let value = self.root.take().unwrap_or(Value::Null);
                self.docs.push(Document {
                    value,
                    line: self.doc_line.max(1),
                    lines: std::mem::take(&mut self.lines),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.in_key_position() {
                    if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some((text, mark));
                    }
                    return;
                }
                match resolve_scalar(text, style, tag.as_ref()) {
                    Ok(v) => self.finish_node(v, anchor, mark),
                    Err(msg) => self.fail(mark, msg),
                }
            }
            Event::Alias(id) => {
                if self.in_key_position() {
                    self.fail(mark, "an alias cannot be a map key");
                    return;
                }
                match self.anchors.get(&id).cloned() {
                    Some(v) => self.finish_node(v, 0, mark),
                    None => self.fail(mark, "unknown alias"),
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.in_key_position() {
                    self.fail(mark, "map keys must be plain strings, not lists or maps");
                    return;
                }
                let path = self.child_path();
                if !path.is_empty() || !self.stack.is_empty() {
                    self.lines.entry(path.clone()).or_insert(mark.line());
                }
                let frame = if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        path,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        path,
                        anchor,
                        pending_key: None,
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    None => return,
                };
                self.finish_node(value, anchor, mark);
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// Resolves a scalar with the YAML 1.2 core schema (and the explicit tags
/// `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`).
fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let name = if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            tag.suffix.as_str()
        } else {
            return Err(format!("unsupported tag `{}{}`", tag.handle, tag.suffix));
        };
        return match name {
            "str" => Ok(Value::String(text)),
            "null" => Ok(Value::Null),
            "bool" | "int" | "float" => match resolve_plain(&text)? {
                v @ Value::Bool(_) if name == "bool" => Ok(v),
                v @ Value::Number(_) if name != "bool" => Ok(v),
                _ => Err(format!("`{text}` is not a valid !!{name}")),
            },
            other => Err(format!("unsupported tag `!!{other}`")),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    resolve_plain(&text)
}

fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Ok(n);
    }
    if is_core_float(text) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("inf") || lower.contains("nan") {
            return Err(format!(
                "`{text}` is not a finite number; quote it to keep it as text"
            ));
        }
        return match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(format!("`{text}` is not a valid number")),
        };
    }
    Ok(Value::String(text.to_string()))
}

fn parse_int(text: &str) -> Option<Value> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) =
        if let Some(h) = digits.strip_prefix("0x").filter(|_| !neg && text == digits) {
            (16, h)
        } else if let Some(o) = digits.strip_prefix("0o").filter(|_| !neg && text == digits) {
            (8, o)
        } else {
            (10, digits)
        };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude).ok().map(|m| -m).or({
            if magnitude == i64::MIN.unsigned_abs() {
                Some(i64::MIN)
            } else {
                None
            }
        })?;
        Some(Value::Number(v.into()))
    } else {
        Some(Value::Number(magnitude.into()))
    }
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` or the inf/nan forms.
fn is_core_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(t, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int_part, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int_part) && digits(f) && !(int_part.is_empty() && f.is_empty()),
        None => !int_part.is_empty() && digits(int_part),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
    };
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(src: &str) -> Value {
        parse_single(src).unwrap().value
    }

    #[test]
    fn core_schema_scalars() {
        let v = one(
            "a: yes\nb: on\nc: 012\nd: 0x1F\ne: 1.5\nf: ~\ng: True\nh: '12'\ni: -3\nj: 1e3\nk: abc #tail\nl: 2024-01-01\n",
        );
        assert_eq!(
            v,
            json!({"a": "yes", "b": "on", "c": 12, "d": 31, "e": 1.5, "f": null, "g": true,
                   "h": "12", "i": -3, "j": 1000.0, "k": "abc", "l": "2024-01-01"})
        );
    }

    #[test]
    fn keeps_key_order_and_lines() {
        let doc = parse_single("z: 1\na:\n  b:\n    - x\n    - c: 2\n").unwrap();
        let keys: Vec<_> = doc.value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a"]);
        assert_eq!(doc.lines["z"], 1);
        assert_eq!(doc.lines["a.b"], 3);
        assert_eq!(doc.lines["a.b[1].c"], 5);
        assert_eq!(doc.line_of("a.b[1].c.missing"), 5);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_single("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = parse_single("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn infinities_are_refused() {
        assert!(parse_single("a: .inf\n").is_err());
        assert_eq!(one("a: '.inf'\n"), json!({"a": ".inf"}));
    }

    #[test]
    fn aliases_expand() {
        assert_eq!(
            one("a: &x {b: 1}\nc: *x\n"),
            json!({"a": {"b": 1}, "c": {"b": 1}})
        );
    }

    #[test]
    fn several_documents() {
        let docs = parse_documents("---\na: 1\n---\n# only a comment\n---\nb: 2\n").unwrap();
        let values: Vec<_> = docs.iter().map(|d| d.value.clone()).collect();
        assert_eq!(values, [json!({"a": 1}), Value::Null, json!({"b": 2})]);
        assert_eq!(docs[2].line, 5);
    }

    #[test]
    fn paths_quote_dotted_keys() {
        assert_eq!(join_path("a", "b"), "a.b");
        assert_eq!(join_path("a", "x.io/y"), "a[\"x.io/y\"]");
        assert_eq!(join_path("", "x"), "x");
    }
}

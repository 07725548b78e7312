//! Helm's `--set` syntax: parsing and applying `a.b[0]=v,c={x,y}`.
//!
//! The rules are Helm's (strvals): `true`/`false`/`null` in any case are a
//! bool or null; a base-10 int64 that does not start with `0` (or is `0`)
//! is an integer; everything else is a string; `{a,b}` is a list; a
//! backslash makes the next character literal (`\.`, `\,`, `\=`); `a[i]`
//! replaces item i, or appends when i is the list's length. Unlike Helm, an
//! index past the end is an error rather than silent `null` padding.

use serde_json::{Map, Value};

/// How the right-hand side of an assignment is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: typed by Helm's rules.
    Typed,
    /// `--set-string`: always strings.
    String,
}

/// One step of a `--set` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// One `path=value` of a `--set` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub path: Vec<Segment>,
    pub value: Value,
}

/// A malformed `--set` argument; the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetSyntaxError(pub String);

/// Renders a path as `a.b[0]` for messages.
pub fn display_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Parses one `--set`/`--set-string` argument into its assignments.
pub fn parse(arg: &str, kind: SetKind) -> Result<Vec<Assignment>, SetSyntaxError> {
    let mut p = Cursor {
        chars: arg.chars().collect(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        let path = p.path()?;
        let value = if p.peek() == Some('{') {
            p.pos += 1;
            let list = p.list(kind)?;
            match p.next() {
                None | Some(',') => {}
                Some(c) => {
                    return Err(SetSyntaxError(format!(
                        "unexpected `{c}` after the list of `{}`: separate assignments with `,`",
                        display_path(&path)
                    )));
                }
            }
            Value::Array(list)
        } else {
            let (raw, _) = p.until(&[','])?;
            typed(&raw, kind)
        };
        out.push(Assignment { path, value });
        if p.peek().is_none() {
            return Ok(out);
        }
    }
}

/// Reads `key=path` of `--set-file` (the path is not typed).
pub fn parse_file_arg(arg: &str) -> Result<(Vec<Segment>, String), SetSyntaxError> {
    let mut p = Cursor {
        chars: arg.chars().collect(),
        pos: 0,
    };
    let path = p.path()?;
    let file: String = p.chars[p.pos..].iter().collect();
    if file.is_empty() {
        return Err(SetSyntaxError(format!(
            "`{}` names no file: use --set-file KEY=PATH",
            display_path(&path)
        )));
    }
    Ok((path, file))
}

/// Helm's typing of a `--set` value.
pub fn typed(raw: &str, kind: SetKind) -> Value {
    if kind == SetKind::String {
        return Value::String(raw.to_string());
    }
    if raw.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if raw.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if raw == "0" {
        return Value::from(0);
    }
    if !raw.is_empty()
        && !raw.starts_with('0')
        && let Ok(i) = raw.parse::<i64>()
    {
        return Value::from(i);
    }
    Value::String(raw.to_string())
}

struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to (and consumes) the first unescaped stop character;
    /// returns the text and the stop (None at the end).
    fn until(&mut self, stops: &[char]) -> Result<(String, Option<char>), SetSyntaxError> {
        let mut text = String::new();
        while let Some(c) = self.next() {
            if c == '\\' {
                match self.next() {
                    Some(escaped) => text.push(escaped),
                    None => {
                        return Err(SetSyntaxError(
                            "a trailing `\\` escapes nothing: write `\\\\` for a backslash".into(),
                        ));
                    }
                }
            } else if stops.contains(&c) {
                return Ok((text, Some(c)));
            } else {
                text.push(c);
            }
        }
        Ok((text, None))
    }

    /// Reads `a.b[0].c=` and stops after the `=`.
    fn path(&mut self) -> Result<Vec<Segment>, SetSyntaxError> {
        let mut path = Vec::new();
        let mut after_index = false;
        loop {
            let (key, stop) = self.until(&['=', '[', '.', ','])?;
            let so_far = {
                let mut p = display_path(&path);
                if !key.is_empty() {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(&key);
                }
                p
            };
            if key.is_empty() && !after_index {
                return Err(SetSyntaxError(match stop {
                    Some('=') if path.is_empty() => {
                        "the key before `=` is empty: write KEY=VALUE".into()
                    }
                    _ if path.is_empty() && stop.is_none() => {
                        "empty assignment: write KEY=VALUE".into()
                    }
                    _ => format!(
                        "empty key segment after `{}`: write KEY=VALUE with one `.` between keys",
                        display_path(&path)
                    ),
                }));
            }
            if !key.is_empty() {
                if after_index {
                    return Err(SetSyntaxError(format!(
                        "`{}` must be followed by `.`, `[` or `=`",
                        display_path(&path)
                    )));
                }
                path.push(Segment::Key(key.clone()));
            }
            after_index = false;
            match stop {
                Some('=') => return Ok(path),
                Some('.') => {}
                Some('[') => {
                    let (index, close) = self.until(&[']'])?;
                    if close.is_none() {
                        return Err(SetSyntaxError(format!("`{}[` is missing its `]`", so_far)));
                    }
                    let i = index.trim().parse::<i64>().map_err(|_| {
                        SetSyntaxError(format!(
                            "`{}[{index}]`: a list index must be a whole number",
                            display_path(&path)
                        ))
                    })?;
                    let i = usize::try_from(i).map_err(|_| {
                        SetSyntaxError(format!("`{}[{i}]`: negative index", display_path(&path)))
                    })?;
                    path.push(Segment::Index(i));
                    after_index = true;
                    if self.peek() == Some('.') {
                        self.pos += 1;
                        after_index = false;
                    }
                }
                _ => {
                    return Err(SetSyntaxError(format!(
                        "key `{}` has no value: write {}=VALUE",
                        so_far, so_far
                    )));
                }
            }
        }
    }

    /// Reads `x,y}` after a `{`.
    fn list(&mut self, kind: SetKind) -> Result<Vec<Value>, SetSyntaxError> {
        let mut items = Vec::new();
        loop {
            let (raw, stop) = self.until(&[',', '}'])?;
            match stop {
                Some(',') => items.push(typed(&raw, kind)),
                Some(_) => {
                    items.push(typed(&raw, kind));
                    return Ok(items);
                }
                None => return Err(SetSyntaxError("a list must end with `}`".into())),
            }
        }
    }
}

/// Where an assignment could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetApplyError(pub String);

/// Writes `value` at `path` in `root`, creating maps and lists on the way.
pub fn apply(root: &mut Value, path: &[Segment], value: Value) -> Result<(), SetApplyError> {
    let mut node = root;
    for (depth, seg) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let here = display_path(&path[..depth]);
        match seg {
            Segment::Key(k) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                let map = node.as_object_mut().expect("just made a map");
                if last {
                    map.insert(k.clone(), value);
                    return Ok(());
                }
                node = map.entry(k.clone()).or_insert(Value::Null);
            }
            Segment::Index(i) => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let list = node.as_array_mut().expect("just made a list");
                if *i > list.len() {
                    return Err(SetApplyError(format!(
                        "`{here}[{i}]`: `{here}` has {} item(s); an index may be at most {} (to append)",
                        list.len(),
                        list.len()
                    )));
                }
                if *i == list.len() {
                    list.push(Value::Null);
                }
                if last {
                    list[*i] = value;
                    return Ok(());
                }
                node = &mut list[*i];
            }
        }
    }
    *node = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(args: &[&str]) -> Result<Value, String> {
        let mut root = json!({});
        for a in args {
            for asg in parse(a, SetKind::Typed).map_err(|e| e.to_string())? {
                apply(&mut root, &asg.path, asg.value).map_err(|e| e.to_string())?;
            }
        }
        Ok(root)
    }

    #[test]
    fn helm_typing() {
        let v = set(&[
            "a=true,b=FALSE,c=Null,d=0,e=012,f=123,g=-5,h=1.5,i=,j=9223372036854775808,k=+7",
        ])
        .unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": null, "d": 0, "e": "012", "f": 123, "g": -5,
                   "h": "1.5", "i": "", "j": "9223372036854775808", "k": 7})
        );
    }

    #[test]
    fn set_string_keeps_text() {
        let a = parse("a=true,b=12", SetKind::String).unwrap();
        assert_eq!(a[0].value, json!("true"));
        assert_eq!(a[1].value, json!("12"));
    }

    #[test]
    fn nesting_lists_and_escapes() {
        let v = set(&[r"a.b=1,c={x,2,true},d\.e=f\,g,h[0].i=1,h[1]=z"]).unwrap();
        assert_eq!(
            v,
            json!({"a": {"b": 1}, "c": ["x", 2, true], "d.e": "f,g", "h": [{"i": 1}, "z"]})
        );
    }

    #[test]
    fn index_equal_to_length_appends_and_beyond_fails() {
        let v = set(&["l[0]=a", "l[1]=b", "l[0]=c"]).unwrap();
        assert_eq!(v, json!({"l": ["c", "b"]}));
        let err = set(&["l[0]=a", "l[2]=b"]).unwrap_err();
        assert!(err.contains("at most 1"), "{err}");
    }

    #[test]
    fn trailing_comma_is_accepted_like_helm() {
        assert_eq!(set(&["a=1,"]).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn nested_list_index() {
        assert_eq!(set(&["m[0][0]=1"]).unwrap(), json!({"m": [[1]]}));
    }

    #[test]
    fn bad_arguments_are_named() {
        for (arg, needle) in [
            ("a", "key `a` has no value"),
            ("=x", "key before `=` is empty"),
            ("a[x]=1", "whole number"),
            ("a..b=1", "empty key segment"),
            ("a[-1]=1", "negative index"),
            ("a={x,y", "must end with `}`"),
            ("a[0", "missing its `]`"),
            ("", "empty assignment"),
            ("a=b\\", "trailing"),
        ] {
            let err = parse(arg, SetKind::Typed).unwrap_err().to_string();
            assert!(err.contains(needle), "{arg}: {err}");
        }
    }

    #[test]
    fn empty_list_braces_are_helms_one_empty_string() {
        assert_eq!(set(&["a={}"]).unwrap(), json!({"a": [""]}));
    }

    #[test]
    fn file_argument() {
        let (path, file) = parse_file_arg("a.b=/tmp/x=y").unwrap();
        assert_eq!(display_path(&path), "a.b");
        assert_eq!(file, "/tmp/x=y");
        assert!(parse_file_arg("a.b=").is_err());
    }
}

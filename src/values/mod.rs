//! Values: layering defaults < environment < each `-f` < each `--set`.
//!
//! Maps merge deeply, lists replace, `null` deletes a key (a declared key
//! then reads as unset). Every user layer is checked against
//! `releases/defaults.yaml` (see [`schema`]) and kept as the user gave it,
//! so a release record can replay it (`upgrade --reuse-values`).

pub mod schema;
pub mod set;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::yaml::{self, YamlError};
use set::{SetKind, display_path};

/// A named YAML text: a values file as read from disk or the bundle.
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name it (`releases/dev.yaml`, `./secrets.yaml`).
    pub name: String,
    pub text: String,
}

/// One layer the user gave, exactly as given, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum UserLayer {
    /// `-f FILE`: the path and the content read at the time.
    File { path: String, content: String },
    /// `--set ARG`.
    Set { arg: String },
    /// `--set-string ARG`.
    SetString { arg: String },
    /// `--set-file KEY=PATH`: the argument and the file's content.
    SetFile { arg: String, content: String },
}

impl UserLayer {
    /// How messages name the layer.
    pub fn describe(&self) -> String {
        match self {
            UserLayer::File { path, .. } => path.clone(),
            UserLayer::Set { arg } => format!("--set {arg}"),
            UserLayer::SetString { arg } => format!("--set-string {arg}"),
            UserLayer::SetFile { arg, .. } => format!("--set-file {arg}"),
        }
    }
}

/// Why values could not be resolved. Messages start with the file (and
/// line) or the argument at fault.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("{file}:{}:{}: {}", .error.line, .error.column, .error.message)]
    Yaml { file: String, error: YamlError },
    #[error("{file}: the top level must be a map of values")]
    NotAMap { file: String },
    #[error("{}", problems.iter().map(|(at, p)| format!("{at}: {p}")).collect::<Vec<_>>().join("\n"))]
    Schema {
        problems: Vec<(String, schema::Problem)>,
    },
    #[error("{arg}: {message}")]
    SetArg { arg: String, message: String },
}

/// The resolved values of one render.
#[derive(Debug, Clone)]
pub struct Values {
    /// defaults < environment < user layers, completed with every declared key.
    pub merged: Value,
    /// The environment file's values alone (release name and namespace defaults).
    pub environment: Value,
}

/// Layers `defaults < environment < layers` and checks every user value.
pub fn resolve(
    defaults: &Source,
    environment: &Source,
    layers: &[UserLayer],
) -> Result<Values, ValuesError> {
    let schema_doc = parse_map(defaults)?;
    let schema = &schema_doc.value;
    let mut merged = schema.clone();
    let mut problems = Vec::new();

    let env_doc = parse_map(environment)?;
    check_document(&env_doc, &environment.name, schema, &mut problems);
    merge(&mut merged, &env_doc.value);

    for layer in layers {
        match layer {
            UserLayer::File { path, content } => {
                let source = Source {
                    name: path.clone(),
                    text: content.clone(),
                };
                let doc = parse_map(&source)?;
                check_document(&doc, path, schema, &mut problems);
                merge(&mut merged, &doc.value);
            }
            UserLayer::Set { arg } | UserLayer::SetString { arg } => {
                let kind = if matches!(layer, UserLayer::Set { .. }) {
                    SetKind::Typed
                } else {
                    SetKind::String
                };
                let assignments = set::parse(arg, kind).map_err(|e| set_error(layer, e.0))?;
                for a in assignments {
                    assign(&mut merged, schema, layer, &a.path, a.value, &mut problems)?;
                }
            }
            UserLayer::SetFile { arg, content } => {
                let (path, _) = set::parse_file_arg(arg).map_err(|e| set_error(layer, e.0))?;
                assign(
                    &mut merged,
                    schema,
                    layer,
                    &path,
                    Value::String(content.clone()),
                    &mut problems,
                )?;
            }
        }
    }
    if !problems.is_empty() {
        return Err(ValuesError::Schema { problems });
    }
    schema::complete(&mut merged, schema);
    Ok(Values {
        merged,
        environment: env_doc.value,
    })
}

fn set_error(layer: &UserLayer, message: String) -> ValuesError {
    ValuesError::SetArg {
        arg: layer.describe(),
        message,
    }
}

fn assign(
    merged: &mut Value,
    schema: &Value,
    layer: &UserLayer,
    path: &[set::Segment],
    value: Value,
    problems: &mut Vec<(String, schema::Problem)>,
) -> Result<(), ValuesError> {
    if let Err(p) = schema::check_path(path, &value, schema) {
        problems.push((layer.describe(), p));
        return Ok(());
    }
    if value.is_null() {
        remove(merged, path);
        return Ok(());
    }
    set::apply(merged, path, value)
        .map_err(|e| set_error(layer, format!("{}: {}", display_path(path), e.0)))
}

/// `--set a.b=null` deletes `a.b`, as `null` in a file does.
fn remove(root: &mut Value, path: &[set::Segment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for seg in parents {
        node = match (seg, node) {
            (set::Segment::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(n) => n,
                None => return,
            },
            (set::Segment::Index(i), Value::Array(l)) => match l.get_mut(*i) {
                Some(n) => n,
                None => return,
            },
            _ => return,
        };
    }
    match (last, node) {
        (set::Segment::Key(k), Value::Object(m)) => {
            m.shift_remove(k);
        }
        (set::Segment::Index(i), Value::Array(l)) if *i < l.len() => l[*i] = Value::Null,
        _ => {}
    }
}

fn parse_map(source: &Source) -> Result<yaml::Document, ValuesError> {
    let doc = yaml::parse_single(&source.text).map_err(|error| ValuesError::Yaml {
        file: source.name.clone(),
        error,
    })?;
    match doc.value {
        Value::Object(_) => Ok(doc),
        Value::Null => Ok(yaml::Document {
            value: Value::Object(Default::default()),
            ..doc
        }),
        _ => Err(ValuesError::NotAMap {
            file: source.name.clone(),
        }),
    }
}

fn check_document(
    doc: &yaml::Document,
    file: &str,
    schema: &Value,
    out: &mut Vec<(String, schema::Problem)>,
) {
    let mut found = Vec::new();
    schema::check_value(&doc.value, schema, "", &mut found);
    for p in found {
        out.push((format!("{file}:{}", doc.line_of(p.path())), p));
    }
}

/// Deep merge: maps merge, anything else replaces, `null` deletes.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.shift_remove(k);
                } else if let Some(existing) =
                    b.get_mut(k).filter(|e| e.is_object() && v.is_object())
                {
                    merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn src(name: &str, text: &str) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    const DEFAULTS: &str = "a:\n  b: 1\n  c: [1, 2]\n  d: {}\n  e: null\nf: x\n";

    fn resolve_with(env: &str, layers: &[UserLayer]) -> Result<Value, ValuesError> {
        resolve(
            &src("releases/defaults.yaml", DEFAULTS),
            &src("releases/dev.yaml", env),
            layers,
        )
        .map(|v| v.merged)
    }

    fn set(arg: &str) -> UserLayer {
        UserLayer::Set { arg: arg.into() }
    }

    #[test]
    fn layering_order_and_semantics() {
        let v = resolve_with(
            "a:\n  b: 2\n  c: [9]\n",
            &[
                UserLayer::File {
                    path: "x.yaml".into(),
                    content: "a:\n  d: {k: v}\n  e: {deep: 1}\n".into(),
                },
                set("a.b=3"),
                UserLayer::SetString { arg: "f=12".into() },
                set("a.d.k=null"),
            ],
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": {"b": 3, "c": [9], "d": {}, "e": {"deep": 1}}, "f": "12"})
        );
    }

    #[test]
    fn null_in_a_file_unsets_a_declared_key() {
        let v = resolve_with("f: null\n", &[]).unwrap();
        assert_eq!(v["f"], Value::Null);
    }

    #[test]
    fn unknown_key_in_a_file_names_file_and_line() {
        let err = resolve_with(
            "a:\n  b: 2\n",
            &[UserLayer::File {
                path: "mine.yaml".into(),
                content: "a:\n  b: 1\n\n  bb: 2\nzzz: 1\n".into(),
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("mine.yaml:4: unknown key `a.bb`"), "{err}");
        assert!(err.contains("mine.yaml:5: unknown key `zzz`"), "{err}");
    }

    #[test]
    fn unknown_key_in_set_names_the_argument() {
        let err = resolve_with("", &[set("a.x=1")]).unwrap_err().to_string();
        assert!(err.starts_with("--set a.x=1: unknown key `a.x`"), "{err}");
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let err = resolve_with("a:\n  b: [1\n", &[]).unwrap_err().to_string();
        assert!(err.starts_with("releases/dev.yaml:"), "{err}");
        assert!(err.matches(':').count() >= 3, "{err}");
    }

    #[test]
    fn set_syntax_errors_name_the_argument() {
        let err = resolve_with("", &[set("a..b=1")]).unwrap_err().to_string();
        assert!(err.starts_with("--set a..b=1: empty key segment"), "{err}");
    }

    #[test]
    fn set_file_reads_content_as_a_string() {
        let v = resolve_with(
            "",
            &[UserLayer::SetFile {
                arg: "f=/tmp/x".into(),
                content: "12345\n".into(),
            }],
        )
        .unwrap();
        assert_eq!(v["f"], json!("12345\n"));
    }
}

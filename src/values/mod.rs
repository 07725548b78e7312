//! Values: layering defaults < environment < each `-f` < each `--set`.
//!
//! Maps merge deeply, lists replace, `null` deletes a key (a declared key
//! then reads as unset). Every user layer is checked against
//! `releases/defaults.yaml` (see [`schema`]) and typed by
//! `releases/types.yaml` (see [`types`]) at the layer that set the value;
//! the merged values are checked by the rules across values ([`cross`]).
//! Every problem of every layer is reported at once. Layers are kept as
//! the user gave them, so a release record can replay them (`upgrade
//! --reuse-values`).

pub mod check;
pub mod cross;
pub mod quantity;
pub mod rules;
pub mod schema;
pub mod set;
pub mod types;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::yaml::{self, YamlError};
use check::{Layer, Origins, path_string};
use set::{SetKind, display_path};
use types::Types;

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
    /// `releases/types.yaml` is malformed or does not fit the defaults.
    #[error("{}", problems.join("\n"))]
    Types { problems: Vec<String> },
}

/// The resolved values of one render.
#[derive(Debug, Clone)]
pub struct Values {
    /// defaults < environment < user layers, completed with every declared key.
    pub merged: Value,
    /// The environment file's values alone (release name and namespace defaults).
    pub environment: Value,
}

/// Layers `defaults < environment < layers` and checks every value:
/// declared (typo guard), typed (`types`), and the rules across values.
pub fn resolve(
    defaults: &Source,
    types: &Source,
    environment: &Source,
    layers: &[UserLayer],
) -> Result<Values, ValuesError> {
    let schema_doc = parse_map(defaults)?;
    let schema = &schema_doc.value;
    let table = Types::parse(&types.name, &types.text)
        .map_err(|problems| ValuesError::Types { problems })?;
    let gaps = table.coverage(&schema_doc, &defaults.name);
    if !gaps.is_empty() {
        return Err(ValuesError::Types { problems: gaps });
    }
    let defaults_at = |path: &str| format!("{}:{}", defaults.name, schema_doc.line_of(path));
    let layer = |order| Layer {
        types: &table,
        schema,
        order,
    };
    let mut problems = Vec::new();
    let mut origins = Origins::default();
    layer(0).document(schema, &defaults_at, &mut problems, &mut origins);
    let mut merged = schema.clone();

    let env_doc = parse_map(environment)?;
    check_document(
        &env_doc,
        &environment.name,
        &layer(1),
        &mut problems,
        &mut origins,
    );
    merge(&mut merged, &env_doc.value);

    for (i, user) in layers.iter().enumerate() {
        let checker = layer(i + 2);
        match user {
            UserLayer::File { path, content } => {
                let source = Source {
                    name: path.clone(),
                    text: content.clone(),
                };
                let doc = parse_map(&source)?;
                check_document(&doc, path, &checker, &mut problems, &mut origins);
                merge(&mut merged, &doc.value);
            }
            UserLayer::Set { arg } | UserLayer::SetString { arg } => {
                let kind = if matches!(user, UserLayer::Set { .. }) {
                    SetKind::Typed
                } else {
                    SetKind::String
                };
                let assignments = set::parse(arg, kind).map_err(|e| set_error(user, e.0))?;
                let at = describe_masked(user, &assignments, &table);
                for a in assignments {
                    let target = Target {
                        checker: &checker,
                        at: &at,
                    };
                    target.assign(&mut merged, &a.path, a.value, &mut problems, &mut origins)?;
                }
            }
            UserLayer::SetFile { arg, content } => {
                let (path, _) = set::parse_file_arg(arg).map_err(|e| set_error(user, e.0))?;
                let target = Target {
                    checker: &checker,
                    at: &user.describe(),
                };
                let value = Value::String(content.clone());
                target.assign(&mut merged, &path, value, &mut problems, &mut origins)?;
            }
        }
    }
    schema::complete(&mut merged, schema);
    check::required(&table, &merged, &origins, &defaults_at, &mut problems);
    cross::check(&merged, &origins, &defaults_at, &mut problems);
    if !problems.is_empty() {
        return Err(ValuesError::Schema { problems });
    }
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

/// How messages name a `--set` layer: as given, unless it assigns a secret
/// (`secrets.*`), whose value is then shown as `***`.
fn describe_masked(layer: &UserLayer, assignments: &[set::Assignment], table: &Types) -> String {
    let secret = |a: &set::Assignment| {
        matches!(a.path.first(), Some(set::Segment::Key(k)) if k == "secrets")
            && table
                .covering(&a.path)
                .is_none_or(|(e, _)| e.rule.is_secret())
    };
    if !assignments.iter().any(secret) {
        return layer.describe();
    }
    let flag = match layer {
        UserLayer::SetString { .. } => "--set-string",
        _ => "--set",
    };
    let parts: Vec<String> = assignments
        .iter()
        .map(|a| {
            let value = if secret(a) {
                "***".to_string()
            } else {
                shown(&a.value)
            };
            format!("{}={value}", display_path(&a.path))
        })
        .collect();
    format!("{flag} {}", parts.join(","))
}

/// A `--set` value as it would be written again.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(shown).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// One `--set` layer: its checker and how messages name it.
struct Target<'a> {
    checker: &'a Layer<'a>,
    at: &'a str,
}

impl Target<'_> {
    fn assign(
        &self,
        merged: &mut Value,
        path: &[set::Segment],
        value: Value,
        problems: &mut Vec<(String, schema::Problem)>,
        origins: &mut Origins,
    ) -> Result<(), ValuesError> {
        let checked = schema::check_path(path, &value, self.checker.schema)
            .and_then(|()| self.checker.assignment(path, &value));
        if let Err(p) = checked {
            problems.push((self.at.to_string(), p));
            return Ok(());
        }
        origins.set(&path_string(path), self.at, self.checker.order);
        if value.is_null() {
            remove(merged, path);
            return Ok(());
        }
        set::apply(merged, path, value).map_err(|e| ValuesError::SetArg {
            arg: self.at.to_string(),
            message: format!("{}: {}", display_path(path), e.0),
        })
    }
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

/// The typo guard's and the types' problems of one file, in line order;
/// a value of the wrong type is reported once, by its type.
fn check_document(
    doc: &yaml::Document,
    file: &str,
    layer: &Layer,
    out: &mut Vec<(String, schema::Problem)>,
    origins: &mut Origins,
) {
    let at = |path: &str| format!("{file}:{}", doc.line_of(path));
    let mut typed = Vec::new();
    layer.document(&doc.value, &at, &mut typed, origins);
    let mut found = Vec::new();
    schema::check_value(&doc.value, layer.schema, "", &mut found);
    found.retain(|p| {
        !matches!(p, schema::Problem::WrongShape { .. })
            || !typed.iter().any(|(_, t)| t.path() == p.path())
    });
    let mut all: Vec<_> = found.into_iter().map(|p| (at(p.path()), p)).collect();
    all.extend(typed);
    all.sort_by_key(|(_, p)| doc.line_of(p.path()));
    out.extend(all);
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
    const TYPES: &str = "a.b: count\na.c: list\na.d: text-map\na.e: text-map\nf: optional text\n";

    fn resolve_with(env: &str, layers: &[UserLayer]) -> Result<Value, ValuesError> {
        resolve(
            &src("releases/defaults.yaml", DEFAULTS),
            &src("releases/types.yaml", TYPES),
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
                    content: "a:\n  d: {k: v}\n  e: {deep: \"1\"}\n".into(),
                },
                set("a.b=3"),
                UserLayer::SetString { arg: "f=12".into() },
                set("a.d.k=null"),
            ],
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": {"b": 3, "c": [9], "d": {}, "e": {"deep": "1"}}, "f": "12"})
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

    /// The repository's own files, as the binary embeds them.
    fn repo(name: &str) -> Source {
        let file = crate::bundle::Bundle::embedded();
        let f = file.release_file(name).unwrap();
        src(&format!("releases/{name}"), &f.text)
    }

    fn resolve_repo(env: &str, layers: &[UserLayer]) -> Result<Values, ValuesError> {
        resolve(
            &repo("defaults.yaml"),
            &repo("types.yaml"),
            &repo(&format!("{env}.yaml")),
            layers,
        )
    }

    fn errors(env: &str, layers: &[UserLayer]) -> Vec<String> {
        match resolve_repo(env, layers) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    }

    fn file(path: &str, content: &str) -> UserLayer {
        UserLayer::File {
            path: path.into(),
            content: content.into(),
        }
    }

    /// Issue 17: every leaf of releases/defaults.yaml has a type, and every
    /// line of releases/types.yaml types something.
    #[test]
    fn every_declared_value_has_a_type() {
        let defaults = repo("defaults.yaml");
        let doc = parse_map(&defaults).unwrap();
        let types = repo("types.yaml");
        let table = Types::parse(&types.name, &types.text).unwrap();
        let gaps = table.coverage(&doc, &defaults.name);
        assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    }

    /// What render::secrets treats as secret, and any key named like a
    /// credential, is typed `secret`, so no message shows its value.
    #[test]
    fn credentials_are_typed_secret() {
        let defaults = parse_map(&repo("defaults.yaml")).unwrap();
        let types = repo("types.yaml");
        let table = Types::parse(&types.name, &types.text).unwrap();
        let secrets = crate::render::secrets::GENERATED_KEYS
            .iter()
            .chain(crate::render::secrets::INTEGRATION_KEYS);
        for key in secrets {
            let e = table.lookup(&["secrets", key]).unwrap();
            assert!(e.rule.is_secret(), "secrets.{key}");
        }
        let mut paths = Vec::new();
        collect_leaves(&defaults.value, &mut Vec::new(), &mut paths);
        for keys in paths {
            let last = keys.last().unwrap().to_lowercase();
            if ["password", "token", "secretkey", "apikey"]
                .iter()
                .any(|w| last.contains(w))
            {
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                assert!(table.lookup(&refs).unwrap().rule.is_secret(), "{keys:?}");
            }
        }
    }

    fn collect_leaves(v: &Value, keys: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    keys.push(k.clone());
                    collect_leaves(child, keys, out);
                    keys.pop();
                }
            }
            _ => out.push(keys.clone()),
        }
    }

    #[test]
    fn the_shipped_environments_are_well_typed() {
        for env in ["dev", "staging", "prod"] {
            let secrets = file("prod-secrets.yaml", &repo("prod-secrets.example.yaml").text);
            assert_eq!(errors(env, &[secrets]), Vec::<String>::new(), "{env}");
        }
    }

    #[test]
    fn set_typing_follows_helm() {
        assert!(errors("dev", &[set("backend.replicas=3")]).is_empty());
        let err = errors(
            "dev",
            &[UserLayer::SetString {
                arg: "backend.replicas=3".into(),
            }],
        );
        assert_eq!(
            err,
            [
                "--set-string backend.replicas=3: backend.replicas must be a whole number ≥ 0, not the text \"3\" (write it unquoted; --set-string always gives text, use --set)"
            ]
        );
        assert_eq!(
            errors("dev", &[set("backend.replicas=abc")]),
            [
                "--set backend.replicas=abc: backend.replicas must be a whole number ≥ 0, not the text \"abc\""
            ]
        );
    }

    #[test]
    fn every_problem_at_once_at_its_file_and_line() {
        let mine = "backend:\n  replicas: -3\n  port: 0\nimages:\n  pullPolicy: Sometimes\n  backend:\n    tag: \"1.0 beta\"\n";
        let err = errors(
            "dev",
            &[
                file("values.yaml", mine),
                set("ingress.host=Bad_Host,redis.persistence.size=12XB"),
            ],
        );
        assert_eq!(err.len(), 6, "{err:#?}");
        assert!(
            err[0].starts_with(
                "values.yaml:2: backend.replicas must be a whole number ≥ 0, not the number -3"
            ),
            "{err:#?}"
        );
        assert!(
            err[1].starts_with("values.yaml:3: backend.port must be a port number from 1 to 65535"),
            "{err:#?}"
        );
        assert!(err[2].starts_with("values.yaml:5: images.pullPolicy must be one of Always, IfNotPresent, Never, not the text \"Sometimes\""), "{err:#?}");
        assert!(
            err[3].starts_with("values.yaml:7: images.backend.tag must be an image tag"),
            "{err:#?}"
        );
        assert!(err[4].starts_with("--set ingress.host=Bad_Host,redis.persistence.size=12XB: ingress.host must be a lower-case DNS host name"), "{err:#?}");
        assert!(
            err[5].contains(": redis.persistence.size must be a Kubernetes quantity ≥ 0"),
            "{err:#?}"
        );
    }

    #[test]
    fn a_bad_value_in_an_environment_or_the_defaults_names_that_file() {
        let env = "images:\n  backend: {tag: \"1\"}\n  frontend: {tag: \"1\"}\nbackend:\n  replicas: 2\n  autoscaling:\n    enabled: yes\n";
        let err = resolve(
            &repo("defaults.yaml"),
            &repo("types.yaml"),
            &src("releases/dev.yaml", env),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "releases/dev.yaml:7: backend.autoscaling.enabled must be true or false, not the text \"yes\""
        );
        let defaults = repo("defaults.yaml")
            .text
            .replace("  workers: 2\n", "  workers: 0\n");
        let line = defaults.lines().position(|l| l == "  workers: 0").unwrap() + 1;
        let err = resolve(
            &src("releases/defaults.yaml", &defaults),
            &repo("types.yaml"),
            &repo("dev.yaml"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            format!(
                "releases/defaults.yaml:{line}: backend.workers must be a whole number ≥ 1, not the number 0"
            )
        );
    }

    #[test]
    fn min_above_max_and_requests_above_limits_name_both_layers() {
        let err = errors("staging", &[set("backend.autoscaling.minReplicas=5")]);
        let line = repo("staging.yaml")
            .text
            .lines()
            .position(|l| l == "    maxReplicas: 4")
            .unwrap()
            + 1;
        assert_eq!(
            err,
            [format!(
                "--set backend.autoscaling.minReplicas=5: backend.autoscaling.minReplicas (5) must be ≤ backend.autoscaling.maxReplicas (4, from releases/staging.yaml:{line})"
            )]
        );
        let err = errors(
            "dev",
            &[file(
                "v.yaml",
                "celery:\n  resources:\n    requests:\n      memory: 1Gi\n",
            )],
        );
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].starts_with("v.yaml:4: celery.resources.requests.memory (1Gi) must be ≤ its limit celery.resources.limits.memory (256Mi, from releases/defaults.yaml:"), "{err:?}");
    }

    #[test]
    fn unset_rules() {
        assert!(errors("dev", &[set("ingress.tls.secretName=null")]).is_empty());
        let empty = |arg: &str| UserLayer::SetString { arg: arg.into() };
        assert!(errors("dev", &[empty("images.backend.digest=")]).is_empty());
        assert_eq!(errors("dev", &[empty("images.backend.tag=")]).len(), 1);
        assert_eq!(errors("dev", &[empty("backend.port=")]).len(), 1);
        assert!(errors("dev", &[set("celery.resources.limits=null")]).is_empty());
        assert!(errors("dev", &[set("celery.resources.limits.cpu=null")]).is_empty());
        assert_eq!(
            errors("dev", &[set("backend.replicas=null")]),
            [
                "--set backend.replicas=null: backend.replicas cannot be unset: releases/defaults.yaml gives it a value, and it must be a whole number ≥ 0"
            ]
        );
        let err = errors("dev", &[set("images.backend.tag=null")]);
        assert_eq!(err.len(), 1);
        assert!(err[0].starts_with("--set images.backend.tag=null: images.backend.tag is required: set it to an image tag"), "{err:?}");
    }

    #[test]
    fn a_secret_value_never_reaches_a_message() {
        let err = errors(
            "dev",
            &[
                set("secrets.redisPassword={hunter2hunter2},backend.replicas=x"),
                set("secrets.redisPasword=hunter2hunter2"),
                file("s.yaml", "secrets:\n  postgresPassword: [hunter2hunter2]\n"),
            ],
        );
        let all = err.join("\n");
        assert!(!all.contains("hunter2"), "{all}");
        assert_eq!(err.len(), 4, "{all}");
        assert_eq!(
            err[0],
            "--set secrets.redisPassword=***,backend.replicas=x: the value of secrets.redisPassword must be text"
        );
        assert!(
            err[1].starts_with(
                "--set secrets.redisPassword=***,backend.replicas=x: backend.replicas must be"
            ),
            "{all}"
        );
        assert!(
            err[2].starts_with("--set secrets.redisPasword=***: unknown key"),
            "{all}"
        );
        assert_eq!(
            err[3],
            "s.yaml:2: the value of secrets.postgresPassword must be text"
        );
    }

    #[test]
    fn a_broken_types_file_is_reported_whole() {
        let err = resolve(
            &repo("defaults.yaml"),
            &src("releases/types.yaml", "backend.replicas: cout\n"),
            &repo("dev.yaml"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("releases/types.yaml:1: `backend.replicas`: unknown type `cout`"),
            "{err}"
        );
        let err = resolve(
            &repo("defaults.yaml"),
            &src("releases/types.yaml", "backend.replicas: count\n"),
            &repo("dev.yaml"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(": `app.djangoSettingsModule` has no type: declare it in types.yaml"),
            "{err}"
        );
        assert!(err.starts_with("releases/defaults.yaml:"), "{err}");
    }
}

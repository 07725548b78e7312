//! Templates + values -> ordered Kubernetes objects. Pure: no cluster.
//!
//! Each template's output is parsed on its own (a syntax error names that
//! template and line), every document must be an object with apiVersion,
//! kind and metadata.name, (kind, namespace, name) must be unique, and
//! [`postprocess`] adds what the engine owns (annotations, hook names,
//! checksums) before the objects are sorted into stage order.

mod env;
pub mod postprocess;
pub mod secrets;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::bundle::Bundle;
use crate::manifest::Object;
use crate::{plan, yaml};

/// Who the render is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// The environment file's name (`dev`), also K8S_ENVIRONMENT.
    pub environment: String,
}

/// The result of a render.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Objects in apply order.
    pub objects: Vec<Object>,
    /// The post-install text (NOTES.txt).
    pub notes: String,
}

/// Why a render failed; messages start with the template file and line.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{file}:{line}: {message}")]
    Template {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: the rendered YAML is invalid at line {line} column {column}: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: document {index} {message}")]
    Object {
        file: String,
        index: usize,
        message: String,
    },
    #[error("{0} is rendered twice (by {1} and {2}): every object needs its own kind and name")]
    Duplicate(String, String, String),
    #[error(transparent)]
    MissingSecrets(#[from] secrets::MissingSecrets),
}

/// Renders the platform. `values` are the merged values; `generated` the
/// secrets generated at install (None: placeholders).
pub fn render(
    bundle: &Bundle,
    release: &Release,
    values: &Value,
    generated: Option<&serde_json::Map<String, Value>>,
) -> Result<Rendered, RenderError> {
    let mut values = values.clone();
    secrets::prepare(&mut values, &release.environment, generated)?;

    let mut objects = Vec::new();
    let mut notes = String::new();
    for output in render_templates(bundle, release, &values)? {
        let text = output.text?;
        if output.name.ends_with(".txt") {
            notes = text;
            continue;
        }
        if !is_manifest(&output.name) {
            continue;
        }
        objects.extend(parse_output(&output.file, &text)?);
    }
    postprocess::apply(&mut objects, release);
    check_unique(&objects)?;
    plan::sort(&mut objects);
    Ok(Rendered { objects, notes })
}

/// One template's rendered text, before it is parsed.
#[derive(Debug)]
pub struct TemplateOutput {
    /// The template's name (`backend.yaml`).
    pub name: String,
    /// How messages name it (`manifests/backend.yaml`).
    pub file: String,
    /// The text, or why this template failed to render.
    pub text: Result<String, RenderError>,
}

/// Whether a template's output is Kubernetes objects (not NOTES.txt).
pub fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Renders every template but the `_` helpers, each on its own, in name
/// order. `values` must have passed [`secrets::prepare`]. The outer error is
/// a template that does not compile (no template can render then); a
/// template that fails at render time fails only its own output, so a
/// caller such as `thebot lint` can go on with the others.
pub fn render_templates(
    bundle: &Bundle,
    release: &Release,
    values: &Value,
) -> Result<Vec<TemplateOutput>, RenderError> {
    let templates: Vec<(String, String)> = bundle
        .manifests
        .iter()
        .map(|f| (f.name.clone(), f.text.clone()))
        .collect();
    let env = env::build(release, values, &templates)
        .map_err(|e| template_error(bundle, &templates, &e))?;
    Ok(templates
        .iter()
        .filter(|(name, _)| !name.starts_with('_'))
        .map(|(name, _)| TemplateOutput {
            name: name.clone(),
            file: format!("{}/{name}", bundle.manifests_dir),
            text: env
                .get_template(name)
                .and_then(|t| t.render(minijinja::context! {}))
                .map_err(|e| template_error(bundle, &templates, &e)),
        })
        .collect())
}

fn parse_output(file: &str, text: &str) -> Result<Vec<Object>, RenderError> {
    let docs = yaml::parse_documents(text).map_err(|e| RenderError::Yaml {
        file: file.to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let index = i + 1;
        let bad = |message: &str| RenderError::Object {
            file: file.to_string(),
            index,
            message: format!("(line {} of the output) {message}", doc.line),
        };
        match &doc.value {
            Value::Null => continue,
            Value::Object(_) => {}
            _ => {
                return Err(bad(
                    "is not a map: every document must be one Kubernetes object",
                ));
            }
        }
        for (ptr, what) in [
            ("/apiVersion", "apiVersion"),
            ("/kind", "kind"),
            ("/metadata/name", "metadata.name"),
        ] {
            if doc
                .value
                .pointer(ptr)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(bad(&format!("has no {what}")));
            }
        }
        out.push(Object {
            source: file.to_string(),
            value: doc.value,
        });
    }
    Ok(out)
}

fn check_unique(objects: &[Object]) -> Result<(), RenderError> {
    let mut seen: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for (i, o) in objects.iter().enumerate() {
        let id = o.id();
        if !seen.insert((
            id.group.clone(),
            id.kind.clone(),
            id.namespace.clone(),
            id.name.clone(),
        )) {
            let first = objects[..i].iter().find(|p| {
                p.id().kind == id.kind && p.id().name == id.name && p.id().group == id.group
            });
            return Err(RenderError::Duplicate(
                id.to_string(),
                first.map(|p| p.source.clone()).unwrap_or_default(),
                o.source.clone(),
            ));
        }
    }
    Ok(())
}

/// A MiniJinja error as `file:line: what`, naming the failing expression
/// (never values: the debug report would print secrets).
fn template_error(
    bundle: &Bundle,
    templates: &[(String, String)],
    e: &minijinja::Error,
) -> RenderError {
    let name = e.name().unwrap_or("?").to_string();
    let source = templates
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.as_str());
    let expr = match (source, e.range()) {
        (Some(src), Some(r)) => src.get(r).map(|s| s.trim().to_string()),
        _ => None,
    };
    let what = match e.kind() {
        minijinja::ErrorKind::UndefinedError => match &expr {
            Some(x) => format!(
                "`{x}` is undefined: declare the key in releases/defaults.yaml (null when it has no default) or fix its name"
            ),
            None => "a value is undefined: declare it in releases/defaults.yaml".to_string(),
        },
        _ => {
            let detail = e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.kind().to_string());
            match &expr {
                Some(x) if !detail.contains('`') => format!("{detail} (in `{x}`)"),
                _ => detail,
            }
        }
    };
    RenderError::Template {
        file: format!("{}/{name}", bundle.manifests_dir),
        line: e.line().unwrap_or(0),
        message: what,
    }
}

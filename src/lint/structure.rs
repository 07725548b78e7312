//! Structure: each template's output parses on its own (one template's
//! syntax error hides nothing of the others), every document is one
//! object with apiVersion, kind and metadata.name, and no object is
//! rendered twice.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifest::Object;
use crate::render::{RenderError, TemplateOutput, is_manifest};
use crate::yaml;

use super::Context;
use super::finding::{Findings, Subject};

const TEMPLATE_FIX: &str =
    "fix the template; `thebot template ENV --manifests DIR` shows the same error with its line";

/// Parses every manifest template's output into objects, reporting each
/// template that fails to render or parse and each malformed document.
pub fn parse(outputs: Vec<TemplateOutput>, out: &mut Findings) -> Vec<Object> {
    let mut objects = Vec::new();
    for output in outputs {
        let at = Subject::file(&output.file);
        let text = match output.text {
            Ok(text) => text,
            Err(e) => {
                out.error("structure/render", &at, "", e.to_string(), TEMPLATE_FIX);
                continue;
            }
        };
        if !is_manifest(&output.name) {
            continue;
        }
        let docs = match yaml::parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                out.error(
                    "structure/yaml",
                    &at,
                    "",
                    format!(
                        "the rendered YAML is invalid at line {} column {}: {}",
                        e.line, e.column, e.message
                    ),
                    "print values with `{{ value }}` (JSON, which YAML reads back intact) and check the indentation of the lines the template adds",
                );
                continue;
            }
        };
        for (i, doc) in docs.into_iter().enumerate() {
            let where_ = format!("document {} (line {} of the output)", i + 1, doc.line);
            match &doc.value {
                Value::Null => continue,
                Value::Object(_) => {}
                _ => {
                    out.error(
                        "structure/not-an-object",
                        &at,
                        "",
                        format!("{where_} is not a map"),
                        "every document must be one Kubernetes object; separate objects with `---`",
                    );
                    continue;
                }
            }
            let mut complete = true;
            for (ptr, field) in [
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
                    complete = false;
                    out.error(
                        "structure/missing-field",
                        &at,
                        field,
                        format!("{where_} has no {field} (or it is not text)"),
                        format!(
                            "set {field}: every object needs apiVersion, kind and metadata.name"
                        ),
                    );
                }
            }
            if complete {
                objects.push(Object {
                    source: output.file.clone(),
                    value: doc.value,
                });
            }
        }
    }
    objects
}

/// A template set that does not compile: nothing renders.
pub fn render_failed(e: &RenderError, out: &mut Findings) {
    let file = match e {
        RenderError::Template { file, .. }
        | RenderError::Yaml { file, .. }
        | RenderError::Object { file, .. } => file.clone(),
        _ => "manifests".to_string(),
    };
    out.error(
        "structure/render",
        &Subject::file(&file),
        "",
        format!("{e} (no template could be rendered)"),
        TEMPLATE_FIX,
    );
}

/// No two objects share (group, kind, namespace, name): the second would
/// overwrite the first on apply.
pub fn unique(ctx: &Context, out: &mut Findings) {
    let mut seen: BTreeMap<(String, String, String, String), &Object> = BTreeMap::new();
    for (o, at) in ctx.each() {
        let id = o.id();
        let key = (id.group, id.kind, id.namespace, id.name);
        match seen.get(&key) {
            Some(first) => out.error(
                "structure/duplicate",
                &at,
                "metadata.name",
                format!(
                    "rendered twice (by {} and {}): the second would replace the first",
                    first.source, o.source
                ),
                "give each object its own name, e.g. {{ name(\"<component>\") }} with a distinct component",
            ),
            None => {
                seen.insert(key, o);
            }
        }
    }
}

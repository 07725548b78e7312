//! `thebot template ENV`: render and print, nothing else.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::bundle::Bundle;
use crate::manifest::{self, Object};
use crate::{environment, render};

use super::{LayerArg, read_layers};

#[derive(Debug, Clone, Default)]
pub struct TemplateOptions {
    pub env: String,
    pub layers: Vec<LayerArg>,
    pub show_only: Vec<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub manifests: Option<PathBuf>,
    pub releases: Option<PathBuf>,
}

/// The rendered stream, in stage order.
pub fn run(opts: &TemplateOptions) -> anyhow::Result<String> {
    let bundle =
        Bundle::embedded().with_dirs(opts.manifests.as_deref(), opts.releases.as_deref())?;
    let layers = read_layers(&opts.layers)?;
    let target = environment::resolve(
        &bundle,
        &opts.env,
        &layers,
        opts.name.as_deref(),
        opts.namespace.as_deref(),
    )?;
    let rendered = render::render(&bundle, &target.release, &target.values.merged, None)
        .with_context(|| format!("cannot render environment `{}`", opts.env))?;
    super::preflight::check_values(
        &bundle,
        &target.release,
        &target.values.merged,
        "nothing was printed",
    )?;
    let objects = select(rendered.objects, &opts.show_only)?;
    Ok(manifest::to_stream(&objects))
}

/// Keeps the objects named `KIND/NAME` (kind case-insensitive; a hook Job
/// also by its name without the hash).
fn select(objects: Vec<Object>, show_only: &[String]) -> anyhow::Result<Vec<Object>> {
    if show_only.is_empty() {
        return Ok(objects);
    }
    let mut wanted = Vec::new();
    for s in show_only {
        let Some((kind, name)) = s.split_once('/') else {
            bail!("--show-only {s}: write KIND/NAME, e.g. Deployment/thebot-dev-backend");
        };
        wanted.push((kind.to_ascii_lowercase(), name.to_string(), s));
    }
    let matches = |o: &Object, kind: &str, name: &str| {
        o.kind().eq_ignore_ascii_case(kind)
            && (o.name() == name
                || (o.name().len() == name.len() + 9 && o.name().starts_with(&format!("{name}-"))))
    };
    for (kind, name, arg) in &wanted {
        if !objects.iter().any(|o| matches(o, kind, name)) {
            let available: Vec<String> = objects
                .iter()
                .map(|o| format!("{}/{}", o.kind(), o.name()))
                .collect();
            bail!(
                "--show-only {arg}: no such object in the render; it has:\n  {}",
                available.join("\n  ")
            );
        }
    }
    Ok(objects
        .into_iter()
        .filter(|o| wanted.iter().any(|(k, n, _)| matches(o, k, n)))
        .collect())
}

//! `thebot lint ENV`: resolve the environment as `template` does, lint the
//! render, print the report. Exit 1 when it has errors (or warnings under
//! `--strict`).

use std::path::PathBuf;

use crate::bundle::Bundle;
use crate::environment;
use crate::lint::{self, Format, Report};

use super::{LayerArg, read_layers};

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    pub env: String,
    pub layers: Vec<LayerArg>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub manifests: Option<PathBuf>,
    pub releases: Option<PathBuf>,
    pub strict: bool,
    pub format: Format,
}

/// The lint failed: the report (already printed) has errors.
#[derive(Debug, thiserror::Error)]
#[error("lint of {env} found {summary}")]
pub struct LintFailed {
    pub env: String,
    pub summary: String,
}

/// What to print, and whether the lint failed.
#[derive(Debug)]
pub struct LintOutput {
    pub text: String,
    pub report: Report,
}

impl LintOutput {
    /// `Err` when the report fails the lint.
    pub fn verdict(&self) -> Result<(), LintFailed> {
        if self.report.failed() {
            Err(LintFailed {
                env: self.report.environment.clone(),
                summary: self.report.summary(),
            })
        } else {
            Ok(())
        }
    }
}

/// The environment SPEC §3's production rules apply to.
pub const PRODUCTION_ENVIRONMENT: &str = "prod";

/// The rules' options for `env` with these merged values.
pub fn options(env: &str, values: &serde_json::Value, strict: bool) -> lint::Options {
    let named = |pointer: &str, kind: &str| {
        values
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| (kind.to_string(), s.to_string()))
    };
    let external = [
        named("/secrets/existingSecret", "Secret"),
        named("/backup/existingClaim", "PersistentVolumeClaim"),
    ]
    .into_iter()
    .flatten()
    .collect();
    lint::Options {
        production: env == PRODUCTION_ENVIRONMENT,
        external,
        strict,
    }
}

pub fn run(opts: &LintOptions) -> anyhow::Result<LintOutput> {
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
    let values = &target.values.merged;
    let options = options(&opts.env, values, opts.strict);
    let report = lint::lint(&bundle, &target.release, values, &options);
    Ok(LintOutput {
        text: report.render(opts.format),
        report,
    })
}

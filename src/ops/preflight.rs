//! The client-side preflight: every lint rule of severity error over the
//! whole render, before anything is written or printed. It costs no
//! request; `install`, `upgrade`, `rollback`, `diff` and `template` refuse
//! on the same errors that `thebot lint` reports, in the same words.

use serde_json::Value;

use super::OpError;
use super::lint::options;
use crate::bundle::Bundle;
use crate::lint::{self, Report};
use crate::manifest::Object;
use crate::render::Release;

/// What the preflight let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passed {
    /// Lint warnings (not refused; `thebot lint ENV` shows them).
    pub warnings: usize,
}

/// Lints the render of `values` for `release`; `what` is what a refusal
/// says did not happen (e.g. "nothing was written").
pub fn check_values(
    bundle: &Bundle,
    release: &Release,
    values: &Value,
    what: &str,
) -> Result<Passed, OpError> {
    let opts = options(&release.environment, values, false);
    verdict(&lint::lint(bundle, release, values, &opts), what)
}

/// Lints objects already rendered (a recorded revision).
pub fn check_objects(
    objects: &[Object],
    release: &Release,
    values: &Value,
    what: &str,
) -> Result<Passed, OpError> {
    let opts = options(&release.environment, values, false);
    verdict(&lint::lint_objects(objects, release, &opts), what)
}

fn verdict(report: &Report, what: &str) -> Result<Passed, OpError> {
    if !report.failed() {
        return Ok(Passed {
            warnings: report.warnings,
        });
    }
    let text = report.errors_only().to_text();
    // The findings without the summary line that closes the report.
    let findings = text
        .trim_end()
        .rsplit_once("\n\n")
        .map_or(&*text, |(f, _)| f);
    Err(OpError::Failed(format!(
        "preflight: the render of {} (release {} in namespace {}) has {}; {what}.\n\n{}",
        report.environment,
        report.release,
        report.namespace,
        plural(report.errors, "error"),
        findings
    )))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

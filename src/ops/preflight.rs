//! The client-side preflight: every lint rule of severity error over the
//! whole render, before anything is written or printed. It costs no
//! request; `install`, `upgrade`, `rollback`, `diff` and `template` refuse
//! on the same errors that `thebot lint` reports, in the same words.

use serde_json::Value;

use super::OpError;
use super::lint::options;
use crate::apply::live::LiveIndex;
use crate::apply::{self, ApplyOptions};
use crate::bundle::Bundle;
use crate::cluster::{Cluster, Discovery};
use crate::lint::{self, Report};
use crate::manifest::{Object, ObjectId};
use crate::render::Release;

/// `--preflight`: how much is checked before the first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Preflight {
    /// The lint's error rules (no request).
    #[default]
    Client,
    /// Those, then one dry-run apply of every object.
    Server,
}

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

/// The server-side preflight: every object applied at once with
/// `dryRun=All`, so admission (webhooks, quotas, Pod Security, field
/// validation) answers before anything changes; every refusal is
/// reported. Objects already live are applied with force: conflicts with
/// other field managers are the ownership check's to judge, later, under
/// the lock.
pub async fn dry_run_all(
    cluster: &Cluster,
    discovery: &Discovery,
    objects: &[Object],
    namespace: &str,
    apply: &ApplyOptions,
) -> Result<usize, OpError> {
    let ids: Vec<ObjectId> = objects.iter().map(Object::id).collect();
    let live = LiveIndex::snapshot(&cluster.client, discovery, &ids, namespace).await?;
    let force_for: Vec<ObjectId> = ids.into_iter().filter(|i| live.get(i).is_some()).collect();
    let opts = ApplyOptions {
        dry_run: true,
        concurrency: objects.len().max(1),
        ..apply.clone()
    };
    let all: Vec<&Object> = objects.iter().collect();
    match apply::apply(&cluster.client, discovery, &all, &live, &opts, &force_for).await {
        Ok(_) => Ok(objects.len()),
        Err(e) => Err(OpError::Failed(format!(
            "preflight (server): the cluster refuses {} of {} objects in a dry run; nothing of the release was written (no lock taken, no revision recorded):\n{e}",
            e.0.len(),
            objects.len()
        ))),
    }
}

//! `install`, `upgrade` and `rollback`: their flags, the options they
//! map to, and how the result prints.

use std::time::Duration;

use clap::{ArgMatches, Args};

use super::common::{ClusterArgs, OutcomeArgs, ProgressArgs, QueryArgs, runtime};
use super::{BundleArgs, ValuesArgs};
use crate::ops::deploy::{self, DeployOptions, Mode};
use crate::ui::progress::stderr_view;
use crate::ui::{self, Format};

/// Flags of `install` and `upgrade`.
#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Release name (default: the environment file's release.name).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace (default: the environment file's, else the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Create the namespace if it does not exist (it is never part of the release).
    #[arg(long = "create-namespace")]
    pub create_namespace: bool,
    /// Description recorded with the revision.
    #[arg(long)]
    pub description: Option<String>,
    /// Take over fields that other field managers own.
    #[arg(long = "force-conflicts")]
    pub force_conflicts: bool,
    /// Adopt existing objects that belong to no release, another tool or Helm.
    #[arg(long = "take-ownership")]
    pub take_ownership: bool,
    /// Delete and recreate objects whose change touches an immutable field
    /// (Deployments and StatefulSets are deleted with Orphan propagation, so
    /// their pods and volumes stay).
    #[arg(long = "force-replace")]
    pub force_replace: bool,
    /// Revisions to keep (0 = all); the last deployed one is never deleted.
    #[arg(long = "history-max", default_value_t = 10)]
    pub history_max: usize,
    /// Wait this long for another operation's lock (e.g. 5m) instead of failing at once.
    #[arg(long = "wait-for-lock", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_for_lock: Option<Duration>,
    /// Wait for each stage to be ready before applying the next (--wait=false: apply only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Budget of the whole operation, hooks included (e.g. 90s, 10m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Do not wait for LoadBalancer Services to get an address.
    #[arg(long = "no-wait-lb")]
    pub no_wait_lb: bool,
    /// Fail the rollout when a pod cannot be scheduled (default: a warning).
    #[arg(long = "fail-on-unschedulable")]
    pub fail_on_unschedulable: bool,
    /// Log lines of a failing container to show.
    #[arg(long = "log-lines", value_name = "N", default_value_t = 20)]
    pub log_lines: u32,
    #[command(flatten)]
    pub progress: ProgressArgs,
    #[command(flatten)]
    pub outcome: OutcomeArgs,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The environment: dev, staging or prod (a file releases/ENV.yaml).
    pub env: String,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The environment (default: the one the release was installed with).
    pub env: Option<String>,
    /// Install the release if it does not exist.
    #[arg(long)]
    pub install: bool,
    /// Replay the previous revision's -f/--set layers under the new ones.
    #[arg(long = "reuse-values")]
    pub reuse_values: bool,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The revision to re-apply (default: the newest earlier revision that was deployed).
    pub revision: Option<u32>,
    #[command(flatten)]
    pub query: QueryArgs,
    /// Description recorded with the new revision (default: "Rollback to N").
    #[arg(long)]
    pub description: Option<String>,
    /// Take over fields that other field managers own.
    #[arg(long = "force-conflicts")]
    pub force_conflicts: bool,
    /// Delete and recreate objects whose change touches an immutable field.
    #[arg(long = "force-replace")]
    pub force_replace: bool,
    /// Revisions to keep (0 = all); the last deployed one is never deleted.
    #[arg(long = "history-max", default_value_t = 10)]
    pub history_max: usize,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long = "wait-for-lock", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_for_lock: Option<Duration>,
    /// Wait for each stage to be ready (--wait=false: apply only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Budget of the whole operation.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Do not wait for LoadBalancer Services to get an address.
    #[arg(long = "no-wait-lb")]
    pub no_wait_lb: bool,
    /// Roll back even to a backend older than the database's last
    /// migration (you know the migration is backward compatible).
    #[arg(long = "allow-schema-mismatch", conflicts_with = "restore_db")]
    pub allow_schema_mismatch: bool,
    /// Across a migration: scale the app to 0, restore the database from
    /// the backup taken before the first migration away from the target's
    /// code (what was written since is lost), then roll back. Ignored, with
    /// a warning, when the rollback crosses no migration.
    #[arg(long = "restore-db", conflicts_with = "atomic")]
    pub restore_db: bool,
    #[command(flatten)]
    pub progress: ProgressArgs,
    #[command(flatten)]
    pub outcome: OutcomeArgs,
}

/// `install|upgrade|rollback -o json|yaml`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    pub name: String,
    pub namespace: String,
    pub revision: u32,
    pub status: String,
    pub description: String,
    pub duration_seconds: f64,
    pub created: Vec<String>,
    pub configured: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    pub notes: String,
}

impl From<&deploy::Deployed> for DeployReport {
    fn from(d: &deploy::Deployed) -> Self {
        use crate::apply::Action;
        let of = |a: Action| {
            d.changes
                .iter()
                .filter(|c| c.action == a)
                .map(|c| c.object.clone())
                .collect()
        };
        DeployReport {
            name: d.record.name.clone(),
            namespace: d.record.namespace.clone(),
            revision: d.record.revision,
            status: d.record.status.to_string(),
            description: d.record.description.clone(),
            duration_seconds: (d.duration.as_secs_f64() * 10.0).round() / 10.0,
            created: of(Action::Created),
            configured: of(Action::Configured),
            unchanged: of(Action::Unchanged),
            deleted: of(Action::Deleted),
            notes: d.notes.clone(),
        }
    }
}

fn deploy_options(
    env: Option<String>,
    d: &DeployArgs,
    matches: &ArgMatches,
    reuse_values: bool,
) -> DeployOptions {
    DeployOptions {
        env,
        layers: d.values.ordered(matches),
        reuse_values,
        name: d.name.clone(),
        namespace: d.namespace.clone(),
        connect: d.cluster.connect(),
        create_namespace: d.create_namespace,
        description: d.description.clone(),
        apply: crate::apply::ApplyOptions {
            force_conflicts: d.force_conflicts,
            force_replace: d.force_replace,
            ..Default::default()
        },
        take_ownership: d.take_ownership,
        history_max: d.history_max,
        wait_for_lock: d.wait_for_lock,
        wait: d.wait,
        timeout: d.timeout,
        skip_load_balancers: d.no_wait_lb,
        fail_on_unschedulable: d.fail_on_unschedulable,
        log_lines: d.log_lines,
        atomic: d.outcome.atomic,
        preflight: d.outcome.preflight,
        manifests: d.bundle.manifests.clone(),
        releases: d.bundle.releases.clone(),
        allow_schema_mismatch: false,
        restore_db: false,
    }
}

fn run_deploy(
    mode: Mode,
    opts: DeployOptions,
    progress: &ProgressArgs,
    outcome: &OutcomeArgs,
) -> anyhow::Result<()> {
    if let Some(how) = outcome.dry_run {
        let report = runtime()?.block_on(crate::ops::dry_run::dry_run(mode, &opts, how))?;
        if outcome.output != Format::Table {
            ui::print_data(outcome.output, &report);
            return Ok(());
        }
        println!(
            "Dry run ({how:?}) of release {} in namespace {}: nothing was changed.",
            report.name, report.namespace
        );
        let lines = if report.changes.is_empty() {
            &report.plan
        } else {
            &report.changes
        };
        for l in lines {
            println!("  {l}");
        }
        for p in &report.prune {
            println!("  would prune {p}");
        }
        return Ok(());
    }
    let done = {
        // The view is dropped (its bars finished) before the result prints.
        let view = stderr_view(progress.view());
        runtime()?.block_on(crate::ops::atomic::deploy(mode, &opts, view.as_ref()))?
    };
    if outcome.output != Format::Table {
        ui::print_data(outcome.output, &DeployReport::from(&done));
        return Ok(());
    }
    let r = &done.record;
    println!(
        "Release {} revision {} {} in namespace {} ({}; {:.1}s)",
        r.name,
        r.revision,
        r.status,
        r.namespace,
        ui::change_summary(&done.changes),
        done.duration.as_secs_f64()
    );
    if !progress.quiet && !done.notes.trim().is_empty() {
        println!();
        // Notes come from a template and may lack the final newline;
        // without it the shell prompt would land on the last line.
        println!("{}", done.notes.trim_end_matches('\n'));
    }
    Ok(())
}

pub fn install(a: InstallArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    let opts = deploy_options(Some(a.env.clone()), &a.deploy, matches, false);
    run_deploy(Mode::Install, opts, &a.deploy.progress, &a.deploy.outcome)
}

pub fn upgrade(a: UpgradeArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    let opts = deploy_options(a.env.clone(), &a.deploy, matches, a.reuse_values);
    run_deploy(
        Mode::Upgrade {
            install_missing: a.install,
        },
        opts,
        &a.deploy.progress,
        &a.deploy.outcome,
    )
}

pub fn rollback(a: RollbackArgs) -> anyhow::Result<()> {
    let opts = DeployOptions {
        name: a.query.name.clone(),
        namespace: a.query.namespace.clone(),
        connect: a.query.cluster.connect(),
        description: a.description.clone(),
        apply: crate::apply::ApplyOptions {
            force_conflicts: a.force_conflicts,
            force_replace: a.force_replace,
            ..Default::default()
        },
        history_max: a.history_max,
        wait_for_lock: a.wait_for_lock,
        wait: a.wait,
        timeout: a.timeout,
        skip_load_balancers: a.no_wait_lb,
        log_lines: 20,
        atomic: a.outcome.atomic,
        preflight: a.outcome.preflight,
        allow_schema_mismatch: a.allow_schema_mismatch,
        restore_db: a.restore_db,
        ..Default::default()
    };
    run_deploy(
        Mode::Rollback { to: a.revision },
        opts,
        &a.progress,
        &a.outcome,
    )
}

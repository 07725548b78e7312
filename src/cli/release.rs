//! Arguments of the cluster commands (install, upgrade, status, history,
//! list, unlock) and their translation into `ops` options.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{ArgMatches, Args};

use super::{BundleArgs, ValuesArgs};
use crate::cluster::ConnectOptions;
use crate::ops::OpError;
use crate::ops::deploy::{self, DeployOptions, Mode};
use crate::ops::status::{self, QueryOptions};
use crate::ui::progress::{ViewOptions, stderr_view};
use crate::ui::{self, Format, table};

/// kubectl-like cluster flags.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: KUBECONFIG, several files merged, else ~/.kube/config).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long = "kube-context", value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Impersonate this user.
    #[arg(long = "as", value_name = "USER", global = true)]
    pub as_user: Option<String>,
    /// Impersonate this group (repeatable).
    #[arg(long = "as-group", value_name = "GROUP", global = true)]
    pub as_groups: Vec<String>,
}

impl ClusterArgs {
    fn connect(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            as_user: self.as_user.clone(),
            as_groups: self.as_groups.clone(),
        }
    }
}

/// Flags of the commands that deploy a revision (install, upgrade, rollback).
#[derive(Debug, Args, Clone, Default)]
pub struct OutcomeArgs {
    /// On failure or timeout, restore the last deployed revision (an
    /// install removes what it created).
    #[arg(long, alias = "rollback-on-failure")]
    pub atomic: bool,
    /// Result format (progress stays on stderr).
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// client: print the plan; server: send every write with dryRun=All and
    /// report what would change. Neither touches records or the lock.
    #[arg(long = "dry-run", value_enum, value_name = "client|server", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<crate::ops::dry_run::DryRun>,
}

/// Output flags shared by the commands that change a release.
#[derive(Debug, Args, Clone, Default)]
pub struct ProgressArgs {
    /// Print only the result and errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// No colours (NO_COLOR is honoured too).
    #[arg(long = "no-color")]
    pub no_color: bool,
}

impl ProgressArgs {
    fn view(&self) -> ViewOptions {
        ViewOptions {
            quiet: self.quiet,
            no_color: self.no_color,
        }
    }
}

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
    #[command(flatten)]
    pub progress: ProgressArgs,
    #[command(flatten)]
    pub outcome: OutcomeArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Keep the release's records, marked uninstalled.
    #[arg(long = "keep-history")]
    pub keep_history: bool,
    /// Only list what would be deleted and kept.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Also delete PersistentVolumeClaims (the database's data!).
    #[arg(long = "delete-volumes")]
    pub delete_volumes: bool,
    /// How long to wait for the objects to be gone.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long = "wait-for-lock", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_for_lock: Option<Duration>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// manifest, values or notes.
    #[arg(value_enum)]
    pub what: crate::ops::get::What,
    #[command(flatten)]
    pub query: QueryArgs,
    /// The revision (default: the current one).
    #[arg(long)]
    pub revision: Option<u32>,
    /// Print secret values instead of masking them.
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The environment (default: the one the release was installed with).
    pub env: Option<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Release name.
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Exit 5 when there are changes (0 when none).
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Only the summary: added, removed and changed objects, no diffs.
    #[arg(long)]
    pub summary: bool,
    /// `json|yaml`: the summary as data (implies --summary).
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

/// Which release a query is about.
#[derive(Debug, Args, Clone)]
pub struct QueryArgs {
    /// Release name (default: the namespace's release).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl QueryArgs {
    fn options(&self) -> QueryOptions {
        QueryOptions {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            connect: self.cluster.connect(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Show at most the last N revisions (0 = all).
    #[arg(long, default_value_t = 0)]
    pub max: usize,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Releases in every namespace.
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
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
        manifests: d.bundle.manifests.clone(),
        releases: d.bundle.releases.clone(),
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
        runtime()?.block_on(deploy::deploy(mode, &opts, view.as_ref()))?
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
        print!("{}", done.notes);
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
        ..Default::default()
    };
    run_deploy(
        Mode::Rollback { to: a.revision },
        opts,
        &a.progress,
        &a.outcome,
    )
}

pub fn uninstall(a: UninstallArgs) -> anyhow::Result<()> {
    let opts = crate::ops::uninstall::UninstallOptions {
        query: a.query.options(),
        keep_history: a.keep_history,
        dry_run: a.dry_run,
        delete_volumes: a.delete_volumes,
        timeout: a.timeout,
        wait_for_lock: a.wait_for_lock,
    };
    let done = {
        let view = stderr_view(a.progress.view());
        runtime()?.block_on(crate::ops::uninstall::uninstall(&opts, view.as_ref()))?
    };
    if a.output != Format::Table {
        ui::print_data(a.output, &done);
        return Ok(());
    }
    let verb = if done.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for d in &done.deleted {
        println!("{verb}  {d}");
    }
    for k in &done.kept {
        println!("kept     {k}");
    }
    println!(
        "Release {} {} in namespace {} ({} deleted, {} kept{}). The namespace and Secret {}-generated are kept.",
        done.release,
        if done.dry_run {
            "would be uninstalled"
        } else {
            "uninstalled"
        },
        done.namespace,
        done.deleted.len(),
        done.kept.len(),
        if done.stuck.is_empty() {
            String::new()
        } else {
            format!(", {} still terminating", done.stuck.len())
        },
        done.release
    );
    Ok(())
}

pub fn diff(a: DiffArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    let opts = crate::ops::diff::DiffOptions {
        env: a.env.clone(),
        layers: a.values.ordered(matches),
        name: a.name.clone(),
        namespace: a.namespace.clone(),
        connect: a.cluster.connect(),
        manifests: a.bundle.manifests.clone(),
        releases: a.bundle.releases.clone(),
    };
    let report = runtime()?.block_on(crate::ops::diff::diff(&opts))?;
    if a.output != Format::Table {
        ui::print_data(a.output, &report);
    } else {
        if a.summary {
            for o in &report.changed {
                println!("~ {o} (changed)");
            }
        } else {
            print!("{}", report.text);
        }
        for o in &report.added {
            println!("+ {o} (new)");
        }
        for o in &report.removed {
            println!("- {o} (removed)");
        }
        if !report.has_changes() {
            println!("No changes.");
        }
    }
    if a.detailed_exitcode && report.has_changes() {
        std::io::stdout().flush()?;
        std::process::exit(5);
    }
    Ok(())
}

pub fn get(a: GetArgs) -> anyhow::Result<()> {
    let record = runtime()?.block_on(crate::ops::get::record(&a.query.options(), a.revision))?;
    print!(
        "{}",
        crate::ops::get::show(&record, a.what, a.show_secrets)?
    );
    Ok(())
}

pub fn status(a: StatusArgs) -> anyhow::Result<()> {
    let report = runtime()?.block_on(status::status(&a.query.options()))?;
    if a.output != Format::Table {
        ui::print_data(a.output, &report);
        return Ok(());
    }
    println!("NAME: {}", report.name);
    println!("NAMESPACE: {}", report.namespace);
    println!("ENVIRONMENT: {}", report.environment);
    println!("REVISION: {}", report.revision);
    println!("STATUS: {}", report.status);
    println!("DESCRIPTION: {}", report.description);
    println!("LAST DEPLOYED: {}", report.last_deployed);
    if let Some(l) = &report.locked_by {
        println!("LOCKED BY: {l}");
    }
    println!();
    let rows: Vec<Vec<String>> = report
        .objects
        .iter()
        .map(|o| {
            vec![
                format!("{}/{}", o.kind, o.name),
                o.state.clone(),
                o.reason.clone(),
            ]
        })
        .collect();
    print!("{}", table::render(&["OBJECT", "STATE", "REASON"], &rows));
    Ok(())
}

pub fn history(a: HistoryArgs) -> anyhow::Result<()> {
    let entries = runtime()?.block_on(status::history(&a.query.options(), a.max))?;
    ui::print_list(
        a.output,
        &entries,
        &[
            "REVISION",
            "UPDATED",
            "STATUS",
            "ENVIRONMENT",
            "DESCRIPTION",
        ],
        |e| {
            vec![
                e.revision.to_string(),
                e.updated.clone(),
                e.status.clone(),
                e.environment.clone(),
                e.description.clone(),
            ]
        },
    );
    Ok(())
}

pub fn list(a: ListArgs) -> anyhow::Result<()> {
    let opts = QueryOptions {
        name: None,
        namespace: a.namespace.clone(),
        connect: a.cluster.connect(),
    };
    let entries = runtime()?.block_on(status::list(&opts, a.all_namespaces))?;
    ui::print_list(
        a.output,
        &entries,
        &[
            "NAME",
            "NAMESPACE",
            "REVISION",
            "STATUS",
            "ENVIRONMENT",
            "UPDATED",
        ],
        |e| {
            vec![
                e.name.clone(),
                e.namespace.clone(),
                e.revision.to_string(),
                e.status.clone(),
                e.environment.clone(),
                e.updated.clone(),
            ]
        },
    );
    Ok(())
}

pub fn unlock(a: UnlockArgs) -> anyhow::Result<()> {
    if !a.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!("unlock breaks another operation's lock: confirm with --yes");
        }
        eprint!(
            "Break the lock of this release? Only do this if the process holding it is dead. [y/N] "
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not unlocked");
        }
    }
    match runtime()?.block_on(status::unlock(&a.query.options()))? {
        Some((holder, since)) => println!("Lock broken (it was held by {holder} since {since})."),
        None => println!("No lock is held."),
    }
    Ok(())
}

/// The exit code of an error (CONVENTIONS).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<OpError>().map_or(1, OpError::exit_code)
}

//! Flags shared by the cluster commands (cluster access, which release,
//! progress and outcome), the async runtime, and the exit code of an error.

use std::path::PathBuf;

use clap::Args;

use crate::cluster::ConnectOptions;
use crate::ops::OpError;
use crate::ops::status::QueryOptions;
use crate::ui::Format;
use crate::ui::progress::ViewOptions;

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
    pub(super) fn connect(&self) -> ConnectOptions {
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
    /// client: the lint's error rules over the whole render (no request);
    /// server: also one dry-run apply of every object before anything is
    /// written, so admission webhooks, quotas and Pod Security refuse first.
    #[arg(
        long,
        value_enum,
        value_name = "client|server",
        default_value = "client"
    )]
    pub preflight: crate::ops::preflight::Preflight,
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
    pub(super) fn view(&self) -> ViewOptions {
        ViewOptions {
            quiet: self.quiet,
            no_color: self.no_color,
        }
    }
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
    pub(super) fn options(&self) -> QueryOptions {
        QueryOptions {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            connect: self.cluster.connect(),
        }
    }
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The exit code of an error (CONVENTIONS).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<OpError>().map_or(1, OpError::exit_code)
}

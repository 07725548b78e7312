//! `uninstall`: its flags and what it prints.

use std::time::Duration;

use clap::Args;

use super::common::{ProgressArgs, QueryArgs, runtime};
use crate::ui::progress::stderr_view;
use crate::ui::{self, Format};

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

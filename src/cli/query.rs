//! The commands that read a release (`status`, `history`, `list`, `get`)
//! and `unlock`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;
use clap::Args;

use super::common::{ClusterArgs, QueryArgs, runtime};
use crate::ops::status::{self, QueryOptions};
use crate::ui::{self, Format, table};

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
pub struct BackupsArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// How long to wait for the backup Job.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long = "wait-for-lock", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_for_lock: Option<std::time::Duration>,
    /// Lines of a failing container's log shown on failure.
    #[arg(long = "log-lines", value_name = "N", default_value_t = 20)]
    pub log_lines: u32,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    #[command(flatten)]
    pub progress: super::common::ProgressArgs,
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
            "SCHEMA",
            "DESCRIPTION",
        ],
        |e| {
            vec![
                e.revision.to_string(),
                e.updated.clone(),
                e.status.clone(),
                e.environment.clone(),
                crate::release::history::schema_column(e.migration.as_ref(), e.revision),
                e.description.clone(),
            ]
        },
    );
    Ok(())
}

pub fn backups(a: BackupsArgs) -> anyhow::Result<()> {
    let entries = runtime()?.block_on(status::backups(&a.query.options()))?;
    ui::print_list(
        a.output,
        &entries,
        &[
            "REVISION", "TAKEN", "TIME", "FILE", "SIZE", "IMAGE", "ON CLAIM",
        ],
        |e| {
            vec![
                e.revision.to_string(),
                if e.manual { "manual" } else { "migration" }.to_string(),
                e.time.clone(),
                e.file.clone(),
                e.size.map_or("-".into(), |s| s.to_string()),
                e.image.clone(),
                if e.kept {
                    e.claim.clone()
                } else {
                    format!("{} (deleted: beyond backup.keep)", e.claim)
                },
            ]
        },
    );
    Ok(())
}

pub fn backup(a: BackupArgs) -> anyhow::Result<()> {
    let opts = crate::ops::deploy::BackupOptions {
        query: a.query.options(),
        timeout: a.timeout,
        wait_for_lock: a.wait_for_lock,
        log_lines: a.log_lines,
    };
    let taken = {
        let view = crate::ui::progress::stderr_view(a.progress.view());
        runtime()?.block_on(crate::ops::deploy::take_backup(&opts, view.as_ref()))?
    };
    if a.output != Format::Table {
        ui::print_data(a.output, &taken);
        return Ok(());
    }
    let b = &taken.backup;
    println!(
        "backup taken: {} ({}) on PersistentVolumeClaim {} by Job {} (revision {}, {})",
        b.file,
        b.size
            .map_or("size not reported".to_string(), |s| format!("{s} bytes")),
        b.claim,
        b.job,
        taken.revision,
        taken.image
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

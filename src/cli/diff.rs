//! `diff`: its flags and what it prints (exit 5 with --detailed-exitcode).

use std::io::Write;

use clap::{ArgMatches, Args};

use super::common::{ClusterArgs, runtime};
use super::{BundleArgs, ValuesArgs};
use crate::ui::{self, Format};

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

//! Command-line structures (clap) and their translation into options for
//! [`crate::ops`]. No orchestration lives here.

use std::path::PathBuf;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

mod common;
mod deploy;
mod diff;
mod query;
mod uninstall;

use crate::ops;

#[derive(Debug, Parser)]
#[command(
    name = "thebot",
    version,
    about = "Deploys the THE_BOT platform to Kubernetes and manages its releases"
)]
pub struct Cli {
    /// -v: log each API call (method, URL, status, latency); -vv: also
    /// retries and watch restarts. Never bodies or headers.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the platform's manifests for an environment and print them.
    Template(TemplateArgs),
    /// Render an environment and report every problem: structure, schema,
    /// semantics and policy (exit 1 on errors).
    Lint(LintArgs),
    /// Print a shell completion script: thebot completion bash|zsh|fish.
    Completion(CompletionArgs),
    /// Install an environment as a new release (revision 1).
    Install(deploy::InstallArgs),
    /// Apply the new render to an existing release (revision N+1).
    Upgrade(deploy::UpgradeArgs),
    /// Re-apply a recorded revision as a new revision ("Rollback to N").
    Rollback(deploy::RollbackArgs),
    /// Show what an upgrade would change (server-side dry run; secrets masked).
    Diff(diff::DiffArgs),
    /// Delete what the release owns (volumes and the namespace stay).
    Uninstall(uninstall::UninstallArgs),
    /// Print a revision's manifest, values or notes (secrets masked).
    Get(query::GetArgs),
    /// The release's current revision and the live state of every object it owns.
    Status(query::StatusArgs),
    /// The release's revisions.
    History(query::HistoryArgs),
    /// The database backups: those taken before migrations (from the
    /// records) and by `thebot backup`.
    Backups(query::BackupsArgs),
    /// Back up the database now with the release's backup Job.
    Backup(query::BackupArgs),
    /// The releases in a namespace (or all with -A).
    List(query::ListArgs),
    /// Break the release's operation lock (only when its holder is dead).
    Unlock(query::UnlockArgs),
}

/// Where templates and values files come from.
#[derive(Debug, Args, Clone, Default)]
pub struct BundleArgs {
    /// Read templates from DIR instead of the ones built into thebot.
    #[arg(long, value_name = "DIR")]
    pub manifests: Option<PathBuf>,
    /// Read defaults.yaml and the environment files from DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub releases: Option<PathBuf>,
}

/// The user's value layers: every -f first, then every --set* in order.
#[derive(Debug, Args, Clone, Default)]
pub struct ValuesArgs {
    /// A values file layered over the environment (repeatable; later wins).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value (Helm syntax: a.b=1,c={x,y}); repeatable, applied in order after -f files.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Like --set, but every value is a string.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set a value to a file's content: KEY=PATH.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
}

impl ValuesArgs {
    /// The flags as layers in command-line order (files first).
    fn ordered(&self, matches: &ArgMatches) -> Vec<ops::LayerArg> {
        let mut sets: Vec<(usize, ops::LayerArg)> = Vec::new();
        for (id, make) in [
            ("set", ops::LayerArg::Set as fn(String) -> ops::LayerArg),
            ("set_string", ops::LayerArg::SetString),
            ("set_file", ops::LayerArg::SetFile),
        ] {
            let values: Vec<String> = matches
                .get_many::<String>(id)
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let indices: Vec<usize> = matches.indices_of(id).into_iter().flatten().collect();
            sets.extend(indices.into_iter().zip(values).map(|(i, v)| (i, make(v))));
        }
        sets.sort_by_key(|(i, _)| *i);
        self.files
            .iter()
            .map(|f| ops::LayerArg::File(f.clone()))
            .chain(sets.into_iter().map(|(_, l)| l))
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The environment: a file releases/ENV.yaml (dev, staging, prod).
    pub env: String,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Print only these objects: KIND/NAME (repeatable), e.g. Deployment/thebot-dev-backend.
    #[arg(long = "show-only", value_name = "KIND/NAME")]
    pub show_only: Vec<String>,
    /// Release name (default: the environment file's release.name).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace (default: the environment file's release.namespace).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The environment: a file releases/ENV.yaml (dev, staging, prod).
    pub env: String,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Release name (default: the environment file's release.name).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace (default: the environment file's release.namespace).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// Treat warnings (e.g. missing prod secrets) as errors.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: LintFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Parses the command line and runs the command. Usage errors exit 2
/// (clap); everything else comes back as an error for `main`.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> anyhow::Result<()> {
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    crate::log::set_level(cli.verbose);
    match cli.command {
        Command::Template(t) => {
            let sub = matches
                .subcommand_matches("template")
                .expect("template matched");
            let opts = ops::template::TemplateOptions {
                env: t.env,
                layers: t.values.ordered(sub),
                show_only: t.show_only,
                name: t.name,
                namespace: t.namespace,
                manifests: t.bundle.manifests,
                releases: t.bundle.releases,
            };
            let out = ops::template::run(&opts)?;
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
        Command::Lint(l) => {
            let sub = matches.subcommand_matches("lint").expect("lint matched");
            let opts = ops::lint::LintOptions {
                env: l.env,
                layers: l.values.ordered(sub),
                name: l.name,
                namespace: l.namespace,
                manifests: l.bundle.manifests,
                releases: l.bundle.releases,
                strict: l.strict,
                format: match l.output {
                    LintFormat::Text => crate::lint::Format::Text,
                    LintFormat::Json => crate::lint::Format::Json,
                },
            };
            let out = ops::lint::run(&opts)?;
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.text.as_bytes())?;
            stdout.flush()?;
            Ok(out.verdict()?)
        }
        Command::Completion(c) => {
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(c.shell, &mut Cli::command(), "thebot", &mut stdout);
            Ok(())
        }
        Command::Install(a) => {
            let sub = matches
                .subcommand_matches("install")
                .expect("install matched");
            deploy::install(a, sub)
        }
        Command::Upgrade(a) => {
            let sub = matches
                .subcommand_matches("upgrade")
                .expect("upgrade matched");
            deploy::upgrade(a, sub)
        }
        Command::Rollback(a) => deploy::rollback(a),
        Command::Diff(a) => {
            let sub = matches.subcommand_matches("diff").expect("diff matched");
            diff::diff(a, sub)
        }
        Command::Uninstall(a) => uninstall::uninstall(a),
        Command::Get(a) => query::get(a),
        Command::Status(a) => query::status(a),
        Command::History(a) => query::history(a),
        Command::Backups(a) => query::backups(a),
        Command::Backup(a) => query::backup(a),
        Command::List(a) => query::list(a),
        Command::Unlock(a) => query::unlock(a),
    }
}

pub use common::exit_code;

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (duplicate flags, bad defaults).
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

//! The only code that prints: progress lines on stderr, results (tables,
//! JSON, YAML) on stdout.

pub mod diff;
pub mod table;

use std::io::IsTerminal;

use serde::Serialize;

use crate::apply::{Action, Change};
use crate::ops::events::{Event, Sink};

/// `-o`: how results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// Prints a serializable result as JSON or YAML (stdout).
pub fn print_data<T: Serialize>(format: Format, data: &T) {
    let value = serde_json::to_value(data).expect("results serialize");
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&value).expect("json")),
        Format::Yaml => print!("{}", crate::yaml::to_yaml(&value)),
        Format::Table => unreachable!("tables are printed by their command"),
    }
}

/// Progress on stderr, one line per step (plain: no colour, no cursor moves).
pub struct StderrSink {
    pub quiet: bool,
    color: bool,
}

impl StderrSink {
    pub fn new(quiet: bool, no_color: bool) -> StderrSink {
        let color =
            !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
        StderrSink { quiet, color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

impl Sink for StderrSink {
    fn event(&self, event: Event) {
        match event {
            Event::Warning(w) => eprintln!("{} {w}", self.paint("33", "warning:")),
            _ if self.quiet => {}
            Event::Info(i) => eprintln!("{i}"),
            Event::StageStarted { stage, objects } => eprintln!(
                "{} {} ({objects} objects)",
                self.paint("1", "==>"),
                stage.label()
            ),
            Event::Debug(_) => {}
            Event::Progress { object, readiness } => {
                let (mark, text) = match &readiness {
                    crate::wait::Readiness::Ready => (self.paint("32", "✓"), "ready".to_string()),
                    crate::wait::Readiness::Failed(_) => (
                        self.paint("31", "✗"),
                        crate::wait::tracker::describe(&readiness),
                    ),
                    other => (" ".to_string(), crate::wait::tracker::describe(other)),
                };
                eprintln!("  {mark} {object}: {text}");
            }
            Event::StageReady { stage, objects } => eprintln!(
                "{} {} ready ({objects} awaited)",
                self.paint("32", "✓"),
                stage.label()
            ),
            Event::StageApplied { changes, .. } => {
                for c in changes {
                    eprintln!("    {:<10} {}", action_word(c.action), c.object);
                }
            }
        }
    }
}

pub fn action_word(a: Action) -> &'static str {
    match a {
        Action::Created => "created",
        Action::Configured => "configured",
        Action::Unchanged => "unchanged",
        Action::Deleted => "deleted",
    }
}

/// `N created, N configured, N unchanged, N deleted`.
pub fn change_summary(changes: &[Change]) -> String {
    let count = |a| changes.iter().filter(|c| c.action == a).count();
    format!(
        "{} created, {} configured, {} unchanged, {} deleted",
        count(Action::Created),
        count(Action::Configured),
        count(Action::Unchanged),
        count(Action::Deleted)
    )
}

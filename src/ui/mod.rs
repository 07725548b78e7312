//! The only code that prints: progress lines on stderr, results (tables,
//! JSON, YAML) on stdout.

pub mod diff;
pub mod plain;
pub mod progress;
pub mod table;
pub mod tty;

use serde::Serialize;

use crate::apply::{Action, Change};

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

/// A list result: data with `-o json|yaml`, else a table of one row per entry.
pub fn print_list<T: Serialize>(
    format: Format,
    entries: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) {
    if format != Format::Table {
        return print_data(format, &entries);
    }
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    print!("{}", table::render(headers, &rows));
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

/// A one-line notice on stderr that is neither progress nor an error
/// (e.g. which release a command found by itself).
pub fn notice(message: &str) {
    eprintln!("{message}");
}

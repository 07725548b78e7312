//! The result of a lint run and its two printed forms: text for people
//! (grouped per object, a summary line last) and JSON for machines (the
//! schema documented in the README under `thebot lint`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::render::Release;

use super::finding::{Finding, Severity};

/// How to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Every finding of a lint run, ordered for reading.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environment: String,
    pub release: String,
    pub namespace: String,
    /// Objects the render produced.
    pub objects: usize,
    /// Whether warnings counted as errors (`--strict`).
    pub strict: bool,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Values first, then template files, then objects in render order;
    /// within each, in rule order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Orders and counts `findings`; under `strict` warnings become errors.
    pub fn new(
        release: &Release,
        objects: usize,
        mut findings: Vec<Finding>,
        strict: bool,
    ) -> Report {
        if strict {
            for f in &mut findings {
                if f.severity == Severity::Warning {
                    f.severity = Severity::Error;
                }
            }
        }
        findings.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.object.cmp(&b.object)));
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Report {
            environment: release.environment.clone(),
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            objects,
            strict,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            notes: count(Severity::Note),
            findings,
        }
    }

    /// The report of its errors alone (what preflight refuses).
    pub fn errors_only(&self) -> Report {
        let findings: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        Report {
            errors: findings.len(),
            warnings: 0,
            notes: 0,
            findings,
            ..self.clone()
        }
    }

    /// Whether the lint fails: any error (warnings are errors under `--strict`).
    pub fn failed(&self) -> bool {
        self.errors > 0
    }

    /// `N errors, M warnings` (and notes, when there are some).
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut s = format!(
            "{}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning")
        );
        if self.notes > 0 {
            s.push_str(&format!(", {}", plural(self.notes, "note")));
        }
        s
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(self).expect("a report serializes");
                s.push('\n');
                s
            }
        }
    }

    /// One group per object (`Kind/namespace/name (source)`), each finding
    /// as `severity[rule] path: message` and an indented `fix:` line; the
    /// summary last.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut current: Option<&str> = None;
        for f in &self.findings {
            if current != Some(f.object.as_str()) {
                if current.is_some() {
                    out.push('\n');
                }
                if f.source.is_empty() || f.source == f.object {
                    let _ = writeln!(out, "{}", f.object);
                } else {
                    let _ = writeln!(out, "{} ({})", f.object, f.source);
                }
                current = Some(&f.object);
            }
            let at = if f.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", f.path)
            };
            let _ = writeln!(
                out,
                "  {}[{}] {at}{}",
                f.severity.label(),
                f.rule,
                f.message
            );
            let _ = writeln!(out, "      fix: {}", f.fix);
        }
        if !self.findings.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }
}

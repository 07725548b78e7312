//! What a rule reports: one problem, the object and field it is in, and
//! the fix. Rules only describe problems; [`super::report`] orders and
//! prints them.

use serde::Serialize;

use crate::manifest::Object;

/// How bad a finding is. Errors fail the lint; warnings fail it only under
/// `--strict`; notes never do (they say what was not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One problem of the render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The rule's stable id, `family/name` (`semantics/quantity`).
    pub rule: &'static str,
    /// `Kind/namespace/name`; the template file for a problem of the
    /// template's output as a whole; `values` for a value problem.
    pub object: String,
    /// The template the object came from (empty for `values`).
    pub source: String,
    /// The field, `spec.template.spec.containers[0].image` (empty when the
    /// problem is the whole object or file).
    pub path: String,
    pub message: String,
    pub fix: String,
    /// Where the subject sorts in the report: values, files, then objects in
    /// render order.
    #[serde(skip)]
    pub(crate) rank: (u8, usize),
}

/// What a finding is about.
#[derive(Debug, Clone)]
pub struct Subject {
    object: String,
    source: String,
    rank: (u8, usize),
}

impl Subject {
    /// The rendered object at `index` of the render.
    pub fn object(o: &Object, index: usize) -> Subject {
        Subject {
            object: o.id().to_string(),
            source: o.source.clone(),
            rank: (2, index),
        }
    }

    /// A template's output as a whole (`manifests/backend.yaml`).
    pub fn file(file: &str) -> Subject {
        Subject {
            object: file.to_string(),
            source: file.to_string(),
            rank: (1, 0),
        }
    }

    /// The merged values.
    pub fn values() -> Subject {
        Subject {
            object: "values".to_string(),
            source: String::new(),
            rank: (0, 0),
        }
    }
}

/// The findings of one lint run, in the order rules report them.
#[derive(Debug, Default)]
pub struct Findings {
    pub list: Vec<Finding>,
}

impl Findings {
    fn push(
        &mut self,
        severity: Severity,
        rule: &'static str,
        at: &Subject,
        path: &str,
        message: String,
        fix: String,
    ) {
        self.list.push(Finding {
            severity,
            rule,
            object: at.object.clone(),
            source: at.source.clone(),
            path: path.to_string(),
            message,
            fix,
            rank: at.rank,
        });
    }

    pub fn error(
        &mut self,
        rule: &'static str,
        at: &Subject,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Error, rule, at, path, message.into(), fix.into());
    }

    pub fn warning(
        &mut self,
        rule: &'static str,
        at: &Subject,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(
            Severity::Warning,
            rule,
            at,
            path,
            message.into(),
            fix.into(),
        );
    }

    pub fn note(
        &mut self,
        rule: &'static str,
        at: &Subject,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Note, rule, at, path, message.into(), fix.into());
    }
}

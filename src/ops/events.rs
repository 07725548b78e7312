//! What an operation reports while it runs; the UI decides how to show it.

use crate::apply::Change;
use crate::plan::Stage;
use crate::wait::Readiness;

#[derive(Debug, Clone)]
pub enum Event {
    /// A step worth one line (connected, lock taken, record written...).
    Info(String),
    /// Something the user should know that does not stop the operation.
    Warning(String),
    /// A stage is about to be applied with this many objects.
    StageStarted { stage: Stage, objects: usize },
    /// A stage was applied.
    StageApplied { stage: Stage, changes: Vec<Change> },
    /// An awaited object's readiness changed.
    Progress {
        object: String,
        readiness: Readiness,
    },
    /// Every awaited object of a stage is ready.
    StageReady { stage: Stage, objects: usize },
    /// Detail for `-vv` (watch restarts, retries).
    Debug(String),
}

/// Receives events; `&dyn Sink` keeps ops free of any output code.
pub trait Sink {
    fn event(&self, event: Event);
}

/// Drops every event (tests, `-q`).
pub struct Silent;

impl Sink for Silent {
    fn event(&self, _: Event) {}
}

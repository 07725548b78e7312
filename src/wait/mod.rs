//! Waiting for a stage: readiness rules (pure), the watchers that report
//! the live objects, and the wait that applies the rules to them.

pub mod readiness;
pub mod tracker;
pub mod verdict;
pub mod watcher;

pub use readiness::{Context, Readiness, readiness};

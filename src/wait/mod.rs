//! Waiting for a stage: readiness rules (pure) and the watcher that
//! applies them.

pub mod readiness;

pub use readiness::{Context, Readiness, readiness};

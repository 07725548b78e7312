//! thebot: renders the THE_BOT platform and manages its releases on Kubernetes.

pub mod apply;
pub mod bundle;
pub mod cli;
pub mod cluster;
pub mod environment;
pub mod lint;
pub mod log;
pub mod manifest;
pub mod mask;
pub mod names;
pub mod ops;
pub mod plan;
pub mod release;
pub mod render;
pub mod ui;
pub mod values;
pub mod wait;
pub mod yaml;

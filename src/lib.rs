//! thebot: renders the THE_BOT platform and manages its releases on Kubernetes.

pub mod bundle;
pub mod cli;
pub mod environment;
pub mod manifest;
pub mod ops;
pub mod plan;
pub mod render;
pub mod values;
pub mod yaml;
pub mod cluster;
pub mod release;

//! thebot: renders the THE_BOT platform and manages its releases on Kubernetes.

pub mod yaml;
pub mod values;

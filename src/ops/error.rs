//! The error of an operation, and the exit code it maps to (CONVENTIONS:
//! 1 error, 3 timed out, 4 rollout failed).

use crate::apply::ApplyError;
use crate::apply::live::ListError;
use crate::bundle::BundleError;
use crate::cluster::ClusterError;
use crate::environment::EnvironmentError;
use crate::release::generated::GeneratedError;
use crate::release::lock::LockError;
use crate::release::store::StoreError;
use crate::render::RenderError;

use super::ReadError;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("cannot render: {0}")]
    Render(RenderError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    List(#[from] ListError),
    #[error(transparent)]
    Generated(#[from] GeneratedError),
    #[error("the cluster refused the release:\n{0}")]
    Apply(ApplyError),
    /// A failure explained in full by its message.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Interrupted(String),
    /// The `--timeout` budget ran out (exit 3).
    #[error("{0}")]
    Timeout(String),
    /// An object failed for good while rolling out (exit 4).
    #[error("rollout failed: {0}")]
    RolloutFailed(String),
}

// Not `#[from]`: these messages already hold their cause, and a source
// would print it twice under `{:#}`.
impl From<RenderError> for OpError {
    fn from(e: RenderError) -> Self {
        OpError::Render(e)
    }
}

impl From<ApplyError> for OpError {
    fn from(e: ApplyError) -> Self {
        OpError::Apply(e)
    }
}

impl OpError {
    /// The same error (and exit code) with `suffix` appended to its message.
    pub fn with_suffix(self, suffix: &str) -> OpError {
        match self {
            OpError::Timeout(m) => OpError::Timeout(format!("{m}{suffix}")),
            OpError::RolloutFailed(m) => OpError::RolloutFailed(format!("{m}{suffix}")),
            other => OpError::Failed(format!("{other}{suffix}")),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            OpError::Timeout(_) => 3,
            OpError::RolloutFailed(_) => 4,
            _ => 1,
        }
    }
}

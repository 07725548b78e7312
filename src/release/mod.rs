//! Releases on the cluster: revision records in Secrets, the history
//! rules over them, the Lease that serialises operations, and the secrets
//! generated at install.

pub mod generated;
pub mod history;
pub mod lock;
pub mod record;
pub mod store;

pub use record::{Record, Status};

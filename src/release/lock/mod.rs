//! The operation lock: a Lease `thebot-lock-<release>` held while an
//! operation runs, renewed every third of its duration, and taken over
//! when it expires, so a killed client never leaves a release stuck
//! (Helm's "another operation is in progress").
//!
//! # Caveats
//! The holder must call [`Lock::check`] before each stage and record
//! write: a holder that lost the Lease (network partition, long pause)
//! must stop, since another operation may now own the release.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

mod acquire;
mod holder;

pub use acquire::acquire;
pub use holder::{Acquired, Takeover};
use holder::{expired, holder_of};

use super::store::preconditions;

/// Default Lease duration (CONVENTIONS); `THEBOT_LEASE_SECONDS` overrides.
pub const DEFAULT_SECONDS: u64 = 30;

pub fn lease_name(release: &str) -> String {
    format!("thebot-lock-{release}")
}

/// The Lease duration in force.
pub fn duration() -> Duration {
    let secs = std::env::var("THEBOT_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_SECONDS);
    Duration::from_secs(secs)
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another operation on release {release} is in progress: held by {holder} since {since}.\n\
         Wait for it (--wait-for-lock 5m), or if you know that process is dead: thebot unlock --name {release} -n {namespace}"
    )]
    Held {
        release: String,
        namespace: String,
        holder: String,
        since: String,
    },
    #[error(
        "lost the lock of release {0} (another operation took it over, or it could not be renewed in time): stopping before changing anything else"
    )]
    Lost(String),
    #[error("{what} the lock (Lease {name}): {}", crate::apply::describe(.source))]
    Api {
        what: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("namespace {0} does not exist: create it, or pass --create-namespace")]
    NoNamespace(String),
}

/// A held Lease, renewed in the background until released.
pub struct Lock {
    api: Api<Lease>,
    name: String,
    release: String,
    uid: Option<String>,
    state: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    duration: Duration,
}

struct Held {
    resource_version: String,
    renewed: std::time::Instant,
    lease: Lease,
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

async fn renew(
    api: Api<Lease>,
    name: String,
    state: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    duration: Duration,
) {
    let period = (duration / 3).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(period).await;
        let mut lease = state.lock().expect("lock state").lease.clone();
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(micro_now());
        }
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(l) => {
                let mut s = state.lock().expect("lock state");
                s.resource_version = l.metadata.resource_version.clone().unwrap_or_default();
                s.renewed = std::time::Instant::now();
                s.lease = l;
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // Transient: try again next period; `check` notices expiry.
            Err(_) => {}
        }
    }
}

impl Lock {
    /// Fails if the Lease was lost or could not be renewed within its duration.
    pub fn check(&self) -> Result<(), LockError> {
        let stale = self.state.lock().expect("lock state").renewed.elapsed() >= self.duration;
        if self.lost.load(Ordering::SeqCst) || stale {
            return Err(LockError::Lost(self.release.clone()));
        }
        Ok(())
    }

    /// Stops renewing and deletes the Lease if it is still ours.
    pub async fn release(self) -> Result<(), LockError> {
        self.renewer.abort();
        let rv = self
            .state
            .lock()
            .expect("lock state")
            .resource_version
            .clone();
        let dp = preconditions(self.uid.clone(), Some(rv));
        match self.api.delete(&self.name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(LockError::Api {
                what: "cannot release",
                name: self.name.clone(),
                source: e,
            }),
        }
    }
}

/// `thebot unlock`: deletes the Lease whoever holds it; returns its holder.
pub async fn break_lock(
    client: kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<(String, String)>, LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    let current = match api.get(&name).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
        Err(e) => {
            return Err(LockError::Api {
                what: "cannot read",
                name,
                source: e,
            });
        }
    };
    let dp = preconditions(
        current.metadata.uid.clone(),
        current.metadata.resource_version.clone(),
    );
    match api.delete(&name, &dp).await {
        Ok(_) => Ok(Some(holder_of(&current))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(LockError::Api {
            what: "cannot delete",
            name,
            source: e,
        }),
    }
}

/// The holder of the release's Lease, if any: (holder, since, expired).
pub async fn holder(
    client: kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<(String, String, bool)>, LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    match api.get(&name).await {
        Ok(l) => {
            let (h, s) = holder_of(&l);
            Ok(Some((h, s, expired(&l, Timestamp::now()))))
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(LockError::Api {
            what: "cannot read",
            name,
            source: e,
        }),
    }
}

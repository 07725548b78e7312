//! The shared state of one instance: the store behind one lock, the
//! request counters, the tokens, and the wake-up for the garbage collector.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::auth::Tokens;
use crate::clock::{Clock, WallClock};
use crate::ids::Rng;
use crate::metrics::Metrics;
use crate::store::Store;

/// Tunables that tests may change.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How long a terminating namespace stays after its contents are gone
    /// (a real cluster takes about 5-10 s; fixture 23).
    pub namespace_finalize: Duration,
    /// Delay before the garbage collector acts on a deletion.
    pub gc_delay: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            namespace_finalize: Duration::from_millis(500),
            gc_delay: Duration::from_millis(20),
        }
    }
}

/// One simulated API server.
pub struct Sim {
    store: Mutex<Store>,
    pub rng: Rng,
    pub metrics: Metrics,
    pub tokens: Tokens,
    pub ca_pem: String,
    pub timing: Timing,
    /// Wakes the garbage collector.
    pub gc: Notify,
    /// Server address for `/api`'s serverAddressByClientCIDRs.
    pub address: Mutex<String>,
    /// Timestamps and ages come from here.
    pub clock: Box<dyn Clock>,
    /// Print each request (method, URI, status) on stderr.
    pub log_requests: bool,
    /// The controllers' clock and loop, when they run.
    pub controllers: Option<crate::controllers::Handle>,
    /// Request fault rules (`/_sim/faults`).
    pub faults: crate::faults::Faults,
}

impl Sim {
    pub fn new(tokens: Tokens, ca_pem: String, timing: Timing) -> Sim {
        Sim {
            store: Mutex::new(Store::new(100)),
            rng: Rng::default(),
            metrics: Metrics::default(),
            tokens,
            ca_pem,
            timing,
            gc: Notify::new(),
            address: Mutex::new(String::new()),
            clock: Box::new(WallClock),
            log_requests: false,
            controllers: None,
            faults: crate::faults::Faults::default(),
        }
    }

    /// Locks the store (a poisoned lock is still usable: every write is
    /// completed before the store is touched).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

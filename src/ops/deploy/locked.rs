//! Phase 3, the lock: the release's Lease, then its records read under
//! it. Revisions a stopped client left pending are marked failed here.

use super::identify::check_mode;
use super::inflight::InFlight;
use super::{DeployOptions, Mode};
use crate::cluster::Cluster;
use crate::ops::OpError;
use crate::ops::events::{Event, Sink};
use crate::ops::session::{self, ReleaseRef};
use crate::release::record::Status;
use crate::release::store::{Entry, Store};

/// The release under this operation's lock (the lock itself is kept in
/// `InFlight`, which releases it however the operation ends).
pub struct Locked {
    pub release: ReleaseRef,
    pub store: Store,
    pub entries: Vec<Entry>,
}

pub async fn lock(
    mode: Mode,
    opts: &DeployOptions,
    cluster: &Cluster,
    release: &ReleaseRef,
    state: &mut InFlight,
    sink: &dyn Sink,
) -> Result<Locked, OpError> {
    state.lock = Some(session::lock(cluster, release, opts.wait_for_lock, sink).await?);
    let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);
    state.store = Some(store.clone());
    let entries = store.entries().await?;
    fail_dangling(&store, &entries, sink).await;
    check_mode(mode, release, &entries)?;
    for e in &entries {
        if let Err(msg) = &e.record {
            sink.event(Event::Warning(format!("ignoring unreadable record: {msg}")));
        }
    }
    Ok(Locked {
        release: release.clone(),
        store,
        entries,
    })
}

/// Revisions left pending by a client that died: we hold the lock now, so
/// nobody is working on them.
async fn fail_dangling(store: &Store, entries: &[Entry], sink: &dyn Sink) {
    for e in entries {
        let Ok(r) = &e.record else { continue };
        if !r.status.is_pending() {
            continue;
        }
        let mut r = r.clone();
        r.status = Status::Failed;
        r.description =
            "interrupted: the client running this operation stopped before it finished".into();
        match store.update(&mut r, &e.resource_version).await {
            Ok(_) => sink.event(Event::Warning(format!(
                "revision {} was left pending by a stopped client: marked failed",
                r.revision
            ))),
            Err(err) => sink.event(Event::Warning(format!(
                "could not mark dangling revision {} failed: {err}",
                r.revision
            ))),
        }
    }
}

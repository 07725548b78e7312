//! The release record around the rollout: revision N written pending
//! before the first apply, then deployed (the previous one superseded,
//! old revisions pruned to `--history-max`).

use super::inflight::InFlight;
use super::locked::Locked;
use super::plan::Plan;
use super::{DeployOptions, Mode};
use crate::apply::Change;
use crate::manifest::{self, Object};
use crate::ops::OpError;
use crate::ops::events::{Event, Sink};
use crate::ops::session::ReleaseRef;
use crate::release::history;
use crate::release::record::{self, InventoryEntry, Record, RecordValues, SCHEMA_VERSION, Status};
use crate::release::store::{Entry, Store};

/// A plan whose revision is recorded pending.
pub struct Recorded {
    pub plan: Plan,
    /// What is applied (the plan's objects, less a rollback's skipped hooks).
    pub objects: Vec<Object>,
    pub revision: u32,
    /// The last deployed revision before this one.
    pub previous: Option<Record>,
    pub release: ReleaseRef,
    /// The backup file `--restore-db` restored (named in the description).
    pub restored_from: Option<String>,
    store: Store,
    entries: Vec<Entry>,
}

/// What the pipeline hands back.
pub struct Done {
    pub record: Record,
    pub changes: Vec<Change>,
    pub notes: String,
}

/// Phase 4: revision N, pending.
pub async fn record_pending(
    mode: Mode,
    plan: Plan,
    locked: Locked,
    state: &mut InFlight,
    sink: &dyn Sink,
) -> Result<Recorded, OpError> {
    let Locked {
        release,
        store,
        entries,
    } = locked;
    let revision = history::next_revision(&entries);
    let previous = history::last_deployed(&entries).cloned();
    state.previous = previous.as_ref().map(|p| p.revision);
    let mut rec = pending_record(&plan, &release, revision, previous.as_ref());
    // The schema stays where the last migration left it until this
    // revision's migration Job runs (stages).
    rec.migration = super::backup::last_migration(&entries).cloned();
    // The size limit is checked here, before anything is applied.
    state.check_lock()?;
    let rv = store.create(&mut rec).await?;
    sink.event(Event::Info(format!(
        "revision {revision} recorded {}",
        rec.status
    )));
    state.pending = Some((rec, rv));
    state.verb = verb(mode, revision);
    state.recorded = Some(revision);
    Ok(Recorded {
        objects: plan.to_apply(),
        plan,
        revision,
        previous,
        release,
        restored_from: None,
        store,
        entries,
    })
}

fn pending_record(
    plan: &Plan,
    release: &ReleaseRef,
    revision: u32,
    previous: Option<&Record>,
) -> Record {
    let now = record::now_rfc3339();
    Record {
        schema_version: SCHEMA_VERSION,
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        environment: plan.env.clone(),
        revision,
        status: match (plan.rollback_of, previous) {
            (Some(_), _) => Status::PendingRollback,
            (None, Some(_)) => Status::PendingUpgrade,
            (None, None) => Status::PendingInstall,
        },
        description: String::new(),
        first_deployed: previous.map_or(now.clone(), |p| p.first_deployed.clone()),
        last_deployed: now,
        values: RecordValues {
            layers: plan.layers.clone(),
            merged: plan.merged.clone(),
        },
        manifest: manifest::to_stream(&plan.recorded_objects()),
        inventory: plan
            .objects
            .iter()
            .map(|o| InventoryEntry::from(&o.id()))
            .collect(),
        rollback_of: plan.rollback_of,
        thebot_version: env!("CARGO_PKG_VERSION").to_string(),
        migration: None,
        by: record::who(),
        digest: String::new(),
    }
}

/// Phase 6: revision N deployed.
pub async fn record_deployed(
    opts: &DeployOptions,
    recorded: Recorded,
    changes: Vec<Change>,
    state: &mut InFlight,
    sink: &dyn Sink,
) -> Result<Done, OpError> {
    state.check_lock()?;
    let (mut done, rv) = state.pending.take().expect("pending revision");
    done.status = Status::Deployed;
    done.description =
        opts.description
            .clone()
            .unwrap_or_else(|| match recorded.plan.rollback_of {
                Some(n) => match &recorded.restored_from {
                    Some(file) => format!("Rollback to {n}, database restored from {file}"),
                    None => format!("Rollback to {n}"),
                },
                None => format!("{} complete", state.verb),
            });
    done.last_deployed = record::now_rfc3339();
    let store = &recorded.store;
    if let Err(e) = store.update(&mut done, &rv).await {
        state.pending = Some((done.clone(), rv));
        return Err(e.into());
    }
    supersede(store, &recorded.entries, recorded.revision, sink).await;
    if opts.history_max > 0 && recorded.entries.len() + 1 > opts.history_max {
        prune_history(store, opts.history_max, sink).await;
    }
    Ok(Done {
        record: done,
        changes,
        notes: recorded.plan.notes,
    })
}

fn verb(mode: Mode, revision: u32) -> &'static str {
    match mode {
        Mode::Install => "Install",
        Mode::Upgrade { .. } if revision == 1 => "Install",
        Mode::Upgrade { .. } => "Upgrade",
        Mode::Rollback { .. } => "Rollback",
    }
}

async fn supersede(store: &Store, entries: &[Entry], revision: u32, sink: &dyn Sink) {
    for e in entries {
        let Ok(r) = &e.record else { continue };
        if r.status != Status::Deployed || r.revision == revision {
            continue;
        }
        let mut r = r.clone();
        r.status = Status::Superseded;
        if let Err(err) = store.update(&mut r, &e.resource_version).await {
            sink.event(Event::Warning(format!(
                "could not mark revision {} superseded: {err}",
                r.revision
            )));
        }
    }
}

async fn prune_history(store: &Store, max: usize, sink: &dyn Sink) {
    let entries = match store.entries().await {
        Ok(e) => e,
        Err(e) => {
            sink.event(Event::Warning(format!("history not pruned: {e}")));
            return;
        }
    };
    for revision in history::to_prune(&entries, max) {
        if let Err(e) = store.delete(revision).await {
            sink.event(Event::Warning(format!("history not pruned: {e}")));
            return;
        }
    }
}

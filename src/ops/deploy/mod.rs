//! `install`, `upgrade` and `rollback`: one pipeline, phase by phase.
//!
//! ```text
//! values -> render (plan::draft) -> preflight -> lock (locked::lock)
//!   -> plan::complete -> record N pending (revision::record_pending)
//!   -> apply and wait, stage by stage, then prune (rollout::roll_out)
//!   -> record N deployed, N-1 superseded (revision::record_deployed)
//! ```
//!
//! Each phase is a function in the module of its name; the value it
//! returns is what the next one takes. Install, upgrade and rollback
//! differ only in how the draft is built (a render of values, or a
//! recorded revision). Whatever happens after revision N is written (an
//! apply refused, the lock lost, Ctrl-C), N ends `failed` with the reason,
//! N-1 stays `deployed`, and the Lease is released: the release is never
//! left "in progress" (see `inflight`). `--atomic` wraps this pipeline
//! from outside (`ops::atomic`).

mod adopt;
mod backup;
mod identify;
mod inflight;
mod locked;
mod manual;
mod plan;
mod preflight;
mod restore;
mod revision;
mod rollout;
mod secrets;
mod stages;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::events::Sink;
use super::session::{self, ReleaseRef};
use super::{LayerArg, OpError, interrupt, read_layers};
use crate::apply::{ApplyOptions, Change};
use crate::bundle::Bundle;
use crate::cluster::ConnectOptions;
use crate::manifest::ObjectId;
use crate::release::record::Record;

pub use backup::Crossing;
pub(crate) use identify::identify;
pub use manual::{
    BackupOptions, ManualBackup, forget_manual_backups, manual_backups, take as take_backup,
};
pub use plan::Plan;
pub(crate) use plan::rollback_target;

/// Install or upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    /// `install_missing`: `upgrade --install`.
    Upgrade {
        install_missing: bool,
    },
    /// Re-apply a recorded revision (`None`: the last good one before the current).
    Rollback {
        to: Option<u32>,
    },
}

/// Everything `install`/`upgrade` take.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub env: Option<String>,
    pub layers: Vec<LayerArg>,
    /// `--reuse-values`: replay the previous revision's layers first.
    pub reuse_values: bool,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub connect: ConnectOptions,
    pub create_namespace: bool,
    pub description: Option<String>,
    pub apply: ApplyOptions,
    pub take_ownership: bool,
    /// Records kept (0 = all).
    pub history_max: usize,
    pub wait_for_lock: Option<Duration>,
    /// Wait for each stage to be ready before the next (`--wait`, default on).
    pub wait: bool,
    /// The budget of the whole operation, hooks included (`--timeout`).
    pub timeout: Duration,
    /// `--no-wait-lb`: do not wait for load-balancer addresses.
    pub skip_load_balancers: bool,
    /// `--fail-on-unschedulable`.
    pub fail_on_unschedulable: bool,
    /// `--log-lines N` of a failing container shown on failure.
    pub log_lines: u32,
    /// `--atomic`: on failure, restore the last deployed revision (or
    /// remove what a failed install created). Read by `ops::atomic`.
    pub atomic: bool,
    /// `--preflight=server`: dry-run every object before the lock.
    pub preflight: super::preflight::Preflight,
    pub manifests: Option<PathBuf>,
    pub releases: Option<PathBuf>,
    /// `rollback --allow-schema-mismatch`: roll back to a backend older
    /// than the database's last migration (warned, not refused).
    pub allow_schema_mismatch: bool,
    /// `rollback --restore-db`: across a migration, restore the database
    /// from the backup taken before it, then roll back (`restore`).
    pub restore_db: bool,
}

/// What a successful deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub record: Record,
    pub changes: Vec<Change>,
    pub notes: String,
    pub duration: Duration,
}

/// A deploy that failed, with what `--atomic` needs to restore.
#[derive(Debug)]
pub struct Failed {
    pub error: OpError,
    /// The release, once it was known.
    pub release: Option<ReleaseRef>,
    /// The revision this operation recorded, if it got that far.
    pub recorded: Option<u32>,
    /// The last deployed revision before this operation.
    pub previous: Option<u32>,
    /// Objects the failed operation created.
    pub created: Vec<ObjectId>,
}

/// Runs install, upgrade or rollback, marking the revision failed and
/// releasing the lock on failure and on Ctrl-C/SIGTERM.
pub async fn deploy(mode: Mode, opts: &DeployOptions, sink: &dyn Sink) -> Result<Deployed, Failed> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut state = inflight::InFlight {
        atomic: opts.atomic,
        ..Default::default()
    };
    let result = tokio::select! {
        r = run(mode, opts, sink, &mut state, deadline) => r,
        sig = interrupt::signal() => Err(OpError::Interrupted(format!("interrupted by {sig}"))),
    };
    let guard = interrupt::exit_on_second_signal();
    let outcome = inflight::finish(state, result, sink).await;
    guard.abort();
    outcome.map(|done| Deployed {
        record: done.record,
        changes: done.changes,
        notes: done.notes,
        duration: started.elapsed(),
    })
}

/// The phases, in flow order.
async fn run(
    mode: Mode,
    opts: &DeployOptions,
    sink: &dyn Sink,
    state: &mut inflight::InFlight,
    deadline: tokio::time::Instant,
) -> Result<revision::Done, OpError> {
    let bundle =
        Bundle::embedded().with_dirs(opts.manifests.as_deref(), opts.releases.as_deref())?;
    let new_layers = read_layers(&opts.layers)?;
    let cluster = session::connect(&opts.connect).await?;

    let draft = plan::draft(mode, opts, &bundle, &cluster, new_layers).await?;
    state.release = Some(draft.release.clone());
    schema_check(draft.crossing(), opts, sink)?;
    let discovery = preflight::check(mode, opts, &cluster, &draft, &bundle, sink).await?;
    let locked = locked::lock(mode, opts, &cluster, &draft.release, state, sink).await?;
    let plan = plan::complete(draft, &locked.entries, &bundle, &cluster).await?;
    // Again under the lock: the records may have changed since the draft.
    if !opts.allow_schema_mismatch {
        schema_check(plan.crossing.as_ref(), opts, &super::events::Silent)?;
    }
    // Before the revision is recorded: a failed restore rolls nothing back.
    let restored = match plan.crossing.as_ref().filter(|_| opts.restore_db) {
        Some(c) => {
            let r = restore::Restore {
                cluster: &cluster,
                discovery: &discovery,
                release: &locked.release,
                opts,
                deadline,
            };
            Some(restore_db(c, &plan, &locked.entries, &r, sink).await?)
        }
        None => None,
    };
    let mut recorded = revision::record_pending(mode, plan, locked, state, sink).await?;
    let mut force = Vec::new();
    if let (Some(r), Some(c)) = (&restored, recorded.plan.crossing.as_ref()) {
        // The database is now at the target's code, by this revision.
        if let Some((rec, _)) = state.pending.as_mut() {
            rec.migration = Some(crate::release::record::Migration {
                image: c.target_image.clone(),
                revision: recorded.revision,
                backup: Some(r.backup.clone()),
            });
        }
        recorded.restored_from = Some(r.backup.file.clone());
        force = restore::bring_back(&mut recorded.objects, &r.scaled);
    }
    let target = rollout::Target {
        cluster: &cluster,
        discovery: &discovery,
        opts,
        deadline,
        force: &force,
    };
    let changes = rollout::roll_out(&target, &recorded, state, sink).await?;
    if let Some(r) = &restored {
        sink.event(super::events::Event::Info(r.summary()));
    }
    revision::record_deployed(opts, recorded, changes, state, sink).await
}

/// A rollback across a migration: refused (exit 1, nothing written),
/// warned about with `--allow-schema-mismatch`, or let through to a
/// restore with `--restore-db` when there is a backup to restore.
fn schema_check(
    crossing: Option<&backup::Crossing>,
    opts: &DeployOptions,
    sink: &dyn Sink,
) -> Result<(), OpError> {
    let Some(c) = crossing else {
        if opts.restore_db {
            sink.event(super::events::Event::Warning(
                "--restore-db ignored: this rollback crosses no migration, the database is left as it is".into(),
            ));
        }
        return Ok(());
    };
    if opts.restore_db {
        return match &c.restore {
            Some(_) => Ok(()),
            None => Err(OpError::Failed(format!(
                "rollback to revision {} --restore-db refused: no backup exists of the database before the migration away from {} \
                 (backups were off: backup.enabled); --allow-schema-mismatch is the only way to roll back (the schema stays as it is)\n\
                 nothing was written",
                c.target, c.target_image
            ))),
        };
    }
    if opts.allow_schema_mismatch {
        sink.event(super::events::Event::Warning(c.allowed()));
        return Ok(());
    }
    Err(OpError::Failed(c.refusal()))
}

/// `--restore-db`: the app scaled to 0, the database restored.
async fn restore_db(
    c: &backup::Crossing,
    plan: &Plan,
    entries: &[crate::release::store::Entry],
    r: &restore::Restore<'_>,
    sink: &dyn Sink,
) -> Result<restore::Restored, OpError> {
    let backup = c.restore.as_ref().ok_or_else(|| {
        OpError::Failed("--restore-db: no backup to restore (nothing was written)".into())
    })?;
    // The target's backup Job, else the current revision's.
    let current = crate::release::history::latest(entries)
        .and_then(|e| e.record.as_ref().ok())
        .and_then(|r| crate::manifest::from_stream(&r.manifest).ok())
        .and_then(|objs| objs.into_iter().find(crate::plan::is_engine_job));
    let template = plan.backup.clone().or(current).ok_or_else(|| {
        OpError::Failed(
            "--restore-db: no backup Job is recorded to restore with (backup.enabled is off in the target and the current revision); nothing was written".into(),
        )
    })?;
    // The running revision's app Deployments: those the target runs its
    // backend image in.
    let targets = restore::app_deployments(&plan.objects, &c.target_image);
    let running: Vec<crate::manifest::Object> = crate::release::history::last_deployed(entries)
        .and_then(|r| crate::manifest::from_stream(&r.manifest).ok())
        .unwrap_or_default();
    let deployments: Vec<&crate::manifest::Object> = running
        .iter()
        .filter(|o| o.kind() == "Deployment" && targets.iter().any(|t| t.name() == o.name()))
        .collect();
    r.run(backup, &template, &deployments, entries, sink).await
}

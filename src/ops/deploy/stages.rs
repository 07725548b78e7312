//! Applying, and waiting for, the stages of one plan in order: config,
//! data, prepare (hook Jobs), app. Each stage is applied with server-side
//! apply, then awaited before the next one starts.

use super::inflight::InFlight;
use super::{DeployOptions, backup};
use crate::apply::live::LiveIndex;
use crate::apply::{self, Action, Change, handover, ownership};
use crate::cluster::{Cluster, Discovery};
use crate::manifest::{Object, ObjectId};
use crate::ops::events::{Event, Sink};
use crate::ops::session::ReleaseRef;
use crate::ops::{OpError, waiting};
use crate::plan::{self, Stage};
use crate::release::record::{Backup, Migration};

pub struct Stages<'a> {
    pub cluster: &'a Cluster,
    pub discovery: &'a Discovery,
    pub live: &'a LiveIndex,
    pub opts: &'a DeployOptions,
    /// Objects adopted with `--take-ownership` (applied with force).
    pub force_for: &'a [ObjectId],
    pub release: &'a ReleaseRef,
    pub deadline: tokio::time::Instant,
    /// The revision being rolled out (names the backup file).
    pub revision: u32,
    /// The rendered backup Job, when this is an upgrade of a deployed
    /// release with backups on: run before a migration that will run.
    pub backup: Option<&'a Object>,
    /// An upgrade of a deployed release whose backups are off: a migration
    /// that will run is announced with a warning (no copy of the data).
    pub warn_unbacked_migration: bool,
}

impl Stages<'_> {
    pub async fn run(
        &self,
        objects: &[Object],
        state: &mut InFlight,
        sink: &dyn Sink,
    ) -> Result<Vec<Change>, OpError> {
        let mut waiting = match self.opts.wait {
            true => Some(self.start_waiting(objects).await),
            false => None,
        };
        let mut changes = Vec::new();
        let batches: Vec<(Stage, Vec<&Object>)> =
            [Stage::Config, Stage::Data, Stage::Prepare, Stage::App]
                .into_iter()
                .map(|stage| {
                    let batch = objects
                        .iter()
                        .filter(|o| plan::stage_of(o) == stage)
                        .collect();
                    (stage, batch)
                })
                .filter(|(_, batch): &(Stage, Vec<&Object>)| !batch.is_empty())
                .collect();
        state.stages = batches.iter().map(|(stage, _)| *stage).collect();
        for (stage, batch) in batches {
            state.check_lock()?;
            sink.event(Event::StageStarted {
                stage,
                objects: batch.len(),
            });
            // The migration Job runs when it is new (its spec changed) or
            // failed last time; a backup comes first.
            let migration = match stage {
                Stage::Prepare => backup::migration_job(batch.iter().copied()).filter(|m| {
                    self.live
                        .get(&m.id())
                        .is_none_or(|l| waiting::is_failed_job(&l.value))
                }),
                _ => None,
            };
            if let (Some(m), None, true) = (migration, self.backup, self.warn_unbacked_migration) {
                sink.event(Event::Warning(format!(
                    "{} will migrate the database without a backup: backups are off \
                     (backup.enabled=false); a rollback across it will need --allow-schema-mismatch",
                    m.id()
                )));
            }
            let taken = match (migration, self.backup) {
                (Some(_), Some(template)) => Some(
                    self.take_backup(template, objects, &mut waiting, sink)
                        .await?,
                ),
                _ => None,
            };
            state.refused = Some(stage);
            let applied = self.apply_stage(stage, &batch, sink).await?;
            state.refused = None;
            // The migration has begun: the record says so even if it fails.
            if let (Some(m), Some((rec, _))) = (migration, state.pending.as_mut()) {
                rec.migration = Some(Migration {
                    image: backup::first_image(m).unwrap_or_default(),
                    revision: self.revision,
                    backup: taken,
                });
            }
            state.applied.push(stage);
            state.created.extend(
                applied
                    .iter()
                    .filter(|c| c.action == Action::Created)
                    .map(|c| c.id.clone()),
            );
            if let Some(w) = waiting.as_mut() {
                self.await_stage(w, stage, &batch, &applied, sink).await?;
            }
            changes.extend(applied);
        }
        Ok(changes)
    }

    async fn start_waiting(&self, objects: &[Object]) -> waiting::Waiting {
        waiting::Waiting::start(
            self.cluster,
            self.discovery,
            objects,
            &self.release.name,
            &self.release.namespace,
            waiting::WaitSettings {
                skip_load_balancers: self.opts.skip_load_balancers,
                fail_on_unschedulable: self.opts.fail_on_unschedulable,
                log_lines: self.opts.log_lines,
            },
        )
        .await
    }

    /// One stage's writes: failed hooks cleared for a re-run, replicas
    /// handed to an autoscaler, the apply, adopted objects' fields taken.
    async fn apply_stage(
        &self,
        stage: Stage,
        batch: &[&Object],
        sink: &dyn Sink,
    ) -> Result<Vec<Change>, OpError> {
        if stage == Stage::Prepare {
            waiting::retry_failed_hooks(self.cluster, self.discovery, batch, self.live, sink)
                .await?;
        }
        self.hand_over(batch, sink).await?;
        let apply::Applied {
            changes: applied,
            replaced,
        } = apply::apply(
            &self.cluster.client,
            self.discovery,
            batch,
            self.live,
            &self.opts.apply,
            self.force_for,
        )
        .await?;
        for r in &replaced {
            sink.event(Event::Info(r.to_string()));
        }
        self.take_fields(batch, sink).await?;
        sink.event(Event::StageApplied {
            stage,
            changes: applied.clone(),
        });
        Ok(applied)
    }

    async fn await_stage(
        &self,
        w: &mut waiting::Waiting,
        stage: Stage,
        batch: &[&Object],
        applied: &[Change],
        sink: &dyn Sink,
    ) -> Result<(), OpError> {
        let awaited = w
            .wait_stage(self.cluster, batch, applied, self.deadline, sink)
            .await?;
        sink.event(Event::StageReady {
            stage,
            objects: awaited,
        });
        if stage == Stage::Prepare {
            waiting::delete_old_hooks(
                self.cluster,
                self.discovery,
                batch,
                &self.release.name,
                &self.release.namespace,
                sink,
            )
            .await;
        }
        Ok(())
    }

    /// The backup Job before a migration: created under its own name,
    /// awaited; its failure stops the rollout before the migration.
    async fn take_backup(
        &self,
        template: &Object,
        objects: &[Object],
        waiting: &mut Option<waiting::Waiting>,
        sink: &dyn Sink,
    ) -> Result<Backup, OpError> {
        // One instant, to the second, for the file name and the record.
        let now = k8s_openapi::jiff::Timestamp::now();
        let now = now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now);
        let file = backup::file_name(&self.release.name, self.revision, now);
        let job = backup::concrete(template, &self.release.name, &file);
        let claim = backup::claim_of(&job);
        sink.event(Event::Info(format!(
            "backup before the migration: {} writes {file} to PersistentVolumeClaim {claim}",
            job.id()
        )));
        let stopped = "\nthe backup before the migration failed: the upgrade stopped before the migration Job (the previous revision keeps serving)";
        let apply::Applied { changes, .. } = apply::apply(
            &self.cluster.client,
            self.discovery,
            &[&job],
            self.live,
            &self.opts.apply,
            &[],
        )
        .await
        .map_err(|e| OpError::from(e).with_suffix(stopped))?;
        // Awaited even with --wait=false: the migration must not start first.
        if waiting.is_none() {
            *waiting = Some(self.start_waiting(objects).await);
        }
        let w = waiting.as_mut().expect("waiting started");
        w.wait_stage(self.cluster, &[&job], &changes, self.deadline, sink)
            .await
            .map_err(|e| e.with_suffix(stopped))?;
        let size = backup::size_of(self.cluster, &self.release.namespace, job.name(), &file).await;
        sink.event(Event::Info(format!(
            "backup taken: {file} ({}) on PersistentVolumeClaim {claim}",
            size.map_or("size not reported".to_string(), |s| format!("{s} bytes"))
        )));
        waiting::delete_old_hooks(
            self.cluster,
            self.discovery,
            &[&job],
            &self.release.name,
            &self.release.namespace,
            sink,
        )
        .await;
        Ok(Backup {
            file,
            claim,
            time: now.to_string(),
            size,
            job: job.name().to_string(),
        })
    }

    /// A workload that gains an autoscaler gives up `spec.replicas`.
    async fn hand_over(&self, batch: &[&Object], sink: &dyn Sink) -> Result<(), OpError> {
        let handovers = handover::needed(batch, self.live);
        if handovers.is_empty() {
            return Ok(());
        }
        handover::hand_over(
            &self.cluster.client,
            self.discovery,
            &handovers,
            self.opts.apply.dry_run,
        )
        .await
        .map_err(OpError::Failed)?;
        for (o, replicas) in &handovers {
            sink.event(Event::Info(format!(
                "{}: spec.replicas ({replicas}) handed to the autoscaler",
                o.id()
            )));
        }
        Ok(())
    }

    /// After a stage's apply, the objects taken over with
    /// `--take-ownership` also lose their previous managers' fields to
    /// thebot, so that what only those set is pruned by the next apply.
    async fn take_fields(&self, batch: &[&Object], sink: &dyn Sink) -> Result<(), OpError> {
        let taken: Vec<_> = batch
            .iter()
            .map(|o| o.id())
            .filter(|id| self.force_for.contains(id))
            .collect();
        if taken.is_empty() || self.opts.apply.dry_run {
            return Ok(());
        }
        let moved = ownership::take_fields(&self.cluster.client, self.discovery, &taken)
            .await
            .map_err(OpError::Failed)?;
        for (id, managers) in moved {
            sink.event(Event::Info(format!(
                "{id}: fields owned by {} now belong to thebot (the next upgrade removes those thebot does not render)",
                managers.join(", ")
            )));
        }
        Ok(())
    }
}

//! `thebot backup` (README, "Database safety"): a backup taken now, by the
//! current deployed revision's recorded backup Job made concrete with a
//! fresh file, under the release lock.
//!
//! Where its entry lives: records are immutable and digested, so a manual
//! backup is noted in a ConfigMap `<release>-backups` (one data key per
//! file, the JSON of [`ManualBackup`]), labelled with the release and
//! deleted by `thebot uninstall` unless `--keep-history`. The file is
//! named `<release>-r<N>-manual-<UTC>.dump`, N the deployed revision, so
//! that the backup Job's retention (`backup.keep`, the newest
//! `<release>-r*.dump` files) counts it with the others.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::backup;
use crate::apply;
use crate::apply::live::LiveIndex;
use crate::bundle::Bundle;
use crate::cluster::Cluster;
use crate::manifest::Object;
use crate::ops::events::{Event, Sink};
use crate::ops::session::{self, ReleaseRef};
use crate::ops::status::QueryOptions;
use crate::ops::{OpError, waiting};
use crate::release::history;
use crate::release::record::{Backup, Record};
use crate::release::store::{Entry, Store};

/// `thebot backup`'s options.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    pub query: QueryOptions,
    pub timeout: std::time::Duration,
    pub wait_for_lock: Option<std::time::Duration>,
    pub log_lines: u32,
}

/// One manual backup, as noted in `<release>-backups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManualBackup {
    #[serde(flatten)]
    pub backup: Backup,
    /// The deployed revision when it was taken.
    pub revision: u32,
    /// The backend image whose schema it holds.
    pub image: String,
}

/// The ConfigMap noting a release's manual backups.
pub fn config_map_name(release: &str) -> String {
    format!("{release}-backups")
}

/// `<release>-r<revision>-manual-<YYYYMMDDTHHMMSSZ>.dump`.
pub fn file_name(release: &str, revision: u32, now: k8s_openapi::jiff::Timestamp) -> String {
    format!(
        "{release}-r{revision}-manual-{}.dump",
        now.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// The manual backups noted for a release, oldest first (none when the
/// ConfigMap does not exist; an unreadable entry is skipped).
pub async fn manual_backups(
    cluster: &Cluster,
    release: &ReleaseRef,
) -> Result<Vec<ManualBackup>, OpError> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let cm = api
        .get_opt(&config_map_name(&release.name))
        .await
        .map_err(|e| {
            OpError::Failed(format!(
                "cannot read ConfigMap {}/{}: {e}",
                release.namespace,
                config_map_name(&release.name)
            ))
        })?;
    let mut out: Vec<ManualBackup> = cm
        .and_then(|c| c.data)
        .unwrap_or_default()
        .values()
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect();
    out.sort_by(|a, b| a.backup.time.cmp(&b.backup.time));
    Ok(out)
}

/// Deletes the release's manual-backup notes (uninstall without
/// `--keep-history`); the files stay on the claim.
pub async fn forget_manual_backups(cluster: &Cluster, namespace: &str, release: &str) {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), namespace);
    let _ = api
        .delete(&config_map_name(release), &DeleteParams::background())
        .await;
}

/// The deployed revision and its recorded backup Job, or why there is none.
fn template(release: &ReleaseRef, entries: &[Entry]) -> Result<(Record, Object), OpError> {
    let record = history::last_deployed(entries).ok_or_else(|| {
        OpError::Failed(format!(
            "release {} has no deployed revision to back up the database of; nothing was written",
            release.name
        ))
    })?;
    let job = crate::manifest::from_stream(&record.manifest)
        .ok()
        .and_then(|objs| objs.into_iter().find(crate::plan::is_engine_job))
        .ok_or_else(|| {
            OpError::Failed(format!(
                "backups are off for release {} in namespace {}: revision {} records no backup Job (backup.enabled is false); nothing was written.\n  \
                 enable them: thebot upgrade -n {} --reuse-values --set backup.enabled=true (staging and prod have them on by default)",
                release.name, release.namespace, record.revision, release.namespace
            ))
        })?;
    Ok((record.clone(), job))
}

/// Takes a backup now and notes it.
pub async fn take(opts: &BackupOptions, sink: &dyn Sink) -> Result<ManualBackup, OpError> {
    let cluster = session::connect(&opts.query.connect).await?;
    let release = session::find_release(
        &cluster,
        &Bundle::embedded(),
        opts.query.name.as_deref(),
        opts.query.namespace.as_deref(),
    )
    .await?;
    let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);
    // Before the lock: with backups off, nothing is written at all.
    template(&release, &store.entries().await?)?;
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let lock = session::lock(&cluster, &release, opts.wait_for_lock, sink).await?;
    let result = run(&cluster, &release, &store, opts, deadline, &lock, sink).await;
    if let Err(e) = lock.release().await {
        sink.event(Event::Warning(format!("{e} (it expires by itself)")));
    }
    result
}

async fn run(
    cluster: &Cluster,
    release: &ReleaseRef,
    store: &Store,
    opts: &BackupOptions,
    deadline: tokio::time::Instant,
    lock: &crate::release::lock::Lock,
    sink: &dyn Sink,
) -> Result<ManualBackup, OpError> {
    let ns = &release.namespace;
    let entries = store.entries().await?;
    let (record, template) = template(release, &entries)?;
    let objects = crate::manifest::from_stream(&record.manifest).unwrap_or_default();
    let image = backup::last_migration(&entries)
        .map(|m| m.image.clone())
        .or_else(|| backup::backend_image(&objects))
        .unwrap_or_default();
    let discovery = session::discover(cluster).await?;

    let now = k8s_openapi::jiff::Timestamp::now();
    let now = now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now);
    let file = file_name(&release.name, record.revision, now);
    let job = backup::concrete(&template, &release.name, &file);
    let claim = backup::claim_of(&job);
    sink.event(Event::Info(format!(
        "backup: {} writes {file} to PersistentVolumeClaim {claim}",
        job.id()
    )));
    let stopped = format!(
        "\nthe backup failed: Job {} did not complete; nothing was noted.\n  see why: kubectl logs -n {ns} job/{}",
        job.name(),
        job.name()
    );
    let live = LiveIndex::snapshot(&cluster.client, &discovery, &[job.id()], ns)
        .await
        .map_err(|e| OpError::from(e).with_suffix(&stopped))?;
    lock.check()?;
    let apply::Applied { changes, .. } = apply::apply(
        &cluster.client,
        &discovery,
        &[&job],
        &live,
        &apply::ApplyOptions::default(),
        &[],
    )
    .await
    .map_err(|e| OpError::from(e).with_suffix(&stopped))?;
    let mut w = waiting::Waiting::start(
        cluster,
        &discovery,
        std::slice::from_ref(&job),
        &release.name,
        ns,
        waiting::WaitSettings {
            skip_load_balancers: true,
            fail_on_unschedulable: false,
            log_lines: opts.log_lines,
        },
    )
    .await;
    w.wait_stage(cluster, &[&job], &changes, deadline, sink)
        .await
        .map_err(|e| match e {
            OpError::Timeout(_) | OpError::RolloutFailed(_) => e.with_suffix(&stopped),
            other => OpError::RolloutFailed(format!("{other}{stopped}")),
        })?;
    let size = backup::size_of(cluster, ns, job.name(), &file).await;
    let taken = ManualBackup {
        backup: Backup {
            file: file.clone(),
            claim,
            time: now.to_string(),
            size,
            job: job.name().to_string(),
        },
        revision: record.revision,
        image,
    };
    lock.check()?;
    note(cluster, release, &taken).await?;
    waiting::delete_old_hooks(cluster, &discovery, &[&job], &release.name, ns, sink).await;
    Ok(taken)
}

/// Adds `taken` to `<release>-backups` (created on the first one).
async fn note(
    cluster: &Cluster,
    release: &ReleaseRef,
    taken: &ManualBackup,
) -> Result<(), OpError> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let name = config_map_name(&release.name);
    let value = serde_json::to_string(taken).map_err(|e| OpError::Failed(e.to_string()))?;
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": release.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "thebot",
                "app.kubernetes.io/instance": release.name,
                "thebot.io/manual-backups": "true",
            },
        },
        "data": {taken.backup.file.as_str(): value},
    });
    api.patch(
        &name,
        &PatchParams::apply("thebot-backup"),
        &Patch::Apply(body),
    )
    .await
    .map_err(|e| {
        OpError::Failed(format!(
            "the backup {} was taken but could not be noted in ConfigMap {}/{name}: {e}",
            taken.backup.file, release.namespace
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_file_is_counted_by_the_jobs_retention_glob() {
        let t: k8s_openapi::jiff::Timestamp = "2026-12-06T21:30:00Z".parse().unwrap();
        let f = file_name("r", 4, t);
        assert_eq!(f, "r-r4-manual-20261206T213000Z.dump");
        // The Job script deletes all but the newest `"$RELEASE"-r*.dump`.
        assert!(f.starts_with("r-r") && f.ends_with(".dump"));
    }

    #[test]
    fn a_manual_entry_round_trips_through_its_json() {
        let m = ManualBackup {
            backup: Backup {
                file: "r-r4-manual-20261206T213000Z.dump".into(),
                claim: "r-backups".into(),
                time: "2026-12-06T21:30:00Z".into(),
                size: Some(42),
                job: "r-backup-01234567".into(),
            },
            revision: 4,
            image: "ghcr.io/the-bot/thebot-backend:1.5.0".into(),
        };
        let s = serde_json::to_string(&m).unwrap();
        assert!(
            s.contains("\"file\":\"r-r4-manual-20261206T213000Z.dump\""),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<ManualBackup>(&s).unwrap(), m);
    }
}

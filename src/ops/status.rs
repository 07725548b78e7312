//! `thebot status`, `history` and `list`: what the records say, and for
//! status the live state of every object the release owns.

use serde::Serialize;

use super::OpError;
use super::session::{self, ReleaseRef};
use crate::apply::live::LiveIndex;
use crate::bundle::Bundle;
use crate::cluster::ConnectOptions;
use crate::release::store::{self, Store};
use crate::release::{Status, history};
use crate::wait::{Context, Readiness, readiness};

/// Which release, and how to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub connect: ConnectOptions,
}

/// One owned object and its live readiness.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectState {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `ready`, `progressing`, `failed` or `missing`.
    pub state: String,
    /// Why it is not ready (empty when ready).
    pub reason: String,
}

/// `thebot status -o json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub name: String,
    pub namespace: String,
    pub environment: String,
    pub revision: u32,
    pub status: Status,
    pub description: String,
    pub first_deployed: String,
    pub last_deployed: String,
    pub objects: Vec<ObjectState>,
    /// Holder of the operation lock, when one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
}

/// One line of `thebot history`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub revision: u32,
    /// A status, or `unreadable`.
    pub status: String,
    pub environment: String,
    pub updated: String,
    pub description: String,
    /// The database's schema after this revision: the backend image
    /// migrated to, by which revision, and the backup taken before
    /// (null when unknown: records written before thebot noted it).
    pub migration: Option<crate::release::record::Migration>,
}

/// One line of `thebot backups`: a backup taken before a migration, or
/// by `thebot backup`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupEntry {
    /// The revision whose migration it preceded (a manual backup: the
    /// revision deployed when it was taken).
    pub revision: u32,
    /// Taken by `thebot backup` (noted in ConfigMap `<release>-backups`),
    /// not before a migration.
    pub manual: bool,
    pub time: String,
    pub file: String,
    pub claim: String,
    /// Bytes, when the backup Job's log reported it.
    pub size: Option<u64>,
    /// The backend image the migration after it ran (a manual backup:
    /// the one whose schema it holds).
    pub image: String,
    /// The Job that wrote it.
    pub job: String,
    /// Still on the claim: among the newest `backup.keep` (the backup
    /// Job deletes older files).
    pub kept: bool,
}

/// The backups the records know of, oldest first.
pub async fn backups(opts: &QueryOptions) -> Result<Vec<BackupEntry>, OpError> {
    let (cluster, release) = locate(opts).await?;
    let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
        .entries()
        .await?;
    let manual = crate::ops::deploy::manual_backups(&cluster, &release).await?;
    Ok(backup_entries(&entries, &manual))
}

/// Each backup once (records carry the migration state forward), with
/// the manual ones, oldest first; `kept` by the newest record's
/// `backup.keep` (the backup Job keeps the newest files of either kind).
pub fn backup_entries(
    entries: &[crate::release::store::Entry],
    manual: &[crate::ops::deploy::ManualBackup],
) -> Vec<BackupEntry> {
    let records: Vec<&crate::release::Record> = entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .collect();
    let keep = records
        .iter()
        .max_by_key(|r| r.revision)
        .and_then(|r| r.values.merged.pointer("/backup/keep"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(3) as usize;
    let mut out: Vec<BackupEntry> = Vec::new();
    // Backups taken before migrations (each carried forward by later
    // records, so seen more than once), then the ones taken by hand.
    let recorded = records.iter().filter_map(|r| {
        let m = r.migration.as_ref()?;
        Some((m.revision, false, &m.image, m.backup.as_ref()?))
    });
    let noted = manual
        .iter()
        .map(|m| (m.revision, true, &m.image, &m.backup));
    for (revision, manual, image, b) in recorded.chain(noted) {
        if out.iter().any(|e| e.file == b.file && e.claim == b.claim) {
            continue;
        }
        out.push(BackupEntry {
            revision,
            manual,
            time: b.time.clone(),
            file: b.file.clone(),
            claim: b.claim.clone(),
            size: b.size,
            image: image.clone(),
            job: b.job.clone(),
            kept: true,
        });
    }
    out.sort_by(|a, b| (&a.time, a.revision).cmp(&(&b.time, b.revision)));
    let n = out.len();
    for (i, e) in out.iter_mut().enumerate() {
        e.kept = i + keep >= n;
    }
    out
}

/// One line of `thebot list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEntry {
    pub name: String,
    pub namespace: String,
    pub revision: u32,
    pub status: String,
    pub environment: String,
    pub updated: String,
}

async fn locate(opts: &QueryOptions) -> Result<(crate::cluster::Cluster, ReleaseRef), OpError> {
    let cluster = session::connect(&opts.connect).await?;
    let bundle = Bundle::embedded();
    let release = session::find_release(
        &cluster,
        &bundle,
        opts.name.as_deref(),
        opts.namespace.as_deref(),
    )
    .await?;
    Ok((cluster, release))
}

pub async fn status(opts: &QueryOptions) -> Result<StatusReport, OpError> {
    let (cluster, release) = locate(opts).await?;
    let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);
    let entries = store.entries().await?;
    let current = history::latest(&entries)
        .ok_or_else(|| OpError::Failed(format!("release {} has no revision", release.name)))?;
    let record = current
        .record
        .as_ref()
        .map_err(|e| OpError::Failed(format!("the current revision cannot be read: {e}")))?;
    let discovery = session::discover(&cluster).await?;
    let ids: Vec<_> = record.inventory.iter().map(|e| e.id()).collect();
    let live = LiveIndex::snapshot(&cluster.client, &discovery, &ids, &release.namespace).await?;
    let manifest = crate::manifest::from_stream(&record.manifest).unwrap_or_default();
    let hpa_min = |deployment: &str| {
        manifest
            .iter()
            .filter(|o| o.kind() == "HorizontalPodAutoscaler")
            .find(|h| {
                h.value
                    .pointer("/spec/scaleTargetRef/name")
                    .and_then(serde_json::Value::as_str)
                    == Some(deployment)
            })
            .and_then(|h| {
                h.value
                    .pointer("/spec/minReplicas")
                    .and_then(serde_json::Value::as_i64)
            })
    };
    let objects = ids
        .iter()
        .map(|id| {
            let ctx = Context {
                hpa_min_replicas: if id.kind == "Deployment" {
                    hpa_min(&id.name)
                } else {
                    None
                },
                ..Default::default()
            };
            let (state, reason) = match readiness(live.get(id).map(|l| &l.value), &ctx) {
                Readiness::Ready => ("ready", String::new()),
                Readiness::InProgress(why) => ("progressing", why),
                Readiness::Failed(why) => ("failed", why),
                Readiness::Missing => ("missing", "does not exist".to_string()),
            };
            ObjectState {
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                state: state.to_string(),
                reason,
            }
        })
        .collect();
    let locked_by =
        crate::release::lock::holder(cluster.client.clone(), &release.namespace, &release.name)
            .await
            .ok()
            .flatten()
            .map(|(h, since, expired)| {
                format!(
                    "{h} since {since}{}",
                    if expired { " (expired)" } else { "" }
                )
            });
    Ok(StatusReport {
        name: record.name.clone(),
        namespace: record.namespace.clone(),
        environment: record.environment.clone(),
        revision: record.revision,
        status: record.status,
        description: record.description.clone(),
        first_deployed: record.first_deployed.clone(),
        last_deployed: record.last_deployed.clone(),
        objects,
        locked_by,
    })
}

/// Newest last; at most `max` (0 = all).
pub async fn history(opts: &QueryOptions, max: usize) -> Result<Vec<HistoryEntry>, OpError> {
    let (cluster, release) = locate(opts).await?;
    let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
        .entries()
        .await?;
    let mut out: Vec<HistoryEntry> = entries
        .iter()
        .map(|e| match &e.record {
            Ok(r) => HistoryEntry {
                revision: e.revision,
                status: r.status.to_string(),
                environment: r.environment.clone(),
                updated: r.last_deployed.clone(),
                description: r.description.clone(),
                migration: r.migration.clone(),
            },
            Err(msg) => HistoryEntry {
                revision: e.revision,
                status: "unreadable".into(),
                environment: String::new(),
                updated: String::new(),
                description: msg.clone(),
                migration: None,
            },
        })
        .collect();
    if max > 0 && out.len() > max {
        out.drain(..out.len() - max);
    }
    Ok(out)
}

/// Releases in the namespace (`all`: in every namespace).
pub async fn list(opts: &QueryOptions, all: bool) -> Result<Vec<ListEntry>, OpError> {
    let cluster = session::connect(&opts.connect).await?;
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.context_namespace.clone());
    let found = store::list_releases(
        cluster.client.clone(),
        if all { None } else { Some(&namespace) },
    )
    .await?;
    Ok(found
        .into_iter()
        .map(|(ns, name, e)| match e.record {
            Ok(r) => ListEntry {
                name,
                namespace: ns,
                revision: e.revision,
                status: r.status.to_string(),
                environment: r.environment,
                updated: r.last_deployed,
            },
            Err(_) => ListEntry {
                name,
                namespace: ns,
                revision: e.revision,
                status: "unreadable".into(),
                environment: String::new(),
                updated: String::new(),
            },
        })
        .collect())
}

/// `thebot unlock`: breaks the release's lock; returns who held it.
pub async fn unlock(opts: &QueryOptions) -> Result<Option<(String, String)>, OpError> {
    let cluster = session::connect(&opts.connect).await?;
    // With both given, no record is needed: a lock may outlive them.
    let release = match (&opts.name, &opts.namespace) {
        (Some(name), Some(namespace)) => ReleaseRef {
            name: name.clone(),
            namespace: namespace.clone(),
        },
        _ => {
            session::find_release(
                &cluster,
                &Bundle::embedded(),
                opts.name.as_deref(),
                opts.namespace.as_deref(),
            )
            .await?
        }
    };
    Ok(
        crate::release::lock::break_lock(cluster.client.clone(), &release.namespace, &release.name)
            .await?,
    )
}

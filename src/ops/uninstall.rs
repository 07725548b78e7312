//! `thebot uninstall`: delete what the release owns, in reverse stage
//! order, and wait until it is gone. Volumes (every PersistentVolumeClaim,
//! including the StatefulSets' own) and `keep` objects stay unless
//! `--delete-volumes`; the namespace and the generated-secrets Secret stay
//! always. An object that will not go away in time (a claim stuck
//! Terminating) is reported without hiding the rest.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PropagationPolicy};
use serde::Serialize;

use super::OpError;
use super::events::{Event, Sink};
use super::session;
use super::status::QueryOptions;
use crate::apply::live::Key;
use crate::apply::{api_for, describe};
use crate::bundle::Bundle;
use crate::cluster::{Cluster, Discovery};
use crate::manifest::{self, Object, ObjectId};
use crate::plan::{self, Stage};
use crate::release::history;
use crate::release::lock;
use crate::release::record::{Record, Status};
use crate::release::store::{Entry, Store};
use crate::wait::tracker::Tracker;
use crate::wait::watcher::WatchSet;

use super::prune::KEEP_ANNOTATION;

#[derive(Debug, Clone, Default)]
pub struct UninstallOptions {
    pub query: QueryOptions,
    pub keep_history: bool,
    pub dry_run: bool,
    pub delete_volumes: bool,
    pub timeout: Duration,
    pub wait_for_lock: Option<Duration>,
}

/// What an uninstall did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uninstalled {
    pub release: String,
    pub namespace: String,
    pub deleted: Vec<String>,
    pub kept: Vec<String>,
    /// Deleted but still present when the timeout ran out.
    pub stuck: Vec<String>,
    pub dry_run: bool,
}

pub async fn uninstall(opts: &UninstallOptions, sink: &dyn Sink) -> Result<Uninstalled, OpError> {
    let cluster = session::connect(&opts.query.connect).await?;
    let release = session::find_release(
        &cluster,
        &Bundle::embedded(),
        opts.query.name.as_deref(),
        opts.query.namespace.as_deref(),
    )
    .await?;
    let discovery = session::discover(&cluster).await?;
    let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);

    let lock = if opts.dry_run {
        None
    } else {
        Some(session::lock(&cluster, &release, opts.wait_for_lock, sink).await?)
    };
    let result = run(&cluster, &discovery, &store, opts, sink, lock.as_ref()).await;
    if let Some(l) = lock
        && let Err(e) = l.release().await
    {
        sink.event(Event::Warning(format!("{e} (it expires by itself)")));
    }
    result.map(|mut u| {
        u.release = release.name.clone();
        u.namespace = release.namespace.clone();
        u
    })
}

async fn run(
    cluster: &Cluster,
    discovery: &Discovery,
    store: &Store,
    opts: &UninstallOptions,
    sink: &dyn Sink,
    lock: Option<&lock::Lock>,
) -> Result<Uninstalled, OpError> {
    let entries = store.entries().await?;
    let records: Vec<&Record> = entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .collect();
    let objects = owned_objects(&entries);
    if records.is_empty() {
        return Err(OpError::Failed(
            "the release has no readable revision: nothing to uninstall".into(),
        ));
    }
    let mut result = Uninstalled {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let to_delete = partition(cluster, discovery, &objects, opts, &mut result).await;
    if opts.dry_run {
        result.deleted = to_delete.iter().map(ToString::to_string).collect();
        return Ok(result);
    }
    if let Some(current) = history::latest(&entries)
        && let Ok(r) = &current.record
    {
        let mut r = r.clone();
        r.status = Status::Uninstalling;
        r.description = "Uninstalling".into();
        if let Some(l) = lock {
            l.check()?;
        }
        store.update(&mut r, &current.resource_version).await?;
    }
    let gone = Removal {
        cluster,
        discovery,
        objects: &objects,
        to_delete: &to_delete,
        release: records[0],
    };
    result.deleted = gone.delete(sink).await;
    result.stuck = gone.wait(opts.timeout).await;
    for s in &result.stuck {
        sink.event(Event::Warning(format!(
            "{s} is still terminating (a finalizer holds it): check `kubectl describe` on it"
        )));
    }
    if let Some(l) = lock {
        l.check()?;
    }
    finish_records(store, opts.keep_history).await?;
    if !opts.keep_history {
        // The notes of `thebot backup` go with the records (the files
        // stay on the claim).
        super::deploy::forget_manual_backups(cluster, &records[0].namespace, &records[0].name)
            .await;
    }
    Ok(result)
}

/// Everything the current and the last deployed revisions own, in
/// deletion order (the apply order reversed).
fn owned_objects(entries: &[Entry]) -> Vec<Object> {
    let current = history::latest(entries).and_then(|e| e.record.as_ref().ok());
    let deployed = history::last_deployed(entries);
    let mut objects: Vec<Object> = Vec::new();
    let mut seen = BTreeSet::new();
    for r in current.into_iter().chain(deployed) {
        // The backup Job template is recorded, never applied as rendered.
        for o in manifest::from_stream(&r.manifest).unwrap_or_default() {
            if !plan::is_engine_job(&o) && seen.insert(Key::from(&o.id())) {
                objects.push(o);
            }
        }
    }
    objects.sort_by(|a, b| plan::compare(b, a));
    objects
}

/// The objects to delete; the kept ones (volumes, `keep`) go into `result`.
async fn partition(
    cluster: &Cluster,
    discovery: &Discovery,
    objects: &[Object],
    opts: &UninstallOptions,
    result: &mut Uninstalled,
) -> Vec<ObjectId> {
    let mut to_delete: Vec<ObjectId> = Vec::new();
    for o in objects {
        let id = o.id();
        let keep = o.annotation(KEEP_ANNOTATION) == Some("keep")
            || (id.kind == "PersistentVolumeClaim" && !opts.delete_volumes);
        if keep {
            result.kept.push(id.to_string());
        } else {
            to_delete.push(id);
        }
    }
    // Claims the StatefulSets made from their volumeClaimTemplates.
    let claims = statefulset_claims(cluster, discovery, objects).await;
    if opts.delete_volumes {
        to_delete.extend(claims);
    } else {
        result.kept.extend(claims.iter().map(ToString::to_string));
    }
    to_delete
}

/// The records after the objects are gone: the latest marked
/// uninstalled (`--keep-history`), or all deleted.
async fn finish_records(store: &Store, keep_history: bool) -> Result<(), OpError> {
    if keep_history {
        let entries = store.entries().await?;
        if let Some(e) = history::latest(&entries)
            && let Ok(r) = &e.record
        {
            let mut r = r.clone();
            r.status = Status::Uninstalled;
            r.description = "Uninstallation complete".into();
            store.update(&mut r, &e.resource_version).await?;
        }
    } else {
        for e in store.entries().await? {
            store.delete(e.revision).await?;
        }
    }
    Ok(())
}

/// Deleting the release's objects and waiting until they are gone.
struct Removal<'a> {
    cluster: &'a Cluster,
    discovery: &'a Discovery,
    objects: &'a [Object],
    to_delete: &'a [ObjectId],
    release: &'a Record,
}

impl Removal<'_> {
    fn kinds(&self) -> Vec<(String, String, String)> {
        let mut kinds: Vec<(String, String, String)> = self
            .to_delete
            .iter()
            .map(|i| (i.group.clone(), i.version.clone(), i.kind.clone()))
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// Deletes in reverse stage order; returns what was deleted.
    async fn delete(&self, sink: &dyn Sink) -> Vec<String> {
        let mut deleted = Vec::new();
        for stage in [Stage::App, Stage::Prepare, Stage::Data, Stage::Config] {
            for id in self
                .to_delete
                .iter()
                .filter(|i| stage_of_id(self.objects, i) == stage)
            {
                let Some(api) = api_for(&self.cluster.client, self.discovery, id) else {
                    continue;
                };
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Background),
                    ..Default::default()
                };
                match api.delete(&id.name, &dp).await {
                    Ok(_) => deleted.push(id.to_string()),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => sink.event(Event::Warning(format!(
                        "could not delete {id}: {}",
                        describe(&e)
                    ))),
                }
            }
        }
        deleted
    }

    /// Waits (by watch) until the deleted objects are gone; returns those
    /// still there when the timeout ran out.
    async fn wait(&self, timeout: Duration) -> Vec<String> {
        let kinds = self.kinds();
        let mut watches = WatchSet::start(
            &self.cluster.client,
            self.discovery,
            &kinds,
            &self.release.namespace,
            &format!("app.kubernetes.io/instance={}", self.release.name),
        );
        let mut tracker = Tracker::default();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen_lists: BTreeSet<(String, String)> = BTreeSet::new();
        loop {
            let lists_done = kinds
                .iter()
                .all(|(g, _, k)| seen_lists.contains(&(g.clone(), k.clone())));
            let remaining: Vec<&ObjectId> = self
                .to_delete
                .iter()
                .filter(|i| tracker.get(i).is_some())
                .collect();
            if lists_done && remaining.is_empty() {
                return Vec::new();
            }
            tokio::select! {
                u = watches.next() => match u {
                    Some(u) => {
                        if let crate::wait::watcher::Update::Relist { group, kind, .. } = &u {
                            seen_lists.insert((group.clone(), kind.clone()));
                        }
                        tracker.apply(u);
                    }
                    None => return Vec::new(),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    return remaining.iter().map(ToString::to_string).collect();
                }
            }
        }
    }
}

fn stage_of_id(objects: &[Object], id: &ObjectId) -> Stage {
    objects
        .iter()
        .find(|o| o.id() == *id)
        .map_or(Stage::Config, plan::stage_of)
}

/// The claims created from the release's StatefulSets' volumeClaimTemplates
/// (`<template>-<statefulset>-<ordinal>`).
async fn statefulset_claims(
    cluster: &Cluster,
    discovery: &Discovery,
    objects: &[Object],
) -> Vec<ObjectId> {
    let sets: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind() == "StatefulSet")
        .collect();
    let Some(first) = sets.first() else {
        return Vec::new();
    };
    let Some(res) = discovery.resource("", "v1", "PersistentVolumeClaim") else {
        return Vec::new();
    };
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        first.namespace(),
        &res.api_resource(),
    );
    let Ok(list) = api.list(&ListParams::default()).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pvc in list.items {
        let name = pvc.metadata.name.clone().unwrap_or_default();
        let from_set = sets.iter().any(|s| {
            s.value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    t.pointer("/metadata/name")
                        .and_then(serde_json::Value::as_str)
                })
                .any(|t| name.starts_with(&format!("{t}-{}-", s.name())))
        });
        if from_set {
            out.push(ObjectId {
                group: String::new(),
                version: "v1".into(),
                kind: "PersistentVolumeClaim".into(),
                namespace: first.namespace().to_string(),
                name,
            });
        }
    }
    out
}

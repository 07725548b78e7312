//! The live state the watchers report, and the wait for one stage: until
//! every awaited object is ready, one fails, or the deadline passes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use tokio::time::Instant;

use super::readiness::{Context, Readiness, readiness};
use super::verdict;
use super::watcher::{Update, WatchSet, group_of, key_of};
use crate::apply::live::Key;
use crate::manifest::ObjectId;

/// An object to wait for and what its readiness needs to know.
#[derive(Debug, Clone)]
pub struct Awaited {
    pub id: ObjectId,
    pub ctx: Context,
    /// The generation thebot applied: older versions seen by the watch
    /// (events still in flight) are not judged.
    pub min_generation: Option<i64>,
    /// The uid thebot's apply answered with: a watched object with another
    /// uid is the one a `--force-replace` deleted, not this one.
    pub uid: Option<String>,
}

impl Awaited {
    /// Whether the watch's version is of an older object or generation
    /// than the one applied (and so says nothing about this rollout).
    fn stale(&self, live: &Value) -> Option<String> {
        let uid = live.pointer("/metadata/uid").and_then(Value::as_str);
        if let (Some(want), Some(uid)) = (self.uid.as_deref(), uid)
            && want != uid
        {
            return Some("waiting to see the recreated object".into());
        }
        let seen = live.pointer("/metadata/generation").and_then(Value::as_i64);
        if let (Some(min), Some(seen)) = (self.min_generation, seen)
            && seen < min
        {
            return Some(format!("waiting to see generation {min}"));
        }
        None
    }
}

/// Why a wait ended without every object ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error("timed out waiting for:\n{}", unready.iter().map(|(o, r)| format!("  {o}: {r}")).collect::<Vec<_>>().join("\n"))]
    Timeout { unready: Vec<(String, String)> },
    #[error("{object} failed: {reason}")]
    Failed { object: String, reason: String },
    #[error("the watches of the release's objects stopped")]
    Closed,
}

/// The latest version of every watched object.
#[derive(Debug, Default)]
pub struct Tracker {
    objects: BTreeMap<Key, Value>,
    /// StorageClasses that bind on first consumer (and the default's name).
    pub wait_for_first_consumer: BTreeSet<String>,
    pub default_class: Option<String>,
    /// What the pod verdict saw before.
    memory: verdict::Memory,
    /// Kinds whose first list has arrived: before it, "missing" means
    /// nothing yet.
    listed: BTreeSet<(String, String)>,
}

impl Tracker {
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Relist { group, kind, items } => {
                self.listed.insert((group.clone(), kind.clone()));
                self.objects
                    .retain(|k, _| !(k.group == group && k.kind == kind));
                for item in items {
                    self.objects.insert(key_of(&group, &item), item);
                }
            }
            Update::Upsert(o) => {
                self.objects.insert(key_of(&group_of(&o), &o), o);
            }
            Update::Delete(o) => {
                self.objects.remove(&key_of(&group_of(&o), &o));
            }
            Update::Restarted { .. } => {}
        }
    }

    pub fn get(&self, id: &ObjectId) -> Option<&Value> {
        self.objects.get(&Key::from(id))
    }

    /// Readiness of each awaited object, in order.
    pub fn evaluate(&self, awaited: &[Awaited]) -> Vec<Readiness> {
        awaited
            .iter()
            .map(|a| {
                let live = self.get(&a.id);
                if live.is_none()
                    && !self
                        .listed
                        .contains(&(a.id.group.clone(), a.id.kind.clone()))
                {
                    return Readiness::InProgress("waiting for the first list".into());
                }
                if let Some(why) = live.and_then(|l| a.stale(l)) {
                    return Readiness::InProgress(why);
                }
                let mut ctx = a.ctx.clone();
                if a.id.kind == "PersistentVolumeClaim"
                    && let Some(class) = live
                        .and_then(|p| p.pointer("/spec/storageClassName").and_then(Value::as_str))
                        .map(str::to_string)
                        .or_else(|| self.default_class.clone())
                {
                    ctx.wait_for_first_consumer = self.wait_for_first_consumer.contains(&class);
                }
                readiness(live, &ctx)
            })
            .collect()
    }
}

/// Progress of one object, for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub object: String,
    pub readiness: Readiness,
}

/// Hears what happens while waiting.
pub trait Observer {
    /// An object's readiness changed.
    fn progress(&mut self, p: Progress);
    /// Something worth a warning (an unschedulable pod), said once.
    fn warning(&mut self, message: String);
    /// Detail for `-vv` (watch restarts).
    fn debug(&mut self, message: String);
}

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub deadline: Instant,
    pub verdict: verdict::Options,
}

impl Tracker {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.kind == kind)
            .map(|(_, v)| v)
            .collect()
    }

    /// The newest revision's pods of an awaited workload, when the watch
    /// shows the applied version of it (an older one describes the
    /// previous rollout).
    fn new_pods(&self, a: &Awaited) -> Option<Vec<Value>> {
        if !matches!(a.id.kind.as_str(), "Deployment" | "StatefulSet" | "Job") {
            return None;
        }
        let workload = self.get(&a.id)?;
        if a.stale(workload).is_some() {
            return None;
        }
        Some(self.pods_of(&a.id))
    }

    /// The newest revision's pods of an object (for diagnostics).
    pub fn pods_of(&self, id: &ObjectId) -> Vec<Value> {
        let Some(workload) = self.get(id) else {
            return Vec::new();
        };
        let replica_sets = self.of_kind("ReplicaSet");
        let pods = self.of_kind("Pod");
        verdict::new_revision_pods(workload, &replica_sets, &pods)
            .into_iter()
            .cloned()
            .collect()
    }
}

/// Waits until every awaited object is ready, one fails (itself or its
/// new pods), or the deadline passes.
pub async fn wait_for(
    watches: &mut WatchSet,
    tracker: &mut Tracker,
    awaited: &[Awaited],
    opts: &WaitOptions,
    observer: &mut dyn Observer,
) -> Result<(), WaitError> {
    let mut last: Vec<Option<Readiness>> = vec![None; awaited.len()];
    let mut warned: BTreeSet<String> = BTreeSet::new();
    loop {
        let (now, pods) = evaluate_with_pods(tracker, awaited);
        report_changes(tracker, awaited, &now, &mut last, observer);
        if let Some((i, Readiness::Failed(reason))) = now
            .iter()
            .enumerate()
            .find(|(_, r)| matches!(r, Readiness::Failed(_)))
        {
            return Err(WaitError::Failed {
                object: awaited[i].id.to_string(),
                reason: reason.clone(),
            });
        }
        let recheck = judge_pods(tracker, awaited, &pods, opts, &mut warned, observer)?;
        if now.iter().all(Readiness::is_ready) {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep_until(recheck.unwrap_or(opts.deadline)), if recheck.is_some_and(|t| t < opts.deadline) => {}
            update = watches.next() => match update {
                Some(Update::Restarted { kind, why }) => observer.debug(format!("watch of {kind} restarted: {why}")),
                Some(u) => tracker.apply(u),
                None => return Err(WaitError::Closed),
            },
            _ = tokio::time::sleep_until(opts.deadline) => {
                let unready = awaited
                    .iter()
                    .zip(&now)
                    .filter(|(_, r)| !r.is_ready())
                    .map(|(a, r)| (a.id.to_string(), describe(r)))
                    .collect();
                return Err(WaitError::Timeout { unready });
            }
        }
    }
}

/// The new pods of each awaited object (`None` once it is ready).
type PodsOf = Vec<Option<Vec<Value>>>;

/// The readiness of each awaited object, and the new pods of each unready
/// workload: what its progress line hints at (added to the readiness),
/// and what the fail-fast verdict judges.
fn evaluate_with_pods(tracker: &Tracker, awaited: &[Awaited]) -> (Vec<Readiness>, PodsOf) {
    let mut now = tracker.evaluate(awaited);
    let pods: PodsOf = awaited
        .iter()
        .zip(&now)
        .map(|(a, r)| {
            if r.is_ready() {
                None
            } else {
                tracker.new_pods(a)
            }
        })
        .collect();
    for (r, pods) in now.iter_mut().zip(&pods) {
        if let (Readiness::InProgress(why), Some(pods)) = (r, pods)
            && let Some(hint) = verdict::pod_hint(pods)
        {
            *why = format!("{why}; {hint}");
        }
    }
    (now, pods)
}

/// Tells the observer of each readiness that changed, once its kind has
/// been listed (before that, "not found" means "not seen yet").
fn report_changes(
    tracker: &Tracker,
    awaited: &[Awaited],
    now: &[Readiness],
    last: &mut [Option<Readiness>],
    observer: &mut dyn Observer,
) {
    for (i, r) in now.iter().enumerate() {
        let id = &awaited[i].id;
        if !tracker
            .listed
            .contains(&(id.group.clone(), id.kind.clone()))
        {
            continue;
        }
        if last[i].as_ref() != Some(r) {
            observer.progress(Progress {
                object: awaited[i].id.to_string(),
                readiness: r.clone(),
            });
            last[i] = Some(r.clone());
        }
    }
}

/// The fail-fast verdict over the new pods: `Err` for a failure, warnings
/// said once; `Ok`: when the time rules must be judged again (nothing is
/// written while a container sits in its back-off).
fn judge_pods(
    tracker: &mut Tracker,
    awaited: &[Awaited],
    pods: &PodsOf,
    opts: &WaitOptions,
    warned: &mut BTreeSet<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Instant>, WaitError> {
    let clock = Timestamp::now();
    let mut recheck: Option<Timestamp> = None;
    for (a, pods) in awaited.iter().zip(pods) {
        let Some(pods) = pods else {
            continue;
        };
        let v = verdict::verdict(pods, clock, opts.verdict, &mut tracker.memory);
        recheck = match (recheck, verdict::recheck_at(pods, clock)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        match v {
            verdict::Verdict::Failed(f) => {
                observer.progress(Progress {
                    object: a.id.to_string(),
                    readiness: Readiness::Failed(f.to_string()),
                });
                return Err(WaitError::Failed {
                    object: a.id.to_string(),
                    reason: f.to_string(),
                });
            }
            verdict::Verdict::Warning(w) => {
                if warned.insert(w.clone()) {
                    observer.warning(format!("{}: {w}", a.id));
                }
            }
            verdict::Verdict::Fine => {}
        }
    }
    Ok(recheck.map(|t| {
        let left = t.duration_since(Timestamp::now());
        Instant::now() + std::time::Duration::try_from(left).unwrap_or_default()
    }))
}

/// A readiness as a short reason.
pub fn describe(r: &Readiness) -> String {
    match r {
        Readiness::Ready => "ready".into(),
        Readiness::InProgress(why) => why.clone(),
        Readiness::Failed(why) => format!("failed: {why}"),
        Readiness::Missing => "does not exist".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}})
    }

    fn id(name: &str) -> ObjectId {
        ObjectId {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_relist_forgets_what_vanished() {
        let mut t = Tracker::default();
        t.apply(Update::Upsert(cm("a")));
        t.apply(Update::Upsert(cm("b")));
        let awaited = [Awaited {
            id: id("a"),
            ctx: Context::default(),
            min_generation: None,
            uid: None,
        }];
        assert!(
            matches!(t.evaluate(&awaited)[0], Readiness::Ready),
            "listed or not, a seen object counts"
        );
        t.apply(Update::Relist {
            group: String::new(),
            kind: "ConfigMap".into(),
            items: vec![cm("b")],
        });
        assert!(t.get(&id("a")).is_none());
        assert!(t.get(&id("b")).is_some());
        t.apply(Update::Delete(cm("b")));
        let awaited = [Awaited {
            id: id("b"),
            ctx: Context::default(),
            min_generation: None,
            uid: None,
        }];
        assert_eq!(t.evaluate(&awaited), [Readiness::Missing]);
    }

    #[test]
    fn an_older_version_than_the_applied_one_is_not_judged() {
        let mut t = Tracker::default();
        let ready = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns", "generation": 1},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        t.apply(Update::Upsert(ready));
        let mut awaited = [Awaited {
            id: ObjectId {
                group: "batch".into(),
                version: "v1".into(),
                kind: "Job".into(),
                namespace: "ns".into(),
                name: "j".into(),
            },
            ctx: Context::default(),
            min_generation: Some(2),
            uid: None,
        }];
        assert!(
            matches!(&t.evaluate(&awaited)[0], Readiness::InProgress(w) if w.contains("generation 2"))
        );
        awaited[0].min_generation = Some(1);
        assert_eq!(t.evaluate(&awaited), [Readiness::Ready]);
    }

    #[test]
    fn a_replaced_object_is_judged_by_the_new_uid_only() {
        let job = |uid: &str| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns", "generation": 1, "uid": uid},
                "status": {"conditions": [{"type": "Complete", "status": "True"}]}})
        };
        let mut t = Tracker::default();
        // The watch still shows the deleted Job, complete, at generation 1.
        t.apply(Update::Relist {
            group: "batch".into(),
            kind: "Job".into(),
            items: vec![job("old")],
        });
        let awaited = [Awaited {
            id: ObjectId {
                group: "batch".into(),
                version: "v1".into(),
                kind: "Job".into(),
                namespace: "ns".into(),
                name: "j".into(),
            },
            ctx: Context::default(),
            min_generation: Some(1),
            uid: Some("new".into()),
        }];
        assert!(
            matches!(&t.evaluate(&awaited)[0], Readiness::InProgress(w) if w.contains("recreated")),
            "{:?}",
            t.evaluate(&awaited)
        );
        t.apply(Update::Upsert(job("new")));
        assert_eq!(t.evaluate(&awaited), [Readiness::Ready]);
    }

    struct Quiet;

    impl Observer for Quiet {
        fn progress(&mut self, _: Progress) {}
        fn warning(&mut self, _: String) {}
        fn debug(&mut self, _: String) {}
    }

    /// A crash loop's first back-off writes nothing for 10 s: the wait
    /// judges it again when it has lasted more than 10 s, not at the next
    /// watch event (none comes here) nor at the deadline.
    #[tokio::test]
    async fn a_back_off_that_lasts_fails_without_a_new_event() {
        let exited = Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_millis(9_800);
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "d1", "generation": 2,
                "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}});
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-2", "namespace": "ns", "uid": "r2",
                "annotations": {"deployment.kubernetes.io/revision": "2"},
                "ownerReferences": [{"uid": "d1", "name": "web"}]}});
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-2-a", "namespace": "ns", "resourceVersion": "7",
                "ownerReferences": [{"uid": "r2", "name": "web-2"}]},
            "status": {"containerStatuses": [{"name": "web", "restartCount": 1,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": exited.to_string()}}}]}});
        let (tx, mut watches) = WatchSet::fed();
        for (group, kind, item) in [
            ("apps", "Deployment", deployment),
            ("apps", "ReplicaSet", rs),
            ("", "Pod", pod),
        ] {
            tx.send(Update::Relist {
                group: group.into(),
                kind: kind.into(),
                items: vec![item],
            })
            .unwrap();
        }
        let awaited = [Awaited {
            id: ObjectId {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: "web".into(),
            },
            ctx: Context::default(),
            min_generation: Some(2),
            uid: None,
        }];
        let opts = WaitOptions {
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            verdict: verdict::Options::default(),
        };
        let mut tracker = Tracker::default();
        let result = wait_for(&mut watches, &mut tracker, &awaited, &opts, &mut Quiet).await;
        drop(tx);
        match result {
            Err(WaitError::Failed { object, reason }) => {
                assert_eq!(object, "Deployment/ns/web");
                assert!(
                    reason.contains("CrashLoopBackOff (restarted 1 time)"),
                    "{reason}"
                );
            }
            other => panic!("expected the crash loop to fail the wait, got {other:?}"),
        }
    }

    #[test]
    fn claims_of_wait_for_first_consumer_classes_are_ready() {
        let mut t = Tracker {
            default_class: Some("local".into()),
            ..Default::default()
        };
        t.wait_for_first_consumer.insert("local".into());
        t.apply(Update::Relist {
            group: String::new(),
            kind: "PersistentVolumeClaim".into(),
            items: vec![],
        });
        t.apply(Update::Upsert(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "p", "namespace": "ns"}, "spec": {}, "status": {"phase": "Pending"}})));
        let awaited = [Awaited {
            id: ObjectId {
                group: String::new(),
                version: "v1".into(),
                kind: "PersistentVolumeClaim".into(),
                namespace: "ns".into(),
                name: "p".into(),
            },
            ctx: Context::default(),
            min_generation: None,
            uid: None,
        }];
        assert_eq!(t.evaluate(&awaited), [Readiness::Ready]);
    }
}

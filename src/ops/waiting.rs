//! The waiting side of a deploy: watchers for the release's kinds, the
//! readiness context from the render (HPA minimums, StorageClasses), and
//! the hook Job housekeeping around stage 3.

use std::collections::BTreeMap;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PropagationPolicy};
use serde_json::Value;

use super::OpError;
use super::events::{Event, Sink};
use crate::apply::api_for;
use crate::apply::live::LiveIndex;
use crate::cluster::{Cluster, Discovery};
use crate::manifest::Object;
use crate::mask::Masker;
use crate::plan::HOOK_ANNOTATION;
use crate::wait::readiness::Context;
use crate::wait::tracker::{self, Awaited, Observer, Tracker, WaitError, WaitOptions};
use crate::wait::verdict;

use super::diagnose;
use crate::wait::watcher::WatchSet;

/// Kinds whose readiness is more than existence.
const WAITED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "Job",
    "PersistentVolumeClaim",
    "Service",
];

/// How the waiting behaves (from the command line).
#[derive(Debug, Clone)]
pub struct WaitSettings {
    pub skip_load_balancers: bool,
    pub fail_on_unschedulable: bool,
    pub log_lines: u32,
}

/// Watchers and state kept across the stages of one operation.
pub struct Waiting {
    watches: WatchSet,
    tracker: Tracker,
    hpa_min: BTreeMap<String, i64>,
    settings: WaitSettings,
    namespace: String,
    masker: Masker,
}

struct SinkObserver<'a>(&'a dyn Sink);

impl Observer for SinkObserver<'_> {
    fn progress(&mut self, p: tracker::Progress) {
        self.0.event(Event::Progress {
            object: p.object,
            readiness: p.readiness,
        });
    }

    fn warning(&mut self, message: String) {
        self.0.event(Event::Warning(message));
    }

    fn debug(&mut self, message: String) {
        self.0.event(Event::Debug(message));
    }
}

/// Every value of the rendered Secrets (decoded), for masking.
pub fn secret_masker(objects: &[Object]) -> Masker {
    use base64::Engine as _;
    let mut values = Vec::new();
    for o in objects.iter().filter(|o| o.kind() == "Secret") {
        for v in o
            .value
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if let Some(bytes) = v
                .as_str()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            {
                values.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    Masker::new(values)
}

impl Waiting {
    pub async fn start(
        cluster: &Cluster,
        discovery: &Discovery,
        objects: &[Object],
        release: &str,
        namespace: &str,
        settings: WaitSettings,
    ) -> Waiting {
        let mut kinds: Vec<(String, String, String)> = objects
            .iter()
            .map(Object::id)
            .filter(|id| WAITED_KINDS.contains(&id.kind.as_str()))
            .map(|id| (id.group, id.version, id.kind))
            .collect();
        // The pods of the new revisions, for the fail-fast verdict.
        kinds.push((String::new(), "v1".into(), "Pod".into()));
        kinds.push(("apps".into(), "v1".into(), "ReplicaSet".into()));
        kinds.sort();
        kinds.dedup();
        let selector = format!("app.kubernetes.io/instance={release}");
        let watches = WatchSet::start(&cluster.client, discovery, &kinds, namespace, &selector);
        let mut tracker = Tracker::default();
        if objects.iter().any(|o| o.kind() == "PersistentVolumeClaim") {
            storage_classes(cluster, &mut tracker).await;
        }
        let hpa_min = objects
            .iter()
            .filter(|o| o.kind() == "HorizontalPodAutoscaler")
            .filter_map(|h| {
                let target = h
                    .value
                    .pointer("/spec/scaleTargetRef/name")?
                    .as_str()?
                    .to_string();
                Some((
                    target,
                    h.value
                        .pointer("/spec/minReplicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1),
                ))
            })
            .collect();
        Waiting {
            watches,
            tracker,
            hpa_min,
            settings,
            namespace: namespace.to_string(),
            masker: secret_masker(objects),
        }
    }

    /// Waits for the stage's objects; returns how many were awaited.
    pub async fn wait_stage(
        &mut self,
        cluster: &Cluster,
        batch: &[&Object],
        applied: &[crate::apply::Change],
        deadline: tokio::time::Instant,
        sink: &dyn Sink,
    ) -> Result<usize, OpError> {
        let awaited = self.awaited(batch, applied);
        if awaited.is_empty() {
            return Ok(0);
        }
        let opts = WaitOptions {
            deadline,
            verdict: verdict::Options {
                fail_on_unschedulable: self.settings.fail_on_unschedulable,
            },
        };
        let mut observer = SinkObserver(sink);
        match tracker::wait_for(
            &mut self.watches,
            &mut self.tracker,
            &awaited,
            &opts,
            &mut observer,
        )
        .await
        {
            Ok(()) => Ok(awaited.len()),
            Err(e @ WaitError::Timeout { .. }) => {
                Err(OpError::Timeout(self.masker.mask(&e.to_string())))
            }
            Err(WaitError::Failed { object, reason }) => {
                Err(self.failed(cluster, &awaited, &object, &reason).await)
            }
            Err(e) => Err(OpError::Failed(e.to_string())),
        }
    }

    /// What of `batch` is waited for, with what the apply returned
    /// (generation, uid) and the HPA floor of each Deployment.
    fn awaited(&self, batch: &[&Object], applied: &[crate::apply::Change]) -> Vec<Awaited> {
        let change = |o: &Object| applied.iter().find(|c| c.id == o.id());
        batch
            .iter()
            .filter(|o| WAITED_KINDS.contains(&o.kind()))
            .filter(|o| {
                o.kind() != "Service"
                    || o.value.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
            })
            .map(|o| Awaited {
                id: o.id(),
                ctx: Context {
                    hpa_min_replicas: if o.kind() == "Deployment" {
                        self.hpa_min.get(o.name()).copied()
                    } else {
                        None
                    },
                    wait_for_first_consumer: false,
                    skip_load_balancers: self.settings.skip_load_balancers,
                },
                min_generation: change(o).and_then(|c| c.generation),
                uid: change(o).and_then(|c| c.uid.clone()),
            })
            .collect()
    }

    /// The error for a failed object: its reason, then what its pods and
    /// events say (masked).
    async fn failed(
        &self,
        cluster: &Cluster,
        awaited: &[Awaited],
        object: &str,
        reason: &str,
    ) -> OpError {
        let pods = awaited
            .iter()
            .find(|a| a.id.to_string() == object)
            .map(|a| self.tracker.pods_of(&a.id))
            .unwrap_or_default();
        let limits = diagnose::Limits {
            log_lines: self.settings.log_lines,
            events: 10,
        };
        let details = diagnose::report(
            cluster,
            &self.namespace,
            object,
            &pods,
            limits,
            &self.masker,
        )
        .await;
        let head = self.masker.mask(&format!("{object} failed: {reason}"));
        OpError::RolloutFailed(if details.is_empty() {
            head
        } else {
            format!("{head}\n{details}")
        })
    }
}

/// Which StorageClasses bind on first consumer, and the default one.
async fn storage_classes(cluster: &Cluster, tracker: &mut Tracker) {
    let req = http::Request::get("/apis/storage.k8s.io/v1/storageclasses").body(Vec::new());
    let Ok(req) = req else { return };
    let Ok(list) = cluster.client.request::<Value>(req).await else {
        return;
    };
    for sc in list["items"].as_array().into_iter().flatten() {
        let name = sc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if sc["volumeBindingMode"] == "WaitForFirstConsumer" {
            tracker.wait_for_first_consumer.insert(name.clone());
        }
        if sc
            .pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
            .and_then(Value::as_str)
            == Some("true")
        {
            tracker.default_class = Some(name);
        }
    }
}

/// Whether a Job has failed for good.
pub(crate) fn is_failed_job(v: &Value) -> bool {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| (c["type"] == "Failed" || c["type"] == "FailureTarget") && c["status"] == "True")
}

fn background() -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    }
}

/// A hook Job whose spec did not change keeps its name; if that Job failed
/// before, it is deleted so that this run tries it again.
pub async fn retry_failed_hooks(
    cluster: &Cluster,
    discovery: &Discovery,
    batch: &[&Object],
    live: &LiveIndex,
    sink: &dyn Sink,
) -> Result<(), OpError> {
    for job in batch
        .iter()
        .filter(|o| o.kind() == "Job" && o.annotation(HOOK_ANNOTATION).is_some())
    {
        let id = job.id();
        let Some(existing) = live.get(&id) else {
            continue;
        };
        if !is_failed_job(&existing.value) {
            continue;
        }
        let Some(api) = api_for(&cluster.client, discovery, &id) else {
            continue;
        };
        match api.delete(&id.name, &background()).await {
            Ok(_) => sink.event(Event::Info(format!(
                "{id} failed last time: deleted to run it again"
            ))),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(OpError::Failed(format!(
                    "{id}: cannot delete the failed hook Job: {}",
                    crate::apply::describe(&e)
                )));
            }
        }
    }
    Ok(())
}

/// After the new hook Jobs succeeded, older ones of the same hooks go
/// (Background propagation: Jobs orphan their pods by default). The
/// newest stays for its logs.
pub async fn delete_old_hooks(
    cluster: &Cluster,
    discovery: &Discovery,
    batch: &[&Object],
    release: &str,
    namespace: &str,
    sink: &dyn Sink,
) {
    let current: Vec<&Object> = batch
        .iter()
        .copied()
        .filter(|o| o.kind() == "Job" && o.annotation(HOOK_ANNOTATION).is_some())
        .collect();
    let Some(first) = current.first() else { return };
    let Some(api) = api_for(&cluster.client, discovery, &first.id()) else {
        return;
    };
    let component = |v: &Value| {
        v.pointer("/metadata/labels/app.kubernetes.io~1component")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let components: Vec<String> = current.iter().filter_map(|o| component(&o.value)).collect();
    let names: Vec<&str> = current.iter().map(|o| o.name()).collect();
    let api: Api<DynamicObject> = api;
    let lp = ListParams::default().labels(&format!("app.kubernetes.io/instance={release}"));
    let Ok(list) = api.list(&lp).await else {
        return;
    };
    for job in list.items {
        let v = serde_json::to_value(&job).unwrap_or(Value::Null);
        let name = job.metadata.name.clone().unwrap_or_default();
        let is_hook = job
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(HOOK_ANNOTATION));
        let same_hook = component(&v).is_some_and(|c| components.contains(&c));
        if !is_hook || !same_hook || names.contains(&name.as_str()) {
            continue;
        }
        match api.delete(&name, &background()).await {
            Ok(_) => sink.event(Event::Info(format!(
                "deleted the previous hook Job/{namespace}/{name}"
            ))),
            Err(e) => sink.event(Event::Warning(format!(
                "could not delete the previous hook Job/{namespace}/{name}: {}",
                crate::apply::describe(&e)
            ))),
        }
    }
}

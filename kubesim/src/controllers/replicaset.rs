//! The ReplicaSet controller: keeps `spec.replicas` active pods from the
//! template (creating missing ones, deleting surplus ones unscheduled,
//! then not ready, then newest first), and writes the status the real
//! one writes (fixture 06: replicas, fullyLabeledReplicas,
//! readyReplicas, availableReplicas, observedGeneration).
//! Also builds pods from templates for the other workload controllers.

use serde_json::{Map, Value, json};

use super::Ctl;
use super::clock::{Micros, SECOND, parse};
use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::util::{condition, generation, ids, int, name, owner_ref, pointer, text};
use crate::store::Key;

const COMPONENT: &str = "replicaset-controller";

/// A pod from `template` owned by `owner`, with what admission adds
/// (service account, default tolerations, priority).
pub fn new_pod(
    owner: &Map<String, Value>,
    template: &Value,
    name_part: PodName,
) -> Map<String, Value> {
    let ns = text(owner, "/metadata/namespace").unwrap_or("").to_string();
    let tmeta = template.get("metadata").cloned().unwrap_or(json!({}));
    let mut meta = Map::new();
    match name_part {
        PodName::Generate(prefix) => meta.insert("generateName".into(), json!(prefix)),
        PodName::Exact(n) => meta.insert("name".into(), json!(n)),
    };
    meta.insert("namespace".into(), json!(ns));
    for k in ["labels", "annotations"] {
        if let Some(v) = tmeta
            .get(k)
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        {
            meta.insert(k.into(), v.clone());
        }
    }
    meta.insert("ownerReferences".into(), json!([owner_ref(owner)]));
    let mut spec = template
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(sa));
    spec.insert("serviceAccount".into(), json!(sa));
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Some(list) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            if !list
                .iter()
                .any(|t| t.get("key").and_then(Value::as_str) == Some(key))
            {
                list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    spec.entry("priority").or_insert(json!(0));
    spec.entry("enableServiceLinks").or_insert(json!(true));
    spec.entry("preemptionPolicy")
        .or_insert(json!("PreemptLowerPriority"));
    let mut pod = Map::new();
    pod.insert("metadata".into(), Value::Object(meta));
    pod.insert("spec".into(), Value::Object(spec));
    pod
}

/// How a new pod is named.
pub enum PodName {
    Generate(String),
    Exact(String),
}

/// Whether a pod counts: not terminating and not finished.
pub fn active(pod: &Map<String, Value>) -> bool {
    !super::util::deleting(pod)
        && !matches!(
            text(pod, "/status/phase"),
            Some("Succeeded") | Some("Failed")
        )
}

pub fn ready(pod: &Map<String, Value>) -> bool {
    condition(pod, "Ready").and_then(|c| c.get("status")) == Some(&json!("True"))
}

/// When a ready pod became available after `min_ready` seconds (None:
/// not ready).
pub fn available_at(pod: &Map<String, Value>, min_ready: i64) -> Option<Micros> {
    let c = condition(pod, "Ready")?;
    if c.get("status") != Some(&json!("True")) {
        return None;
    }
    let since = c
        .get("lastTransitionTime")
        .and_then(Value::as_str)
        .and_then(parse)
        .unwrap_or(0);
    Some(since + min_ready * SECOND)
}

pub fn reconcile(cx: &mut Ctx, key: &Key) {
    let ids = ids();
    let Some(rs) = cx.get(ids.replicasets, &key.ns, &key.name) else {
        return;
    };
    if super::util::deleting(&rs) {
        return;
    }
    let rs_uid = super::util::uid(&rs).to_string();
    let desired = int(&rs, "/spec/replicas").unwrap_or(1).max(0) as usize;
    let mut pods: Vec<Map<String, Value>> = cx
        .owned(ids.pods, &key.ns, &rs_uid)
        .into_iter()
        .filter(active)
        .collect();
    if pods.len() < desired {
        let template = pointer(&rs, "/spec/template").cloned().unwrap_or(json!({}));
        for _ in pods.len()..desired {
            let pod = new_pod(&rs, &template, PodName::Generate(format!("{}-", key.name)));
            let Some(created) = cx.create(ids.pods, pod, CONTROLLER_MANAGER) else {
                break;
            };
            cx.event(
                &rs,
                false,
                "SuccessfulCreate",
                &format!("Created pod: {}", name(&created)),
                COMPONENT,
            );
            pods.push(created);
        }
    } else if pods.len() > desired {
        // Unscheduled, then pending, then not ready, then newest first.
        let rank = |p: &Map<String, Value>| {
            (
                text(p, "/spec/nodeName").is_some(),
                text(p, "/status/phase") == Some("Running"),
                ready(p),
                std::cmp::Reverse(
                    text(p, "/metadata/creationTimestamp")
                        .unwrap_or("")
                        .to_string(),
                ),
                std::cmp::Reverse(name(p).to_string()),
            )
        };
        pods.sort_by_key(rank);
        let surplus = pods.len() - desired;
        for p in pods.drain(..surplus) {
            cx.delete(ids.pods, &key.ns, name(&p));
            cx.event(
                &rs,
                false,
                "SuccessfulDelete",
                &format!("Deleted pod: {}", name(&p)),
                COMPONENT,
            );
        }
    }
    let min_ready = int(&rs, "/spec/minReadySeconds").unwrap_or(0);
    let ready_count = pods.iter().filter(|p| ready(p)).count();
    let mut available = 0;
    let mut next: Option<Micros> = None;
    for p in &pods {
        if let Some(at) = available_at(p, min_ready) {
            if at <= cx.now {
                available += 1;
            } else {
                next = Some(next.map_or(at, |n: Micros| n.min(at)));
            }
        }
    }
    if let Some(at) = next {
        cx.after(at - cx.now + 1, Ctl::ReplicaSet, key.clone());
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(pods.len()));
    let nz = |st: &mut Map<String, Value>, k: &str, v: usize| {
        if v > 0 {
            st.insert(k.into(), json!(v));
        }
    };
    nz(&mut status, "fullyLabeledReplicas", pods.len());
    nz(&mut status, "readyReplicas", ready_count);
    nz(&mut status, "availableReplicas", available);
    status.insert("observedGeneration".into(), json!(generation(&rs)));
    let mut new = rs;
    new.insert("status".into(), Value::Object(status));
    cx.update(ids.replicasets, new, "status", CONTROLLER_MANAGER);
}

//! The scheduler and a kubelet stand-in on one node, `kubesim-node`.
//!
//! The scheduler binds a pod once its claims are bound (a
//! WaitForFirstConsumer claim is bound for it). The kubelet then runs its
//! containers on the virtual clock: ContainerCreating for a second, then
//! Running (Ready after the image's readiness delay, 1 s by default);
//! pods that do not restart Always exit 0 a second later. Image-tag
//! faults (see [`super::faults`]) crash-loop, fail to pull, hang or exit
//! with a code, with the real kubelet's reasons and messages.
//!
//! Restarts follow the 1.32 kubelet's back-off (`doBackOff` in
//! kuberuntime_manager.go): the first exit is restarted at once (no
//! back-off entry exists yet; starting creates one of 10 s), the next exit
//! waits in CrashLoopBackOff for that back-off measured from its
//! finishedAt, and every restart after a back-off doubles it up to 300 s:
//! 0, 10, 20, 40 ... 300 s. restartCount counts the restarts done, so the
//! first CrashLoopBackOff shows 1 with "back-off 10s". A back-off last set
//! more than 10 minutes before an exit has expired: that exit is restarted
//! at once and the back-off starts again at 10 s. The real kubelet restarts
//! at its next sync of the pod after the back-off ends (a pod worker's retry
//! comes 10-15 s after the last, kubernetes#123602), so a real back-off
//! lasts up to a few seconds longer; kubesim restarts at its exact end.
//!
//! # Caveats
//! Probes, resources, volumes and init-container ordering are not run:
//! init containers complete as the pod starts. The kubelet's Events are
//! Pulled, Created, Started, and BackOff/Failed for faults (no Pulling,
//! Killing).

mod container;
mod images;
mod node;
mod pod_status;
mod scheduler;

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::clock::Micros;
use super::ctx::{Ctx, KUBELET};
use super::util::{ids, int, name, text, uid};
use crate::store::Key;
use container::State;
use pod_status::Run;

pub use node::{NODE, populate};

/// The kubelet's memory of the pods it runs, by uid.
#[derive(Debug, Default)]
pub struct Pods {
    runs: HashMap<String, Run>,
    next_ip: u32,
}

/// Re-tries scheduling every unscheduled pod of `ns`.
pub fn schedule_namespace(cx: &mut Ctx, pods: &mut Pods, ns: &str) {
    let waiting: Vec<String> = cx
        .list(ids().pods, ns)
        .iter()
        .filter(|p| text(p, "/spec/nodeName").is_none())
        .map(|p| name(p).to_string())
        .collect();
    for n in waiting {
        reconcile(cx, pods, &Ctx::key(ids().pods, ns, &n));
    }
}

pub fn reconcile(cx: &mut Ctx, pods: &mut Pods, key: &Key) {
    let Some(mut pod) = cx.get(ids().pods, &key.ns, &key.name) else {
        pods.runs
            .retain(|_, r| r.pod_ref != format!("{}/{}", key.ns, key.name));
        return;
    };
    if super::util::deleting(&pod) {
        return;
    }
    if text(&pod, "/spec/nodeName").is_none() {
        match scheduler::schedule(cx, &pod) {
            Some(p) => pod = p,
            None => return,
        }
    }
    if text(&pod, "/spec/nodeName") != Some(NODE) {
        return;
    }
    let pod_uid = uid(&pod).to_string();
    if !pods.runs.contains_key(&pod_uid) {
        pods.next_ip += 1;
        let ip = format!("10.244.{}.{}", pods.next_ip / 250, 2 + pods.next_ip % 250);
        let run = Run::new(&pod, cx.now, ip);
        pods.runs.insert(pod_uid.clone(), run);
    }
    let Some(run) = pods.runs.get_mut(&pod_uid) else {
        return;
    };
    let pod_desc = format!("{}_{}({})", key.name, key.ns, pod_uid);
    let mut emitted = Vec::new();
    let mut next: Option<Micros> = None;
    for c in &mut run.containers {
        while let Some(due) = c.due() {
            if due > cx.now {
                next = Some(next.map_or(due, |n: Micros| n.min(due)));
                break;
            }
            if let Some(ev) = c.step(due, run.restart, &pod_desc, &pod_uid) {
                emitted.push(ev);
            }
            emitted.append(&mut c.events);
        }
        if let Some(at) = c.ready_at(run.started)
            && at > cx.now
            && matches!(c.state, State::Running { .. })
        {
            next = Some(next.map_or(at, |n: Micros| n.min(at)));
        }
    }
    let status = run.status(&pod, cx.now);
    let mut new = pod.clone();
    new.insert("status".into(), status);
    if let Some(p) = cx.update(ids().pods, new, "status", KUBELET) {
        pod = p;
    }
    for (warning, reason, message) in emitted {
        cx.event(&pod, warning, reason, &message, KUBELET);
    }
    if let Some(at) = next {
        cx.after(at - cx.now, super::Ctl::Kubelet, key.clone());
    }
}

/// The pod's node-level restart count (for logs and tests).
#[allow(dead_code)]
pub fn restarts(pod: &Map<String, Value>) -> i64 {
    int(pod, "/status/containerStatuses/0/restartCount").unwrap_or(0)
}

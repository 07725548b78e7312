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

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::clock::{Micros, SECOND, rfc3339};
use super::ctx::{Ctx, KUBELET, SCHEDULER};
use super::faults::{self, Fault};
use super::util::{child, condition, fnv32a, ids, int, name, pointer, text, uid};
use crate::sim::Sim;
use crate::store::Key;

pub const NODE: &str = "kubesim-node";
const HOST_IP: &str = "172.18.0.2";
/// Back-off of restarts and pulls: 10 s doubling up to 300 s.
const BACKOFF_START: Micros = 10 * SECOND;
const BACKOFF_MAX: Micros = 300 * SECOND;
/// A restart back-off not renewed for this long is forgotten (the
/// kubelet's `hasExpired`: twice the maximum).
const BACKOFF_EXPIRY: Micros = 2 * BACKOFF_MAX;

/// The kubelet's memory of the pods it runs, by uid.
#[derive(Debug, Default)]
pub struct Pods {
    runs: HashMap<String, Run>,
    next_ip: u32,
}

#[derive(Debug)]
struct Run {
    started: Micros,
    ip: String,
    restart: Restart,
    init: Vec<(String, String)>,
    containers: Vec<Ctr>,
    /// Events already emitted (reason, container), to emit each once per
    /// back-off cycle.
    pod_ref: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restart {
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone)]
struct Term {
    exit: i32,
    started: Micros,
    finished: Micros,
    id: String,
}

#[derive(Debug, Clone)]
enum State {
    Creating {
        until: Micros,
    },
    Running {
        since: Micros,
        exit: Option<(Micros, i32)>,
        id: String,
    },
    Waiting {
        reason: &'static str,
        message: String,
        until: Option<Micros>,
    },
    Terminated(Term),
}

#[derive(Debug)]
struct Ctr {
    name: String,
    image: String,
    fault: Fault,
    state: State,
    last: Option<Term>,
    restarts: u32,
    /// The kubelet's restart back-off entry: when it was last set (a
    /// restart) and its current length.
    backoff: Option<(Micros, Micros)>,
    pulls: u32,
    ever_started: bool,
    /// Events of the transitions taken, not yet written.
    events: Vec<(bool, &'static str, String)>,
}

/// The default node, Ready.
pub fn populate(sim: &Sim) {
    let node = json!({
        "metadata": {
            "name": NODE,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": ""
            }
        },
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    });
    let now = rfc3339(sim.clock.now().secs * SECOND);
    let status = json!({
        "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "conditions": [
            {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
            {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
            {"type": "PIDPressure", "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
            {"type": "Ready", "status": "True", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletReady", "message": "kubelet is posting ready status"}
        ],
        "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "kubesim", "systemUUID": "kubesim", "bootID": "kubesim",
            "kernelVersion": "6.8.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://1.7.24", "kubeletVersion": "v1.32.6",
            "kubeProxyVersion": "v1.32.6", "operatingSystem": "linux", "architecture": "amd64"
        }
    });
    let mut store = sim.store();
    if let Value::Object(m) = node
        && crate::verbs::write::insert_new(sim, &mut store, ids().nodes, m, false).is_ok()
        && let Some(e) = store.get(&Ctx::key(ids().nodes, "", NODE)).cloned()
    {
        let mut obj = e.to_map();
        obj.insert("status".into(), status);
        let _ = crate::verbs::write::update_existing(
            &mut store,
            &Ctx::key(ids().nodes, "", NODE),
            &e,
            obj,
            crate::verbs::write::Part::Status,
            false,
        );
    }
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
        match schedule(cx, &pod) {
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

/// Binds `pod` to the node if its claims allow; the updated pod.
fn schedule(cx: &mut Ctx, pod: &Map<String, Value>) -> Option<Map<String, Value>> {
    let ns = text(pod, "/metadata/namespace").unwrap_or("").to_string();
    let claims: Vec<String> = pointer(pod, "/spec/volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut problem = None;
    for c in &claims {
        match cx.get(ids().pvcs, &ns, c) {
            None => {
                problem = Some(format!("persistentvolumeclaim \"{c}\" not found"));
            }
            Some(pvc) if text(&pvc, "/status/phase") == Some("Bound") => {}
            Some(pvc) => {
                if super::volumes::waits_for_consumer(cx, &pvc) {
                    super::volumes::bind(cx, pvc, Some(NODE));
                } else {
                    problem = Some("pod has unbound immediate PersistentVolumeClaims".to_string());
                }
            }
        }
    }
    if let Some(p) = problem {
        let message = format!(
            "0/1 nodes are available: {p}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        );
        let already = condition(pod, "PodScheduled")
            .is_some_and(|c| c.get("message").and_then(Value::as_str) == Some(&message));
        if !already {
            let mut new = pod.clone();
            let st = child(&mut new, "status");
            st.insert("phase".into(), json!("Pending"));
            st.insert(
                "conditions".into(),
                json!([{
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": null,
                    "lastTransitionTime": rfc3339(cx.now),
                    "reason": "Unschedulable",
                    "message": message
                }]),
            );
            if let Some(p) = cx.update(ids().pods, new, "status", SCHEDULER) {
                cx.scheduler_event(&p, true, "FailedScheduling", "Scheduling", &message);
            }
        }
        return None;
    }
    let mut new = pod.clone();
    child(&mut new, "spec").insert("nodeName".into(), json!(NODE));
    // The binding; the kubelet's first status write (in the same
    // reconcile) carries PodScheduled.
    let p = cx.update(ids().pods, new, "", SCHEDULER)?;
    let msg = format!("Successfully assigned {ns}/{} to {NODE}", name(&p));
    cx.scheduler_event(&p, false, "Scheduled", "Binding", &msg);
    Some(p)
}

fn hex_id(seed: &str) -> String {
    let mut out = String::new();
    let mut h = fnv32a(seed.as_bytes());
    for i in 0..8u32 {
        h = fnv32a(format!("{h}{i}{seed}").as_bytes());
        out.push_str(&format!("{h:08x}"));
    }
    out
}

fn image_ref(image: &str) -> String {
    let (repo, _) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (image, ""),
    };
    let repo = repo.split('@').next().unwrap_or(repo);
    let first = repo.split('/').next().unwrap_or("");
    let full = if !repo.contains('/') {
        format!("docker.io/library/{repo}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        repo.to_string()
    } else {
        format!("docker.io/{repo}")
    };
    format!("{full}@sha256:{}", hex_id(image))
}

fn full_image(image: &str) -> String {
    image_ref(image)
        .split('@')
        .next()
        .map(|r| {
            let tag = faults::tag(image);
            if tag.is_empty() {
                format!("{r}:latest")
            } else {
                format!("{r}:{tag}")
            }
        })
        .unwrap_or_default()
}

/// A whole number of seconds as Go's `time.Duration` prints it (`10s`,
/// `1m20s`, `5m0s`).
fn go_duration(m: Micros) -> String {
    let secs = m / SECOND;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

fn backoff(n: u32) -> Micros {
    let mut b = BACKOFF_START;
    for _ in 1..n {
        b = (b * 2).min(BACKOFF_MAX);
    }
    b
}

impl Run {
    fn new(pod: &Map<String, Value>, now: Micros, ip: String) -> Run {
        let restart = match text(pod, "/spec/restartPolicy") {
            Some("Never") => Restart::Never,
            Some("OnFailure") => Restart::OnFailure,
            _ => Restart::Always,
        };
        let list = |k: &str| -> Vec<(String, String)> {
            pointer(pod, &format!("/spec/{k}"))
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let s = |f: &str| {
                                c.get(f).and_then(Value::as_str).unwrap_or("").to_string()
                            };
                            (s("name"), s("image"))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let containers = list("containers")
            .into_iter()
            .map(|(name, image)| Ctr {
                fault: faults::of(&image),
                name,
                image,
                state: State::Creating {
                    until: now + SECOND,
                },
                last: None,
                restarts: 0,
                backoff: None,
                pulls: 0,
                ever_started: false,
                events: Vec::new(),
            })
            .collect();
        Run {
            started: now,
            ip,
            restart,
            init: list("initContainers"),
            containers,
            pod_ref: format!(
                "{}/{}",
                text(pod, "/metadata/namespace").unwrap_or(""),
                name(pod)
            ),
        }
    }

    fn phase(&self) -> &'static str {
        let finished = |c: &Ctr| matches!(c.state, State::Terminated(_));
        if !self.containers.is_empty() && self.containers.iter().all(finished) {
            let ok = self
                .containers
                .iter()
                .all(|c| matches!(&c.state, State::Terminated(t) if t.exit == 0));
            return if ok { "Succeeded" } else { "Failed" };
        }
        if self.containers.iter().all(|c| c.ever_started) {
            "Running"
        } else {
            "Pending"
        }
    }

    fn status(&self, pod: &Map<String, Value>, now: Micros) -> Value {
        let phase = self.phase();
        let creating = self
            .containers
            .iter()
            .any(|c| matches!(c.state, State::Creating { .. }));
        let unready: Vec<&str> = self
            .containers
            .iter()
            .filter(|c| !c.is_ready(self.started, now))
            .map(|c| c.name.as_str())
            .collect();
        let done = phase == "Succeeded" || phase == "Failed";
        let old_time = |ty: &str, status: &str| -> String {
            condition(pod, ty)
                .filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
                .and_then(|c| c.get("lastTransitionTime").and_then(Value::as_str))
                .map(str::to_string)
                .unwrap_or_else(|| rfc3339(now))
        };
        let cond = |ty: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
            let s = if ok { "True" } else { "False" };
            let mut c = json!({
                "type": ty,
                "status": s,
                "lastProbeTime": null,
                "lastTransitionTime": old_time(ty, s),
            });
            if let Some(r) = reason {
                c["reason"] = json!(r);
            }
            if let Some(m) = message {
                c["message"] = json!(m);
            }
            c
        };
        let (ready_reason, ready_message) = if done {
            (Some("PodCompleted"), None)
        } else if unready.is_empty() {
            (None, None)
        } else {
            (
                Some("ContainersNotReady"),
                Some(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                )),
            )
        };
        let ready = unready.is_empty() && !done;
        let conditions = json!([
            cond("PodReadyToStartContainers", !creating && !done, None, None),
            cond("Initialized", true, None, None),
            cond("Ready", ready, ready_reason, ready_message.clone()),
            cond("ContainersReady", ready, ready_reason, ready_message),
            cond("PodScheduled", true, None, None),
        ]);
        let mut st = Map::new();
        st.insert("phase".into(), json!(phase));
        st.insert("conditions".into(), conditions);
        st.insert("hostIP".into(), json!(HOST_IP));
        st.insert("hostIPs".into(), json!([{"ip": HOST_IP}]));
        if !creating || self.containers.iter().any(|c| c.ever_started) {
            st.insert("podIP".into(), json!(self.ip));
            st.insert("podIPs".into(), json!([{"ip": self.ip}]));
        }
        st.insert("startTime".into(), json!(rfc3339(self.started)));
        if !self.init.is_empty() {
            let list: Vec<Value> = self
                .init
                .iter()
                .map(|(n, image)| {
                    let id = hex_id(&format!("{}{n}init", self.pod_ref));
                    json!({
                        "name": n,
                        "state": {"terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": rfc3339(self.started),
                            "finishedAt": rfc3339(self.started),
                            "containerID": format!("containerd://{id}")
                        }},
                        "lastState": {},
                        "ready": true,
                        "restartCount": 0,
                        "image": full_image(image),
                        "imageID": image_ref(image),
                        "containerID": format!("containerd://{id}"),
                        "started": false
                    })
                })
                .collect();
            st.insert("initContainerStatuses".into(), json!(list));
        }
        let list: Vec<Value> = self
            .containers
            .iter()
            .map(|c| c.status(self.started, now))
            .collect();
        st.insert("containerStatuses".into(), json!(list));
        st.insert(
            "qosClass".into(),
            pointer(pod, "/status/qosClass")
                .cloned()
                .unwrap_or(json!("BestEffort")),
        );
        Value::Object(st)
    }
}

impl Ctr {
    /// When the state changes next on its own.
    fn due(&self) -> Option<Micros> {
        match &self.state {
            State::Creating { until } => Some(*until),
            State::Running { exit, .. } => exit.map(|(t, _)| t),
            State::Waiting { until, .. } => *until,
            State::Terminated(_) => None,
        }
    }

    fn ready_at(&self, pod_start: Micros) -> Option<Micros> {
        match self.fault {
            Fault::Healthy { ready_after } => Some(pod_start + i64::from(ready_after) * SECOND),
            _ => None,
        }
    }

    fn is_ready(&self, pod_start: Micros, now: Micros) -> bool {
        matches!(self.state, State::Running { .. })
            && self.ready_at(pod_start).is_some_and(|t| t <= now)
    }

    fn run(&mut self, at: Micros, restart: Restart, pod_uid: &str) {
        let exit = match self.fault {
            Fault::CrashLoop => Some((at + SECOND, 1)),
            Fault::Exit(n) => Some((at + SECOND, n)),
            Fault::Healthy { .. } if restart != Restart::Always => Some((at + SECOND, 0)),
            _ => None,
        };
        self.ever_started = true;
        let pulled = if self.pulls > 0 {
            format!("Successfully pulled image \"{}\"", self.image)
        } else {
            format!(
                "Container image \"{}\" already present on machine",
                self.image
            )
        };
        self.events.push((false, "Pulled", pulled));
        self.events.push((
            false,
            "Created",
            format!("Created container: {}", self.name),
        ));
        self.events
            .push((false, "Started", format!("Started container {}", self.name)));
        self.state = State::Running {
            since: at,
            exit,
            id: hex_id(&format!("{pod_uid}/{}/{}", self.name, self.restarts)),
        };
    }

    /// Takes the transition due at `at`; maybe an event to emit.
    fn step(
        &mut self,
        at: Micros,
        restart: Restart,
        pod_desc: &str,
        pod_uid: &str,
    ) -> Option<(bool, &'static str, String)> {
        match self.state.clone() {
            State::Creating { .. } => {
                if self.fault == Fault::PullFail {
                    return Some(self.pull_failed(at));
                }
                self.run(at, restart, pod_uid);
                None
            }
            State::Waiting {
                reason: "ErrImagePull",
                ..
            } => {
                let wait = backoff(self.pulls);
                self.state = State::Waiting {
                    reason: "ImagePullBackOff",
                    message: format!("Back-off pulling image \"{}\"", self.image),
                    until: Some(at + wait),
                };
                Some((
                    false,
                    "BackOff",
                    format!("Back-off pulling image \"{}\"", self.image),
                ))
            }
            State::Waiting {
                reason: "ImagePullBackOff",
                ..
            } => Some(self.pull_failed(at)),
            State::Waiting { .. } => {
                // The back-off is over: restarted, the next one is longer.
                let b = self.backoff.map_or(BACKOFF_START, |(_, b)| b);
                self.backoff = Some((at, (b * 2).min(BACKOFF_MAX)));
                self.restarts += 1;
                self.run(at, restart, pod_uid);
                None
            }
            State::Running { since, exit, id } => {
                let (t, code) = exit?;
                let term = Term {
                    exit: code,
                    started: since,
                    finished: t,
                    id,
                };
                let again = match restart {
                    Restart::Always => true,
                    Restart::OnFailure => code != 0,
                    Restart::Never => false,
                };
                if !again {
                    self.state = State::Terminated(term);
                    return None;
                }
                self.last = Some(term);
                let wait = match self.backoff {
                    Some((set, b)) if t - set <= BACKOFF_EXPIRY => b,
                    _ => {
                        // No (live) back-off entry: restarted at once.
                        self.backoff = Some((t, BACKOFF_START));
                        self.restarts += 1;
                        self.run(t, restart, pod_uid);
                        return None;
                    }
                };
                let message = format!(
                    "back-off {} restarting failed container={} pod={pod_desc}",
                    go_duration(wait),
                    self.name
                );
                self.state = State::Waiting {
                    reason: "CrashLoopBackOff",
                    message,
                    until: Some(t + wait),
                };
                Some((
                    true,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {pod_desc}",
                        self.name
                    ),
                ))
            }
            State::Terminated(_) => None,
        }
    }

    fn pull_failed(&mut self, at: Micros) -> (bool, &'static str, String) {
        self.pulls += 1;
        let reference = full_image(&self.image);
        let message = format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{reference}\": failed to resolve reference \"{reference}\": {reference}: not found"
        );
        self.state = State::Waiting {
            reason: "ErrImagePull",
            message: message.clone(),
            until: Some(at + SECOND),
        };
        (
            true,
            "Failed",
            format!("Failed to pull image \"{}\": {message}", self.image),
        )
    }

    fn status(&self, pod_start: Micros, now: Micros) -> Value {
        let term = |t: &Term| {
            json!({"terminated": {
                "exitCode": t.exit,
                "reason": if t.exit == 0 { "Completed" } else { "Error" },
                "startedAt": rfc3339(t.started),
                "finishedAt": rfc3339(t.finished),
                "containerID": format!("containerd://{}", t.id)
            }})
        };
        let (state, id) = match &self.state {
            State::Creating { .. } => (json!({"waiting": {"reason": "ContainerCreating"}}), None),
            State::Waiting {
                reason, message, ..
            } => (
                json!({"waiting": {"reason": reason, "message": message}}),
                self.last.as_ref().map(|t| t.id.clone()),
            ),
            State::Running { since, id, .. } => (
                json!({"running": {"startedAt": rfc3339(*since)}}),
                Some(id.clone()),
            ),
            State::Terminated(t) => (term(t), Some(t.id.clone())),
        };
        let mut s = json!({
            "name": self.name,
            "state": state,
            "lastState": self.last.as_ref().map_or(json!({}), term),
            "ready": self.is_ready(pod_start, now),
            "restartCount": self.restarts,
            "image": if self.ever_started { full_image(&self.image) } else { self.image.clone() },
            "imageID": if self.ever_started { image_ref(&self.image) } else { String::new() },
        });
        if let Some(id) = id {
            s["containerID"] = json!(format!("containerd://{id}"));
        }
        s["started"] = json!(matches!(self.state, State::Running { .. }));
        s
    }
}

/// The pod's node-level restart count (for logs and tests).
#[allow(dead_code)]
pub fn restarts(pod: &Map<String, Value>) -> i64 {
    int(pod, "/status/containerStatuses/0/restartCount").unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_five_minutes() {
        assert_eq!(backoff(1), 10 * SECOND);
        assert_eq!(backoff(2), 20 * SECOND);
        assert_eq!(backoff(6), 300 * SECOND);
        assert_eq!(backoff(9), 300 * SECOND);
    }

    #[test]
    fn back_offs_print_as_go_durations() {
        assert_eq!(go_duration(10 * SECOND), "10s");
        assert_eq!(go_duration(80 * SECOND), "1m20s");
        assert_eq!(go_duration(BACKOFF_MAX), "5m0s");
    }

    #[test]
    fn image_references_are_qualified() {
        assert!(image_ref("nginx:1.27").starts_with("docker.io/library/nginx@sha256:"));
        assert_eq!(full_image("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(
            full_image("ghcr.io/the-bot/app:1.4.0"),
            "ghcr.io/the-bot/app:1.4.0"
        );
        assert_eq!(
            full_image("bitnami/redis"),
            "docker.io/bitnami/redis:latest"
        );
    }
}

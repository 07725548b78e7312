//! A pod as the kubelet runs it: its containers, and the pod status it
//! writes (phase, conditions, IPs, container statuses).

use serde_json::{Map, Value, json};

use super::super::clock::{Micros, SECOND, rfc3339};
use super::super::faults;
use super::super::util::{condition, name, pointer, text};
use super::container::{Ctr, Restart, State};
use super::images::{full_image, hex_id, image_ref};
use super::node::HOST_IP;

#[derive(Debug)]
pub(super) struct Run {
    pub(super) started: Micros,
    pub(super) ip: String,
    pub(super) restart: Restart,
    pub(super) init: Vec<(String, String)>,
    pub(super) containers: Vec<Ctr>,
    /// Events already emitted (reason, container), to emit each once per
    /// back-off cycle.
    pub(super) pod_ref: String,
}

impl Run {
    pub(super) fn new(pod: &Map<String, Value>, now: Micros, ip: String) -> Run {
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

    pub(super) fn phase(&self) -> &'static str {
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

    /// The pod's conditions, keeping each one's transition time while its
    /// status holds.
    fn conditions(&self, pod: &Map<String, Value>, now: Micros, phase: &str) -> Value {
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
        json!([
            cond("PodReadyToStartContainers", !creating && !done, None, None),
            cond("Initialized", true, None, None),
            cond("Ready", ready, ready_reason, ready_message.clone()),
            cond("ContainersReady", ready, ready_reason, ready_message),
            cond("PodScheduled", true, None, None),
        ])
    }

    pub(super) fn status(&self, pod: &Map<String, Value>, now: Micros) -> Value {
        let phase = self.phase();
        let creating = self
            .containers
            .iter()
            .any(|c| matches!(c.state, State::Creating { .. }));
        let conditions = self.conditions(pod, now, phase);
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
            st.insert("initContainerStatuses".into(), json!(self.init_statuses()));
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

    /// Init containers have completed as the pod started.
    fn init_statuses(&self) -> Vec<Value> {
        self.init
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
            .collect()
    }
}

//! One container's life on the virtual clock: creating, running, exited,
//! restarted after the kubelet's back-off (see the parent module), or
//! failing to pull; and its `containerStatuses` entry.

use serde_json::{Value, json};

use super::super::clock::{Micros, SECOND, rfc3339};
use super::super::faults::Fault;
use super::images::{full_image, hex_id, image_ref};

/// Back-off of restarts and pulls: 10 s doubling up to 300 s.
const BACKOFF_START: Micros = 10 * SECOND;
const BACKOFF_MAX: Micros = 300 * SECOND;
/// A restart back-off not renewed for this long is forgotten (the
/// kubelet's `hasExpired`: twice the maximum).
const BACKOFF_EXPIRY: Micros = 2 * BACKOFF_MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Restart {
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone)]
pub(super) struct Term {
    pub(super) exit: i32,
    pub(super) started: Micros,
    pub(super) finished: Micros,
    pub(super) id: String,
}

#[derive(Debug, Clone)]
pub(super) enum State {
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
pub(super) struct Ctr {
    pub(super) name: String,
    pub(super) image: String,
    pub(super) fault: Fault,
    pub(super) state: State,
    pub(super) last: Option<Term>,
    pub(super) restarts: u32,
    /// The kubelet's restart back-off entry: when it was last set (a
    /// restart) and its current length.
    pub(super) backoff: Option<(Micros, Micros)>,
    pub(super) pulls: u32,
    pub(super) ever_started: bool,
    /// Events of the transitions taken, not yet written.
    pub(super) events: Vec<(bool, &'static str, String)>,
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

impl Ctr {
    /// When the state changes next on its own.
    pub(super) fn due(&self) -> Option<Micros> {
        match &self.state {
            State::Creating { until } => Some(*until),
            State::Running { exit, .. } => exit.map(|(t, _)| t),
            State::Waiting { until, .. } => *until,
            State::Terminated(_) => None,
        }
    }

    pub(super) fn ready_at(&self, pod_start: Micros) -> Option<Micros> {
        match self.fault {
            Fault::Healthy { ready_after } => Some(pod_start + i64::from(ready_after) * SECOND),
            _ => None,
        }
    }

    pub(super) fn is_ready(&self, pod_start: Micros, now: Micros) -> bool {
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
    pub(super) fn step(
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
            } => Some(self.pull_back_off(at)),
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
                self.exited(term, restart, pod_desc, pod_uid)
            }
            State::Terminated(_) => None,
        }
    }

    /// ErrImagePull turns into ImagePullBackOff for the pull back-off.
    fn pull_back_off(&mut self, at: Micros) -> (bool, &'static str, String) {
        let wait = backoff(self.pulls);
        self.state = State::Waiting {
            reason: "ImagePullBackOff",
            message: format!("Back-off pulling image \"{}\"", self.image),
            until: Some(at + wait),
        };
        (
            false,
            "BackOff",
            format!("Back-off pulling image \"{}\"", self.image),
        )
    }

    /// The container exited: terminated for good, restarted at once, or
    /// waiting in CrashLoopBackOff.
    fn exited(
        &mut self,
        term: Term,
        restart: Restart,
        pod_desc: &str,
        pod_uid: &str,
    ) -> Option<(bool, &'static str, String)> {
        let (t, code) = (term.finished, term.exit);
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

    pub(super) fn status(&self, pod_start: Micros, now: Micros) -> Value {
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
}

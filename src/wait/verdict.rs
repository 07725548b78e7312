//! Failing fast: a verdict over the new revision's pods, so a crash loop
//! or a bad image is reported in seconds instead of after the timeout.
//!
//! Pure: the caller passes the pods, the time and a [`Memory`] of what
//! earlier calls saw (a first ErrImagePull is retried by the kubelet and
//! only a repeated one is final).

use std::collections::BTreeMap;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// Options of the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--fail-on-unschedulable`: an unschedulable pod fails the rollout.
    pub fail_on_unschedulable: bool,
}

/// Why a pod fails the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFailure {
    pub pod: String,
    pub container: Option<String>,
    pub reason: String,
    pub message: String,
    pub restarts: i64,
    /// The container restarted: its previous log holds the crash.
    pub restarted: bool,
}

impl std::fmt::Display for PodFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pod {}", self.pod)?;
        if let Some(c) = &self.container {
            write!(f, " container {c}")?;
        }
        write!(f, ": {}", self.reason)?;
        if self.restarts > 0 {
            let times = if self.restarts == 1 { "time" } else { "times" };
            write!(f, " (restarted {} {times})", self.restarts)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// The outcome for a set of pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Fine,
    /// Worth saying, not a failure (an unschedulable pod).
    Warning(String),
    Failed(PodFailure),
}

/// What earlier verdicts saw.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// (pod, container) -> resourceVersions in which it was ErrImagePull.
    pull_errors: BTreeMap<(String, String), Vec<String>>,
}

const CRASHLOOP_RESTARTS: i64 = 2;
const CRASHLOOP_SECONDS: i64 = 10;
const CONFIG_ERROR_SECONDS: i64 = 30;

fn ts(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// The instant a waiting container's state stops being tolerated by
/// lasting (it fails once `now` is past it): a CrashLoopBackOff 10 s after
/// the container last exited, a CreateContainerConfigError 30 s after the
/// pod started.
fn lasting_limit(reason: &str, c: &Value, started: Option<Timestamp>) -> Option<Timestamp> {
    let (since, secs) = match reason {
        "CrashLoopBackOff" => (
            ts(c.pointer("/lastState/terminated/finishedAt")),
            CRASHLOOP_SECONDS,
        ),
        "CreateContainerConfigError" => (started, CONFIG_ERROR_SECONDS),
        _ => return None,
    };
    since.and_then(|t| t.checked_add(SignedDuration::from_secs(secs)).ok())
}

fn pod_started(pod: &Value) -> Option<Timestamp> {
    ts(pod.pointer("/status/startTime")).or_else(|| ts(pod.pointer("/metadata/creationTimestamp")))
}

fn container_statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .into_iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
}

/// When the verdict over `pods` can change with time alone, no new
/// observation needed: just after the earliest [`lasting_limit`] not yet
/// passed at `now`. The kubelet writes nothing while a container sits in
/// its back-off, so a wait that re-judged only on watch events would see
/// a crash loop only at its next restart.
pub fn recheck_at(pods: &[Value], now: Timestamp) -> Option<Timestamp> {
    pods.iter()
        .flat_map(|pod| {
            let started = pod_started(pod);
            container_statuses(pod)
                .filter_map(move |c| lasting_limit(&s(c, "/state/waiting/reason"), c, started))
        })
        .filter(|limit| *limit >= now)
        .min()
        .and_then(|limit| limit.checked_add(SignedDuration::from_millis(1)).ok())
}

/// What the new pods are going through, for the progress line while the
/// workload itself only says "0 of 1 updated": the first container that
/// is waiting for a reason worth showing, or a pod that cannot be placed.
pub fn pod_hint(pods: &[Value]) -> Option<String> {
    pods.iter().find_map(|pod| {
        let name = s(pod, "/metadata/name");
        let waiting = container_statuses(pod).find_map(|c| {
            let reason = s(c, "/state/waiting/reason");
            if reason.is_empty() || reason == "ContainerCreating" || reason == "PodInitializing" {
                return None;
            }
            let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            Some(match restarts {
                0 => reason,
                1 => format!("{reason}, restarted once"),
                n => format!("{reason}, restarted {n} times"),
            })
        });
        let unschedulable = || {
            pod.pointer("/status/conditions")
                .and_then(Value::as_array)?
                .iter()
                .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
                .map(|c| s(c, "/reason"))
                .filter(|r| !r.is_empty())
        };
        waiting
            .or_else(unschedulable)
            .map(|why| format!("pod {name}: {why}"))
    })
}

fn s(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The verdict over `pods` at `now`.
pub fn verdict(pods: &[Value], now: Timestamp, opts: Options, memory: &mut Memory) -> Verdict {
    let mut warning = None;
    for pod in pods {
        let name = s(pod, "/metadata/name");
        let rv = s(pod, "/metadata/resourceVersion");
        let started = pod_started(pod);
        for c in container_statuses(pod) {
            let container = s(c, "/name");
            let reason = s(c, "/state/waiting/reason");
            let message = s(c, "/state/waiting/message");
            let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            let fail = |reason: &str| {
                Verdict::Failed(PodFailure {
                    pod: name.clone(),
                    container: Some(container.clone()),
                    reason: reason.to_string(),
                    message: message.clone(),
                    restarts,
                    restarted: restarts > 0,
                })
            };
            let lasting = lasting_limit(&reason, c, started).is_some_and(|limit| now > limit);
            match reason.as_str() {
                "CrashLoopBackOff" if restarts >= CRASHLOOP_RESTARTS || lasting => {
                    return fail("CrashLoopBackOff");
                }
                "ImagePullBackOff" | "InvalidImageName" => return fail(&reason),
                "ErrImagePull" => {
                    let seen = memory
                        .pull_errors
                        .entry((name.clone(), container.clone()))
                        .or_default();
                    if !seen.contains(&rv) {
                        seen.push(rv.clone());
                    }
                    if seen.len() >= 2 {
                        return fail("ErrImagePull");
                    }
                }
                "CreateContainerConfigError" if lasting => {
                    return fail("CreateContainerConfigError");
                }
                _ => {}
            }
        }
        let unschedulable = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                c["type"] == "PodScheduled"
                    && c["status"] == "False"
                    && c["reason"] == "Unschedulable"
            });
        if let Some(c) = unschedulable {
            let message = s(c, "/message");
            if opts.fail_on_unschedulable {
                return Verdict::Failed(PodFailure {
                    pod: name,
                    container: None,
                    reason: "Unschedulable".into(),
                    message,
                    restarts: 0,
                    restarted: false,
                });
            }
            warning.get_or_insert(format!(
                "pod {name} is unschedulable: {message} (--fail-on-unschedulable makes this fatal)"
            ));
        }
    }
    warning.map_or(Verdict::Fine, Verdict::Warning)
}

/// The pods of a workload's newest revision: the Deployment's newest
/// ReplicaSet (by revision), the StatefulSet's updateRevision, the Job's.
pub fn new_revision_pods<'a>(
    workload: &Value,
    replica_sets: &[&Value],
    pods: &[&'a Value],
) -> Vec<&'a Value> {
    let kind = workload.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = s(workload, "/metadata/name");
    let uid = s(workload, "/metadata/uid");
    let owned_by = |p: &Value, owner_uid: &str, owner_name: &str| {
        p.pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|o| (!owner_uid.is_empty() && o["uid"] == owner_uid) || o["name"] == owner_name)
    };
    // Until the controller has seen the applied template, its newest
    // ReplicaSet (or updateRevision) may still be the previous one: after a
    // rollback, that is the very revision that was crashing.
    let generation = workload
        .pointer("/metadata/generation")
        .and_then(Value::as_i64);
    let observed = workload
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    if matches!(kind, "Deployment" | "StatefulSet") && generation.is_some() && observed < generation
    {
        return Vec::new();
    }
    match kind {
        "Deployment" => {
            let revision = |rs: &Value| {
                rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            let newest = replica_sets
                .iter()
                .filter(|rs| owned_by(rs, &uid, &name))
                .max_by_key(|rs| revision(rs));
            // The Deployment names its current revision; a ReplicaSet seen
            // through another watch may lag behind it.
            let current = workload
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<i64>().ok());
            match newest {
                Some(rs) if current.is_some_and(|c| c != revision(rs)) => Vec::new(),
                Some(rs) => {
                    let rs_uid = s(rs, "/metadata/uid");
                    let rs_name = s(rs, "/metadata/name");
                    pods.iter()
                        .copied()
                        .filter(|p| owned_by(p, &rs_uid, &rs_name))
                        .collect()
                }
                None => Vec::new(),
            }
        }
        "StatefulSet" => {
            let update = s(workload, "/status/updateRevision");
            pods.iter()
                .copied()
                .filter(|p| owned_by(p, &uid, &name))
                .filter(|p| {
                    update.is_empty() || s(p, "/metadata/labels/controller-revision-hash") == update
                })
                .collect()
        }
        "Job" => pods
            .iter()
            .copied()
            .filter(|p| {
                owned_by(p, &uid, &name)
                    || s(p, "/metadata/labels/batch.kubernetes.io~1job-name") == name
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    macro_rules! pod {
        ($name:literal) => {
            crate::yaml::parse_single(include_str!(concat!("fixtures/pods/", $name)))
                .expect($name)
                .value
        };
    }

    #[test]
    fn the_progress_hint_names_what_the_new_pod_waits_for() {
        let hint = |p: Value| pod_hint(&[p]).unwrap_or_default();
        let crash = hint(pod!("crashloop-first-backoff.yaml"));
        assert!(
            crash.starts_with("pod ") && crash.ends_with(": CrashLoopBackOff, restarted once"),
            "{crash}"
        );
        assert!(
            hint(pod!("pullbackoff.yaml")).ends_with(": ImagePullBackOff"),
            "{}",
            hint(pod!("pullbackoff.yaml"))
        );
        assert!(hint(pod!("unschedulable.yaml")).ends_with(": Unschedulable"));
        assert_eq!(
            pod_hint(&[pod!("running.yaml")]),
            None,
            "a running pod needs no hint"
        );
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn judge(p: &Value, now: &str) -> Verdict {
        verdict(
            std::slice::from_ref(p),
            at(now),
            Options::default(),
            &mut Memory::default(),
        )
    }

    fn failed(v: Verdict) -> PodFailure {
        match v {
            Verdict::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn crash_loops_fail_after_two_restarts_or_ten_seconds() {
        let p = pod!("crashloop.yaml");
        let f = failed(judge(&p, "2026-11-25T10:00:22Z"));
        assert_eq!(
            (f.reason.as_str(), f.restarts, f.restarted),
            ("CrashLoopBackOff", 2, true)
        );
        assert_eq!(f.container.as_deref(), Some("web"));
        let mut once = p.clone();
        once["status"]["containerStatuses"][0]["restartCount"] = json!(1);
        assert_eq!(
            judge(&once, "2026-11-25T10:00:25Z"),
            Verdict::Fine,
            "one restart, 4 s: still the kubelet's business"
        );
        assert!(
            matches!(judge(&once, "2026-11-25T10:00:40Z"), Verdict::Failed(_)),
            "lasting more than 10 s"
        );
    }

    #[test]
    fn the_wait_rechecks_when_time_alone_fails_a_pod() {
        let first = pod!("crashloop-first-backoff.yaml");
        let pods = std::slice::from_ref(&first);
        assert_eq!(judge(&first, "2026-11-25T10:00:04Z"), Verdict::Fine);
        let recheck = recheck_at(pods, at("2026-11-25T10:00:04Z"));
        assert_eq!(
            recheck,
            Some(at("2026-11-25T10:00:13.001Z")),
            "just past 10 s after the last exit"
        );
        assert_eq!(
            judge(&first, "2026-11-25T10:00:13Z"),
            Verdict::Fine,
            "10 s is not more than 10 s"
        );
        let f = failed(judge(&first, "2026-11-25T10:00:13.001Z"));
        assert_eq!((f.reason.as_str(), f.restarts), ("CrashLoopBackOff", 1));
        assert_eq!(
            recheck_at(pods, at("2026-11-25T10:00:13.001Z")),
            None,
            "past the limit, nothing left to wait for"
        );
        assert_eq!(
            recheck_at(&[pod!("configerror.yaml")], at("2026-11-25T10:00:20Z")),
            Some(at("2026-11-25T10:00:30.001Z"))
        );
        assert_eq!(
            recheck_at(
                &[pod!("running.yaml"), pod!("pullbackoff.yaml")],
                at("2026-11-25T10:00:01Z")
            ),
            None
        );
    }

    #[test]
    fn image_problems() {
        assert_eq!(
            failed(judge(&pod!("pullbackoff.yaml"), "2026-11-25T10:00:05Z")).reason,
            "ImagePullBackOff"
        );
        let first = pod!("errimagepull.yaml");
        let mut memory = Memory::default();
        let now = at("2026-11-25T10:00:05Z");
        assert_eq!(
            verdict(
                std::slice::from_ref(&first),
                now,
                Options::default(),
                &mut memory
            ),
            Verdict::Fine
        );
        assert_eq!(
            verdict(
                std::slice::from_ref(&first),
                now,
                Options::default(),
                &mut memory
            ),
            Verdict::Fine,
            "the same observation counts once"
        );
        let mut second = first.clone();
        second["metadata"]["resourceVersion"] = json!("301");
        assert_eq!(
            failed(verdict(&[second], now, Options::default(), &mut memory)).reason,
            "ErrImagePull"
        );
        let mut invalid = first.clone();
        invalid["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] =
            json!("InvalidImageName");
        assert_eq!(
            failed(judge(&invalid, "2026-11-25T10:00:01Z")).reason,
            "InvalidImageName"
        );
    }

    #[test]
    fn config_errors_get_thirty_seconds() {
        let p = pod!("configerror.yaml");
        assert_eq!(judge(&p, "2026-11-25T10:00:20Z"), Verdict::Fine);
        let f = failed(judge(&p, "2026-11-25T10:00:31Z"));
        assert!(f.message.contains("web-secret"));
    }

    #[test]
    fn unschedulable_warns_unless_asked_to_fail() {
        let p = pod!("unschedulable.yaml");
        assert!(
            matches!(judge(&p, "2026-11-25T10:05:00Z"), Verdict::Warning(w) if w.contains("Insufficient memory"))
        );
        let strict = Options {
            fail_on_unschedulable: true,
        };
        assert!(matches!(
            verdict(
                &[p],
                at("2026-11-25T10:00:01Z"),
                strict,
                &mut Memory::default()
            ),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn healthy_pods_are_fine() {
        assert_eq!(
            judge(&pod!("running.yaml"), "2026-11-25T11:00:00Z"),
            Verdict::Fine
        );
    }

    #[test]
    fn only_the_newest_replica_set_counts() {
        let d = json!({"kind": "Deployment", "metadata": {"name": "web", "uid": "d1", "generation": 2,
            "annotations": {"deployment.kubernetes.io/revision": "2"}}, "status": {"observedGeneration": 2}});
        let old_rs = json!({"metadata": {"name": "web-old", "uid": "r1", "annotations": {"deployment.kubernetes.io/revision": "1"}, "ownerReferences": [{"uid": "d1", "name": "web"}]}});
        let new_rs = json!({"metadata": {"name": "web-new", "uid": "r2", "annotations": {"deployment.kubernetes.io/revision": "2"}, "ownerReferences": [{"uid": "d1", "name": "web"}]}});
        let old_pod = json!({"metadata": {"name": "a", "ownerReferences": [{"uid": "r1", "name": "web-old"}]}});
        let new_pod = json!({"metadata": {"name": "b", "ownerReferences": [{"uid": "r2", "name": "web-new"}]}});
        let picked = new_revision_pods(&d, &[&old_rs, &new_rs], &[&old_pod, &new_pod]);
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0]["metadata"]["name"], "b");
        let mut unobserved = d.clone();
        unobserved["status"]["observedGeneration"] = json!(1);
        assert!(
            new_revision_pods(&unobserved, &[&old_rs, &new_rs], &[&old_pod, &new_pod]).is_empty(),
            "no judgement before the controller saw the new template"
        );
        let mut rolled_back = d.clone();
        rolled_back["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
        assert!(
            new_revision_pods(&rolled_back, &[&old_rs, &new_rs], &[&old_pod, &new_pod]).is_empty(),
            "the ReplicaSet of revision 3 has not been seen yet"
        );
        let sts = json!({"kind": "StatefulSet", "metadata": {"name": "db", "uid": "s1"}, "status": {"updateRevision": "db-2"}});
        let p1 = json!({"metadata": {"name": "db-0", "labels": {"controller-revision-hash": "db-1"}, "ownerReferences": [{"uid": "s1", "name": "db"}]}});
        let p2 = json!({"metadata": {"name": "db-1", "labels": {"controller-revision-hash": "db-2"}, "ownerReferences": [{"uid": "s1", "name": "db"}]}});
        assert_eq!(
            new_revision_pods(&sts, &[], &[&p1, &p2])[0]["metadata"]["name"],
            "db-1"
        );
    }
}

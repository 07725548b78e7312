//! What to show when a rollout fails: the object, its failing pods with
//! their container states, the recent Events of both (deduplicated, newest
//! last) and the last lines of the failing container's log (the previous
//! one when it restarted). Every known secret value is masked.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::mask::Masker;

/// How much to show.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub log_lines: u32,
    pub events: usize,
}

async fn get_text(cluster: &Cluster, path: &str) -> Option<String> {
    let req = http::Request::get(path).body(Vec::new()).ok()?;
    cluster.client.request_text(req).await.ok()
}

async fn get_json(cluster: &Cluster, path: &str) -> Option<Value> {
    let req = http::Request::get(path).body(Vec::new()).ok()?;
    cluster.client.request::<Value>(req).await.ok()
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// One line per container that is not running and ready.
fn container_lines(pod: &Value) -> Vec<String> {
    let name = s(pod, "/metadata/name");
    let mut out = Vec::new();
    for c in ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
    {
        let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        let container = s(c, "/name");
        let state = if let Some(w) = c.pointer("/state/waiting") {
            format!("waiting: {} {}", s(w, "/reason"), s(w, "/message"))
        } else if let Some(t) = c.pointer("/state/terminated") {
            format!(
                "terminated: {} (exit code {})",
                s(t, "/reason"),
                t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
            )
        } else if c.get("ready").and_then(Value::as_bool) == Some(true) {
            continue;
        } else {
            "running, not ready".to_string()
        };
        let last = c
            .pointer("/lastState/terminated")
            .map(|t| {
                format!(
                    "; last exit: {} (code {})",
                    s(t, "/reason"),
                    t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "  pod {name}, container {container}: {}, restarts {restarts}{last}",
            state.trim_end()
        ));
    }
    if out.is_empty()
        && let Some(c) = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c["status"] == "False" && c["type"] == "PodScheduled")
    {
        out.push(format!(
            "  pod {name}: not scheduled: {} {}",
            s(c, "/reason"),
            s(c, "/message")
        ));
    }
    out
}

/// The pod and container whose log explains the failure, and whether to
/// read the previous container's log.
fn failing_container(pods: &[Value]) -> Option<(String, String, bool)> {
    for pod in pods {
        for c in ["/status/initContainerStatuses", "/status/containerStatuses"]
            .iter()
            .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
            .flatten()
        {
            let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            let failed_now = c
                .pointer("/state/terminated/exitCode")
                .and_then(Value::as_i64)
                .is_some_and(|x| x != 0);
            let waiting = c.pointer("/state/waiting").is_some();
            if restarts > 0 || failed_now || waiting {
                let pulling = s(c, "/state/waiting/reason").contains("Image");
                if pulling {
                    continue; // no log: the image never ran
                }
                return Some((
                    s(pod, "/metadata/name").to_string(),
                    s(c, "/name").to_string(),
                    restarts > 0 && !failed_now,
                ));
            }
        }
    }
    None
}

/// The report shown under a rollout failure.
pub async fn report(
    cluster: &Cluster,
    namespace: &str,
    object: &str,
    pods: &[Value],
    limits: Limits,
    masker: &Masker,
) -> String {
    let mut lines = Vec::new();
    let problem_pods: Vec<&Value> = pods
        .iter()
        .filter(|p| !container_lines(p).is_empty())
        .collect();
    if !problem_pods.is_empty() {
        lines.push("Pods:".to_string());
        for p in &problem_pods {
            lines.extend(container_lines(p));
        }
    }

    let object_name = object.rsplit('/').next().unwrap_or(object).to_string();
    let mut names = vec![object_name];
    names.extend(
        problem_pods
            .iter()
            .map(|p| s(p, "/metadata/name").to_string()),
    );
    // The Event lists and the log are fetched at the same time: the
    // failure is reported as soon as the slowest one answers.
    let event_lists = futures_util::future::join_all(names.iter().map(|name| {
        let path = format!(
            "/api/v1/namespaces/{namespace}/events?fieldSelector=involvedObject.name%3D{name}"
        );
        async move { get_json(cluster, &path).await }
    }));
    let (event_lists, log) =
        futures_util::future::join(event_lists, log(cluster, namespace, pods, limits)).await;
    let events = event_lines(event_lists);
    if !events.is_empty() {
        lines.push("Events (newest last):".to_string());
        let skip = events.len().saturating_sub(limits.events);
        lines.extend(events.into_iter().skip(skip).map(|(_, t)| t));
    }

    if let Some((pod, container, previous, log)) = log {
        lines.push(format!(
            "Last {} log lines of pod {pod}, container {container}{}:",
            limits.log_lines,
            if previous { " (previous run)" } else { "" }
        ));
        lines.extend(log.lines().map(|l| format!("  | {l}")));
    }
    masker.mask(&lines.join("\n"))
}

/// The events of the lists, one line each, without repeats, oldest first
/// (by their latest time).
fn event_lines(lists: Vec<Option<Value>>) -> Vec<(String, String)> {
    let mut events: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for list in lists.into_iter().flatten() {
        for e in list["items"].as_array().into_iter().flatten() {
            let when = [
                s(e, "/lastTimestamp"),
                s(e, "/eventTime"),
                s(e, "/firstTimestamp"),
                s(e, "/metadata/creationTimestamp"),
            ]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or("")
            .to_string();
            let text = format!(
                "  {} {}/{}: {} {}",
                s(e, "/type"),
                s(e, "/involvedObject/kind"),
                s(e, "/involvedObject/name"),
                s(e, "/reason"),
                s(e, "/message")
            );
            if seen.insert(text.clone()) {
                events.push((when, text));
            }
        }
    }
    events.sort();
    events
}

/// The last lines of the failing container's log (the previous run's when
/// it restarted): pod, container, whether previous, the text.
async fn log(
    cluster: &Cluster,
    namespace: &str,
    pods: &[Value],
    limits: Limits,
) -> Option<(String, String, bool, String)> {
    let (pod, container, previous) = failing_container(pods)?;
    let path = |prev: bool| {
        format!(
            "/api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}&tailLines={}{}",
            limits.log_lines,
            if prev { "&previous=true" } else { "" }
        )
    };
    let mut log = None;
    if previous {
        log = get_text(cluster, &path(true)).await;
    }
    if log.is_none() {
        log = get_text(cluster, &path(false)).await;
    }
    let log = log.filter(|l| !l.trim().is_empty())?;
    Some((pod, container, previous, log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_lines_and_the_failing_container() {
        let crash = json!({"metadata": {"name": "web-1"}, "status": {"containerStatuses": [
            {"name": "web", "ready": false, "restartCount": 3,
             "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
             "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}});
        let ok = json!({"metadata": {"name": "web-2"}, "status": {"containerStatuses": [
            {"name": "web", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        assert_eq!(
            container_lines(&crash),
            [
                "  pod web-1, container web: waiting: CrashLoopBackOff back-off 40s, restarts 3; last exit: Error (code 1)"
            ]
        );
        assert!(container_lines(&ok).is_empty());
        assert_eq!(
            failing_container(&[ok, crash]),
            Some(("web-1".into(), "web".into(), true))
        );
        let job_pod = json!({"metadata": {"name": "migrate-x"}, "status": {"containerStatuses": [
            {"name": "migrate", "restartCount": 0, "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}});
        assert_eq!(
            failing_container(&[job_pod]),
            Some(("migrate-x".into(), "migrate".into(), false))
        );
    }
}

//! Pod logs (`GET .../pods/NAME/log`): plausible lines per container,
//! made up from its status (image, command, start and finish times, exit
//! code), with `container`, `previous`, `tailLines` and `timestamps`, and
//! the kubelet's errors for a container that has not started or has no
//! previous instance. A container that failed ends its log with why.

use serde_json::{Map, Value};

use super::clock::{Micros, SECOND, parse, rfc3339_nano};
use super::faults::{self, Fault};
use super::util::{name, pointer};
use crate::error::ApiError;
use crate::query::Query;

/// The log text of one container of `pod`, or the real error.
pub fn render(pod: &Map<String, Value>, query: &Query) -> Result<String, ApiError> {
    let pod_name = name(pod);
    let containers: Vec<&Value> = pointer(pod, "/spec/containers")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match query.get("container") {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if names.len() == 1 => names[0].to_string(),
        _ => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let Some(spec) = containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(&container))
    else {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    };
    let status = pointer(pod, "/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(&container))
        });
    let previous = query.flag("previous");
    let state = status.and_then(|s| s.get(if previous { "lastState" } else { "state" }));
    let (started, finished, exit) = match state {
        Some(s) if s.get("running").is_some() => (time(&s["running"]["startedAt"]), None, None),
        Some(s) if s.get("terminated").is_some() => {
            let t = &s["terminated"];
            (
                time(&t["startedAt"]),
                Some(time(&t["finishedAt"])),
                t.get("exitCode").and_then(Value::as_i64),
            )
        }
        _ if previous => {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        Some(s) => {
            let reason = s
                .pointer("/waiting/reason")
                .and_then(Value::as_str)
                .unwrap_or("ContainerCreating");
            let why = if reason.contains("ImagePull") || reason == "ErrImagePull" {
                "trying and failing to pull image".to_string()
            } else {
                reason.to_string()
            };
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {why}"
            )));
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
            )));
        }
    };
    let image = spec.get("image").and_then(Value::as_str).unwrap_or("");
    let command: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let lines = lines(image, &command, started, finished, exit);
    let tail = query
        .get("tailLines")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let skip = lines.len().saturating_sub(tail);
    let stamps = query.flag("timestamps");
    let mut out = String::new();
    for (t, line) in lines.into_iter().skip(skip) {
        if stamps {
            out.push_str(&rfc3339_nano(t));
            out.push(' ');
        }
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

fn time(v: &Value) -> Micros {
    v.as_str().and_then(parse).unwrap_or(0)
}

/// The lines one container instance wrote, with their times.
fn lines(
    image: &str,
    command: &[&str],
    started: Micros,
    finished: Option<Micros>,
    exit: Option<i64>,
) -> Vec<(Micros, String)> {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split([':', '@']).next().unwrap_or(base);
    let mut out = vec![(started, format!("{base}: starting ({image})"))];
    if !command.is_empty() {
        out.push((started, format!("+ {}", command.join(" "))));
    }
    let fault = faults::of(image);
    match finished {
        None => {
            out.push((started, format!("{base}: configuration loaded")));
            let line = match fault {
                Fault::Hang => format!("{base}: waiting for a dependency that never answers"),
                _ => format!("{base}: ready to accept connections"),
            };
            out.push((started + SECOND / 2, line));
        }
        Some(end) => {
            let code = exit.unwrap_or(0);
            if code == 0 {
                out.push((end, format!("{base}: done")));
            } else {
                let why = match fault {
                    Fault::CrashLoop => {
                        "fatal: unrecoverable error during start-up (image tag crashloop)"
                    }
                    Fault::Exit(_) if faults::tag(image).contains("jobfail") => {
                        "Error: the task failed (image tag jobfail)"
                    }
                    _ => "Error: the process failed",
                };
                out.push((end, format!("{base}: {why}")));
                out.push((end, format!("{base}: exiting with status {code}")));
            }
        }
    }
    out
}

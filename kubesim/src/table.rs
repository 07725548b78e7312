//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the real
//! printers' columns for the common kinds and Name/Created At otherwise,
//! so that `kubectl get` looks as it does against a cluster.

use serde_json::{Map, Value, json};

use crate::clock;
use crate::resources::ResourceType;

/// Whether an Accept header asks for a Table first.
pub fn wanted(accept: &str) -> bool {
    let first = accept.split(',').next().unwrap_or("");
    first.contains("as=Table") && first.contains("g=meta.k8s.io")
}

/// `duration.HumanDuration` (seconds).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn get<'a>(o: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(o.get(*first)?, |v, k| v.get(k))
}

fn int(o: &Map<String, Value>, path: &[&str]) -> i64 {
    get(o, path).and_then(Value::as_i64).unwrap_or(0)
}

fn text(o: &Map<String, Value>, path: &[&str]) -> String {
    get(o, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn count(o: &Map<String, Value>, fields: &[&str]) -> i64 {
    fields
        .iter()
        .filter_map(|f| o.get(*f).and_then(Value::as_object))
        .map(|m| m.len() as i64)
        .sum()
}

fn age(o: &Map<String, Value>, now: i64) -> Value {
    match clock::parse_rfc3339(&text(o, &["metadata", "creationTimestamp"])) {
        Some(t) => json!(human_duration(now - t)),
        None => json!("<unknown>"),
    }
}

fn containers(o: &Map<String, Value>, template: &[&str]) -> (String, String) {
    let list = get(o, template)
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let join = |k: &str| {
        list.iter()
            .map(|c| c[k].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    (join("name"), join("image"))
}

fn selector(o: &Map<String, Value>) -> String {
    get(o, &["spec", "selector", "matchLabels"])
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "<none>".into())
}

/// (name, type, priority) of each column.
fn columns(rt: &ResourceType) -> Vec<(&'static str, &'static str, u8)> {
    let s = "string";
    let i = "integer";
    match (rt.group, rt.plural) {
        ("", "configmaps") => vec![("Name", s, 0), ("Data", i, 0), ("Age", s, 0)],
        ("", "secrets") => vec![
            ("Name", s, 0),
            ("Type", s, 0),
            ("Data", i, 0),
            ("Age", s, 0),
        ],
        ("", "namespaces") => vec![("Name", s, 0), ("Status", s, 0), ("Age", s, 0)],
        ("", "serviceaccounts") => vec![("Name", s, 0), ("Secrets", i, 0), ("Age", s, 0)],
        ("", "services") => vec![
            ("Name", s, 0),
            ("Type", s, 0),
            ("Cluster-IP", s, 0),
            ("External-IP", s, 0),
            ("Port(s)", s, 0),
            ("Age", s, 0),
            ("Selector", s, 1),
        ],
        ("", "pods") => vec![
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Status", s, 0),
            ("Restarts", s, 0),
            ("Age", s, 0),
            ("IP", s, 1),
            ("Node", s, 1),
        ],
        ("apps", "deployments") => vec![
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Up-to-date", i, 0),
            ("Available", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("apps", "replicasets") => vec![
            ("Name", s, 0),
            ("Desired", i, 0),
            ("Current", i, 0),
            ("Ready", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("apps", "statefulsets") => vec![
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
        ],
        ("batch", "jobs") => vec![
            ("Name", s, 0),
            ("Status", s, 0),
            ("Completions", s, 0),
            ("Duration", s, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
            ("Selector", s, 1),
        ],
        ("", "events") => vec![
            ("Last Seen", s, 0),
            ("Type", s, 0),
            ("Reason", s, 0),
            ("Object", s, 0),
            ("Subobject", s, 1),
            ("Source", s, 1),
            ("Message", s, 0),
            ("First Seen", s, 1),
            ("Count", s, 1),
            ("Name", s, 1),
        ],
        _ => vec![("Name", s, 0), ("Created At", "date", 0)],
    }
}

/// The Event printer's cells (Last Seen ... Name).
fn event_cells(o: &Map<String, Value>, now: i64) -> Vec<Value> {
    let since = |k: &str| {
        let t = text(o, &[k]);
        let t = if t.is_empty() {
            text(o, &["eventTime"])
        } else {
            t
        };
        match clock::parse_rfc3339(&t) {
            Some(t) => human_duration(now - t),
            None => "<unknown>".into(),
        }
    };
    let source = {
        let c = text(o, &["source", "component"]);
        let c = if c.is_empty() {
            text(o, &["reportingComponent"])
        } else {
            c
        };
        let h = text(o, &["source", "host"]);
        if h.is_empty() { c } else { format!("{c}, {h}") }
    };
    let count = get(o, &["count"]).and_then(Value::as_i64).unwrap_or(1);
    vec![
        json!(since("lastTimestamp")),
        json!(text(o, &["type"])),
        json!(text(o, &["reason"])),
        json!(format!(
            "{}/{}",
            text(o, &["involvedObject", "kind"]).to_lowercase(),
            text(o, &["involvedObject", "name"])
        )),
        json!(text(o, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(text(o, &["message"])),
        json!(since("firstTimestamp")),
        json!(count.to_string()),
        json!(text(o, &["metadata", "name"])),
    ]
}

fn job_status(o: &Map<String, Value>) -> String {
    let conditions = get(o, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |t: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if has("Complete") {
        "Complete".into()
    } else if has("Failed") {
        "Failed".into()
    } else if has("Suspended") {
        "Suspended".into()
    } else {
        "Running".into()
    }
}

fn cells(rt: &ResourceType, o: &Map<String, Value>, now: i64) -> Vec<Value> {
    let name = json!(text(o, &["metadata", "name"]));
    match (rt.group, rt.plural) {
        ("", "configmaps") => vec![name, json!(count(o, &["data", "binaryData"])), age(o, now)],
        ("", "secrets") => vec![
            name,
            json!(text(o, &["type"])),
            json!(count(o, &["data"])),
            age(o, now),
        ],
        ("", "namespaces") => vec![name, json!(text(o, &["status", "phase"])), age(o, now)],
        ("", "serviceaccounts") => vec![
            name,
            json!(
                o.get("secrets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            ),
            age(o, now),
        ],
        ("", "services") => {
            let ports: Vec<String> = get(o, &["spec", "ports"])
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let sel = get(o, &["spec", "selector"])
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(text(o, &["spec", "type"])),
                json!(text(o, &["spec", "clusterIP"])),
                json!("<none>"),
                json!(if ports.is_empty() {
                    "<none>".to_string()
                } else {
                    ports.join(",")
                }),
                age(o, now),
                json!(sel),
            ]
        }
        ("", "events") => event_cells(o, now),
        ("", "pods") => {
            let total = get(o, &["spec", "containers"])
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let statuses = get(o, &["status", "containerStatuses"])
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let restarts: i64 = statuses
                .iter()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            // printPod: the last container's waiting or terminated reason
            // wins over the phase (CrashLoopBackOff, ErrImagePull, Error).
            let mut reason = text(o, &["status", "reason"]);
            if reason.is_empty() {
                reason = text(o, &["status", "phase"]);
            }
            let mut running = false;
            for c in statuses.iter().rev() {
                let why = |state: &str| c["state"][state]["reason"].as_str().unwrap_or("");
                if !why("waiting").is_empty() {
                    reason = why("waiting").to_string();
                } else if !why("terminated").is_empty() {
                    reason = why("terminated").to_string();
                } else if c["ready"] == true && c["state"]["running"].is_object() {
                    running = true;
                }
            }
            if reason == "Completed" && running {
                reason = "Running".into();
            }
            if get(o, &["metadata", "deletionTimestamp"]).is_some() {
                reason = "Terminating".into();
            }
            let ip = text(o, &["status", "podIP"]);
            let node = text(o, &["spec", "nodeName"]);
            let or_none = |s: String| if s.is_empty() { "<none>".into() } else { s };
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(reason),
                json!(restarts.to_string()),
                age(o, now),
                json!(or_none(ip)),
                json!(or_none(node)),
            ]
        }
        ("apps", "deployments") => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, &["status", "readyReplicas"]),
                    get(o, &["spec", "replicas"])
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                json!(int(o, &["status", "updatedReplicas"])),
                json!(int(o, &["status", "availableReplicas"])),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector(o)),
            ]
        }
        ("apps", "replicasets") => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            vec![
                name,
                json!(
                    get(o, &["spec", "replicas"])
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ),
                json!(int(o, &["status", "replicas"])),
                json!(int(o, &["status", "readyReplicas"])),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector(o)),
            ]
        }
        ("apps", "statefulsets") => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(o, &["status", "readyReplicas"]),
                    get(o, &["spec", "replicas"])
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                age(o, now),
                json!(c),
                json!(i),
            ]
        }
        ("batch", "jobs") => {
            let (c, i) = containers(o, &["spec", "template", "spec"]);
            let completions = get(o, &["spec", "completions"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let start = clock::parse_rfc3339(&text(o, &["status", "startTime"]));
            let end = clock::parse_rfc3339(&text(o, &["status", "completionTime"])).unwrap_or(now);
            vec![
                name,
                json!(job_status(o)),
                json!(format!(
                    "{}/{completions}",
                    int(o, &["status", "succeeded"])
                )),
                json!(start.map_or(String::new(), |s| human_duration(end - s))),
                age(o, now),
                json!(c),
                json!(i),
                json!(selector(o)),
            ]
        }
        _ => vec![name, json!(text(o, &["metadata", "creationTimestamp"]))],
    }
}

fn row(rt: &ResourceType, o: &Map<String, Value>, now: i64) -> Value {
    json!({
        "cells": cells(rt, o, now),
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
        }
    })
}

/// A Table of `objects` at time `now` (Unix seconds); `list_meta` is the
/// list's metadata.
pub fn render(
    rt: &ResourceType,
    objects: &[Map<String, Value>],
    list_meta: Value,
    now: i64,
) -> Value {
    let defs: Vec<Value> = columns(rt)
        .into_iter()
        .map(|(name, ty, priority)| {
            json!({
                "name": name,
                "type": ty,
                "format": if name == "Name" { "name" } else { "" },
                "description": "",
                "priority": priority
            })
        })
        .collect();
    let rows: Vec<Value> = objects.iter().map(|o| row(rt, o, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": rows
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_apimachinery() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 3600, "3d1h"),
            (400 * 86400, "400d"),
        ] {
            assert_eq!(human_duration(secs), want);
        }
    }

    #[test]
    fn detects_kubectl_accept() {
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wanted("application/json"));
    }
}

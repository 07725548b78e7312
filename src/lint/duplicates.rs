//! Names that must be unique within their list: containers of a pod (init
//! containers included), env variables and mount paths of a container,
//! port names and volumes of a pod, ports of a Service. A duplicate env
//! name silently keeps only the last value; the others are rejected at
//! apply.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{items, join_path};

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        let containers = pod.containers();
        unique(
            out,
            &at,
            "container name",
            containers
                .iter()
                .map(|c| (join_path(&c.path, "name"), c.name().to_string())),
        );
        let mut ports = Vec::new();
        for c in &containers {
            let env = items(c.value, &c.path, "env");
            unique(out, &at, "env variable", named(&env, "name"));
            let mounts = items(c.value, &c.path, "volumeMounts");
            unique(out, &at, "mountPath", named(&mounts, "mountPath"));
            ports.extend(named(&items(c.value, &c.path, "ports"), "name"));
        }
        unique(out, &at, "port name", ports);
        let volumes = items(pod.spec, &pod.spec_path(), "volumes");
        unique(out, &at, "volume name", named(&volumes, "name"));
    }
    for (o, at) in ctx.each() {
        if o.kind() != "Service" {
            continue;
        }
        let ports = items(&o.value["spec"], "spec", "ports");
        unique(out, &at, "port name", named(&ports, "name"));
        let numbers = ports.iter().map(|(path, p)| {
            let number = p.get("port").map(Value::to_string).unwrap_or_default();
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            (join_path(path, "port"), format!("{number}/{protocol}"))
        });
        unique(out, &at, "port", numbers);
    }
}

/// `(path of field, value)` of each item that has the text field `field`.
fn named(list: &[(String, &Value)], field: &str) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|(path, item)| {
            let v = item.get(field)?.as_str()?;
            Some((join_path(path, field), v.to_string()))
        })
        .collect()
}

fn unique(
    out: &mut Findings,
    at: &Subject,
    what: &str,
    entries: impl IntoIterator<Item = (String, String)>,
) {
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    for (path, value) in entries {
        match first.get(&value) {
            Some(earlier) => out.error(
                "semantics/duplicate-name",
                at,
                &path,
                format!("{what} `{value}` is used twice (first at {earlier})"),
                format!("give each {what} its own value, or remove one"),
            ),
            None => {
                first.insert(value, path);
            }
        }
    }
}

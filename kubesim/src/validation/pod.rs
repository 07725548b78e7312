//! A pod spec as `ValidatePodSpec` checks it, for Pods and every pod
//! template (Deployments, StatefulSets, ReplicaSets, Jobs, CronJobs):
//! containers (names, uniqueness, images, pull policy, ports, resources,
//! volume mounts, and through the sibling modules env, probes and
//! security contexts), volumes, tolerations, affinity and the restart
//! policy the owner allows.

use std::collections::HashSet;

use serde_json::Value;

use super::fields::{
    NEGATIVE, dns_label, duplicate, items, not_found, one_of, port_name, port_number, quantity,
    quantity_text, required,
};
use super::{env, probes, scheduling, security, volumes};
use crate::error::Cause;

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const STANDARD_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// The restart policies each owner of a pod template accepts.
pub const ANY_RESTART: &[&str] = &["Always", "OnFailure", "Never"];
pub const ALWAYS: &[&str] = &["Always"];
pub const JOB_RESTART: &[&str] = &["OnFailure", "Never"];

/// Checks the pod spec `spec` found at `prefix`.
pub fn pod_spec(spec: Option<&Value>, prefix: &str, restart: &[&str], out: &mut Vec<Cause>) {
    pod_spec_with_claims(spec, prefix, restart, &[], out);
}

/// As [`pod_spec`], where mounts may also name `claims` (a StatefulSet's
/// volumeClaimTemplates).
pub fn pod_spec_with_claims(
    spec: Option<&Value>,
    prefix: &str,
    restart: &[&str],
    claims: &[String],
    out: &mut Vec<Cause>,
) {
    let mut volumes = volumes::volumes(spec, prefix, out);
    volumes.extend(claims.iter().cloned());
    let containers = items(spec, "containers");
    if containers.is_empty() {
        out.push(Cause::required_bare(&format!("{prefix}.containers")));
    }
    let mut names = HashSet::new();
    for (list, field) in [
        (items(spec, "initContainers"), "initContainers"),
        (containers, "containers"),
    ] {
        for (i, c) in list.iter().enumerate() {
            let path = format!("{prefix}.{field}[{i}]");
            container(c, &path, &volumes, &mut names, out);
            let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            container_restart(c, &path, field == "initContainers", out);
            probes::container(c, &path, field == "initContainers" && !sidecar, out);
            security::container(
                c.get("securityContext"),
                &format!("{path}.securityContext"),
                out,
            );
        }
    }
    security::pod(
        spec.and_then(|s| s.get("securityContext")),
        &format!("{prefix}.securityContext"),
        out,
    );
    scheduling::tolerations(spec, prefix, out);
    scheduling::affinity(spec, prefix, out);
    scheduling::topology_spread(spec, prefix, out);
    if let Some(r) = spec.and_then(|s| s.get("restartPolicy")) {
        one_of(out, &format!("{prefix}.restartPolicy"), Some(r), restart);
    }
}

/// A container's own `restartPolicy`: only `Always` (a sidecar), and
/// only on init containers.
fn container_restart(c: &Value, path: &str, init: bool, out: &mut Vec<Cause>) {
    let Some(r) = c.get("restartPolicy").filter(|v| !v.is_null()) else {
        return;
    };
    let field = format!("{path}.restartPolicy");
    if init {
        let r = r.as_str().unwrap_or("");
        if r != "Always" {
            out.push(Cause::not_supported(&field, &format!("{r:?}"), ALWAYS));
        }
    } else {
        out.push(Cause::forbidden(
            &field,
            "may not be set for non-init containers",
        ));
    }
}

fn container(
    c: &Value,
    path: &str,
    volumes: &HashSet<String>,
    names: &mut HashSet<String>,
    out: &mut Vec<Cause>,
) {
    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        out.push(Cause::required_bare(&format!("{path}.name")));
    } else {
        dns_label(out, &format!("{path}.name"), name);
        if !names.insert(name.to_string()) {
            out.push(duplicate(&format!("{path}.name"), name));
        }
    }
    required(out, &format!("{path}.image"), c.get("image"));
    one_of(
        out,
        &format!("{path}.imagePullPolicy"),
        c.get("imagePullPolicy"),
        PULL_POLICIES,
    );
    ports(c, path, out);
    env::env(c, path, out);
    for (i, m) in items(Some(c), "volumeMounts").iter().enumerate() {
        let mpath = format!("{path}.volumeMounts[{i}]");
        let vol = m.get("name").and_then(Value::as_str).unwrap_or("");
        if vol.is_empty() {
            out.push(Cause::required_bare(&format!("{mpath}.name")));
        } else if !volumes.contains(vol) {
            out.push(not_found(&format!("{mpath}.name"), vol));
        }
        required(out, &format!("{mpath}.mountPath"), m.get("mountPath"));
    }
    resources(c.get("resources"), &format!("{path}.resources"), out);
}

fn ports(c: &Value, path: &str, out: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, p) in items(Some(c), "ports").iter().enumerate() {
        let ppath = format!("{path}.ports[{i}]");
        if let Some(n) = p
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            port_name(out, &format!("{ppath}.name"), n);
            if !names.insert(n.to_string()) {
                out.push(duplicate(&format!("{ppath}.name"), n));
            }
        }
        match p.get("containerPort").and_then(Value::as_i64) {
            None => out.push(Cause::required_bare(&format!("{ppath}.containerPort"))),
            Some(n) => port_number(out, &format!("{ppath}.containerPort"), n),
        }
        if let Some(n) = p.get("hostPort").and_then(Value::as_i64)
            && n != 0
        {
            port_number(out, &format!("{ppath}.hostPort"), n);
        }
        one_of(
            out,
            &format!("{ppath}.protocol"),
            p.get("protocol"),
            PROTOCOLS,
        );
    }
}

/// `ValidateResourceRequirements`: resource names, no negative quantity,
/// each request at most its limit.
pub fn resources(r: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let part = |k: &str| r.and_then(|r| r.get(k)).and_then(Value::as_object);
    for key in ["limits", "requests"] {
        for (name, q) in part(key).into_iter().flatten() {
            let field = format!("{path}.{key}[{name}]");
            let standard = STANDARD_RESOURCES.contains(&name.as_str())
                || name.starts_with("hugepages-")
                || name.contains('/');
            if !standard {
                out.push(Cause::invalid(
                    &field,
                    name,
                    "must be a standard resource type or fully qualified",
                ));
            }
            if quantity(q).is_some_and(|n| n < 0) {
                out.push(Cause::invalid(&field, &quantity_text(q), NEGATIVE));
            }
        }
    }
    let limits = part("limits");
    for (name, q) in part("requests").into_iter().flatten() {
        let limit = limits.and_then(|l| l.get(name));
        if let (Some(req), Some(lim)) = (quantity(q), limit.and_then(quantity))
            && req > lim
        {
            out.push(Cause::invalid(
                &format!("{path}.requests"),
                &quantity_text(q),
                &format!(
                    "must be less than or equal to {name} limit of {}",
                    limit.map(quantity_text).unwrap_or_default()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(spec: Value) -> Vec<String> {
        let mut out = Vec::new();
        pod_spec(Some(&spec), "spec", ANY_RESTART, &mut out);
        out.iter().map(|c| c.field.clone().unwrap()).collect()
    }

    #[test]
    fn a_valid_pod_spec_has_no_causes() {
        let spec = json!({"containers": [{"name": "web", "image": "nginx",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}], "restartPolicy": "Always"});
        assert_eq!(fields(spec), Vec::<String>::new());
    }

    #[test]
    fn container_rules() {
        let spec = json!({"containers": [
            {"name": "web", "image": "a", "imagePullPolicy": "Sometimes"},
            {"name": "web", "image": "b", "ports": [{"containerPort": 0, "name": "HTTP"}]},
            {"name": "c", "image": "c", "volumeMounts": [{"name": "missing", "mountPath": "/m"}],
             "resources": {"requests": {"memory": "2Gi", "cpu": "-1"}, "limits": {"memory": "1Gi"}}}
        ], "restartPolicy": "Sometimes"});
        assert_eq!(
            fields(spec),
            [
                "spec.containers[0].imagePullPolicy",
                "spec.containers[1].name",
                // "HTTP": not lower case, and so no letter a-z.
                "spec.containers[1].ports[0].name",
                "spec.containers[1].ports[0].name",
                "spec.containers[1].ports[0].containerPort",
                "spec.containers[2].volumeMounts[0].name",
                "spec.containers[2].resources.requests[cpu]",
                "spec.containers[2].resources.requests",
                "spec.restartPolicy",
            ]
        );
    }

    #[test]
    fn container_restart_policy_only_always_on_init_containers() {
        let ok = json!({"initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "Always"}],
            "containers": [{"name": "web", "image": "w"}]});
        assert_eq!(fields(ok), Vec::<String>::new());
        let mut out = Vec::new();
        let bad = json!({"initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "OnFailure"}],
            "containers": [{"name": "web", "image": "w", "restartPolicy": "Always"}]});
        pod_spec(Some(&bad), "spec", ANY_RESTART, &mut out);
        let got: Vec<(String, &str, String)> = out
            .into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "spec.initContainers[0].restartPolicy".to_string(),
                    "FieldValueNotSupported",
                    "Unsupported value: \"OnFailure\": supported values: \"Always\"".to_string()
                ),
                (
                    "spec.containers[0].restartPolicy".to_string(),
                    "FieldValueForbidden",
                    "Forbidden: may not be set for non-init containers".to_string()
                ),
            ]
        );
    }
}

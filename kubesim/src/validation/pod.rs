//! A pod spec as `ValidatePodSpec` checks it, for Pods and every pod
//! template (Deployments, StatefulSets, ReplicaSets, Jobs, CronJobs):
//! containers (names, uniqueness, images, pull policy, ports, resources,
//! volume mounts, and through the sibling modules env, probes and
//! security contexts), volumes, tolerations, affinity and the restart
//! policy the owner allows.

use std::collections::HashSet;

use serde_json::Value;

use super::fields::{
    NEGATIVE, dns_label, dns_subdomain, duplicate, items, not_found, one_of, port_name,
    port_number, quantity, quantity_text, required, unique_label_name,
};
use super::{env, probes, scheduling, security, unvalidated, volumes};
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
    if let Some(spec) = spec {
        pod_fields(spec, prefix, out);
    }
    unvalidated::pod_spec(spec, prefix, out);
}

/// `validDNSPolicies` in the order the server lists them.
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];

/// The pod spec's own scalar fields: names, DNS policy, deadline, host
/// network ports, process namespace sharing, readiness gates.
fn pod_fields(spec: &Value, prefix: &str, out: &mut Vec<Cause>) {
    let s = |f: &str| spec.get(f).and_then(Value::as_str).unwrap_or("");
    let field = |f: &str| format!("{prefix}.{f}");
    for f in ["serviceAccountName", "nodeName", "schedulerName"] {
        if !s(f).is_empty() {
            dns_subdomain(out, &field(f), s(f));
        }
    }
    for f in ["hostname", "subdomain"] {
        if !s(f).is_empty() {
            dns_label(out, &field(f), s(f));
        }
    }
    crate::validate::label_causes(&field("nodeSelector"), spec.get("nodeSelector"), out);
    match spec.get("dnsPolicy").and_then(Value::as_str) {
        None => {}
        Some("") => out.push(Cause::required_bare(&field("dnsPolicy"))),
        Some(p) if !DNS_POLICIES.contains(&p) => out.push(Cause::not_supported(
            &field("dnsPolicy"),
            &format!("{p:?}"),
            DNS_POLICIES,
        )),
        Some("None") if spec.get("dnsConfig").is_none_or(Value::is_null) => {
            out.push(Cause::required(
                &field("dnsConfig"),
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ))
        }
        Some(_) => {}
    }
    if let Some(n) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&n)
    {
        out.push(super::fields::invalid_num(
            &field("activeDeadlineSeconds"),
            n,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    let flag = |f: &str| spec.get(f).and_then(Value::as_bool) == Some(true);
    if flag("hostNetwork") {
        // validateHostNetwork, after hostPort defaulted to containerPort.
        for (i, c) in items(Some(spec), "containers").iter().enumerate() {
            for (j, p) in items(Some(c), "ports").iter().enumerate() {
                let cp = p.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
                let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
                if hp != 0 && hp != cp {
                    out.push(super::fields::invalid_num(
                        &format!("{prefix}.containers[{i}].ports[{j}].hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    if flag("hostPID") && flag("shareProcessNamespace") {
        out.push(Cause::invalid_go(
            &format!("{prefix}.securityContext.shareProcessNamespace"),
            "true",
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    for (i, g) in items(Some(spec), "readinessGates").iter().enumerate() {
        let t = g.get("conditionType").and_then(Value::as_str).unwrap_or("");
        crate::validate::qualified_name_causes(
            &format!("{prefix}.readinessGates[{i}].conditionType"),
            t,
            out,
        );
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
    unique_label_name(out, &format!("{path}.name"), name, names);
    required(out, &format!("{path}.image"), c.get("image"));
    match c.get("terminationMessagePolicy").and_then(Value::as_str) {
        None => {}
        Some("") => out.push(Cause::required_bare(&format!(
            "{path}.terminationMessagePolicy"
        ))),
        Some(p) => one_of(
            out,
            &format!("{path}.terminationMessagePolicy"),
            Some(&Value::from(p)),
            &["File", "FallbackToLogsOnError"],
        ),
    }
    one_of(
        out,
        &format!("{path}.imagePullPolicy"),
        c.get("imagePullPolicy"),
        PULL_POLICIES,
    );
    ports(c, path, out);
    env::env(c, path, out);
    let mut mount_paths = HashSet::new();
    for (i, m) in items(Some(c), "volumeMounts").iter().enumerate() {
        let mpath = format!("{path}.volumeMounts[{i}]");
        let mount = m.get("mountPath").and_then(Value::as_str).unwrap_or("");
        if !mount.is_empty() && !mount_paths.insert(mount.to_string()) {
            out.push(Cause::invalid(
                &format!("{mpath}.mountPath"),
                mount,
                "must be unique",
            ));
        }
        if let Some(sub) = m
            .get("subPath")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            // validateLocalDescendingPath; the server's path has no index.
            volumes::descending_path(sub, &format!("{path}.volumeMounts.subPath"), out);
        }
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

    fn all(spec: Value) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        pod_spec(Some(&spec), "spec", ANY_RESTART, &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn pod_level_fields() {
        let ok = json!({"serviceAccountName": "bot", "nodeName": "node-1", "schedulerName": "default-scheduler",
            "hostname": "web-0", "subdomain": "web", "dnsPolicy": "ClusterFirstWithHostNet",
            "activeDeadlineSeconds": 60, "hostNetwork": true, "hostPID": true,
            "readinessGates": [{"conditionType": "example.com/ready"}],
            "containers": [{"name": "web", "image": "w", "terminationMessagePolicy": "FallbackToLogsOnError",
                "ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 81}],
                "volumeMounts": [{"name": "d", "mountPath": "/a", "subPath": "x/y"},
                                 {"name": "d", "mountPath": "/b"}]}],
            "volumes": [{"name": "d", "emptyDir": {}}]});
        assert_eq!(all(ok), []);
        let bad = json!({"serviceAccountName": "Bot", "hostname": "web.0", "dnsPolicy": "None",
            "nodeSelector": {"disk": "fast ssd"},
            "activeDeadlineSeconds": 0, "hostNetwork": true, "hostPID": true, "shareProcessNamespace": true,
            "readinessGates": [{"conditionType": "not ok"}],
            "containers": [{"name": "web", "image": "w", "terminationMessagePolicy": "Stdout",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "volumeMounts": [{"name": "d", "mountPath": "/a", "subPath": "../etc"},
                                 {"name": "d", "mountPath": "/a"}]}],
            "volumes": [{"name": "d", "emptyDir": {}}]});
        let got = all(bad);
        let fields: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            fields,
            [
                (
                    "spec.containers[0].terminationMessagePolicy",
                    "FieldValueNotSupported"
                ),
                (
                    "spec.containers[0].volumeMounts.subPath",
                    "FieldValueInvalid"
                ),
                (
                    "spec.containers[0].volumeMounts[1].mountPath",
                    "FieldValueInvalid"
                ),
                ("spec.serviceAccountName", "FieldValueInvalid"),
                ("spec.hostname", "FieldValueInvalid"),
                ("spec.nodeSelector", "FieldValueInvalid"),
                ("spec.dnsConfig", "FieldValueRequired"),
                ("spec.activeDeadlineSeconds", "FieldValueInvalid"),
                ("spec.containers[0].ports[0].hostPort", "FieldValueInvalid"),
                (
                    "spec.securityContext.shareProcessNamespace",
                    "FieldValueInvalid"
                ),
                ("spec.readinessGates[0].conditionType", "FieldValueInvalid"),
            ]
        );
        let msg = |f: &str| got.iter().find(|(g, _, _)| g == f).unwrap().2.clone();
        assert_eq!(
            msg("spec.containers[0].ports[0].hostPort"),
            "Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"
        );
        assert_eq!(
            msg("spec.containers[0].volumeMounts[1].mountPath"),
            "Invalid value: \"/a\": must be unique"
        );
        assert_eq!(
            msg("spec.dnsConfig"),
            "Required value: must provide `dnsConfig` when `dnsPolicy` is None"
        );
    }

    #[test]
    fn unvalidated_volume_sources_are_refused() {
        let got = all(
            json!({"containers": [{"name": "web", "image": "w"}], "volumes": [
            {"name": "n", "nfs": {"server": "s", "path": "/"}},
            {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}},
                {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}]}),
        );
        assert_eq!(
            got.iter()
                .map(|(f, r, _)| (f.as_str(), *r))
                .collect::<Vec<_>>(),
            [
                ("spec.volumes[0].nfs", "FieldValueForbidden"),
                (
                    "spec.volumes[1].projected.sources[0].serviceAccountToken",
                    "FieldValueForbidden"
                ),
            ]
        );
        assert_eq!(got[0].2, format!("Forbidden: {}", unvalidated::MESSAGE));
    }
}

//! What the real server's defaulting functions (and create strategies)
//! add to the objects clients read back: workload specs, pod templates,
//! containers, Services, PVCs, NetworkPolicies, and canonical quantities
//! (`1000m` → `1`). After a server-side apply nobody owns these fields,
//! so an apply that omits them keeps them, and pruning a field resets it
//! to its default (a Deployment's `replicas` to 1).
//!
//! # Caveats
//! Only the defaults of the served kinds' commonly used fields are
//! written (fixtures 06, 08, 11, 12, 13, 22); Pod-only defaults
//! (`enableServiceLinks`, priority, requests copied from limits) are not.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;
use crate::schema::{self, Ty};

fn obj<'a>(m: &'a mut Map<String, Value>, k: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(k).and_then(Value::as_object_mut)
}

fn or(m: &mut Map<String, Value>, k: &str, v: Value) {
    if m.get(k).is_none_or(Value::is_null) {
        m.insert(k.to_string(), v);
    }
}

/// Fills in the defaults of `o` (a whole object of kind `rt`).
pub fn apply(rt: &ResourceType, o: &mut Map<String, Value>) {
    match (rt.group, rt.kind) {
        ("apps", "Deployment") => {
            if let Some(s) = spec(o) {
                or(s, "replicas", json!(1));
                let strategy = s
                    .entry("strategy")
                    .or_insert_with(|| json!({}))
                    .as_object_mut();
                if let Some(st) = strategy {
                    or(st, "type", json!("RollingUpdate"));
                    if st["type"] == "RollingUpdate" {
                        let ru = st.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            or(ru, "maxUnavailable", json!("25%"));
                            or(ru, "maxSurge", json!("25%"));
                        }
                    }
                }
                or(s, "revisionHistoryLimit", json!(10));
                or(s, "progressDeadlineSeconds", json!(600));
                template(s);
            }
        }
        ("apps", "ReplicaSet") => {
            if let Some(s) = spec(o) {
                or(s, "replicas", json!(1));
                template(s);
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(s) = spec(o) {
                or(s, "replicas", json!(1));
                or(s, "podManagementPolicy", json!("OrderedReady"));
                let us = s.entry("updateStrategy").or_insert_with(|| json!({}));
                if let Some(us) = us.as_object_mut() {
                    or(us, "type", json!("RollingUpdate"));
                    if us["type"] == "RollingUpdate" {
                        let ru = us.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            or(ru, "partition", json!(0));
                        }
                    }
                }
                or(s, "revisionHistoryLimit", json!(10));
                let p = s
                    .entry("persistentVolumeClaimRetentionPolicy")
                    .or_insert_with(|| json!({}));
                if let Some(p) = p.as_object_mut() {
                    or(p, "whenDeleted", json!("Retain"));
                    or(p, "whenScaled", json!("Retain"));
                }
                if let Some(Value::Array(vcts)) = s.get_mut("volumeClaimTemplates") {
                    for t in vcts.iter_mut().filter_map(Value::as_object_mut) {
                        t.insert("kind".into(), json!("PersistentVolumeClaim"));
                        t.insert("apiVersion".into(), json!("v1"));
                        if let Some(m) = obj(t, "metadata") {
                            or(m, "creationTimestamp", Value::Null);
                        }
                        if let Some(sp) = obj(t, "spec") {
                            or(sp, "volumeMode", json!("Filesystem"));
                        }
                        or(t, "status", json!({"phase": "Pending"}));
                    }
                }
                template(s);
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(s) = spec(o) {
                let us = s.entry("updateStrategy").or_insert_with(|| json!({}));
                if let Some(us) = us.as_object_mut() {
                    or(us, "type", json!("RollingUpdate"));
                    if us["type"] == "RollingUpdate" {
                        let ru = us.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            or(ru, "maxUnavailable", json!(1));
                            or(ru, "maxSurge", json!(0));
                        }
                    }
                }
                or(s, "revisionHistoryLimit", json!(10));
                template(s);
            }
        }
        ("batch", "Job") => {
            if let Some(s) = spec(o) {
                job_spec(s);
            }
        }
        ("batch", "CronJob") => {
            if let Some(s) = spec(o) {
                or(s, "concurrencyPolicy", json!("Allow"));
                or(s, "suspend", json!(false));
                or(s, "successfulJobsHistoryLimit", json!(3));
                or(s, "failedJobsHistoryLimit", json!(1));
                if let Some(jt) = obj(s, "jobTemplate") {
                    let m = jt.entry("metadata").or_insert_with(|| json!({}));
                    if let Some(m) = m.as_object_mut() {
                        or(m, "creationTimestamp", Value::Null);
                    }
                    if let Some(js) = obj(jt, "spec") {
                        template(js);
                    }
                }
            }
        }
        ("", "Pod") => {
            if let Some(s) = spec(o) {
                pod_spec(s);
            }
        }
        ("", "Service") => {
            if let Some(s) = spec(o) {
                or(s, "type", json!("ClusterIP"));
                or(s, "sessionAffinity", json!("None"));
                if s["type"] != "ExternalName" {
                    or(s, "internalTrafficPolicy", json!("Cluster"));
                }
                if let Some(Value::Array(ports)) = s.get_mut("ports") {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        or(p, "protocol", json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            or(p, "targetPort", port);
                        }
                    }
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(s) = spec(o) {
                or(s, "volumeMode", json!("Filesystem"));
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            if let Some(s) = spec(o) {
                if s.get("policyTypes").is_none_or(Value::is_null) {
                    let mut t = vec![json!("Ingress")];
                    if s.get("egress").is_some_and(|e| !e.is_null()) {
                        t.push(json!("Egress"));
                    }
                    s.insert("policyTypes".into(), Value::Array(t));
                }
                for dir in ["ingress", "egress"] {
                    if let Some(Value::Array(rules)) = s.get_mut(dir) {
                        for r in rules.iter_mut().filter_map(Value::as_object_mut) {
                            if let Some(Value::Array(ports)) = r.get_mut("ports") {
                                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                                    or(p, "protocol", json!("TCP"));
                                }
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(root) = schema::root(rt) {
        let mut v = Value::Object(std::mem::take(o));
        quantities(&Ty::Object(root), &mut v);
        if let Value::Object(m) = v {
            *o = m;
        }
    }
}

/// What create strategies and admission add after the field manager has
/// run (so nobody owns it): a Job's generated selector and labels, and,
/// when `protect_claims` (the controllers run, whose pvc-protection
/// controller removes it again), a PVC's `kubernetes.io/pvc-protection`
/// finalizer.
pub fn admit(rt: &ResourceType, o: &mut Map<String, Value>, protect_claims: bool) {
    let uid = crate::object::meta_str(o, "uid").unwrap_or("").to_string();
    let name = crate::object::meta_str(o, "name").unwrap_or("").to_string();
    if (rt.group, rt.kind) == ("batch", "Job")
        && let Some(s) = spec(o)
    {
        job_selector(s, &uid, &name);
    }
    if (rt.group, rt.kind) == ("", "PersistentVolumeClaim") && protect_claims {
        let meta = crate::object::meta_mut(o);
        let f = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(a) = f.as_array_mut()
            && !a.iter().any(|x| x == "kubernetes.io/pvc-protection")
        {
            a.push(json!("kubernetes.io/pvc-protection"));
        }
    }
}

fn job_selector(s: &mut Map<String, Value>, uid: &str, name: &str) {
    if s.get("manualSelector") != Some(&json!(true)) && !uid.is_empty() {
        s.insert(
            "selector".into(),
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        or(s, "manualSelector", json!(false));
        let t = s.entry("template").or_insert_with(|| json!({}));
        if let Some(t) = t.as_object_mut() {
            let m = crate::object::meta_mut(t);
            let l = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = l.as_object_mut() {
                l.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
                l.insert("batch.kubernetes.io/job-name".into(), json!(name));
                l.insert("controller-uid".into(), json!(uid));
                l.insert("job-name".into(), json!(name));
            }
        }
    }
}

/// The status a kind with a status subresource is created with: Go's zero
/// values of its non-omitempty fields.
pub fn initial_status(rt: &ResourceType) -> Value {
    match (rt.group, rt.kind) {
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("networking.k8s.io", "Ingress") | ("", "Service") => json!({"loadBalancer": {}}),
        ("policy", "PodDisruptionBudget") => json!({
            "disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0
        }),
        ("autoscaling", "HorizontalPodAutoscaler") => json!({"desiredReplicas": 0}),
        ("", "PersistentVolumeClaim") => json!({"phase": "Pending"}),
        ("apps", "ReplicaSet") => json!({"replicas": 0}),
        ("apps", "DaemonSet") => json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0
        }),
        _ => json!({}),
    }
}

fn spec(o: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    obj(o, "spec")
}

fn job_spec(s: &mut Map<String, Value>) {
    or(s, "parallelism", json!(1));
    or(s, "completions", json!(1));
    or(s, "backoffLimit", json!(6));
    or(s, "completionMode", json!("NonIndexed"));
    or(s, "suspend", json!(false));
    or(s, "podReplacementPolicy", json!("TerminatingOrFailed"));
    template(s);
}

/// `spec.template` of a workload: metadata as the server serialises an
/// empty creation time, and the pod spec's defaults.
fn template(s: &mut Map<String, Value>) {
    let Some(t) = obj(s, "template") else { return };
    let m = t.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = m.as_object_mut() {
        or(m, "creationTimestamp", Value::Null);
    }
    if let Some(ps) = obj(t, "spec") {
        pod_spec(ps);
    }
}

fn pod_spec(s: &mut Map<String, Value>) {
    let host_network = s.get("hostNetwork") == Some(&Value::Bool(true));
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = s.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
                if host_network {
                    host_network_ports(c);
                }
            }
        }
    }
    if let Some(Value::Array(vs)) = s.get_mut("volumes") {
        for v in vs.iter_mut().filter_map(Value::as_object_mut) {
            for src in ["configMap", "secret", "downwardAPI", "projected"] {
                if let Some(x) = obj(v, src) {
                    or(x, "defaultMode", json!(420));
                }
            }
            if let Some(h) = obj(v, "hostPath") {
                or(h, "type", json!(""));
            }
        }
    }
    or(s, "restartPolicy", json!("Always"));
    or(s, "terminationGracePeriodSeconds", json!(30));
    or(s, "dnsPolicy", json!("ClusterFirst"));
    if let Some(sa) = s.get("serviceAccountName").cloned() {
        or(s, "serviceAccount", sa);
    }
    or(s, "securityContext", json!({}));
    or(s, "schedulerName", json!("default-scheduler"));
}

/// `defaultHostNetworkPorts`: on the host network a port's hostPort is
/// its containerPort.
fn host_network_ports(c: &mut Map<String, Value>) {
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                && let Some(cp) = p.get("containerPort").cloned()
            {
                p.insert("hostPort".into(), cp);
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            or(p, "protocol", json!("TCP"));
        }
    }
    if let Some(Value::Array(env)) = c.get_mut("env") {
        for e in env.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(f) = obj(e, "valueFrom").and_then(|v| obj(v, "fieldRef")) {
                or(f, "apiVersion", json!("v1"));
            }
        }
    }
    or(c, "resources", json!({}));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = obj(c, probe) {
            or(p, "timeoutSeconds", json!(1));
            or(p, "periodSeconds", json!(10));
            or(p, "successThreshold", json!(1));
            or(p, "failureThreshold", json!(3));
            if let Some(h) = obj(p, "httpGet") {
                or(h, "scheme", json!("HTTP"));
            }
        }
    }
    or(c, "terminationMessagePath", json!("/dev/termination-log"));
    or(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_is_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    or(c, "imagePullPolicy", json!(policy));
}

/// `:latest` or no tag (and no digest) pulls Always.
fn image_is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// Canonicalises every Quantity in `v` (of type `ty`).
fn quantities(ty: &Ty, v: &mut Value) {
    match (ty, v) {
        (Ty::Object(i), v) if schema::type_def(*i).name == QUANTITY => {
            if let Some(c) = v.as_str().and_then(canonical_quantity) {
                *v = Value::String(c);
            }
        }
        (Ty::Object(i), Value::Object(m)) => {
            for (k, x) in m.iter_mut() {
                if let Some(t) = schema::field(*i, k) {
                    quantities(t, x);
                }
            }
        }
        (Ty::List(e, _), Value::Array(a)) => a.iter_mut().for_each(|x| quantities(e, x)),
        (Ty::Map(e), Value::Object(m)) => m.values_mut().for_each(|x| quantities(e, x)),
        _ => {}
    }
}

/// A quantity's value in nano-units (`1Gi` → 1073741824 × 10⁹); `None`
/// when it cannot be parsed.
pub fn quantity_nanos(s: &str) -> Option<i128> {
    let c = canonical_quantity(s)?;
    let split = c
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '-'))
        .unwrap_or(c.len());
    let (num, sfx) = c.split_at(split);
    let n: i128 = num.parse().ok()?;
    let mult: i128 = match sfx {
        "n" => 1,
        "u" => 1_000,
        "m" => 1_000_000,
        "" => 1_000_000_000,
        "k" => 1_000_000_000_000,
        "M" => 1_000_000_000_000_000,
        "G" => 1_000_000_000_000_000_000,
        "T" => 1_000_000_000_000_000_000_000,
        "P" => 1_000_000_000_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000_000_000_000,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let p = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                .iter()
                .position(|x| *x == sfx)? as u32
                + 1;
            (1i128 << (10 * p)) * 1_000_000_000
        }
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A quantity in the real server's canonical form: `1000m` → `1`, `0.5` →
/// `500m`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`. `None` for what it cannot
/// parse (left as sent) and for exponent forms (`1e3`, kept).
pub fn canonical_quantity(s: &str) -> Option<String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() || num == "." {
        return None;
    }
    let negative = num.starts_with('-');
    let num = num.trim_start_matches(['+', '-']);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    // Value in nano-units.
    let mut nanos: i128 = int.parse::<i128>().unwrap_or(0) * 1_000_000_000;
    if !frac.is_empty() {
        let f = format!("{frac:0<9}");
        nanos += f.parse::<i128>().ok()?;
    }
    let decimal_exp = |e: u32| Some((e, false));
    let (exp, is_binary) = match suffix {
        "" => (0, false),
        "n" => return decimal(negative, ceil_div(nanos, 1_000_000_000)),
        "u" => return decimal(negative, ceil_div(nanos, 1_000_000)),
        "m" => return decimal(negative, ceil_div(nanos, 1_000)),
        "k" => decimal_exp(3)?,
        "M" => decimal_exp(6)?,
        "G" => decimal_exp(9)?,
        "T" => decimal_exp(12)?,
        "P" => decimal_exp(15)?,
        "E" => decimal_exp(18)?,
        "Ki" => (1, true),
        "Mi" => (2, true),
        "Gi" => (3, true),
        "Ti" => (4, true),
        "Pi" => (5, true),
        "Ei" => (6, true),
        _ => return None,
    };
    if !is_binary {
        return decimal(negative, nanos.checked_mul(10i128.pow(exp))?);
    }
    let total = nanos.checked_mul(1i128 << (10 * exp))?;
    if total % 1_000_000_000 == 0 && total / 1_000_000_000 >= 1024 {
        let mut m = total / 1_000_000_000;
        let mut p = 0;
        while p < 6 && m % 1024 == 0 {
            m /= 1024;
            p += 1;
        }
        let sfx = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][p];
        let sign = if negative { "-" } else { "" };
        return Some(format!("{sign}{m}{sfx}"));
    }
    decimal(negative, total)
}

fn ceil_div(a: i128, b: i128) -> i128 {
    (a + b - 1) / b
}

/// Decimal SI form of a value in nano-units: the largest suffix that keeps
/// the number whole.
fn decimal(negative: bool, nanos: i128) -> Option<String> {
    if nanos == 0 {
        return Some("0".into());
    }
    let suffixes = [
        (0, "n"),
        (3, "u"),
        (6, "m"),
        (9, ""),
        (12, "k"),
        (15, "M"),
        (18, "G"),
        (21, "T"),
        (24, "P"),
        (27, "E"),
    ];
    let mut best = (nanos, "n");
    for (e, sfx) in suffixes {
        let div = 10i128.pow(e);
        if nanos % div == 0 {
            best = (nanos / div, sfx);
        }
    }
    let sign = if negative { "-" } else { "" };
    Some(format!("{sign}{}{}", best.0, best.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_canonical() {
        for (i, o) in [
            ("1000m", "1"),
            ("0.5", "500m"),
            ("500m", "500m"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("100M", "100M"),
            ("1000k", "1M"),
            ("2", "2"),
            ("128974848", "128974848"),
            ("0", "0"),
            ("100Mi", "100Mi"),
            ("512", "512"),
        ] {
            assert_eq!(canonical_quantity(i).as_deref(), Some(o), "{i}");
        }
        assert_eq!(canonical_quantity("1e3"), None);
        assert_eq!(quantity_nanos("1Gi"), Some(1_073_741_824_000_000_000));
        assert!(quantity_nanos("500Mi") < quantity_nanos("1Gi"));
        assert_eq!(quantity_nanos("1500m"), Some(1_500_000_000));
    }

    #[test]
    fn latest_images_pull_always() {
        assert!(image_is_latest("nginx"));
        assert!(image_is_latest("nginx:latest"));
        assert!(image_is_latest("localhost:5000/nginx"));
        assert!(!image_is_latest("localhost:5000/nginx:1.27"));
        assert!(!image_is_latest("nginx@sha256:abc"));
    }
}

//! ConfigMaps and Secrets (keys, size, TLS keys), PersistentVolumeClaims
//! (access modes, storage request), HorizontalPodAutoscalers (replica
//! bounds, target, metrics) and PodDisruptionBudgets (exclusive fields).

use serde_json::Value;

use super::fields::{
    at, int_or_percent, invalid_num, items, one_of, present, quantity, quantity_text, str_at,
};
use crate::error::Cause;
use crate::validate;

const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn key_causes(field: &str, key: &str, out: &mut Vec<Cause>) {
    if key.len() > 253 {
        out.push(Cause::invalid(
            field,
            key,
            "must be no more than 253 characters",
        ));
    }
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !ok {
        out.push(Cause::invalid(field, key, CONFIG_KEY_MSG));
    }
    match key {
        "." => out.push(Cause::invalid(field, key, "must not be '.'")),
        ".." => out.push(Cause::invalid(field, key, "must not be '..'")),
        k if k.starts_with("..") => {
            out.push(Cause::invalid(field, key, "must not start with '..'"))
        }
        _ => {}
    }
}

/// `data` and `binaryData` keys: config keys, none in both.
pub fn config_keys(obj: &Value, out: &mut Vec<Cause>) {
    let data = obj.get("data").and_then(Value::as_object);
    for k in data.into_iter().flat_map(|m| m.keys()) {
        key_causes(&format!("data[{k}]"), k, out);
    }
    for k in obj
        .get("binaryData")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
    {
        key_causes(&format!("binaryData[{k}]"), k, out);
        if data.is_some_and(|d| d.contains_key(k)) {
            out.push(Cause::invalid(
                &format!("binaryData[{k}]"),
                k,
                "duplicate of key present in data",
            ));
        }
    }
}

/// The 1 MiB limit on a ConfigMap's or Secret's data.
pub fn data_size(obj: &Value, out: &mut Vec<Cause>) {
    let secret =
        obj.get("kind").and_then(Value::as_str) == Some("Secret") || obj.get("type").is_some();
    let size: usize = ["data", "binaryData"]
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.iter())
        .map(|(k, v)| {
            let text = v.as_str().unwrap_or_default();
            if secret {
                crate::base64::decode(text).map_or(text.len(), |b| b.len())
            } else {
                k.len() + text.len()
            }
        })
        .sum();
    const MAX: usize = 1024 * 1024;
    if size > MAX {
        out.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {MAX} bytes"),
            field: secret.then(|| "data".to_string()),
        });
    }
}

/// A `kubernetes.io/tls` Secret needs both `tls.crt` and `tls.key`.
pub fn secret_type(obj: &Value, out: &mut Vec<Cause>) {
    if str_at(obj, "type") == Some("kubernetes.io/tls") {
        for k in ["tls.crt", "tls.key"] {
            if obj.get("data").and_then(|d| d.get(k)).is_none() {
                out.push(Cause::required_bare(&format!("data[{k}]")));
            }
        }
    }
}

pub fn pvc(obj: &Value, out: &mut Vec<Cause>) {
    let modes = items(at(obj, "spec"), "accessModes");
    if modes.is_empty() {
        out.push(Cause::required(
            "spec.accessModes",
            "at least 1 access mode is required",
        ));
    }
    for m in modes {
        one_of(out, "spec.accessModes", Some(m), ACCESS_MODES);
    }
    let storage = obj
        .pointer("/spec/resources/requests/storage")
        .filter(|v| !v.is_null());
    match storage {
        None => out.push(Cause::required_bare("spec.resources[storage]")),
        Some(q) if quantity(q).is_some_and(|n| n <= 0) => out.push(Cause::invalid(
            "spec.resources[storage]",
            &quantity_text(q),
            "must be greater than zero",
        )),
        Some(_) => {}
    }
}

const METRIC_TYPES: &[&str] = &[
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];
const TARGET_TYPES: &[&str] = &["AverageValue", "Utilization", "Value"];

pub fn hpa(obj: &Value, out: &mut Vec<Cause>) {
    for f in ["kind", "name"] {
        if str_at(obj, &format!("spec.scaleTargetRef.{f}")).is_none_or(str::is_empty) {
            out.push(Cause::required_bare(&format!("spec.scaleTargetRef.{f}")));
        }
    }
    let min = at(obj, "spec.minReplicas").and_then(Value::as_i64);
    let max = at(obj, "spec.maxReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(m) = min.filter(|m| *m < 1) {
        out.push(invalid_num(
            "spec.minReplicas",
            m,
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        out.push(invalid_num(
            "spec.maxReplicas",
            max,
            "must be greater than 0",
        ));
    }
    if let Some(m) = min
        && max < m
    {
        out.push(invalid_num(
            "spec.maxReplicas",
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    for (i, m) in items(at(obj, "spec"), "metrics").iter().enumerate() {
        let path = format!("spec.metrics[{i}]");
        match m.get("type").and_then(Value::as_str) {
            None => out.push(Cause::required(
                &format!("{path}.type"),
                "must specify a metric source type",
            )),
            Some(t) => {
                one_of(out, &format!("{path}.type"), m.get("type"), METRIC_TYPES);
                if t == "Resource" {
                    resource_metric(m, &path, out);
                }
            }
        }
    }
}

fn resource_metric(m: &Value, path: &str, out: &mut Vec<Cause>) {
    let r = m.get("resource");
    if r.and_then(|r| r.get("name"))
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        out.push(Cause::required_bare(&format!("{path}.resource.name")));
    }
    let target = r.and_then(|r| r.get("target"));
    let tpath = format!("{path}.resource.target");
    match target.and_then(|t| t.get("type")) {
        None => out.push(Cause::required_bare(&format!("{tpath}.type"))),
        Some(ty) => one_of(out, &format!("{tpath}.type"), Some(ty), TARGET_TYPES),
    }
    if let Some(u) = target
        .and_then(|t| t.get("averageUtilization"))
        .and_then(Value::as_i64)
        && u <= 0
    {
        out.push(invalid_num(
            &format!("{tpath}.averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
}

/// Go's `%#v` of a `policy.PodDisruptionBudgetSpec` (pointers are
/// made up; the real ones are heap addresses).
fn go_pdb_spec(obj: &Value) -> String {
    let ptr = |f: &str, ty: &str, n: u32| {
        if present(obj, &format!("spec.{f}")).is_some() {
            format!("({ty})(0xc000{n:06x})")
        } else {
            format!("({ty})(nil)")
        }
    };
    format!(
        "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, Selector:{}, MaxUnavailable:{}, UnhealthyPodEvictionPolicy:{}}}",
        ptr("minAvailable", "*intstr.IntOrString", 0x10),
        ptr("selector", "*v1.LabelSelector", 0x20),
        ptr("maxUnavailable", "*intstr.IntOrString", 0x30),
        ptr(
            "unhealthyPodEvictionPolicy",
            "*policy.UnhealthyPodEvictionPolicyType",
            0x40
        ),
    )
}

pub fn pdb(obj: &Value, out: &mut Vec<Cause>) {
    let (min, max) = (
        present(obj, "spec.minAvailable"),
        present(obj, "spec.maxUnavailable"),
    );
    if min.is_some() && max.is_some() {
        out.push(Cause::invalid_go(
            "spec",
            &go_pdb_spec(obj),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    int_or_percent(out, "spec.minAvailable", min, true);
    int_or_percent(out, "spec.maxUnavailable", max, true);
    one_of(
        out,
        "spec.unhealthyPodEvictionPolicy",
        at(obj, "spec.unhealthyPodEvictionPolicy"),
        &["AlwaysAllow", "IfHealthyBudget"],
    );
    validate::label_causes(
        "spec.selector.matchLabels",
        at(obj, "spec.selector.matchLabels"),
        out,
    );
}

//! ConfigMaps and Secrets (keys, size, TLS keys), PersistentVolumeClaims
//! (access modes, storage request) and PodDisruptionBudgets (exclusive
//! fields).

use serde_json::Value;

use super::fields::{at, int_or_percent, items, one_of, present, quantity, quantity_text, str_at};
use crate::error::Cause;
use crate::validate;

const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

pub(super) fn key_causes(field: &str, key: &str, out: &mut Vec<Cause>) {
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
    if let Some(c) = at(obj, "spec.storageClassName")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        // `ValidateClassName`: a DNS subdomain.
        super::fields::dns_subdomain(out, "spec.storageClassName", c);
    }
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

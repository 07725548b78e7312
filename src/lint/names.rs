//! Names the API server validates by syntax: object names (DNS-1123
//! subdomains, DNS-1035 labels for Services), namespaces, container,
//! volume and port names, and label keys and values (the 63-character
//! limit). A wrong name renders fine and fails only at apply.

use serde_json::{Map, Value};

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{field, items, join_path};
use super::pods::PodTemplate;
use crate::manifest::Object;

pub use crate::names::dns1123_label;

/// A DNS-1035 label (at most 63 characters).
pub fn dns1035_label(s: &str) -> Result<(), String> {
    crate::names::dns1035_label(s, 63)
}

/// Dot-separated DNS-1123 labels, ≤ 253 characters.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!(
            "it has {} characters, at most 253 are allowed",
            s.len()
        ));
    }
    s.split('.').try_for_each(|part| dns1123_label(part, 63))
}

/// A named port: ≤ 15 characters of `[a-z0-9-]`, at least one letter, no
/// `--`, alphanumeric at both ends (IANA service name).
pub fn port_name(s: &str) -> Result<(), String> {
    dns1123_label(s, 15)?;
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        return Err("it must contain a letter".into());
    }
    if s.contains("--") {
        return Err("it must not contain '--'".into());
    }
    Ok(())
}

/// `[prefix/]name`: prefix a DNS-1123 subdomain, name ≤ 63 characters of
/// `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn label_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns1123_subdomain(p).map_err(|r| format!("its prefix `{p}` is invalid: {r}"))?;
    }
    if name.is_empty() {
        return Err("its name part is empty".into());
    }
    label_value(name)
}

/// ≤ 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends (or empty).
pub fn label_value(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!(
            "it has {} characters, at most 63 are allowed",
            s.len()
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err("use only letters, digits, '.', '_' and '-'".into());
    }
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    if !edge(s.chars().next()) || !edge(s.chars().last()) {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

pub fn check(ctx: &Context, out: &mut Findings) {
    for (o, at) in ctx.each() {
        object_names(o, &at, out);
    }
    for pod in &ctx.pods {
        pod_names(pod, out);
    }
}

/// An object's own name and namespace, its labels, annotations,
/// selectors, Service port names and claim template names.
fn object_names(o: &Object, at: &Subject, out: &mut Findings) {
    let name_rule: fn(&str) -> Result<(), String> = match o.kind() {
        "Service" => dns1035_label,
        "Namespace" | "StatefulSet" | "Job" => |s| dns1123_label(s, 63),
        "CronJob" => |s| dns1123_label(s, 52),
        _ => dns1123_subdomain,
    };
    name(out, at, "metadata.name", o.name(), name_rule);
    if !o.namespace().is_empty() {
        name(out, at, "metadata.namespace", o.namespace(), |s| {
            dns1123_label(s, 63)
        });
    }
    labels(
        out,
        at,
        "metadata.labels",
        o.value.pointer("/metadata/labels"),
        true,
    );
    labels(
        out,
        at,
        "metadata.annotations",
        o.value.pointer("/metadata/annotations"),
        false,
    );
    for sel in [
        "/spec/selector/matchLabels",
        "/spec/podSelector/matchLabels",
    ] {
        let path = sel.trim_start_matches('/').replace('/', ".");
        labels(out, at, &path, o.value.pointer(sel), true);
    }
    if o.kind() == "Service" {
        labels(
            out,
            at,
            "spec.selector",
            o.value.pointer("/spec/selector"),
            true,
        );
        for (path, port) in items(&o.value["spec"], "spec", "ports") {
            if let Some(n) = port.get("name").and_then(Value::as_str) {
                name(out, at, &join_path(&path, "name"), n, |s| {
                    dns1123_label(s, 63)
                });
            }
        }
    }
    for (path, t) in items(&o.value["spec"], "spec", "volumeClaimTemplates") {
        if let Some(n) = t.pointer("/metadata/name").and_then(Value::as_str) {
            name(out, at, &field(&path, "metadata.name"), n, |s| {
                dns1123_label(s, 63)
            });
        }
    }
}

/// A pod template's labels, container, port and volume names.
fn pod_names(pod: &PodTemplate, out: &mut Findings) {
    let at = Subject::object(pod.object, pod.index);
    if !pod.path.is_empty() {
        let template_labels = Value::Object(pod.labels.clone());
        labels(out, &at, &pod.labels_path(), Some(&template_labels), true);
    }
    for c in pod.containers() {
        name(out, &at, &join_path(&c.path, "name"), c.name(), |s| {
            dns1123_label(s, 63)
        });
        for (path, port) in items(c.value, &c.path, "ports") {
            if let Some(n) = port.get("name").and_then(Value::as_str) {
                name(out, &at, &join_path(&path, "name"), n, port_name);
            }
        }
    }
    for (path, v) in items(pod.spec, &pod.spec_path(), "volumes") {
        let n = v.get("name").and_then(Value::as_str).unwrap_or("");
        name(out, &at, &join_path(&path, "name"), n, |s| {
            dns1123_label(s, 63)
        });
    }
}

fn name(
    out: &mut Findings,
    at: &Subject,
    path: &str,
    value: &str,
    rule: impl Fn(&str) -> Result<(), String>,
) {
    if let Err(reason) = rule(value) {
        out.error(
            "semantics/name",
            at,
            path,
            format!("`{value}` is not a valid name here: {reason}"),
            "use lowercase letters, digits and '-' (a letter first for Services and port names; ports at most 15 characters)",
        );
    }
}

/// Label (or annotation) keys, and label values when `values`.
fn labels(out: &mut Findings, at: &Subject, base: &str, map: Option<&Value>, values: bool) {
    let Some(map) = map.and_then(Value::as_object) else {
        return;
    };
    let map: &Map<String, Value> = map;
    for (k, v) in map {
        let path = join_path(base, k);
        if let Err(reason) = label_key(k) {
            out.error(
                "semantics/label",
                at,
                &path,
                format!("key `{k}` is invalid: {reason}"),
                "use [prefix/]name, the name at most 63 characters of letters, digits, '.', '_' and '-'",
            );
        }
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if values && let Err(reason) = label_value(&text) {
            out.error(
                "semantics/label",
                at,
                &path,
                format!("value `{text}` is invalid: {reason}"),
                "label values are at most 63 characters of letters, digits, '.', '_' and '-'; put longer text in an annotation",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        assert!(dns1123_subdomain("thebot-dev-backend").is_ok());
        assert!(dns1123_subdomain("a.b-c").is_ok());
        assert!(dns1123_subdomain("Bad_Name").is_err());
        assert!(dns1035_label("1abc").is_err());
        assert!(port_name("http").is_ok());
        assert!(port_name("http-frontend-port").is_err());
        assert!(port_name("a--b").is_err());
        assert!(label_key("app.kubernetes.io/name").is_ok());
        assert!(label_key("checksum/config").is_ok());
        assert!(label_key("Bad Key").is_err());
        assert!(label_value(&"a".repeat(63)).is_ok());
        assert!(label_value(&"a".repeat(64)).is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("-x").is_err());
    }
}

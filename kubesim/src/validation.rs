//! Semantic validation per kind, the part of the real server's
//! `Validate`/`ValidateUpdate` that thebot's objects can trip: workload
//! selectors and templates, containers, immutable fields (a workload's
//! selector, a Job's template, an immutable ConfigMap/Secret's data), the
//! 1 MiB limit on ConfigMap/Secret data, and Service ports. Messages
//! follow the real ones (fixtures 07, 12).
//!
//! # Caveats
//! Far from complete; a real server checks much more (resource quantities,
//! probes, volumes...). Messages that embed a Go struct dump (a Job's
//! template) are shortened.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, Cause};
use crate::resources::ResourceType;
use crate::validate;

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Go's `%#v` of a `map[string]string` (keys sorted).
fn go_map(m: &BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return "map[string]string(nil)".to_string();
    }
    let items: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// Go's `%#v` of a `v1.LabelSelector`.
fn go_selector(sel: &Value) -> String {
    let labels = string_map(sel.get("matchLabels"));
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => format!("[]v1.LabelSelectorRequirement{{/* {} */}}", a.len()),
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_map(&labels)
    )
}

/// Whether `labels` satisfy a LabelSelector object.
fn selector_matches(sel: &Value, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = string_map(sel.get("matchLabels"))
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let have = labels.get(key).map(String::as_str);
                match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                    "In" => have.is_some_and(|h| values.contains(&h)),
                    "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
        })
        .unwrap_or(true);
    by_labels && by_exprs
}

fn pod_spec_causes(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        None => out.push(Cause::required_bare(&format!("{prefix}.containers"))),
        Some(list) if list.is_empty() => {
            out.push(Cause::required_bare(&format!("{prefix}.containers")))
        }
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                for f in ["name", "image"] {
                    if c.get(f).and_then(Value::as_str).unwrap_or("").is_empty() {
                        out.push(Cause::required_bare(&format!(
                            "{prefix}.containers[{i}].{f}"
                        )));
                    }
                }
            }
        }
    }
}

fn workload_causes(obj: &Value, out: &mut Vec<Cause>) {
    let template = get(obj, &["spec", "template"]);
    match get(obj, &["spec", "selector"]) {
        None => out.push(Cause::required_bare("spec.selector")),
        Some(sel) => {
            let labels = string_map(template.and_then(|t| get(t, &["metadata", "labels"])));
            if !selector_matches(sel, &labels) {
                out.push(Cause::invalid_go(
                    "spec.template.metadata.labels",
                    &go_map(&labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    pod_spec_causes(
        template.and_then(|t| t.get("spec")),
        "spec.template.spec",
        out,
    );
}

/// Causes that make a new object invalid.
fn object_causes(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let meta = obj.get("metadata");
    validate::label_causes(
        "metadata.labels",
        meta.and_then(|m| m.get("labels")),
        &mut out,
    );
    validate::annotation_causes(meta.and_then(|m| m.get("annotations")), &mut out);
    for (field, path) in [
        (
            "spec.selector.matchLabels",
            &["spec", "selector", "matchLabels"][..],
        ),
        (
            "spec.template.metadata.labels",
            &["spec", "template", "metadata", "labels"][..],
        ),
    ] {
        validate::label_causes(field, get(obj, path), &mut out);
    }
    match (rt.group, rt.plural) {
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => {
            workload_causes(obj, &mut out)
        }
        ("batch", "jobs") => pod_spec_causes(
            get(obj, &["spec", "template", "spec"]),
            "spec.template.spec",
            &mut out,
        ),
        ("batch", "cronjobs") => pod_spec_causes(
            get(obj, &["spec", "jobTemplate", "spec", "template", "spec"]),
            "spec.jobTemplate.spec.template.spec",
            &mut out,
        ),
        ("", "pods") => pod_spec_causes(obj.get("spec"), "spec", &mut out),
        ("", "configmaps" | "secrets") => {
            // The total size of a ConfigMap's or Secret's data.
            let secret = rt.plural == "secrets";
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
        ("", "services") => {
            let ty = get(obj, &["spec", "type"])
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let headless = get(obj, &["spec", "clusterIP"]).and_then(Value::as_str) == Some("None");
            let ports = get(obj, &["spec", "ports"])
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            if ty != "ExternalName" && !headless && !ports {
                out.push(Cause::required_bare("spec.ports"));
            }
        }
        _ => {}
    }
    out
}

/// Validates a new object (after defaulting).
pub fn validate_create(
    rt: &ResourceType,
    name: &str,
    obj: &Map<String, Value>,
) -> Result<(), ApiError> {
    let causes = object_causes(rt, &Value::Object(obj.clone()));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

/// Validates an update of `old` to `new` (main resource).
pub fn validate_update(
    rt: &ResourceType,
    name: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ApiError> {
    let (old, new) = (Value::Object(old.clone()), Value::Object(new.clone()));
    let mut causes = object_causes(rt, &new);
    let changed = |path: &[&str]| get(&old, path) != get(&new, path);
    match (rt.group, rt.plural) {
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
            if changed(&["spec", "selector"]) =>
        {
            let sel = get(&new, &["spec", "selector"])
                .cloned()
                .unwrap_or(Value::Null);
            causes.push(Cause::invalid_go(
                "spec.selector",
                &go_selector(&sel),
                "field is immutable",
            ));
        }
        ("batch", "jobs") if changed(&["spec", "template"]) => {
            causes.push(Cause::invalid_go(
                "spec.template",
                "core.PodTemplateSpec{...}",
                "field is immutable",
            ));
        }
        ("", "configmaps" | "secrets") if old.get("immutable") == Some(&Value::Bool(true)) => {
            for f in ["data", "binaryData"] {
                if changed(&[f]) {
                    causes.push(Cause {
                        reason: "FieldValueForbidden",
                        message: "Forbidden: field is immutable when `immutable` is set".into(),
                        field: Some(f.to_string()),
                    });
                }
            }
            if new.get("immutable") != Some(&Value::Bool(true)) {
                causes.push(Cause {
                    reason: "FieldValueForbidden",
                    message: "Forbidden: field is immutable when `immutable` is set".into(),
                    field: Some("immutable".to_string()),
                });
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rt(plural: &str) -> &'static ResourceType {
        crate::resources::find("apps", "v1", plural).unwrap().1
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn selector_change_matches_fixture_07() {
        let old = map(json!({"spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "b"}]}}}}));
        let new = map(
            json!({"spec": {"selector": {"matchLabels": {"app": "web2"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "b"}]}}}}),
        );
        let e = validate_update(rt("deployments"), "web", &old, &new).unwrap_err();
        assert_eq!(
            e.message,
            "Deployment.apps \"web\" is invalid: [spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`, spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable]"
        );
    }

    #[test]
    fn workloads_need_selector_and_containers() {
        let e = validate_create(rt("deployments"), "d", &map(json!({"spec": {}}))).unwrap_err();
        let fields: Vec<String> = e
            .details
            .unwrap()
            .causes
            .iter()
            .map(|c| c.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["spec.selector", "spec.template.spec.containers"]);
    }
}

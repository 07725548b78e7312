//! Label selectors: matching a template's labels, and Go's `%#v` of the
//! maps and selectors the real messages embed.

use std::collections::BTreeMap;

use serde_json::Value;

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Go's `%#v` of a `map[string]string` (keys sorted).
pub fn go_map(m: &BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return "map[string]string(nil)".to_string();
    }
    let items: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// Go's `%#v` of a `v1.LabelSelector`.
pub fn go_selector(sel: &Value) -> String {
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
pub fn selector_matches(sel: &Value, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = string_map(sel.get("matchLabels"))
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(|a| a.iter().all(|e| requirement_matches(e, labels)))
        .unwrap_or(true);
    by_labels && by_exprs
}

fn requirement_matches(e: &Value, labels: &BTreeMap<String, String>) -> bool {
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
}

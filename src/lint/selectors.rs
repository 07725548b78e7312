//! Selectors that must select something: each workload's selector its own
//! pod template's labels (else the API server rejects it), and every
//! Service, PodDisruptionBudget, NetworkPolicy podSelector (and peer) and
//! pod (anti-)affinity term a pod template of the render. The replaced
//! chart's anti-affinity matched no pod and nobody noticed (SPEC §1b.5).

use serde_json::{Map, Value};

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{index_path, items, join_path};

/// Whether a LabelSelector (`matchLabels`, `matchExpressions`) selects
/// `labels`. An empty selector selects everything.
pub fn selects(selector: &Value, labels: &Map<String, Value>) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let pairs_ok = match_labels.is_none_or(|m| map_selects(m, labels));
    let expressions_ok = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| expression_selects(e, labels));
    pairs_ok && expressions_ok
}

/// Whether every `key: value` of a plain selector is among `labels`.
pub fn map_selects(selector: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn expression_selects(e: &Value, labels: &Map<String, Value>) -> bool {
    let key = e.get("key").and_then(Value::as_str).unwrap_or("");
    let values: Vec<&Value> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let have = labels.get(key);
    match e.get("operator").and_then(Value::as_str).unwrap_or("") {
        "In" => have.is_some_and(|h| values.contains(&h)),
        "NotIn" => have.is_none_or(|h| !values.contains(&h)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        _ => false,
    }
}

pub fn check(ctx: &Context, out: &mut Findings) {
    own_template(ctx, out);
    for (o, at) in ctx.each() {
        let ns = o.namespace();
        match o.kind() {
            "Service" => {
                if let Some(sel) = o.value.pointer("/spec/selector").and_then(Value::as_object)
                    && !sel.is_empty()
                {
                    let wrapped = serde_json::json!({ "matchLabels": sel });
                    must_select(
                        ctx,
                        out,
                        &at,
                        ns,
                        "spec.selector",
                        &wrapped,
                        "routes traffic to no pod",
                    );
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = o.value.pointer("/spec/selector") {
                    must_select(ctx, out, &at, ns, "spec.selector", sel, "protects no pod");
                }
            }
            "NetworkPolicy" => network_policy(ctx, out, &at, o.value.get("spec"), ns),
            _ => {}
        }
    }
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        affinity(ctx, out, &at, pod.spec, &pod.spec_path(), pod.namespace());
    }
}

/// A workload's selector must select its own pod template.
fn own_template(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        if pod.path != "spec.template" {
            continue;
        }
        let Some(sel) = pod.object.value.pointer("/spec/selector") else {
            continue;
        };
        let at = Subject::object(pod.object, pod.index);
        let labels_path = pod.labels_path();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                let have = pod.labels.get(k);
                if have == Some(v) {
                    continue;
                }
                let message = match have {
                    Some(h) => format!("selects `{k}: {v}` but the pod template has `{k}: {h}`"),
                    None => format!("selects `{k}: {v}` but the pod template has no label `{k}`"),
                };
                out.error(
                    "semantics/selector",
                    &at,
                    &join_path("spec.selector.matchLabels", k),
                    message,
                    format!("make {labels_path} a superset of spec.selector.matchLabels (selectors are immutable: change the labels, not the selector)"),
                );
            }
        }
        for (path, e) in items(sel, "spec.selector", "matchExpressions") {
            if !expression_selects(e, &pod.labels) {
                out.error(
                    "semantics/selector",
                    &at,
                    &path,
                    "this expression does not select the pod template's labels",
                    format!("make the expression match {labels_path}"),
                );
            }
        }
    }
}

fn network_policy(ctx: &Context, out: &mut Findings, at: &Subject, spec: Option<&Value>, ns: &str) {
    let Some(spec) = spec else { return };
    if let Some(sel) = spec.get("podSelector") {
        must_select(
            ctx,
            out,
            at,
            ns,
            "spec.podSelector",
            sel,
            "applies to no pod",
        );
    }
    for (rules, peers) in [("ingress", "from"), ("egress", "to")] {
        for (rule_path, rule) in items(spec, "spec", rules) {
            for (peer_path, peer) in items(rule, &rule_path, peers) {
                let other_namespaces = peer.get("namespaceSelector").is_some();
                if let (Some(sel), false) = (peer.get("podSelector"), other_namespaces) {
                    let path = join_path(&peer_path, "podSelector");
                    must_select(ctx, out, at, ns, &path, sel, "allows traffic of no pod");
                }
            }
        }
    }
}

fn affinity(
    ctx: &Context,
    out: &mut Findings,
    at: &Subject,
    spec: &Value,
    spec_path: &str,
    ns: &str,
) {
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(aff) = spec.get("affinity").and_then(|a| a.get(kind)) else {
            continue;
        };
        let base = join_path(&join_path(spec_path, "affinity"), kind);
        let required = join_path(&base, "requiredDuringSchedulingIgnoredDuringExecution");
        let preferred = join_path(&base, "preferredDuringSchedulingIgnoredDuringExecution");
        let mut terms: Vec<(String, &Value)> = Vec::new();
        for (i, t) in aff
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            terms.push((index_path(&required, i), t));
        }
        for (i, t) in aff
            .get("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(term) = t.get("podAffinityTerm") {
                terms.push((
                    join_path(&index_path(&preferred, i), "podAffinityTerm"),
                    term,
                ));
            }
        }
        for (path, term) in terms {
            if term.get("namespaces").is_some() || term.get("namespaceSelector").is_some() {
                continue;
            }
            if let Some(sel) = term.get("labelSelector") {
                let path = join_path(&path, "labelSelector");
                must_select(
                    ctx,
                    out,
                    at,
                    ns,
                    &path,
                    sel,
                    "matches no pod, so it spreads nothing",
                );
            }
        }
    }
}

/// Reports `sel` when it selects no pod template of `ns`.
fn must_select(
    ctx: &Context,
    out: &mut Findings,
    at: &Subject,
    ns: &str,
    path: &str,
    sel: &Value,
    consequence: &str,
) {
    if ctx.pods_in(ns).any(|p| selects(sel, &p.labels)) {
        return;
    }
    let fix = match closest(ctx, ns, sel) {
        Some(hint) => format!("use the labels of the pods it is meant for ({hint})"),
        None => {
            "use the labels of the pods it is meant for; this render has no pods in the namespace"
                .to_string()
        }
    };
    out.error(
        "semantics/selects-nothing",
        at,
        path,
        format!("selects no pod template of this render: it {consequence}"),
        fix,
    );
}

/// The pod template sharing most matchLabels pairs with `sel`, and where
/// they differ.
fn closest(ctx: &Context, ns: &str, sel: &Value) -> Option<String> {
    let wanted = sel.get("matchLabels").and_then(Value::as_object)?;
    let score = |labels: &Map<String, Value>| {
        wanted
            .iter()
            .filter(|(k, v)| labels.get(*k) == Some(*v))
            .count()
    };
    let best = ctx.pods_in(ns).max_by_key(|p| score(&p.labels))?;
    if score(&best.labels) == 0 {
        return None;
    }
    let differ: Vec<String> = wanted
        .iter()
        .filter(|(k, v)| best.labels.get(*k) != Some(*v))
        .map(|(k, v)| match best.labels.get(k) {
            Some(h) => format!("`{k}` is {v} here, {h} there"),
            None => format!("`{k}` is absent there"),
        })
        .collect();
    Some(format!(
        "closest: {}'s pods; {}",
        best.object.id(),
        differ.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "a", "tier": "web"});
        let labels = labels.as_object().unwrap();
        assert!(selects(&json!({}), labels));
        assert!(selects(&json!({"matchLabels": {"app": "a"}}), labels));
        assert!(!selects(&json!({"matchLabels": {"app": "b"}}), labels));
        assert!(selects(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}),
            labels
        ));
        assert!(!selects(
            &json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}),
            labels
        ));
        assert!(selects(
            &json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}),
            labels
        ));
    }
}

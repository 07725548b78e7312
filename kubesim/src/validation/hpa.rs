//! HorizontalPodAutoscalers as autoscaling's `ValidateHorizontalPodAutoscaler`
//! checks them: the target reference, replica bounds, and each metric:
//! its type, exactly the matching source, the source's identifiers and
//! its target (type, positive values, the fields each source needs), and
//! the scaling behavior (windows, select policies, each policy).

use serde_json::Value;

use super::fields::{at, dns_label, invalid_num, items, quantity, str_at};
use crate::error::Cause;
use crate::validate;

/// `validMetricSourceTypesList` (sorted) and the source field of each.
const METRIC_TYPES: &[(&str, &str)] = &[
    ("ContainerResource", "containerResource"),
    ("External", "external"),
    ("Object", "object"),
    ("Pods", "pods"),
    ("Resource", "resource"),
];
/// The order the real server looks at the sources in.
const SOURCE_ORDER: &[&str] = &[
    "object",
    "external",
    "pods",
    "resource",
    "containerResource",
];
const QUANTITY_GO: &str = "resource.Quantity{...}";

pub fn hpa(obj: &Value, out: &mut Vec<Cause>) {
    for f in ["kind", "name"] {
        let field = format!("spec.scaleTargetRef.{f}");
        match str_at(obj, &field).unwrap_or("") {
            "" => out.push(Cause::required_bare(&field)),
            v => path_segment(v, &field, out),
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
        metric(m, &format!("spec.metrics[{i}]"), out);
    }
    if let Some(b) = at(obj, "spec.behavior").filter(|v| !v.is_null()) {
        for dir in ["scaleUp", "scaleDown"] {
            if let Some(r) = b.get(dir).filter(|v| !v.is_null()) {
                scaling_rules(r, &format!("spec.behavior.{dir}"), out);
            }
        }
    }
}

/// `validSelectPolicyTypesList` and `validPolicyTypesList` (sorted).
const SELECT_POLICIES: &[&str] = &["Disabled", "Max", "Min"];
const POLICY_TYPES: &[&str] = &["Percent", "Pods"];
const MAX_WINDOW: i64 = 3600;
const MAX_PERIOD: i64 = 1800;

/// `validateScalingRules`. Policies left out are defaulted by the real
/// server (v2 `GenerateHPAScaleUpRules`), so only an explicit empty list
/// lacks a policy.
fn scaling_rules(r: &Value, path: &str, out: &mut Vec<Cause>) {
    if let Some(w) = r.get("stabilizationWindowSeconds").and_then(Value::as_i64) {
        let field = format!("{path}.stabilizationWindowSeconds");
        if w < 0 {
            out.push(invalid_num(
                &field,
                w,
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_WINDOW {
            out.push(invalid_num(
                &field,
                w,
                &format!("must be less than or equal to {MAX_WINDOW}"),
            ));
        }
    }
    if let Some(s) = r.get("selectPolicy").and_then(Value::as_str)
        && !SELECT_POLICIES.contains(&s)
    {
        out.push(Cause::not_supported(
            &format!("{path}.selectPolicy"),
            &format!("{s:?}"),
            SELECT_POLICIES,
        ));
    }
    let ppath = format!("{path}.policies");
    if r.get("policies")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        out.push(Cause::required(&ppath, "must specify at least one Policy"));
    }
    for (i, p) in items(Some(r), "policies").iter().enumerate() {
        let path = format!("{ppath}[{i}]");
        let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
        if !POLICY_TYPES.contains(&ty) {
            out.push(Cause::not_supported(
                &format!("{path}.type"),
                &format!("{ty:?}"),
                POLICY_TYPES,
            ));
        }
        let value = p.get("value").and_then(Value::as_i64).unwrap_or(0);
        if value <= 0 {
            out.push(invalid_num(
                &format!("{path}.value"),
                value,
                "must be greater than zero",
            ));
        }
        let period = p.get("periodSeconds").and_then(Value::as_i64).unwrap_or(0);
        let pfield = format!("{path}.periodSeconds");
        if period <= 0 {
            out.push(invalid_num(&pfield, period, "must be greater than zero"));
        }
        if period > MAX_PERIOD {
            out.push(invalid_num(
                &pfield,
                period,
                &format!("must be less than or equal to {MAX_PERIOD}"),
            ));
        }
    }
}

fn path_segment(v: &str, field: &str, out: &mut Vec<Cause>) {
    out.extend(validate::rule_causes(
        crate::kinds::NameRule::PathSegment,
        None,
        v,
        field,
    ));
}

/// `validateMetricSpec`.
fn metric(m: &Value, path: &str, out: &mut Vec<Cause>) {
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let tfield = format!("{path}.type");
    let names: Vec<&str> = METRIC_TYPES.iter().map(|(t, _)| *t).collect();
    let expected = METRIC_TYPES.iter().find(|(t, _)| *t == ty).map(|(_, f)| *f);
    if ty.is_empty() {
        out.push(Cause::required(
            &tfield,
            "must specify a metric source type",
        ));
    }
    if expected.is_none() {
        out.push(Cause::not_supported(&tfield, &format!("{ty:?}"), &names));
    }
    let present: Vec<&str> = SOURCE_ORDER
        .iter()
        .copied()
        .filter(|f| m.get(*f).is_some_and(|v| !v.is_null()))
        .collect();
    // Only the first source present is looked into.
    if let Some(first) = present.first() {
        let src = &m[*first];
        let spath = format!("{path}.{first}");
        match *first {
            "object" => object_source(src, &spath, out),
            "external" => external_source(src, &spath, out),
            "pods" => pods_source(src, &spath, out),
            _ => resource_source(src, &spath, *first == "containerResource", out),
        }
    }
    match expected {
        Some(f) if !present.contains(&f) => out.push(Cause::required(
            &format!("{path}.{f}"),
            "must populate information for the given metric source",
        )),
        Some(_) => {}
        None => out.push(Cause::not_supported(&tfield, &format!("{ty:?}"), &names)),
    }
    for f in present.iter().filter(|f| Some(**f) != expected) {
        out.push(Cause::forbidden(
            &format!("{path}.{f}"),
            "must populate the given metric source only",
        ));
    }
}

fn has(t: Option<&Value>, f: &str) -> bool {
    t.and_then(|t| t.get(f)).is_some_and(|v| !v.is_null())
}

fn object_source(src: &Value, path: &str, out: &mut Vec<Cause>) {
    let d = src.get("describedObject");
    for f in ["kind", "name"] {
        let field = format!("{path}.describedObject.{f}");
        match d
            .and_then(|d| d.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
        {
            "" => out.push(Cause::required_bare(&field)),
            v => path_segment(v, &field, out),
        }
    }
    identifier(src, path, out);
    let t = target(src, path, out);
    if !has(t, "value") && !has(t, "averageValue") {
        out.push(Cause::required(
            &format!("{path}.target.averageValue"),
            "must set either a target value or averageValue",
        ));
    }
}

fn external_source(src: &Value, path: &str, out: &mut Vec<Cause>) {
    identifier(src, path, out);
    let t = target(src, path, out);
    let (value, average) = (has(t, "value"), has(t, "averageValue"));
    if !value && !average {
        out.push(Cause::required(
            &format!("{path}.target.averageValue"),
            "must set either a target value for metric or a per-pod target",
        ));
    }
    if value && average {
        out.push(Cause::forbidden(
            &format!("{path}.target.value"),
            "may not set both a target value for metric and a per-pod target",
        ));
    }
}

fn pods_source(src: &Value, path: &str, out: &mut Vec<Cause>) {
    identifier(src, path, out);
    let t = target(src, path, out);
    if !has(t, "averageValue") {
        out.push(Cause::required(
            &format!("{path}.target.averageValue"),
            "must specify a positive target averageValue",
        ));
    }
}

/// A Resource or ContainerResource source.
fn resource_source(src: &Value, path: &str, container: bool, out: &mut Vec<Cause>) {
    let name = src.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        out.push(Cause::required(
            &format!("{path}.name"),
            "must specify a resource name",
        ));
    } else if name.contains('/') {
        // Extended and native qualified names: not validated yet.
        out.push(super::unvalidated::refuse(&format!("{path}.name")));
    } else {
        // `ValidateContainerResourceName` of an unqualified name.
        validate::qualified_name_causes(&format!("{path}.name"), name, out);
        let standard = ["cpu", "memory", "ephemeral-storage"].contains(&name)
            || name.starts_with("hugepages-");
        if !standard {
            out.push(Cause::invalid(
                &format!("{path}.name"),
                name,
                "must be a standard resource for containers",
            ));
        }
    }
    if container {
        match src.get("container").and_then(Value::as_str).unwrap_or("") {
            "" => out.push(Cause::required(
                &format!("{path}.container"),
                "must specify a container",
            )),
            c => dns_label(out, &format!("{path}.container"), c),
        }
    }
    let t = target(src, path, out);
    let (util, average) = (has(t, "averageUtilization"), has(t, "averageValue"));
    if !util && !average {
        out.push(Cause::required(
            &format!("{path}.target.averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if util && average {
        out.push(Cause::forbidden(
            &format!("{path}.target.averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
}

/// `validateMetricIdentifier` of `src.metric`.
fn identifier(src: &Value, path: &str, out: &mut Vec<Cause>) {
    let field = format!("{path}.metric.name");
    match src
        .pointer("/metric/name")
        .and_then(Value::as_str)
        .unwrap_or("")
    {
        "" => out.push(Cause::required(&field, "must specify a metric name")),
        n => path_segment(n, &field, out),
    }
}

/// `validateMetricTarget` of `src.target`; the target.
fn target<'a>(src: &'a Value, path: &str, out: &mut Vec<Cause>) -> Option<&'a Value> {
    let t = src.get("target").filter(|v| !v.is_null());
    let path = format!("{path}.target");
    let ty = t
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if ty.is_empty() {
        out.push(Cause::required(
            &format!("{path}.type"),
            "must specify a metric target type",
        ));
    }
    if !["Utilization", "Value", "AverageValue"].contains(&ty) {
        out.push(Cause::invalid(
            &format!("{path}.type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for f in ["value", "averageValue"] {
        if let Some(q) = t.and_then(|t| t.get(f)).filter(|v| !v.is_null())
            && quantity(q).is_some_and(|n| n <= 0)
        {
            out.push(Cause::invalid_go(
                &format!("{path}.{f}"),
                QUANTITY_GO,
                "must be positive",
            ));
        }
    }
    if let Some(u) = t
        .and_then(|t| t.get("averageUtilization"))
        .and_then(Value::as_i64)
        .filter(|u| *u < 1)
    {
        out.push(invalid_num(
            &format!("{path}.averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(metrics: Value) -> Vec<(String, &'static str, String)> {
        let obj = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 3, "metrics": metrics}});
        let mut out = Vec::new();
        hpa(&obj, &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    fn fields(metrics: Value) -> Vec<(String, &'static str)> {
        causes(metrics)
            .into_iter()
            .map(|(f, r, _)| (f, r))
            .collect()
    }

    fn p(f: &str, r: &'static str) -> (String, &'static str) {
        (format!("spec.metrics[0].{f}"), r)
    }

    #[test]
    fn valid_metrics_pass() {
        let metrics = json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
            {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "web",
                "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "100"}}},
            {"type": "Object", "object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                "metric": {"name": "hits"}, "target": {"type": "Value", "value": "10k"}}},
            {"type": "External", "external": {"metric": {"name": "queue_depth"},
                "target": {"type": "AverageValue", "averageValue": "30"}}}]);
        assert_eq!(causes(metrics), []);
    }

    #[test]
    fn a_metric_needs_its_own_source_only() {
        assert_eq!(
            fields(json!([{"type": "Pods", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}])),
            [
                p("pods", "FieldValueRequired"),
                p("resource", "FieldValueForbidden"),
            ]
        );
        assert_eq!(
            fields(json!([{"type": "Requests"}])),
            [
                p("type", "FieldValueNotSupported"),
                p("type", "FieldValueNotSupported"),
            ]
        );
    }

    #[test]
    fn source_rules() {
        let got = causes(json!([{"type": "Resource", "resource": {"name": "cpu", "target": {}}}]));
        assert_eq!(
            got.iter()
                .map(|(f, r, _)| (f.clone(), *r))
                .collect::<Vec<_>>(),
            [
                p("resource.target.type", "FieldValueRequired"),
                p("resource.target.type", "FieldValueInvalid"),
                p("resource.target.averageUtilization", "FieldValueRequired"),
            ]
        );
        assert_eq!(
            got[2].2,
            "Required value: must set either a target raw value or a target utilization"
        );
        assert_eq!(
            fields(json!([{"type": "Pods", "pods": {"metric": {},
                "target": {"type": "Value", "value": "0"}}}])),
            [
                p("pods.metric.name", "FieldValueRequired"),
                p("pods.target.value", "FieldValueInvalid"),
                p("pods.target.averageValue", "FieldValueRequired"),
            ]
        );
        assert_eq!(
            fields(
                json!([{"type": "Object", "object": {"describedObject": {"kind": "Ingress"},
                "metric": {"name": "a/b"}, "target": {"type": "Value"}}}])
            ),
            [
                p("object.describedObject.name", "FieldValueRequired"),
                p("object.metric.name", "FieldValueInvalid"),
                p("object.target.averageValue", "FieldValueRequired"),
            ]
        );
        assert_eq!(
            fields(
                json!([{"type": "External", "external": {"metric": {"name": "q"},
                "target": {"type": "Value", "value": "1", "averageValue": "1"}}}])
            ),
            [p("external.target.value", "FieldValueForbidden")]
        );
        assert_eq!(
            fields(
                json!([{"type": "ContainerResource", "containerResource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 0}}}])
            ),
            [
                p("containerResource.container", "FieldValueRequired"),
                p(
                    "containerResource.target.averageUtilization",
                    "FieldValueInvalid"
                ),
            ]
        );
    }

    fn behavior(b: Value) -> Vec<(String, &'static str, String)> {
        let obj = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 3, "behavior": b}});
        let mut out = Vec::new();
        hpa(&obj, &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn resource_metric_names() {
        let m = |name: &str| {
            json!([{"type": "Resource", "resource": {"name": name,
                "target": {"type": "Utilization", "averageUtilization": 50}}}])
        };
        assert_eq!(fields(m("memory")), []);
        assert_eq!(
            causes(m("gpu")),
            [(
                "spec.metrics[0].resource.name".to_string(),
                "FieldValueInvalid",
                "Invalid value: \"gpu\": must be a standard resource for containers".to_string()
            )]
        );
        assert_eq!(
            fields(m("nvidia.com/gpu")),
            [p("resource.name", "FieldValueForbidden")]
        );
    }

    #[test]
    fn valid_behavior_passes() {
        assert_eq!(
            behavior(json!({
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 1800}]},
                "scaleDown": {"stabilizationWindowSeconds": 3600, "selectPolicy": "Disabled"}})),
            []
        );
    }

    #[test]
    fn behavior_rules() {
        let got = behavior(json!({
            "scaleUp": {"stabilizationWindowSeconds": -1, "selectPolicy": "Most", "policies": []},
            "scaleDown": {"stabilizationWindowSeconds": 3601, "policies": [
                {"type": "Replicas", "value": 0, "periodSeconds": 0},
                {"type": "Pods", "value": 1, "periodSeconds": 1801}]}}));
        let up = "spec.behavior.scaleUp";
        let down = "spec.behavior.scaleDown";
        assert_eq!(
            got,
            [
                (
                    format!("{up}.stabilizationWindowSeconds"),
                    "FieldValueInvalid",
                    "Invalid value: -1: must be greater than or equal to zero".to_string()
                ),
                (
                    format!("{up}.selectPolicy"),
                    "FieldValueNotSupported",
                    "Unsupported value: \"Most\": supported values: \"Disabled\", \"Max\", \"Min\""
                        .to_string()
                ),
                (
                    format!("{up}.policies"),
                    "FieldValueRequired",
                    "Required value: must specify at least one Policy".to_string()
                ),
                (
                    format!("{down}.stabilizationWindowSeconds"),
                    "FieldValueInvalid",
                    "Invalid value: 3601: must be less than or equal to 3600".to_string()
                ),
                (
                    format!("{down}.policies[0].type"),
                    "FieldValueNotSupported",
                    "Unsupported value: \"Replicas\": supported values: \"Percent\", \"Pods\""
                        .to_string()
                ),
                (
                    format!("{down}.policies[0].value"),
                    "FieldValueInvalid",
                    "Invalid value: 0: must be greater than zero".to_string()
                ),
                (
                    format!("{down}.policies[0].periodSeconds"),
                    "FieldValueInvalid",
                    "Invalid value: 0: must be greater than zero".to_string()
                ),
                (
                    format!("{down}.policies[1].periodSeconds"),
                    "FieldValueInvalid",
                    "Invalid value: 1801: must be less than or equal to 1800".to_string()
                ),
            ]
        );
    }
}

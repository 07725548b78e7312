//! Tolerations and affinity as `ValidateTolerations` and
//! `validateAffinity` check them: toleration keys, operators, values and
//! effects; node selector terms and requirements, preferred weights, pod
//! (anti-)affinity terms with their label selectors and topology keys;
//! node field selectors (`matchFields`); topology spread constraints.

use serde_json::Value;

use super::fields::{at, invalid_num, items};
use crate::error::Cause;
use crate::validate::{LABEL_VALUE_MSG, is_name_part, qualified_name_causes};

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const WEIGHT_MSG: &str = "must be in the range 1-100";

/// `IsValidLabelValue`'s messages.
fn label_value_msgs(v: &str) -> Vec<&'static str> {
    let mut why = Vec::new();
    if v.len() > 63 {
        why.push("must be no more than 63 characters");
    }
    if !v.is_empty() && !is_name_part(v) {
        why.push(LABEL_VALUE_MSG);
    }
    why
}

pub fn tolerations(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) {
    for (i, t) in items(spec, "tolerations").iter().enumerate() {
        let path = format!("{prefix}.tolerations[{i}]");
        let s = |f: &str| t.get(f).and_then(Value::as_str).unwrap_or("");
        let (key, op, value, effect) = (s("key"), s("operator"), s("value"), s("effect"));
        if !key.is_empty() {
            qualified_name_causes(&format!("{path}.key"), key, out);
        }
        let op_field = format!("{path}.operator");
        if key.is_empty() && op != "Exists" {
            out.push(Cause::invalid(
                &op_field,
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            out.push(Cause::invalid(
                &format!("{path}.effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "" | "Equal" => {
                let why = label_value_msgs(value);
                if !why.is_empty() {
                    out.push(Cause::invalid(&op_field, value, &why.join(";")));
                }
            }
            "Exists" if !value.is_empty() => out.push(Cause::invalid_go(
                &op_field,
                "core.Toleration{...}",
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => out.push(Cause::not_supported(
                &op_field,
                &format!("{other:?}"),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !EFFECTS.contains(&effect) {
            out.push(Cause::not_supported(
                &format!("{path}.effect"),
                &format!("{effect:?}"),
                EFFECTS,
            ));
        }
    }
}

pub fn affinity(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) {
    let Some(a) = spec
        .and_then(|s| s.get("affinity"))
        .filter(|v| !v.is_null())
    else {
        return;
    };
    let prefix = format!("{prefix}.affinity");
    if let Some(na) = a.get("nodeAffinity").filter(|v| !v.is_null()) {
        let path = format!("{prefix}.nodeAffinity");
        if let Some(req) = na
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .filter(|v| !v.is_null())
        {
            let tpath =
                format!("{path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
            let terms = items(Some(req), "nodeSelectorTerms");
            if terms.is_empty() {
                out.push(Cause::required(
                    &tpath,
                    "must have at least one node selector term",
                ));
            }
            for (i, t) in terms.iter().enumerate() {
                node_term(t, &format!("{tpath}[{i}]"), out);
            }
        }
        let preferred = items(Some(na), "preferredDuringSchedulingIgnoredDuringExecution");
        for (i, p) in preferred.iter().enumerate() {
            let ppath = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(p, &ppath, out);
            if let Some(t) = p.get("preference") {
                node_term(t, &format!("{ppath}.preference"), out);
            }
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = a.get(kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let path = format!("{prefix}.{kind}");
        let req = "requiredDuringSchedulingIgnoredDuringExecution";
        for (i, t) in items(Some(pa), req).iter().enumerate() {
            pod_term(t, &format!("{path}.{req}[{i}]"), out);
        }
        let pref = "preferredDuringSchedulingIgnoredDuringExecution";
        for (i, w) in items(Some(pa), pref).iter().enumerate() {
            let wpath = format!("{path}.{pref}[{i}]");
            weight(w, &wpath, out);
            let term = w.get("podAffinityTerm").cloned().unwrap_or(Value::Null);
            pod_term(&term, &format!("{wpath}.podAffinityTerm"), out);
        }
    }
}

fn weight(v: &Value, path: &str, out: &mut Vec<Cause>) {
    let w = v.get("weight").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=100).contains(&w) {
        out.push(invalid_num(&format!("{path}.weight"), w, WEIGHT_MSG));
    }
}

fn node_term(t: &Value, path: &str, out: &mut Vec<Cause>) {
    for (j, r) in items(Some(t), "matchExpressions").iter().enumerate() {
        requirement(r, &format!("{path}.matchExpressions[{j}]"), true, out);
    }
    for (j, r) in items(Some(t), "matchFields").iter().enumerate() {
        field_requirement(r, &format!("{path}.matchFields[{j}]"), out);
    }
}

/// `ValidateNodeFieldSelectorRequirement`: In or NotIn with one value,
/// the only key `metadata.name`, its values node names.
fn field_requirement(r: &Value, path: &str, out: &mut Vec<Cause>) {
    let op = r.get("operator").and_then(Value::as_str).unwrap_or("");
    let values = items(Some(r), "values");
    match op {
        "In" | "NotIn" if values.len() != 1 => out.push(Cause::required(
            &format!("{path}.values"),
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        )),
        "In" | "NotIn" => {}
        other => out.push(Cause::invalid(
            &format!("{path}.operator"),
            other,
            "not a valid selector operator",
        )),
    }
    let key = r.get("key").and_then(Value::as_str).unwrap_or("");
    if key != "metadata.name" {
        out.push(Cause::invalid(
            &format!("{path}.key"),
            key,
            "not a valid field selector key",
        ));
        return;
    }
    for (i, v) in values.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        let field = format!("{path}.values[{i}]");
        // `ValidateNodeName`: the subdomain rule's messages as causes.
        for c in crate::validate::rule_causes(crate::kinds::NameRule::Subdomain, None, v, &field) {
            out.push(c);
        }
    }
}

const WHEN_UNSATISFIABLE: &[&str] = &["DoNotSchedule", "ScheduleAnyway"];
const INCLUSION_POLICIES: &[&str] = &["Honor", "Ignore"];
const NOT_POSITIVE: &str = "must be greater than zero";

/// `validateTopologySpreadConstraints`.
pub fn topology_spread(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) {
    let list = items(spec, "topologySpreadConstraints");
    let s = |c: &Value, f: &str| c.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    for (i, c) in list.iter().enumerate() {
        let path = format!("{prefix}.topologySpreadConstraints[{i}]");
        let skew = c.get("maxSkew").and_then(Value::as_i64).unwrap_or(0);
        if skew <= 0 {
            out.push(invalid_num(&format!("{path}.maxSkew"), skew, NOT_POSITIVE));
        }
        let (key, when) = (s(c, "topologyKey"), s(c, "whenUnsatisfiable"));
        if key.is_empty() {
            out.push(Cause::required(
                &format!("{path}.topologyKey"),
                "can not be empty",
            ));
        }
        if !WHEN_UNSATISFIABLE.contains(&when.as_str()) {
            out.push(Cause::not_supported(
                &format!("{path}.whenUnsatisfiable"),
                &format!("{when:?}"),
                WHEN_UNSATISFIABLE,
            ));
        }
        if list[i + 1..]
            .iter()
            .any(|o| s(o, "topologyKey") == key && s(o, "whenUnsatisfiable") == when)
        {
            out.push(super::fields::duplicate(
                &format!("{path}.{{topologyKey, whenUnsatisfiable}}"),
                &format!("{{{key}, {when}}}"),
            ));
        }
        if let Some(m) = c.get("minDomains").and_then(Value::as_i64) {
            let field = format!("{path}.minDomains");
            if m <= 0 {
                out.push(invalid_num(&field, m, NOT_POSITIVE));
            }
            if when != "DoNotSchedule" {
                out.push(invalid_num(
                    &field,
                    m,
                    &format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {when}"
                    ),
                ));
            }
        }
        for f in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(p) = c.get(f).and_then(Value::as_str)
                && !INCLUSION_POLICIES.contains(&p)
            {
                out.push(Cause::not_supported(
                    &format!("{path}.{f}"),
                    &format!("{p:?}"),
                    INCLUSION_POLICIES,
                ));
            }
        }
        let sel = c.get("labelSelector").filter(|v| !v.is_null());
        let keys = items(Some(c), "matchLabelKeys");
        if !keys.is_empty() {
            let kpath = format!("{path}.matchLabelKeys");
            if sel.is_none() {
                out.push(Cause::forbidden(
                    &kpath,
                    "must not be specified when labelSelector is not set",
                ));
            }
            let mut in_selector: Vec<&str> = sel
                .and_then(|s| s.get("matchLabels"))
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for e in items(sel, "matchExpressions") {
                in_selector.extend(e.get("key").and_then(Value::as_str));
            }
            for (j, k) in keys.iter().enumerate() {
                let k = k.as_str().unwrap_or("");
                let field = format!("{kpath}[{j}]");
                qualified_name_causes(&field, k, out);
                if in_selector.contains(&k) {
                    out.push(Cause::invalid(
                        &field,
                        k,
                        "exists in both matchLabelKeys and labelSelector",
                    ));
                }
            }
        }
        if let Some(sel) = sel {
            label_selector(sel, &format!("{path}.labelSelector"), out);
        }
    }
}

/// `ValidateLabelSelector` (label values strictly checked).
pub(super) fn label_selector(s: &Value, spath: &str, out: &mut Vec<Cause>) {
    crate::validate::label_causes(&format!("{spath}.matchLabels"), s.get("matchLabels"), out);
    for (j, r) in items(Some(s), "matchExpressions").iter().enumerate() {
        requirement(r, &format!("{spath}.matchExpressions[{j}]"), false, out);
    }
}

fn pod_term(t: &Value, path: &str, out: &mut Vec<Cause>) {
    for sel in ["labelSelector", "namespaceSelector"] {
        if let Some(s) = t.get(sel).filter(|v| !v.is_null()) {
            label_selector(s, &format!("{path}.{sel}"), out);
        }
    }
    for ns in items(Some(t), "namespaces") {
        let n = ns.as_str().unwrap_or("");
        out.extend(crate::validate::rule_causes(
            crate::kinds::NameRule::Label,
            None,
            n,
            &format!("{path}.namespace"),
        ));
    }
    let key = at(t, "topologyKey").and_then(Value::as_str).unwrap_or("");
    let kpath = format!("{path}.topologyKey");
    if key.is_empty() {
        out.push(Cause::required(&kpath, "can not be empty"));
    }
    qualified_name_causes(&kpath, key, out);
}

/// A node selector requirement (`node`: Gt and Lt allowed, values not
/// checked as label values: `ValidateNodeSelectorRequirement` checks
/// only the operator, the value count and the key) or a label selector
/// requirement.
fn requirement(r: &Value, path: &str, node: bool, out: &mut Vec<Cause>) {
    let op = r.get("operator").and_then(Value::as_str).unwrap_or("");
    let values = items(Some(r), "values");
    let vpath = format!("{path}.values");
    match op {
        "In" | "NotIn" if values.is_empty() => out.push(Cause::required(
            &vpath,
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => out.push(Cause::forbidden(
            &vpath,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if node && values.len() != 1 => out.push(Cause::required(
            &vpath,
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        "Gt" | "Lt" if node => {}
        other => out.push(Cause::invalid(
            &format!("{path}.operator"),
            other,
            "not a valid selector operator",
        )),
    }
    let key = r.get("key").and_then(Value::as_str).unwrap_or("");
    qualified_name_causes(&format!("{path}.key"), key, out);
    if !node {
        for (i, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for why in label_value_msgs(v) {
                out.push(Cause::invalid(&format!("{vpath}[{i}]"), v, why));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(spec: Value) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        tolerations(Some(&spec), "s", &mut out);
        affinity(Some(&spec), "s", &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    fn fields(spec: Value) -> Vec<(String, &'static str)> {
        causes(spec).into_iter().map(|(f, r, _)| (f, r)).collect()
    }

    #[test]
    fn valid_tolerations_and_affinity_pass() {
        let spec = json!({
            "tolerations": [
                {"operator": "Exists"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                                              {"key": "cores", "operator": "Gt", "values": ["4"]}]}]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 100, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app": "db"}}}}]}}});
        assert_eq!(causes(spec), []);
    }

    #[test]
    fn toleration_rules() {
        let spec = json!({"tolerations": [
            {"operator": "Equal", "value": "x"},
            {"key": "k", "operator": "Exists", "value": "v"},
            {"key": "k", "operator": "Matches", "effect": "NoRun"},
            {"key": "k", "value": "v", "effect": "NoSchedule", "tolerationSeconds": 5}]});
        let got = causes(spec);
        let f: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            f,
            [
                ("s.tolerations[0].operator", "FieldValueInvalid"),
                ("s.tolerations[1].operator", "FieldValueInvalid"),
                ("s.tolerations[2].operator", "FieldValueNotSupported"),
                ("s.tolerations[2].effect", "FieldValueNotSupported"),
                ("s.tolerations[3].effect", "FieldValueInvalid"),
            ]
        );
        assert_eq!(
            got[3].2,
            "Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
        );
        assert_eq!(
            got[4].2,
            "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"
        );
    }

    #[test]
    fn affinity_rules() {
        let na = "s.affinity.nodeAffinity";
        assert_eq!(
            fields(json!({"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []},
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 101, "preference": {
                    "matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Near"},
                                         {"key": "c", "operator": "Exists", "values": ["x"]}]}}]}}})),
            [
                (
                    format!(
                        "{na}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
                    ),
                    "FieldValueRequired"
                ),
                (
                    format!("{na}.preferredDuringSchedulingIgnoredDuringExecution[0].weight"),
                    "FieldValueInvalid"
                ),
                (
                    format!(
                        "{na}.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values"
                    ),
                    "FieldValueRequired"
                ),
                (
                    format!(
                        "{na}.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[1].operator"
                    ),
                    "FieldValueInvalid"
                ),
                (
                    format!(
                        "{na}.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[2].values"
                    ),
                    "FieldValueForbidden"
                ),
            ]
        );
        let pa = "s.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
        assert_eq!(
            fields(
                json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]},
                 "topologyKey": ""}]}}})
            ),
            [
                (
                    format!("{pa}.labelSelector.matchExpressions[0].operator"),
                    "FieldValueInvalid"
                ),
                (format!("{pa}.topologyKey"), "FieldValueRequired"),
                (format!("{pa}.topologyKey"), "FieldValueInvalid"),
            ]
        );
    }

    fn spread(spec: Value) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        topology_spread(Some(&spec), "s", &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn valid_topology_spread_passes() {
        assert_eq!(
            spread(json!({"topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                 "whenUnsatisfiable": "DoNotSchedule", "minDomains": 2,
                 "nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Ignore",
                 "labelSelector": {"matchLabels": {"app": "web"}},
                 "matchLabelKeys": ["pod-template-hash"]},
                {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone",
                 "whenUnsatisfiable": "ScheduleAnyway"}]})),
            []
        );
    }

    #[test]
    fn topology_spread_rules() {
        let got = spread(json!({"topologySpreadConstraints": [
            {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
             "minDomains": 0, "nodeAffinityPolicy": "Always"},
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
             "matchLabelKeys": ["app"], "labelSelector": {"matchLabels": {"app": "x"},
             "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a b"]}]}},
            {"maxSkew": 1, "matchLabelKeys": ["k"]}]}));
        let c = "s.topologySpreadConstraints";
        let want: Vec<(String, &str, &str)> = vec![
            (
                format!("{c}[0].maxSkew"),
                "FieldValueInvalid",
                "Invalid value: 0: must be greater than zero",
            ),
            (
                format!("{c}[0].{{topologyKey, whenUnsatisfiable}}"),
                "FieldValueDuplicate",
                "Duplicate value: \"{zone, ScheduleAnyway}\"",
            ),
            (
                format!("{c}[0].minDomains"),
                "FieldValueInvalid",
                "Invalid value: 0: must be greater than zero",
            ),
            (
                format!("{c}[0].minDomains"),
                "FieldValueInvalid",
                "Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
            ),
            (
                format!("{c}[0].nodeAffinityPolicy"),
                "FieldValueNotSupported",
                "Unsupported value: \"Always\": supported values: \"Honor\", \"Ignore\"",
            ),
            (
                format!("{c}[1].matchLabelKeys[0]"),
                "FieldValueInvalid",
                "Invalid value: \"app\": exists in both matchLabelKeys and labelSelector",
            ),
            (
                format!("{c}[1].labelSelector.matchExpressions[0].values[0]"),
                "FieldValueInvalid",
                "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
            (
                format!("{c}[2].topologyKey"),
                "FieldValueRequired",
                "Required value: can not be empty",
            ),
            (
                format!("{c}[2].whenUnsatisfiable"),
                "FieldValueNotSupported",
                "Unsupported value: \"\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
            ),
            (
                format!("{c}[2].matchLabelKeys"),
                "FieldValueForbidden",
                "Forbidden: must not be specified when labelSelector is not set",
            ),
        ];
        let got: Vec<(String, &str, &str)> = got
            .iter()
            .map(|(f, r, m)| (f.clone(), *r, m.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn match_fields_take_one_node_name() {
        let t = "s.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]";
        let ok = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}}}});
        assert_eq!(causes(ok), []);
        let bad = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["a", "b"]},
                {"key": "metadata.labels", "operator": "Exists"},
                {"key": "metadata.name", "operator": "NotIn", "values": ["Node_1"]}]}]}}}});
        let got = causes(bad);
        let f: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            f,
            [
                (
                    format!("{t}.matchFields[0].values").as_str(),
                    "FieldValueRequired"
                ),
                (
                    format!("{t}.matchFields[1].operator").as_str(),
                    "FieldValueInvalid"
                ),
                (
                    format!("{t}.matchFields[1].key").as_str(),
                    "FieldValueInvalid"
                ),
                (
                    format!("{t}.matchFields[2].values[0]").as_str(),
                    "FieldValueInvalid"
                ),
            ]
        );
        assert_eq!(
            got[0].2,
            "Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector"
        );
        assert_eq!(
            got[2].2,
            "Invalid value: \"metadata.labels\": not a valid field selector key"
        );
    }
}

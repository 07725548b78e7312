//! Events as `ValidateEventCreate` / `ValidateEventUpdate` check them
//! (1.32 `pkg/apis/core/validation/events.go`), for the core v1 and the
//! events.k8s.io/v1 shapes. Paths are the internal (core) field names, as
//! the real server reports them for both versions.
//!
//! Core v1 gets only the legacy rules: an Event without `eventTime` is
//! checked for its namespace matching the involved object's; one with
//! `eventTime` also needs a reporting component and instance, an action
//! and a reason, within their length limits. events.k8s.io/v1 adds the
//! strict rules: `eventTime` required, `type` Normal or Warning, a series
//! of at least 2 with a last observed time, and the deprecated fields
//! unset.

use serde_json::Value;

use crate::error::Cause;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

fn text<'a>(o: &'a Value, f: &str) -> &'a str {
    o.get(f).and_then(Value::as_str).unwrap_or("")
}

fn set(o: &Value, f: &str) -> bool {
    match o.get(f) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::Object(m)) => m.values().any(|v| !v.is_null() && v != ""),
        Some(_) => true,
    }
}

fn invalid_empty(out: &mut Vec<Cause>, field: &str, why: &str) {
    out.push(Cause::invalid(field, "", why));
}

/// A core v1 Event (`strict`: written through events.k8s.io/v1, whose
/// field names are mapped to the core ones here).
pub fn event(o: &Value, strict: bool, out: &mut Vec<Cause>) {
    let (involved, message, controller_field, controller) = if strict {
        (
            "regarding",
            "note",
            "reportingController",
            text(o, "reportingController"),
        )
    } else {
        (
            "involvedObject",
            "message",
            "reportingComponent",
            text(o, "reportingComponent"),
        )
    };
    let ns = o
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = o
        .get(involved)
        .and_then(|i| i.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mismatch = "does not match event.namespace";
    let ns_field = "involvedObject.namespace";
    if !set(o, "eventTime") {
        let ok = if involved_ns.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == involved_ns
        };
        if !ok {
            out.push(Cause::invalid(ns_field, involved_ns, mismatch));
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            out.push(Cause::invalid(ns_field, involved_ns, mismatch));
        }
        if controller.is_empty() {
            out.push(Cause::required_bare(controller_field));
        }
        crate::validate::qualified_name_causes(controller_field, controller, out);
        for (field, limit) in [
            ("reportingInstance", REPORTING_INSTANCE_LIMIT),
            ("action", ACTION_LIMIT),
            ("reason", REASON_LIMIT),
        ] {
            let v = text(o, field);
            if v.is_empty() {
                out.push(Cause::required_bare(field));
            }
            if v.len() > limit {
                invalid_empty(out, field, &format!("can have at most {limit} characters"));
            }
        }
        if text(o, message).len() > NOTE_LIMIT {
            invalid_empty(
                out,
                "message",
                &format!("can have at most {NOTE_LIMIT} characters"),
            );
        }
    }
    if !strict {
        return;
    }
    if let Some(s) = o.get("series").filter(|v| !v.is_null()) {
        if s.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            invalid_empty(out, "series.count", "should be at least 2");
        }
        if !set(s, "lastObservedTime") {
            out.push(Cause::required_bare("series.lastObservedTime"));
        }
    }
    if !set(o, "eventTime") {
        out.push(Cause::required_bare("eventTime"));
    }
    let ty = text(o, "type");
    if ty != "Normal" && ty != "Warning" {
        invalid_empty(out, "type", &format!("has invalid value: {ty}"));
    }
    for (v1, core) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("deprecatedSource", "source"),
    ] {
        if set(o, v1) {
            invalid_empty(out, core, "needs to be unset");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(o: Value, strict: bool) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        event(&o, strict, &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn valid_events_pass() {
        let legacy = json!({"metadata": {"name": "e", "namespace": "web"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "web"},
            "reason": "Pulled", "message": "ok", "type": "Normal", "count": 3});
        assert_eq!(causes(legacy, false), []);
        let new = json!({"metadata": {"name": "e", "namespace": "web"},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "web"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Sync", "reason": "Synced", "note": "ok",
            "type": "Warning", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:01.000000Z"}});
        assert_eq!(causes(new, true), []);
    }

    #[test]
    fn event_rules() {
        let got = causes(
            json!({"metadata": {"name": "e", "namespace": "web"},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}}),
            false,
        );
        assert_eq!(
            got,
            [(
                "involvedObject.namespace".to_string(),
                "FieldValueInvalid",
                "Invalid value: \"other\": does not match event.namespace".to_string()
            )]
        );
        let got = causes(
            json!({"metadata": {"name": "e", "namespace": "web"},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "web"},
                "eventTime": "2026-01-01T00:00:00.000000Z", "reportingInstance": "i",
                "reason": "r".repeat(129), "message": "m".repeat(1025), "type": "Info"}),
            false,
        );
        let fields: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        // The legacy rules do not look at `type`.
        assert_eq!(
            fields,
            [
                ("reportingComponent", "FieldValueRequired"),
                ("reportingComponent", "FieldValueInvalid"),
                ("action", "FieldValueRequired"),
                ("reason", "FieldValueInvalid"),
                ("message", "FieldValueInvalid"),
            ]
        );
        assert_eq!(
            got[3].2,
            "Invalid value: \"\": can have at most 128 characters"
        );
        let got = causes(
            json!({"metadata": {"name": "e", "namespace": "web"},
                "regarding": {"kind": "Pod", "name": "p", "namespace": "web"},
                "type": "Info", "series": {"count": 1}, "deprecatedCount": 4}),
            true,
        );
        assert_eq!(
            got,
            [
                (
                    "series.count".to_string(),
                    "FieldValueInvalid",
                    "Invalid value: \"\": should be at least 2".to_string()
                ),
                (
                    "series.lastObservedTime".to_string(),
                    "FieldValueRequired",
                    "Required value".to_string()
                ),
                (
                    "eventTime".to_string(),
                    "FieldValueRequired",
                    "Required value".to_string()
                ),
                (
                    "type".to_string(),
                    "FieldValueInvalid",
                    "Invalid value: \"\": has invalid value: Info".to_string()
                ),
                (
                    "count".to_string(),
                    "FieldValueInvalid",
                    "Invalid value: \"\": needs to be unset".to_string()
                ),
            ]
        );
    }
}

//! Field checks shared by the per-kind tables, each pushing the cause the
//! real server gives (`k8s.io/apimachinery/pkg/util/validation`,
//! `pkg/apis/core/validation`): dotted paths into an object, ranges,
//! enums, port names, quantities, int-or-percent values.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::Cause;
use crate::kinds::NameRule;
use crate::ssa::defaults::quantity_nanos;
use crate::validate;

pub const NEGATIVE: &str = "must be greater than or equal to 0";
pub const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// The value at a dotted path (`spec.template.spec`).
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// A present, non-null value.
pub fn present<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    at(v, path).filter(|x| !x.is_null())
}

pub fn str_at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

/// The items of a list field, empty when absent.
pub fn items<'a>(v: Option<&'a Value>, field: &str) -> &'a [Value] {
    v.and_then(|x| x.get(field))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub fn invalid_num(field: &str, n: i64, why: &str) -> Cause {
    Cause::invalid_go(field, &n.to_string(), why)
}

pub fn non_negative(out: &mut Vec<Cause>, field: &str, v: Option<&Value>) {
    if let Some(n) = v.and_then(Value::as_i64)
        && n < 0
    {
        out.push(invalid_num(field, n, NEGATIVE));
    }
}

/// `why` is the wording of the server's check for that field
/// ("must be greater than 0" or "must be greater than zero").
pub fn positive(out: &mut Vec<Cause>, field: &str, v: Option<&Value>, why: &str) {
    if let Some(n) = v.and_then(Value::as_i64)
        && n <= 0
    {
        out.push(invalid_num(field, n, why));
    }
}

/// `field.NotSupported` for a string outside `allowed` (absent is fine).
pub fn one_of(out: &mut Vec<Cause>, field: &str, v: Option<&Value>, allowed: &[&str]) {
    if let Some(s) = v.and_then(Value::as_str)
        && !allowed.contains(&s)
    {
        out.push(Cause::not_supported(field, &format!("{s:?}"), allowed));
    }
}

pub fn required(out: &mut Vec<Cause>, field: &str, v: Option<&Value>) {
    let missing = match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if missing {
        out.push(Cause::required_bare(field));
    }
}

pub fn port_number(out: &mut Vec<Cause>, field: &str, n: i64) {
    if !(1..=65535).contains(&n) {
        out.push(invalid_num(field, n, PORT_RANGE));
    }
}

/// `IsValidPortName` (IANA service name), every failed rule a cause.
pub fn port_name(out: &mut Vec<Cause>, field: &str, name: &str) {
    let b = name.as_bytes();
    let mut why = Vec::new();
    if b.len() > 15 {
        why.push("must be no more than 15 characters");
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    {
        why.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if name.contains("--") {
        why.push("must not contain consecutive hyphens");
    }
    if !b.iter().any(u8::is_ascii_lowercase) {
        why.push("must contain at least one letter (a-z)");
    }
    if name.starts_with('-') || name.ends_with('-') {
        why.push("must not begin or end with a hyphen");
    }
    for w in why {
        out.push(Cause::invalid(field, name, w));
    }
}

pub fn dns_label(out: &mut Vec<Cause>, field: &str, s: &str) {
    out.extend(validate::rule_causes(NameRule::Label, None, s, field));
}

/// A `name` that must be present, a DNS label, and unique among `names`
/// (containers, volumes): `field` is the path of the name itself.
pub fn unique_label_name(
    out: &mut Vec<Cause>,
    field: &str,
    name: &str,
    names: &mut HashSet<String>,
) {
    if name.is_empty() {
        out.push(Cause::required_bare(field));
    } else {
        dns_label(out, field, name);
        if !names.insert(name.to_string()) {
            out.push(duplicate(field, name));
        }
    }
}

pub fn dns_subdomain(out: &mut Vec<Cause>, field: &str, s: &str) {
    out.extend(validate::rule_causes(NameRule::Subdomain, None, s, field));
}

pub fn dns1035_label(out: &mut Vec<Cause>, field: &str, s: &str) {
    out.extend(validate::rule_causes(NameRule::Label1035, None, s, field));
}

pub fn duplicate(field: &str, value: &str) -> Cause {
    Cause {
        reason: "FieldValueDuplicate",
        message: format!("Duplicate value: {value:?}"),
        field: Some(field.to_string()),
    }
}

pub fn not_found(field: &str, value: &str) -> Cause {
    Cause {
        reason: "FieldValueNotFound",
        message: format!("Not found: {value:?}"),
        field: Some(field.to_string()),
    }
}

/// A quantity's value in nano-units (numbers are whole units).
pub fn quantity(v: &Value) -> Option<i128> {
    match v {
        Value::String(s) => quantity_nanos(s),
        Value::Number(n) => n.as_i64().map(|n| i128::from(n) * 1_000_000_000),
        _ => None,
    }
}

pub fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An int-or-string that must be a non-negative int or a percentage
/// (`ValidatePositiveIntOrPercent`, and at most 100% when `max_100`).
pub fn int_or_percent(out: &mut Vec<Cause>, field: &str, v: Option<&Value>, max_100: bool) {
    match v {
        Some(Value::Number(n)) => non_negative(out, field, Some(&Value::from(n.as_i64()))),
        Some(Value::String(s)) => {
            let digits = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()));
            match digits {
                None => out.push(Cause::invalid(field, s, PERCENT_MSG)),
                Some(d) if max_100 && d.parse::<u64>().is_ok_and(|p| p > 100) => {
                    out.push(Cause::invalid(field, s, "must not be greater than 100%"))
                }
                Some(_) => {}
            }
        }
        _ => {}
    }
}

/// Whether an int-or-percent is zero (`0` or `0%`).
pub fn is_zero(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s.trim_end_matches('%').parse::<u64>() == Ok(0),
        _ => false,
    }
}

//! What the real server finds while decoding a body into the typed
//! object, before any validation: quantities that do not parse, numbers
//! with a fraction in integer fields, Secret data that is not base64.
//! Server-side apply reports them as a 500 (`failed to convert new
//! object ...`), a create, update or patch as a 400 (`... cannot be
//! handled as a Kind: ...`); both are built by the callers from
//! [`conversion_error`].
//!
//! Also the wording of structured-merge-diff's typed-patch check for a
//! number field given a string (`.spec.replicas: expected numeric (int or
//! float), got string`), which differs from Go's JSON decoder's.

use serde_json::{Map, Value};

use crate::resources::ResourceType;
use crate::schema::{self, ListKind, Scalar, Ty};

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Why `s` is not a quantity, in `resource.ParseQuantity`'s words.
pub fn quantity_error(s: &str) -> Option<&'static str> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(split);
    let digits = num.chars().filter(char::is_ascii_digit).count();
    if num.is_empty() || digits == 0 || num.matches('.').count() > 1 {
        return Some(QUANTITY_FORMAT);
    }
    // The regular expression's suffix part: letters, then a signed number.
    let letters = suffix
        .find(|c: char| !"eEinumkKMGTP".contains(c))
        .unwrap_or(suffix.len());
    let exp = suffix[letters..]
        .strip_prefix(['+', '-'])
        .unwrap_or(&suffix[letters..]);
    if !exp.chars().all(|c| c.is_ascii_digit()) {
        return Some(QUANTITY_FORMAT);
    }
    let known = [
        "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let exponent = suffix.len() > 1
        && suffix.starts_with(['e', 'E'])
        && suffix[1..]
            .strip_prefix(['+', '-'])
            .unwrap_or(&suffix[1..])
            .chars()
            .all(|c| c.is_ascii_digit());
    if known.contains(&suffix) || exponent {
        None
    } else {
        Some("unable to parse quantity's suffix")
    }
}

/// Go's `base64.StdEncoding` error for `s`: the offset of the first
/// illegal byte (or of the incomplete last quantum).
pub fn base64_error(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let data_end = b.iter().position(|c| *c == b'=').unwrap_or(b.len());
    if let Some(i) = b[..data_end].iter().position(|c| !alphabet(*c)) {
        return Some(format!("illegal base64 data at input byte {i}"));
    }
    let pad = &b[data_end..];
    if let Some(i) = pad.iter().position(|c| *c != b'=') {
        return Some(format!(
            "illegal base64 data at input byte {}",
            data_end + i
        ));
    }
    let ok = b.len().is_multiple_of(4) && pad.len() <= 2 && data_end % 4 != 1;
    if ok {
        None
    } else {
        let at = if !b.len().is_multiple_of(4) {
            b.len() - b.len() % 4
        } else {
            data_end
        };
        Some(format!("illegal base64 data at input byte {at}"))
    }
}

fn is_quantity(ty: &Ty) -> bool {
    matches!(ty, Ty::Object(i) if schema::type_def(*i).name == QUANTITY)
}

fn walk(ty: &Ty, v: &Value) -> Option<String> {
    if is_quantity(ty) {
        return match v {
            Value::String(s) => quantity_error(s).map(str::to_string),
            _ => None,
        };
    }
    match (ty, v) {
        (Ty::Scalar(s @ (Scalar::Int32 | Scalar::Int64)), Value::Number(n)) if n.is_f64() => {
            let to = if *s == Scalar::Int32 {
                "int32"
            } else {
                "int64"
            };
            Some(format!("cannot convert float64 to {to}"))
        }
        (Ty::Object(i), Value::Object(m)) => m
            .iter()
            .find_map(|(k, x)| schema::field(*i, k).and_then(|t| walk(t, x))),
        (Ty::List(e, _), Value::Array(a)) => a.iter().find_map(|x| walk(e, x)),
        (Ty::Map(e), Value::Object(m)) => m.values().find_map(|x| walk(e, x)),
        _ => None,
    }
}

/// The first value the typed object cannot hold, as the converter says it.
pub fn conversion_error(rt: &ResourceType, obj: &Map<String, Value>) -> Option<String> {
    if rt.group.is_empty()
        && rt.kind == "Secret"
        && let Some(Value::Object(data)) = obj.get("data")
    {
        let bad = data
            .values()
            .filter_map(Value::as_str)
            .find_map(base64_error);
        if let Some(e) = bad {
            return Some(format!("error decoding from json: {e}"));
        }
    }
    let root = schema::root(rt)?;
    walk(&Ty::Object(root), &Value::Object(obj.clone()))
}

/// structured-merge-diff's path element for a list item.
fn list_item(kind: &ListKind, i: usize, item: &Value) -> String {
    match kind {
        ListKind::Map(keys) => {
            let parts: Vec<String> = keys
                .iter()
                .filter_map(|k| item.get(*k).map(|v| format!("{k}={v}")))
                .collect();
            format!("[{}]", parts.join(","))
        }
        _ => format!("[{i}]"),
    }
}

fn walk_numeric(ty: &Ty, v: &Value, path: &str) -> Option<String> {
    if matches!(ty, Ty::Object(i) if schema::type_def(*i).any) {
        return None;
    }
    match (ty, v) {
        (Ty::Scalar(Scalar::Int32 | Scalar::Int64 | Scalar::Float), Value::String(_)) => Some(
            format!("{path}: expected numeric (int or float), got string"),
        ),
        (Ty::Object(i), Value::Object(m)) => m.iter().find_map(|(k, x)| {
            schema::field(*i, k).and_then(|t| walk_numeric(t, x, &format!("{path}.{k}")))
        }),
        (Ty::List(e, kind), Value::Array(a)) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| walk_numeric(e, x, &format!("{path}{}", list_item(kind, i, x)))),
        (Ty::Map(e), Value::Object(m)) => m
            .iter()
            .find_map(|(k, x)| walk_numeric(e, x, &format!("{path}.{k}"))),
        _ => None,
    }
}

/// A number field sent as a string, in structured-merge-diff's words.
pub fn typed_patch_error(rt: &ResourceType, obj: &Map<String, Value>) -> Option<String> {
    let root = schema::root(rt)?;
    walk_numeric(&Ty::Object(root), &Value::Object(obj.clone()), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_resource_parse_quantity_does() {
        for ok in [
            "1", "500m", "1.5Gi", "12Mi", "+1", "-1", "1e3", "0.5", "100k",
        ] {
            assert_eq!(quantity_error(ok), None, "{ok}");
        }
        assert_eq!(quantity_error("12XB"), Some(QUANTITY_FORMAT));
        assert_eq!(quantity_error("abc"), Some(QUANTITY_FORMAT));
        assert_eq!(quantity_error("1.2.3"), Some(QUANTITY_FORMAT));
        assert_eq!(
            quantity_error("12mi"),
            Some("unable to parse quantity's suffix")
        );
    }

    #[test]
    fn base64_errors_name_the_byte_as_go_does() {
        assert_eq!(base64_error("aGVsbG8="), None);
        assert_eq!(base64_error(""), None);
        assert_eq!(
            base64_error("not base64!!").as_deref(),
            Some("illegal base64 data at input byte 3")
        );
        assert!(base64_error("abc").is_some());
    }
}

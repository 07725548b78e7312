//! Quantities (`256Mi`, `500m`, `1Gi`): k8s-openapi keeps them as plain
//! text, so `1Gb` deserializes fine and fails only on the server. This
//! checks the Kubernetes grammar wherever a quantity stands.

use serde_json::Value;

use super::Context;
use super::finding::Findings;
use super::path::{Seg, ends_with, render, walk_scalars};

/// Where quantities stand, as path suffixes (`*` any key, `[]` any index).
const POSITIONS: &[&[&str]] = &[
    &["resources", "requests", "*"],
    &["resources", "limits", "*"],
    &["spec", "hard", "*"],
    &["spec", "capacity", "*"],
    &["overhead", "*"],
    &["sizeLimit"],
    &["target", "averageValue"],
    &["target", "value"],
    &["limits", "[]", "max", "*"],
    &["limits", "[]", "min", "*"],
    &["limits", "[]", "default", "*"],
    &["limits", "[]", "defaultRequest", "*"],
];

pub fn check(ctx: &Context, out: &mut Findings) {
    // A Secret holds no quantity or enum, and its data must never be quoted.
    for (o, at) in ctx.each().filter(|(o, _)| o.kind() != "Secret") {
        walk_scalars(&o.value, &mut |segs: &[Seg], v: &Value| {
            let Some(text) = v.as_str() else { return };
            if !POSITIONS.iter().any(|p| ends_with(segs, p)) || is_valid(text) {
                return;
            }
            let fix = match suggest(text) {
                Some(s) => format!("write `{s}`: binary suffixes are Ki, Mi, Gi, Ti (powers of 1024), decimal ones k, M, G, T (powers of 1000), m is thousandths"),
                None => "write a number with a Kubernetes suffix: Ki, Mi, Gi, Ti (powers of 1024), k, M, G, T (powers of 1000) or m (thousandths), e.g. 512Mi or 250m".to_string(),
            };
            out.error(
                "semantics/quantity",
                &at,
                &render(segs),
                format!("`{text}` is not a Kubernetes quantity"),
                fix,
            );
        });
    }
}

/// The quantity grammar: `[+-]number[suffix]`, number `d`, `d.`, `d.d`
/// or `.d`, suffix a binary or decimal SI suffix or an exponent.
pub fn is_valid(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let number_len = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_len);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => {
            true
        }
        exp if exp.starts_with(['e', 'E']) => {
            let e = &exp[1..];
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// What the author most likely meant: `1Gb` -> `1Gi`, `256MB` -> `256Mi`.
pub fn suggest(s: &str) -> Option<String> {
    let s = s.trim();
    if is_valid(s) {
        return Some(s.to_string());
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, suffix) = s.split_at(split);
    let unit = suffix
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches('b')
        .trim_end_matches('i')
        .to_string();
    let binary = match unit.as_str() {
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        "t" => "Ti",
        "p" => "Pi",
        "e" => "Ei",
        _ => return None,
    };
    let candidate = format!("{number}{binary}");
    is_valid(&candidate).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in [
            "1", "1Gi", "256Mi", "500m", "0.5", ".5", "1.", "1e3", "1E-2", "+1k", "-1", "100G",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "1Gb", "1GB", "", "Gi", "1 Gi", "1.2.3", "1gi", "1e", "abc", "1KiB", ".",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("1Gb").as_deref(), Some("1Gi"));
        assert_eq!(suggest("256MB").as_deref(), Some("256Mi"));
        assert_eq!(suggest("2gi").as_deref(), Some("2Gi"));
        assert_eq!(suggest("1 Gi").as_deref(), Some("1Gi"));
        assert_eq!(suggest("lots"), None);
    }
}

//! Kubernetes quantities (`250m`, `1.5Gi`, `2e3`) as values take them:
//! the apimachinery grammar without a sign, since no CPU, memory or
//! storage amount of this platform may be negative.
//!
//! ```text
//! quantity ::= number suffix
//! number   ::= digits | digits "." digits | digits "." | "." digits
//! suffix   ::= "" | "m" | "k" | "M" | "G" | "T" | "P" | "E"   (powers of 1000)
//!            | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"        (powers of 1024)
//!            | ("e" | "E") ["+" | "-"] digits                 (exponent)
//! ```
//!
//! # Caveats
//! The amount is an `f64`: exact enough to compare a request with its
//! limit, not to do arithmetic with (apimachinery keeps a decimal).

use serde_json::Value;

/// The amount a quantity value stands for, or `None` when it is not one.
/// YAML numbers (`cpu: 1`, `cpu: 0.5`) are quantities too.
pub fn amount(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0 && f.is_finite()),
        Value::String(s) => parse(s),
        _ => None,
    }
}

/// Parses the text form; `None` for anything the grammar refuses.
pub fn parse(text: &str) -> Option<f64> {
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_len);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return None;
    }
    let base: f64 = if number.starts_with('.') {
        format!("0{number}").parse().ok()?
    } else {
        number.trim_end_matches('.').parse().ok()?
    };
    let multiplier = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let e = exp.strip_prefix(['e', 'E'])?;
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            10f64.powi(e.parse().ok()?)
        }
    };
    Some(base * multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_kubernetes_grammar() {
        for (text, want) in [
            ("100m", 0.1),
            ("1.5Gi", 1.5 * 1024f64.powi(3)),
            ("2e3", 2000.0),
            ("2E-3", 0.002),
            ("1e+2", 100.0),
            ("0", 0.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("256Mi", 256.0 * 1024f64.powi(2)),
            ("1k", 1000.0),
            ("3", 3.0),
        ] {
            let got = parse(text).unwrap_or_else(|| panic!("{text} refused"));
            assert!((got - want).abs() < 1e-9 * want.max(1.0), "{text}: {got}");
        }
    }

    #[test]
    fn refused() {
        for bad in [
            "12XB", "-1", "-100m", "+1", "1Gb", "1gi", "256MB", "", ".", "1.2.3", "e3", "1e",
            "1e+", "1e3.5", " 1", "1 ", "1Mi ", "1K", "Gi",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn yaml_numbers_are_quantities_unless_negative() {
        assert_eq!(amount(&json!(1)), Some(1.0));
        assert_eq!(amount(&json!(0.5)), Some(0.5));
        assert_eq!(amount(&json!(-1)), None);
        assert_eq!(amount(&json!(true)), None);
        assert_eq!(amount(&json!(["1"])), None);
    }
}

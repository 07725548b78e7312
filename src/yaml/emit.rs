//! Writes JSON values as block YAML that every YAML reader types the same.
//!
//! serde_yaml leaves strings like `on`, `0755` or `2024-01-01` plain, and a
//! YAML 1.1 reader (kubectl's, Go's yaml.v2) turns them into a bool, an
//! octal number or a date. This emitter quotes every string that any YAML
//! 1.1 or 1.2 reader could retype, writes multi-line text as literal blocks
//! and escapes what is not printable, so `render -> kubectl apply` changes
//! no value's type. Key order is kept; output is deterministic.

use serde_json::Value;

/// Writes one document (no `---` line), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_inline(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str(&scalar_string(key));
        out.push(':');
        write_value_after_key(out, value, level);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, level + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, level + 2),
            other => {
                write_inline(out, other, level + 2);
                out.push('\n');
            }
        }
    }
}

/// After `key:`: a nested block on the next lines, or ` scalar\n`.
fn write_value_after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            indent(out, level + 2);
            write_map(out, map, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            indent(out, level);
            write_seq(out, items, level);
        }
        other => {
            out.push(' ');
            write_inline(out, other, level + 2);
            out.push('\n');
        }
    }
}

/// A scalar or empty collection; `content_indent` is where a literal
/// block's lines start.
fn write_inline(out: &mut String, value: &Value, content_indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => {
            if let Some(block) = literal_block(s, content_indent) {
                out.push_str(&block);
            } else {
                out.push_str(&scalar_string(s));
            }
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Floats always carry a `.` and a signed exponent, as YAML 1.1 requires.
fn number(n: &serde_json::Number) -> String {
    let s = n.to_string();
    if n.is_f64() && s.contains(['e', 'E']) {
        let (mantissa, exp) = s.split_at(s.find(['e', 'E']).unwrap_or(s.len()));
        let exp = &exp[1..];
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        let exp = if exp.starts_with(['-', '+']) {
            exp.to_string()
        } else {
            format!("+{exp}")
        };
        return format!("{mantissa}e{exp}");
    }
    s
}

/// A string as a plain, single-quoted or double-quoted one-line scalar.
pub fn scalar_string(s: &str) -> String {
    if !s.chars().all(is_printable) || s.contains('\n') {
        double_quoted(s)
    } else if needs_quotes(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

/// Characters YAML allows unescaped, minus the ones YAML 1.1 reads as line
/// breaks (NEL, LS, PS) and the byte-order mark.
fn is_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Whether a one-line printable string would be read back as something
/// other than this string by a YAML 1.1 or 1.2 reader.
fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    let lower = s.to_ascii_lowercase();
    let retyped = matches!(
        lower.as_str(),
        "y" | "yes" | "n" | "no" | "true" | "false" | "on" | "off" | "null" | "~" | "=" | "<<"
    ) || matches!(lower.trim_start_matches(['-', '+']), ".inf" | ".nan");
    // Numbers (any base, `_` separators, sexagesimal `1:20`), floats
    // (`1.4.0` matches YAML 1.1's float pattern) and timestamps are made of
    // these characters only; `5Gi` or `1-config` are not, and stay plain.
    let body = s.trim_start_matches(['-', '+']);
    let numeric_start = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoO_.:+-tTzZ ".contains(c));
    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let whitespace_edge = first == ' ' || s.ends_with(' ');
    let inner = s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t');
    retyped || numeric_start || indicator || whitespace_edge || inner
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A literal block (`|`, `|-`, `|+`) for multi-line text that reads back
/// exactly, or `None` when the text needs double quotes instead.
fn literal_block(s: &str, content_indent: usize) -> Option<String> {
    if !s.contains('\n') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let clean = s
        .chars()
        .all(|c| c == '\n' || (is_printable(c) && c != '\t'));
    // Whitespace-only lines and leading blank lines confuse indentation
    // detection; such text is written double-quoted.
    let awkward = body.is_empty()
        || body.starts_with('\n')
        || body.starts_with(' ')
        || body
            .split('\n')
            .any(|l| !l.is_empty() && l.trim().is_empty());
    if !clean || awkward {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in s
        .split('\n')
        .take(body.split('\n').count() + trailing.saturating_sub(1))
    {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, content_indent);
            out.push_str(line);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load::parse_single;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml(v);
        parse_single(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .value
    }

    #[test]
    fn quotes_what_yaml_1_1_would_retype() {
        for s in [
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "~",
            "null",
            "12345",
            "0755",
            "0x1F",
            "1e3",
            "1_000",
            "2024-01-01",
            "1:20",
            ".5",
            "-1",
            ".inf",
            "+.5",
            "=",
            "<<",
            "",
            "1.4.0",
            "0b101",
            "-.5",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "0o17",
            "685_230.15",
        ] {
            let out = scalar_string(s);
            assert!(out.starts_with('\''), "{s} was emitted as {out}");
        }
        for s in [
            "abc",
            "app.kubernetes.io/name",
            "a-b",
            "hello world",
            "ünïcödé",
            "/api",
            "5Gi",
            "1-config",
            "100/minute",
            "deadbeef",
        ] {
            assert_eq!(scalar_string(s), s);
        }
    }

    #[test]
    fn layout_is_kubectl_like() {
        let v = json!({"a": {"b": [1, {"c": "x", "d": []}], "e": {}}, "f": [[1, 2]]});
        assert_eq!(
            to_yaml(&v),
            "a:\n  b:\n  - 1\n  - c: x\n    d: []\n  e: {}\nf:\n- - 1\n  - 2\n"
        );
    }

    #[test]
    fn adversarial_strings_survive() {
        let strings = [
            "abc #tail",
            "a: b",
            "12345",
            "on",
            "it's",
            "line1\nline2\n",
            "line1\nline2",
            "trailing\n\n\n",
            "  leading space\nx",
            "tab\there",
            "bell\u{7}",
            "nel\u{85}x",
            "юникод ✓ 🚀",
            "\"quoted\"",
            "back\\slash",
            "- dash",
            "key:",
            "#comment",
            "   ",
            "\n",
            "a\n \nb",
        ];
        for s in strings {
            let v = json!({"k": s, "list": [s], "nested": {"deep": s}});
            assert_eq!(round_trip(&v), v, "failed for {s:?}:\n{}", to_yaml(&v));
        }
    }

    #[test]
    fn numbers_and_keys() {
        let v = json!({"on": 1, "1": 2.5, "big": 1e300, "neg": -7, "t": true, "n": null});
        assert_eq!(round_trip(&v), v);
        assert!(to_yaml(&v).contains("'on': 1"));
        assert!(to_yaml(&v).contains("big: 1.0e+300"));
    }

    #[test]
    fn literal_blocks_for_multiline_text() {
        let v = json!({"script": "set -e\necho hi\n"});
        assert_eq!(to_yaml(&v), "script: |\n  set -e\n  echo hi\n");
    }
}

//! Writes JSON values as block YAML that every YAML reader types the same.
//!
//! The writing is serde-saphyr's (maintained, and already in the build:
//! kube-client parses kubeconfigs with it, default features, so using it
//! here adds no crate and no compile time). It keeps key order (our
//! `serde_json` is built with `preserve_order`) and, in its default YAML
//! 1.1-compatible mode, quotes every string a YAML 1.1 reader (kubectl's
//! Go yaml, PyYAML) would retype: `on`, `y`, `0755`, `0o17`, `0b101`,
//! `1_000`, `1:20`, `2024-01-01`, `.5`, `~`; multi-line text becomes a
//! literal block. serde_yaml is not used: it is unmaintained (archived,
//! last release 0.9.34 "+deprecated") and leaves `2024-01-01` plain.
//!
//! One setting differs from serde-saphyr's defaults: long single-line
//! strings are never folded (`>-`). Folding would split a long value over
//! lines, and `Masker` (which replaces secret values in printed YAML by
//! text search) could then miss it.

use serde_json::Value;

/// Writes one document (no `---` line), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    match serde_saphyr::to_string_with_options(value, options) {
        Ok(text) => text,
        // A JSON value always serializes (no non-string keys, no NaN);
        // should that ever change, show the value as JSON (valid YAML)
        // rather than lose it.
        Err(_) => format!("{value}\n"),
    }
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
            let out = to_yaml(&json!({ "k": s }));
            assert!(out.starts_with("k: \""), "{s} was emitted as {out}");
            assert_eq!(round_trip(&json!({ "k": s })), json!({ "k": s }));
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
            assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {s}\n"));
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
        assert!(to_yaml(&v).contains("\"on\": 1"));
        assert!(to_yaml(&v).contains("big: 1.0e+300"));
    }

    #[test]
    fn long_lines_are_not_folded() {
        let long = "word ".repeat(40);
        let v = json!({ "k": long.trim_end() });
        assert_eq!(to_yaml(&v), format!("k: {}\n", long.trim_end()));
    }

    #[test]
    fn literal_blocks_for_multiline_text() {
        let v = json!({"script": "set -e\necho hi\n"});
        assert_eq!(to_yaml(&v), "script: |\n  set -e\n  echo hi\n");
    }
}

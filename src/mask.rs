//! Secret values never reach the terminal: every known secret value (4+
//! characters) is replaced by `***` in text, and Secret objects show their
//! keys, not their data.

use serde_json::Value;

/// Replaces known secret values in text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a value containing another is masked whole.
    values: Vec<String>,
}

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Masker {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.chars().count() >= 4)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Masker { values }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }
}

/// A Secret with each data value replaced by a note of its size.
pub fn mask_secret(obj: &mut Value) {
    if obj.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                let len = v.as_str().map_or(0, str::len);
                *v = Value::String(format!("(masked, {len} characters)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_longest_first_and_ignores_short_values() {
        let m = Masker::new([
            "hunter2hunter2".to_string(),
            "hunter2".to_string(),
            "abc".to_string(),
        ]);
        assert_eq!(
            m.mask("pw=hunter2hunter2 other=hunter2 short=abc"),
            "pw=*** other=*** short=abc"
        );
    }

    #[test]
    fn secrets_show_keys_not_data() {
        let mut s = json!({"kind": "Secret", "data": {"A": "c2VjcmV0"}});
        mask_secret(&mut s);
        assert_eq!(s["data"]["A"], "(masked, 8 characters)");
        let mut cm = json!({"kind": "ConfigMap", "data": {"A": "visible"}});
        mask_secret(&mut cm);
        assert_eq!(cm["data"]["A"], "visible");
    }
}

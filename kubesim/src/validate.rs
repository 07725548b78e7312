//! Validation shared by all kinds: object names (DNS-1123 subdomain or
//! label, DNS-1035 label, path segment) and unknown-field detection for
//! `fieldValidation`, with the real server's messages.

use serde_json::{Map, Value};

use crate::error::Cause;
use crate::kinds::{self, NameRule};
use crate::resources::ResourceType;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label_chars(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A DNS-1123 subdomain (without the length limit).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_label_chars)
}

/// Causes for an invalid `metadata.name` (empty when valid).
pub fn name_causes(rules: &kinds::KindRules, name: &str, field: &str) -> Vec<Cause> {
    rule_causes(rules.name_rule, rules.max_name, name, field)
}

/// Causes for `name` at `field` under `rule` (`max`: a shorter limit).
pub fn rule_causes(rule: NameRule, max: Option<usize>, name: &str, field: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (ok, msg, default_max) = match rule {
        NameRule::Subdomain => (is_dns1123_subdomain(name), SUBDOMAIN_MSG, 253),
        NameRule::Label => (is_label_chars(name), LABEL_MSG, 63),
        NameRule::Label1035 => (
            is_label_chars(name) && name.as_bytes()[0].is_ascii_lowercase(),
            DNS1035_MSG,
            63,
        ),
        NameRule::PathSegment => {
            for (bad, why) in [(".", "may not be '.'"), ("..", "may not be '..'")] {
                if name == bad {
                    causes.push(Cause::invalid(field, name, why));
                }
            }
            for (bad, why) in [("/", "may not contain '/'"), ("%", "may not contain '%'")] {
                if name.contains(bad) {
                    causes.push(Cause::invalid(field, name, why));
                }
            }
            return causes;
        }
    };
    let max = max.unwrap_or(default_max);
    if name.len() > max {
        causes.push(Cause::invalid(
            field,
            name,
            &format!("must be no more than {max} characters"),
        ));
    }
    if !ok {
        causes.push(Cause::invalid(field, name, msg));
    }
    causes
}

/// Unknown top-level and `metadata` fields, as dotted paths.
pub fn unknown_fields(rt: &ResourceType, obj: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in obj {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if let Some(m) = v.as_object() {
                    out.extend(
                        m.keys()
                            .filter(|k| !kinds::METADATA_FIELDS.contains(&k.as_str()))
                            .map(|k| format!("metadata.{k}")),
                    );
                }
            }
            other if rt.rules.fields.contains(&other) => {}
            other => out.push(other.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name_causes(&kinds::CONFIG_MAP, "a.b-c", "metadata.name").is_empty());
        assert_eq!(
            name_causes(&kinds::CONFIG_MAP, "BadName", "metadata.name").len(),
            1
        );
        assert_eq!(
            name_causes(&kinds::NAMESPACE, "a.b", "metadata.name").len(),
            1
        );
        assert_eq!(
            name_causes(&kinds::SERVICE, "1abc", "metadata.name").len(),
            1
        );
        assert!(name_causes(&kinds::ROLE, "system:thing", "metadata.name").is_empty());
        assert_eq!(
            name_causes(&kinds::CRONJOB, &"a".repeat(53), "metadata.name").len(),
            1
        );
    }
}

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
pub const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PREFIX_MSG: &str = "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

pub fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Causes for a qualified name (`prefix/name`) used as a label or
/// annotation key.
pub fn qualified_name_causes(field: &str, key: &str, out: &mut Vec<Cause>) {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            out.push(Cause::invalid(field, key, "prefix part must be non-empty"));
        } else if !is_dns1123_subdomain(p) {
            out.push(Cause::invalid(field, key, PREFIX_MSG));
        } else if p.len() > 253 {
            out.push(Cause::invalid(
                field,
                key,
                "prefix part must be no more than 253 characters",
            ));
        }
    }
    if name.is_empty() {
        out.push(Cause::invalid(field, key, "name part must be non-empty"));
    } else {
        if name.len() > 63 {
            out.push(Cause::invalid(
                field,
                key,
                "name part must be no more than 63 characters",
            ));
        }
        if !is_name_part(name) {
            out.push(Cause::invalid(field, key, NAME_PART_MSG));
        }
    }
}

/// Causes for a label map at `field` (`metadata.labels`,
/// `spec.selector.matchLabels`...).
pub fn label_causes(field: &str, labels: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(Value::Object(m)) = labels else {
        return;
    };
    for (k, v) in m {
        qualified_name_causes(field, k, out);
        let v = v.as_str().unwrap_or_default();
        if v.len() > 63 {
            out.push(Cause::invalid(
                field,
                v,
                "must be no more than 63 characters",
            ));
        }
        if !v.is_empty() && !is_name_part(v) {
            out.push(Cause::invalid(field, v, LABEL_VALUE_MSG));
        }
    }
}

/// Causes for `metadata.annotations`: qualified keys, 256 KiB in total.
pub fn annotation_causes(annotations: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(Value::Object(m)) = annotations else {
        return;
    };
    let mut total = 0;
    for (k, v) in m {
        qualified_name_causes("metadata.annotations", &k.to_lowercase(), out);
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    const MAX: usize = 256 * 1024;
    if total > MAX {
        out.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {MAX} bytes"),
            field: Some("metadata.annotations".into()),
        });
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_values_follow_the_real_rules() {
        let mut out = Vec::new();
        label_causes(
            "metadata.labels",
            Some(&json!({"app.kubernetes.io/version": "1.2.3", "ok": ""})),
            &mut out,
        );
        assert!(out.is_empty());
        label_causes(
            "metadata.labels",
            Some(&json!({"app.kubernetes.io/version": "1.2.3+build", "Bad Key": "x"})),
            &mut out,
        );
        let fields: Vec<&str> = out.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(out.len(), 2, "{fields:?}");
        assert!(
            out[0]
                .message
                .starts_with("Invalid value: \"1.2.3+build\": a valid label")
        );
        assert!(
            out[1]
                .message
                .starts_with("Invalid value: \"Bad Key\": name part")
        );
    }
}

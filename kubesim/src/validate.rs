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
    let mut causes = Vec::new();
    let (ok, msg, max) = match rules.name_rule {
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
    let max = rules.max_name.unwrap_or(max);
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

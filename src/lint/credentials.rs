//! No credentials in ConfigMaps (SPEC §3: secret values never appear in
//! ConfigMaps, which anyone with read access to the namespace, and every
//! `kubectl describe`, shows in clear). A key that sounds like a
//! credential, or a value holding a URL with a password, is an error.

use serde_json::Value;

use super::Context;
use super::finding::Findings;
use super::path::join_path;

/// Fragments of key names that mean a credential (case-insensitive).
const SUSPICIOUS: &[&str] = &["pass", "secret", "token", "key", "credential", "dsn"];

/// Keys that match [`SUSPICIOUS`] but hold no secret. Keep it small:
/// every entry is a key someone checked. (The platform's own ConfigMap
/// keys, CACHE_TIMEOUT and API_* included, match nothing.)
const ALLOWED: &[&str] = &["CACHE_KEY_PREFIX", "PASSWORD_RESET_TIMEOUT"];

pub fn check(ctx: &Context, out: &mut Findings) {
    for (o, at) in ctx.each().filter(|(o, _)| o.kind() == "ConfigMap") {
        for field in ["data", "binaryData"] {
            let Some(data) = o.value.get(field).and_then(Value::as_object) else {
                continue;
            };
            for (key, value) in data {
                let path = join_path(field, key);
                let fix = "move it to the Secret (a secrets.* value) and read it with secretKeyRef or envFrom secretRef";
                if let Some(word) = suspicious_key(key) {
                    out.error(
                        "policy/credentials",
                        &at,
                        &path,
                        format!("key `{key}` looks like a credential (`{word}`) and ConfigMaps are not secret"),
                        format!("{fix}; if it holds no secret, add it to the allowlist in src/lint/credentials.rs"),
                    );
                } else if value.as_str().is_some_and(has_url_password) {
                    out.error(
                        "policy/credentials",
                        &at,
                        &path,
                        format!("key `{key}` holds a URL with a password (`://user:password@`)"),
                        fix,
                    );
                }
            }
        }
    }
}

fn suspicious_key(key: &str) -> Option<&'static str> {
    if ALLOWED.contains(&key) {
        return None;
    }
    let lower = key.to_ascii_lowercase();
    SUSPICIOUS.iter().copied().find(|w| lower.contains(w))
}

/// Whether `text` holds `scheme://user:password@host` (user may be empty).
fn has_url_password(text: &str) -> bool {
    text.match_indices("://").any(|(i, _)| {
        let rest = &text[i + 3..];
        let authority = rest.split(['/', '?', '#', ' ', '\n']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .is_some_and(|(_, password)| !password.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        for bad in [
            "DB_PASSWORD",
            "secret_key",
            "SENTRY_DSN",
            "API_TOKEN",
            "AWS_CREDENTIALS",
        ] {
            assert!(suspicious_key(bad).is_some(), "{bad}");
        }
        for ok in [
            "CACHE_TIMEOUT",
            "API_PAGE_SIZE",
            "API_RATE_LIMIT",
            "LOG_LEVEL",
            "CACHE_KEY_PREFIX",
            "POSTGRES_USER",
        ] {
            assert!(suspicious_key(ok).is_none(), "{ok}");
        }
        assert!(has_url_password("postgres://user:pw@db:5432/x"));
        assert!(has_url_password("redis://:pw@redis:6379/0"));
        assert!(!has_url_password("https://example.com/a:b@c"));
        assert!(!has_url_password("redis://redis:6379/0"));
        assert!(!has_url_password("https://user@host/"));
    }
}

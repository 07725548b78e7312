//! The secret values a render needs: required ones checked all at once,
//! generated ones filled in, numbers turned into text.
//!
//! The engine passes the values of Secret `<release>-generated`; `thebot
//! template` passes none and renders the placeholder
//! [`GENERATED_PLACEHOLDER`] for them (CONVENTIONS).

use serde_json::{Map, Value};

/// What `template` renders for a secret generated at install.
pub const GENERATED_PLACEHOLDER: &str = "generated-at-install";

/// Secrets generated at install in environments with `secrets.generate`.
pub const GENERATED_KEYS: &[&str] = &["djangoSecretKey", "postgresPassword", "redisPassword"];

/// Integration credentials: required where `secrets.required`, else may be empty.
pub const INTEGRATION_KEYS: &[&str] = &[
    "yookassaShopId",
    "yookassaSecretKey",
    "openrouterApiKey",
    "pachcaForumApiToken",
    "telegramBotToken",
];

/// Secrets that must be given and were not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{environment} needs these secrets, and they are not set:\n{}\n\
     Pass them in a file: -f my-secrets.yaml (start from releases/prod-secrets.example.yaml, keep the copy out of git),\n\
     or one by one: --set secrets.<key>=VALUE,\n\
     or use a Secret that already exists in the namespace: --set secrets.existingSecret=NAME",
    missing.iter().map(|k| format!("  secrets.{k}")).collect::<Vec<_>>().join("\n")
)]
pub struct MissingSecrets {
    pub environment: String,
    pub missing: Vec<String>,
}

/// Fills and checks `values.secrets` in place. `generated` holds the values
/// generated at install (by key), when the engine has them.
pub fn prepare(
    values: &mut Value,
    environment: &str,
    generated: Option<&Map<String, Value>>,
) -> Result<(), MissingSecrets> {
    let Some(secrets) = values.get_mut("secrets").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let external = secrets.get("existingSecret").is_some_and(|v| !is_empty(v));
    let generate = secrets
        .get("generate")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let required = secrets
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut missing = Vec::new();
    for key in GENERATED_KEYS.iter().chain(INTEGRATION_KEYS) {
        let current = secrets.get(*key).cloned().unwrap_or(Value::Null);
        let text = match current {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        };
        let value = match text {
            Some(t) => t,
            None if external => String::new(),
            None if required => {
                missing.push((*key).to_string());
                continue;
            }
            None if GENERATED_KEYS.contains(key) && generate => generated
                .and_then(|g| g.get(*key))
                .and_then(Value::as_str)
                .unwrap_or(GENERATED_PLACEHOLDER)
                .to_string(),
            None if GENERATED_KEYS.contains(key) => {
                missing.push((*key).to_string());
                continue;
            }
            None => String::new(),
        };
        secrets.insert((*key).to_string(), Value::String(value));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingSecrets {
            environment: environment.to_string(),
            missing,
        })
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Every secret value of the merged values (4+ characters), for masking.
pub fn known_values(values: &Value) -> Vec<String> {
    let Some(secrets) = values.get("secrets").and_then(Value::as_object) else {
        return Vec::new();
    };
    GENERATED_KEYS
        .iter()
        .chain(INTEGRATION_KEYS)
        .filter_map(|k| secrets.get(*k).and_then(Value::as_str))
        .filter(|s| s.chars().count() >= 4 && *s != GENERATED_PLACEHOLDER)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(extra: Value) -> Value {
        let mut s = json!({"existingSecret": null, "generate": false, "required": false});
        crate::values::merge(&mut s, &extra);
        for k in GENERATED_KEYS.iter().chain(INTEGRATION_KEYS) {
            s.as_object_mut()
                .unwrap()
                .entry(k.to_string())
                .or_insert(Value::Null);
        }
        json!({ "secrets": s })
    }

    #[test]
    fn required_lists_every_missing_key() {
        let mut v = secrets(json!({"required": true, "redisPassword": "x"}));
        let err = prepare(&mut v, "prod", None).unwrap_err();
        assert_eq!(err.missing.len(), 7);
        assert!(!err.missing.contains(&"redisPassword".to_string()));
        let msg = err.to_string();
        assert!(msg.contains("secrets.telegramBotToken"));
        assert!(msg.contains("existingSecret"));
    }

    #[test]
    fn generated_placeholders_and_empty_integrations() {
        let mut v = secrets(json!({"generate": true, "telegramBotToken": 12345}));
        prepare(&mut v, "dev", None).unwrap();
        assert_eq!(v["secrets"]["postgresPassword"], GENERATED_PLACEHOLDER);
        assert_eq!(v["secrets"]["yookassaShopId"], "");
        assert_eq!(v["secrets"]["telegramBotToken"], "12345");
    }

    #[test]
    fn engine_generated_values_are_used() {
        let mut v = secrets(json!({"generate": true}));
        let generated = json!({"postgresPassword": "s3cr3tP4ss"});
        prepare(&mut v, "dev", generated.as_object()).unwrap();
        assert_eq!(v["secrets"]["postgresPassword"], "s3cr3tP4ss");
        assert_eq!(known_values(&v), ["s3cr3tP4ss"]);
    }

    #[test]
    fn an_existing_secret_needs_no_values() {
        let mut v = secrets(json!({"required": true, "existingSecret": "vault-synced"}));
        prepare(&mut v, "prod", None).unwrap();
    }
}

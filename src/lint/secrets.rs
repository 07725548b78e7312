//! Missing required secrets under lint: `thebot template prod` fails
//! without them, but a lint of prod should still check everything else.
//! Each missing secret becomes a warning and the render goes on with a
//! placeholder in its place.

use serde_json::Value;

use crate::render::secrets::{self, MissingSecrets};

use super::finding::{Findings, Subject};

/// What lint renders in place of a missing required secret.
pub const MISSING_PLACEHOLDER: &str = "missing-at-lint";

/// The values with their secrets prepared; a warning for each missing one.
pub fn prepare(values: &Value, environment: &str, out: &mut Findings) -> Value {
    let mut prepared = values.clone();
    let Err(MissingSecrets { missing, .. }) = secrets::prepare(&mut prepared, environment, None)
    else {
        return prepared;
    };
    let at = Subject::values();
    for key in &missing {
        out.warning(
            "secrets/missing",
            &at,
            &format!("secrets.{key}"),
            format!("{environment} requires this secret and it is not set (linted with a placeholder)"),
            format!(
                "pass it in a values file (-f my-secrets.yaml, start from releases/prod-secrets.example.yaml and keep the copy out of git), \
                 or --set secrets.{key}=VALUE, or use an existing Secret: --set secrets.existingSecret=NAME"
            ),
        );
    }
    let mut filled = values.clone();
    if let Some(s) = filled.get_mut("secrets").and_then(Value::as_object_mut) {
        for key in missing {
            s.insert(key, Value::String(MISSING_PLACEHOLDER.to_string()));
        }
    }
    match secrets::prepare(&mut filled, environment, None) {
        Ok(()) => filled,
        // Unreachable: every missing key now has a value. Lint the
        // partially prepared values rather than nothing.
        Err(_) => prepared,
    }
}

//! Environment selection: `ENV` -> `releases/ENV.yaml` layered on the
//! defaults with the user's layers, and the release name and namespace
//! (flags > environment file).

use serde_json::Value;

use crate::bundle::{Bundle, DEFAULTS_FILE, TYPES_FILE};
use crate::render::Release;
use crate::values::{self, Source, UserLayer, Values, ValuesError};

/// Longest release name: `<release>-collectstatic-<hash8>` must fit in 63.
pub const MAX_RELEASE_NAME: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("unknown environment `{name}`: the known environments are {} (files in {dir}/)", known.join(", "))]
    Unknown {
        name: String,
        known: Vec<String>,
        dir: String,
    },
    #[error("{dir}/{DEFAULTS_FILE} is missing: it declares every value")]
    NoDefaults { dir: String },
    #[error("{dir}/{TYPES_FILE} is missing: it types every value of {DEFAULTS_FILE}")]
    NoTypes { dir: String },
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error("release name `{name}` is invalid: {reason}")]
    ReleaseName { name: String, reason: String },
    #[error("namespace `{name}` is invalid: {reason}")]
    Namespace { name: String, reason: String },
    #[error("environment `{env}` sets no release name (release.name): pass --name NAME")]
    NoReleaseName { env: String },
}

/// A resolved environment: who and what to render.
#[derive(Debug, Clone)]
pub struct Target {
    pub release: Release,
    pub values: Values,
}

/// Resolves `env` with the user's layers; `name`/`namespace` override the
/// environment file's `release.name`/`release.namespace`.
pub fn resolve(
    bundle: &Bundle,
    env: &str,
    layers: &[UserLayer],
    name: Option<&str>,
    namespace: Option<&str>,
) -> Result<Target, EnvironmentError> {
    resolve_in(bundle, env, layers, name, namespace, "default")
}

/// [`resolve`], with the namespace to use when neither the flag nor the
/// environment file names one (the kubeconfig context's).
pub fn resolve_in(
    bundle: &Bundle,
    env: &str,
    layers: &[UserLayer],
    name: Option<&str>,
    namespace: Option<&str>,
    fallback_namespace: &str,
) -> Result<Target, EnvironmentError> {
    let known = bundle.environments();
    if !known.iter().any(|k| k == env) {
        return Err(EnvironmentError::Unknown {
            name: env.to_string(),
            known,
            dir: bundle.releases_dir.clone(),
        });
    }
    let source = |file: &str| {
        bundle.release_file(file).map(|f| Source {
            name: format!("{}/{}", bundle.releases_dir, f.name),
            text: f.text.clone(),
        })
    };
    let defaults = source(DEFAULTS_FILE).ok_or_else(|| EnvironmentError::NoDefaults {
        dir: bundle.releases_dir.clone(),
    })?;
    let types = source(TYPES_FILE).ok_or_else(|| EnvironmentError::NoTypes {
        dir: bundle.releases_dir.clone(),
    })?;
    let env_source = source(&format!("{env}.yaml")).expect("listed environments have a file");
    let values = values::resolve(&defaults, &types, &env_source, layers)?;

    let from_values = |key: &str| {
        values
            .merged
            .pointer(&format!("/release/{key}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let name = match name.map(str::to_string).or_else(|| from_values("name")) {
        Some(n) => n,
        None => {
            return Err(EnvironmentError::NoReleaseName {
                env: env.to_string(),
            });
        }
    };
    check_release_name(&name)?;
    let namespace = namespace
        .map(str::to_string)
        .or_else(|| from_values("namespace"))
        .unwrap_or_else(|| fallback_namespace.to_string());
    if let Err(reason) = dns1123_label(&namespace, 63) {
        return Err(EnvironmentError::Namespace {
            name: namespace,
            reason,
        });
    }
    Ok(Target {
        release: Release {
            name,
            namespace,
            environment: env.to_string(),
        },
        values,
    })
}

/// A release name is a DNS-1035 label of at most 40 characters.
pub fn check_release_name(name: &str) -> Result<(), EnvironmentError> {
    let err = |reason: String| EnvironmentError::ReleaseName {
        name: name.to_string(),
        reason,
    };
    dns1123_label(name, MAX_RELEASE_NAME).map_err(err)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(err(
            "it must start with a lowercase letter (DNS-1035 label)".into(),
        ));
    }
    Ok(())
}

/// [`crate::names::dns1123_label`], saying why release names are short.
fn dns1123_label(s: &str, max: usize) -> Result<(), String> {
    crate::names::dns1123_label(s, max).map_err(|e| {
        if s.len() > max {
            format!("{e} (derived names such as <release>-collectstatic-<hash> must fit in 63)")
        } else {
            e
        }
    })
}

/// Every environment's default release name (`release.name`), for
/// commands run without ENV.
pub fn default_release_names(bundle: &Bundle) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for env in bundle.environments() {
        let Some(file) = bundle.release_file(&format!("{env}.yaml")) else {
            continue;
        };
        let Ok(doc) = crate::yaml::parse_single(&file.text) else {
            continue;
        };
        if let Some(name) = doc.value.pointer("/release/name").and_then(Value::as_str) {
            out.push((env, name.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names() {
        assert!(check_release_name("thebot-dev").is_ok());
        assert!(check_release_name(&"a".repeat(40)).is_ok());
        for bad in ["", "Thebot", "1abc", "a_b", "abc-", &"a".repeat(41)] {
            assert!(check_release_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_environment_lists_known_ones() {
        let err = resolve(&Bundle::embedded(), "qa", &[], None, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown environment `qa`: the known environments are dev, prod, staging (files in releases/)"
        );
    }

    #[test]
    fn flags_override_the_environment_file() {
        let t = resolve(&Bundle::embedded(), "dev", &[], Some("mine"), Some("ns1")).unwrap();
        assert_eq!(
            (t.release.name.as_str(), t.release.namespace.as_str()),
            ("mine", "ns1")
        );
        let t = resolve(&Bundle::embedded(), "dev", &[], None, None).unwrap();
        assert_eq!(
            (t.release.name.as_str(), t.release.namespace.as_str()),
            ("thebot-dev", "thebot-dev")
        );
    }
}

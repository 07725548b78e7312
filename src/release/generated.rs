//! Secrets generated at install (dev and staging): `[A-Za-z0-9]{32}`,
//! kept in Secret `<release>-generated` (annotated keep) and reused on every
//! upgrade and reinstall, because PostgreSQL keeps its first password on
//! its volume.

use std::collections::BTreeMap;
use std::io::Read;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use serde_json::{Map, Value};

use crate::cluster::retry;

pub fn secret_name(release: &str) -> String {
    format!("{release}-generated")
}

#[derive(Debug, thiserror::Error)]
pub enum GeneratedError {
    #[error("Secret {name}: {}", crate::apply::describe(.source))]
    Api {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot read random bytes: {0}")]
    Random(#[source] std::io::Error),
}

/// 32 characters of `[A-Za-z0-9]` from the OS's random source.
pub fn random_password() -> Result<String, std::io::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    let mut urandom = std::fs::File::open("/dev/urandom")?;
    let mut buf = [0u8; 64];
    while out.len() < 32 {
        urandom.read_exact(&mut buf)?;
        // Rejection sampling: 248 = 4 * 62, so every letter is equally likely.
        for b in buf {
            if b < 248 && out.len() < 32 {
                out.push(ALPHABET[usize::from(b) % 62] as char);
            }
        }
    }
    Ok(out)
}

/// The generated values as they are, without creating anything (diff and
/// dry runs); None when the Secret does not exist or cannot be read.
pub async fn read(
    client: kube::Client,
    namespace: &str,
    release: &str,
) -> Option<Map<String, Value>> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let secret = api.get_opt(&secret_name(release)).await.ok().flatten()?;
    Some(
        secret
            .data?
            .into_iter()
            .map(|(k, v)| (k, Value::String(String::from_utf8_lossy(&v.0).into_owned())))
            .collect(),
    )
}

/// Returns the generated values for `keys`, creating the Secret or adding
/// missing keys as needed. Existing values are never changed.
pub async fn ensure(
    client: kube::Client,
    namespace: &str,
    release: &str,
    keys: &[&str],
    labels: BTreeMap<String, String>,
) -> Result<Map<String, Value>, GeneratedError> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let name = secret_name(release);
    let err = |source| GeneratedError::Api {
        name: name.clone(),
        source,
    };
    let existing = match retry::idempotent(|_| api.get_opt(&name)).await {
        Ok(s) => s,
        Err(e) => return Err(err(e)),
    };
    let mut data: BTreeMap<String, ByteString> = existing
        .as_ref()
        .and_then(|s| s.data.clone())
        .unwrap_or_default();
    let mut changed = false;
    for key in keys {
        if !data.contains_key(*key) {
            data.insert(
                (*key).to_string(),
                ByteString(
                    random_password()
                        .map_err(GeneratedError::Random)?
                        .into_bytes(),
                ),
            );
            changed = true;
        }
    }
    if changed {
        let secret = generated_secret(&name, namespace, release, labels, &existing, &data);
        let pp = PostParams::default();
        let written = match &existing {
            // A create whose answer was lost may have succeeded: retried,
            // a 409 then means "it exists", and what exists is what counts.
            None => retry::idempotent(|_| api.create(&pp, &secret)).await,
            Some(_) => api.replace(&name, &pp, &secret).await,
        };
        match written {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 && existing.is_none() => {
                let current = api.get(&name).await.map_err(err)?;
                data = current.data.unwrap_or_default();
                if keys.iter().any(|k| !data.contains_key(*k)) {
                    return Err(GeneratedError::Random(std::io::Error::other(format!(
                        "Secret {name} was created concurrently without every key: retry"
                    ))));
                }
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(data
        .into_iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(k, v)| (k, Value::String(String::from_utf8_lossy(&v.0).into_owned())))
        .collect())
}

/// The generated Secret holding `data`, kept on uninstall and replacing
/// `existing` (its resourceVersion) if there is one.
fn generated_secret(
    name: &str,
    namespace: &str,
    release: &str,
    labels: BTreeMap<String, String>,
    existing: &Option<Secret>,
    data: &BTreeMap<String, ByteString>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([
                ("thebot.io/resource-policy".to_string(), "keep".to_string()),
                (
                    "thebot.io/release".to_string(),
                    format!("{namespace}/{release}"),
                ),
            ])),
            resource_version: existing
                .as_ref()
                .and_then(|s| s.metadata.resource_version.clone()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data.clone()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_32_alphanumerics_and_differ() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}

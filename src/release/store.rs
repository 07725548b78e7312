//! Release records as Secrets `thebot.release.v1.<release>.v<N>` (type
//! `thebot.io/release.v1`, labels owner/name/version/status, annotation
//! `thebot.io/digest`). A record that cannot be read is reported with its
//! revision and does not hide the others.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};

use super::record::{self, CodecError, Record};
use crate::cluster::retry;

/// The Secret type of release records.
pub const RECORD_TYPE: &str = "thebot.io/release.v1";
/// The data key holding the gzipped record.
const DATA_KEY: &str = "release";

pub fn secret_name(release: &str, revision: u32) -> String {
    format!("thebot.release.v1.{release}.v{revision}")
}

/// One stored revision: its record, or why it cannot be read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub revision: u32,
    pub record: Result<Record, String>,
    /// For optimistic updates.
    pub resource_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} release records in namespace {namespace}: {}", crate::apply::describe(.source))]
    Api {
        what: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("revision {revision}: {source}")]
    Codec {
        revision: u32,
        #[source]
        source: CodecError,
    },
    #[error(
        "revision {revision} was changed by someone else while this operation ran; run `thebot history` and retry"
    )]
    Changed { revision: u32 },
}

/// The records of one release.
#[derive(Clone)]
pub struct Store {
    api: Api<Secret>,
    namespace: String,
    release: String,
}

impl Store {
    pub fn new(client: kube::Client, namespace: &str, release: &str) -> Store {
        Store {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            release: release.to_string(),
        }
    }

    fn err(&self, what: &str, source: kube::Error) -> StoreError {
        StoreError::Api {
            what: what.to_string(),
            namespace: self.namespace.clone(),
            source,
        }
    }

    /// Every revision, oldest first.
    pub async fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let lp = ListParams::default().labels(&format!("owner=thebot,name={}", self.release));
        let list = retry::idempotent(|_| self.api.list(&lp))
            .await
            .map_err(|e| self.err("cannot list", e))?;
        let mut entries: Vec<Entry> = list.items.iter().filter_map(entry_of).collect();
        entries.sort_by_key(|e| e.revision);
        Ok(entries)
    }

    /// Writes a new revision (fails if it exists: two writers, one wins).
    pub async fn create(&self, record: &mut Record) -> Result<String, StoreError> {
        let secret = to_secret(record).map_err(|source| StoreError::Codec {
            revision: record.revision,
            source,
        })?;
        let result = retry::idempotent(|attempt| {
            let secret = secret.clone();
            let api = self.api.clone();
            async move {
                let pp = PostParams::default();
                match api.create(&pp, &secret).await {
                    // A retry after a dropped connection: the first try may have
                    // written it. Ours if the digest matches.
                    Err(kube::Error::Api(s)) if attempt > 0 && s.code == 409 => {
                        let existing = api
                            .get(secret.metadata.name.as_deref().unwrap_or(""))
                            .await?;
                        let digest = |s: &Secret| {
                            s.metadata
                                .annotations
                                .as_ref()
                                .and_then(|a| a.get("thebot.io/digest"))
                                .cloned()
                        };
                        if digest(&existing) == digest(&secret) {
                            Ok(existing)
                        } else {
                            Err(kube::Error::Api(s))
                        }
                    }
                    other => other,
                }
            }
        })
        .await;
        match result {
            Ok(s) => Ok(s.metadata.resource_version.unwrap_or_default()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(StoreError::Changed {
                revision: record.revision,
            }),
            Err(e) => Err(self.err(&format!("cannot write revision {} of", record.revision), e)),
        }
    }

    /// Rewrites a revision (status changes) if nobody changed it since
    /// `resource_version`; returns the new resourceVersion.
    pub async fn update(
        &self,
        record: &mut Record,
        resource_version: &str,
    ) -> Result<String, StoreError> {
        let mut secret = to_secret(record).map_err(|source| StoreError::Codec {
            revision: record.revision,
            source,
        })?;
        secret.metadata.resource_version = Some(resource_version.to_string());
        let name = secret_name(&self.release, record.revision);
        match self
            .api
            .replace(&name, &PostParams::default(), &secret)
            .await
        {
            Ok(s) => Ok(s.metadata.resource_version.unwrap_or_default()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(StoreError::Changed {
                revision: record.revision,
            }),
            Err(e) => Err(self.err(&format!("cannot update revision {} of", record.revision), e)),
        }
    }

    /// Deletes a revision's record (history pruning, uninstall).
    pub async fn delete(&self, revision: u32) -> Result<(), StoreError> {
        let name = secret_name(&self.release, revision);
        match self.api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.err(&format!("cannot delete revision {revision} of"), e)),
        }
    }
}

/// The newest revision of every release visible in `namespace` (all
/// namespaces when None): (namespace, release, entry).
pub async fn list_releases(
    client: kube::Client,
    namespace: Option<&str>,
) -> Result<Vec<(String, String, Entry)>, StoreError> {
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let lp = ListParams::default().labels("owner=thebot");
    let list = retry::idempotent(|_| api.list(&lp))
        .await
        .map_err(|source| StoreError::Api {
            what: "cannot list".into(),
            namespace: namespace.unwrap_or("(all)").to_string(),
            source,
        })?;
    let mut newest: BTreeMap<(String, String), Entry> = BTreeMap::new();
    for s in &list.items {
        let Some(entry) = entry_of(s) else { continue };
        let ns = s.metadata.namespace.clone().unwrap_or_default();
        let name = label(s, "name").unwrap_or_default();
        let key = (ns, name);
        if newest.get(&key).is_none_or(|e| e.revision < entry.revision) {
            newest.insert(key, entry);
        }
    }
    Ok(newest
        .into_iter()
        .map(|((ns, name), e)| (ns, name, e))
        .collect())
}

fn label(s: &Secret, key: &str) -> Option<String> {
    s.metadata.labels.as_ref().and_then(|l| l.get(key)).cloned()
}

fn entry_of(s: &Secret) -> Option<Entry> {
    if s.type_.as_deref() != Some(RECORD_TYPE) {
        return None;
    }
    let revision: u32 = label(s, "version")?.parse().ok()?;
    let record = match s.data.as_ref().and_then(|d| d.get(DATA_KEY)) {
        None => Err(format!(
            "revision {revision}: the Secret has no `{DATA_KEY}` data"
        )),
        Some(bytes) => record::decode(&bytes.0).map_err(|e| format!("revision {revision}: {e}")),
    };
    Some(Entry {
        revision,
        record,
        resource_version: s.metadata.resource_version.clone().unwrap_or_default(),
    })
}

/// The Secret holding a record (the digest is computed here).
pub fn to_secret(record: &mut Record) -> Result<Secret, CodecError> {
    let gz = record::encode(record)?;
    let labels = BTreeMap::from([
        ("owner".to_string(), "thebot".to_string()),
        ("name".to_string(), record.name.clone()),
        ("version".to_string(), record.revision.to_string()),
        ("status".to_string(), record.status.as_str().to_string()),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&record.name, record.revision)),
            namespace: Some(record.namespace.clone()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                "thebot.io/digest".to_string(),
                record.digest.clone(),
            )])),
            ..Default::default()
        },
        type_: Some(RECORD_TYPE.to_string()),
        data: Some(BTreeMap::from([(DATA_KEY.to_string(), ByteString(gz))])),
        ..Default::default()
    })
}

/// Preconditions for deleting exactly the object we saw.
pub fn preconditions(uid: Option<String>, resource_version: Option<String>) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version,
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Status;
    use crate::release::record::tests::sample;

    #[test]
    fn secret_shape_and_read_back() {
        let mut r = sample(7, Status::Deployed);
        let s = to_secret(&mut r).unwrap();
        assert_eq!(
            s.metadata.name.as_deref(),
            Some("thebot.release.v1.thebot-dev.v7")
        );
        assert_eq!(s.type_.as_deref(), Some(RECORD_TYPE));
        let labels = s.metadata.labels.clone().unwrap();
        assert_eq!(labels["owner"], "thebot");
        assert_eq!(labels["version"], "7");
        assert_eq!(labels["status"], "deployed");
        assert!(
            s.metadata.annotations.as_ref().unwrap()["thebot.io/digest"].starts_with("sha256:")
        );
        let e = entry_of(&s).unwrap();
        assert_eq!(e.record.unwrap(), r);
    }

    #[test]
    fn a_corrupt_secret_is_an_error_naming_the_revision() {
        let mut s = to_secret(&mut sample(4, Status::Deployed)).unwrap();
        s.data = Some(BTreeMap::from([(
            DATA_KEY.to_string(),
            ByteString(b"junk".to_vec()),
        )]));
        let e = entry_of(&s).unwrap();
        assert!(
            e.record
                .unwrap_err()
                .starts_with("revision 4: cannot decompress")
        );
    }
}

//! What exists before an apply: one LIST per kind in the release's
//! namespace, taken at plan time. It classifies the apply responses
//! (created / configured / unchanged) without a GET before each PATCH, and
//! it is where ownership and the HPA hand-over read the live state.

use std::collections::{BTreeMap, BTreeSet};

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::cluster::{Discovery, retry};
use crate::manifest::ObjectId;

/// The identity of a live object, regardless of API version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl From<&ObjectId> for Key {
    fn from(id: &ObjectId) -> Key {
        Key {
            group: id.group.clone(),
            kind: id.kind.clone(),
            namespace: id.namespace.clone(),
            name: id.name.clone(),
        }
    }
}

/// A live object as listed.
#[derive(Debug, Clone)]
pub struct LiveObject {
    pub resource_version: String,
    pub uid: String,
    pub value: Value,
}

impl LiveObject {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.value
            .pointer("/metadata/labels")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    /// `metadata.managedFields` entries.
    pub fn managed_fields(&self) -> &[Value] {
        self.value
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot list {kind} in namespace {namespace}: {}", crate::apply::describe(.source))]
pub struct ListError {
    pub kind: String,
    pub namespace: String,
    #[source]
    pub source: kube::Error,
}

/// The live objects of the listed kinds.
#[derive(Debug, Clone, Default)]
pub struct LiveIndex {
    objects: BTreeMap<Key, LiveObject>,
    /// LIST requests made (for the request budget).
    pub requests: usize,
}

impl LiveIndex {
    pub fn get(&self, id: &ObjectId) -> Option<&LiveObject> {
        self.objects.get(&Key::from(id))
    }

    pub fn insert(&mut self, key: Key, object: LiveObject) {
        self.objects.insert(key, object);
    }

    /// Lists every kind of `ids` once, in `namespace` (cluster-scoped
    /// kinds: cluster-wide).
    pub async fn snapshot(
        client: &kube::Client,
        discovery: &Discovery,
        ids: &[ObjectId],
        namespace: &str,
    ) -> Result<LiveIndex, ListError> {
        let mut index = LiveIndex::default();
        let kinds: BTreeSet<(String, String, String)> = ids
            .iter()
            .map(|i| (i.group.clone(), i.version.clone(), i.kind.clone()))
            .collect();
        for (group, version, kind) in kinds {
            let Some(res) = discovery.resource(&group, &version, &kind) else {
                continue;
            };
            let api: Api<DynamicObject> = if res.namespaced {
                Api::namespaced_with(client.clone(), namespace, &res.api_resource())
            } else {
                Api::all_with(client.clone(), &res.api_resource())
            };
            let mut continue_token: Option<String> = None;
            loop {
                let mut lp = ListParams::default().limit(500);
                if let Some(t) = &continue_token {
                    lp = lp.continue_token(t);
                }
                let page = retry::idempotent(|_| api.list(&lp))
                    .await
                    .map_err(|source| ListError {
                        kind: kind.clone(),
                        namespace: namespace.to_string(),
                        source,
                    })?;
                index.requests += 1;
                for item in &page.items {
                    let value = serde_json::to_value(item).unwrap_or(Value::Null);
                    index.objects.insert(
                        Key {
                            group: group.clone(),
                            kind: kind.clone(),
                            namespace: item.metadata.namespace.clone().unwrap_or_default(),
                            name: item.metadata.name.clone().unwrap_or_default(),
                        },
                        LiveObject {
                            resource_version: item
                                .metadata
                                .resource_version
                                .clone()
                                .unwrap_or_default(),
                            uid: item.metadata.uid.clone().unwrap_or_default(),
                            value,
                        },
                    );
                }
                continue_token = page.metadata.continue_.filter(|t| !t.is_empty());
                if continue_token.is_none() {
                    break;
                }
            }
        }
        Ok(index)
    }
}

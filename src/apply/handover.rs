//! The HPA replicas hand-over. When thebot owned a Deployment's
//! `spec.replicas` and the new render omits it (an HPA now manages the
//! Deployment), a plain apply would drop the field and the server would
//! reset the Deployment to 1 replica. So the field is first given to the
//! HPA's manager (an apply of the live value as `kube-controller-manager`),
//! unless another manager already co-owns it; then thebot's apply can omit it.

use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::live::LiveIndex;
use super::{FIELD_MANAGER, api_for, describe, live_replicas};
use crate::cluster::{Discovery, retry};
use crate::manifest::Object;

/// The manager the HPA controller writes `/scale` as.
pub const HPA_MANAGER: &str = "kube-controller-manager";

/// Whether `manager`'s managedFields entry owns `spec.replicas`.
fn owns_replicas(entry: &Value) -> bool {
    entry.pointer("/fieldsV1/f:spec/f:replicas").is_some()
}

/// The Deployments whose replicas need handing over: omitted by the
/// render, owned by thebot alone in the live object. Returns (object, replicas).
pub fn needed<'a>(objects: &[&'a Object], live: &LiveIndex) -> Vec<(&'a Object, i64)> {
    let mut out = Vec::new();
    for o in objects {
        if o.kind() != "Deployment" || o.value.pointer("/spec/replicas").is_some() {
            continue;
        }
        let Some(existing) = live.get(&o.id()) else {
            continue;
        };
        let owners: Vec<&str> = existing
            .managed_fields()
            .iter()
            .filter(|e| owns_replicas(e))
            .filter_map(|e| e.get("manager").and_then(Value::as_str))
            .collect();
        let thebot_owns = owners.contains(&FIELD_MANAGER);
        let others_own = owners.iter().any(|m| *m != FIELD_MANAGER);
        if thebot_owns
            && !others_own
            && let Some(replicas) = live_replicas(&existing.value)
        {
            out.push((*o, replicas));
        }
    }
    out
}

/// Gives each Deployment's current replica count to the HPA's manager.
pub async fn hand_over(
    client: &kube::Client,
    discovery: &Discovery,
    items: &[(&Object, i64)],
    dry_run: bool,
) -> Result<(), String> {
    for (o, replicas) in items {
        let id = o.id();
        let api =
            api_for(client, discovery, &id).ok_or_else(|| format!("{id}: kind not served"))?;
        let body = json!({
            "apiVersion": o.value["apiVersion"],
            "kind": "Deployment",
            "metadata": {"name": id.name, "namespace": id.namespace},
            "spec": {"replicas": replicas},
        });
        let pp = PatchParams {
            field_manager: Some(HPA_MANAGER.to_string()),
            force: true,
            dry_run,
            ..Default::default()
        };
        let patch = Patch::Apply(&body);
        retry::idempotent(|_| api.patch(&id.name, &pp, &patch))
            .await
            .map_err(|e| {
                format!(
                    "{id}: cannot hand spec.replicas to the autoscaler: {}",
                    describe(&e)
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::live::{Key, LiveObject};
    use serde_json::json;

    fn deployment(replicas: Option<i64>) -> Object {
        let mut v = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b", "namespace": "ns"}, "spec": {}});
        if let Some(r) = replicas {
            v["spec"]["replicas"] = json!(r);
        }
        Object {
            source: String::new(),
            value: v,
        }
    }

    fn live_with(managers: &[&str]) -> LiveIndex {
        let mut index = LiveIndex::default();
        let fields: Vec<Value> = managers
            .iter()
            .map(|m| json!({"manager": m, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}))
            .collect();
        index.insert(
            Key {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: "b".into(),
            },
            LiveObject {
                resource_version: "1".into(),
                uid: "u".into(),
                value: json!({"metadata": {"managedFields": fields}, "spec": {"replicas": 3}}),
            },
        );
        index
    }

    #[test]
    fn hand_over_only_when_thebot_alone_owns_omitted_replicas() {
        let omitted = deployment(None);
        let kept = deployment(Some(2));
        assert_eq!(needed(&[&omitted], &live_with(&["thebot"])).len(), 1);
        assert_eq!(needed(&[&omitted], &live_with(&["thebot"]))[0].1, 3);
        assert!(
            needed(
                &[&omitted],
                &live_with(&["thebot", "kube-controller-manager"])
            )
            .is_empty()
        );
        assert!(needed(&[&kept], &live_with(&["thebot"])).is_empty());
        assert!(needed(&[&omitted], &LiveIndex::default()).is_empty());
    }
}

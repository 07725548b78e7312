//! Pruning after an upgrade or rollback: objects of the previous deployed
//! revision that the new plan no longer has are deleted, in reverse stage
//! order, with Background propagation. PersistentVolumeClaims and objects
//! annotated `thebot.io/resource-policy: keep` are kept and reported.

use std::collections::BTreeSet;

use kube::api::{DeleteParams, PropagationPolicy};

use super::events::{Event, Sink};
use crate::apply::live::Key;
use crate::apply::{Action, Change, api_for, describe};
use crate::cluster::{Cluster, Discovery};
use crate::manifest::{self, Object, ObjectId};
use crate::plan::{self, Stage};
use crate::release::Record;

/// Annotation that keeps an object when it leaves the release.
pub const KEEP_ANNOTATION: &str = "thebot.io/resource-policy";

/// Whether an object is kept rather than deleted when it leaves the release.
pub fn is_kept(id: &ObjectId, object: Option<&Object>) -> bool {
    id.kind == "PersistentVolumeClaim"
        || object.and_then(|o| o.annotation(KEEP_ANNOTATION)) == Some("keep")
}

/// The previous revision's objects the new plan lacks, in deletion order
/// (reverse stage order), split into (to delete, to keep).
pub fn prune_set(previous: &Record, new_objects: &[Object]) -> (Vec<ObjectId>, Vec<ObjectId>) {
    let old_objects = manifest::from_stream(&previous.manifest).unwrap_or_default();
    let new: BTreeSet<Key> = new_objects.iter().map(|o| Key::from(&o.id())).collect();
    let mut gone: Vec<(Stage, ObjectId, Option<&Object>)> = previous
        .inventory
        .iter()
        .map(|e| e.id())
        .filter(|id| !new.contains(&Key::from(id)))
        .map(|id| {
            let obj = old_objects.iter().find(|o| o.id() == id);
            let stage = obj.map_or(Stage::App, plan::stage_of);
            (stage, id, obj)
        })
        .collect();
    gone.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut delete = Vec::new();
    let mut keep = Vec::new();
    for (_, id, obj) in gone {
        if is_kept(&id, obj) {
            keep.push(id);
        } else {
            delete.push(id);
        }
    }
    (delete, keep)
}

/// Deletes what left the release; failures are warnings (the new
/// revision is already serving).
pub async fn prune(
    cluster: &Cluster,
    discovery: &Discovery,
    previous: &Record,
    new_objects: &[Object],
    dry_run: bool,
    sink: &dyn Sink,
) -> Vec<Change> {
    let (delete, keep) = prune_set(previous, new_objects);
    for id in &keep {
        sink.event(Event::Info(format!("kept {id}: it left the release but is kept (PersistentVolumeClaim or resource-policy keep)")));
    }
    let mut changes = Vec::new();
    for id in delete {
        let Some(api) = api_for(&cluster.client, discovery, &id) else {
            sink.event(Event::Warning(format!(
                "cannot prune {id}: its kind is not served"
            )));
            continue;
        };
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            dry_run,
            ..Default::default()
        };
        match api.delete(&id.name, &dp).await {
            Ok(_) => changes.push(Change {
                object: id.to_string(),
                id,
                action: Action::Deleted,
                generation: None,
                uid: None,
            }),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => sink.event(Event::Warning(format!(
                "could not prune {id}: {}",
                describe(&e)
            ))),
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::InventoryEntry;
    use crate::release::record::tests::sample;
    use serde_json::json;

    fn obj(kind: &str, name: &str, annotations: serde_json::Value) -> Object {
        let api = match kind {
            "Deployment" | "StatefulSet" => "apps/v1",
            _ => "v1",
        };
        Object {
            source: "manifests/x.yaml".into(),
            value: json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns", "annotations": annotations}}),
        }
    }

    #[test]
    fn prunes_in_reverse_stage_order_and_keeps_volumes_and_keep_objects() {
        let old = vec![
            obj("ConfigMap", "cfg", json!({})),
            obj("ConfigMap", "kept", json!({KEEP_ANNOTATION: "keep"})),
            obj("PersistentVolumeClaim", "data", json!({})),
            obj("StatefulSet", "db", json!({})),
            obj("Deployment", "web", json!({})),
            obj("Service", "web", json!({})),
        ];
        let mut previous = sample(1, crate::release::Status::Deployed);
        previous.manifest = manifest::to_stream(&old);
        previous.inventory = old.iter().map(|o| InventoryEntry::from(&o.id())).collect();
        let new = vec![obj("Service", "web", json!({}))];
        let (delete, keep) = prune_set(&previous, &new);
        let names: Vec<String> = delete
            .iter()
            .map(|i| format!("{}/{}", i.kind, i.name))
            .collect();
        assert_eq!(names, ["Deployment/web", "StatefulSet/db", "ConfigMap/cfg"]);
        let kept: Vec<String> = keep
            .iter()
            .map(|i| format!("{}/{}", i.kind, i.name))
            .collect();
        assert_eq!(kept, ["ConfigMap/kept", "PersistentVolumeClaim/data"]);
    }
}

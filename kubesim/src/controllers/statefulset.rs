//! The StatefulSet controller: ControllerRevisions of the template
//! (`<set>-<hash>`), pods `<set>-<ordinal>` with their claims from
//! volumeClaimTemplates (`<template>-<set>-<ordinal>`), OrderedReady
//! (one pod at a time, each waiting for the previous to be Running and
//! Ready) or Parallel, rolling updates from the highest ordinal down to
//! the partition, and the status of fixture 11 (currentRevision,
//! updateRevision, readyReplicas, currentReplicas, updatedReplicas,
//! collisionCount, availableReplicas). A set recreated after an Orphan
//! delete adopts the orphaned pods named `<set>-<ordinal>` and the
//! ControllerRevisions its selector matches (the real controller's
//! ClaimPods and AdoptOrphanRevisions), so an unchanged template keeps
//! its pods.
//!
//! # Caveats
//! Claims are retained (no owner references): whenDeleted/whenScaled
//! Delete are not honoured.

use serde_json::{Map, Value, json};

use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::replicaset::{PodName, active, new_pod, ready};
use super::util::{
    child, generation, ids, int, match_labels, name, owner_ref, pointer, template_hash, text,
};
use crate::store::Key;

const COMPONENT: &str = "statefulset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";

pub fn reconcile(cx: &mut Ctx, key: &Key) {
    let ids = ids();
    let Some(set) = cx.get(ids.statefulsets, &key.ns, &key.name) else {
        return;
    };
    if super::util::deleting(&set) {
        return;
    }
    let desired = int(&set, "/spec/replicas").unwrap_or(1).max(0);
    let template = pointer(&set, "/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let ordered = text(&set, "/spec/podManagementPolicy") != Some("Parallel");
    let on_delete = text(&set, "/spec/updateStrategy/type") == Some("OnDelete");
    let partition = int(&set, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);

    // The revision of the current template.
    let mut patch = template.clone();
    if let Some(p) = patch.as_object_mut() {
        p.insert("$patch".into(), json!("replace"));
    }
    let data = json!({"spec": {"template": patch}});
    let collisions = int(&set, "/status/collisionCount").unwrap_or(0);
    let hash = template_hash(&data, collisions);
    let update_revision = format!("{}-{hash}", key.name);
    let revisions = cx.claim(ids.revisions, &key.ns, &set, |_| true);
    if !revisions.iter().any(|r| name(r) == update_revision) {
        let next = revisions
            .iter()
            .filter_map(|r| r.get("revision").and_then(Value::as_i64))
            .max()
            .unwrap_or(0)
            + 1;
        let mut labels = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert("controller.kubernetes.io/hash".into(), json!(hash));
        let cr = json!({
            "metadata": {
                "name": update_revision,
                "namespace": key.ns,
                "labels": labels,
                "ownerReferences": [owner_ref(&set)],
            },
            "data": data,
            "revision": next,
        });
        if let Value::Object(m) = cr {
            cx.create(ids.revisions, m, CONTROLLER_MANAGER);
        }
    }
    let current_revision = text(&set, "/status/currentRevision")
        .filter(|r| !r.is_empty())
        .unwrap_or(&update_revision)
        .to_string();
    // Ordinals below the partition are created from the current revision.
    let current_template = revisions
        .iter()
        .find(|r| name(r) == current_revision && current_revision != update_revision)
        .and_then(|r| r.get("data")?.pointer("/spec/template").cloned())
        .map(|mut t| {
            if let Some(m) = t.as_object_mut() {
                m.remove("$patch");
            }
            t
        });

    let prefix = format!("{}-", key.name);
    let ordinal = |p: &Map<String, Value>| -> Option<i64> {
        name(p).strip_prefix(&prefix).and_then(|o| o.parse().ok())
    };
    // A pod is a member only by its name `<set>-<ordinal>` (isMemberOf).
    let mut pods: Vec<(i64, Map<String, Value>)> = cx
        .claim(ids.pods, &key.ns, &set, |p| ordinal(p).is_some())
        .into_iter()
        .filter_map(|p| ordinal(&p).map(|o| (o, p)))
        .collect();
    pods.sort_by_key(|(o, _)| *o);

    // Failed pods are replaced; surplus ordinals go, highest first.
    for (_, p) in pods
        .iter()
        .filter(|(_, p)| text(p, "/status/phase") == Some("Failed"))
    {
        cx.delete(ids.pods, &key.ns, name(p));
    }
    pods.retain(|(_, p)| active(p));
    let surplus: Vec<String> = pods
        .iter()
        .rev()
        .filter(|(o, _)| *o >= desired)
        .map(|(_, p)| name(p).to_string())
        .collect();
    for (i, n) in surplus.iter().enumerate() {
        if ordered && i > 0 {
            break;
        }
        cx.delete(ids.pods, &key.ns, n);
        cx.event(
            &set,
            false,
            "SuccessfulDelete",
            &format!("delete Pod {n} in StatefulSet {} successful", key.name),
            COMPONENT,
        );
        pods.retain(|(_, p)| name(p) != n);
    }

    // Missing ordinals, in order.
    for i in 0..desired {
        if let Some((_, p)) = pods.iter().find(|(o, _)| *o == i) {
            if ordered && !(ready(p) && text(p, "/status/phase") == Some("Running")) {
                break;
            }
            continue;
        }
        let pod_name = format!("{}-{i}", key.name);
        create_claims(cx, &set, &pod_name, i);
        let (mut t, revision) = match &current_template {
            Some(ct) if i < partition => (ct.clone(), current_revision.as_str()),
            _ => (template.clone(), update_revision.as_str()),
        };
        if let Some(tm) = t.as_object_mut() {
            let labels = child(child(tm, "metadata"), "labels");
            labels.insert(REVISION_LABEL.into(), json!(revision));
            labels.insert("statefulset.kubernetes.io/pod-name".into(), json!(pod_name));
            labels.insert("apps.kubernetes.io/pod-index".into(), json!(i.to_string()));
            let spec = child(tm, "spec");
            spec.insert("hostname".into(), json!(pod_name));
            if let Some(svc) = text(&set, "/spec/serviceName") {
                spec.insert("subdomain".into(), json!(svc));
            }
            let vcts = pointer(&set, "/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
            if let Some(vols) = volumes.as_array_mut() {
                for vct in &vcts {
                    let vname = vct
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    vols.retain(|v| v.get("name").and_then(Value::as_str) != Some(vname));
                    vols.push(json!({"name": vname, "persistentVolumeClaim": {"claimName": format!("{vname}-{pod_name}")}}));
                }
                if vols.is_empty() {
                    spec.remove("volumes");
                }
            }
        }
        let pod = new_pod(&set, &t, PodName::Exact(pod_name.clone()));
        if let Some(created) = cx.create(ids.pods, pod, CONTROLLER_MANAGER) {
            cx.event(
                &set,
                false,
                "SuccessfulCreate",
                &format!(
                    "create Pod {pod_name} in StatefulSet {} successful",
                    key.name
                ),
                COMPONENT,
            );
            pods.push((i, created));
        }
        if ordered {
            break;
        }
    }
    pods.sort_by_key(|(o, _)| *o);

    // Rolling update: replace the highest outdated pod once all are ready.
    let all_ready = pods.len() as i64 == desired && pods.iter().all(|(_, p)| ready(p));
    if !on_delete && all_ready {
        let outdated = pods.iter().rev().find(|(o, p)| {
            *o >= partition
                && text(p, "/metadata/labels/controller-revision-hash")
                    != Some(update_revision.as_str())
        });
        if let Some((_, p)) = outdated {
            let n = name(p).to_string();
            cx.delete(ids.pods, &key.ns, &n);
            cx.event(
                &set,
                false,
                "SuccessfulDelete",
                &format!("delete Pod {n} in StatefulSet {} successful", key.name),
                COMPONENT,
            );
            pods.retain(|(_, p)| name(p) != n);
        }
    }

    let rev_of = |p: &Map<String, Value>| {
        text(p, "/metadata/labels/controller-revision-hash")
            .unwrap_or("")
            .to_string()
    };
    let count = pods.len() as i64;
    let ready_count = pods.iter().filter(|(_, p)| ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|(_, p)| rev_of(p) == update_revision)
        .count() as i64;
    let mut current = pods
        .iter()
        .filter(|(_, p)| rev_of(p) == current_revision)
        .count() as i64;
    let mut current_revision = current_revision;
    if !on_delete && updated == count && ready_count == count {
        current = updated;
        current_revision = update_revision.clone();
    }
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation(&set)));
    status.insert("replicas".into(), json!(count));
    for (k, v) in [
        ("readyReplicas", ready_count),
        ("currentReplicas", current),
        ("updatedReplicas", updated),
    ] {
        if v != 0 {
            status.insert(k.into(), json!(v));
        }
    }
    status.insert("currentRevision".into(), json!(current_revision));
    status.insert("updateRevision".into(), json!(update_revision));
    status.insert("collisionCount".into(), json!(collisions));
    status.insert("availableReplicas".into(), json!(ready_count));
    let mut new = set;
    new.insert("status".into(), Value::Object(status));
    cx.update(ids.statefulsets, new, "status", CONTROLLER_MANAGER);
}

/// Creates the claims of ordinal `i` that do not exist yet.
fn create_claims(cx: &mut Ctx, set: &Map<String, Value>, pod_name: &str, _i: i64) {
    let ns = text(set, "/metadata/namespace").unwrap_or("").to_string();
    let labels = match_labels(pointer(set, "/spec/selector"));
    let vcts = pointer(set, "/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for vct in vcts {
        let vname = vct
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let claim = format!("{vname}-{pod_name}");
        if cx.get(ids().pvcs, &ns, &claim).is_some() {
            continue;
        }
        let mut meta = json!({"name": claim, "namespace": ns});
        let mut all_labels = vct
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        all_labels.extend(labels.clone());
        if !all_labels.is_empty() {
            meta["labels"] = Value::Object(all_labels);
        }
        if let Some(a) = vct.pointer("/metadata/annotations") {
            meta["annotations"] = a.clone();
        }
        let pvc = json!({"metadata": meta, "spec": vct.get("spec").cloned().unwrap_or(json!({}))});
        if let Value::Object(m) = pvc
            && cx.create(ids().pvcs, m, CONTROLLER_MANAGER).is_some()
        {
            cx.event(
                set,
                false,
                "SuccessfulCreate",
                &format!(
                    "create Claim {claim} Pod {pod_name} in StatefulSet {} success",
                    name(set)
                ),
                COMPONENT,
            );
        }
    }
}

//! The PersistentVolume controller with a dynamic provisioner: a claim
//! without a class gets the default class (`standard`, Immediate), and a
//! claim of an Immediate class is bound at once to a new volume
//! `pvc-<uid>`; a claim of a WaitForFirstConsumer class
//! (`standard-wffc`) is bound when the scheduler places its first pod.
//! Volumes of deleted claims are deleted (reclaim policy Delete).
//!
//! # Caveats
//! Any access mode binds (ReadWriteMany included). The
//! `kubernetes.io/pvc-protection` finalizer (added on create) is removed
//! from a deleted claim once no running pod uses it.

use serde_json::{Map, Value, json};

use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::util::{child, ids, name, pointer, text, uid};
use crate::sim::Sim;
use crate::store::Key;

pub const DEFAULT_CLASS: &str = "standard";
pub const WFFC_CLASS: &str = "standard-wffc";
const PROVISIONER: &str = "kubesim.io/hostpath";

/// The StorageClasses a fresh cluster has.
pub fn populate(sim: &Sim) {
    let mut store = sim.store();
    for (class, mode, default) in [
        (DEFAULT_CLASS, "Immediate", true),
        (WFFC_CLASS, "WaitForFirstConsumer", false),
    ] {
        let mut meta = json!({"name": class});
        if default {
            meta["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        let sc = json!({
            "metadata": meta,
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": mode,
        });
        if let Value::Object(m) = sc {
            let _ =
                crate::verbs::write::insert_new(sim, &mut store, ids().storageclasses, m, false);
        }
    }
}

fn class_of(cx: &Ctx, pvc: &Map<String, Value>) -> Option<Map<String, Value>> {
    let class = text(pvc, "/spec/storageClassName")?;
    cx.get(ids().storageclasses, "", class)
}

/// Whether the claim's class binds on first consumer.
pub fn waits_for_consumer(cx: &Ctx, pvc: &Map<String, Value>) -> bool {
    class_of(cx, pvc)
        .is_some_and(|c| text(&c, "/volumeBindingMode") == Some("WaitForFirstConsumer"))
}

pub fn reconcile(cx: &mut Ctx, key: &Key) {
    let Some(pvc) = cx.get(ids().pvcs, &key.ns, &key.name) else {
        release(cx, key);
        return;
    };
    if super::util::deleting(&pvc) {
        unprotect(cx, pvc);
        return;
    }
    if text(&pvc, "/status/phase") == Some("Bound") {
        return;
    }
    if text(&pvc, "/status/phase").is_none() {
        let mut new = pvc.clone();
        new.insert("status".into(), json!({"phase": "Pending"}));
        cx.update(ids().pvcs, new, "status", CONTROLLER_MANAGER);
        return;
    }
    if pointer(&pvc, "/spec/storageClassName").is_none() {
        let default = cx
            .store
            .range(ids().storageclasses, None)
            .map(|(_, e)| e.to_map())
            .find(|c| {
                text(
                    c,
                    "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
                ) == Some("true")
            });
        if let Some(class) = default {
            let mut new = pvc.clone();
            child(&mut new, "spec").insert("storageClassName".into(), json!(name(&class)));
            cx.update(ids().pvcs, new, "", CONTROLLER_MANAGER);
        }
        return;
    }
    let Some(class) = class_of(cx, &pvc) else {
        let msg = match text(&pvc, "/spec/storageClassName") {
            Some("") | None => {
                "no persistent volumes available for this claim and no storage class is set"
                    .to_string()
            }
            Some(c) => format!("storageclass.storage.k8s.io \"{c}\" not found"),
        };
        cx.event(
            &pvc,
            false,
            "FailedBinding",
            &msg,
            "persistentvolume-controller",
        );
        return;
    };
    if text(&class, "/volumeBindingMode") == Some("WaitForFirstConsumer") {
        if text(
            &pvc,
            "/metadata/annotations/volume.kubernetes.io~1selected-node",
        )
        .is_some()
        {
            bind(cx, pvc, None);
        } else {
            cx.event(
                &pvc,
                false,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                "persistentvolume-controller",
            );
        }
        return;
    }
    bind(cx, pvc, None);
}

/// Provisions a volume for `pvc` and binds the two.
pub fn bind(cx: &mut Ctx, pvc: Map<String, Value>, node: Option<&str>) {
    let ns = text(&pvc, "/metadata/namespace").unwrap_or("").to_string();
    let pv_name = format!("pvc-{}", uid(&pvc));
    let size = pointer(&pvc, "/spec/resources/requests/storage")
        .cloned()
        .unwrap_or(json!("1Gi"));
    let modes = pointer(&pvc, "/spec/accessModes")
        .cloned()
        .unwrap_or(json!(["ReadWriteOnce"]));
    let class = text(&pvc, "/spec/storageClassName")
        .unwrap_or("")
        .to_string();
    if cx.get(ids().pvs, "", &pv_name).is_none() {
        let pv = json!({
            "metadata": {
                "name": pv_name,
                "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}
            },
            "spec": {
                "capacity": {"storage": size},
                "hostPath": {"path": format!("/var/lib/kubesim/{pv_name}"), "type": "DirectoryOrCreate"},
                "accessModes": modes,
                "claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "namespace": ns,
                    "name": name(&pvc),
                    "uid": uid(&pvc),
                    "apiVersion": "v1",
                    "resourceVersion": text(&pvc, "/metadata/resourceVersion").unwrap_or("")
                },
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": class,
                "volumeMode": "Filesystem"
            }
        });
        let Value::Object(m) = pv else { return };
        let Some(created) = cx.create(ids().pvs, m, CONTROLLER_MANAGER) else {
            return;
        };
        let mut st = created.clone();
        st.insert("status".into(), json!({"phase": "Bound"}));
        cx.update(ids().pvs, st, "status", CONTROLLER_MANAGER);
        cx.event(
            &pvc,
            false,
            "ProvisioningSucceeded",
            &format!("Successfully provisioned volume {pv_name}"),
            PROVISIONER,
        );
    }
    let mut new = pvc.clone();
    {
        let meta = child(&mut new, "metadata");
        let ann = child(meta, "annotations");
        ann.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
        ann.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
        ann.insert(
            "volume.beta.kubernetes.io/storage-provisioner".into(),
            json!(PROVISIONER),
        );
        ann.insert(
            "volume.kubernetes.io/storage-provisioner".into(),
            json!(PROVISIONER),
        );
        if let Some(n) = node {
            ann.insert("volume.kubernetes.io/selected-node".into(), json!(n));
        }
    }
    child(&mut new, "spec").insert("volumeName".into(), json!(pv_name));
    let Some(bound) = cx.update(ids().pvcs, new, "", CONTROLLER_MANAGER) else {
        return;
    };
    let mut new = bound;
    new.insert(
        "status".into(),
        json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}),
    );
    cx.update(ids().pvcs, new, "status", CONTROLLER_MANAGER);
}

/// The pvc-protection controller: a deleted claim loses its finalizer
/// once no running pod uses it.
fn unprotect(cx: &mut Ctx, pvc: Map<String, Value>) {
    const FINALIZER: &str = "kubernetes.io/pvc-protection";
    let protected = pointer(&pvc, "/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    if !protected {
        return;
    }
    let ns = text(&pvc, "/metadata/namespace").unwrap_or("").to_string();
    let claim = name(&pvc).to_string();
    let in_use = cx.list(ids().pods, &ns).iter().any(|p| {
        super::replicaset::active(p)
            && pointer(p, "/spec/volumes")
                .and_then(Value::as_array)
                .is_some_and(|vs| {
                    vs.iter().any(|v| {
                        v.pointer("/persistentVolumeClaim/claimName")
                            .and_then(Value::as_str)
                            == Some(claim.as_str())
                    })
                })
    });
    if in_use {
        return;
    }
    let mut new = pvc;
    if let Some(Value::Array(f)) = child(&mut new, "metadata").get_mut("finalizers") {
        f.retain(|x| x != FINALIZER);
    }
    cx.update(ids().pvcs, new, "", CONTROLLER_MANAGER);
}

/// Deletes the volume of a claim that is gone.
fn release(cx: &mut Ctx, key: &Key) {
    let gone: Vec<String> = cx
        .store
        .range(ids().pvs, None)
        .map(|(_, e)| e.to_map())
        .filter(|pv| {
            text(pv, "/spec/claimRef/namespace") == Some(key.ns.as_str())
                && text(pv, "/spec/claimRef/name") == Some(key.name.as_str())
                && text(pv, "/spec/persistentVolumeReclaimPolicy") == Some("Delete")
        })
        .map(|pv| name(&pv).to_string())
        .collect();
    for pv in gone {
        cx.delete(ids().pvs, "", &pv);
    }
}

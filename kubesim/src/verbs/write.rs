//! The write pipeline shared by create, update, patch and delete, after
//! [`super::checks`]: metadata the server owns, per-kind rules (defaults,
//! validation, generation, status), no-op detection, dry run, and the
//! commit that bumps the global resourceVersion.

use std::sync::Arc;

use hyper::body::Bytes;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};
use crate::kinds::{self, Generation};
use crate::object::{canonical, meta_mut, meta_str};
use crate::resources::{self, ResourceId};
use crate::sim::Sim;
use crate::ssa::Track;
use crate::store::{Entry, Key, Store};
use crate::validate;

/// Creates `obj` (already checked for kind and namespace) and returns the
/// stored JSON. `obj` may carry `generateName` instead of `name`. A write
/// by the server itself: no managedFields.
pub fn insert_new(
    sim: &Sim,
    store: &mut Store,
    id: ResourceId,
    obj: Map<String, Value>,
    dry: bool,
) -> Result<Bytes, ApiError> {
    insert_tracked(sim, store, id, obj, dry, &Track::Keep)
}

/// [`insert_new`] recording the creator in `metadata.managedFields`.
pub fn insert_tracked(
    sim: &Sim,
    store: &mut Store,
    id: ResourceId,
    mut obj: Map<String, Value>,
    dry: bool,
    track: &Track,
) -> Result<Bytes, ApiError> {
    let rt = resources::get(id);
    let ns = meta_str(&obj, "namespace").unwrap_or("").to_string();
    let mut name = meta_str(&obj, "name").unwrap_or("").to_string();
    let generate = meta_str(&obj, "generateName").unwrap_or("").to_string();
    super::checks::admit_namespace(store, rt, &ns, &name)?;
    if name.is_empty() {
        if generate.is_empty() {
            return Err(ApiError::invalid(
                rt,
                "",
                vec![Cause::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        let mut tries = 0;
        loop {
            let candidate = format!("{generate}{}", sim.rng.name_suffix());
            let key = Key {
                res: id,
                ns: ns.clone(),
                name: candidate.clone(),
            };
            if store.get(&key).is_none() || tries > 8 {
                name = candidate;
                break;
            }
            tries += 1;
        }
        meta_mut(&mut obj).insert("name".into(), json!(name));
    }
    let causes = validate::name_causes(rt.rules, &name, "metadata.name");
    if !causes.is_empty() {
        return Err(ApiError::invalid(rt, &name, causes));
    }
    let key = Key {
        res: id,
        ns: ns.clone(),
        name: name.clone(),
    };
    if store.get(&key).is_some() {
        return Err(ApiError::already_exists(rt, &name));
    }
    let now = sim.clock.now().rfc3339();
    {
        let meta = meta_mut(&mut obj);
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            meta.remove(k);
        }
        meta.insert("uid".into(), json!(sim.rng.uuid()));
        meta.insert("creationTimestamp".into(), json!(now));
        if rt.rules.generation != Generation::Absent {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if !dry {
            meta.insert("resourceVersion".into(), json!(store.next_rv().to_string()));
        }
    }
    crate::ssa::defaults::apply(rt, &mut obj);
    match track {
        Track::Keep => {}
        Track::Update {
            manager,
            subresource,
            now,
        } => {
            let mf = crate::ssa::track(rt, None, &obj, manager, subresource, now);
            meta_mut(&mut obj).insert("managedFields".into(), mf);
        }
        Track::Applied(mf) => {
            meta_mut(&mut obj).insert("managedFields".into(), mf.clone());
        }
    }
    crate::ssa::defaults::admit(rt, &mut obj, sim.controllers.is_some());
    let mut ip = || {
        let n = sim.rng.next_u64();
        format!("10.96.{}.{}", (n >> 8) % 256, 2 + (n % 250))
    };
    kinds::prepare_create(rt, &mut obj, &mut ip)?;
    crate::validation::validate_create(rt, &name, &obj)?;
    let obj = canonical(rt, obj);
    let entry = Entry::new(id, &obj);
    if dry {
        return Ok(entry.json);
    }
    let stored = store.put(key, entry);
    if rt.plural == "namespaces" {
        populate_namespace(sim, store, &name);
    }
    Ok(Bytes::clone(&stored.json))
}

/// What a real cluster's controllers add to every new namespace: the
/// `kube-root-ca.crt` ConfigMap and the `default` ServiceAccount.
fn populate_namespace(sim: &Sim, store: &mut Store, ns: &str) {
    let (cm, _) = resources::find("", "v1", "configmaps").expect("served");
    let (sa, _) = resources::find("", "v1", "serviceaccounts").expect("served");
    let objects = [
        (
            cm,
            json!({
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": ns,
                    "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}
                },
                "data": {"ca.crt": sim.ca_pem}
            }),
        ),
        (
            sa,
            json!({"metadata": {"name": "default", "namespace": ns}}),
        ),
    ];
    for (id, v) in objects {
        if let Value::Object(m) = v {
            let _ = insert_new(sim, store, id, m, false);
        }
    }
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// Updates `old` to `new` (after kind/name/namespace checks): checks
/// preconditions, keeps server-owned metadata, applies the per-kind status
/// and generation rules, and commits unless nothing changed or `dry`.
/// managedFields are kept as they are (a write by the server itself).
#[allow(dead_code)]
pub fn update_existing(
    store: &mut Store,
    key: &Key,
    old: &Arc<Entry>,
    new: Map<String, Value>,
    part: Part,
    dry: bool,
) -> Result<Bytes, ApiError> {
    update_tracked(store, key, old, new, part, dry, &Track::Keep)
}

/// [`update_existing`] moving the changed fields to the updater in
/// `metadata.managedFields` (or storing those an apply computed).
pub fn update_tracked(
    store: &mut Store,
    key: &Key,
    old: &Arc<Entry>,
    mut new: Map<String, Value>,
    part: Part,
    dry: bool,
    track: &Track,
) -> Result<Bytes, ApiError> {
    let rt = resources::get(key.res);
    let old_map = old.to_map();
    let sent_managed_fields = new
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .cloned();
    let want_rv = meta_str(&new, "resourceVersion").unwrap_or("").to_string();
    if !want_rv.is_empty() && want_rv != old.rv.to_string() {
        return Err(ApiError::conflict(rt, &key.name));
    }
    if let Some(uid) = meta_str(&new, "uid")
        && !uid.is_empty()
        && uid != old.uid
    {
        return Err(ApiError::conflict_msg(
            rt,
            &key.name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                old.uid
            ),
        ));
    }
    let mut result = match part {
        Part::Status => {
            // Status strategies keep the stored spec but let metadata
            // changes through (a Deployment's controller sets its revision
            // annotation this way, without a generation bump: fixture 21);
            // a Deployment's labels are reset too.
            let mut r = old_map.clone();
            match new.remove("status") {
                Some(s) => r.insert("status".into(), s),
                None => r.remove("status"),
            };
            for k in ["annotations", "labels"] {
                if k == "labels" && rt.plural == "deployments" {
                    continue;
                }
                match new.get("metadata").and_then(|m| m.get(k)).cloned() {
                    Some(v) => meta_mut(&mut r).insert(k.into(), v),
                    None => meta_mut(&mut r).remove(k),
                };
            }
            r
        }
        Part::Main => {
            if rt.rules.status {
                match old_map.get("status") {
                    Some(s) => new.insert("status".into(), s.clone()),
                    None => new.remove("status"),
                };
            }
            crate::ssa::defaults::apply(rt, &mut new);
            kinds::prepare_update(rt, &old_map, &mut new)?;
            new
        }
    };
    {
        let old_meta = old_map["metadata"].as_object().cloned().unwrap_or_default();
        let meta = meta_mut(&mut result);
        for k in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.insert("name".into(), json!(key.name));
        if rt.namespaced {
            meta.insert("namespace".into(), json!(key.ns));
        }
        meta.insert("resourceVersion".into(), json!(old.rv.to_string()));
        meta.remove("generateName");
        if let Some(g) = old_meta.get("generateName") {
            meta.insert("generateName".into(), g.clone());
        }
    }
    if old.deleting {
        let adds = meta_strs(&result, "finalizers")
            .into_iter()
            .any(|f| !old.finalizers.contains(&f));
        if adds {
            return Err(ApiError::invalid(
                rt,
                &key.name,
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted",
                )],
            ));
        }
    }
    if part == Part::Main {
        crate::validation::validate_update(rt, &key.name, &old_map, &result)?;
        let expandable = |class: &str| {
            let (id, _) =
                resources::find("storage.k8s.io", "v1", "storageclasses").expect("served");
            let key = Key {
                res: id,
                ns: String::new(),
                name: class.to_string(),
            };
            store
                .get(&key)
                .is_some_and(|e| e.to_map().get("allowVolumeExpansion") == Some(&json!(true)))
        };
        crate::ssa::validation::validate_update(rt, &key.name, &old_map, &result, &expandable)?;
    }
    if part == Part::Main && kinds::bumps_generation(rt.rules, &old_map, &result) {
        let g = old_map["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        meta_mut(&mut result).insert("generation".into(), json!(g));
    }
    match track {
        Track::Keep => {}
        Track::Update {
            manager,
            subresource,
            now,
        } => {
            if let Some(mf) = sent_managed_fields {
                meta_mut(&mut result).insert("managedFields".into(), mf);
            }
            let mf = crate::ssa::track(rt, Some(&old_map), &result, manager, subresource, now);
            meta_mut(&mut result).insert("managedFields".into(), mf);
        }
        Track::Applied(mf) => {
            meta_mut(&mut result).insert("managedFields".into(), mf.clone());
        }
    }
    crate::ssa::keep_times_of_no_op(&old_map, &mut result);
    let result = canonical(rt, result);
    if result == canonical(rt, old_map) {
        return Ok(Bytes::clone(&old.json));
    }
    if dry {
        return Ok(Entry::new(key.res, &result).json);
    }
    commit_update(store, key, result)
}

fn meta_strs(obj: &Map<String, Value>, k: &str) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get(k))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Stores an updated object with the next resourceVersion; an object that
/// is being deleted and has no finalizers left is removed instead.
pub fn commit_update(
    store: &mut Store,
    key: &Key,
    mut obj: Map<String, Value>,
) -> Result<Bytes, ApiError> {
    meta_mut(&mut obj).insert("resourceVersion".into(), json!(store.next_rv().to_string()));
    let entry = Entry::new(key.res, &obj);
    if entry.deleting && entry.finalizers.is_empty() {
        let json = Bytes::clone(&entry.json);
        store.remove(key, entry);
        return Ok(json);
    }
    Ok(Bytes::clone(&store.put(key.clone(), entry).json))
}

/// Removes an object now, emitting DELETED with a new resourceVersion.
pub fn remove_now(store: &mut Store, key: &Key, old: &Entry) {
    let mut obj = old.to_map();
    meta_mut(&mut obj).insert("resourceVersion".into(), json!(store.next_rv().to_string()));
    let last = Entry::new(key.res, &obj);
    store.remove(key, last);
}

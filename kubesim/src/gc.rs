//! The garbage collector and namespace controller, reduced to what delete
//! propagation needs: dependents of removed owners are deleted, owners
//! marked `foregroundDeletion` go once their dependents are gone, owners
//! marked `orphan` release their dependents first, and a terminating
//! namespace is emptied and then removed.
//!
//! It runs on the instance's runtime and wakes on [`crate::sim::Sim::gc`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::object::meta_mut;
use crate::resources;
use crate::sim::Sim;
use crate::store::{Entry, Key, Store};
use crate::verbs::delete::{Propagation, delete_entry};
use crate::verbs::write;

/// Runs forever, sweeping after each wake-up until no work is pending.
pub async fn run(sim: Arc<Sim>) {
    let mut terminating_since: HashMap<String, Instant> = HashMap::new();
    loop {
        sim.gc.notified().await;
        loop {
            tokio::time::sleep(sim.timing.gc_delay).await;
            let pending = sweep(&sim, &mut terminating_since);
            if !pending {
                break;
            }
        }
    }
}

/// One pass; returns whether more work is pending.
pub fn sweep(sim: &Sim, terminating_since: &mut HashMap<String, Instant>) -> bool {
    let mut store = sim.store();
    let snapshot: Vec<(Key, Arc<Entry>)> =
        store.all().map(|(k, e)| (k.clone(), e.clone())).collect();
    let uids: HashSet<&str> = snapshot.iter().map(|(_, e)| e.uid.as_str()).collect();
    let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, e)) in snapshot.iter().enumerate() {
        for o in &e.owners {
            dependents.entry(o.as_str()).or_default().push(i);
        }
    }
    let mut pending = false;

    // Dependents whose owners are all gone.
    for (k, e) in &snapshot {
        if !e.owners.is_empty()
            && !e.deleting
            && e.owners.iter().all(|o| !uids.contains(o.as_str()))
        {
            delete_entry(
                &mut store,
                k,
                e,
                Propagation::Background,
                false,
                sim.clock.now(),
            );
        }
    }

    for (k, e) in &snapshot {
        if !e.deleting {
            continue;
        }
        let deps = dependents.get(e.uid.as_str()).cloned().unwrap_or_default();
        if e.finalizers.iter().any(|f| f == "orphan") {
            for i in deps {
                let (dk, _) = &snapshot[i];
                if let Some(cur) = store.get(dk).cloned() {
                    let mut obj = cur.to_map();
                    if let Some(Value::Array(refs)) = obj
                        .get_mut("metadata")
                        .and_then(|m| m.get_mut("ownerReferences"))
                    {
                        refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&e.uid));
                        if refs.is_empty() {
                            meta_mut(&mut obj).remove("ownerReferences");
                        }
                    }
                    let _ = write::commit_update(&mut store, dk, obj);
                }
            }
            remove_finalizer(&mut store, k, "orphan");
            pending = true;
        } else if e.finalizers.iter().any(|f| f == "foregroundDeletion") {
            let live: Vec<usize> = deps
                .into_iter()
                .filter(|i| store.get(&snapshot[*i].0).is_some())
                .collect();
            if live.is_empty() {
                remove_finalizer(&mut store, k, "foregroundDeletion");
            } else {
                for i in live {
                    let (dk, de) = &snapshot[i];
                    let p = if dependents.contains_key(de.uid.as_str()) {
                        Propagation::Foreground
                    } else {
                        Propagation::Background
                    };
                    delete_entry(&mut store, dk, de, p, false, sim.clock.now());
                }
            }
            pending = true;
        } else if resources::get(k.res).plural == "namespaces" {
            pending = true;
            let ns = &k.name;
            let contents: Vec<&(Key, Arc<Entry>)> = snapshot
                .iter()
                .filter(|(ck, _)| resources::get(ck.res).namespaced && &ck.ns == ns)
                .collect();
            if contents.is_empty() {
                let since = *terminating_since
                    .entry(ns.clone())
                    .or_insert_with(Instant::now);
                if since.elapsed() >= sim.timing.namespace_finalize {
                    terminating_since.remove(ns);
                    let mut obj = e.to_map();
                    obj["spec"] = json!({});
                    meta_mut(&mut obj).remove("finalizers");
                    let _ = write::commit_update(&mut store, k, obj);
                }
            } else {
                for (ck, _) in contents {
                    // A twin (Event) may already have gone with its pair.
                    if let Some(cur) = store.get(ck).cloned() {
                        delete_entry(
                            &mut store,
                            ck,
                            &cur,
                            Propagation::Background,
                            false,
                            sim.clock.now(),
                        );
                    }
                }
            }
        }
    }
    pending
}

fn remove_finalizer(store: &mut Store, key: &Key, name: &str) {
    let Some(cur) = store.get(key).cloned() else {
        return;
    };
    let mut obj = cur.to_map();
    if let Some(Value::Array(list)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("finalizers"))
    {
        list.retain(|f| f.as_str() != Some(name));
        if list.is_empty() {
            meta_mut(&mut obj).remove("finalizers");
        }
    }
    let _ = write::commit_update(store, key, obj);
}

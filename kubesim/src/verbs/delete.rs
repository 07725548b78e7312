//! DELETE with preconditions and propagation (fixture 19): Background
//! removes the object at once (dependents follow via the garbage
//! collector); Foreground and Orphan set `deletionTimestamp` and a
//! finalizer the collector resolves; Jobs orphan by default, with the real
//! server's Warning. Namespaces turn Terminating (fixture 23).

use hyper::body::Bytes;
use serde_json::{Map, Value, json};

use super::Call;
use super::list::Filter;
use super::write;
use crate::clock;
use crate::error::{ApiError, Cause, Details, success_status};
use crate::object::meta_mut;
use crate::reply::{JSON, Reply};
use crate::resources;
use crate::store::{Entry, Key, Store};

/// How dependents are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Foreground,
    Background,
    Orphan,
}

/// DeleteOptions from the body and the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry: bool,
}

const JOB_WARNING: &str = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

impl DeleteOptions {
    pub fn from_call(call: &Call) -> Result<DeleteOptions, ApiError> {
        let body: Map<String, Value> = if call.body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            serde_json::from_slice(&call.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
        };
        let mut dry = call.dry_run("DeleteOptions")?;
        if let Some(Value::Array(d)) = body.get("dryRun") {
            if d.iter().any(|v| v.as_str() != Some("All")) {
                return Err(ApiError::invalid_options(
                    "DeleteOptions",
                    vec![Cause::not_supported(
                        "dryRun",
                        &format!("{}", Value::Array(d.clone())),
                        &["All"],
                    )],
                ));
            }
            dry |= !d.is_empty();
        }
        let policy = body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| call.query.get("propagationPolicy").map(str::to_string));
        let orphan = body
            .get("orphanDependents")
            .and_then(Value::as_bool)
            .or_else(|| call.query.get("orphanDependents").map(|v| v == "true"));
        let propagation = match policy.as_deref() {
            None | Some("") => orphan.map(|o| {
                if o {
                    Propagation::Orphan
                } else {
                    Propagation::Background
                }
            }),
            Some("Foreground") => Some(Propagation::Foreground),
            Some("Background") => Some(Propagation::Background),
            Some("Orphan") => Some(Propagation::Orphan),
            Some(other) => {
                return Err(ApiError::invalid_options(
                    "DeleteOptions",
                    vec![Cause::not_supported(
                        "propagationPolicy",
                        &format!("\"{other}\""),
                        &["Foreground", "Background", "Orphan", "nil"],
                    )],
                ));
            }
        };
        let pre = body.get("preconditions");
        let s = |k: &str| {
            pre.and_then(|p| p.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Ok(DeleteOptions {
            propagation,
            uid: s("uid"),
            resource_version: s("resourceVersion"),
            dry,
        })
    }
}

/// What a delete did.
pub enum Outcome {
    /// Gone; the last state.
    Removed(Bytes),
    /// Still there with `deletionTimestamp` (finalizers pending).
    Marked(Bytes),
}

/// Deletes or marks one object. Shared with the garbage collector.
pub fn delete_entry(
    store: &mut Store,
    key: &Key,
    old: &Entry,
    propagation: Propagation,
    dry: bool,
    now: clock::Instant,
) -> Outcome {
    let rt = resources::get(key.res);
    let is_namespace = rt.plural == "namespaces";
    let finalizer = match propagation {
        Propagation::Foreground => Some("foregroundDeletion"),
        Propagation::Orphan => Some("orphan"),
        Propagation::Background => None,
    };
    if old.deleting {
        return Outcome::Marked(Bytes::clone(&old.json));
    }
    if finalizer.is_none() && old.finalizers.is_empty() && !is_namespace {
        if !dry {
            write::remove_now(store, key, old);
        }
        return Outcome::Removed(Bytes::clone(&old.json));
    }
    let mut obj = old.to_map();
    {
        let meta = meta_mut(&mut obj);
        meta.insert("deletionTimestamp".into(), json!(now.rfc3339()));
        if !is_namespace {
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        if let Some(f) = finalizer {
            let list = meta
                .entry("finalizers")
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("finalizers is a list");
            if !list.iter().any(|x| x == f) {
                list.push(json!(f));
            }
        }
        if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
            meta.insert("generation".into(), json!(g + 1));
        }
    }
    if is_namespace {
        obj["status"] = json!({"phase": "Terminating"});
    }
    let obj = crate::object::canonical(rt, obj);
    if dry {
        return Outcome::Marked(Entry::new(key.res, &obj).json);
    }
    match write::commit_update(store, key, obj) {
        Ok(b) => Outcome::Marked(b),
        Err(_) => Outcome::Marked(Bytes::clone(&old.json)),
    }
}

pub fn delete(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let opts = DeleteOptions::from_call(call)?;
    let key = call.key();
    let mut warnings = Vec::new();
    let (outcome, uid) = {
        let mut store = call.sim.store();
        let old = store
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, call.name()))?;
        if let Some(uid) = opts.uid.as_deref()
            && uid != old.uid
        {
            return Err(ApiError::conflict_msg(
                rt,
                call.name(),
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    old.uid
                ),
            ));
        }
        if let Some(rv) = opts.resource_version.as_deref()
            && rv != old.rv.to_string()
        {
            return Err(ApiError::conflict_msg(
                rt,
                call.name(),
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    old.rv
                ),
            ));
        }
        let propagation = match opts.propagation {
            Some(p) => p,
            None if rt.rules.orphan_by_default => {
                warnings.push(JOB_WARNING.to_string());
                Propagation::Orphan
            }
            None => Propagation::Background,
        };
        (
            delete_entry(
                &mut store,
                &key,
                &old,
                propagation,
                opts.dry,
                call.sim.clock.now(),
            ),
            old.uid.clone(),
        )
    };
    call.sim.gc.notify_one();
    Ok(match outcome {
        Outcome::Removed(_) => Reply::json(
            200,
            &success_status(&Details::object(rt, call.name()), &uid),
        ),
        Outcome::Marked(json) => Reply::bytes(200, JSON, json),
    }
    .with_warnings(&warnings))
}

/// DELETE on a collection: every matching object, Background.
pub fn delete_collection(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let opts = DeleteOptions::from_call(call)?;
    let filter = Filter::from_call(call)?;
    let mut items: Vec<u8> = Vec::new();
    let rv = {
        let mut store = call.sim.store();
        let targets: Vec<(Key, std::sync::Arc<Entry>)> = store
            .range(call.t.id, call.t.namespace.as_deref())
            .filter(|(k, e)| filter.matches(k, e))
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        for (k, e) in targets {
            let p = opts.propagation.unwrap_or(if rt.rules.orphan_by_default {
                Propagation::Orphan
            } else {
                Propagation::Background
            });
            let json = match delete_entry(&mut store, &k, &e, p, opts.dry, call.sim.clock.now()) {
                Outcome::Removed(b) | Outcome::Marked(b) => b,
            };
            if !items.is_empty() {
                items.push(b',');
            }
            let entry = Entry::new(k.res, &serde_json::from_slice(&json).unwrap_or_default());
            entry.list_item(&mut items);
        }
        store.rv()
    };
    call.sim.gc.notify_one();
    let mut out = format!(
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"}},\"items\":[",
        rt.kind,
        rt.api_version()
    )
    .into_bytes();
    out.extend_from_slice(&items);
    out.extend_from_slice(b"]}");
    Ok(Reply::bytes(200, JSON, out))
}

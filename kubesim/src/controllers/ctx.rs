//! One reconcile's view of the cluster: the locked store, the virtual
//! time, and the write path the API uses (so watches fire and
//! resourceVersions advance), with a field manager per controller.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::clock::{Micros, rfc3339, rfc3339_micro, to_instant};
use super::util::{ids, name, uid};
use super::{Ctl, Work};
use crate::resources::ResourceId;
use crate::sim::Sim;
use crate::ssa::Track;
use crate::store::{Key, Store};
use crate::verbs::delete::{Propagation, delete_entry};
use crate::verbs::write::{self, Part};

pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";
pub const KUBELET: &str = "kubelet";
pub const SCHEDULER: &str = "kube-scheduler";

pub struct Ctx<'a> {
    pub sim: &'a Sim,
    pub store: &'a mut Store,
    pub now: Micros,
    /// Wake-ups requested by this reconcile.
    pub timers: Vec<(Micros, Work)>,
    /// Something was deleted: the garbage collector has work.
    pub deleted: bool,
    /// Distinguishes event names written within one microsecond.
    pub event_seq: &'a mut u64,
    /// Events written, by involved object, reason and message, so that a
    /// repeated one is counted as the real recorders do.
    pub events_seen: &'a mut HashMap<String, (String, String)>,
}

impl Ctx<'_> {
    pub fn key(res: ResourceId, ns: &str, name: &str) -> Key {
        Key {
            res,
            ns: ns.to_string(),
            name: name.to_string(),
        }
    }

    pub fn get(&self, res: ResourceId, ns: &str, name: &str) -> Option<Map<String, Value>> {
        self.store
            .get(&Self::key(res, ns, name))
            .map(|e| e.to_map())
    }

    /// Every object of `res` in `ns`, in name order.
    pub fn list(&self, res: ResourceId, ns: &str) -> Vec<Map<String, Value>> {
        self.store
            .range(res, Some(ns))
            .map(|(_, e)| e.to_map())
            .collect()
    }

    /// Objects of `res` in `ns` controlled by the object with `owner_uid`.
    pub fn owned(&self, res: ResourceId, ns: &str, owner_uid: &str) -> Vec<Map<String, Value>> {
        self.store
            .range(res, Some(ns))
            .filter(|(_, e)| e.owners.iter().any(|o| o == owner_uid))
            .map(|(_, e)| e.to_map())
            .filter(|o| super::util::controlled_by(o, owner_uid))
            .collect()
    }

    /// [`Ctx::owned`] after adopting orphans, as the real controllers'
    /// ControllerRefManager does: an object of `res` in `ns` with no
    /// controller reference, not being deleted, whose labels match the
    /// owner's `spec.selector` (matchLabels) and that `member` accepts gets
    /// a controller ownerReference to `owner`. This is how a workload
    /// recreated after an Orphan delete takes its pods (or ReplicaSets,
    /// ControllerRevisions) back instead of making new ones.
    ///
    /// # Caveats
    /// Only `matchLabels` selectors adopt (a selector with
    /// `matchExpressions` adopts nothing); objects that stop matching are
    /// not released.
    pub fn claim(
        &mut self,
        res: ResourceId,
        ns: &str,
        owner: &Map<String, Value>,
        member: impl Fn(&Map<String, Value>) -> bool,
    ) -> Vec<Map<String, Value>> {
        let selector = super::util::pointer(owner, "/spec/selector");
        let want = super::util::match_labels(selector);
        let expressions = selector
            .and_then(|s| s.get("matchExpressions"))
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        if !want.is_empty() && !expressions && !super::util::deleting(owner) {
            let orphans: Vec<Map<String, Value>> = self
                .list(res, ns)
                .into_iter()
                .filter(|o| super::util::controller_of(o).is_none())
                .filter(|o| !super::util::deleting(o))
                .filter(|o| {
                    super::util::labels_match(super::util::pointer(o, "/metadata/labels"), &want)
                })
                .filter(|o| member(o))
                .collect();
            for mut o in orphans {
                let refs = super::util::child(&mut o, "metadata")
                    .entry("ownerReferences")
                    .or_insert_with(|| json!([]));
                if let Some(list) = refs.as_array_mut() {
                    list.push(super::util::owner_ref(owner));
                }
                self.update(res, o, "", CONTROLLER_MANAGER);
            }
        }
        self.owned(res, ns, uid(owner))
    }

    fn track(&self, manager: &str, sub: &str) -> Track {
        Track::Update {
            manager: manager.to_string(),
            subresource: sub.to_string(),
            now: rfc3339(self.now),
        }
    }

    /// Creates `obj` (with `generateName` or `name`); the stored object.
    pub fn create(
        &mut self,
        res: ResourceId,
        obj: Map<String, Value>,
        manager: &str,
    ) -> Option<Map<String, Value>> {
        let track = self.track(manager, "");
        let json = write::insert_tracked(self.sim, self.store, res, obj, false, &track).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Writes `new` (derived from the stored object) through the main
    /// resource or `/status` (`sub` = "status", or "scale"); nothing when
    /// nothing changed. The stored result.
    pub fn update(
        &mut self,
        res: ResourceId,
        new: Map<String, Value>,
        sub: &str,
        manager: &str,
    ) -> Option<Map<String, Value>> {
        let ns = super::util::text(&new, "/metadata/namespace").unwrap_or("");
        let key = Self::key(res, ns, name(&new));
        let old = self.store.get(&key)?.clone();
        let old_map = old.to_map();
        if same(&old_map, &new) {
            return Some(old_map);
        }
        let part = if sub == "status" {
            Part::Status
        } else {
            Part::Main
        };
        let track = self.track(manager, sub);
        let json = write::update_tracked(self.store, &key, &old, new, part, false, &track).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Deletes an object now (Background propagation).
    pub fn delete(&mut self, res: ResourceId, ns: &str, name: &str) {
        let key = Self::key(res, ns, name);
        if let Some(old) = self.store.get(&key).cloned() {
            delete_entry(
                self.store,
                &key,
                &old,
                Propagation::Background,
                false,
                to_instant(self.now),
            );
            self.deleted = true;
        }
    }

    /// Reconciles `work` again `delay` from now.
    pub fn after(&mut self, delay: Micros, ctl: Ctl, key: Key) {
        self.timers
            .push((self.now + delay.max(0), Work { ctl, key }));
    }

    fn event_name(&mut self, involved: &str) -> String {
        *self.event_seq += 1;
        let seq = *self.event_seq % 1000;
        let nanos = (self.now as u64).wrapping_mul(1000) + seq;
        format!("{involved}.{nanos:x}")
    }

    fn involved(obj: &Map<String, Value>) -> Value {
        json!({
            "kind": obj.get("kind").cloned().unwrap_or(Value::Null),
            "namespace": super::util::text(obj, "/metadata/namespace").unwrap_or(""),
            "name": name(obj),
            "uid": uid(obj),
            "apiVersion": obj.get("apiVersion").cloned().unwrap_or(Value::Null),
            "resourceVersion": super::util::text(obj, "/metadata/resourceVersion").unwrap_or(""),
        })
    }

    /// A core/v1 Event as the controller-manager's recorders write it.
    pub fn event(
        &mut self,
        involved: &Map<String, Value>,
        warning: bool,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = super::util::text(involved, "/metadata/namespace").unwrap_or("default");
        let t = rfc3339(self.now);
        let seen_key = format!("{}\n{reason}\n{message}", uid(involved));
        if let Some((ens, ename)) = self.events_seen.get(&seen_key).cloned()
            && let Some(mut ev) = self.get(ids().events, &ens, &ename)
        {
            let count = ev.get("count").and_then(Value::as_i64).unwrap_or(1);
            ev.insert("count".into(), json!(count + 1));
            ev.insert("lastTimestamp".into(), json!(t));
            let manager = if component == KUBELET {
                KUBELET
            } else {
                CONTROLLER_MANAGER
            };
            self.update(ids().events, ev, "", manager);
            return;
        }
        let (source, manager) = if component == KUBELET {
            (
                json!({"component": KUBELET, "host": super::kubelet::NODE}),
                KUBELET,
            )
        } else {
            (json!({"component": component}), CONTROLLER_MANAGER)
        };
        let ev = json!({
            "metadata": {"name": self.event_name(name(involved)), "namespace": ns},
            "involvedObject": Self::involved(involved),
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": t,
            "lastTimestamp": t,
            "count": 1,
            "type": if warning { "Warning" } else { "Normal" },
            "reportingComponent": component,
            "reportingInstance": if component == KUBELET { super::kubelet::NODE } else { "" },
        });
        if let Value::Object(m) = ev
            && let Some(created) = self.create(ids().events, m, manager)
        {
            self.events_seen
                .insert(seen_key, (ns.to_string(), name(&created).to_string()));
        }
    }

    /// An events.k8s.io-style Event, as the scheduler writes them.
    pub fn scheduler_event(
        &mut self,
        pod: &Map<String, Value>,
        warning: bool,
        reason: &str,
        action: &str,
        message: &str,
    ) {
        let ns = super::util::text(pod, "/metadata/namespace").unwrap_or("default");
        let ev = json!({
            "metadata": {"name": self.event_name(name(pod)), "namespace": ns},
            "involvedObject": Self::involved(pod),
            "reason": reason,
            "message": message,
            "source": {},
            "type": if warning { "Warning" } else { "Normal" },
            "eventTime": rfc3339_micro(self.now),
            "action": action,
            "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-kubesim",
        });
        if let Value::Object(m) = ev {
            self.create(ids().events, m, SCHEDULER);
        }
    }
}

/// Whether two versions of an object differ only in bookkeeping.
fn same(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    const BOOKKEEPING: [&str; 2] = ["managedFields", "resourceVersion"];
    let keys_match = |x: &Map<String, Value>, y: &Map<String, Value>, skip: &[&str]| {
        x.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| y.get(k) == Some(v))
            && y.keys()
                .filter(|k| !skip.contains(&k.as_str()))
                .all(|k| x.contains_key(k))
    };
    let meta = |m: &Map<String, Value>| m.get("metadata").and_then(Value::as_object).cloned();
    keys_match(a, b, &["metadata"])
        && match (a.get("metadata"), b.get("metadata")) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => keys_match(x, y, &BOOKKEEPING),
            _ => meta(a) == meta(b),
        }
}

//! The object store: canonical JSON bytes per object plus a small index
//! (namespace, name, uid, resourceVersion, labels, owners, deletion state),
//! one global resourceVersion counter, and a bounded event history that
//! watches resume from and that a too-old resourceVersion falls out of.
//!
//! The store is pure data behind the caller's lock; it never blocks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use hyper::body::Bytes;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::resources::{self, ResourceId};

/// Where an object lives: (resource, namespace or "", name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub res: ResourceId,
    pub ns: String,
    pub name: String,
}

/// A stored object: its canonical JSON and the fields lists and watches
/// filter on, so that they never parse the JSON.
#[derive(Debug)]
pub struct Entry {
    /// The object, `kind` and `apiVersion` first.
    pub json: Bytes,
    /// Offset of the first field after `apiVersion` (list items omit both).
    pub body_start: usize,
    pub uid: String,
    pub rv: u64,
    pub labels: BTreeMap<String, String>,
    /// Values of the kind's selectable fields, in `rules.field_selectors` order.
    pub fields: Vec<String>,
    /// uids from `metadata.ownerReferences`.
    pub owners: Vec<String>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Entry {
    /// Indexes and serialises `obj`, which must start with `kind`,
    /// `apiVersion` and `metadata` (see [`crate::object::canonical`]).
    pub fn new(res: ResourceId, obj: &Map<String, Value>) -> Entry {
        let rt = resources::get(res);
        let json = serde_json::to_vec(obj).expect("a JSON map always serialises");
        let prefix = serde_json::to_string(obj.get("kind").unwrap_or(&Value::Null))
            .unwrap_or_default()
            .len()
            + serde_json::to_string(obj.get("apiVersion").unwrap_or(&Value::Null))
                .unwrap_or_default()
                .len();
        // {"kind":K,"apiVersion":V,
        let body_start = 1 + 7 + 14 + prefix + 1;
        let meta = obj.get("metadata").and_then(Value::as_object);
        let get = |k: &str| meta.and_then(|m| m.get(k));
        let labels = get("labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let owners = get("ownerReferences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|o| o.get("uid").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut finalizers = strings(get("finalizers"));
        if rt.rules.special == crate::kinds::Special::Namespace {
            // A namespace also waits for its spec.finalizers (`kubernetes`).
            finalizers.extend(strings(obj.get("spec").and_then(|s| s.get("finalizers"))));
        }
        let fields = rt
            .rules
            .field_selectors
            .iter()
            .map(|(_, path)| field_value(obj, path))
            .collect();
        Entry {
            json: Bytes::from(json),
            body_start,
            uid: get("uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            rv: get("resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            labels,
            fields,
            owners,
            deleting: get("deletionTimestamp").is_some(),
            finalizers,
        }
    }

    /// The object parsed back into a map.
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_slice(&self.json).expect("stored JSON is valid")
    }

    /// The object without `kind`/`apiVersion`, as a list item.
    pub fn list_item(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        out.extend_from_slice(&self.json[self.body_start..]);
    }
}

/// The string value of a dotted path, as field selectors compare it.
pub fn field_value(obj: &Map<String, Value>, path: &str) -> String {
    let mut cur: Option<&Value> = None;
    for (i, part) in path.split('.').enumerate() {
        cur = if i == 0 {
            obj.get(part)
        } else {
            cur.and_then(|v| v.get(part))
        };
    }
    match cur {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches see it. For `Deleted`, `new` is the last state
/// stamped with the deletion's resourceVersion.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub ty: EventType,
    pub key: Key,
    pub new: Arc<Entry>,
    pub old: Option<Arc<Entry>>,
}

/// How far back a watch may resume.
const HISTORY: usize = 20_000;

/// All objects, the resourceVersion counter and the event history.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    objects: BTreeMap<Key, Arc<Entry>>,
    uids: HashMap<String, Key>,
    history: VecDeque<Arc<Event>>,
    /// Watches from a resourceVersion below this get 410 Expired.
    oldest: u64,
    hub: broadcast::Sender<Arc<Event>>,
}

impl Store {
    /// An empty store whose counter starts at `first_rv`.
    pub fn new(first_rv: u64) -> Store {
        let (hub, _) = broadcast::channel(4096);
        Store {
            rv: first_rv,
            objects: BTreeMap::new(),
            uids: HashMap::new(),
            history: VecDeque::new(),
            oldest: first_rv,
            hub,
        }
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn oldest(&self) -> u64 {
        self.oldest
    }

    /// The resourceVersion the next write will get.
    pub fn next_rv(&self) -> u64 {
        self.rv + 1
    }

    pub fn get(&self, key: &Key) -> Option<&Arc<Entry>> {
        self.objects.get(key)
    }

    /// Objects of `res`, in one namespace or all, in key order.
    pub fn range<'a>(
        &'a self,
        res: ResourceId,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Arc<Entry>)> + 'a {
        let start = Key {
            res,
            ns: ns.unwrap_or("").to_string(),
            name: String::new(),
        };
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.res == res && ns.is_none_or(|n| k.ns == n))
    }

    /// Every object (for the garbage collector).
    pub fn all(&self) -> impl Iterator<Item = (&Key, &Arc<Entry>)> {
        self.objects.iter()
    }

    pub fn count(&self) -> usize {
        self.objects.len()
    }

    /// Stores a created or updated object; its rv must be [`Self::next_rv`].
    /// An object of a twin resource (Events) is stored in both forms.
    pub fn put(&mut self, key: Key, entry: Entry) -> Arc<Entry> {
        debug_assert_eq!(entry.rv, self.next_rv());
        if let Some(twin) = crate::convert::twin(key.res) {
            let obj = crate::convert::to_twin(key.res, twin, &entry.to_map());
            let twin_key = Key {
                res: twin,
                ..key.clone()
            };
            self.put_one(twin_key, Entry::new(twin, &obj));
        }
        self.put_one(key, entry)
    }

    fn put_one(&mut self, key: Key, entry: Entry) -> Arc<Entry> {
        self.rv = entry.rv;
        let entry = Arc::new(entry);
        self.uids.insert(entry.uid.clone(), key.clone());
        let old = self.objects.insert(key.clone(), entry.clone());
        let ty = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(Event {
            rv: entry.rv,
            ty,
            key,
            new: entry.clone(),
            old,
        });
        entry
    }

    /// Removes an object (and its twin); `last` is its final state with rv
    /// [`Self::next_rv`].
    pub fn remove(&mut self, key: &Key, last: Entry) -> Option<Arc<Entry>> {
        if let Some(twin) = crate::convert::twin(key.res) {
            let obj = crate::convert::to_twin(key.res, twin, &last.to_map());
            let twin_key = Key {
                res: twin,
                ..key.clone()
            };
            self.remove_one(&twin_key, Entry::new(twin, &obj));
        }
        self.remove_one(key, last)
    }

    fn remove_one(&mut self, key: &Key, last: Entry) -> Option<Arc<Entry>> {
        let old = self.objects.remove(key)?;
        self.uids.remove(&old.uid);
        self.rv = last.rv;
        self.record(Event {
            rv: last.rv,
            ty: EventType::Deleted,
            key: key.clone(),
            new: Arc::new(last),
            old: Some(old.clone()),
        });
        Some(old)
    }

    fn record(&mut self, ev: Event) {
        let ev = Arc::new(ev);
        if self.history.len() == HISTORY
            && let Some(dropped) = self.history.pop_front()
        {
            self.oldest = dropped.rv;
        }
        self.history.push_back(ev.clone());
        let _ = self.hub.send(ev);
    }

    /// Every object and the counter (for `--state`, `src/persist.rs`).
    pub fn snapshot(&self) -> (u64, Vec<(Key, Arc<Entry>)>) {
        let objects = self
            .objects
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        (self.rv, objects)
    }

    /// Replaces the contents with a saved state, without events; watches
    /// can resume from `rv` on.
    pub fn restore(&mut self, rv: u64, objects: Vec<(Key, Entry)>) {
        self.objects.clear();
        self.uids.clear();
        self.history.clear();
        for (key, entry) in objects {
            self.uids.insert(entry.uid.clone(), key.clone());
            self.objects.insert(key, Arc::new(entry));
        }
        self.rv = rv;
        self.oldest = rv;
    }

    /// Subscribes to live events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.hub.subscribe()
    }

    /// Events after `rv`, or `None` when `rv` is older than the history.
    pub fn since(&self, rv: u64) -> Option<Vec<Arc<Event>>> {
        if rv < self.oldest {
            return None;
        }
        let start = self.history.partition_point(|e| e.rv <= rv);
        Some(self.history.range(start..).cloned().collect())
    }
}

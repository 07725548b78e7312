//! Server-side apply and field ownership (issue 5), as kube-apiserver 1.32
//! does them with structured-merge-diff:
//!
//! - [`apply`] merges an applied configuration into the live object,
//!   reports conflicts with other managers (409, fixture 03) unless forced
//!   (fixture 04), removes the fields the applier owned before and omits
//!   now when nobody else owns them (fixture 05), and returns the new
//!   `managedFields`;
//! - [`track`] moves the fields a create or update changes to the updater
//!   (an `Update` entry) and takes them from everyone else;
//! - [`defaults`] fills in what the real server's defaulting functions
//!   add, which nobody owns after an apply.
//!
//! The modules: [`path`] (path elements), [`set`] (field sets and
//! FieldsV1), [`semantics`] (list/map/struct merge semantics per field),
//! [`typed`] (sets of values, merge, compare, remove), [`managed`]
//! (managedFields entries).

pub mod defaults;
mod managed;
mod path;
pub mod request;
mod semantics;
mod set;
mod typed;
pub mod validation;

use serde_json::{Map, Value};

use crate::error::{ApiError, Cause, Details};
use crate::resources::ResourceType;

use managed::Entry;
pub use managed::Operation;
use path::{Path, Pe};
use semantics::Shape;
use set::Set;

/// How a write changes `metadata.managedFields`.
#[derive(Debug, Clone)]
pub enum Track {
    /// Server-internal writes (garbage collector, bootstrap): untouched.
    Keep,
    /// A create or update by this manager through this subresource (""
    /// for the main resource), at `now`.
    Update {
        manager: String,
        subresource: String,
        now: String,
    },
    /// Computed by [`apply`].
    Applied(Value),
}

/// The manager of a write without `fieldManager`: the User-Agent up to its
/// first `/` (`python-requests/2.32` → `python-requests`), as the real
/// server names it.
pub fn manager_from_user_agent(ua: &str) -> String {
    let m = ua.split('/').next().unwrap_or("").trim();
    if m.is_empty() {
        "unknown".to_string()
    } else {
        m.chars().take(128).collect()
    }
}

fn root_shape(rt: &ResourceType) -> Shape {
    crate::schema::root(rt).map_or(Shape::Leaf, Shape::Struct)
}

/// Removes from `set` what no manager ever owns: the identity and
/// server-set metadata, and the fields a subresource's strategy resets
/// (`status` on the main resource, `spec` on `/status`).
fn strip(rt: &ResourceType, subresource: &str, mut set: Set) -> Set {
    let f = |s: &str| Pe::Field(s.to_string());
    for top in ["apiVersion", "kind"] {
        set.children.remove(&f(top));
    }
    if let Some(meta) = set.children.get_mut(&f("metadata")) {
        meta.member = false;
        for k in [
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "generation",
            "managedFields",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.children.remove(&f(k));
        }
        if meta.is_empty() {
            set.children.remove(&f("metadata"));
        }
    }
    match subresource {
        "" if rt.rules.status => {
            set.children.remove(&f("status"));
        }
        "status" => {
            set.children.remove(&f("spec"));
        }
        _ => {}
    }
    set
}

fn without_managed_fields(obj: &Map<String, Value>) -> Value {
    let mut o = obj.clone();
    if let Some(Value::Object(m)) = o.get_mut("metadata") {
        m.remove("managedFields");
    }
    Value::Object(o)
}

/// `group/version, Kind=K` as the real server prints a GVK.
fn gvk(rt: &ResourceType) -> String {
    format!("{}/{}, Kind={}", rt.group, rt.version, rt.kind)
}

/// What an apply produced: the merged object (not yet defaulted) and its
/// new `managedFields`.
pub struct Applied {
    pub obj: Map<String, Value>,
    pub managed_fields: Value,
}

/// Who applies, how, and when.
pub struct Applier<'a> {
    pub manager: &'a str,
    /// "" for the main resource, "status" for `/status`.
    pub subresource: &'a str,
    pub force: bool,
    /// Stamps the applier's entry.
    pub now: &'a str,
}

/// Server-side apply of `config` onto `live` (`None`: the object does not
/// exist yet).
pub fn apply(
    rt: &ResourceType,
    live: Option<&Map<String, Value>>,
    mut config: Map<String, Value>,
    who: &Applier,
) -> Result<Applied, ApiError> {
    let Applier {
        manager,
        subresource,
        force,
        now,
    } = *who;
    let shape = root_shape(rt);
    if let Some(Value::Object(m)) = config.get_mut("metadata") {
        m.remove("managedFields");
    }
    let ns = crate::object::meta_str(&config, "namespace")
        .unwrap_or("")
        .to_string();
    let name = crate::object::meta_str(&config, "name")
        .unwrap_or("")
        .to_string();
    let applied = typed::to_set(&Value::Object(config.clone()), &shape).map_err(|errs| {
        let what = if errs.len() == 1 {
            errs[0].clone()
        } else {
            format!("errors:\n  {}", errs.join("\n  "))
        };
        let id = if ns.is_empty() {
            name.clone()
        } else {
            format!("{ns}/{name}")
        };
        ApiError {
            code: 500,
            reason: None,
            message: format!(
                "failed to create typed patch object ({id}; {}): {what}",
                gvk(rt)
            ),
            details: None,
        }
    })?;
    let applied = strip(rt, subresource, applied);
    if rt.rules.status && subresource.is_empty() {
        config.remove("status");
    }
    let mut entries = live.map(managed::decode).unwrap_or_default();
    let live_v = live.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    let mut merged = typed::merge(Some(&live_v), &Value::Object(config), &shape);

    let me = entries
        .iter()
        .position(|e| e.same_identity(manager, Operation::Apply, subresource));
    let last = me.map(|i| entries[i].set.clone()).unwrap_or_default();
    let all = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != me)
        .fold(applied.clone(), |acc, (_, e)| acc.union(&e.set));
    if !last.is_empty() {
        let removable = typed::with_named_fields(&last, &shape)
            .difference(&typed::with_named_fields(&all, &shape));
        let removable = keep_identity(removable);
        typed::remove(&mut merged, &removable, &shape);
    }

    let cmp = typed::compare(&live_v, &merged, &shape);
    let changed = strip(rt, subresource, cmp.changed());
    let removed = strip(rt, subresource, cmp.removed);
    let mut conflicts: Vec<(String, Path)> = Vec::new();
    for (i, e) in entries.iter_mut().enumerate() {
        if Some(i) == me {
            continue;
        }
        let c = e.set.intersection(&changed);
        if !c.is_empty() {
            for p in c.leaves() {
                conflicts.push((e.describe(), p));
            }
            if force {
                e.set = e.set.difference(&c);
            }
        }
        e.set = e.set.difference(&removed);
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(conflicts));
    }
    let object_changed = live.is_none() || merged != live_v;
    match me {
        Some(i) => {
            entries[i].set = applied;
            if object_changed {
                entries[i].time = now.to_string();
            }
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: Operation::Apply,
            api_version: rt.api_version(),
            time: now.to_string(),
            subresource: subresource.to_string(),
            set: applied,
        }),
    }
    let Value::Object(obj) = merged else {
        return Err(ApiError::bad_request("the apply produced a non-object"));
    };
    Ok(Applied {
        obj,
        managed_fields: managed::encode(&entries),
    })
}

/// Never prunes the object's identity.
fn keep_identity(mut set: Set) -> Set {
    let f = |s: &str| Pe::Field(s.to_string());
    for top in ["apiVersion", "kind"] {
        set.children.remove(&f(top));
    }
    if let Some(meta) = set.children.get_mut(&f("metadata")) {
        meta.member = false;
        for k in ["name", "namespace"] {
            meta.children.remove(&f(k));
        }
    }
    set
}

fn conflict_error(mut conflicts: Vec<(String, Path)>) -> ApiError {
    conflicts.sort();
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(m, p)| Cause {
            reason: "FieldManagerConflict",
            message: format!("conflict with {m}"),
            field: Some(p.to_string()),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0, conflicts[0].1
        )
    } else {
        let mut lines = Vec::new();
        let mut last: Option<&str> = None;
        for (m, p) in &conflicts {
            if last != Some(m.as_str()) {
                lines.push(format!("conflicts with {m}:"));
                last = Some(m);
            }
            lines.push(format!("- {p}"));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::new(409, "Conflict", message).with_details(Details {
        causes,
        ..Details::default()
    })
}

/// The `managedFields` after `manager` changed `old` (`None`: created) into
/// `new` through `subresource`: the changed fields move to the manager's
/// Update entry and leave every other entry; removed fields leave all.
/// `new`'s own managedFields, when a client sent some, replace the stored
/// ones first (`[{}]` clears them).
pub fn track(
    rt: &ResourceType,
    old: Option<&Map<String, Value>>,
    new: &Map<String, Value>,
    manager: &str,
    subresource: &str,
    now: &str,
) -> Value {
    let shape = root_shape(rt);
    let sent = new
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let mut entries = match (sent, old) {
        (true, _) => managed::decode(new),
        (false, Some(o)) => managed::decode(o),
        (false, None) => Vec::new(),
    };
    let old_v = old.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    let cmp = typed::compare(&old_v, &without_managed_fields(new), &shape);
    let changed = strip(rt, subresource, cmp.changed());
    let removed = strip(rt, subresource, cmp.removed);
    let mut mine = None;
    for (i, e) in entries.iter_mut().enumerate() {
        if e.same_identity(manager, Operation::Update, subresource) {
            mine = Some(i);
            continue;
        }
        e.set = e.set.difference(&changed).difference(&removed);
    }
    match mine {
        Some(i) => {
            let e = &mut entries[i];
            e.set = e.set.difference(&removed).union(&changed);
            if !changed.is_empty() {
                e.time = now.to_string();
            }
        }
        None if !changed.is_empty() => entries.push(Entry {
            manager: manager.to_string(),
            operation: Operation::Update,
            api_version: rt.api_version(),
            time: now.to_string(),
            subresource: subresource.to_string(),
            set: changed,
        }),
        None => {}
    }
    managed::encode(&entries)
}

/// The real server's `IgnoreManagedFieldsTimestampsTransformer`: when an
/// update changes nothing but managedFields times (an apply whose merge
/// differed from the live object only until defaulting), the stored
/// managedFields are kept, so that the write is a no-op.
pub fn keep_times_of_no_op(old: &Map<String, Value>, new: &mut Map<String, Value>) {
    let mf = |o: &Map<String, Value>| {
        o.get("metadata")
            .and_then(|m| m.get("managedFields"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (old_mf, new_mf) = (mf(old), mf(new));
    if old_mf == new_mf || without_managed_fields(old) != without_managed_fields(new) {
        return;
    }
    let untimed = |v: &Value| {
        let mut v = v.clone();
        if let Value::Array(a) = &mut v {
            for e in a.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
        v
    };
    if untimed(&old_mf) == untimed(&new_mf)
        && let Some(Value::Object(m)) = new.get_mut("metadata")
    {
        m.insert("managedFields".into(), old_mf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    type Fields = BTreeMap<String, String>;

    fn configmaps() -> &'static ResourceType {
        crate::resources::find("", "v1", "configmaps").unwrap().1
    }

    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// A random ConfigMap: some of four data keys and two labels, each
    /// with one of two values.
    fn random_manifest(next: &mut impl FnMut() -> u64) -> (Fields, Map<String, Value>) {
        let mut fields = Fields::new();
        for k in [
            "data.a", "data.b", "data.c", "data.d", "labels.x", "labels.y",
        ] {
            if !next().is_multiple_of(3) {
                let v = if next().is_multiple_of(4) { "2" } else { "1" };
                fields.insert(k.to_string(), v.to_string());
            }
        }
        let mut cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "p", "namespace": "default"}});
        for (k, v) in &fields {
            let (section, key) = k.split_once('.').unwrap();
            let target = if section == "data" {
                &mut cfg["data"]
            } else {
                &mut cfg["metadata"]["labels"]
            };
            target[key] = json!(v);
        }
        let Value::Object(cfg) = cfg else {
            unreachable!()
        };
        (fields, cfg)
    }

    /// The data keys and labels of an object, as `data.k` / `labels.k`.
    fn fields_of(obj: &Value) -> Fields {
        let mut got = Fields::new();
        for (section, ptr) in [("data", "/data"), ("labels", "/metadata/labels")] {
            if let Some(Value::Object(m)) = obj.pointer(ptr) {
                for (k, v) in m {
                    got.insert(format!("{section}.{k}"), v.as_str().unwrap().to_string());
                }
            }
        }
        got
    }

    /// What `manager` owns, as `data.k` / `labels.k`.
    fn owned_by(obj: &Map<String, Value>, manager: &str) -> Vec<String> {
        let mut owned: Vec<String> = managed::decode(obj)
            .iter()
            .filter(|e| e.manager == manager)
            .flat_map(|e| e.set.leaves())
            .map(|p| {
                p.to_string()
                    .replace(".metadata.", ".")
                    .trim_start_matches('.')
                    .to_string()
            })
            .collect();
        owned.sort();
        owned
    }

    /// Applies and stores the result as the server would.
    fn step(
        live: &mut Option<Map<String, Value>>,
        cfg: Map<String, Value>,
        manager: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let applier = Applier {
            manager,
            subresource: "",
            force,
            now: "2026-11-25T00:00:00Z",
        };
        let a = apply(configmaps(), live.as_ref(), cfg, &applier)?;
        let mut obj = a.obj;
        if let Some(Value::Object(m)) = obj.get_mut("metadata") {
            m.insert("managedFields".into(), a.managed_fields);
        }
        *live = Some(obj);
        Ok(())
    }

    /// Two managers apply random ConfigMaps without force, many times
    /// over. After every step the object holds exactly the union of each
    /// manager's last successful manifest, each field with the value its
    /// appliers sent, and each manager owns exactly what it last applied.
    #[test]
    fn two_managers_never_lose_a_field_they_still_apply() {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let mut live = None;
        let mut last = [Fields::new(), Fields::new()];
        let managers = ["alice", "bob"];
        let (mut applied, mut conflicts) = (0, 0);
        for n in 0..3000 {
            let who = (next() % 2) as usize;
            let (fields, cfg) = random_manifest(&mut next);
            match step(&mut live, cfg, managers[who], false) {
                Ok(()) => {
                    last[who] = fields;
                    applied += 1;
                }
                Err(e) => {
                    assert_eq!(e.code, 409, "step {n}: {e}");
                    conflicts += 1;
                }
            }
            let mut want = Fields::new();
            for m in &last {
                for (k, v) in m {
                    if let Some(w) = want.insert(k.clone(), v.clone()) {
                        assert_eq!(&w, v, "step {n}: two owners, two values of {k}");
                    }
                }
            }
            let obj = live.clone().unwrap_or_default();
            assert_eq!(fields_of(&Value::Object(obj.clone())), want, "step {n}");
            for (i, m) in managers.iter().enumerate() {
                let expected: Vec<String> = last[i].keys().cloned().collect();
                assert_eq!(
                    owned_by(&obj, m),
                    expected,
                    "step {n}: {m} owns what it applied"
                );
            }
        }
        assert!(
            applied > 1000 && conflicts > 100,
            "{applied} applied, {conflicts} conflicts"
        );
    }

    /// The same with forced applies mixed in: a forced takeover makes the
    /// loser stop owning the field (so its later omission by the winner
    /// may remove it), but the last applier's fields always hold its
    /// values, and no field survives that nobody applies any more.
    #[test]
    fn forced_applies_keep_the_last_appliers_fields() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let mut live = None;
        let mut last = [Fields::new(), Fields::new()];
        let managers = ["alice", "bob"];
        for n in 0..3000 {
            let who = (next() % 2) as usize;
            let force = next().is_multiple_of(3);
            let (fields, cfg) = random_manifest(&mut next);
            if step(&mut live, cfg, managers[who], force).is_err() {
                assert!(!force, "step {n}: a forced apply never conflicts");
                continue;
            }
            let got = fields_of(&Value::Object(live.clone().unwrap()));
            for (k, v) in &fields {
                assert_eq!(got.get(k), Some(v), "step {n}: the applier's {k}");
            }
            last[who] = fields;
            for k in got.keys() {
                assert!(
                    last.iter().any(|m| m.contains_key(k)),
                    "step {n}: {k} is applied by nobody"
                );
            }
        }
    }
}

//! The Deployment controller: one ReplicaSet per pod template (named
//! `<deployment>-<pod-template-hash>`, `deployment.kubernetes.io/revision`
//! on both), rolling updates bounded by maxSurge (rounded up) and
//! maxUnavailable (rounded down), Recreate, history cleanup, and the
//! status and conditions of fixtures 06 and 10 (Available;
//! Progressing: NewReplicaSetCreated, ReplicaSetUpdated,
//! NewReplicaSetAvailable, ProgressDeadlineExceeded after
//! progressDeadlineSeconds without progress, with no Event). A Deployment
//! recreated after an Orphan delete adopts the orphaned ReplicaSets its
//! selector matches (ClaimReplicaSets).

use serde_json::{Map, Value, json};

use super::Ctl;
use super::clock::{SECOND, parse, rfc3339};
use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::util::{
    child, generation, ids, int, int_or_percent, match_labels, name, pointer, template_hash, text,
    uid,
};
use crate::store::Key;

const COMPONENT: &str = "deployment-controller";
const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX: &str = "deployment.kubernetes.io/max-replicas";
const HASH: &str = "pod-template-hash";

/// A template without what the ReplicaSet adds or defaults leave empty.
fn normalize(v: &Value) -> Value {
    fn clean(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Object(m) => {
                let out: Map<String, Value> = m
                    .iter()
                    .filter(|(k, _)| k.as_str() != HASH)
                    .filter_map(|(k, v)| clean(v).map(|v| (k.clone(), v)))
                    .filter(|(_, v)| !matches!(v, Value::Object(o) if o.is_empty()))
                    .collect();
                Some(Value::Object(out))
            }
            Value::Array(a) => Some(Value::Array(a.iter().filter_map(clean).collect())),
            other => Some(other.clone()),
        }
    }
    clean(v).unwrap_or(Value::Null)
}

fn revision(rs: &Map<String, Value>) -> i64 {
    text(
        rs,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .and_then(|r| r.parse().ok())
    .unwrap_or(0)
}

fn replicas(rs: &Map<String, Value>) -> i64 {
    int(rs, "/spec/replicas").unwrap_or(0)
}

fn st(rs: &Map<String, Value>, field: &str) -> i64 {
    int(rs, &format!("/status/{field}")).unwrap_or(0)
}

/// What the rollout computed for one Deployment.
struct Plan {
    desired: i64,
    surge: i64,
    unavailable: i64,
}

pub fn reconcile(cx: &mut Ctx, key: &Key) {
    let ids = ids();
    let Some(d) = cx.get(ids.deployments, &key.ns, &key.name) else {
        return;
    };
    if super::util::deleting(&d) {
        return;
    }
    let template = pointer(&d, "/spec/template").cloned().unwrap_or(json!({}));
    let desired = int(&d, "/spec/replicas").unwrap_or(1).max(0);
    let rolling = text(&d, "/spec/strategy/type") != Some("Recreate");
    let (surge, mut unavailable) = if rolling {
        (
            int_or_percent(
                pointer(&d, "/spec/strategy/rollingUpdate/maxSurge"),
                desired,
                true,
                "25%",
            ),
            int_or_percent(
                pointer(&d, "/spec/strategy/rollingUpdate/maxUnavailable"),
                desired,
                false,
                "25%",
            ),
        )
    } else {
        (0, 0)
    };
    if rolling && surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let plan = Plan {
        desired,
        surge,
        unavailable,
    };
    let paused = pointer(&d, "/spec/paused").and_then(Value::as_bool) == Some(true);
    let wanted = normalize(&template);
    let mut rss = cx.claim(ids.replicasets, &key.ns, &d, |_| true);
    rss.sort_by_key(|r| {
        (
            text(r, "/metadata/creationTimestamp")
                .unwrap_or("")
                .to_string(),
            name(r).to_string(),
        )
    });
    // The ReplicaSet of this template; by name too, should defaulting
    // ever make the stored templates differ.
    let hashed = format!(
        "{}-{}",
        key.name,
        template_hash(&template, int(&d, "/status/collisionCount").unwrap_or(0))
    );
    let new_name = rss
        .iter()
        .find(|r| pointer(r, "/spec/template").map(normalize) == Some(wanted.clone()))
        .or_else(|| rss.iter().find(|r| name(r) == hashed))
        .map(|r| name(r).to_string());
    let max_old_revision = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name.as_deref())
        .map(revision)
        .max()
        .unwrap_or(0);
    let mut d = d;
    let old_status = d.get("status").cloned().unwrap_or(json!({}));

    // The new ReplicaSet: created, or its revision brought up to date.
    let new_name = match new_name {
        Some(n) => {
            if let Some(rs) = rss.iter().find(|r| name(r) == n).cloned()
                && revision(&rs) <= max_old_revision
            {
                let mut upd = rs;
                set_annotation(&mut upd, REVISION, &(max_old_revision + 1).to_string());
                if let Some(u) = cx.update(ids.replicasets, upd, "", CONTROLLER_MANAGER) {
                    replace(&mut rss, u);
                }
            }
            Some(n)
        }
        None if paused => None,
        None => {
            let old_active: i64 = rss.iter().map(replicas).sum();
            let count = if rolling {
                (plan.desired + plan.surge - old_active)
                    .min(plan.desired)
                    .max(0)
            } else if old_active == 0 && old_pods(cx, &key.ns, &rss) == 0 {
                plan.desired
            } else {
                -1
            };
            if count < 0 {
                None
            } else {
                create_rs(
                    cx,
                    &d,
                    &template,
                    count,
                    max_old_revision + 1,
                    &plan,
                    &mut rss,
                )
            }
        }
    };
    if let Some(fresh) = cx.get(ids.deployments, &key.ns, &key.name) {
        d = fresh;
    }
    if let Some(n) = &new_name
        && let Some(rs) = rss.iter().find(|r| name(r) == n)
    {
        let rev = revision(rs).to_string();
        if text(
            &d,
            "/metadata/annotations/deployment.kubernetes.io~1revision",
        ) != Some(&rev)
        {
            set_annotation(&mut d, REVISION, &rev);
        }
    }

    if !paused {
        if rolling {
            roll(cx, &d, &plan, new_name.as_deref(), &mut rss);
        } else {
            recreate(cx, &d, &plan, new_name.as_deref(), &mut rss);
        }
        cleanup(cx, &d, new_name.as_deref(), &mut rss);
    }

    // Status.
    let new_rs = new_name
        .as_deref()
        .and_then(|n| rss.iter().find(|r| name(r) == n));
    let total_spec: i64 = rss.iter().map(replicas).sum();
    let available: i64 = rss.iter().map(|r| st(r, "availableReplicas")).sum();
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation(&d)));
    let nz = |m: &mut Map<String, Value>, k: &str, v: i64| {
        if v != 0 {
            m.insert(k.into(), json!(v));
        }
    };
    let total: i64 = rss.iter().map(|r| st(r, "replicas")).sum();
    let updated = new_rs.map_or(0, |r| st(r, "replicas"));
    let ready: i64 = rss.iter().map(|r| st(r, "readyReplicas")).sum();
    nz(&mut status, "replicas", total);
    nz(&mut status, "updatedReplicas", updated);
    nz(&mut status, "readyReplicas", ready);
    nz(&mut status, "availableReplicas", available);
    nz(
        &mut status,
        "unavailableReplicas",
        (total_spec - available).max(0),
    );
    let mut conds: Vec<Value> = old_status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let now = rfc3339(cx.now);
    if let Some(c) = d
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
    {
        conds = c.clone();
    }
    if available >= plan.desired - plan.unavailable.min(plan.desired) {
        set_condition(
            &mut conds,
            cond(
                "Available",
                true,
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now,
            ),
        );
    } else {
        set_condition(
            &mut conds,
            cond(
                "Available",
                false,
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now,
            ),
        );
    }
    let deadline = int(&d, "/spec/progressDeadlineSeconds");
    if let (Some(deadline), Some(rs_name)) = (deadline, new_name.as_deref()) {
        let complete =
            updated == plan.desired && total == plan.desired && available == plan.desired;
        let old = |k: &str| old_status.get(k).and_then(Value::as_i64).unwrap_or(0);
        let progressing = updated > old("updatedReplicas")
            || (total - updated) < (old("replicas") - old("updatedReplicas"))
            || ready > old("readyReplicas")
            || available > old("availableReplicas");
        let current = find(&conds, "Progressing").cloned();
        if complete {
            set_condition(
                &mut conds,
                cond(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                    &now,
                ),
            );
        } else if progressing {
            let mut c = cond(
                "Progressing",
                true,
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                &now,
            );
            if let Some(cur) = &current
                && cur.get("status") == Some(&json!("True"))
            {
                c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
            }
            conds.retain(|x| x.get("type") != Some(&json!("Progressing")));
            conds.push(c);
        } else if let Some(cur) = &current {
            let reason = cur.get("reason").and_then(Value::as_str).unwrap_or("");
            let from = cur
                .get("lastUpdateTime")
                .and_then(Value::as_str)
                .and_then(parse)
                .unwrap_or(cx.now);
            let due = from + deadline * SECOND;
            if reason != "NewReplicaSetAvailable" && reason != "ProgressDeadlineExceeded" {
                if cx.now > due {
                    set_condition(
                        &mut conds,
                        cond(
                            "Progressing",
                            false,
                            "ProgressDeadlineExceeded",
                            &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                            &now,
                        ),
                    );
                } else {
                    cx.after(due - cx.now + SECOND / 2, Ctl::Deployment, key.clone());
                }
            }
        }
    }
    if !conds.is_empty() {
        status.insert("conditions".into(), json!(conds));
    }
    if let Some(c) = old_status.get("collisionCount") {
        status.insert("collisionCount".into(), c.clone());
    }
    d.insert("status".into(), Value::Object(status));
    cx.update(ids.deployments, d, "status", CONTROLLER_MANAGER);
}

fn cond(ty: &str, ok: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": ty,
        "status": if ok { "True" } else { "False" },
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    })
}

fn find<'a>(conds: &'a [Value], ty: &str) -> Option<&'a Value> {
    conds.iter().find(|c| c.get("type") == Some(&json!(ty)))
}

/// `SetDeploymentCondition`: no change for the same status and reason;
/// the transition time kept for the same status; moved to the end.
fn set_condition(conds: &mut Vec<Value>, mut new: Value) {
    if let Some(cur) = find(conds, new["type"].as_str().unwrap_or("")) {
        if cur.get("status") == new.get("status") && cur.get("reason") == new.get("reason") {
            return;
        }
        if cur.get("status") == new.get("status") {
            new["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    conds.retain(|c| c.get("type") != new.get("type"));
    conds.push(new);
}

fn set_annotation(obj: &mut Map<String, Value>, k: &str, v: &str) {
    let meta = child(obj, "metadata");
    child(meta, "annotations").insert(k.into(), json!(v));
}

fn replace(rss: &mut [Map<String, Value>], rs: Map<String, Value>) {
    if let Some(slot) = rss.iter_mut().find(|r| name(r) == name(&rs)) {
        *slot = rs;
    }
}

/// Active pods of the given ReplicaSets.
fn old_pods(cx: &Ctx, ns: &str, rss: &[Map<String, Value>]) -> usize {
    rss.iter()
        .map(|r| {
            cx.owned(ids().pods, ns, uid(r))
                .iter()
                .filter(|p| super::replicaset::active(p))
                .count()
        })
        .sum()
}

fn create_rs(
    cx: &mut Ctx,
    d: &Map<String, Value>,
    template: &Value,
    count: i64,
    rev: i64,
    plan: &Plan,
    rss: &mut Vec<Map<String, Value>>,
) -> Option<String> {
    let ns = text(d, "/metadata/namespace").unwrap_or("").to_string();
    let collisions = int(d, "/status/collisionCount").unwrap_or(0);
    for extra in 0..5 {
        let hash = template_hash(template, collisions + extra);
        let rs_name = format!("{}-{hash}", name(d));
        if cx.get(ids().replicasets, &ns, &rs_name).is_some() {
            continue;
        }
        let mut t = template.clone();
        if let Some(tm) = t.as_object_mut() {
            let meta = child(tm, "metadata");
            child(meta, "labels").insert(HASH.into(), json!(hash));
        }
        let mut labels = t.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
        labels[HASH] = json!(hash);
        let mut annotations: Map<String, Value> = pointer(d, "/metadata/annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        annotations.retain(|k, _| {
            k != "kubectl.kubernetes.io/last-applied-configuration"
                && !k.starts_with("deployment.kubernetes.io/")
        });
        annotations.insert(DESIRED.into(), json!(plan.desired.to_string()));
        annotations.insert(MAX.into(), json!((plan.desired + plan.surge).to_string()));
        annotations.insert(REVISION.into(), json!(rev.to_string()));
        let mut selector = pointer(d, "/spec/selector").cloned().unwrap_or(json!({}));
        let mut ml = match_labels(Some(&selector));
        ml.insert(HASH.into(), json!(hash));
        selector["matchLabels"] = Value::Object(ml);
        let mut spec = json!({"replicas": count, "selector": selector, "template": t});
        if let Some(m) = int(d, "/spec/minReadySeconds") {
            spec["minReadySeconds"] = json!(m);
        }
        let rs = json!({
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [super::util::owner_ref(d)],
            },
            "spec": spec,
        });
        let Value::Object(rs) = rs else { return None };
        let created = cx.create(ids().replicasets, rs, CONTROLLER_MANAGER)?;
        if count > 0 {
            cx.event(
                d,
                false,
                "ScalingReplicaSet",
                &format!("Scaled up replica set {rs_name} from 0 to {count}"),
                COMPONENT,
            );
        }
        // The controller records the new revision and condition at once.
        let mut upd = d.clone();
        set_annotation(&mut upd, REVISION, &rev.to_string());
        let now = rfc3339(cx.now);
        let mut conds: Vec<Value> = pointer(d, "/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        set_condition(
            &mut conds,
            cond(
                "Progressing",
                true,
                "NewReplicaSetCreated",
                &format!("Created new replica set \"{rs_name}\""),
                &now,
            ),
        );
        if int(d, "/spec/progressDeadlineSeconds").is_some() {
            child(&mut upd, "status").insert("conditions".into(), json!(conds));
        }
        cx.update(ids().deployments, upd, "status", CONTROLLER_MANAGER);
        rss.push(created);
        return Some(rs_name);
    }
    None
}

/// Scales `rs` to `to` (with the replica annotations), emitting the event.
fn scale(
    cx: &mut Ctx,
    d: &Map<String, Value>,
    plan: &Plan,
    rss: &mut [Map<String, Value>],
    rs_name: &str,
    to: i64,
) {
    let Some(rs) = rss.iter().find(|r| name(r) == rs_name).cloned() else {
        return;
    };
    let from = replicas(&rs);
    let mut upd = rs;
    child(&mut upd, "spec").insert("replicas".into(), json!(to));
    set_annotation(&mut upd, DESIRED, &plan.desired.to_string());
    set_annotation(&mut upd, MAX, &(plan.desired + plan.surge).to_string());
    if let Some(u) = cx.update(ids().replicasets, upd, "", CONTROLLER_MANAGER) {
        replace(rss, u);
        if from != to {
            let verb = if to > from { "up" } else { "down" };
            cx.event(
                d,
                false,
                "ScalingReplicaSet",
                &format!("Scaled {verb} replica set {rs_name} from {from} to {to}"),
                COMPONENT,
            );
        }
    }
}

fn roll(
    cx: &mut Ctx,
    d: &Map<String, Value>,
    plan: &Plan,
    new_name: Option<&str>,
    rss: &mut [Map<String, Value>],
) {
    // Scale the new ReplicaSet up within the surge.
    if let Some(n) = new_name
        && let Some(new_rs) = rss.iter().find(|r| name(r) == n).cloned()
    {
        let cur = replicas(&new_rs);
        if cur > plan.desired {
            scale(cx, d, plan, rss, n, plan.desired);
        } else if cur < plan.desired {
            let total: i64 = rss.iter().map(replicas).sum();
            let max_total = plan.desired + plan.surge;
            if total < max_total {
                let up = (max_total - total).min(plan.desired - cur);
                scale(cx, d, plan, rss, n, cur + up);
            }
        }
    }
    // Scale old ones down while keeping the minimum available.
    let old_names: Vec<String> = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name)
        .map(|r| name(r).to_string())
        .collect();
    let old_total: i64 = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name)
        .map(replicas)
        .sum();
    if old_total == 0 {
        return;
    }
    let all: i64 = rss.iter().map(replicas).sum();
    let min_available = plan.desired - plan.unavailable;
    let new_unavailable = new_name
        .and_then(|n| rss.iter().find(|r| name(r) == n))
        .map_or(0, |r| replicas(r) - st(r, "availableReplicas"));
    let max_down = all - min_available - new_unavailable;
    if max_down <= 0 {
        return;
    }
    let mut done = 0;
    for n in &old_names {
        if done >= max_down {
            break;
        }
        let Some(rs) = rss.iter().find(|r| name(r) == n.as_str()).cloned() else {
            continue;
        };
        let (cur, avail) = (replicas(&rs), st(&rs, "availableReplicas"));
        if cur == 0 || cur <= avail {
            continue;
        }
        let down = (max_down - done).min(cur - avail);
        scale(cx, d, plan, rss, n, cur - down);
        done += down;
    }
    let available: i64 = rss.iter().map(|r| st(r, "availableReplicas")).sum();
    if available <= min_available {
        return;
    }
    let mut left = (available - min_available).min(max_down - done);
    for n in &old_names {
        if left <= 0 {
            break;
        }
        let Some(rs) = rss.iter().find(|r| name(r) == n.as_str()).cloned() else {
            continue;
        };
        let cur = replicas(&rs);
        if cur == 0 {
            continue;
        }
        let down = cur.min(left);
        scale(cx, d, plan, rss, n, cur - down);
        left -= down;
    }
}

fn recreate(
    cx: &mut Ctx,
    d: &Map<String, Value>,
    plan: &Plan,
    new_name: Option<&str>,
    rss: &mut [Map<String, Value>],
) {
    let old: Vec<String> = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name && replicas(r) > 0)
        .map(|r| name(r).to_string())
        .collect();
    for n in &old {
        scale(cx, d, plan, rss, n, 0);
    }
    let ns = text(d, "/metadata/namespace").unwrap_or("").to_string();
    let olds: Vec<Map<String, Value>> = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name)
        .cloned()
        .collect();
    if old_pods(cx, &ns, &olds) > 0 {
        return;
    }
    if let Some(n) = new_name
        && let Some(rs) = rss.iter().find(|r| name(r) == n)
        && replicas(rs) != plan.desired
    {
        scale(cx, d, plan, rss, n, plan.desired);
    }
}

/// Deletes old, empty ReplicaSets beyond revisionHistoryLimit.
fn cleanup(
    cx: &mut Ctx,
    d: &Map<String, Value>,
    new_name: Option<&str>,
    rss: &mut Vec<Map<String, Value>>,
) {
    let limit = int(d, "/spec/revisionHistoryLimit").unwrap_or(10).max(0) as usize;
    let mut empty: Vec<(i64, String)> = rss
        .iter()
        .filter(|r| Some(name(r)) != new_name && replicas(r) == 0 && st(r, "replicas") == 0)
        .map(|r| (revision(r), name(r).to_string()))
        .collect();
    let old_count = rss.iter().filter(|r| Some(name(r)) != new_name).count();
    if old_count <= limit {
        return;
    }
    empty.sort();
    let ns = text(d, "/metadata/namespace").unwrap_or("").to_string();
    for (_, n) in empty.into_iter().take(old_count - limit) {
        cx.delete(ids().replicasets, &ns, &n);
        rss.retain(|r| name(r) != n);
    }
}

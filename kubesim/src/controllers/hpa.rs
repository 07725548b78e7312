//! The HorizontalPodAutoscaler and disruption controllers.
//!
//! With no metrics server (as on the recorded cluster, fixture 22), an
//! HPA only keeps its target within [minReplicas, maxReplicas], scaling
//! it through `/scale` as `kube-controller-manager` (so the field
//! manager of `spec.replicas` changes hands as on a cluster), and reports
//! ScalingActive False / FailedGetResourceMetric otherwise. A
//! PodDisruptionBudget reports its healthy, desired and expected pods.

use serde_json::{Map, Value, json};

use super::clock::rfc3339;
use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::replicaset::{active, ready};
use super::util::{
    child, generation, ids, int, int_or_percent, labels_match, match_labels, name, pointer, text,
};

/// Conditions by type, keeping the transition time of an unchanged status.
fn conditions(old: Option<&Value>, new: Vec<Value>) -> Value {
    let old = old.and_then(Value::as_array).cloned().unwrap_or_default();
    let out: Vec<Value> = new
        .into_iter()
        .map(|mut c| {
            if let Some(o) = old.iter().find(|o| o.get("type") == c.get("type"))
                && o.get("status") == c.get("status")
                && o.get("reason") == c.get("reason")
            {
                c["lastTransitionTime"] = o["lastTransitionTime"].clone();
            }
            c
        })
        .collect();
    json!(out)
}

fn cond(ty: &str, ok: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": ty, "status": if ok { "True" } else { "False" }, "lastTransitionTime": now, "reason": reason, "message": message})
}

pub fn reconcile_hpas(cx: &mut Ctx, ns: &str) {
    let ids = ids();
    let now = rfc3339(cx.now);
    for hpa in cx.list(ids.hpas, ns) {
        if super::util::deleting(&hpa) {
            continue;
        }
        let kind = text(&hpa, "/spec/scaleTargetRef/kind").unwrap_or("");
        let target_name = text(&hpa, "/spec/scaleTargetRef/name")
            .unwrap_or("")
            .to_string();
        let (res, plural) = match kind {
            "Deployment" => (ids.deployments, "deployments"),
            "StatefulSet" => (ids.statefulsets, "statefulsets"),
            "ReplicaSet" => (ids.replicasets, "replicasets"),
            _ => continue,
        };
        let min = int(&hpa, "/spec/minReplicas").unwrap_or(1);
        let max = int(&hpa, "/spec/maxReplicas").unwrap_or(min);
        let old_conds = pointer(&hpa, "/status/conditions").cloned();
        let mut status = Map::new();
        if let Some(g) = pointer(&hpa, "/status/lastScaleTime") {
            status.insert("lastScaleTime".into(), g.clone());
        }
        let Some(target) = cx.get(res, ns, &target_name) else {
            status.insert("currentReplicas".into(), json!(0));
            status.insert("desiredReplicas".into(), json!(0));
            let msg = format!(
                "the HPA controller was unable to get the target's current scale: {plural}.apps \"{target_name}\" not found"
            );
            status.insert(
                "conditions".into(),
                conditions(
                    old_conds.as_ref(),
                    vec![cond("AbleToScale", false, "FailedGetScale", &msg, &now)],
                ),
            );
            let mut new = hpa.clone();
            new.insert("status".into(), Value::Object(status));
            cx.update(ids.hpas, new, "status", CONTROLLER_MANAGER);
            continue;
        };
        let current = int(&target, "/spec/replicas").unwrap_or(1);
        let (desired, reason) = if current == 0 && min != 0 {
            (0, None)
        } else if current > max {
            (
                max,
                Some("Current number of replicas above Spec.MaxReplicas"),
            )
        } else if current < min {
            (
                min,
                Some("Current number of replicas below Spec.MinReplicas"),
            )
        } else {
            (0, None)
        };
        let conds = if let Some(reason) = reason {
            let mut t = target.clone();
            child(&mut t, "spec").insert("replicas".into(), json!(desired));
            if cx.update(res, t, "scale", CONTROLLER_MANAGER).is_some() {
                cx.event(
                    &hpa,
                    false,
                    "SuccessfulRescale",
                    &format!("New size: {desired}; reason: {reason}"),
                    "horizontal-pod-autoscaler",
                );
                status.insert("lastScaleTime".into(), json!(now));
            }
            vec![cond(
                "AbleToScale",
                true,
                "SucceededRescale",
                &format!("the HPA controller was able to update the target scale to {desired}"),
                &now,
            )]
        } else if current == 0 && min != 0 {
            vec![
                cond(
                    "AbleToScale",
                    true,
                    "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale",
                    &now,
                ),
                cond(
                    "ScalingActive",
                    false,
                    "ScalingDisabled",
                    "scaling is disabled since the replica count of the target is zero",
                    &now,
                ),
            ]
        } else {
            vec![
                cond(
                    "AbleToScale",
                    true,
                    "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale",
                    &now,
                ),
                cond(
                    "ScalingActive",
                    false,
                    "FailedGetResourceMetric",
                    "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)",
                    &now,
                ),
            ]
        };
        status.insert("currentReplicas".into(), json!(current));
        status.insert("desiredReplicas".into(), json!(desired));
        if reason.is_none() {
            status.insert("currentMetrics".into(), json!([{"type": ""}]));
        }
        status.insert("conditions".into(), conditions(old_conds.as_ref(), conds));
        if let Some(fresh) = cx.get(ids.hpas, ns, name(&hpa)) {
            let mut new = fresh;
            new.insert("status".into(), Value::Object(status));
            cx.update(ids.hpas, new, "status", CONTROLLER_MANAGER);
        }
    }
}

pub fn reconcile_pdbs(cx: &mut Ctx, ns: &str) {
    let ids = ids();
    let pdbs = cx.list(ids.pdbs, ns);
    if pdbs.is_empty() {
        return;
    }
    let pods: Vec<Map<String, Value>> = cx.list(ids.pods, ns).into_iter().filter(active).collect();
    let now = rfc3339(cx.now);
    for pdb in pdbs {
        let want = match_labels(pointer(&pdb, "/spec/selector"));
        let matching: Vec<&Map<String, Value>> = pods
            .iter()
            .filter(|p| !want.is_empty() && labels_match(pointer(p, "/metadata/labels"), &want))
            .collect();
        let expected = matching.len() as i64;
        let healthy = matching.iter().filter(|p| ready(p)).count() as i64;
        let desired = if let Some(m) = pointer(&pdb, "/spec/minAvailable") {
            int_or_percent(Some(m), expected, true, "0")
        } else if let Some(m) = pointer(&pdb, "/spec/maxUnavailable") {
            (expected - int_or_percent(Some(m), expected, true, "0")).max(0)
        } else {
            0
        };
        let allowed = (healthy - desired).max(0);
        let g = generation(&pdb);
        let mut c = if allowed > 0 {
            cond("DisruptionAllowed", true, "SufficientPods", "", &now)
        } else {
            cond("DisruptionAllowed", false, "InsufficientPods", "", &now)
        };
        if let Some(o) = c.as_object_mut() {
            let mut ordered = Map::new();
            for k in ["type", "status"] {
                ordered.insert(k.into(), o[k].clone());
            }
            ordered.insert("observedGeneration".into(), json!(g));
            for k in ["lastTransitionTime", "reason", "message"] {
                ordered.insert(k.into(), o[k].clone());
            }
            *o = ordered;
        }
        let status = json!({
            "observedGeneration": g,
            "disruptionsAllowed": allowed,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "conditions": conditions(pointer(&pdb, "/status/conditions"), vec![c]),
        });
        let mut new = pdb;
        new.insert("status".into(), status);
        cx.update(ids.pdbs, new, "status", CONTROLLER_MANAGER);
    }
}

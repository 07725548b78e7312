//! The scheduler: binds a pod to the node once its claims are bound
//! (binding a WaitForFirstConsumer claim for it), otherwise marks it
//! Unschedulable with a FailedScheduling Event.

use serde_json::{Map, Value, json};

use super::super::clock::rfc3339;
use super::super::ctx::{Ctx, SCHEDULER};
use super::super::util::{child, condition, ids, name, pointer, text};
use super::NODE;

/// Binds `pod` to the node if its claims allow; the updated pod.
pub(super) fn schedule(cx: &mut Ctx, pod: &Map<String, Value>) -> Option<Map<String, Value>> {
    let ns = text(pod, "/metadata/namespace").unwrap_or("").to_string();
    let claims: Vec<String> = pointer(pod, "/spec/volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut problem = None;
    for c in &claims {
        match cx.get(ids().pvcs, &ns, c) {
            None => {
                problem = Some(format!("persistentvolumeclaim \"{c}\" not found"));
            }
            Some(pvc) if text(&pvc, "/status/phase") == Some("Bound") => {}
            Some(pvc) => {
                if super::super::volumes::waits_for_consumer(cx, &pvc) {
                    super::super::volumes::bind(cx, pvc, Some(NODE));
                } else {
                    problem = Some("pod has unbound immediate PersistentVolumeClaims".to_string());
                }
            }
        }
    }
    if let Some(p) = problem {
        let message = format!(
            "0/1 nodes are available: {p}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        );
        let already = condition(pod, "PodScheduled")
            .is_some_and(|c| c.get("message").and_then(Value::as_str) == Some(&message));
        if !already {
            let mut new = pod.clone();
            let st = child(&mut new, "status");
            st.insert("phase".into(), json!("Pending"));
            st.insert(
                "conditions".into(),
                json!([{
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": null,
                    "lastTransitionTime": rfc3339(cx.now),
                    "reason": "Unschedulable",
                    "message": message
                }]),
            );
            if let Some(p) = cx.update(ids().pods, new, "status", SCHEDULER) {
                cx.scheduler_event(&p, true, "FailedScheduling", "Scheduling", &message);
            }
        }
        return None;
    }
    let mut new = pod.clone();
    child(&mut new, "spec").insert("nodeName".into(), json!(NODE));
    // The binding; the kubelet's first status write (in the same
    // reconcile) carries PodScheduled.
    let p = cx.update(ids().pods, new, "", SCHEDULER)?;
    let msg = format!("Successfully assigned {ns}/{} to {NODE}", name(&p));
    cx.scheduler_event(&p, false, "Scheduled", "Binding", &msg);
    Some(p)
}

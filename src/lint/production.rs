//! SPEC §3's production rules, for prod only: every Deployment runs at
//! least three replicas (its HPA minimum when autoscaled), a
//! PodDisruptionBudget covers it, and pod anti-affinity spreads it across
//! nodes. A singleton (one replica, `Recreate`: celery-beat, which must
//! never run twice) is exempt by design; StatefulSets (the single-instance
//! databases) are out of scope.

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::pods::PodTemplate;
use super::selectors::selects;

const HOSTNAME: &str = "kubernetes.io/hostname";

pub fn check(ctx: &Context, out: &mut Findings) {
    if !ctx.options.production {
        return;
    }
    for pod in ctx.pods.iter().filter(|p| p.object.kind() == "Deployment") {
        let o = pod.object;
        let at = Subject::object(o, pod.index);
        let replicas = o.value.pointer("/spec/replicas").and_then(Value::as_i64);
        let singleton = replicas == Some(1)
            && o.value
                .pointer("/spec/strategy/type")
                .and_then(Value::as_str)
                == Some("Recreate");
        if singleton {
            continue;
        }
        let hpa = ctx.objects.iter().find(|h| {
            h.kind() == "HorizontalPodAutoscaler"
                && h.namespace() == o.namespace()
                && h.str_at("/spec/scaleTargetRef/kind") == "Deployment"
                && h.str_at("/spec/scaleTargetRef/name") == o.name()
        });
        let (count, path) = match hpa {
            Some(h) => (
                h.value
                    .pointer("/spec/minReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
                "spec.replicas (HPA minReplicas)",
            ),
            None => (replicas.unwrap_or(1), "spec.replicas"),
        };
        if count < 3 {
            out.error(
                "policy/production",
                &at,
                path,
                format!("runs {count} replica(s) in production, at least 3 are required"),
                "raise replicas (and the HPA's minReplicas) to 3 or more in releases/prod.yaml",
            );
        }
        let budget = ctx.objects.iter().any(|p| {
            p.kind() == "PodDisruptionBudget"
                && p.namespace() == o.namespace()
                && p.value
                    .pointer("/spec/selector")
                    .is_some_and(|s| selects(s, &pod.labels))
        });
        if !budget {
            out.error(
                "policy/production",
                &at,
                "spec.template.metadata.labels",
                "no PodDisruptionBudget covers these pods",
                "enable <component>.pdb.enabled in releases/prod.yaml",
            );
        }
        if !spread(pod) {
            out.error(
                "policy/production",
                &at,
                "spec.template.spec.affinity.podAntiAffinity",
                format!("no pod anti-affinity on {HOSTNAME} that matches these pods: replicas may share a node"),
                "set podAntiAffinity: true in releases/prod.yaml",
            );
        }
    }
}

/// Whether an anti-affinity term on the hostname selects the pod's own labels.
fn spread(pod: &PodTemplate) -> bool {
    let Some(anti) = pod.spec.pointer("/affinity/podAntiAffinity") else {
        return false;
    };
    let required = anti
        .get("requiredDuringSchedulingIgnoredDuringExecution")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let preferred = anti
        .get("preferredDuringSchedulingIgnoredDuringExecution")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("podAffinityTerm"));
    required.chain(preferred).any(|term| {
        term.get("topologyKey").and_then(Value::as_str) == Some(HOSTNAME)
            && term
                .get("labelSelector")
                .is_some_and(|s| selects(s, &pod.labels))
    })
}

//! SPEC §3's network isolation: every pod of the render is selected by a
//! NetworkPolicy that restricts its ingress and one that restricts its
//! egress (the replaced chart let every pod reach the database and had no
//! egress rules). A warning, not an error: a cluster may enforce isolation
//! by other means, which lint cannot see.

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::selectors::selects;

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        for direction in ["Ingress", "Egress"] {
            let covered = ctx.objects.iter().any(|np| {
                np.kind() == "NetworkPolicy"
                    && np.namespace() == pod.namespace()
                    && np
                        .value
                        .pointer("/spec/podSelector")
                        .is_some_and(|s| selects(s, &pod.labels))
                    && policy_types(&np.value).contains(&direction)
            });
            if !covered {
                out.warning(
                    "policy/network-policy",
                    &at,
                    &pod.labels_path(),
                    format!(
                        "no NetworkPolicy restricts {} of these pods",
                        direction.to_ascii_lowercase()
                    ),
                    "keep networkPolicy.enabled: true (default deny plus the platform's flows)",
                );
            }
        }
    }
}

/// The directions a policy restricts: its policyTypes, or Ingress (and
/// Egress when it has egress rules) when unset, as the API server defaults.
fn policy_types(np: &Value) -> Vec<&str> {
    match np.pointer("/spec/policyTypes").and_then(Value::as_array) {
        Some(types) => types.iter().filter_map(Value::as_str).collect(),
        None => {
            let mut t = vec!["Ingress"];
            if np.pointer("/spec/egress").is_some() {
                t.push("Egress");
            }
            t
        }
    }
}

//! Enum strings (`ClusterIP`, `IfNotPresent`, `RuntimeDefault`): plain text
//! in k8s-openapi, so `ClusterIp` deserializes fine and fails only on the
//! server. The table lists the fields and their values; the fix names the
//! right spelling when only the case is wrong.

use serde_json::Value;

use super::Context;
use super::finding::Findings;
use super::path::{Seg, ends_with, render, walk_scalars};

/// (kind or any, path suffix, allowed values); the first matching row wins.
type Row = (
    Option<&'static str>,
    &'static [&'static str],
    &'static [&'static str],
);

const NODE_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

const TABLE: &[Row] = &[
    (
        Some("Service"),
        &["spec", "type"],
        &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
    ),
    (
        Some("Service"),
        &["spec", "externalTrafficPolicy"],
        &["Cluster", "Local"],
    ),
    (
        Some("Service"),
        &["spec", "internalTrafficPolicy"],
        &["Cluster", "Local"],
    ),
    (
        Some("Service"),
        &["spec", "sessionAffinity"],
        &["ClientIP", "None"],
    ),
    (
        Some("Service"),
        &["spec", "ipFamilyPolicy"],
        &["SingleStack", "PreferDualStack", "RequireDualStack"],
    ),
    (None, &["ports", "[]", "protocol"], &["TCP", "UDP", "SCTP"]),
    (
        None,
        &["imagePullPolicy"],
        &["Always", "IfNotPresent", "Never"],
    ),
    (
        None,
        &["spec", "restartPolicy"],
        &["Always", "OnFailure", "Never"],
    ),
    (
        None,
        &["terminationMessagePolicy"],
        &["File", "FallbackToLogsOnError"],
    ),
    (
        None,
        &["dnsPolicy"],
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    ),
    (
        None,
        &["seccompProfile", "type"],
        &["RuntimeDefault", "Unconfined", "Localhost"],
    ),
    (
        None,
        &["accessModes", "[]"],
        &[
            "ReadWriteOnce",
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOncePod",
        ],
    ),
    (None, &["volumeMode"], &["Filesystem", "Block"]),
    (
        None,
        &["pathType"],
        &["Exact", "Prefix", "ImplementationSpecific"],
    ),
    (
        None,
        &["tolerations", "[]", "operator"],
        &["Exists", "Equal"],
    ),
    (
        None,
        &["tolerations", "[]", "effect"],
        &["NoSchedule", "PreferNoSchedule", "NoExecute"],
    ),
    (
        None,
        &[
            "nodeSelectorTerms",
            "[]",
            "matchExpressions",
            "[]",
            "operator",
        ],
        NODE_OPERATORS,
    ),
    (
        None,
        &["nodeSelectorTerms", "[]", "matchFields", "[]", "operator"],
        NODE_OPERATORS,
    ),
    (
        None,
        &["preference", "matchExpressions", "[]", "operator"],
        NODE_OPERATORS,
    ),
    (
        None,
        &["preference", "matchFields", "[]", "operator"],
        NODE_OPERATORS,
    ),
    (
        None,
        &["matchExpressions", "[]", "operator"],
        &["In", "NotIn", "Exists", "DoesNotExist"],
    ),
    (
        Some("Deployment"),
        &["spec", "strategy", "type"],
        &["RollingUpdate", "Recreate"],
    ),
    (
        Some("StatefulSet"),
        &["spec", "updateStrategy", "type"],
        &["RollingUpdate", "OnDelete"],
    ),
    (
        Some("DaemonSet"),
        &["spec", "updateStrategy", "type"],
        &["RollingUpdate", "OnDelete"],
    ),
    (
        Some("StatefulSet"),
        &["spec", "podManagementPolicy"],
        &["OrderedReady", "Parallel"],
    ),
    (
        Some("NetworkPolicy"),
        &["spec", "policyTypes", "[]"],
        &["Ingress", "Egress"],
    ),
    (
        Some("HorizontalPodAutoscaler"),
        &["spec", "metrics", "[]", "type"],
        &[
            "Resource",
            "Pods",
            "Object",
            "External",
            "ContainerResource",
        ],
    ),
    (
        Some("HorizontalPodAutoscaler"),
        &["target", "type"],
        &["Utilization", "Value", "AverageValue"],
    ),
    (
        Some("HorizontalPodAutoscaler"),
        &["behavior", "*", "selectPolicy"],
        &["Max", "Min", "Disabled"],
    ),
    (
        Some("HorizontalPodAutoscaler"),
        &["policies", "[]", "type"],
        &["Pods", "Percent"],
    ),
    (
        Some("CronJob"),
        &["spec", "concurrencyPolicy"],
        &["Allow", "Forbid", "Replace"],
    ),
    (
        Some("Job"),
        &["spec", "completionMode"],
        &["NonIndexed", "Indexed"],
    ),
    (
        Some("PodDisruptionBudget"),
        &["spec", "unhealthyPodEvictionPolicy"],
        &["IfHealthyBudget", "AlwaysAllow"],
    ),
];

pub fn check(ctx: &Context, out: &mut Findings) {
    // A Secret holds no quantity or enum, and its data must never be quoted.
    for (o, at) in ctx.each().filter(|(o, _)| o.kind() != "Secret") {
        let kind = o.kind();
        walk_scalars(&o.value, &mut |segs: &[Seg], v: &Value| {
            let Some(text) = v.as_str() else { return };
            let Some((_, _, allowed)) = TABLE
                .iter()
                .find(|(k, p, _)| k.is_none_or(|k| k == kind) && ends_with(segs, p))
            else {
                return;
            };
            if allowed.contains(&text) {
                return;
            }
            let fix = match allowed.iter().find(|a| a.eq_ignore_ascii_case(text)) {
                Some(right) => format!("write `{right}` (these values are case-sensitive)"),
                None => format!("use one of: {}", allowed.join(", ")),
            };
            out.error(
                "semantics/enum",
                &at,
                &render(segs),
                format!("`{text}` is not a valid value here"),
                fix,
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::testing::{keys, lint_values};
    use serde_json::json;

    #[test]
    fn wrong_case_is_named_with_the_right_spelling() {
        let findings = lint_values(
            vec![
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
                        "spec": {"type": "ClusterIp", "ports": [{"port": 80, "protocol": "tcp"}]}}),
            ],
            &Options::default(),
        );
        let enums: Vec<_> = findings
            .iter()
            .filter(|f| f.rule == "semantics/enum")
            .collect();
        assert_eq!(enums.len(), 2, "{:?}", keys(&findings));
        assert_eq!(enums[0].path, "spec.type");
        assert!(enums[0].fix.contains("`ClusterIP`"));
        assert_eq!(enums[1].path, "spec.ports[0].protocol");
    }
}

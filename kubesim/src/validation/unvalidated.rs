//! Fields kubesim does not validate yet, refused rather than silently
//! accepted: a real server may refuse a value kubesim would let through,
//! so kubesim refuses any value of these fields except the neutral ones
//! (absent, empty, or the value the real server sets itself, such as
//! `priority: 0` or `hostUsers: true`). Each refusal is a
//! `FieldValueForbidden` cause naming the field; extending
//! `kubesim/src/validation` with the real rule removes the entry here.

use serde_json::Value;

use crate::error::Cause;

pub const MESSAGE: &str = "kubesim does not validate this field yet (a real server may accept it): remove it or extend kubesim/src/validation";

/// The cause refusing `field`.
pub fn refuse(field: &str) -> Cause {
    Cause::forbidden(field, MESSAGE)
}

/// Which values of a refused field are accepted anyway.
#[derive(Clone, Copy)]
enum Neutral {
    /// Absent, null, or an empty string, list or object.
    Empty,
    /// As [`Neutral::Empty`], or one of these strings.
    Str(&'static [&'static str]),
    /// Absent, null or this integer.
    Int(i64),
    /// Absent, null or this boolean.
    Bool(bool),
    /// Absent, null, or an object whose only field `name` is one of these.
    Named(&'static [&'static str]),
    /// Absent, null, or a list of these strings only.
    List(&'static [&'static str]),
}

impl Neutral {
    fn accepts(self, v: &Value) -> bool {
        let empty = match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        };
        empty
            || match self {
                Neutral::Empty => false,
                Neutral::Str(ok) => v.as_str().is_some_and(|s| ok.contains(&s)),
                Neutral::Int(n) => v.as_i64() == Some(n),
                Neutral::Bool(b) => v.as_bool() == Some(b),
                Neutral::List(ok) => v.as_array().is_some_and(|a| {
                    a.iter()
                        .all(|x| x.as_str().is_some_and(|s| ok.contains(&s)))
                }),
                Neutral::Named(ok) => v.as_object().is_some_and(|m| {
                    m.len() == 1
                        && m.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| ok.contains(&n))
                }),
            }
    }
}

use Neutral::{Bool, Empty, Int, List, Named, Str};

/// Refused paths under a pod spec (`[*]`: each item of a list).
static POD_SPEC: &[(&str, Neutral)] = &[
    ("hostAliases", Empty),
    ("dnsConfig", Empty),
    ("overhead", Empty),
    ("ephemeralContainers", Empty),
    // Set by the Priority admission plugin (0 without a class), which
    // refuses any other value sent.
    ("priority", Int(0)),
    ("priorityClassName", Empty),
    ("preemptionPolicy", Str(&["PreemptLowerPriority"])),
    ("runtimeClassName", Empty),
    ("schedulingGates", Empty),
    ("resourceClaims", Empty),
    // Pod-level resources: alpha in 1.32, dropped by a real server.
    ("resources", Empty),
    ("hostUsers", Bool(true)),
    ("os", Named(&["linux"])),
    ("securityContext.windowsOptions", Empty),
    ("securityContext.seLinuxOptions", Empty),
    ("securityContext.seLinuxChangePolicy", Empty),
    (
        "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[*].matchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[*].mismatchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[*].podAffinityTerm.matchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[*].podAffinityTerm.mismatchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[*].matchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[*].mismatchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[*].podAffinityTerm.matchLabelKeys",
        Empty,
    ),
    (
        "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[*].podAffinityTerm.mismatchLabelKeys",
        Empty,
    ),
];

/// Refused paths under each init and regular container.
static CONTAINER: &[(&str, Neutral)] = &[
    ("resizePolicy", Empty),
    ("volumeDevices", Empty),
    ("ports[*].hostIP", Empty),
    ("resources.claims", Empty),
    ("securityContext.windowsOptions", Empty),
    ("securityContext.seLinuxOptions", Empty),
    ("volumeMounts[*].subPathExpr", Empty),
    ("volumeMounts[*].mountPropagation", Str(&["None"])),
    ("volumeMounts[*].recursiveReadOnly", Str(&["Disabled"])),
];

/// Refused paths and the values accepted anyway.
type Rows = &'static [(&'static str, Neutral)];

/// Refused paths of other kinds' objects: (group, kind, rows).
static OBJECTS: &[(&str, &str, Rows)] = &[
    (
        "",
        "Service",
        &[
            ("spec.externalIPs", Empty),
            ("spec.loadBalancerSourceRanges", Empty),
            ("spec.loadBalancerIP", Empty),
            ("spec.loadBalancerClass", Empty),
            ("spec.healthCheckNodePort", Int(0)),
            ("spec.trafficDistribution", Empty),
            // What the real server (and kubesim) sets on a single-stack
            // cluster.
            ("spec.ipFamilies", List(&["IPv4"])),
            ("spec.ipFamilyPolicy", Str(&["SingleStack"])),
        ],
    ),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        &[
            ("spec.ingress[*].from[*].ipBlock", Empty),
            ("spec.egress[*].to[*].ipBlock", Empty),
            ("spec.ingress[*].ports[*].endPort", Empty),
            ("spec.egress[*].ports[*].endPort", Empty),
        ],
    ),
    (
        "",
        "PersistentVolumeClaim",
        &[
            ("spec.dataSource", Empty),
            ("spec.dataSourceRef", Empty),
            ("spec.selector", Empty),
            ("spec.volumeAttributesClassName", Empty),
        ],
    ),
    (
        "batch",
        "Job",
        &[
            ("spec.podFailurePolicy", Empty),
            ("spec.successPolicy", Empty),
            ("spec.backoffLimitPerIndex", Empty),
            ("spec.maxFailedIndexes", Empty),
            ("spec.managedBy", Str(&["kubernetes.io/job-controller"])),
            ("spec.manualSelector", Bool(false)),
        ],
    ),
    (
        "batch",
        "CronJob",
        &[
            ("spec.timeZone", Empty),
            ("spec.jobTemplate.spec.podFailurePolicy", Empty),
            ("spec.jobTemplate.spec.successPolicy", Empty),
            ("spec.jobTemplate.spec.backoffLimitPerIndex", Empty),
            ("spec.jobTemplate.spec.maxFailedIndexes", Empty),
            (
                "spec.jobTemplate.spec.managedBy",
                Str(&["kubernetes.io/job-controller"]),
            ),
            ("spec.jobTemplate.spec.manualSelector", Bool(false)),
        ],
    ),
    (
        "apps",
        "StatefulSet",
        &[
            ("spec.ordinals", Empty),
            ("spec.updateStrategy.rollingUpdate.maxUnavailable", Empty),
        ],
    ),
];

/// Refusals for the fields of `obj` (of `group`/`kind`) outside pod specs.
pub fn object(group: &str, kind: &str, obj: &Value, out: &mut Vec<Cause>) {
    for (g, k, rows) in OBJECTS {
        if *g == group && *k == kind {
            table(obj, "", rows, out);
        }
    }
}

/// The volume sources kubesim validates; any other is refused.
pub const VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "secret",
    "projected",
    "downwardAPI",
    "emptyDir",
    "persistentVolumeClaim",
    "hostPath",
];

/// The projected sources kubesim validates.
pub const PROJECTED_SOURCES: &[&str] = &["configMap", "secret", "downwardAPI"];

/// Refusals for the pod spec at `prefix`.
pub fn pod_spec(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) {
    let Some(spec) = spec else { return };
    table(spec, prefix, POD_SPEC, out);
    for list in ["initContainers", "containers"] {
        for (i, c) in super::fields::items(Some(spec), list).iter().enumerate() {
            table(c, &format!("{prefix}.{list}[{i}]"), CONTAINER, out);
        }
    }
}

fn table(v: &Value, prefix: &str, rows: &[(&str, Neutral)], out: &mut Vec<Cause>) {
    for (path, neutral) in rows {
        let segs: Vec<&str> = path.split('.').collect();
        walk(v, &segs, prefix, &mut |field, x| {
            if !neutral.accepts(x) {
                out.push(refuse(field.trim_start_matches('.')));
            }
        });
    }
}

/// A CronJob schedule kubesim can vouch for: a macro (`@daily`...) or
/// five fields of numbers, `*`, ranges, steps and lists (names such as
/// `MON` or `JAN` are not checked). Anything else is refused as not
/// validated: the real server parses it with robfig/cron.
pub fn schedule(obj: &Value, out: &mut Vec<Cause>) {
    let Some(s) = obj.pointer("/spec/schedule").and_then(Value::as_str) else {
        return;
    };
    if s.is_empty() {
        return;
    }
    const MACROS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    let fields: Vec<&str> = s.split_whitespace().collect();
    let number = |x: &str, (lo, hi): (u32, u32)| {
        !x.is_empty()
            && x.bytes().all(|b| b.is_ascii_digit())
            && x.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    let part_ok = |p: &str, r: (u32, u32)| {
        let (base, step) = match p.split_once('/') {
            Some((b, st)) => (b, Some(st)),
            None => (p, None),
        };
        let step_ok = step
            .is_none_or(|st| !st.is_empty() && st.bytes().all(|b| b.is_ascii_digit()) && st != "0");
        let base_ok = base == "*"
            || base == "?"
            || match base.split_once('-') {
                Some((a, b)) => {
                    number(a, r) && number(b, r) && a.parse::<u32>().ok() <= b.parse::<u32>().ok()
                }
                None => number(base, r),
            };
        step_ok && base_ok
    };
    let ok = MACROS.contains(&s.trim())
        || (fields.len() == 5
            && fields
                .iter()
                .zip(RANGES)
                .all(|(f, r)| f.split(',').all(|p| part_ok(p, r))));
    if !ok {
        out.push(refuse("spec.schedule"));
    }
}

/// Visits the values at `segs` under `v` (a `name[*]` segment: each item).
fn walk(v: &Value, segs: &[&str], path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    let Some((seg, rest)) = segs.split_first() else {
        visit(path, v);
        return;
    };
    if let Some(list) = seg.strip_suffix("[*]") {
        for (i, item) in super::fields::items(Some(v), list).iter().enumerate() {
            walk(item, rest, &format!("{path}.{list}[{i}]"), visit);
        }
    } else if let Some(x) = v.get(*seg) {
        walk(x, rest, &format!("{path}.{seg}"), visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(spec: Value) -> Vec<String> {
        let mut out = Vec::new();
        pod_spec(Some(&spec), "spec", &mut out);
        for c in &out {
            assert_eq!(c.reason, "FieldValueForbidden");
            assert_eq!(c.message, format!("Forbidden: {MESSAGE}"));
        }
        out.into_iter().map(|c| c.field.unwrap()).collect()
    }

    #[test]
    fn schedules_kubesim_cannot_vouch_for_are_refused() {
        let check = |s: &str| {
            let mut out = Vec::new();
            schedule(&json!({"spec": {"schedule": s}}), &mut out);
            out.into_iter()
                .map(|c| c.field.unwrap())
                .collect::<Vec<_>>()
        };
        for ok in [
            "*/5 * * * *",
            "0 3 * * 1-5",
            "15,45 0-23/2 1 1,6 0",
            "@daily",
            "@hourly",
        ] {
            assert_eq!(check(ok), Vec::<String>::new(), "{ok}");
        }
        for bad in [
            "every day",
            "* * * *",
            "60 * * * *",
            "0 0 * * MON",
            "TZ=UTC 0 0 * * *",
            "*/0 * * * *",
        ] {
            assert_eq!(check(bad), ["spec.schedule"], "{bad}");
        }
    }

    #[test]
    fn other_kinds_refuse_their_unvalidated_fields() {
        let mut out = Vec::new();
        let svc = json!({"spec": {"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "healthCheckNodePort": 0, "externalIPs": []}});
        object("", "Service", &svc, &mut out);
        assert!(out.is_empty());
        let svc = json!({"spec": {"ipFamilies": ["IPv4", "IPv6"], "externalIPs": ["1.2.3.4"]}});
        object("", "Service", &svc, &mut out);
        let np = json!({"spec": {"egress": [{"to": [{"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}});
        object("networking.k8s.io", "NetworkPolicy", &np, &mut out);
        assert_eq!(
            out.into_iter()
                .map(|c| c.field.unwrap())
                .collect::<Vec<_>>(),
            [
                "spec.externalIPs",
                "spec.ipFamilies",
                "spec.egress[0].to[1].ipBlock"
            ]
        );
    }

    #[test]
    fn neutral_values_pass() {
        let spec = json!({"priority": 0, "preemptionPolicy": "PreemptLowerPriority",
            "hostUsers": true, "os": {"name": "linux"}, "hostAliases": [], "dnsConfig": null,
            "securityContext": {"seLinuxOptions": {}},
            "containers": [{"name": "a", "image": "b", "resizePolicy": [],
                "volumeMounts": [{"name": "v", "mountPath": "/v", "mountPropagation": "None",
                    "recursiveReadOnly": "Disabled"}]}]});
        assert_eq!(refused(spec), Vec::<String>::new());
    }

    #[test]
    fn unvalidated_values_are_refused_with_their_path() {
        let spec = json!({"priority": 1000, "hostUsers": false, "os": {"name": "windows"},
            "dnsConfig": {"nameservers": ["1.1.1.1"]},
            "securityContext": {"windowsOptions": {"runAsUserName": "x"}},
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "zone", "matchLabelKeys": ["pod-template-hash"]}]}},
            "initContainers": [{"name": "i", "image": "b",
                "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}],
            "containers": [{"name": "a", "image": "b", "ports": [{"containerPort": 80, "hostIP": "10.0.0.1"}],
                "volumeMounts": [{"name": "v", "mountPath": "/v", "mountPropagation": "Bidirectional"}]}]});
        assert_eq!(
            refused(spec),
            [
                "spec.dnsConfig",
                "spec.priority",
                "spec.hostUsers",
                "spec.os",
                "spec.securityContext.windowsOptions",
                "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
                "spec.initContainers[0].resizePolicy",
                "spec.containers[0].ports[0].hostIP",
                "spec.containers[0].volumeMounts[0].mountPropagation",
            ]
        );
    }
}

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
                Neutral::Named(ok) => v.as_object().is_some_and(|m| {
                    m.len() == 1
                        && m.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| ok.contains(&n))
                }),
            }
    }
}

use Neutral::{Bool, Empty, Int, Named, Str};

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
                out.push(refuse(field));
            }
        });
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

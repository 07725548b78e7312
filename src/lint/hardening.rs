//! SPEC §3, per pod and container (init containers and Jobs included):
//! non-root, read-only root filesystem, all capabilities dropped, no
//! privilege escalation, not privileged, seccomp RuntimeDefault, requests
//! and limits, probes on long-running containers, a dedicated
//! ServiceAccount whose token is not mounted. These are the gaps the
//! replaced chart had (SPEC §1b.9).

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{field, join_path};
use super::pods::{Container, PodTemplate};

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        service_account(pod, &at, out);
        for c in pod.containers() {
            security(pod, &c, &at, out);
            resources(&c, &at, out);
            if pod.long_running() && !c.init {
                for probe in ["livenessProbe", "readinessProbe"] {
                    if c.value.get(probe).is_none() {
                        out.error(
                            "policy/probes",
                            &at,
                            &join_path(&c.path, probe),
                            format!("container `{}` has no {probe}", c.name()),
                            "add an httpGet probe on the health endpoint, or an exec probe that checks the process works",
                        );
                    }
                }
            }
        }
    }
}

fn service_account(pod: &PodTemplate, at: &Subject, out: &mut Findings) {
    let spec_path = pod.spec_path();
    let sa = pod
        .spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("default");
    if sa == "default" {
        out.error(
            "policy/service-account",
            at,
            &join_path(&spec_path, "serviceAccountName"),
            "the pods run under the namespace's `default` ServiceAccount",
            "set serviceAccountName to the release's own ServiceAccount ({{ name(\"app\") }})",
        );
    }
    if pod.spec.get("automountServiceAccountToken") != Some(&Value::Bool(false)) {
        out.error(
            "policy/service-account",
            at,
            &join_path(&spec_path, "automountServiceAccountToken"),
            "the service-account token is mounted into the pods",
            "set automountServiceAccountToken: false (the platform never calls the Kubernetes API)",
        );
    }
}

/// A setting of the container's securityContext, or of the pod's where
/// the pod's applies.
fn setting<'a>(
    pod: &'a PodTemplate,
    c: &'a Container,
    pointer: &str,
    pod_level: bool,
) -> Option<&'a Value> {
    let own = c
        .value
        .get("securityContext")
        .and_then(|s| s.pointer(pointer));
    own.or_else(|| {
        pod_level
            .then(|| {
                pod.spec
                    .get("securityContext")
                    .and_then(|s| s.pointer(pointer))
            })
            .flatten()
    })
}

fn security(pod: &PodTemplate, c: &Container, at: &Subject, out: &mut Findings) {
    let sc = join_path(&c.path, "securityContext");
    let name = c.name();
    // (field, whether the pod's securityContext applies, the value required
    // (None: anything but true), the fix)
    let checks: [(&str, bool, Option<bool>, &str); 4] = [
        ("runAsNonRoot", true, Some(true), "runAsNonRoot: true"),
        (
            "readOnlyRootFilesystem",
            false,
            Some(true),
            "readOnlyRootFilesystem: true (mount an emptyDir where the container writes)",
        ),
        (
            "allowPrivilegeEscalation",
            false,
            Some(false),
            "allowPrivilegeEscalation: false",
        ),
        (
            "privileged",
            false,
            None,
            "privileged: false (or leave it unset)",
        ),
    ];
    for (field, pod_level, want, fix) in checks {
        let have = setting(pod, c, &format!("/{field}"), pod_level);
        let ok = match want {
            Some(w) => have == Some(&Value::Bool(w)),
            None => have != Some(&Value::Bool(true)),
        };
        if !ok {
            out.error(
                "policy/hardening",
                at,
                &join_path(&sc, field),
                format!(
                    "container `{name}`: {field} is {}",
                    have.map_or("not set".to_string(), Value::to_string)
                ),
                format!("set {fix} in the container's securityContext"),
            );
        }
    }
    if setting(pod, c, "/runAsUser", true) == Some(&Value::from(0)) {
        out.error(
            "policy/hardening",
            at,
            &join_path(&sc, "runAsUser"),
            format!("container `{name}` runs as root (runAsUser: 0)"),
            "run as the image's unprivileged user id",
        );
    }
    let drops_all = c
        .value
        .pointer("/securityContext/capabilities/drop")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|x| x == "ALL"));
    if !drops_all {
        out.error(
            "policy/hardening",
            at,
            &field(&sc, "capabilities.drop"),
            format!("container `{name}` does not drop all capabilities"),
            "set capabilities: {drop: [ALL]} in the container's securityContext",
        );
    }
    let seccomp = setting(pod, c, "/seccompProfile/type", true).and_then(Value::as_str);
    if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
        out.error(
            "policy/hardening",
            at,
            &field(&sc, "seccompProfile.type"),
            format!("container `{name}` runs without a seccomp profile ({})", seccomp.unwrap_or("not set")),
            "set seccompProfile: {type: RuntimeDefault} in the pod's or container's securityContext",
        );
    }
}

fn resources(c: &Container, at: &Subject, out: &mut Findings) {
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            let present = c
                .value
                .pointer(&format!("/resources/{bound}/{resource}"))
                .is_some_and(|v| !v.is_null());
            if !present {
                out.error(
                    "policy/resources",
                    at,
                    &join_path(&join_path(&join_path(&c.path, "resources"), bound), resource),
                    format!("container `{}` has no {resource} {bound}", c.name()),
                    format!("set resources.{bound}.{resource} for this component in the environment's values"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::testing::lint_values;
    use serde_json::json;

    #[test]
    fn privileged_and_root_containers_are_caught() {
        let sc = json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false, "privileged": true, "runAsUser": 0,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
            "spec": {"serviceAccountName": "sa", "automountServiceAccountToken": false,
                     "containers": [{"name": "c", "image": "x:1", "securityContext": sc,
                                     "resources": {"requests": {"cpu": "1", "memory": "1Mi"},
                                                   "limits": {"cpu": "1", "memory": "1Mi"}}}]}});
        let hardening: Vec<String> = lint_values(vec![pod], &Options::default())
            .into_iter()
            .filter(|f| f.rule == "policy/hardening")
            .map(|f| f.path)
            .collect();
        assert_eq!(
            hardening,
            [
                "spec.containers[0].securityContext.privileged",
                "spec.containers[0].securityContext.runAsUser"
            ]
        );
    }
}

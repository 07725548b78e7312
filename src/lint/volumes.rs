//! Every volumeMount names a volume of its pod (or, in a StatefulSet, one
//! of its volumeClaimTemplates): a mount of an undeclared volume is
//! rejected at apply.

use serde_json::Value;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{items, join_path};

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        let mut declared: Vec<&str> = pod
            .spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .collect();
        declared.extend(
            pod.object
                .value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str)),
        );
        for c in pod.containers() {
            for (path, mount) in items(c.value, &c.path, "volumeMounts") {
                let Some(name) = mount.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if declared.contains(&name) {
                    continue;
                }
                let fix = if declared.is_empty() {
                    format!(
                        "declare a volume `{name}` under {}.volumes",
                        pod.spec_path()
                    )
                } else {
                    format!(
                        "declare a volume `{name}` under {}.volumes, or mount one of: {}",
                        pod.spec_path(),
                        declared.join(", ")
                    )
                };
                out.error(
                    "semantics/volume-mount",
                    &at,
                    &join_path(&path, "name"),
                    format!("mounts volume `{name}`, which the pod does not declare"),
                    fix,
                );
            }
        }
    }
}

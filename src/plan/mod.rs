//! The platform's stages and the order of objects: data, not code paths.
//!
//! `thebot template` prints objects in this order and the engine applies
//! them in it (config → data → prepare → app, CONVENTIONS); deletion runs
//! it in reverse. Ties break on (group, kind, namespace, name).

use std::cmp::Ordering;

use crate::manifest::Object;

/// A stage of a rollout; the engine waits for each before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Config = 1,
    Data = 2,
    Prepare = 3,
    App = 4,
}

impl Stage {
    /// The `thebot.io/stage` annotation value: `1-config`, ...
    pub fn label(self) -> &'static str {
        match self {
            Stage::Config => "1-config",
            Stage::Data => "2-data",
            Stage::Prepare => "3-prepare",
            Stage::App => "4-app",
        }
    }
}

/// Annotation that marks a hook Job and the operations it runs on.
pub const HOOK_ANNOTATION: &str = "thebot.io/hook";
/// The hooks the engine runs itself, when it decides to (a backup before
/// a migration), rather than with the stage-3 hooks: never applied as
/// rendered, never in a release's inventory.
pub const ENGINE_HOOKS: &[&str] = &["backup"];

/// Whether an object is a Job the engine runs itself (`ENGINE_HOOKS`).
pub fn is_engine_job(object: &Object) -> bool {
    object.kind() == "Job"
        && object
            .annotation(HOOK_ANNOTATION)
            .is_some_and(|h| ENGINE_HOOKS.contains(&h.trim()))
}

/// Annotation naming an object's stage.
pub const STAGE_ANNOTATION: &str = "thebot.io/stage";
/// Annotation naming the release that owns an object (`namespace/release`).
pub const RELEASE_ANNOTATION: &str = "thebot.io/release";

/// Kinds in apply order, each with its stage. Kinds not listed go last in
/// the app stage.
const KIND_ORDER: &[(&str, Stage)] = &[
    ("ServiceAccount", Stage::Config),
    ("Role", Stage::Config),
    ("RoleBinding", Stage::Config),
    ("Secret", Stage::Config),
    ("ConfigMap", Stage::Config),
    ("PersistentVolumeClaim", Stage::Config),
    ("NetworkPolicy", Stage::Config),
    ("Service", Stage::Config),
    ("StatefulSet", Stage::Data),
    ("Job", Stage::Prepare),
    ("Deployment", Stage::App),
    ("HorizontalPodAutoscaler", Stage::App),
    ("PodDisruptionBudget", Stage::App),
    ("Ingress", Stage::App),
    ("CronJob", Stage::App),
];

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// The stage an object belongs to. A Job is a stage-3 hook only when it
/// carries the hook annotation; any other Job runs with the app.
pub fn stage_of(object: &Object) -> Stage {
    let kind = object.kind();
    if kind == "Job" && object.annotation(HOOK_ANNOTATION).is_none() {
        return Stage::App;
    }
    KIND_ORDER
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Stage::App, |(_, s)| *s)
}

/// Apply order: stage, kind rank, then group, kind, namespace, name.
pub fn compare(a: &Object, b: &Object) -> Ordering {
    let key = |o: &Object| {
        let id = o.id();
        (
            stage_of(o),
            kind_rank(&id.kind),
            id.group,
            id.kind,
            id.namespace,
            id.name,
        )
    };
    key(a).cmp(&key(b))
}

/// Sorts objects into apply order (stable and total: same input, same order).
pub fn sort(objects: &mut [Object]) {
    objects.sort_by(compare);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, name: &str, hook: bool) -> Object {
        let mut v =
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns"}});
        if hook {
            v["metadata"]["annotations"] = json!({HOOK_ANNOTATION: "install"});
        }
        Object {
            source: String::new(),
            value: v,
        }
    }

    #[test]
    fn stages_then_kinds_then_names() {
        let mut objects = vec![
            obj("apps/v1", "Deployment", "b", false),
            obj("batch/v1", "Job", "plain", false),
            obj("apps/v1", "Deployment", "a", false),
            obj("batch/v1", "Job", "hook", true),
            obj("apps/v1", "StatefulSet", "db", false),
            obj("v1", "Service", "s", false),
            obj("v1", "ConfigMap", "c", false),
            obj("example.io/v1", "Widget", "w", false),
            obj("v1", "ServiceAccount", "sa", false),
        ];
        sort(&mut objects);
        let order: Vec<_> = objects
            .iter()
            .map(|o| format!("{}/{}", o.kind(), o.name()))
            .collect();
        assert_eq!(
            order,
            [
                "ServiceAccount/sa",
                "ConfigMap/c",
                "Service/s",
                "StatefulSet/db",
                "Job/hook",
                "Job/plain",
                "Deployment/a",
                "Deployment/b",
                "Widget/w"
            ]
        );
        assert_eq!(stage_of(&objects[4]), Stage::Prepare);
        assert_eq!(stage_of(&objects[5]), Stage::App);
    }
}

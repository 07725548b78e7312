//! Where an object keeps its pods: the pod template of each workload kind,
//! its labels, spec and containers, with their paths. Most semantic and
//! policy rules are about pods, whichever kind carries them.

use serde_json::{Map, Value};

use crate::manifest::Object;

use super::path::{items, join_path};

/// A pod template of a rendered object.
#[derive(Debug, Clone)]
pub struct PodTemplate<'a> {
    /// The object's index in the render.
    pub index: usize,
    pub object: &'a Object,
    /// Path of the template (`spec.template`; empty for a Pod).
    pub path: String,
    pub labels: Map<String, Value>,
    pub spec: &'a Value,
}

/// One container with its path, and whether it is an init container.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub path: String,
    pub value: &'a Value,
    pub init: bool,
}

impl<'a> PodTemplate<'a> {
    /// The template of `object`, when its kind runs pods.
    pub fn of(object: &'a Object, index: usize) -> Option<PodTemplate<'a>> {
        let (pointer, path) = match object.kind() {
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController" => ("/spec/template", "spec.template"),
            "CronJob" => (
                "/spec/jobTemplate/spec/template",
                "spec.jobTemplate.spec.template",
            ),
            "Pod" => ("", ""),
            _ => return None,
        };
        let template = object.value.pointer(pointer)?;
        let spec = template.get("spec").filter(|s| s.is_object())?;
        let labels = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Some(PodTemplate {
            index,
            object,
            path: path.to_string(),
            labels,
            spec,
        })
    }

    pub fn namespace(&self) -> &str {
        self.object.namespace()
    }

    /// Path of the pod spec.
    pub fn spec_path(&self) -> String {
        join_path(&self.path, "spec")
    }

    /// Path of the template's labels.
    pub fn labels_path(&self) -> String {
        join_path(&join_path(&self.path, "metadata"), "labels")
    }

    /// Whether the pods run until stopped (not a Job's).
    pub fn long_running(&self) -> bool {
        !matches!(self.object.kind(), "Job" | "CronJob" | "Pod")
    }

    /// Init containers, then containers.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let spec_path = self.spec_path();
        let init = items(self.spec, &spec_path, "initContainers")
            .into_iter()
            .map(|(path, value)| Container {
                path,
                value,
                init: true,
            });
        let main = items(self.spec, &spec_path, "containers")
            .into_iter()
            .map(|(path, value)| Container {
                path,
                value,
                init: false,
            });
        init.chain(main).collect()
    }
}

impl Container<'_> {
    pub fn name(&self) -> &str {
        self.value.get("name").and_then(Value::as_str).unwrap_or("")
    }
}

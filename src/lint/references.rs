//! References between objects of the render: env `valueFrom` and `envFrom`
//! name rendered ConfigMaps/Secrets (and their keys), volumes name
//! rendered ConfigMaps, Secrets (and the keys their `items` project) and
//! claims, pods a rendered
//! ServiceAccount, Ingress backends a rendered Service port, HPAs a
//! rendered workload, Services' named target ports a port of the pods
//! they select, StatefulSets their governing Service. A dangling reference
//! leaves pods pending or traffic nowhere, long after the apply succeeded.
//!
//! Objects expected to exist outside the render (`secrets.existingSecret`)
//! get a note instead.

use serde_json::Value;

use crate::manifest::Object;

use super::Context;
use super::finding::{Findings, Subject};
use super::path::{field, items, join_path};
use super::pods::PodTemplate;
use super::selectors::map_selects;

/// The object whose references are checked.
struct Referrer<'c, 'a> {
    ctx: &'c Context<'a>,
    at: Subject,
    namespace: &'c str,
}

/// One reference: `kind` named by the text at `name` (a JSON value, absent
/// or not text when the template got it wrong), found at `path`.
struct Reference<'v> {
    kind: &'v str,
    name: Option<&'v Value>,
    path: String,
    optional: bool,
}

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let from = Referrer {
            ctx,
            at: Subject::object(pod.object, pod.index),
            namespace: pod.namespace(),
        };
        container_references(&from, pod, out);
        volume_references(&from, pod, out);
        let sa = pod.spec.get("serviceAccountName");
        if sa.is_some_and(|s| s != "default") {
            from.object(
                out,
                Reference {
                    kind: "ServiceAccount",
                    name: sa,
                    path: join_path(&pod.spec_path(), "serviceAccountName"),
                    optional: false,
                },
            );
        }
    }
    for (o, at) in ctx.each() {
        let from = Referrer {
            ctx,
            at,
            namespace: o.namespace(),
        };
        match o.kind() {
            "Ingress" => from.ingress(out, o),
            "HorizontalPodAutoscaler" => {
                let target = o.value.pointer("/spec/scaleTargetRef");
                from.object(
                    out,
                    Reference {
                        kind: target
                            .and_then(|t| t.get("kind"))
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        name: target.and_then(|t| t.get("name")),
                        path: "spec.scaleTargetRef.name".into(),
                        optional: false,
                    },
                );
            }
            "StatefulSet" => {
                if let Some(name) = o.value.pointer("/spec/serviceName") {
                    from.object(
                        out,
                        Reference {
                            kind: "Service",
                            name: Some(name),
                            path: "spec.serviceName".into(),
                            optional: false,
                        },
                    );
                }
            }
            "Service" => from.target_ports(out, o),
            _ => {}
        }
    }
}

/// What each container's `env` and `envFrom` name.
fn container_references(from: &Referrer, pod: &PodTemplate, out: &mut Findings) {
    for c in pod.containers() {
        for (path, e) in items(c.value, &c.path, "env") {
            for (kind, field) in [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")] {
                if let Some(r) = e.get("valueFrom").and_then(|v| v.get(field)) {
                    let path = join_path(&join_path(&path, "valueFrom"), field);
                    from.key(out, kind, &path, r);
                }
            }
        }
        for (path, e) in items(c.value, &c.path, "envFrom") {
            for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                if let Some(r) = e.get(field) {
                    from.named(out, kind, join_path(&path, field), r, "name");
                }
            }
        }
    }
}

/// What the pod's volumes name, down to the keys their `items` mount.
fn volume_references(from: &Referrer, pod: &PodTemplate, out: &mut Findings) {
    for (path, v) in items(pod.spec, &pod.spec_path(), "volumes") {
        for (kind, field, name_field) in [
            ("ConfigMap", "configMap", "name"),
            ("Secret", "secret", "secretName"),
            (
                "PersistentVolumeClaim",
                "persistentVolumeClaim",
                "claimName",
            ),
        ] {
            let Some(r) = v.get(field) else { continue };
            let base = join_path(&path, field);
            // A missing item key fails the mount: the pod never starts.
            if let Some(target) = from.named(out, kind, base.clone(), r, name_field) {
                for (item_path, item) in items(r, &base, "items") {
                    let key = item.get("key").and_then(Value::as_str).unwrap_or("");
                    from.has_key(out, target, key, &join_path(&item_path, "key"), optional(r));
                }
            }
        }
    }
}

fn optional(r: &Value) -> bool {
    r.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

impl<'a> Referrer<'_, 'a> {
    /// A `{<name_field>: NAME, optional}` reference at `base`.
    fn named(
        &self,
        out: &mut Findings,
        kind: &str,
        base: String,
        r: &Value,
        name_field: &str,
    ) -> Option<&'a Object> {
        self.object(
            out,
            Reference {
                kind,
                name: r.get(name_field),
                path: join_path(&base, name_field),
                optional: optional(r),
            },
        )
    }

    /// The referenced object, when rendered; otherwise a finding (none
    /// when optional, a note when expected outside the render).
    fn object(&self, out: &mut Findings, r: Reference) -> Option<&'a Object> {
        let (ctx, ns, kind) = (self.ctx, self.namespace, r.kind);
        let name = r.name.and_then(Value::as_str).unwrap_or("");
        if let Some(o) = ctx.find(kind, ns, name) {
            return Some(o);
        }
        if r.optional {
            return None;
        }
        if ctx.is_external(kind, name) {
            out.note(
                "semantics/reference",
                &self.at,
                &r.path,
                format!(
                    "{kind} `{name}` is not rendered: it must exist in namespace {ns} before the install"
                ),
                "create it first (e.g. with your external secret manager)",
            );
            return None;
        }
        let rendered: Vec<&str> = ctx
            .objects
            .iter()
            .filter(|o| o.kind() == kind && o.namespace() == ns)
            .map(Object::name)
            .collect();
        let fix = if rendered.is_empty() {
            format!("render a {kind} named `{name}`, or fix the name")
        } else {
            format!("name one of the rendered {kind}s: {}", rendered.join(", "))
        };
        out.error(
            "semantics/reference",
            &self.at,
            &r.path,
            format!("names {kind} `{name}`, which this render does not contain"),
            fix,
        );
        None
    }

    /// A `configMapKeyRef`/`secretKeyRef` at `path`: the object and its key.
    fn key(&self, out: &mut Findings, kind: &str, path: &str, r: &Value) {
        let reference = Reference {
            kind,
            name: r.get("name"),
            path: join_path(path, "name"),
            optional: optional(r),
        };
        let Some(target) = self.object(out, reference) else {
            return;
        };
        let key = r.get("key").and_then(Value::as_str).unwrap_or("");
        self.has_key(out, target, key, &join_path(path, "key"), optional(r));
    }

    /// `target` (a rendered ConfigMap or Secret) has `key`, named at `path`.
    fn has_key(&self, out: &mut Findings, target: &Object, key: &str, path: &str, optional: bool) {
        let keys: Vec<&str> = ["data", "binaryData", "stringData"]
            .iter()
            .filter_map(|f| target.value.get(*f).and_then(Value::as_object))
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        if keys.contains(&key) || optional {
            return;
        }
        out.error(
            "semantics/reference",
            &self.at,
            path,
            format!("{} `{}` has no key `{key}`", target.kind(), target.name()),
            format!("use one of its keys: {}", keys.join(", ")),
        );
    }

    /// Every backend of an Ingress names a rendered Service and one of its ports.
    fn ingress(&self, out: &mut Findings, o: &Object) {
        let mut backends: Vec<(String, &Value)> = Vec::new();
        if let Some(b) = o.value.pointer("/spec/defaultBackend/service") {
            backends.push(("spec.defaultBackend.service".into(), b));
        }
        for (rule_path, rule) in items(&o.value["spec"], "spec", "rules") {
            let Some(http) = rule.get("http") else {
                continue;
            };
            for (path, p) in items(http, &join_path(&rule_path, "http"), "paths") {
                if let Some(b) = p.pointer("/backend/service") {
                    backends.push((field(&path, "backend.service"), b));
                }
            }
        }
        for (path, b) in backends {
            let Some(svc) = self.object(
                out,
                Reference {
                    kind: "Service",
                    name: b.get("name"),
                    path: join_path(&path, "name"),
                    optional: false,
                },
            ) else {
                continue;
            };
            let (field, wanted) = match (b.pointer("/port/name"), b.pointer("/port/number")) {
                (Some(n), _) => ("name", n),
                (None, Some(n)) => ("number", n),
                _ => continue,
            };
            let service_field = if field == "name" { "name" } else { "port" };
            let declared = svc
                .value
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| p.get(service_field) == Some(wanted));
            if !declared {
                out.error(
                    "semantics/reference",
                    &self.at,
                    &join_path(&join_path(&path, "port"), field),
                    format!("Service `{}` has no port {field} {wanted}", svc.name()),
                    "name a port the Service declares",
                );
            }
        }
    }

    /// A Service's named `targetPort` must be a container port name of
    /// every pod it selects.
    fn target_ports(&self, out: &mut Findings, o: &Object) {
        let Some(sel) = o.value.pointer("/spec/selector").and_then(Value::as_object) else {
            return;
        };
        if sel.is_empty() {
            return;
        }
        let pods: Vec<_> = self
            .ctx
            .pods_in(self.namespace)
            .filter(|p| map_selects(sel, &p.labels))
            .collect();
        for (path, port) in items(&o.value["spec"], "spec", "ports") {
            let Some(target) = port.get("targetPort").and_then(Value::as_str) else {
                continue;
            };
            for pod in &pods {
                let named = pod.containers().iter().any(|c| {
                    c.value
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|p| p.get("name").and_then(Value::as_str) == Some(target))
                });
                if !named {
                    out.error(
                        "semantics/reference",
                        &self.at,
                        &join_path(&path, "targetPort"),
                        format!(
                            "targets port `{target}`, which {}'s pods do not name",
                            pod.object.id()
                        ),
                        "name the container port so, or target the port the pods declare",
                    );
                }
            }
        }
    }
}

//! References between objects of the render: env `valueFrom` and `envFrom`
//! name rendered ConfigMaps/Secrets (and their keys), volumes name
//! rendered ConfigMaps, Secrets and claims, pods a rendered
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
use super::path::{items, join_path};
use super::selectors::map_selects;

pub fn check(ctx: &Context, out: &mut Findings) {
    for pod in &ctx.pods {
        let at = Subject::object(pod.object, pod.index);
        let ns = pod.namespace();
        for c in pod.containers() {
            for (path, e) in items(c.value, &c.path, "env") {
                for (kind, field) in [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")]
                {
                    let Some(r) = e.pointer(&format!("/valueFrom/{field}")) else {
                        continue;
                    };
                    let path = join_path(&join_path(&path, "valueFrom"), field);
                    key_ref(ctx, out, &at, ns, kind, &path, r);
                }
            }
            for (path, e) in items(c.value, &c.path, "envFrom") {
                for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                    if let Some(r) = e.get(field) {
                        let path = join_path(&join_path(&path, field), "name");
                        object_ref(ctx, out, &at, ns, kind, &path, r.get("name"), optional(r));
                    }
                }
            }
        }
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
                if let Some(r) = v.get(field) {
                    let path = join_path(&join_path(&path, field), name_field);
                    object_ref(
                        ctx,
                        out,
                        &at,
                        ns,
                        kind,
                        &path,
                        r.get(name_field),
                        optional(r),
                    );
                }
            }
        }
        if let Some(sa) = pod.spec.get("serviceAccountName").and_then(Value::as_str)
            && sa != "default"
        {
            let path = join_path(&pod.spec_path(), "serviceAccountName");
            object_ref(
                ctx,
                out,
                &at,
                ns,
                "ServiceAccount",
                &path,
                Some(&Value::from(sa)),
                false,
            );
        }
    }
    for (o, at) in ctx.each() {
        let ns = o.namespace();
        match o.kind() {
            "Ingress" => ingress(ctx, out, &at, o),
            "HorizontalPodAutoscaler" => {
                let target = o.value.pointer("/spec/scaleTargetRef");
                let kind = target
                    .and_then(|t| t.get("kind"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let name = target.and_then(|t| t.get("name"));
                object_ref(
                    ctx,
                    out,
                    &at,
                    ns,
                    kind,
                    "spec.scaleTargetRef.name",
                    name,
                    false,
                );
            }
            "StatefulSet" => {
                let name = o.value.pointer("/spec/serviceName");
                if name.is_some() {
                    object_ref(
                        ctx,
                        out,
                        &at,
                        ns,
                        "Service",
                        "spec.serviceName",
                        name,
                        false,
                    );
                }
            }
            "Service" => target_ports(ctx, out, &at, o),
            _ => {}
        }
    }
}

fn optional(r: &Value) -> bool {
    r.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

/// A reference to `kind/name` in `ns`: the object, when rendered.
#[allow(clippy::too_many_arguments)]
fn object_ref<'a>(
    ctx: &Context<'a>,
    out: &mut Findings,
    at: &Subject,
    ns: &str,
    kind: &str,
    path: &str,
    name: Option<&Value>,
    optional: bool,
) -> Option<&'a Object> {
    let name = name.and_then(Value::as_str).unwrap_or("");
    if let Some(o) = ctx.find(kind, ns, name) {
        return Some(o);
    }
    if optional {
        return None;
    }
    if ctx.is_external(kind, name) {
        out.note(
            "semantics/reference",
            at,
            path,
            format!("{kind} `{name}` is not rendered: it must exist in namespace {ns} before the install"),
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
        at,
        path,
        format!("names {kind} `{name}`, which this render does not contain"),
        fix,
    );
    None
}

/// A `configMapKeyRef`/`secretKeyRef`: the object and its key.
fn key_ref(
    ctx: &Context,
    out: &mut Findings,
    at: &Subject,
    ns: &str,
    kind: &str,
    path: &str,
    r: &Value,
) {
    let name_path = join_path(path, "name");
    let Some(target) = object_ref(
        ctx,
        out,
        at,
        ns,
        kind,
        &name_path,
        r.get("name"),
        optional(r),
    ) else {
        return;
    };
    let key = r.get("key").and_then(Value::as_str).unwrap_or("");
    let keys: Vec<&str> = ["data", "binaryData", "stringData"]
        .iter()
        .filter_map(|f| target.value.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    if keys.contains(&key) || optional(r) {
        return;
    }
    out.error(
        "semantics/reference",
        at,
        &join_path(path, "key"),
        format!("{kind} `{}` has no key `{key}`", target.name()),
        format!("use one of its keys: {}", keys.join(", ")),
    );
}

fn ingress(ctx: &Context, out: &mut Findings, at: &Subject, o: &Object) {
    let ns = o.namespace();
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
                backends.push((join_path(&path, "backend.service"), b));
            }
        }
    }
    for (path, b) in backends {
        let Some(svc) = object_ref(
            ctx,
            out,
            at,
            ns,
            "Service",
            &join_path(&path, "name"),
            b.get("name"),
            false,
        ) else {
            continue;
        };
        let ports = svc.value.pointer("/spec/ports").and_then(Value::as_array);
        let ports: Vec<&Value> = ports.into_iter().flatten().collect();
        let (field, wanted) = match (b.pointer("/port/name"), b.pointer("/port/number")) {
            (Some(n), _) => ("name", n),
            (None, Some(n)) => ("number", n),
            _ => continue,
        };
        let have = |p: &&Value| match field {
            "name" => p.get("name") == Some(wanted),
            _ => p.get("port") == Some(wanted),
        };
        if !ports.iter().any(have) {
            out.error(
                "semantics/reference",
                at,
                &join_path(&join_path(&path, "port"), field),
                format!("Service `{}` has no port {field} {wanted}", svc.name()),
                "name a port the Service declares",
            );
        }
    }
}

/// A Service's named `targetPort` must be a container port name of every
/// pod it selects.
fn target_ports(ctx: &Context, out: &mut Findings, at: &Subject, o: &Object) {
    let Some(sel) = o.value.pointer("/spec/selector").and_then(Value::as_object) else {
        return;
    };
    if sel.is_empty() {
        return;
    }
    let pods: Vec<_> = ctx
        .pods_in(o.namespace())
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
                    at,
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

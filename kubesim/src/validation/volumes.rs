//! A pod's `volumes` as `ValidateVolumes` checks them: names, exactly one
//! source, and the common sources' own fields (configMap, secret,
//! projected and downwardAPI items and modes, downwardAPI field and
//! resource references, emptyDir sizeLimit,
//! persistentVolumeClaim claimName, hostPath path and type).

use std::collections::HashSet;

use serde_json::Value;

use super::fields::{invalid_num, items, quantity, unique_label_name};
use super::unvalidated;
use crate::error::Cause;

const MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
/// `supportedHostPathTypes`, sorted as `sets.List` does.
const HOST_PATH_TYPES: &[&str] = &[
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

/// Checks `volumes`; the declared names.
pub fn volumes(spec: Option<&Value>, prefix: &str, out: &mut Vec<Cause>) -> HashSet<String> {
    let mut names = HashSet::new();
    for (i, v) in items(spec, "volumes").iter().enumerate() {
        let path = format!("{prefix}.volumes[{i}]");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        unique_label_name(out, &format!("{path}.name"), name, &mut names);
        let sources: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| *k != "name").collect())
            .unwrap_or_default();
        match sources.as_slice() {
            [] => out.push(Cause::required(&path, "must specify a volume type")),
            [(kind, src)] => source(kind, src, &format!("{path}.{kind}"), out),
            _ => out.push(Cause::forbidden(
                &path,
                "may not specify more than 1 volume type",
            )),
        }
    }
    names
}

fn source(kind: &str, src: &Value, path: &str, out: &mut Vec<Cause>) {
    let s = |f: &str| src.get(f).and_then(Value::as_str).unwrap_or("");
    match kind {
        "configMap" | "secret" => {
            let name = if kind == "secret" {
                "secretName"
            } else {
                "name"
            };
            if s(name).is_empty() {
                out.push(Cause::required_bare(&format!("{path}.{name}")));
            }
            mode(src, "defaultMode", path, out);
            key_to_paths(src, path, out);
        }
        "downwardAPI" => {
            mode(src, "defaultMode", path, out);
            downward_items(src, path, out);
        }
        "projected" => {
            mode(src, "defaultMode", path, out);
            for (i, p) in items(Some(src), "sources").iter().enumerate() {
                let ppath = format!("{path}.sources[{i}]");
                for inner in ["configMap", "secret"] {
                    if let Some(x) = p.get(inner).filter(|v| !v.is_null()) {
                        key_to_paths(x, &format!("{ppath}.{inner}"), out);
                    }
                }
                if let Some(d) = p.get("downwardAPI").filter(|v| !v.is_null()) {
                    downward_items(d, &format!("{ppath}.downwardAPI"), out);
                }
                for (k, v) in p.as_object().into_iter().flatten() {
                    if !v.is_null() && !unvalidated::PROJECTED_SOURCES.contains(&k.as_str()) {
                        out.push(unvalidated::refuse(&format!("{ppath}.{k}")));
                    }
                }
            }
        }
        "emptyDir" => {
            if let Some(q) = src.get("sizeLimit").filter(|v| !v.is_null())
                && quantity(q).is_some_and(|n| n < 0)
            {
                out.push(Cause::forbidden(
                    &format!("{path}.sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
        }
        "persistentVolumeClaim" if s("claimName").is_empty() => {
            out.push(Cause::required_bare(&format!("{path}.claimName")));
        }
        "hostPath" => {
            let p = s("path");
            if p.is_empty() {
                out.push(Cause::required_bare(&format!("{path}.path")));
                return;
            }
            no_backsteps(p, &format!("{path}.path"), out);
            if let Some(t) = src.get("type").and_then(Value::as_str)
                && !HOST_PATH_TYPES.contains(&t)
            {
                out.push(Cause::not_supported(
                    &format!("{path}.type"),
                    &format!("{t:?}"),
                    HOST_PATH_TYPES,
                ));
            }
        }
        k if !unvalidated::VOLUME_SOURCES.contains(&k) && !src.is_null() => {
            out.push(unvalidated::refuse(path));
        }
        _ => {}
    }
}

/// A downwardAPI volume's or projection's `items`.
fn downward_items(src: &Value, path: &str, out: &mut Vec<Cause>) {
    for (i, it) in items(Some(src), "items").iter().enumerate() {
        let ipath = format!("{path}.items[{i}]");
        let p = it.get("path").and_then(Value::as_str).unwrap_or("");
        if p.is_empty() {
            out.push(Cause::required_bare(&format!("{ipath}.path")));
        }
        local_path(p, &format!("{ipath}.path"), out);
        downward_source(it, &ipath, out);
        mode(it, "mode", &ipath, out);
    }
}

/// `validateLocalDescendingPath`: relative, without `..` steps.
pub fn descending_path(p: &str, field: &str, out: &mut Vec<Cause>) {
    if p.starts_with('/') {
        out.push(Cause::invalid(field, p, "must be a relative path"));
    }
    no_backsteps(p, field, out);
}

/// `validVolumeDownwardAPIFieldPathExpressions`, sorted.
const VOLUME_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

/// A downwardAPI file's source: a field or a container's resource, not
/// both (`validateDownwardAPIVolumeFile`).
fn downward_source(it: &Value, ipath: &str, out: &mut Vec<Cause>) {
    let get = |f: &str| it.get(f).filter(|v| !v.is_null());
    match (get("fieldRef"), get("resourceFieldRef")) {
        (Some(f), r) => {
            super::env::object_field_selector(
                f,
                &format!("{ipath}.fieldRef"),
                VOLUME_FIELD_PATHS,
                out,
            );
            if r.is_some() {
                out.push(Cause::invalid(
                    ipath,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                ));
            }
        }
        (None, Some(r)) => {
            super::env::resource_field_ref(r, &format!("{ipath}.resourceFieldRef"), true, out)
        }
        (None, None) => out.push(Cause::required(
            ipath,
            "one of fieldRef and resourceFieldRef is required",
        )),
    }
}

/// A file mode field: 0 to 0777.
fn mode(v: &Value, f: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(m) = v.get(f).and_then(Value::as_i64)
        && !(0..=0o777).contains(&m)
    {
        out.push(invalid_num(&format!("{path}.{f}"), m, MODE_MSG));
    }
}

/// `validateKeyToPath` for each of `items`.
fn key_to_paths(src: &Value, path: &str, out: &mut Vec<Cause>) {
    for (i, it) in items(Some(src), "items").iter().enumerate() {
        let ipath = format!("{path}.items[{i}]");
        let s = |f: &str| it.get(f).and_then(Value::as_str).unwrap_or("");
        if s("key").is_empty() {
            out.push(Cause::required_bare(&format!("{ipath}.key")));
        }
        if s("path").is_empty() {
            out.push(Cause::required_bare(&format!("{ipath}.path")));
        }
        local_path(s("path"), &format!("{ipath}.path"), out);
        mode(it, "mode", &ipath, out);
    }
}

/// `validateLocalNonReservedPath`: relative, no `..` element, not
/// starting with `..`.
fn local_path(p: &str, field: &str, out: &mut Vec<Cause>) {
    if p.starts_with('/') {
        out.push(Cause::invalid(field, p, "must be a relative path"));
    }
    no_backsteps(p, field, out);
    if p.starts_with("..") && !p.starts_with("../") {
        out.push(Cause::invalid(field, p, "must not start with '..'"));
    }
}

fn no_backsteps(p: &str, field: &str, out: &mut Vec<Cause>) {
    if p.split('/').any(|s| s == "..") {
        out.push(Cause::invalid(field, p, "must not contain '..'"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(vols: Value) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        volumes(Some(&json!({ "volumes": vols })), "s", &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn valid_volume_sources_pass() {
        let vols = json!([
            {"name": "a", "configMap": {"name": "cfg", "defaultMode": 420,
                "items": [{"key": "app.yaml", "path": "conf/app.yaml", "mode": 256}]}},
            {"name": "b", "secret": {"secretName": "tls", "defaultMode": 0o400}},
            {"name": "c", "emptyDir": {"sizeLimit": "1Gi", "medium": "Memory"}},
            {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "e", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "f", "projected": {"sources": [{"secret": {"name": "s", "items": [{"key": "k", "path": "k"}]}}]}},
            {"name": "g", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]);
        assert_eq!(causes(vols), []);
    }

    #[test]
    fn volume_source_rules() {
        let got = causes(json!([
            {"name": "a", "configMap": {"defaultMode": 1000,
                "items": [{"key": "", "path": "/etc/x"}, {"key": "k", "path": "a/../b", "mode": -1}]}},
            {"name": "b", "secret": {}},
            {"name": "c", "emptyDir": {"sizeLimit": "-1Gi"}},
            {"name": "d", "persistentVolumeClaim": {}},
            {"name": "e", "hostPath": {"path": "/var/../etc", "type": "Dir"}},
            {"name": "f", "hostPath": {}}]));
        let f: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        let v = "s.volumes";
        assert_eq!(
            f,
            [
                (&*format!("{v}[0].configMap.name"), "FieldValueRequired"),
                (
                    &format!("{v}[0].configMap.defaultMode"),
                    "FieldValueInvalid"
                ),
                (
                    &format!("{v}[0].configMap.items[0].key"),
                    "FieldValueRequired"
                ),
                (
                    &format!("{v}[0].configMap.items[0].path"),
                    "FieldValueInvalid"
                ),
                (
                    &format!("{v}[0].configMap.items[1].path"),
                    "FieldValueInvalid"
                ),
                (
                    &format!("{v}[0].configMap.items[1].mode"),
                    "FieldValueInvalid"
                ),
                (&format!("{v}[1].secret.secretName"), "FieldValueRequired"),
                (&format!("{v}[2].emptyDir.sizeLimit"), "FieldValueForbidden"),
                (
                    &format!("{v}[3].persistentVolumeClaim.claimName"),
                    "FieldValueRequired"
                ),
                (&format!("{v}[4].hostPath.path"), "FieldValueInvalid"),
                (&format!("{v}[4].hostPath.type"), "FieldValueNotSupported"),
                (&format!("{v}[5].hostPath.path"), "FieldValueRequired"),
            ]
        );
        assert_eq!(
            got[1].2,
            "Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive"
        );
        assert_eq!(
            got[3].2,
            "Invalid value: \"/etc/x\": must be a relative path"
        );
    }

    #[test]
    fn downward_api_files_need_one_valid_source() {
        let ok = json!([{"name": "d", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "web", "resource": "limits.memory", "divisor": "1Mi"}}]}}]);
        assert_eq!(causes(ok), []);
        let bad = json!([{"name": "d", "downwardAPI": {"items": [
            {"path": "a"},
            {"path": "b", "fieldRef": {"fieldPath": "spec.nodeName"}},
            {"path": "c", "resourceFieldRef": {"resource": "limits.cpu"}},
            {"path": "e", "fieldRef": {"fieldPath": "metadata.name"},
             "resourceFieldRef": {"containerName": "web", "resource": "limits.cpu"}}]}}]);
        let got = causes(bad);
        let i = "s.volumes[0].downwardAPI.items";
        assert_eq!(
            got.iter()
                .map(|(f, r, _)| (f.clone(), *r))
                .collect::<Vec<_>>(),
            [
                (format!("{i}[0]"), "FieldValueRequired"),
                (
                    format!("{i}[1].fieldRef.fieldPath"),
                    "FieldValueNotSupported"
                ),
                (
                    format!("{i}[2].resourceFieldRef.containerName"),
                    "FieldValueRequired"
                ),
                (format!("{i}[3]"), "FieldValueInvalid"),
            ]
        );
        assert_eq!(
            got[0].2,
            "Required value: one of fieldRef and resourceFieldRef is required"
        );
        assert_eq!(
            got[3].2,
            "Invalid value: \"resource\": fieldRef and resourceFieldRef can not be specified simultaneously"
        );
    }
}

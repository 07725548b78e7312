//! A container's `env` and `envFrom` as `ValidateEnv` and
//! `ValidateEnvFrom` check them (1.32, relaxed variable names on by
//! default): names, exactly one `valueFrom` source and not with `value`,
//! the sources' names, keys, field paths and resources.

use serde_json::Value;

use super::fields::{dns_subdomain, items, required, str_at};
use crate::error::Cause;

const RELAXED_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";
/// `validEnvDownwardAPIFieldPathExpressions`, sorted as `sets.List` does.
const FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
/// `validContainerResourceFieldPathExpressions` (plus the hugepages
/// prefixes).
const RESOURCE_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `IsRelaxedEnvVarName`.
fn relaxed_name(out: &mut Vec<Cause>, field: &str, name: &str) {
    if name
        .bytes()
        .any(|c| !(b' '..=b'~').contains(&c) || c == b'=')
    {
        out.push(Cause::invalid(field, name, RELAXED_NAME_MSG));
    }
}

/// `env` and `envFrom` of the container at `path`.
pub fn env(c: &Value, path: &str, out: &mut Vec<Cause>) {
    for (i, e) in items(Some(c), "env").iter().enumerate() {
        let epath = format!("{path}.env[{i}]");
        required(out, &format!("{epath}.name"), e.get("name"));
        if let Some(n) = e.get("name").and_then(Value::as_str) {
            relaxed_name(out, &format!("{epath}.name"), n);
        }
        if let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) {
            value_from(e, from, &format!("{epath}.valueFrom"), out);
        }
    }
    let list = format!("{path}.envFrom");
    for (i, e) in items(Some(c), "envFrom").iter().enumerate() {
        let epath = format!("{list}[{i}]");
        if let Some(p) = e.get("prefix").and_then(Value::as_str) {
            relaxed_name(out, &format!("{epath}.prefix"), p);
        }
        let mut sources = 0;
        for src in ["configMapRef", "secretRef"] {
            let Some(r) = e.get(src).filter(|v| !v.is_null()) else {
                continue;
            };
            sources += 1;
            let field = format!("{epath}.{src}.name");
            match r.get("name").and_then(Value::as_str).unwrap_or("") {
                "" => out.push(Cause::required(&field, "name is required")),
                n => dns_subdomain(out, &field, n),
            }
        }
        // The real server names the list, not the item, here.
        match sources {
            0 => out.push(Cause::invalid(
                &list,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            )),
            1 => {}
            _ => out.push(Cause::invalid(
                &list,
                "",
                "may not have more than one field specified at a time",
            )),
        }
    }
}

/// `validateEnvVarValueFrom`.
fn value_from(e: &Value, from: &Value, path: &str, out: &mut Vec<Cause>) {
    let mut sources = 0;
    if let Some(f) = from.get("fieldRef").filter(|v| !v.is_null()) {
        sources += 1;
        field_ref(f, &format!("{path}.fieldRef"), out);
    }
    if let Some(r) = from.get("resourceFieldRef").filter(|v| !v.is_null()) {
        sources += 1;
        resource_field_ref(r, &format!("{path}.resourceFieldRef"), false, out);
    }
    for src in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = from.get(src).filter(|v| !v.is_null()) {
            sources += 1;
            key_selector(r, &format!("{path}.{src}"), out);
        }
    }
    let value = str_at(e, "value").unwrap_or("");
    let why = if sources == 0 {
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
    } else if !value.is_empty() {
        "may not be specified when `value` is not empty"
    } else if sources > 1 {
        "may not have more than one field specified at a time"
    } else {
        return;
    };
    out.push(Cause::invalid(path, "", why));
}

/// `validateConfigMapKeySelector` / `validateSecretKeySelector`: the
/// name a DNS subdomain (so an empty one is invalid, not required), the
/// key required and a config key.
fn key_selector(r: &Value, path: &str, out: &mut Vec<Cause>) {
    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
    dns_subdomain(out, &format!("{path}.name"), name);
    match r.get("key").and_then(Value::as_str).unwrap_or("") {
        "" => out.push(Cause::required_bare(&format!("{path}.key"))),
        k => super::config::key_causes(&format!("{path}.key"), k, out),
    }
}

/// `validateObjectFieldSelector` with the env's field paths.
fn field_ref(f: &Value, path: &str, out: &mut Vec<Cause>) {
    object_field_selector(f, path, FIELD_PATHS, out);
}

/// `validateObjectFieldSelector` with the field paths `allowed`.
pub(super) fn object_field_selector(f: &Value, path: &str, allowed: &[&str], out: &mut Vec<Cause>) {
    // apiVersion is defaulted to v1.
    let version = f.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    if version.is_empty() {
        out.push(Cause::required_bare(&format!("{path}.apiVersion")));
        return;
    }
    let fp = f.get("fieldPath").and_then(Value::as_str).unwrap_or("");
    if fp.is_empty() {
        out.push(Cause::required_bare(&format!("{path}.fieldPath")));
        return;
    }
    if version != "v1" {
        out.push(Cause::invalid(
            &format!("{path}.fieldPath"),
            fp,
            &format!("error converting fieldPath: unsupported pod version: {version}"),
        ));
        return;
    }
    if let Some((base, rest)) = fp.split_once("['")
        && let Some(sub) = rest.strip_suffix("']")
    {
        match base {
            "metadata.annotations" => {
                crate::validate::qualified_name_causes(path, &sub.to_lowercase(), out)
            }
            "metadata.labels" => crate::validate::qualified_name_causes(path, sub, out),
            _ => out.push(Cause::invalid(path, base, "does not support subscript")),
        }
    } else if !allowed.contains(&fp) {
        out.push(Cause::not_supported(
            &format!("{path}.fieldPath"),
            &format!("{fp:?}"),
            allowed,
        ));
    }
}

/// `validateContainerResourceFieldSelector`: the resource (a volume's
/// also needs `containerName`), and the divisor.
pub(super) fn resource_field_ref(r: &Value, path: &str, volume: bool, out: &mut Vec<Cause>) {
    let res = r.get("resource").and_then(Value::as_str).unwrap_or("");
    let hugepages = ["limits.hugepages-", "requests.hugepages-"]
        .iter()
        .any(|p| res.starts_with(p));
    let container = r.get("containerName").and_then(Value::as_str).unwrap_or("");
    if volume && container.is_empty() {
        out.push(Cause::required_bare(&format!("{path}.containerName")));
    } else if res.is_empty() {
        out.push(Cause::required_bare(&format!("{path}.resource")));
    } else if !RESOURCE_PATHS.contains(&res) && !hugepages {
        out.push(Cause::not_supported(
            &format!("{path}.resource"),
            &format!("{res:?}"),
            RESOURCE_PATHS,
        ));
    }
    divisor(res, r.get("divisor"), path, out);
}

const MEMORY_DIVISORS: &[&str] = &[
    "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
];
const MEMORY_DIVISORS_MSG: &str = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the";

/// `validateContainerResourceDivisor`: a divisor other than zero (unset)
/// must be, in canonical form, one of the values the resource allows.
/// The bad value the server shows is the resource, not the divisor.
fn divisor(res: &str, d: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(d) = d.filter(|v| !v.is_null()) else {
        return;
    };
    let text = super::fields::quantity_text(d);
    if super::fields::quantity(d) == Some(0) {
        return;
    }
    // Exponent forms and what does not parse stay as sent: never allowed.
    let canonical = crate::ssa::defaults::canonical_quantity(&text).unwrap_or(text);
    let (allowed, what): (&[&str], &str) = match res {
        "limits.cpu" | "requests.cpu" => (&["1m", "1"], "cpu"),
        "limits.memory" | "requests.memory" => (MEMORY_DIVISORS, "memory"),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" => {
            (MEMORY_DIVISORS, "local ephemeral storage")
        }
        r if r.starts_with("limits.hugepages-") || r.starts_with("requests.hugepages-") => {
            (MEMORY_DIVISORS, "hugepages")
        }
        _ => return,
    };
    if !allowed.contains(&canonical.as_str()) {
        let why = if what == "cpu" {
            "only divisor's values 1m and 1 are supported with the cpu resource".to_string()
        } else {
            format!("{MEMORY_DIVISORS_MSG} {what} resource")
        };
        out.push(Cause::invalid(&format!("{path}.divisor"), res, &why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(c: Value) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        env(&c, "c", &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn valid_env_sources_pass() {
        let c = json!({"env": [
            {"name": "A", "value": "1"},
            {"name": "1BAD", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "L", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}},
            {"name": "R", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k.1"}}}],
            "envFrom": [{"prefix": "X_", "configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "s"}}]});
        assert_eq!(causes(c), []);
    }

    #[test]
    fn value_from_needs_exactly_one_source_and_no_value() {
        let c = json!({"env": [
            {"name": "A", "valueFrom": {}},
            {"name": "B", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"},
                                         "configMapKeyRef": {"name": "c", "key": "k"}}},
            {"name": "D=E", "valueFrom": {"secretKeyRef": {"name": "", "key": ""}}},
            {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "spec.host"}}},
            {"name": "G", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]});
        let got = causes(c);
        let fields: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            fields,
            [
                ("c.env[0].valueFrom", "FieldValueInvalid"),
                ("c.env[1].valueFrom", "FieldValueInvalid"),
                ("c.env[2].valueFrom", "FieldValueInvalid"),
                ("c.env[3].name", "FieldValueInvalid"),
                ("c.env[3].valueFrom.secretKeyRef.name", "FieldValueInvalid"),
                ("c.env[3].valueFrom.secretKeyRef.key", "FieldValueRequired"),
                (
                    "c.env[4].valueFrom.fieldRef.fieldPath",
                    "FieldValueNotSupported"
                ),
                (
                    "c.env[5].valueFrom.resourceFieldRef.resource",
                    "FieldValueNotSupported"
                ),
            ]
        );
        assert_eq!(
            got[0].2,
            "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
        );
        assert_eq!(
            got[1].2,
            "Invalid value: \"\": may not be specified when `value` is not empty"
        );
        assert_eq!(
            got[2].2,
            "Invalid value: \"\": may not have more than one field specified at a time"
        );
    }

    #[test]
    fn env_from_needs_one_named_source() {
        let c = json!({"envFrom": [{"prefix": "A=B"},
            {"configMapRef": {"name": ""}, "secretRef": {"name": "Bad_Name"}}]});
        let got = causes(c);
        let fields: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            fields,
            [
                ("c.envFrom[0].prefix", "FieldValueInvalid"),
                ("c.envFrom", "FieldValueInvalid"),
                ("c.envFrom[1].configMapRef.name", "FieldValueRequired"),
                ("c.envFrom[1].secretRef.name", "FieldValueInvalid"),
                ("c.envFrom", "FieldValueInvalid"),
            ]
        );
    }

    #[test]
    fn resource_divisors_per_resource() {
        let env = |res: &str, d: Value| json!({"env": [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": res, "divisor": d}}}]});
        for (res, d) in [
            ("limits.cpu", json!("1m")),
            ("requests.cpu", json!("1000m")),
            ("limits.cpu", json!(1)),
            ("limits.memory", json!("1Mi")),
            ("requests.memory", json!("1024Ki")),
            ("limits.ephemeral-storage", json!("1G")),
            ("limits.hugepages-2Mi", json!("1Ki")),
            ("limits.memory", json!("0")),
        ] {
            assert_eq!(causes(env(res, d.clone())), [], "{res} {d}");
        }
        let path = "c.env[0].valueFrom.resourceFieldRef.divisor".to_string();
        assert_eq!(
            causes(env("limits.cpu", json!("10m"))),
            [(
                path.clone(),
                "FieldValueInvalid",
                "Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource".to_string()
            )]
        );
        assert_eq!(
            causes(env("requests.memory", json!("-1Mi"))),
            [(
                path.clone(),
                "FieldValueInvalid",
                "Invalid value: \"requests.memory\": only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource".to_string()
            )]
        );
        // 1024 is not 1Ki: the server compares canonical strings.
        assert_eq!(
            causes(env("limits.ephemeral-storage", json!("1024"))).len(),
            1
        );
        assert_eq!(causes(env("limits.hugepages-1Gi", json!("2Mi"))).len(), 1);
    }
}

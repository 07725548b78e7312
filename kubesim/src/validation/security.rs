//! Pod and container security contexts as `ValidateSecurityContext` and
//! `validatePodSpecSecurityContext` check them: user and group IDs,
//! seccomp and AppArmor profiles, procMount, fsGroupChangePolicy,
//! sysctls' names, and privilege escalation refused only when it is
//! implied (privileged, CAP_SYS_ADMIN).

use serde_json::Value;

use super::fields::{invalid_num, one_of};
use crate::error::Cause;

const ID_MSG: &str = "must be between 0 and 2147483647, inclusive";
const SECCOMP_TYPES: &[&str] = &["Localhost", "RuntimeDefault", "Unconfined"];
const APPARMOR_TYPES: &[&str] = &["Localhost", "RuntimeDefault", "Unconfined"];
const CAPABILITY_MSG: &str =
    "must be a Linux capability name: upper-case letters, digits and '_' (kubesim)";

fn id(out: &mut Vec<Cause>, sc: &Value, path: &str, f: &str) {
    if let Some(n) = sc.get(f).and_then(Value::as_i64)
        && !(0..=2_147_483_647).contains(&n)
    {
        out.push(invalid_num(&format!("{path}.{f}"), n, ID_MSG));
    }
}

/// `validateSeccompProfileField` and `ValidateAppArmorProfileField`:
/// a type required and supported, `localhostProfile` exactly when the
/// type is Localhost, as a relative path without `..`.
fn profile(out: &mut Vec<Cause>, sc: &Value, path: &str, f: &str, types: &[&str]) {
    let Some(p) = sc.get(f).filter(|v| !v.is_null()) else {
        return;
    };
    let path = format!("{path}.{f}");
    let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
    let what = if f == "seccompProfile" {
        "seccomp"
    } else {
        "AppArmor"
    };
    if ty.is_empty() {
        out.push(Cause::required(
            &format!("{path}.type"),
            &format!("type is required when {f} is set"),
        ));
    } else {
        one_of(out, &format!("{path}.type"), p.get("type"), types);
    }
    let local = p.get("localhostProfile").and_then(Value::as_str);
    let lpath = format!("{path}.localhostProfile");
    match (ty == "Localhost", local) {
        (true, None) => out.push(Cause::required(
            &lpath,
            &format!("must be set when {what} type is Localhost"),
        )),
        (true, Some(l)) if f == "seccompProfile" => {
            if l.starts_with('/') {
                out.push(Cause::invalid(&lpath, l, "must be a relative path"));
            }
            if l.split('/').any(|s| s == "..") {
                out.push(Cause::invalid(&lpath, l, "must not contain '..'"));
            }
        }
        (true, Some(l)) if l.trim() != l => out.push(Cause::invalid(
            &lpath,
            l,
            "must not be padded with whitespace",
        )),
        (true, Some("")) => out.push(Cause::required(
            &lpath,
            "must be set when AppArmor type is Localhost",
        )),
        (false, Some(_)) if f == "seccompProfile" => out.push(Cause::invalid_go(
            &lpath,
            "core.SeccompProfile{...}",
            "can only be set when seccomp type is Localhost",
        )),
        (false, Some(l)) if types.contains(&ty) => out.push(Cause::invalid(
            &lpath,
            l,
            "can only be set when AppArmor type is Localhost",
        )),
        _ => {}
    }
}

/// A container's `securityContext` at `path`.
pub fn container(sc: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(sc) = sc.filter(|v| !v.is_null()) else {
        return;
    };
    id(out, sc, path, "runAsUser");
    id(out, sc, path, "runAsGroup");
    one_of(
        out,
        &format!("{path}.procMount"),
        sc.get("procMount"),
        &["Default", "Unmasked"],
    );
    profile(out, sc, path, "seccompProfile", SECCOMP_TYPES);
    capabilities(out, sc, path);
    let flag = |f: &str| sc.get(f).and_then(Value::as_bool);
    if flag("allowPrivilegeEscalation") == Some(false) {
        if flag("privileged") == Some(true) {
            out.push(Cause::invalid_go(
                path,
                "core.SecurityContext{...}",
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds = sc.pointer("/capabilities/add").and_then(Value::as_array);
        for _ in adds
            .into_iter()
            .flatten()
            .filter(|c| c.as_str() == Some("CAP_SYS_ADMIN"))
        {
            out.push(Cause::invalid_go(
                path,
                "core.SecurityContext{...}",
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    profile(out, sc, path, "appArmorProfile", APPARMOR_TYPES);
}

/// Capability names.
///
/// # Caveats
/// The real server (1.32) does not check capability names at all (the
/// container runtime refuses unknown ones when the pod starts); kubesim
/// refuses names that cannot be one (empty, lower case, spaces).
fn capabilities(out: &mut Vec<Cause>, sc: &Value, path: &str) {
    for list in ["add", "drop"] {
        let caps = sc
            .pointer(&format!("/capabilities/{list}"))
            .and_then(Value::as_array);
        for (i, c) in caps.into_iter().flatten().enumerate() {
            let name = c.as_str().unwrap_or("");
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                out.push(Cause::invalid(
                    &format!("{path}.capabilities.{list}[{i}]"),
                    name,
                    CAPABILITY_MSG,
                ));
            }
        }
    }
}

/// The pod's `securityContext` at `path`.
pub fn pod(sc: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(sc) = sc.filter(|v| !v.is_null()) else {
        return;
    };
    id(out, sc, path, "fsGroup");
    id(out, sc, path, "runAsUser");
    id(out, sc, path, "runAsGroup");
    let groups = sc.get("supplementalGroups").and_then(Value::as_array);
    for (i, g) in groups.into_iter().flatten().enumerate() {
        if let Some(n) = g.as_i64()
            && !(0..=2_147_483_647).contains(&n)
        {
            out.push(invalid_num(
                &format!("{path}.supplementalGroups[{i}]"),
                n,
                ID_MSG,
            ));
        }
    }
    for (i, s) in sc
        .get("sysctls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        let field = format!("{path}.sysctls[{i}].name");
        if name.is_empty() {
            out.push(Cause::required_bare(&field));
        } else if !sysctl_name(name) {
            out.push(Cause::invalid(&field, name, SYSCTL_MSG));
        }
    }
    if let Some(p) = sc.get("fsGroupChangePolicy").and_then(Value::as_str) {
        one_of(
            out,
            &format!("{path}.fsGroupChangePolicy"),
            Some(&Value::from(p)),
            &["OnRootMismatch", "Always"],
        );
    }
    profile(out, sc, path, "seccompProfile", SECCOMP_TYPES);
    profile(out, sc, path, "appArmorProfile", APPARMOR_TYPES);
    one_of(
        out,
        &format!("{path}.supplementalGroupsPolicy"),
        sc.get("supplementalGroupsPolicy"),
        &["Merge", "Strict"],
    );
}

const SYSCTL_MSG: &str = "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";

/// `IsValidSysctlName`.
fn sysctl_name(name: &str) -> bool {
    let seg = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'))
    };
    name.len() <= 253 && name.split(['.', '/']).all(seg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(f: fn(Option<&Value>, &str, &mut Vec<Cause>), sc: Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        f(Some(&sc), "sc", &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.message))
            .collect()
    }

    #[test]
    fn valid_security_contexts_pass() {
        let c = json!({"runAsUser": 1000, "runAsGroup": 0, "runAsNonRoot": true,
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "seccompProfile": {"type": "RuntimeDefault"}});
        assert_eq!(fields(container, c), []);
        let p = json!({"fsGroup": 2000, "runAsUser": 1000, "supplementalGroups": [3000],
            "fsGroupChangePolicy": "OnRootMismatch", "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
            "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"}});
        assert_eq!(fields(pod, p), []);
    }

    #[test]
    fn container_security_context_rules() {
        let c = json!({"runAsUser": -1, "privileged": true, "allowPrivilegeEscalation": false,
            "procMount": "Masked", "capabilities": {"add": ["net_admin"]},
            "seccompProfile": {"type": "Localhost"}});
        let got = fields(container, c);
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "sc.runAsUser",
                "sc.procMount",
                "sc.seccompProfile.localhostProfile",
                "sc.capabilities.add[0]",
                "sc",
            ]
        );
        assert_eq!(
            got[0].1,
            "Invalid value: -1: must be between 0 and 2147483647, inclusive"
        );
        assert_eq!(
            got[2].1,
            "Required value: must be set when seccomp type is Localhost"
        );
        assert!(
            got[4].1.ends_with(
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
            )
        );
        let got = fields(
            container,
            json!({"seccompProfile": {"type": "Default", "localhostProfile": "/abs"}}),
        );
        assert_eq!(
            got,
            [
                (
                    "sc.seccompProfile.type".to_string(),
                    "Unsupported value: \"Default\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\"".to_string()
                ),
                (
                    "sc.seccompProfile.localhostProfile".to_string(),
                    "Invalid value: core.SeccompProfile{...}: can only be set when seccomp type is Localhost".to_string()
                ),
            ]
        );
    }

    #[test]
    fn pod_security_context_rules() {
        let p = json!({"fsGroup": -5, "supplementalGroups": [1, -2], "fsGroupChangePolicy": "Sometimes",
            "sysctls": [{"name": "Net.Core"}], "seccompProfile": {}});
        let got = fields(pod, p);
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "sc.fsGroup",
                "sc.supplementalGroups[1]",
                "sc.sysctls[0].name",
                "sc.fsGroupChangePolicy",
                "sc.seccompProfile.type",
            ]
        );
        assert_eq!(
            got[4].1,
            "Required value: type is required when seccompProfile is set"
        );
    }
}

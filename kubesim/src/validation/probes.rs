//! Probes and lifecycle hooks as `validateProbe`, `validateHandler` and
//! `validateLifecycle` check them: exactly one handler, its own fields
//! (exec command, httpGet path/port/scheme/headers, tcpSocket and grpc
//! ports), counts ≥ 0, and liveness and startup probes that succeed once.

use serde_json::Value;

use super::fields::{NEGATIVE, invalid_num, one_of, port_name, port_number};
use crate::error::Cause;

const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];
const COUNTS: &[&str] = &[
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
];
const PROBE_HANDLERS: &[&str] = &["exec", "httpGet", "tcpSocket", "grpc"];
const HOOK_HANDLERS: &[&str] = &["exec", "httpGet", "tcpSocket", "sleep"];
const HTTP_HEADER_MSG: &str = "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')";

/// The probes and lifecycle of the container at `path`; `init`: an init
/// container that is not a sidecar (`restartPolicy: Always`), which may
/// have none of them.
pub fn container(c: &Value, path: &str, init: bool, out: &mut Vec<Cause>) {
    for probe in PROBES {
        let Some(p) = c.get(*probe).filter(|v| !v.is_null()) else {
            continue;
        };
        let ppath = format!("{path}.{probe}");
        if init {
            out.push(Cause::forbidden(
                &ppath,
                "may not be set for init containers without restartPolicy=Always",
            ));
            continue;
        }
        handler(p, &ppath, PROBE_HANDLERS, out);
        for f in COUNTS {
            if let Some(n) = p.get(*f).and_then(Value::as_i64).filter(|n| *n < 0) {
                out.push(invalid_num(&format!("{ppath}.{f}"), n, NEGATIVE));
            }
        }
        if let Some(n) = p
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .filter(|n| *n <= 0)
        {
            out.push(invalid_num(
                &format!("{ppath}.terminationGracePeriodSeconds"),
                n,
                "must be greater than 0",
            ));
        }
        // Absent or 0 is defaulted to 1.
        let success = p.get("successThreshold").and_then(Value::as_i64);
        if *probe != "readinessProbe"
            && let Some(n) = success.filter(|n| *n != 1 && *n != 0)
        {
            out.push(invalid_num(
                &format!("{ppath}.successThreshold"),
                n,
                "must be 1",
            ));
        }
    }
    let Some(lc) = c.get("lifecycle").filter(|v| !v.is_null()) else {
        return;
    };
    if init {
        out.push(Cause::forbidden(
            &format!("{path}.lifecycle"),
            "may not be set for init containers without restartPolicy=Always",
        ));
        return;
    }
    for hook in ["postStart", "preStop"] {
        if let Some(h) = lc.get(hook).filter(|v| !v.is_null()) {
            handler(h, &format!("{path}.lifecycle.{hook}"), HOOK_HANDLERS, out);
        }
    }
}

/// `validateHandler`: the first handler present is checked, any further
/// one is forbidden, none is required.
fn handler(h: &Value, path: &str, kinds: &[&str], out: &mut Vec<Cause>) {
    let mut found = 0;
    for kind in kinds {
        let Some(x) = h.get(*kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let field = format!("{path}.{kind}");
        if found > 0 {
            out.push(Cause::forbidden(
                &field,
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        found += 1;
        match *kind {
            "exec" => {
                if x.get("command")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
                {
                    out.push(Cause::required_bare(&format!("{field}.command")));
                }
            }
            "httpGet" => http_get(x, &field, out),
            "tcpSocket" => port_num_or_name(x.get("port"), &format!("{field}.port"), out),
            "grpc" => port_number(
                out,
                &format!("{field}.port"),
                x.get("port").and_then(Value::as_i64).unwrap_or(0),
            ),
            _ => {
                if let Some(s) = x.get("seconds").and_then(Value::as_i64).filter(|s| *s < 0) {
                    out.push(invalid_num(&format!("{field}.seconds"), s, NEGATIVE));
                }
            }
        }
    }
    if found == 0 {
        out.push(Cause::required(path, "must specify a handler type"));
    }
}

fn http_get(x: &Value, field: &str, out: &mut Vec<Cause>) {
    // path ("/") and scheme ("HTTP") are defaulted when empty.
    port_num_or_name(x.get("port"), &format!("{field}.port"), out);
    if let Some(s) = x.get("scheme").filter(|s| s.as_str() != Some("")) {
        one_of(out, &format!("{field}.scheme"), Some(s), &["HTTP", "HTTPS"]);
    }
    for h in x
        .get("httpHeaders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = h.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            out.push(Cause::invalid(
                &format!("{field}.httpHeaders"),
                name,
                HTTP_HEADER_MSG,
            ));
        }
    }
}

/// `ValidatePortNumOrName` (absent is port 0).
fn port_num_or_name(p: Option<&Value>, field: &str, out: &mut Vec<Cause>) {
    match p {
        Some(Value::String(s)) => port_name(out, field, s),
        other => port_number(out, field, other.and_then(Value::as_i64).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(c: Value, init: bool) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        container(&c, "c", init, &mut out);
        out.into_iter()
            .map(|c| (c.field.unwrap(), c.reason, c.message))
            .collect()
    }

    #[test]
    fn valid_probes_and_hooks_pass() {
        let c = json!({
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTPS",
                "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
            "readinessProbe": {"tcpSocket": {"port": 5432}, "successThreshold": 3},
            "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
            "lifecycle": {"preStop": {"sleep": {"seconds": 5}}}});
        assert_eq!(causes(c, false), []);
    }

    #[test]
    fn probe_rules() {
        let c = json!({
            "livenessProbe": {"httpGet": {"port": 70000}, "exec": {"command": ["x"]},
                "successThreshold": 2},
            "readinessProbe": {"periodSeconds": -1, "tcpSocket": {"port": "HTTP"}},
            "startupProbe": {"exec": {}, "successThreshold": 3},
            "lifecycle": {"postStart": {}}});
        let got = causes(c, false);
        let fields: Vec<(&str, &str)> = got.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            fields,
            [
                ("c.livenessProbe.httpGet", "FieldValueForbidden"),
                ("c.livenessProbe.successThreshold", "FieldValueInvalid"),
                ("c.readinessProbe.tcpSocket.port", "FieldValueInvalid"),
                ("c.readinessProbe.tcpSocket.port", "FieldValueInvalid"),
                ("c.readinessProbe.periodSeconds", "FieldValueInvalid"),
                ("c.startupProbe.exec.command", "FieldValueRequired"),
                ("c.startupProbe.successThreshold", "FieldValueInvalid"),
                ("c.lifecycle.postStart", "FieldValueRequired"),
            ]
        );
        assert_eq!(got[1].2, "Invalid value: 2: must be 1");
        assert_eq!(got[7].2, "Required value: must specify a handler type");
        assert_eq!(
            causes(json!({"httpGet": {}}), false),
            [],
            "not a probe field"
        );
        let none = causes(json!({"livenessProbe": {}}), false);
        assert_eq!(none[0].0, "c.livenessProbe");
    }

    #[test]
    fn init_containers_may_not_have_probes() {
        let got = causes(
            json!({"readinessProbe": {"exec": {"command": ["x"]}}}),
            true,
        );
        assert_eq!(
            got,
            [(
                "c.readinessProbe".to_string(),
                "FieldValueForbidden",
                "Forbidden: may not be set for init containers without restartPolicy=Always"
                    .to_string()
            )]
        );
    }
}

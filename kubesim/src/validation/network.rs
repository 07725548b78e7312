//! Services, Ingresses and NetworkPolicies: ports (ranges, names,
//! protocols, node ports), Ingress hosts, paths and backends.

use std::collections::HashSet;

use serde_json::Value;

use super::fields::{
    at, dns_label, dns_subdomain, dns1035_label, duplicate, items, one_of, port_name, port_number,
    present, str_at,
};
use crate::error::Cause;
use crate::validate;

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];

/// A Service's ports, node ports, selector and external name.
pub fn service(obj: &Value, out: &mut Vec<Cause>) {
    let ty = str_at(obj, "spec.type").unwrap_or("ClusterIP");
    session_affinity(obj, out);
    if ty != "LoadBalancer"
        && at(obj, "spec.allocateLoadBalancerNodePorts").is_some_and(|v| !v.is_null())
    {
        out.push(Cause::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    let headless = str_at(obj, "spec.clusterIP") == Some("None");
    let ports = items(at(obj, "spec"), "ports");
    if ports.is_empty() && ty != "ExternalName" && !headless {
        out.push(Cause::required_bare("spec.ports"));
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        match p
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            None if ports.len() > 1 => out.push(Cause::required_bare(&format!("{path}.name"))),
            None => {}
            Some(n) => {
                dns_label(out, &format!("{path}.name"), n);
                if !names.insert(n) {
                    out.push(duplicate(&format!("{path}.name"), n));
                }
            }
        }
        one_of(
            out,
            &format!("{path}.protocol"),
            p.get("protocol"),
            PROTOCOLS,
        );
        port_number(
            out,
            &format!("{path}.port"),
            p.get("port").and_then(Value::as_i64).unwrap_or(0),
        );
        match p.get("targetPort") {
            Some(Value::Number(n)) => {
                port_number(out, &format!("{path}.targetPort"), n.as_i64().unwrap_or(0))
            }
            Some(Value::String(s)) => port_name(out, &format!("{path}.targetPort"), s),
            _ => {}
        }
        node_port(p, &path, ty, out);
    }
    duplicate_ports(ports, out);
    validate::label_causes("spec.selector", at(obj, "spec.selector"), out);
    if ty == "ExternalName" {
        match str_at(obj, "spec.externalName").filter(|s| !s.is_empty()) {
            None => out.push(Cause::required_bare("spec.externalName")),
            Some(n) => dns_subdomain(out, "spec.externalName", n),
        }
    }
}

/// The same nodePort twice for one protocol, the same (port, protocol)
/// twice; the real message dumps the Go struct of the pair's key.
fn duplicate_ports(ports: &[Value], out: &mut Vec<Cause>) {
    let protocol = |p: &Value| {
        p.get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string()
    };
    let num = |p: &Value, f: &str| p.get(f).and_then(Value::as_i64).unwrap_or(0);
    let mut node_ports = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let n = num(p, "nodePort");
        if n != 0 && !node_ports.insert((protocol(p), n)) {
            out.push(Cause {
                reason: "FieldValueDuplicate",
                message: format!("Duplicate value: {n}"),
                field: Some(format!("spec.ports[{i}].nodePort")),
            });
        }
    }
    let mut pairs = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let (proto, port) = (protocol(p), num(p, "port"));
        if !pairs.insert((proto.clone(), port)) {
            out.push(Cause {
                reason: "FieldValueDuplicate",
                message: format!(
                    "Duplicate value: core.ServicePort{{Name:\"\", Protocol:{proto:?}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}"
                ),
                field: Some(format!("spec.ports[{i}]")),
            });
        }
    }
}

fn node_port(p: &Value, path: &str, ty: &str, out: &mut Vec<Cause>) {
    let Some(n) = p
        .get("nodePort")
        .and_then(Value::as_i64)
        .filter(|n| *n != 0)
    else {
        return;
    };
    let field = format!("{path}.nodePort");
    if ty == "ClusterIP" || ty == "ExternalName" {
        out.push(Cause::forbidden(
            &field,
            &format!("may not be used when `type` is '{ty}'"),
        ));
    } else if !(30000..=32767).contains(&n) {
        out.push(Cause::invalid_go(
            &field,
            &n.to_string(),
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        ));
    }
}

/// An Ingress: rules or a default backend, hosts, paths, backends.
pub fn ingress(obj: &Value, out: &mut Vec<Cause>) {
    let rules = items(at(obj, "spec"), "rules");
    let default = present(obj, "spec.defaultBackend");
    if rules.is_empty() && default.is_none() {
        out.push(Cause::invalid_go(
            "spec",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default {
        backend(b, "spec.defaultBackend", out);
    }
    if let Some(c) = str_at(obj, "spec.ingressClassName") {
        dns_subdomain(out, "spec.ingressClassName", c);
    }
    for (i, r) in rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        if let Some(h) = r
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
        {
            host(h, &format!("{path}.host"), out);
        }
        for (j, p) in items(r.get("http"), "paths").iter().enumerate() {
            http_path(p, &format!("{path}.http.paths[{j}]"), out);
        }
    }
    for (i, t) in items(at(obj, "spec"), "tls").iter().enumerate() {
        for (j, h) in items(Some(t), "hosts").iter().enumerate() {
            if let Some(h) = h.as_str() {
                host(h, &format!("spec.tls[{i}].hosts[{j}]"), out);
            }
        }
    }
}

fn host(h: &str, field: &str, out: &mut Vec<Cause>) {
    if h.parse::<std::net::IpAddr>().is_ok() {
        out.push(Cause::invalid(
            field,
            h,
            "must be a DNS name, not an IP address",
        ));
    } else if let Some(rest) = h.strip_prefix("*.") {
        if !validate::is_dns1123_subdomain(rest) {
            out.push(Cause::invalid(field, h, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }
    } else {
        dns_subdomain(out, field, h);
    }
}

fn http_path(p: &Value, path: &str, out: &mut Vec<Cause>) {
    let ty = p.get("pathType").and_then(Value::as_str);
    match ty {
        None => out.push(Cause::required(
            &format!("{path}.pathType"),
            "pathType must be specified",
        )),
        Some(_) => one_of(
            out,
            &format!("{path}.pathType"),
            p.get("pathType"),
            PATH_TYPES,
        ),
    }
    let text = p.get("path").and_then(Value::as_str).unwrap_or("");
    if matches!(ty, Some("Exact" | "Prefix")) && !text.starts_with('/') {
        out.push(Cause::invalid(
            &format!("{path}.path"),
            text,
            "must be an absolute path",
        ));
    }
    match p.get("backend") {
        Some(b) => backend(b, &format!("{path}.backend"), out),
        None => out.push(Cause::required_bare(&format!("{path}.backend"))),
    }
}

fn backend(b: &Value, path: &str, out: &mut Vec<Cause>) {
    let Some(svc) = b.get("service") else {
        if b.get("resource").is_none() {
            out.push(Cause::invalid_go(
                path,
                "networking.IngressBackend{...}",
                "one backend (service or resource) must be specified",
            ));
        }
        return;
    };
    match svc
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        None => out.push(Cause::required_bare(&format!("{path}.service.name"))),
        Some(n) => dns1035_label(out, &format!("{path}.service.name"), n),
    }
    let port = svc.get("port");
    let (name, number) = (
        port.and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty()),
        port.and_then(|p| p.get("number"))
            .and_then(Value::as_i64)
            .filter(|n| *n != 0),
    );
    let field = format!("{path}.service.port");
    match (name, number) {
        (Some(_), Some(_)) => out.push(Cause::invalid_go(
            &field,
            "networking.ServiceBackendPort{...}",
            "cannot set both port name & port number",
        )),
        (Some(n), None) => port_name(out, &format!("{field}.name"), n),
        (None, Some(n)) => port_number(out, &format!("{field}.number"), n),
        (None, None) => out.push(Cause::required(&field, "port name or number is required")),
    }
}

/// A NetworkPolicy: policy types, peers' ports, selectors.
/// `sessionAffinityConfig`: forbidden with `None`; with `ClientIP` a
/// timeout in 1-86400 (left out, the real server defaults it to 10800).
fn session_affinity(obj: &Value, out: &mut Vec<Cause>) {
    let config = at(obj, "spec.sessionAffinityConfig").filter(|v| !v.is_null());
    match str_at(obj, "spec.sessionAffinity") {
        Some("None") | None if config.is_some() => out.push(Cause::forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
        )),
        Some("ClientIP") => {
            if let Some(t) = at(obj, "spec.sessionAffinityConfig.clientIP.timeoutSeconds")
                .and_then(Value::as_i64)
                && !(1..=86400).contains(&t)
            {
                out.push(Cause::invalid_go(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    &t.to_string(),
                    "must be greater than 0 and less than 86400",
                ));
            }
        }
        _ => {}
    }
}

pub fn network_policy(obj: &Value, out: &mut Vec<Cause>) {
    if let Some(sel) = at(obj, "spec.podSelector").filter(|v| !v.is_null()) {
        super::scheduling::label_selector(sel, "spec.podSelector", out);
    }
    for (i, t) in items(at(obj, "spec"), "policyTypes").iter().enumerate() {
        one_of(
            out,
            &format!("spec.policyTypes[{i}]"),
            Some(t),
            &["Egress", "Ingress"],
        );
    }
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in items(at(obj, "spec"), dir).iter().enumerate() {
            for (j, peer) in items(Some(rule), peers).iter().enumerate() {
                network_peer(peer, &format!("spec.{dir}[{i}].{peers}[{j}]"), out);
            }
            for (j, p) in items(Some(rule), "ports").iter().enumerate() {
                let path = format!("spec.{dir}[{i}].ports[{j}]");
                one_of(
                    out,
                    &format!("{path}.protocol"),
                    p.get("protocol"),
                    PROTOCOLS,
                );
                match p.get("port") {
                    Some(Value::Number(n)) => {
                        port_number(out, &format!("{path}.port"), n.as_i64().unwrap_or(0))
                    }
                    Some(Value::String(s)) => port_name(out, &format!("{path}.port"), s),
                    _ => {}
                }
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer` (an ipBlock is refused as not validated,
/// see `unvalidated.rs`).
fn network_peer(peer: &Value, path: &str, out: &mut Vec<Cause>) {
    let mut peers = 0;
    for sel in ["podSelector", "namespaceSelector"] {
        if let Some(s) = peer.get(sel).filter(|v| !v.is_null()) {
            peers += 1;
            super::scheduling::label_selector(s, &format!("{path}.{sel}"), out);
        }
    }
    let ip_block = peer.get("ipBlock").is_some_and(|v| !v.is_null());
    if ip_block {
        peers += 1;
    }
    if peers == 0 {
        out.push(Cause::required(path, "must specify a peer"));
    } else if peers > 1 && ip_block {
        out.push(Cause::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
}

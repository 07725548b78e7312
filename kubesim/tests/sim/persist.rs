//! `--state FILE` (issue 7): objects and the resourceVersion counter
//! survive a restart of the library instance and a SIGKILL of the binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::client::{Client, eventually};

pub fn tmp(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-state-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn decode_base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    String::from_utf8(out).unwrap()
}

/// The binary with `--state DIR/state.jsonl` and `extra` arguments;
/// returns the child and a client.
pub fn start_binary(dir: &std::path::Path, extra: &[&str]) -> (Child, Client) {
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--port", "0", "--no-controllers", "--token", "admin"])
        .args(extra) // after --port 0: a later --port wins
        .arg("--state")
        .arg(dir.join("state.jsonl"))
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubesim binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let ca = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
        .unwrap()
        .trim()
        .to_string();
    (
        child,
        Client::from_parts(port, "admin", &decode_base64(&ca)),
    )
}

fn rv(c: &Client) -> u64 {
    c.get("/_sim/stats").json()["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn state_survives_a_sigkill_and_restart() {
    let dir = tmp("kill");
    let (mut child, c) = start_binary(&dir, &[]);
    let ns = "/api/v1/namespaces/default/configmaps";
    for i in 0..20 {
        let r = c.post_json(
            ns,
            &json!({"metadata": {"name": format!("cm-{i}")}, "data": {"i": i.to_string()}}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = c.post_json(
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "upgrade"}}),
    );
    assert_eq!(r.status, 201);
    let before = rv(&c);
    let objects = c.get("/_sim/stats").json()["objects"].clone();
    // At most 100 ms are lost: wait a little longer, then kill -9.
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    let _ = child.wait();

    let (mut child, c) = start_binary(&dir, &[]);
    assert_eq!(rv(&c), before, "the counter is restored");
    assert_eq!(c.get("/_sim/stats").json()["objects"], objects);
    let cm = c.get(&format!("{ns}/cm-7")).json();
    assert_eq!(cm["data"]["i"], "7");
    assert_eq!(c.get("/api/v1/namespaces/upgrade").status, 200);
    // Writes continue above the saved counter; a watch from it works.
    let (resp, rx) = c.watch(&format!("{ns}?watch=1&resourceVersion={before}"));
    assert_eq!(resp.status, 200);
    let r = c.post_json(ns, &json!({"metadata": {"name": "after"}}));
    assert_eq!(r.status, 201);
    let new_rv: u64 = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new_rv > before, "{new_rv} <= {before}");
    let ev = crate::client::take_events(&rx, 1, Duration::from_secs(2));
    assert_eq!(ev[0]["object"]["metadata"]["name"], "after");
    assert_eq!(
        c.post_json(ns, &json!({"metadata": {"name": "cm-3"}}))
            .status,
        409
    );
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_instance_restarts_from_its_state() {
    let dir = tmp("lib");
    let state = dir.join("state");
    let opts = || kubesim::Options {
        controllers: false,
        state: Some(state.clone()),
        ..Default::default()
    };
    let sim = kubesim::spawn_with(opts()).unwrap();
    let (token, ca) = (sim.token.clone(), sim.ca_pem.clone());
    let c = Client::new(&sim);
    let r = c.post_json(
        "/apis/apps/v1/namespaces/default/deployments",
        &json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
                }
            }
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    eventually("the state file holds the deployment", || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"name\":\"web\""))
    });
    // Written just before a clean stop: saved by the stop.
    let r = c.post_json(
        "/api/v1/namespaces/default/configmaps",
        &json!({"metadata": {"name": "last"}}),
    );
    assert_eq!(r.status, 201);
    let before = rv(&c);
    drop(sim);
    let sim = kubesim::spawn_with(opts()).unwrap();
    // Same CA and token: a client's kubeconfig stays valid but for the port.
    assert_eq!((&sim.token, &sim.ca_pem), (&token, &ca));
    let c = Client::new(&sim);
    assert_eq!(rv(&c), before);
    let got = c
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .json();
    assert_eq!(got, created, "byte-for-byte the same object");
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_state_file_is_an_error() {
    let dir = tmp("broken");
    let state = dir.join("state");
    std::fs::write(&state, "not json\n").unwrap();
    let err = kubesim::spawn_with(kubesim::Options {
        controllers: false,
        state: Some(state),
        ..Default::default()
    })
    .err()
    .expect("a broken state does not start");
    assert!(err.to_string().contains(":1:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restart_on_the_same_port_keeps_the_kubeconfig_valid() {
    let dir = tmp("port");
    let (mut child, c) = start_binary(&dir, &[]);
    let kubeconfig = std::fs::read_to_string(dir.join("kubeconfig")).unwrap();
    let port = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .unwrap()
        .to_string();
    let ns = "/api/v1/namespaces/default/configmaps";
    assert_eq!(
        c.post_json(ns, &json!({"metadata": {"name": "a"}})).status,
        201
    );
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    let _ = child.wait();
    let (mut child, _) = start_binary(&dir, &["--port", &port]);
    // The client of the first instance (its CA, its token) still works.
    assert_eq!(c.get(&format!("{ns}/a")).status, 200);
    assert_eq!(
        std::fs::read_to_string(dir.join("kubeconfig")).unwrap(),
        kubeconfig
    );
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

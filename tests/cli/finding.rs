//! Issue 16: the four promise commands exactly as written, from a
//! kubeconfig whose context namespace is `default`; a killed client never
//! blocks the next command; thebot names itself to the API server.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::sim::Sim;

const FOUND: &str = "using release thebot-dev in namespace thebot-dev, the only one visible";

#[test]
fn the_whole_flow_runs_without_naming_the_release() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"])
        .ok();
    let status = sim.thebot(&["status"]);
    assert!(
        status.ok().contains("NAME: thebot-dev"),
        "{}",
        status.stdout
    );
    assert!(status.stderr.contains(FOUND), "{}", status.stderr);

    let up = sim.thebot(&["upgrade", "--set", "app.logLevel=DEBUG", "--timeout", "2m"]);
    assert!(up.ok().contains("revision 2 deployed"), "{}", up.stdout);
    assert!(up.stderr.contains(FOUND), "{}", up.stderr);

    let history = sim.thebot(&["history", "-o", "json"]);
    let h: Value = serde_json::from_str(history.ok()).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 2, "{h}");

    let back = sim.thebot(&["rollback", "1", "--timeout", "2m"]);
    assert!(back.ok().contains("revision 3 deployed"), "{}", back.stdout);

    let diff = sim.thebot(&["diff"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);

    let gone = sim.thebot(&["uninstall"]);
    assert!(gone.ok().contains("uninstalled"), "{}", gone.stdout);
    assert!(
        sim.list("/api/v1/namespaces/thebot-dev/secrets?labelSelector=owner%3Dthebot")
            .is_empty(),
        "the records are gone"
    );
}

#[test]
fn two_visible_releases_are_listed_never_chosen() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--wait=false"])
        .ok();
    sim.thebot(&[
        "install",
        "dev",
        "--name",
        "other",
        "-n",
        "other",
        "--create-namespace",
        "--wait=false",
    ])
    .ok();
    for cmd in [
        &["status"][..],
        &["upgrade", "--wait=false"],
        &["rollback", "1"],
    ] {
        sim.thebot(cmd).fails_with(
            1,
            &[
                "several releases are visible",
                "thebot-dev (namespace thebot-dev): --name thebot-dev -n thebot-dev",
                "other (namespace other): --name other -n other",
            ],
        );
    }
    // Naming one is enough when its name is unique.
    let s = sim.thebot(&["status", "--name", "other"]);
    assert!(s.ok().contains("NAMESPACE: other"), "{}", s.stdout);
}

#[test]
fn no_release_anywhere_exits_1() {
    let sim = Sim::start();
    sim.thebot(&["status"])
        .fails_with(1, &["no release is visible in any namespace"]);
}

#[test]
fn a_user_who_may_not_list_across_namespaces_is_told_to_pass_n() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--wait=false"])
        .ok();
    // kubesim lets an impersonated service account read its own namespace only.
    let viewer = "system:serviceaccount:thebot-dev:viewer";
    sim.thebot(&["status", "--as", viewer]).fails_with(
        1,
        &[
            "listing releases in all namespaces is not allowed",
            "pass -n NAMESPACE",
        ],
    );
    let s = sim.thebot(&["status", "--as", viewer, "-n", "thebot-dev"]);
    assert!(s.ok().contains("NAME: thebot-dev"), "{}", s.stderr);
}

/// An upgrade killed with SIGKILL while stage 3 runs.
fn kill_during_prepare(sim: &Sim) {
    let mut child = sim.spawn(&["upgrade", "--set", "images.backend.tag=slow-200"], &[]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("thebot ended before stage 3:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("3-prepare") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_killed_upgrade_on_this_host_is_taken_over_at_once() {
    let sim = Sim::with_dev();
    kill_during_prepare(&sim);
    // The default 30 s Lease is still fresh: only the dead pid lets this go.
    let started = Instant::now();
    let out = sim.thebot(&[
        "upgrade",
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ]);
    assert!(out.ok().contains("revision 3 deployed"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("its process is no longer running on this host"),
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    let h = sim.history("thebot-dev");
    assert_eq!(h[1].1, "failed", "{h:?}");
    assert_eq!(h[2].1, "deployed", "{h:?}");
}

fn forge_lease(sim: &Sim, holder: &str, renewed_ago: i64, duration: i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stamp = |secs: i64| {
        let out = std::process::Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{secs}"),
                "+%Y-%m-%dT%H:%M:%S.000000Z",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "thebot-lock-thebot-dev", "namespace": "thebot-dev",
                     "labels": {"owner": "thebot", "name": "thebot-dev"}},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                 "acquireTime": stamp(now - renewed_ago), "renewTime": stamp(now - renewed_ago)}
    });
    let (code, body) = sim.request(
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/thebot-dev/leases",
        "application/json",
        Some(&lease),
    );
    assert_eq!(code, 201, "{body}");
}

#[test]
fn a_silent_holder_on_another_host_is_waited_out_then_taken_over() {
    let sim = Sim::with_dev();
    // Renewed 7-8 s ago (whole-second stamps), 9 s Lease renewed every
    // 3 s: two renewals missed, not yet expired.
    forge_lease(&sim, "ann@far-away-host/12345", 7, 9);
    let started = Instant::now();
    let out = sim.thebot(&["upgrade", "--wait=false"]);
    assert!(out.ok().contains("revision 2 deployed"), "{}", out.stderr);
    assert!(out.stderr.contains("stopped renewing"), "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(9 + 2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_live_holder_is_refused_at_once() {
    let sim = Sim::with_dev();
    forge_lease(&sim, "ann@far-away-host/12345", 0, 30);
    let started = Instant::now();
    sim.thebot(&["upgrade", "--wait=false"]).fails_with(
        1,
        &["another operation on release thebot-dev is in progress: held by ann@far-away-host/12345"],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn thebot_names_itself_to_the_api_server() {
    let sim = Sim::start();
    let out = sim.thebot(&["list", "-v"]);
    out.ok();
    assert!(
        out.stderr
            .contains(concat!("User-Agent thebot/", env!("CARGO_PKG_VERSION"))),
        "-v names the agent:\n{}",
        out.stderr
    );
    let counts = sim.get("/_sim/requests");
    let agents: Vec<&str> = counts["byUserAgent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["userAgent"].as_str())
        .collect();
    assert!(
        agents
            .iter()
            .any(|a| a.starts_with(concat!("thebot/", env!("CARGO_PKG_VERSION"), " ("))),
        "{agents:?}"
    );
}

//! `--atomic` and machine-readable results (issue 12).

use serde::Deserialize;

use crate::sim::Sim;

/// The documented schema of `install|upgrade|rollback -o json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct DeployReport {
    name: String,
    namespace: String,
    revision: u32,
    status: String,
    description: String,
    duration_seconds: f64,
    created: Vec<String>,
    configured: Vec<String>,
    unchanged: Vec<String>,
    deleted: Vec<String>,
    notes: String,
}

#[test]
fn deploy_results_as_json_follow_the_documented_schema() {
    let sim = Sim::start();
    let out = sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-o",
        "json",
    ]);
    let r: DeployReport = serde_json::from_str(out.ok()).unwrap();
    assert_eq!((r.revision, r.status.as_str()), (1, "deployed"));
    assert_eq!(r.created.len(), 25);
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--timeout",
        "2m",
        "-o",
        "json",
    ]);
    let r: DeployReport = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(r.unchanged.len(), 25);
}

fn history(sim: &Sim) -> Vec<(u64, String, String)> {
    sim.history("thebot-dev")
}

#[test]
fn an_atomic_upgrade_puts_the_previous_images_back() {
    let sim = Sim::with_dev();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--atomic",
        "--set",
        "images.frontend.tag=crashloop",
        "--timeout",
        "2m",
    ]);
    out.fails_with(
        4,
        &[
            "CrashLoopBackOff",
            "rolled back to revision 1 (now revision 3, deployed)",
        ],
    );
    let h = assert_frontend_restored(&sim);
    assert!(h[2].2.contains("Rollback to 1"), "{h:?}");
}

#[test]
fn a_failed_atomic_install_removes_what_it_created_and_nothing_else() {
    let sim = Sim::start();
    let (code, _) = sim.request(
        "POST",
        "/api/v1/namespaces",
        "application/json",
        Some(&serde_json::json!({"metadata": {"name": "thebot-dev"}})),
    );
    assert_eq!(code, 201);
    let mine = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-thebots", "namespace": "thebot-dev"}, "data": {"a": "b"}});
    let (code, _) = sim.request(
        "POST",
        "/api/v1/namespaces/thebot-dev/configmaps",
        "application/json",
        Some(&mine),
    );
    assert_eq!(code, 201);
    let out = sim.thebot(&[
        "install",
        "dev",
        "--atomic",
        "--set",
        "images.frontend.tag=crashloop",
        "--timeout",
        "2m",
    ]);
    out.fails_with(4, &["removed the", "objects the install created"]);
    assert!(
        sim.list("/apis/apps/v1/namespaces/thebot-dev/deployments")
            .is_empty()
    );
    assert!(
        sim.list("/apis/apps/v1/namespaces/thebot-dev/statefulsets")
            .is_empty()
    );
    let cms: Vec<String> = sim
        .list("/api/v1/namespaces/thebot-dev/configmaps")
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(cms.contains(&"not-thebots".to_string()), "{cms:?}");
    assert!(!cms.contains(&"thebot-dev-config".to_string()), "{cms:?}");
}

#[test]
fn ctrl_c_during_an_atomic_upgrade_rolls_back_too() {
    use std::io::{BufRead, BufReader};

    let sim = Sim::start();
    sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-q",
    ])
    .ok();
    // The new frontend never becomes ready: the upgrade waits in stage 4.
    let mut child = sim.spawn(
        &[
            "upgrade",
            "-n",
            "thebot-dev",
            "--atomic",
            "--set",
            "images.frontend.tag=hang",
            "--timeout",
            "10m",
        ],
        &[],
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("Deployment/thebot-dev/thebot-dev-frontend:") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(kill.unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{seen}{rest}");
    assert!(rest.contains("interrupted by SIGINT"), "{rest}");
    assert!(rest.contains("rolled back to revision 1"), "{rest}");
    assert_frontend_restored(&sim);
}

/// The frontend runs revision 1's image again, and history shows the
/// failed revision 2 and the rollback revision 3.
fn assert_frontend_restored(sim: &Sim) -> Vec<(u64, String, String)> {
    let d = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-frontend");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/the-bot/thebot-frontend:1.4.0"
    );
    let h = history(sim);
    assert_eq!(
        h.iter()
            .map(|(r, s, _)| (*r, s.as_str()))
            .collect::<Vec<_>>(),
        [(1, "superseded"), (2, "failed"), (3, "deployed")]
    );
    h
}

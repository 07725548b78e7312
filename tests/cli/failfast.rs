//! Failing fast with the reason (issue 11): kubesim's image-tag faults.

use std::time::{Duration, Instant};

use crate::sim::Sim;

fn installed() -> Sim {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"])
        .ok();
    sim
}

#[test]
fn a_crash_looping_backend_fails_in_seconds_with_its_reason_and_log() {
    let sim = installed();
    let started = Instant::now();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.frontend.tag=crashloop",
        "--timeout",
        "10m",
    ]);
    out.fails_with(
        4,
        &[
            "Deployment/thebot-dev/thebot-dev-frontend",
            "CrashLoopBackOff",
            "container frontend",
            "restart",
        ],
    );
    assert!(
        out.stderr.contains("log lines"),
        "the log is shown:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Events"),
        "events are shown:\n{}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "did not wait for the 10m timeout"
    );
}

#[test]
fn an_image_that_cannot_be_pulled_is_named() {
    let sim = installed();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.frontend.tag=pullfail",
        "--timeout",
        "10m",
    ]);
    out.fails_with(4, &["thebot-dev-frontend", "ImagePull"]);
}

#[test]
fn a_failed_migration_shows_the_jobs_log_and_leaves_the_backend() {
    let sim = installed();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=jobfail",
        "--timeout",
        "10m",
    ]);
    out.fails_with(4, &["thebot-dev-migrate-", "log lines"]);
    let d = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/the-bot/thebot-backend:1.4.0"
    );
}

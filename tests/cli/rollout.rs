//! Staged rollouts that wait (issue 9): kubesim's controllers roll the
//! platform out, stall or fail, and thebot waits stage by stage.

use serde_json::Value;

use crate::sim::Sim;

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{haystack}"))
}

fn statuses(sim: &Sim) -> Vec<(u64, String)> {
    sim.history("thebot-dev")
        .into_iter()
        .map(|(r, s, _)| (r, s))
        .collect()
}

fn backend_image(sim: &Sim) -> String {
    let d = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn job_names(sim: &Sim) -> Vec<String> {
    let mut names: Vec<String> = sim
        .list("/apis/batch/v1/namespaces/thebot-dev/jobs")
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn install_waits_stage_by_stage() {
    let sim = Sim::start();
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"]);
    assert!(out.ok().contains("revision 1 deployed"), "{}", out.stdout);
    let err = &out.stderr;
    let order = [
        "==> 1-config",
        "✓ 1-config ready",
        "==> 2-data",
        "✓ StatefulSet/thebot-dev/thebot-dev-postgresql ready after",
        "✓ 2-data ready",
        "==> 3-prepare",
        "✓ 3-prepare ready",
        "==> 4-app",
        "✓ Deployment/thebot-dev/thebot-dev-backend ready after",
        "✓ 4-app ready",
    ];
    let positions: Vec<usize> = order.iter().map(|n| position(err, n)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "stages in order:\n{err}"
    );
    for j in sim.list("/apis/batch/v1/namespaces/thebot-dev/jobs") {
        let complete = j["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Complete" && c["status"] == "True");
        assert!(complete, "hook Job {} completed", j["metadata"]["name"]);
    }
}

#[test]
fn a_config_change_rolls_the_pods_and_reruns_no_job() {
    let sim = Sim::with_dev();
    let jobs = job_names(&sim);
    let before = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ])
    .ok();
    let after = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    let sum =
        |d: &Value| d["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone();
    assert_ne!(sum(&before), sum(&after), "the checksum rolls the backend");
    assert!(after["metadata"]["generation"].as_i64() > before["metadata"]["generation"].as_i64());
    assert_eq!(job_names(&sim), jobs, "no hook Job ran again");
}

#[test]
fn an_image_change_runs_the_new_migration_before_the_backend_rolls() {
    let sim = Sim::with_dev();
    let old_jobs = job_names(&sim);
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ]);
    out.ok();
    let jobs = job_names(&sim);
    let new_migrate: Vec<&String> = jobs
        .iter()
        .filter(|j| j.contains("-migrate-") && !old_jobs.contains(j))
        .collect();
    assert_eq!(new_migrate.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs.iter().filter(|j| j.contains("-migrate-")).count(),
        1,
        "the previous migration Job was deleted after success"
    );
    let err = &out.stderr;
    assert!(
        position(
            err,
            &format!("✓ Job/thebot-dev/{} ready after", new_migrate[0])
        ) < position(err, "==> 4-app"),
        "{err}"
    );
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.5.0");
}

#[test]
fn a_failed_migration_stops_before_the_backend_changes() {
    let sim = Sim::with_dev();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=jobfail",
        "--timeout",
        "2m",
    ]);
    out.fails_with(4, &["thebot-dev-migrate-", "BackoffLimitExceeded"]);
    assert!(
        !out.stderr.contains("==> 4-app"),
        "stage 4 never started:\n{}",
        out.stderr
    );
    assert_eq!(
        backend_image(&sim),
        "ghcr.io/the-bot/thebot-backend:1.4.0",
        "the old backend keeps serving"
    );
    assert_eq!(
        statuses(&sim),
        [(1, "deployed".into()), (2, "failed".into())]
    );
}

#[test]
fn a_slow_image_succeeds_within_the_timeout() {
    let sim = Sim::with_dev();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.frontend.tag=slow-20",
        "--timeout",
        "2m",
    ]);
    assert!(out.ok().contains("revision 2 deployed"), "{}", out.stderr);
}

#[test]
fn an_image_that_never_becomes_ready_times_out_with_exit_3() {
    let sim = Sim::with_dev();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "images.frontend.tag=hang",
        "--timeout",
        "8s",
    ]);
    out.fails_with(
        3,
        &["timed out", "Deployment/thebot-dev/thebot-dev-frontend"],
    );
    assert_eq!(
        statuses(&sim),
        [(1, "deployed".into()), (2, "failed".into())]
    );
}

#[test]
fn status_shows_the_platform_live() {
    let sim = Sim::with_dev();
    let status: Value = serde_json::from_str(
        sim.thebot(&["status", "-n", "thebot-dev", "-o", "json"])
            .ok(),
    )
    .unwrap();
    assert_eq!(status["status"], "deployed");
    let objects = status["objects"].as_array().unwrap();
    assert!(objects.iter().all(|o| o["state"] == "ready"), "{objects:?}");
}

#[test]
fn watches_closed_mid_wait_are_resumed_without_losing_the_ready_event() {
    // Every watch of Deployments and Jobs ends after one event.
    let sim = Sim::with_faults(&[
        "watch-close=1,resource=deployments",
        "watch-close=1,resource=jobs",
    ]);
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"]);
    assert!(out.ok().contains("revision 1 deployed"), "{}", out.stderr);
    let counts: Value = sim.get("/_sim/requests");
    let watches = counts["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verb"] == "watch" && r["resource"] == "deployments")
        .map(|r| r["count"].as_u64().unwrap())
        .sum::<u64>();
    assert!(watches > 1, "the closed watch was reopened: {counts}");
}

#[test]
fn an_expired_watch_is_relisted_and_the_wait_still_ends_ready() {
    // The first two watches of Deployments get 410 Expired: the watcher
    // must list Deployments again and go on from the new list.
    let sim = Sim::with_faults(&["gone,resource=deployments,times=2"]);
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"]);
    assert!(out.ok().contains("revision 1 deployed"), "{}", out.stderr);
    let counts: Value = sim.get("/_sim/requests");
    let lists = counts["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verb"] == "list" && r["resource"] == "deployments")
        .map(|r| r["count"].as_u64().unwrap())
        .sum::<u64>();
    assert!(
        lists >= 3,
        "Deployments were relisted after each 410: {counts}"
    );
    let status = sim.thebot(&["status", "-o", "json"]);
    let status: Value = serde_json::from_str(status.ok()).unwrap();
    let deployments = status["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .count();
    assert!(deployments > 0, "{status}");
    assert!(
        status["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["state"] == "ready"),
        "{status}"
    );
}

#[test]
fn transient_server_errors_are_retried() {
    // Every 3rd apply of a ConfigMap or Service answers 500 once.
    let sim = Sim::with_faults(&[
        "500,verb=patch,resource=configmaps,every=3",
        "503,verb=patch,resource=services,every=2,retry-after=1",
    ]);
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"]);
    assert!(out.ok().contains("revision 1 deployed"), "{}", out.stderr);
}

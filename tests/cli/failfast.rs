//! Failing fast with the reason (issue 11): kubesim's image-tag faults.

use std::time::{Duration, Instant};

use crate::sim::Sim;

#[test]
fn a_crash_looping_backend_fails_in_seconds_with_its_reason_and_log() {
    let sim = Sim::with_dev();
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
    let sim = Sim::with_dev();
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
    let sim = Sim::with_dev();
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

#[test]
fn a_secret_the_app_prints_into_its_log_is_masked() {
    let sim = Sim::start();
    let dir = crate::support::TempDir::new();
    // A hook whose (fake) process prints the Telegram token, then fails.
    let leak = (
        "leak.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ name(\"leak\") }}\n  namespace: {{ release.namespace }}\n  labels: {{ labels(\"leak\") }}\n  annotations:\n    thebot.io/hook: install,upgrade\nspec:\n  backoffLimit: 0\n  template:\n    metadata:\n      labels: {{ labels(\"leak\") }}\n    spec:\n      restartPolicy: Never\n      serviceAccountName: {{ name(\"leak\") }}\n      automountServiceAccountToken: false\n      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n      containers:\n      - name: leak\n        image: example/leak:jobfail\n        args: [echo, {{ values.secrets.telegramBotToken }}]\n        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}\n        securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n",
    );
    // Preflight refuses an unhardened pod: the Job runs under its own account.
    let account = (
        "account.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ name(\"leak\") }}\n  namespace: {{ release.namespace }}\n  labels: {{ labels(\"leak\") }}\nautomountServiceAccountToken: false\n",
    );
    let m = dir.manifests("manifests", &[leak, account]);
    let out = sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "--manifests",
        &m,
        "--set-string",
        "secrets.telegramBotToken=tg-LeakyToken-99",
    ]);
    out.fails_with(4, &["thebot-dev-leak-", "log lines", "echo ***"]);
    assert!(!out.stderr.contains("tg-LeakyToken-99"), "{}", out.stderr);
}

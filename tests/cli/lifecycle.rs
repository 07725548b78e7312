//! rollback, pruning, uninstall and get against kubesim (issue 10), with
//! `--wait=false` (waiting is tested in `rollout`).

use serde_json::json;

use crate::sim::Sim;
use crate::support::TempDir;

fn statuses(sim: &Sim) -> Vec<(u64, String, String)> {
    sim.history("thebot-dev")
}

fn manifest(sim: &Sim, revision: u32) -> String {
    sim.thebot(&[
        "get",
        "manifest",
        "-n",
        "thebot-dev",
        "--revision",
        &revision.to_string(),
        "--show-secrets",
    ])
    .ok()
    .to_string()
}

/// Makes the next upgrade fail: another manager owns LOG_LEVEL with another value.
fn seize_log_level(sim: &Sim) {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "thebot-dev-config", "namespace": "thebot-dev"}, "data": {"LOG_LEVEL": "ERROR"}});
    let (code, resp) = sim.apply_as(
        "other",
        "/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config",
        &body,
        true,
    );
    assert_eq!(code, 200, "{resp}");
}

#[test]
fn rollback_skips_a_failed_revision_and_reapplies_the_recorded_manifest() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.5.0",
    ])
    .ok();
    seize_log_level(&sim);
    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.6.0",
    ])
    .fails_with(1, &["--force-conflicts"]);

    // The default target is revision 2: 3 failed, and "N-1" is not blindly taken.
    let out = sim.thebot(&[
        "rollback",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--force-conflicts",
    ]);
    assert!(out.ok().contains("revision 4 deployed"), "{}", out.stdout);
    let h = statuses(&sim);
    assert_eq!(h[2].1, "failed");
    assert_eq!(
        (h[3].1.as_str(), h[3].2.as_str()),
        ("deployed", "Rollback to 2")
    );
    assert_eq!(manifest(&sim, 4), manifest(&sim, 2));
    let backend = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/the-bot/thebot-backend:1.5.0"
    );

    // Revision 1 runs 1.4.0 on a database 1.5.0 migrated: refused
    // without the flag (dbsafe.rs).
    sim.thebot(&[
        "rollback",
        "--wait=false",
        "1",
        "-n",
        "thebot-dev",
        "--allow-schema-mismatch",
    ])
    .ok();
    assert_eq!(manifest(&sim, 5), manifest(&sim, 1));
    sim.thebot(&["rollback", "--wait=false", "9", "-n", "thebot-dev"])
        .fails_with(1, &["revision 9 does not exist"]);
    sim.thebot(&["rollback", "--wait=false", "5", "-n", "thebot-dev"])
        .fails_with(1, &["is the current one"]);
}

#[test]
fn rollback_does_not_rerun_migrations() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.5.0",
    ])
    .ok();
    let jobs_before: Vec<String> = sim
        .list("/apis/batch/v1/namespaces/thebot-dev/jobs")
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    // Back to 1.4.0 on a database 1.5.0 migrated: the user allows it.
    sim.thebot(&[
        "rollback",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--allow-schema-mismatch",
    ])
    .ok();
    let jobs: Vec<String> = sim
        .list("/apis/batch/v1/namespaces/thebot-dev/jobs")
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let new: Vec<&String> = jobs.iter().filter(|j| !jobs_before.contains(j)).collect();
    assert!(
        new.iter().all(|j| j.contains("collectstatic")),
        "only rollback-annotated hooks run: {new:?}"
    );
    assert!(
        !new.is_empty(),
        "collectstatic of revision 1 runs again: {jobs:?}"
    );
}

#[test]
fn upgrades_prune_what_left_the_release_but_keep_volumes_and_keep_objects() {
    let sim = Sim::start();
    let dir = TempDir::new();
    let extra = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name(\"scratch\") }}\n  namespace: {{ release.namespace }}\n  labels: {{ labels(\"scratch\") }}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name(\"precious\") }}\n  namespace: {{ release.namespace }}\n  labels: {{ labels(\"precious\") }}\n  annotations:\n    thebot.io/resource-policy: keep\ndata: {a: b}\n";
    let with = dir.manifests("with", &[("extra.yaml", extra)]);
    let without = dir.manifests("without", &[]);
    sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--create-namespace",
        "--manifests",
        &with,
    ])
    .ok();
    let out = sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--manifests",
        &without,
        "--set",
        "ingress.enabled=false",
    ]);
    assert!(out.ok().contains("2 deleted"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("kept ConfigMap/thebot-dev/thebot-dev-precious"),
        "{}",
        out.stderr
    );
    let cms: Vec<String> = sim
        .list("/api/v1/namespaces/thebot-dev/configmaps")
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!cms.contains(&"thebot-dev-scratch".to_string()), "{cms:?}");
    assert!(cms.contains(&"thebot-dev-precious".to_string()), "{cms:?}");
    assert!(
        sim.list("/apis/networking.k8s.io/v1/namespaces/thebot-dev/ingresses")
            .is_empty()
    );
}

#[test]
fn uninstall_leaves_only_volumes_and_the_generated_secret_and_reinstall_reuses_it() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    let password = sim.get("/api/v1/namespaces/thebot-dev/secrets/thebot-dev-generated")["data"]["postgresPassword"].clone();

    let dry = sim.thebot(&["uninstall", "-n", "thebot-dev", "--dry-run"]);
    assert!(
        dry.ok()
            .contains("would delete  Deployment/thebot-dev/thebot-dev-backend"),
        "{}",
        dry.stdout
    );
    assert!(
        !sim.list("/apis/apps/v1/namespaces/thebot-dev/deployments")
            .is_empty(),
        "dry run deleted nothing"
    );

    let out = sim.thebot(&["uninstall", "-n", "thebot-dev", "--timeout", "30s"]);
    assert!(out.ok().contains("uninstalled"), "{}", out.stdout);
    let mut left = Vec::new();
    for (kind, path) in [
        ("ConfigMap", "/api/v1/namespaces/thebot-dev/configmaps"),
        ("Secret", "/api/v1/namespaces/thebot-dev/secrets"),
        ("Service", "/api/v1/namespaces/thebot-dev/services"),
        (
            "ServiceAccount",
            "/api/v1/namespaces/thebot-dev/serviceaccounts",
        ),
        (
            "PersistentVolumeClaim",
            "/api/v1/namespaces/thebot-dev/persistentvolumeclaims",
        ),
        (
            "Deployment",
            "/apis/apps/v1/namespaces/thebot-dev/deployments",
        ),
        (
            "StatefulSet",
            "/apis/apps/v1/namespaces/thebot-dev/statefulsets",
        ),
        ("Job", "/apis/batch/v1/namespaces/thebot-dev/jobs"),
        (
            "NetworkPolicy",
            "/apis/networking.k8s.io/v1/namespaces/thebot-dev/networkpolicies",
        ),
        (
            "Ingress",
            "/apis/networking.k8s.io/v1/namespaces/thebot-dev/ingresses",
        ),
    ] {
        for o in sim.list(path) {
            let labels = &o["metadata"]["labels"];
            if labels["app.kubernetes.io/instance"] == "thebot-dev" || labels["owner"] == "thebot" {
                left.push(format!(
                    "{kind}/{}",
                    o["metadata"]["name"].as_str().unwrap()
                ));
            }
        }
    }
    left.sort();
    assert_eq!(
        left,
        [
            "PersistentVolumeClaim/data-thebot-dev-postgresql-0",
            "PersistentVolumeClaim/data-thebot-dev-redis-0",
            "PersistentVolumeClaim/thebot-dev-media",
            "PersistentVolumeClaim/thebot-dev-static",
            "Secret/thebot-dev-generated"
        ],
        "only volumes and the generated secrets stay"
    );
    assert!(
        sim.get("/api/v1/namespaces/thebot-dev")["metadata"]["name"] == "thebot-dev",
        "the namespace stays"
    );

    sim.thebot(&["install", "--wait=false", "dev"]).ok();
    assert_eq!(
        sim.get("/api/v1/namespaces/thebot-dev/secrets/thebot-dev-generated")["data"]["postgresPassword"],
        password
    );
}

#[test]
fn uninstall_keep_history_marks_the_release_uninstalled() {
    let sim = Sim::with_dev();
    sim.thebot(&[
        "uninstall",
        "-n",
        "thebot-dev",
        "--keep-history",
        "--delete-volumes",
        "--timeout",
        "30s",
    ])
    .ok();
    assert_eq!(statuses(&sim).last().unwrap().1, "uninstalled");
    let claims = sim.list("/api/v1/namespaces/thebot-dev/persistentvolumeclaims");
    assert!(
        claims.is_empty(),
        "--delete-volumes deletes every claim: {claims:?}"
    );
    sim.thebot(&["install", "--wait=false", "dev"]).ok();
    assert_eq!(
        statuses(&sim).last().unwrap().0,
        2,
        "a reinstall continues the history"
    );
}

#[test]
fn get_masks_secrets_unless_asked() {
    let sim = Sim::start();
    sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--create-namespace",
        "--set",
        "secrets.telegramBotToken=tg-VerySecret-123",
    ])
    .ok();
    let values = sim.thebot(&["get", "values", "-n", "thebot-dev"]);
    assert!(
        !values.ok().contains("tg-VerySecret-123"),
        "{}",
        values.stdout
    );
    assert!(
        values.stdout.contains("telegramBotToken: \"***\""),
        "{}",
        values.stdout
    );
    let manifest = sim.thebot(&["get", "manifest", "-n", "thebot-dev"]);
    assert!(manifest.ok().contains("(masked,"), "{}", manifest.stdout);
    assert!(
        !manifest.stdout.contains("dGctVmVyeVNlY3JldC0xMjM="),
        "the base64 form is masked too"
    );
    let shown = sim.thebot(&["get", "values", "-n", "thebot-dev", "--show-secrets"]);
    assert!(shown.ok().contains("tg-VerySecret-123"));
    let notes = sim.thebot(&["get", "notes", "-n", "thebot-dev"]);
    assert!(
        notes.ok().contains("http://thebot.dev.local/"),
        "{}",
        notes.stdout
    );
}

#[test]
fn diff_shows_exactly_the_changed_field_and_masks_secrets() {
    let sim = Sim::with_dev();
    let none = sim.thebot(&["diff", "-n", "thebot-dev", "--detailed-exitcode"]);
    assert_eq!(none.code, 0, "{}\n{}", none.stdout, none.stderr);
    assert!(none.stdout.contains("No changes."), "{}", none.stdout);

    let out = sim.thebot(&[
        "diff",
        "-n",
        "thebot-dev",
        "--detailed-exitcode",
        "--set",
        "app.logLevel=WARNING,secrets.telegramBotToken=tg-Secret-4242,ingress.enabled=false",
    ]);
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    let d = &out.stdout;
    assert!(
        d.contains("-  LOG_LEVEL: DEBUG\n+  LOG_LEVEL: WARNING\n"),
        "{d}"
    );
    assert!(
        d.contains("-  TELEGRAM_BOT_TOKEN: (masked)\n+  TELEGRAM_BOT_TOKEN: (masked, changed)\n"),
        "{d}"
    );
    assert!(
        !d.contains("tg-Secret-4242") && !d.contains("dGctU2VjcmV0LTQyNDI"),
        "no secret value: {d}"
    );
    assert!(
        d.contains("- Ingress/thebot-dev/thebot-dev-ingress (removed)"),
        "{d}"
    );
    assert!(
        !d.contains("managedFields") && !d.contains("resourceVersion"),
        "{d}"
    );
    let before = sim.resource_versions("thebot-dev");
    assert_eq!(
        before,
        sim.resource_versions("thebot-dev"),
        "diff wrote nothing"
    );
    let cm = sim.get("/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config");
    assert_eq!(
        cm["data"]["LOG_LEVEL"], "DEBUG",
        "the dry run persisted nothing"
    );
}

#[test]
fn dry_runs_change_nothing() {
    let client = crate::support::thebot(&["install", "dev", "--dry-run"]);
    assert!(
        client
            .ok()
            .contains("1-config ConfigMap/thebot-dev/thebot-dev-config"),
        "{}",
        client.stdout
    );

    let sim = Sim::with_dev();
    let before = sim.resource_versions("thebot-dev");
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--dry-run=server",
        "--set",
        "app.logLevel=WARNING,ingress.enabled=false",
    ]);
    let text = out.ok();
    assert!(
        text.contains("configured ConfigMap/thebot-dev/thebot-dev-config"),
        "{text}"
    );
    assert!(
        text.contains("unchanged Service/thebot-dev/thebot-dev-redis"),
        "{text}"
    );
    assert!(
        text.contains("would prune Ingress/thebot-dev/thebot-dev-ingress"),
        "{text}"
    );
    assert_eq!(
        before,
        sim.resource_versions("thebot-dev"),
        "--dry-run=server changes no resourceVersion"
    );
    assert_eq!(statuses(&sim).len(), 1, "no record was written");
    assert!(
        sim.list("/apis/coordination.k8s.io/v1/namespaces/thebot-dev/leases")
            .is_empty(),
        "no lock was taken"
    );
}

//! Preflight: a render the lint refuses is refused before the first
//! write (no namespace, no lock, no record), and `template`/`diff`
//! refuse it too, in the lint's words.

use serde_json::Value;

use crate::sim::Sim;
use crate::support::TempDir;

/// A ConfigMap with a field Kubernetes does not know (`schema/unknown-field`).
const BAD: (&str, &str) = (
    "bad.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name(\"bad\") }}\n  namespace: {{ release.namespace }}\n  labels: {{ labels(\"bad\") }}\ndatta:\n  key: value\n",
);

/// The requests that changed something, as `verb resource` (reads and
/// watches left out).
fn writes(sim: &Sim) -> Vec<String> {
    sim.get("/_sim/requests")["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !matches!(r["verb"].as_str(), Some("get" | "list" | "watch")))
        .map(|r| format!("{} {}", r["verb"].as_str().unwrap_or(""), r["resource"]))
        .collect()
}

fn reset(sim: &Sim) {
    let (code, body) = sim.request("DELETE", "/_sim/requests", "application/json", None);
    assert_eq!(code, 200, "{body}");
}

#[test]
fn a_refused_install_writes_nothing_not_even_the_namespace() {
    let sim = Sim::start();
    let dir = TempDir::new();
    let m = dir.manifests("manifests", &[BAD]);
    reset(&sim);
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--manifests", &m]);
    out.fails_with(
        1,
        &[
            "preflight",
            "nothing was written (no lock taken, no revision recorded)",
            "ConfigMap/thebot-dev/thebot-dev-bad",
            "schema/unknown-field",
            "datta",
        ],
    );
    assert_eq!(writes(&sim), Vec::<String>::new(), "{}", out.stderr);
    let (code, _) = sim.request(
        "GET",
        "/api/v1/namespaces/thebot-dev",
        "application/json",
        None,
    );
    assert_eq!(code, 404, "the namespace was not created");
}

#[test]
fn a_refused_bare_upgrade_keeps_the_release_as_it_was() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace"]).ok();
    let dir = TempDir::new();
    let m = dir.manifests("manifests", &[BAD]);
    reset(&sim);
    // No ENV, no -n: the kubeconfig's namespace is `default`.
    let out = sim.thebot(&["upgrade", "--manifests", &m]);
    out.fails_with(1, &["preflight", "thebot-dev-bad", "nothing was written"]);
    assert_eq!(writes(&sim), Vec::<String>::new(), "{}", out.stderr);
    let history = sim.history("thebot-dev");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].1, "deployed");
    let (code, _) = sim.request(
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/thebot-dev/leases/thebot-lock-thebot-dev",
        "application/json",
        None,
    );
    assert_eq!(code, 404, "no lock was taken");
}

#[test]
fn template_and_diff_refuse_the_same_render() {
    let dir = TempDir::new();
    let m = dir.manifests("manifests", &[BAD]);
    let out = crate::support::thebot(&["template", "dev", "--manifests", &m]);
    out.fails_with(
        1,
        &["preflight", "schema/unknown-field", "nothing was printed"],
    );
    assert!(
        out.stdout.is_empty(),
        "no manifest is printed: {}",
        out.stdout
    );

    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace"]).ok();
    let out = sim.thebot(&["diff", "dev", "--manifests", &m]);
    out.fails_with(1, &["preflight", "thebot-dev-bad", "nothing was compared"]);
}

#[test]
fn lint_warnings_do_not_stop_a_deploy() {
    // prod with an unpinned backend image: `policy/image-digest` warns
    // (an error only under `lint --strict`); the install goes ahead.
    let sim = Sim::start();
    let secrets = crate::support::repo().join("releases/prod-secrets.example.yaml");
    let secrets = secrets.to_str().unwrap();
    let unpinned = "images.backend.digest=null";
    let lint = crate::support::thebot(&[
        "lint", "prod", "-f", secrets, "--set", unpinned, "-o", "json",
    ]);
    let report: Value = serde_json::from_str(lint.ok()).unwrap();
    let warnings = report["warnings"].as_u64().unwrap();
    assert!(warnings > 0, "{report}");
    let out = sim.thebot(&[
        "install",
        "prod",
        "--create-namespace",
        "--wait=false",
        "-f",
        secrets,
        "--set",
        unpinned,
    ]);
    out.ok();
    assert!(
        out.stderr
            .contains(&format!("preflight passed with {warnings} lint warnings")),
        "the warnings are counted: {}",
        out.stderr
    );
}

/// An upgrade the server refuses in stage 2 (a StatefulSet's claim
/// template is immutable), which no client-side rule can foresee.
const GROW_VOLUME: [&str; 6] = [
    "upgrade",
    "--wait=false",
    "-n",
    "thebot-dev",
    "--set",
    "postgresql.persistence.size=10Gi",
];

#[test]
fn server_preflight_refuses_before_the_lock_and_the_record() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    const STS: &str = "/apis/apps/v1/namespaces/thebot-dev/statefulsets/thebot-dev-postgresql";
    let generation = sim.get(STS)["metadata"]["generation"].clone();
    reset(&sim);
    let mut args = GROW_VOLUME.to_vec();
    args.push("--preflight=server");
    let out = sim.thebot(&args);
    out.fails_with(
        1,
        &[
            "preflight (server): the cluster refuses 1 of",
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            "no lock taken, no revision recorded",
        ],
    );
    // Only dry-run applies were sent: nothing created, replaced or deleted.
    let changed: Vec<String> = writes(&sim)
        .into_iter()
        .filter(|w| !w.starts_with("patch "))
        .collect();
    assert_eq!(changed, Vec::<String>::new(), "{}", out.stderr);
    let sts = sim.get(STS);
    assert_eq!(sts["metadata"]["generation"], generation, "not changed");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "5Gi"
    );
    assert_eq!(sim.history("thebot-dev").len(), 1);

    // What the server accepts passes, and says so.
    let out = sim.thebot(&["upgrade", "--wait=false", "--preflight=server"]);
    out.ok();
    assert!(
        out.stderr
            .contains("preflight (server): the cluster accepts all"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_stage_refused_after_writes_began_says_what_was_applied_and_how_to_restore() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    let out = sim.thebot(&GROW_VOLUME);
    out.fails_with(
        1,
        &[
            "Stages applied: 1-config; partly applied (its apply did not finish): 2-data; not applied: 3-prepare, 4-app.",
            "Revision 2 is marked failed; revision 1 is still the last deployed one.",
            "To restore it: thebot rollback 1 --name thebot-dev -n thebot-dev",
        ],
    );
    // The command it names works as printed.
    sim.thebot(&["rollback", "1", "--name", "thebot-dev", "-n", "thebot-dev"])
        .ok();
    let h = sim.history("thebot-dev");
    assert_eq!(
        h.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["superseded", "failed", "deployed"],
        "{h:?}"
    );
}

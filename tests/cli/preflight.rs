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

/// Bad inputs through every layer: each is refused by `install` with exit
/// 1 before any write, naming the key (or object) and where it came from,
/// and `template` refuses it too.
#[test]
fn bad_inputs_are_refused_before_any_write_and_by_template() {
    let dir = TempDir::new();
    let file = dir.write("values.yaml", "backend:\n  replicas: \"x\"\n");
    let releases = dir.path().join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    for entry in std::fs::read_dir(crate::support::repo().join("releases")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), releases.join(entry.file_name())).unwrap();
    }
    let dev = std::fs::read_to_string(releases.join("dev.yaml")).unwrap();
    // The environment file's first replica count made negative.
    let bad = dev.replacen("replicas: 1", "replicas: -1", 1);
    assert_ne!(bad, dev);
    std::fs::write(releases.join("dev.yaml"), bad).unwrap();
    let releases = releases.display().to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--set", "backend.replicas=abc"],
            vec!["backend.replicas", "--set"],
        ),
        (
            vec!["--set", "backend.replicas=-3"],
            vec!["backend.replicas", "--set"],
        ),
        (
            vec!["--set-string", "backend.replicas=3"],
            vec!["backend.replicas", "--set-string"],
        ),
        (
            vec![
                "--set",
                "backend.autoscaling.minReplicas=9,backend.autoscaling.maxReplicas=2",
            ],
            vec![
                "backend.autoscaling.minReplicas",
                "backend.autoscaling.maxReplicas",
            ],
        ),
        (
            vec!["--set", "backend.autoscaling.minReplicas=0"],
            vec!["backend.autoscaling.minReplicas"],
        ),
        (
            vec!["--set", "redis.persistence.size=12XB"],
            vec!["redis.persistence.size", "quantity"],
        ),
        (
            vec!["--set", "backend.resources.requests.memory=-1Gi"],
            vec!["backend.resources.requests.memory"],
        ),
        (
            vec!["--set", "images.pullPolicy=Sometimes"],
            vec!["images.pullPolicy", "Always"],
        ),
        (vec!["--set", "database.port=70000"], vec!["database.port"]),
        (
            vec!["--set", "ingress.host=Not_A_Host"],
            vec!["ingress.host"],
        ),
        (
            vec!["--set", "images.backend.repository=ghcr.io/x/y:1.0"],
            vec!["images.backend.repository"],
        ),
        (
            vec!["--set", "images.backend.digest=sha256:abc"],
            vec!["images.backend.digest"],
        ),
        (
            vec!["--set", "images.backend.tag=latest"],
            vec!["latest", "policy/image"],
        ),
        (
            vec!["--set", "postgresql.enabled=maybe"],
            vec!["postgresql.enabled"],
        ),
        (vec!["-f", &file], vec!["values.yaml:2", "backend.replicas"]),
        (
            vec!["--releases", &releases],
            vec!["dev.yaml:21", "replicas"],
        ),
    ];
    let sim = Sim::start();
    for (args, needles) in &cases {
        reset(&sim);
        let mut install = vec!["install", "dev", "--create-namespace"];
        install.extend(args);
        sim.thebot(&install).fails_with(1, needles);
        assert_eq!(writes(&sim), Vec::<String>::new(), "{args:?} wrote");
        let mut template = vec!["template", "dev"];
        template.extend(args);
        let out = crate::support::thebot(&template);
        out.fails_with(1, needles);
        assert!(
            out.stdout.is_empty(),
            "{args:?}: template printed a manifest"
        );
    }
    let (code, _) = sim.request(
        "GET",
        "/api/v1/namespaces/thebot-dev",
        "application/json",
        None,
    );
    assert_eq!(code, 404, "no namespace, hence no record, was ever written");
}

//! install / upgrade / status / history / list against kubesim, through
//! the real binary (issue 8). These test applying and recording, so they
//! run with `--wait=false`; waiting for rollouts is tested in `rollout`.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::sim::Sim;
use crate::support::TempDir;

fn history(sim: &Sim, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["history", "-o", "json"];
    a.extend(args);
    let out = sim.thebot(&a);
    serde_json::from_str::<Value>(out.ok())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn statuses(sim: &Sim, args: &[&str]) -> Vec<(u64, String)> {
    history(sim, args)
        .iter()
        .map(|e| {
            (
                e["revision"].as_u64().unwrap(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn install_dev(sim: &Sim) {
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
}

fn secret_value(sim: &Sim, ns: &str, name: &str, key: &str) -> String {
    let s = sim.get(&format!("/api/v1/namespaces/{ns}/secrets/{name}"));
    let raw = s["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{name} lacks {key}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn install_status_upgrade_history() {
    let sim = Sim::start();
    let out = sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"]);
    assert!(
        out.ok()
            .contains("Release thebot-dev revision 1 deployed in namespace thebot-dev"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("==> 1-config"), "{}", out.stderr);
    assert!(
        out.stdout.contains("http://thebot.dev.local/"),
        "the notes name the dev host:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with('\n') && !out.stdout.ends_with("\n\n"),
        "the notes end with one newline, so the shell prompt starts a line: {:?}",
        out.stdout
    );

    let status: Value = serde_json::from_str(
        sim.thebot(&["status", "-n", "thebot-dev", "-o", "json"])
            .ok(),
    )
    .unwrap();
    assert_eq!(status["revision"], 1);
    assert_eq!(status["status"], "deployed");
    assert_eq!(status["environment"], "dev");
    let objects = status["objects"].as_array().unwrap();
    assert!(objects.len() >= 25, "{objects:?}");
    assert!(
        objects.iter().all(|o| o["state"] != "missing"),
        "{objects:?}"
    );

    let out = sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.5.0",
    ]);
    assert!(out.ok().contains("revision 2 deployed"), "{}", out.stdout);
    let backend = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/the-bot/thebot-backend:1.5.0"
    );
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [(1, "superseded".into()), (2, "deployed".into())]
    );

    let list: Value = serde_json::from_str(sim.thebot(&["list", "-A", "-o", "json"]).ok()).unwrap();
    assert_eq!(list[0]["name"], "thebot-dev");
    assert_eq!(list[0]["revision"], 2);
}

#[test]
fn identical_upgrade_writes_nothing_but_the_record() {
    let sim = Sim::start();
    // Rolled out and settled, so that no controller writes either.
    sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"])
        .ok();
    let before = sim.resource_versions("thebot-dev");
    let out = sim.thebot(&["upgrade", "-n", "thebot-dev", "--timeout", "2m"]);
    assert!(
        out.ok().contains("0 created, 0 configured"),
        "{}",
        out.stdout
    );
    let after = sim.resource_versions("thebot-dev");
    assert!(before.len() >= 20, "{before:?}");
    for (name, rv) in &before {
        if name.starts_with("Secret/thebot.release.v1") {
            continue;
        }
        assert_eq!(
            after.get(name),
            Some(rv),
            "{name} was written by a no-op upgrade"
        );
    }
}

#[test]
fn a_conflict_names_field_and_manager_until_forced() {
    let sim = Sim::start();
    install_dev(&sim);
    let cm_path = "/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config";
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "thebot-dev-config", "namespace": "thebot-dev"}, "data": {"LOG_LEVEL": "ERROR"}});
    let (code, resp) = sim.apply_as("other", cm_path, &body, true);
    assert_eq!(code, 200, "{resp}");

    let out = sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"]);
    out.fails_with(
        1,
        &[
            "ConfigMap/thebot-dev/thebot-dev-config",
            ".data.LOG_LEVEL",
            "\"other\"",
            "--force-conflicts",
        ],
    );
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [(1, "deployed".into()), (2, "failed".into())]
    );
    assert_eq!(
        sim.get(cm_path)["data"]["LOG_LEVEL"],
        "ERROR",
        "nothing of the failed revision was forced"
    );

    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--force-conflicts",
    ])
    .ok();
    assert_eq!(sim.get(cm_path)["data"]["LOG_LEVEL"], "DEBUG");
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]).last().unwrap(),
        &(3, "deployed".to_string())
    );
}

#[test]
fn existing_objects_are_adopted_only_when_asked() {
    let sim = Sim::start();
    let (code, _) = sim.request(
        "POST",
        "/api/v1/namespaces",
        "application/json",
        Some(&json!({"metadata": {"name": "thebot-dev"}})),
    );
    assert_eq!(code, 201);
    let helm_cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "thebot-dev-config", "namespace": "thebot-dev",
            "labels": {"app.kubernetes.io/managed-by": "Helm"}, "annotations": {"meta.helm.sh/release-name": "thebot"}},
        "data": {"OLD": "1"}});
    let (code, body) = sim.request(
        "POST",
        "/api/v1/namespaces/thebot-dev/configmaps",
        "application/json",
        Some(&helm_cm),
    );
    assert_eq!(code, 201, "{body}");

    let out = sim.thebot(&["install", "--wait=false", "dev"]);
    out.fails_with(
        1,
        &[
            "ConfigMap/thebot-dev/thebot-dev-config",
            "Helm release thebot",
            "--take-ownership",
        ],
    );
    assert!(
        sim.list("/apis/apps/v1/namespaces/thebot-dev/deployments")
            .is_empty(),
        "nothing was applied"
    );

    sim.thebot(&["install", "--wait=false", "dev", "--take-ownership"])
        .ok();
    let cm = sim.get("/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config");
    assert_eq!(
        cm["metadata"]["annotations"]["thebot.io/release"],
        "thebot-dev/thebot-dev"
    );
    assert_eq!(cm["data"]["LOG_LEVEL"], "DEBUG");
}

#[test]
fn an_hpa_takes_over_replicas_without_a_reset() {
    let sim = Sim::start();
    sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--create-namespace",
        "--set",
        "backend.replicas=3",
    ])
    .ok();
    let path = "/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend";
    assert_eq!(sim.get(path)["spec"]["replicas"], 3);
    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "backend.replicas=3,backend.autoscaling.enabled=true,backend.autoscaling.minReplicas=2,backend.autoscaling.maxReplicas=5",
    ])
    .ok();
    let d = sim.get(path);
    assert_eq!(
        d["spec"]["replicas"], 3,
        "the replica count survived the hand-over"
    );
    let owners: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.pointer("/fieldsV1/f:spec/f:replicas").is_some())
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["kube-controller-manager"]);
}

#[test]
fn a_held_lock_fails_fast_naming_its_holder() {
    let sim = Sim::start();
    install_dev(&sim);
    let now = "2099-01-01T00:00:00.000000Z";
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "thebot-lock-thebot-dev", "namespace": "thebot-dev"},
        "spec": {"holderIdentity": "alice@laptop/4242", "leaseDurationSeconds": 30, "acquireTime": now, "renewTime": now}});
    let (code, body) = sim.request(
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/thebot-dev/leases",
        "application/json",
        Some(&lease),
    );
    assert_eq!(code, 201, "{body}");
    let started = Instant::now();
    let out = sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"]);
    out.fails_with(1, &["in progress", "alice@laptop/4242", "thebot unlock"]);
    assert!(started.elapsed() < Duration::from_secs(10), "failed fast");
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [(1, "deployed".into())]
    );

    sim.thebot(&["unlock", "-n", "thebot-dev", "--yes"]).ok();
    sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"])
        .ok();
}

#[test]
fn concurrent_upgrades_never_lose_or_duplicate_a_revision() {
    let sim = Sim::start();
    install_dev(&sim);
    let a = sim.spawn(
        &[
            "upgrade",
            "--wait=false",
            "-n",
            "thebot-dev",
            "--set",
            "app.logLevel=INFO",
        ],
        &[],
    );
    let b = sim.spawn(
        &[
            "upgrade",
            "--wait=false",
            "-n",
            "thebot-dev",
            "--set",
            "app.logLevel=WARNING",
        ],
        &[],
    );
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let ok = outs.iter().filter(|o| o.status.success()).count();
    assert!(ok >= 1, "at least one upgrade proceeds");
    for o in outs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("in progress"), "the loser says why: {err}");
    }
    let h = statuses(&sim, &["-n", "thebot-dev"]);
    let revisions: Vec<u64> = h.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        revisions,
        (1..=1 + ok as u64).collect::<Vec<_>>(),
        "one revision per successful upgrade: {h:?}"
    );
    assert_eq!(
        h.iter().filter(|(_, s)| s == "deployed").count(),
        1,
        "{h:?}"
    );
}

/// A manifests directory with the platform plus `count` extra ConfigMaps,
/// so that an upgrade runs long enough to be killed in the middle.
fn bulky_manifests(dir: &TempDir, count: usize) -> String {
    let bulk = format!(
        "{{% for i in range({count}) %}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ name(\"bulk-\" ~ i) }}}}\n  namespace: {{{{ release.namespace }}}}\n  labels: {{{{ labels(\"bulk\") }}}}\ndata:\n  i: {{{{ i | string }}}}\n{{% endfor %}}\n"
    );
    dir.manifests("manifests", &[("bulk.yaml", &bulk)])
}

#[test]
fn a_killed_client_never_leaves_the_release_stuck() {
    let sim = Sim::start();
    install_dev(&sim);
    let dir = TempDir::new();
    let manifests = bulky_manifests(&dir, 3000);
    let lease = [("THEBOT_LEASE_SECONDS", "5")];
    let mut child = sim.spawn(
        &[
            "upgrade",
            "--wait=false",
            "-n",
            "thebot-dev",
            "--manifests",
            &manifests,
        ],
        &lease,
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("thebot ended before recording its revision:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("revision 2 recorded") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]).last().unwrap(),
        &(2, "pending-upgrade".to_string())
    );

    std::thread::sleep(Duration::from_millis(5500));
    let out = sim.thebot_env(&["upgrade", "--wait=false", "-n", "thebot-dev"], &lease);
    assert!(out.ok().contains("revision 3 deployed"), "{}", out.stdout);
    assert!(
        out.stderr.contains("took over an expired lock"),
        "{}",
        out.stderr
    );
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [
            (1, "superseded".into()),
            (2, "failed".into()),
            (3, "deployed".into())
        ]
    );
}

#[test]
fn a_corrupt_record_is_named_and_does_not_block_the_others() {
    let sim = Sim::start();
    install_dev(&sim);
    sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"])
        .ok();
    let path = "/api/v1/namespaces/thebot-dev/secrets/thebot.release.v1.thebot-dev.v1";
    let patch = json!({"data": {"release": base64::engine::general_purpose::STANDARD.encode("not a record")}});
    let (code, body) = sim.request("PATCH", path, "application/merge-patch+json", Some(&patch));
    assert_eq!(code, 200, "{body}");

    let h = history(&sim, &["-n", "thebot-dev"]);
    assert_eq!(h[0]["status"], "unreadable");
    assert!(
        h[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("revision 1:"),
        "{h:?}"
    );
    let out = sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"]);
    assert!(out.ok().contains("revision 3 deployed"));
    assert!(
        out.stderr.contains("revision 1"),
        "the corrupt record is reported: {}",
        out.stderr
    );
    sim.thebot(&["status", "-n", "thebot-dev"]).ok();
}

#[test]
fn an_oversize_record_is_refused_before_anything_is_applied() {
    let sim = Sim::start();
    let dir = TempDir::new();
    // ~1.5 MB of incompressible text, carried by the values and the manifest.
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let big: String = (0..1_500_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect();
    let file = dir.write("big.txt", &big);
    let out = sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--create-namespace",
        "--set-file",
        &format!("app.apiRateLimit={file}"),
    ]);
    out.fails_with(1, &["1000000-byte limit"]);
    assert!(
        sim.list("/api/v1/namespaces/thebot-dev/configmaps")
            .iter()
            .all(|c| c["metadata"]["name"] != "thebot-dev-config")
    );
    assert!(
        sim.list("/apis/coordination.k8s.io/v1/namespaces/thebot-dev/leases")
            .is_empty(),
        "the lock was released"
    );
}

#[test]
fn bad_credentials_and_unreachable_servers_are_explained() {
    let sim = Sim::start();
    let wrong = sim
        .instance
        .kubeconfig()
        .replace(&sim.instance.token, "wrong-token");
    let kc = sim.dir.write("wrong.kubeconfig", &wrong);
    sim.thebot(&["install", "--wait=false", "dev", "--kubeconfig", &kc])
        .fails_with(1, &["401", "credentials"]);

    let ro = kubesim::spawn_with(kubesim::Options {
        read_only_token: Some("read-only-token".into()),
        ..Default::default()
    })
    .unwrap();
    let kc = sim
        .dir
        .write("ro.kubeconfig", &ro.read_only_kubeconfig().unwrap());
    let out = sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--kubeconfig",
        &kc,
        "-n",
        "default",
    ]);
    out.fails_with(1, &["403"]);

    let unreachable = sim
        .instance
        .kubeconfig()
        .replace(&sim.instance.url, "https://127.0.0.1:1");
    let kc = sim.dir.write("down.kubeconfig", &unreachable);
    let started = Instant::now();
    sim.thebot(&["install", "--wait=false", "dev", "--kubeconfig", &kc])
        .fails_with(1, &["cannot reach the API server at https://127.0.0.1:1"]);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn generated_secrets_survive_upgrade_and_reinstall() {
    let sim = Sim::start();
    install_dev(&sim);
    let password = secret_value(&sim, "thebot-dev", "thebot-dev-secret", "POSTGRES_PASSWORD");
    assert_eq!(password.len(), 32);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        secret_value(&sim, "thebot-dev", "thebot-dev-secret", "DATABASE_URL").contains(&password)
    );
    assert_eq!(
        secret_value(
            &sim,
            "thebot-dev",
            "thebot-dev-generated",
            "postgresPassword"
        ),
        password
    );

    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--set",
        "images.backend.tag=1.5.0",
    ])
    .ok();
    assert_eq!(
        secret_value(&sim, "thebot-dev", "thebot-dev-secret", "POSTGRES_PASSWORD"),
        password
    );

    // The records go (as after an uninstall); the generated Secret stays.
    for rev in 1..=2 {
        let (code, _) = sim.request(
            "DELETE",
            &format!("/api/v1/namespaces/thebot-dev/secrets/thebot.release.v1.thebot-dev.v{rev}"),
            "application/json",
            None,
        );
        assert_eq!(code, 200);
    }
    sim.thebot(&["install", "--wait=false", "dev"]).ok();
    assert_eq!(
        secret_value(&sim, "thebot-dev", "thebot-dev-secret", "POSTGRES_PASSWORD"),
        password
    );
}

#[test]
fn install_refuses_an_existing_release_and_upgrade_a_missing_one() {
    let sim = Sim::start();
    sim.thebot(&["upgrade", "--wait=false", "dev"])
        .fails_with(1, &["no revision", "upgrade --install"]);
    install_dev(&sim);
    sim.thebot(&["install", "--wait=false", "dev"])
        .fails_with(1, &["already exists", "thebot upgrade"]);
    let sim2 = Sim::start();
    let out = sim2.thebot(&[
        "upgrade",
        "--wait=false",
        "dev",
        "--install",
        "--create-namespace",
    ]);
    assert!(out.ok().contains("revision 1 deployed"));
}

#[test]
fn reuse_values_replays_the_previous_layers() {
    let sim = Sim::start();
    sim.thebot(&[
        "install",
        "--wait=false",
        "dev",
        "--create-namespace",
        "--set",
        "app.logLevel=WARNING",
    ])
    .ok();
    sim.thebot(&[
        "upgrade",
        "--wait=false",
        "-n",
        "thebot-dev",
        "--reuse-values",
        "--set",
        "app.apiPageSize=50",
    ])
    .ok();
    let cm = sim.get("/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config");
    assert_eq!(cm["data"]["LOG_LEVEL"], "WARNING");
    assert_eq!(cm["data"]["API_PAGE_SIZE"], "50");
    sim.thebot(&["upgrade", "--wait=false", "-n", "thebot-dev"])
        .ok();
    let cm = sim.get("/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config");
    assert_eq!(
        cm["data"]["LOG_LEVEL"], "DEBUG",
        "without --reuse-values the environment's value returns"
    );
}

#[test]
fn history_max_keeps_the_last_deployed_revision() {
    let sim = Sim::start();
    install_dev(&sim);
    for i in 0..3 {
        sim.thebot(&[
            "upgrade",
            "--wait=false",
            "-n",
            "thebot-dev",
            "--history-max",
            "2",
            "--set",
            &format!("app.apiPageSize={}", 30 + i),
        ])
        .ok();
    }
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [(3, "superseded".into()), (4, "deployed".into())]
    );
}

#[test]
fn a_create_whose_answer_was_lost_is_not_done_twice() {
    // The first create of each Secret (the generated one, then the
    // record) acts, then the connection drops before the answer.
    let sim = Sim::with_faults(&["drop-after,verb=create,resource=secrets,times=2"]);
    let out = sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"]);
    assert!(out.ok().contains("revision 1 deployed"), "{}", out.stderr);
    assert_eq!(
        statuses(&sim, &["-n", "thebot-dev"]),
        [(1, "deployed".into())]
    );
}

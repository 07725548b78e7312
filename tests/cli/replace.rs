//! `--force-replace` and `--take-ownership` of fields held by other managers (issue 10).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::sim::Sim;

const NS: &str = "thebot-dev";
const STS: &str = "/apis/apps/v1/namespaces/thebot-dev/statefulsets/thebot-dev-postgresql";
const PG_PODS: &str =
    "/api/v1/namespaces/thebot-dev/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dpostgresql";
const PVC: &str =
    "/api/v1/namespaces/thebot-dev/persistentvolumeclaims/data-thebot-dev-postgresql-0";

/// (name, uid, creationTimestamp) of PostgreSQL's pods.
fn pg_pods(sim: &Sim) -> BTreeSet<(String, String, String)> {
    sim.list(PG_PODS)
        .iter()
        .map(|p| {
            let m = &p["metadata"];
            let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
            (s("name"), s("uid"), s("creationTimestamp"))
        })
        .collect()
}

/// How many requests of `verb` on `resource` kubesim served since the last reset.
fn requests(sim: &Sim, verb: &str, resource: &str) -> u64 {
    let (code, body) = sim.request("GET", "/_sim/requests", "application/json", None);
    assert_eq!(code, 200, "{body}");
    body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verb"] == verb && r["resource"] == resource)
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum()
}

fn reset_requests(sim: &Sim) {
    let (code, body) = sim.request("DELETE", "/_sim/requests", "application/json", None);
    assert_eq!(code, 200, "{body}");
}

fn storage(sts: &Value) -> &Value {
    &sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
}

fn controller_uid(obj: &Value) -> String {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
        .and_then(|r| r["uid"].as_str())
        .unwrap_or("")
        .to_string()
}

#[test]
fn force_replace_recreates_a_statefulset_and_keeps_its_pods_running() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace"]).ok();
    let old = sim.get(STS);
    assert_eq!(storage(&old), "5Gi");
    let pods = pg_pods(&sim);
    assert_eq!(pods.len(), 1, "{pods:?}");
    let pvc_uid = sim.get(PVC)["metadata"]["uid"].clone();
    reset_requests(&sim);

    let mut child = sim.spawn(
        &[
            "upgrade",
            "-n",
            NS,
            "--set",
            "postgresql.persistence.size=10Gi",
            "--force-replace",
        ],
        &[],
    );
    // The pod is there, the same one, at every look during the upgrade.
    let mut looks = 0;
    while child.try_wait().unwrap().is_none() {
        assert_eq!(pg_pods(&sim), pods, "look {looks}: the pod changed");
        looks += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr:\n{stderr}");
    assert!(looks > 0);
    assert!(
        stderr.contains("StatefulSet/thebot-dev/thebot-dev-postgresql: replaced: spec.volumeClaimTemplates cannot change; \
             deleted with Orphan propagation (its pods were kept) and recreated"),
        "{stderr}"
    );

    let new = sim.get(STS);
    assert_ne!(new["metadata"]["uid"], old["metadata"]["uid"], "recreated");
    assert_eq!(storage(&new), "10Gi");
    assert_eq!(new["status"]["readyReplicas"], 1, "{new}");
    assert_eq!(pg_pods(&sim), pods, "same pod: uid and creationTimestamp");
    for p in sim.list(PG_PODS) {
        assert_eq!(
            controller_uid(&p),
            new["metadata"]["uid"].as_str().unwrap(),
            "adopted by the new StatefulSet"
        );
    }
    assert_eq!(
        sim.get(PVC)["metadata"]["uid"],
        pvc_uid,
        "the claim survived"
    );
    assert_eq!(requests(&sim, "delete", "pods"), 0, "no pod was deleted");
    assert_eq!(requests(&sim, "delete", "persistentvolumeclaims"), 0);
    assert_eq!(requests(&sim, "delete", "statefulsets"), 1);
    let h = sim.history(NS);
    assert_eq!(h.last().unwrap().1, "deployed", "{h:?}");
}

#[test]
fn an_immutable_change_without_force_replace_fails_and_deletes_nothing() {
    let sim = Sim::start();
    sim.thebot(&["install", "--wait=false", "dev", "--create-namespace"])
        .ok();
    let old = sim.get(STS);
    reset_requests(&sim);
    let upgrade = [
        "upgrade",
        "--wait=false",
        "-n",
        NS,
        "--set",
        "postgresql.persistence.size=10Gi",
    ];
    sim.thebot(&upgrade).fails_with(
        1,
        &[
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            "spec.volumeClaimTemplates cannot change",
            "--force-replace",
        ],
    );
    let h = sim.history(NS);
    assert_eq!(
        h.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["deployed", "failed"],
        "{h:?}"
    );

    // A server dry run says what --force-replace would do, and does nothing.
    let mut dry = upgrade.to_vec();
    dry.extend(["--force-replace", "--dry-run=server"]);
    let out = sim.thebot(&dry);
    assert!(
        out.ok().contains(
            "StatefulSet/thebot-dev/thebot-dev-postgresql (would be replaced: spec.volumeClaimTemplates cannot change"
        ),
        "{}",
        out.stdout
    );

    let (_, deleted) = sim.request("GET", "/_sim/requests", "application/json", None);
    let deletes: Vec<&Value> = deleted["requests"]
        .as_array()
        .unwrap()
        .iter()
        // The lock's Lease is released by a DELETE: that one is expected.
        .filter(|r| r["verb"] == "delete" && r["resource"] != "leases")
        .collect();
    assert!(deletes.is_empty(), "nothing was deleted: {deletes:?}");
    let now = sim.get(STS);
    assert_eq!(now["metadata"]["uid"], old["metadata"]["uid"]);
    assert_eq!(storage(&now), "5Gi");
}

#[test]
fn take_ownership_moves_another_managers_fields_so_the_next_upgrade_prunes_them() {
    let sim = Sim::start();
    let (code, _) = sim.request(
        "POST",
        "/api/v1/namespaces",
        "application/json",
        Some(&json!({"metadata": {"name": NS}})),
    );
    assert_eq!(code, 201);
    let path = "/api/v1/namespaces/thebot-dev/configmaps/thebot-dev-config";
    let helm_cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "thebot-dev-config", "namespace": NS,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "thebot"}},
        "data": {"LOG_LEVEL": "INFO", "HELM_ONLY": "1"}});
    let (code, body) = sim.apply_as("helm", path, &helm_cm, false);
    assert_eq!(code, 201, "{body}");
    // And a field from a client-side `kubectl apply` (an Update entry).
    let (code, body) = sim.request(
        "PATCH",
        &format!("{path}?fieldManager=kubectl-client-side-apply"),
        "application/merge-patch+json",
        Some(&json!({"data": {"KUBECTL_ONLY": "1"}})),
    );
    assert_eq!(code, 200, "{body}");
    let managers = |cm: &Value| -> Vec<String> {
        cm["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap().to_string())
            .collect()
    };

    let out = sim.thebot(&["install", "--wait=false", "dev", "--take-ownership"]);
    out.ok();
    assert!(
        out.stderr.contains(
            "ConfigMap/thebot-dev/thebot-dev-config: fields owned by helm, kubectl-client-side-apply now belong to thebot"
        ),
        "{}",
        out.stderr
    );
    let cm = sim.get(path);
    assert_eq!(managers(&cm), ["thebot"], "{cm}");
    assert_eq!(cm["data"]["HELM_ONLY"], "1", "kept until the next apply");

    sim.thebot(&["upgrade", "--wait=false", "-n", NS]).ok();
    let cm = sim.get(path);
    assert!(cm["data"].get("HELM_ONLY").is_none(), "{cm}");
    assert!(cm["data"].get("KUBECTL_ONLY").is_none(), "{cm}");
    assert_eq!(cm["data"]["LOG_LEVEL"], "DEBUG");
    assert!(
        cm["metadata"]["annotations"]
            .get("meta.helm.sh/release-name")
            .is_none(),
        "{cm}"
    );
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "thebot"
    );
    assert_eq!(managers(&cm), ["thebot"]);
}

#[test]
fn diff_shows_an_immutable_change_and_what_it_takes() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--wait=false"])
        .ok();
    let args = [
        "diff",
        "-n",
        "thebot-dev",
        "--set",
        "postgresql.persistence.size=10Gi",
        "--detailed-exitcode",
    ];
    let out = sim.thebot(&args);
    assert_eq!(out.code, 5, "a change, not an error: {}", out.stderr);
    let text = &out.stdout;
    assert!(
        text.contains("StatefulSet/thebot-dev/thebot-dev-postgresql: spec.volumeClaimTemplates cannot change in place; `upgrade --force-replace`"),
        "{text}"
    );
    // Only the size changes: the server's defaults in the template stay.
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(
        changed,
        ["-          storage: 5Gi", "+          storage: 10Gi"],
        "{text}"
    );

    let out = sim.thebot(&[&args[..5], &["-o", "json"]].concat());
    let summary: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(
        summary["replace"],
        json!(["StatefulSet/thebot-dev/thebot-dev-postgresql"])
    );
    assert_eq!(
        summary["changed"],
        json!(["StatefulSet/thebot-dev/thebot-dev-postgresql"])
    );
}

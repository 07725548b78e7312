//! Controllers on the virtual clock (issue 6), against the shapes of
//! fixtures 06, 08, 09, 10 and 11. Each test runs a manual clock (speed
//! 0) and moves it with `POST /_sim/advance`, which answers once the
//! controllers have settled, so every step is exact.

use serde_json::{Value, json};

use crate::client::Client;

fn manual() -> (kubesim::Instance, Client) {
    let inst = kubesim::spawn_with(kubesim::Options {
        speed: 0.0,
        ..Default::default()
    })
    .expect("kubesim starts");
    let c = Client::new(&inst);
    (inst, c)
}

pub fn advance(c: &Client, seconds: f64) {
    let r = c.send(
        "POST",
        &format!("/_sim/advance?seconds={seconds}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

fn create(c: &Client, path: &str, body: Value) -> Value {
    let r = c.post_json(path, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn get(c: &Client, path: &str) -> Value {
    let r = c.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn items(c: &Client, path: &str) -> Vec<Value> {
    get(c, path)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn condition<'a>(obj: &'a Value, ty: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
        .unwrap_or(&Value::Null)
}

/// The status without timestamps, for comparing with a fixture's.
fn shape(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(cs) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs {
            if let Some(m) = c.as_object_mut() {
                for k in [
                    "lastUpdateTime",
                    "lastTransitionTime",
                    "lastProbeTime",
                    "message",
                ] {
                    m.remove(k);
                }
            }
        }
    }
    for k in [
        "startTime",
        "completionTime",
        "currentRevision",
        "updateRevision",
    ] {
        if let Some(m) = s.as_object_mut() {
            m.remove(k);
        }
    }
    s
}

fn fixture_bodies(file: &str) -> Vec<Value> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/k8s-1.32")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["response"]["body"].clone())
        .collect()
}

pub fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    })
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

#[test]
fn a_deployment_rolls_out_with_the_fixture_shape() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 2));
    advance(&c, 0.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    let fixture = fixture_bodies("06-ssa-deployment-rollout.json");
    assert_eq!(shape(&d["status"]), shape(&fixture[2]["status"]), "{d}");
    let rs_name = d["status"]["conditions"][1]["message"]
        .as_str()
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(rs_name.starts_with("web-"), "{rs_name}");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let managers: Vec<(&str, &str)> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap(),
                m["subresource"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        managers.contains(&("kube-controller-manager", "status")),
        "{managers:?}"
    );

    advance(&c, 1.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(shape(&d["status"]), shape(&fixture[5]["status"]), "{d}");
    let progressing = condition(&d, "Progressing");
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet \"{rs_name}\" has successfully progressed.")
    );
    assert_ne!(
        progressing["lastUpdateTime"],
        progressing["lastTransitionTime"]
    );

    let rss = items(
        &c,
        "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb",
    );
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let want = &fixture[6]["items"][0];
    assert_eq!(rs["metadata"]["name"], rs_name);
    assert_eq!(shape(&rs["status"]), shape(&want["status"]));
    let annotations = rs["metadata"]["annotations"].as_object().unwrap();
    assert_eq!(
        annotations.keys().collect::<Vec<_>>(),
        want["metadata"]["annotations"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(rs_name, format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);

    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb",
    );
    assert_eq!(pods.len(), 2);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Running", "{p}");
        assert_eq!(condition(p, "Ready")["status"], "True");
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
        assert_eq!(p["spec"]["nodeName"], "kubesim-node");
        assert!(
            p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{rs_name}-"))
        );
    }
    let events = items(&c, "/api/v1/namespaces/default/events");
    let reasons: Vec<&str> = events
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    for r in [
        "ScalingReplicaSet",
        "SuccessfulCreate",
        "Scheduled",
        "Pulled",
        "Created",
        "Started",
    ] {
        assert!(reasons.contains(&r), "{reasons:?}");
    }
    let scaling = events
        .iter()
        .find(|e| e["reason"] == "ScalingReplicaSet")
        .unwrap();
    assert_eq!(
        scaling["message"],
        format!("Scaled up replica set {rs_name} from 0 to 2")
    );
    assert_eq!(scaling["source"]["component"], "deployment-controller");
}

#[test]
fn an_update_rolls_with_surge() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 4));
    advance(&c, 1.0);
    let mut d = get(&c, &format!("{DEPLOYMENTS}/web"));
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let r = c.put_json(&format!("{DEPLOYMENTS}/web"), &d);
    assert_eq!(r.status, 200, "{}", r.text());
    advance(&c, 0.0);
    // maxSurge 25% of 4 = 1, maxUnavailable 25% of 4 = 1: 5 pods at most,
    // 3 available at least.
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let rss = items(&c, "/apis/apps/v1/namespaces/default/replicasets");
    assert_eq!(rss.len(), 2);
    let total: i64 = rss
        .iter()
        .map(|r| r["spec"]["replicas"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 5, "{rss:?}");
    let mut max_pods = 0;
    for _ in 0..10 {
        let pods = items(&c, "/api/v1/namespaces/default/pods");
        max_pods = max_pods.max(pods.len());
        let ready = pods
            .iter()
            .filter(|p| condition(p, "Ready")["status"] == "True")
            .count();
        assert!(ready >= 3, "{ready} ready");
        advance(&c, 1.0);
    }
    assert!(max_pods <= 5, "{max_pods} pods");
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(d["status"]["updatedReplicas"], 4, "{d}");
    assert_eq!(d["status"]["availableReplicas"], 4, "{d}");
    assert_eq!(d["status"]["replicas"], 4, "{d}");
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    let pods = items(&c, "/api/v1/namespaces/default/pods");
    assert_eq!(pods.len(), 4);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
    );
    let old = rss
        .iter()
        .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1")
        .unwrap();
    let old = get(
        &c,
        &format!(
            "/apis/apps/v1/namespaces/default/replicasets/{}",
            old["metadata"]["name"].as_str().unwrap()
        ),
    );
    assert_eq!(old["spec"]["replicas"], 0);
}

#[test]
fn a_crash_looping_rollout_exceeds_its_progress_deadline() {
    let (_inst, c) = manual();
    let mut body = deployment("deadline", "nginx:1.27", 2);
    body["spec"]["progressDeadlineSeconds"] = json!(10);
    create(&c, DEPLOYMENTS, body);
    advance(&c, 2.0);
    let mut d = get(&c, &format!("{DEPLOYMENTS}/deadline"));
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:crashloop");
    assert_eq!(
        c.put_json(&format!("{DEPLOYMENTS}/deadline"), &d).status,
        200
    );
    advance(&c, 0.0);
    let fixture = fixture_bodies("10-deployment-progress-deadline.json");
    let d = get(&c, &format!("{DEPLOYMENTS}/deadline"));
    assert_eq!(shape(&d["status"]), shape(&fixture[6]["status"]), "{d}");
    advance(&c, 5.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/deadline"));
    assert_eq!(condition(&d, "Progressing")["status"], "True", "{d}");
    advance(&c, 7.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/deadline"));
    assert_eq!(shape(&d["status"]), shape(&fixture[7]["status"]), "{d}");
    let p = condition(&d, "Progressing");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .ends_with("has timed out progressing."),
        "{p}"
    );
    let events = items(&c, "/api/v1/namespaces/default/events");
    assert!(
        !events
            .iter()
            .any(|e| e["reason"] == "ProgressDeadlineExceeded")
    );
    let pods = items(&c, "/api/v1/namespaces/default/pods");
    let crashing = pods
        .iter()
        .find(|p| p["spec"]["containers"][0]["image"] == "nginx:crashloop")
        .unwrap();
    let cs = &crashing["status"]["containerStatuses"][0];
    assert!(cs["restartCount"].as_i64().unwrap() >= 1, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1, "{cs}");
    assert_eq!(crashing["status"]["phase"], "Running");
}

fn job(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": image, "command": ["sh", "-c", "echo done"]}]
                }
            }
        }
    })
}

const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";

#[test]
fn a_job_completes() {
    let (_inst, c) = manual();
    create(&c, JOBS, job("job-ok", "busybox:1.36"));
    let fixture = fixture_bodies("08-ssa-job-complete.json");
    advance(&c, 0.0);
    let j = get(&c, &format!("{JOBS}/job-ok"));
    assert_eq!(shape(&j["status"]), shape(&fixture[2]["status"]), "{j}");
    advance(&c, 1.0);
    let j = get(&c, &format!("{JOBS}/job-ok"));
    assert_eq!(shape(&j["status"]), shape(&fixture[3]["status"]), "{j}");
    advance(&c, 1.0);
    let j = get(&c, &format!("{JOBS}/job-ok"));
    assert_eq!(shape(&j["status"]), shape(&fixture[5]["status"]), "{j}");
    assert_eq!(
        j["status"]["completionTime"],
        condition(&j, "Complete")["lastTransitionTime"]
    );
    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=job-name%3Djob-ok",
    );
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Succeeded");
    let t = &pods[0]["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["reason"], "Completed");
    assert_eq!(t["exitCode"], 0);
}

#[test]
fn a_jobfail_job_fails_with_failure_target_and_failed() {
    let (_inst, c) = manual();
    create(&c, JOBS, job("job-fail", "busybox:jobfail"));
    advance(&c, 3.0);
    let fixture = fixture_bodies("09-job-failed.json");
    let j = get(&c, &format!("{JOBS}/job-fail"));
    assert_eq!(shape(&j["status"]), shape(&fixture[5]["status"]), "{j}");
    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=job-name%3Djob-fail",
    );
    assert_eq!(pods.len(), 1);
    let want = &fixture[6]["items"][0]["status"];
    let got = &pods[0]["status"];
    assert_eq!(got["phase"], want["phase"]);
    assert_eq!(
        got["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        want["containerStatuses"][0]["state"]["terminated"]["exitCode"]
    );
    assert_eq!(
        got["containerStatuses"][0]["state"]["terminated"]["reason"],
        want["containerStatuses"][0]["state"]["terminated"]["reason"]
    );
    let events = items(&c, "/api/v1/namespaces/default/events");
    let failed = events
        .iter()
        .find(|e| e["reason"] == "BackoffLimitExceeded")
        .unwrap();
    assert_eq!(failed["type"], "Warning");
}

#[test]
fn a_job_past_its_active_deadline_fails() {
    let (_inst, c) = manual();
    let mut body = job("slow", "busybox:hang");
    body["spec"]["activeDeadlineSeconds"] = json!(5);
    create(&c, JOBS, body);
    advance(&c, 4.0);
    let j = get(&c, &format!("{JOBS}/slow"));
    assert_eq!(j["status"]["active"], 1, "{j}");
    advance(&c, 2.0);
    let j = get(&c, &format!("{JOBS}/slow"));
    assert_eq!(condition(&j, "Failed")["reason"], "DeadlineExceeded", "{j}");
    assert_eq!(condition(&j, "FailureTarget")["status"], "True", "{j}");
    assert!(items(&c, "/api/v1/namespaces/default/pods").is_empty());
}

#[test]
fn a_statefulset_with_claims_becomes_ready_in_order() {
    let (_inst, c) = manual();
    let sts = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{
                    "name": "pg", "image": "postgres:16",
                    "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]
                }]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    });
    let path = "/apis/apps/v1/namespaces/default/statefulsets";
    create(&c, path, sts);
    advance(&c, 0.0);
    let fixture = fixture_bodies("11-statefulset-volumeclaimtemplates.json");
    let s = get(&c, &format!("{path}/db"));
    assert_eq!(shape(&s["status"]), shape(&fixture[2]["status"]), "{s}");
    assert_eq!(
        items(&c, "/api/v1/namespaces/default/pods").len(),
        1,
        "one pod at a time"
    );
    advance(&c, 1.0);
    let s = get(&c, &format!("{path}/db"));
    assert_eq!(shape(&s["status"]), shape(&fixture[3]["status"]), "{s}");
    advance(&c, 1.0);
    let s = get(&c, &format!("{path}/db"));
    assert_eq!(shape(&s["status"]), shape(&fixture[5]["status"]), "{s}");
    let rev = s["status"]["updateRevision"].as_str().unwrap();
    assert_eq!(s["status"]["currentRevision"], rev);
    assert!(rev.starts_with("db-"));
    let crs = items(&c, "/apis/apps/v1/namespaces/default/controllerrevisions");
    assert_eq!(crs.len(), 1);
    assert_eq!(crs[0]["metadata"]["name"], rev);
    let pvcs = items(
        &c,
        "/api/v1/namespaces/default/persistentvolumeclaims?labelSelector=app%3Ddb",
    );
    let names: Vec<&str> = pvcs
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-db-0", "data-db-1"]);
    for p in &pvcs {
        assert_eq!(p["status"]["phase"], "Bound", "{p}");
        assert_eq!(p["status"]["capacity"]["storage"], "1Gi");
        assert_eq!(
            p["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"],
            "yes"
        );
    }
    let pod = get(&c, "/api/v1/namespaces/default/pods/db-1");
    assert_eq!(pod["metadata"]["labels"]["controller-revision-hash"], rev);
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-db-1"
    );
}

#[test]
fn claims_without_a_class_bind_to_the_default_class() {
    let (_inst, c) = manual();
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "media"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "5Gi"}}}
    });
    create(&c, "/api/v1/namespaces/default/persistentvolumeclaims", pvc);
    advance(&c, 0.0);
    let p = get(
        &c,
        "/api/v1/namespaces/default/persistentvolumeclaims/media",
    );
    assert_eq!(p["spec"]["storageClassName"], "standard");
    assert_eq!(p["status"]["phase"], "Bound");
    assert_eq!(p["status"]["accessModes"][0], "ReadWriteMany");
    let pv = get(
        &c,
        &format!(
            "/api/v1/persistentvolumes/{}",
            p["spec"]["volumeName"].as_str().unwrap()
        ),
    );
    assert_eq!(pv["status"]["phase"], "Bound");
    // A WaitForFirstConsumer claim waits for its pod.
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "late"},
        "spec": {"storageClassName": "standard-wffc", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    });
    create(&c, "/api/v1/namespaces/default/persistentvolumeclaims", pvc);
    advance(&c, 5.0);
    let p = get(&c, "/api/v1/namespaces/default/persistentvolumeclaims/late");
    assert_eq!(p["status"]["phase"], "Pending");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "user"},
        "spec": {
            "containers": [{"name": "app", "image": "busybox:1.36"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "late"}}]
        }
    });
    create(&c, "/api/v1/namespaces/default/pods", pod);
    advance(&c, 1.0);
    let p = get(&c, "/api/v1/namespaces/default/persistentvolumeclaims/late");
    assert_eq!(p["status"]["phase"], "Bound");
    assert_eq!(
        p["metadata"]["annotations"]["volume.kubernetes.io/selected-node"],
        "kubesim-node"
    );
    let pod = get(&c, "/api/v1/namespaces/default/pods/user");
    assert_eq!(condition(&pod, "Ready")["status"], "True", "{pod}");
}

#[test]
fn logs_show_the_crash_of_the_previous_container() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("crash", "nginx:crashloop", 1));
    advance(&c, 0.0);
    let pod = items(&c, "/api/v1/namespaces/default/pods")[0].clone();
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    let log = |q: &str| c.get(&format!("/api/v1/namespaces/default/pods/{name}/log{q}"));
    let r = log("");
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("is waiting to start: ContainerCreating"),
        "{}",
        r.text()
    );
    advance(&c, 1.0);
    let r = log("");
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("starting (nginx:crashloop)"),
        "{}",
        r.text()
    );
    let r = log("?previous=true");
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("previous terminated container \\\"app\\\""),
        "{}",
        r.text()
    );
    // As a 1.32 kubelet does: the first exit is restarted at once, the
    // second waits 10 s in CrashLoopBackOff with restartCount 1.
    advance(&c, 1.0);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    let cs = &pod["status"]["containerStatuses"][0];
    assert!(cs["state"]["running"].is_object(), "{cs}");
    assert_eq!(cs["restartCount"], 1, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1, "{cs}");
    assert!(
        !items(&c, "/api/v1/namespaces/default/events")
            .iter()
            .any(|e| e["reason"] == "BackOff"),
        "no back-off for the first restart"
    );
    advance(&c, 1.0);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff", "{cs}");
    assert_eq!(cs["restartCount"], 1);
    assert!(
        cs["state"]["waiting"]["message"]
            .as_str()
            .unwrap()
            .starts_with("back-off 10s restarting failed container=app pod="),
        "{cs}"
    );
    let r = log("?previous=true&timestamps=true");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("crashloop"), "{text}");
    assert!(text.trim_end().ends_with("exiting with status 1"), "{text}");
    assert!(
        text.starts_with("2026-") || text.starts_with("20"),
        "{text}"
    );
    let r = log("?previous=true&tailLines=1");
    assert_eq!(r.text(), "nginx: exiting with status 1\n");
    let r = log("?container=nope");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("container nope is not valid for pod"));
    let events = items(&c, "/api/v1/namespaces/default/events");
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "BackOff" && e["type"] == "Warning"),
        "{events:?}"
    );
    // Restarts back off: 10 s, then 20 s, then 40 s (Go's duration text).
    advance(&c, 9.9);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff",
        "{pod}"
    );
    advance(&c, 0.1);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    let cs = &pod["status"]["containerStatuses"][0];
    assert!(cs["state"]["running"].is_object(), "{cs}");
    assert_eq!(cs["restartCount"], 2, "{cs}");
    advance(&c, 1.0);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    let cs = &pod["status"]["containerStatuses"][0];
    assert!(
        cs["state"]["waiting"]["message"]
            .as_str()
            .unwrap()
            .starts_with("back-off 20s restarting"),
        "{cs}"
    );
    advance(&c, 29.0);
    let pod = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
    assert_eq!(
        pod["status"]["containerStatuses"][0]["restartCount"], 3,
        "{pod}"
    ); // Repeated events are counted, as the real recorders do.
    let events = items(&c, "/api/v1/namespaces/default/events");
    let backoff: Vec<&Value> = events.iter().filter(|e| e["reason"] == "BackOff").collect();
    assert_eq!(backoff.len(), 1, "{backoff:?}");
    assert_eq!(backoff[0]["count"], 3, "{backoff:?}");
    assert_ne!(backoff[0]["firstTimestamp"], backoff[0]["lastTimestamp"]);
}

#[test]
fn an_image_that_cannot_be_pulled_backs_off() {
    let (_inst, c) = manual();
    create(
        &c,
        DEPLOYMENTS,
        deployment("pull", "registry.example/app:pullfail", 1),
    );
    advance(&c, 1.0);
    let pod = items(&c, "/api/v1/namespaces/default/pods")[0].clone();
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "ErrImagePull", "{cs}");
    assert_eq!(pod["status"]["phase"], "Pending");
    advance(&c, 1.0);
    let pod = items(&c, "/api/v1/namespaces/default/pods")[0].clone();
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "ImagePullBackOff", "{cs}");
    assert_eq!(
        cs["state"]["waiting"]["message"],
        "Back-off pulling image \"registry.example/app:pullfail\""
    ); // kubectl get pods shows the waiting reason, as the real printer does.
    let r = c.send(
        "GET",
        "/api/v1/namespaces/default/pods",
        &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        None,
    );
    let table = r.json();
    assert_eq!(table["rows"][0]["cells"][2], "ImagePullBackOff", "{table}");
}

/// Everything that happened to workloads, pods, claims and events, as a
/// watch replays it from the first resourceVersion.
fn history(c: &Client) -> Vec<Value> {
    let mut streams = Vec::new();
    for path in [
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/replicasets",
        "/apis/apps/v1/statefulsets",
        "/apis/apps/v1/controllerrevisions",
        "/apis/batch/v1/jobs",
        "/api/v1/pods",
        "/api/v1/persistentvolumeclaims",
        "/api/v1/persistentvolumes",
        "/api/v1/events",
    ] {
        let (r, rx) = c.watch(&format!(
            "{path}?watch=1&resourceVersion=100&timeoutSeconds=1"
        ));
        assert_eq!(r.status, 200);
        streams.push(rx);
    }
    streams.into_iter().flat_map(|rx| rx.into_iter()).collect()
}

fn scenario() -> Vec<Value> {
    let inst = kubesim::spawn_with(kubesim::Options {
        speed: 0.0,
        seed: Some(7),
        ..Default::default()
    })
    .expect("kubesim starts");
    let c = Client::new(&inst);
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 3));
    advance(&c, 0.0);
    advance(&c, 1.5);
    let mut d = get(&c, &format!("{DEPLOYMENTS}/web"));
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:crashloop");
    assert_eq!(c.put_json(&format!("{DEPLOYMENTS}/web"), &d).status, 200);
    advance(&c, 0.0);
    create(&c, JOBS, job("once", "busybox:1.36"));
    advance(&c, 0.0);
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    });
    create(&c, "/api/v1/namespaces/default/persistentvolumeclaims", pvc);
    advance(&c, 0.0);
    advance(&c, 40.0);
    history(&c)
}

#[test]
fn the_same_scenario_twice_gives_identical_histories() {
    let a = scenario();
    let b = scenario();
    assert!(a.len() > 50, "{} events", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[test]
fn an_hpa_scales_its_target_to_min_replicas_through_scale() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 1));
    advance(&c, 1.0);
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 3, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        }
    });
    create(
        &c,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        hpa,
    );
    advance(&c, 0.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(d["spec"]["replicas"], 3);
    let scale = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subresource"] == "scale")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(scale["manager"], "kube-controller-manager", "{d}");
    assert!(
        scale["fieldsV1"]["f:spec"]["f:replicas"].is_object(),
        "{scale}"
    );
    let h = get(
        &c,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
    );
    // Within bounds again, and with no metrics server, it reports
    // FailedGetResourceMetric (fixture 22).
    assert!(h["status"]["lastScaleTime"].is_string(), "{h}");
    assert_eq!(h["status"]["currentReplicas"], 3, "{h}");
    advance(&c, 1.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(d["status"]["availableReplicas"], 3, "{d}");
    let h = get(
        &c,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
    );
    assert_eq!(
        condition(&h, "ScalingActive")["reason"],
        "FailedGetResourceMetric",
        "{h}"
    );
    let events = items(&c, "/api/v1/namespaces/default/events");
    assert!(events.iter().any(|e| e["reason"] == "SuccessfulRescale"
        && e["message"]
            == "New size: 3; reason: Current number of replicas below Spec.MinReplicas"));
}

#[test]
fn deleting_a_namespace_removes_its_workloads_and_volumes() {
    let inst = kubesim::spawn().expect("kubesim starts");
    let c = Client::new(&inst);
    create(
        &c,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}),
    );
    let mut d = deployment("web", "nginx:1.27", 2);
    d["metadata"]["namespace"] = json!("gone");
    create(&c, "/apis/apps/v1/namespaces/gone/deployments", d);
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "gone"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    });
    create(&c, "/api/v1/namespaces/gone/persistentvolumeclaims", pvc);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get(&c, "/apis/apps/v1/namespaces/gone/deployments/web")["status"]["availableReplicas"]
        != 2
    {
        assert!(std::time::Instant::now() < deadline, "rolled out");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(items(&c, "/api/v1/persistentvolumes").len(), 1);
    assert_eq!(c.delete("/api/v1/namespaces/gone").status, 200);
    while c.get("/api/v1/namespaces/gone").status != 404 {
        assert!(std::time::Instant::now() < deadline, "namespace deleted");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(items(&c, "/api/v1/pods?fieldSelector=metadata.namespace%3Dgone").is_empty());
    while !items(&c, "/api/v1/persistentvolumes").is_empty() {
        assert!(std::time::Instant::now() < deadline, "volume released");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn recreate_stops_old_pods_before_starting_new_ones() {
    let (_inst, c) = manual();
    let mut body = deployment("beat", "busybox:1.36", 1);
    body["spec"]["strategy"] = json!({"type": "Recreate"});
    create(&c, DEPLOYMENTS, body);
    advance(&c, 1.0);
    let mut d = get(&c, &format!("{DEPLOYMENTS}/beat"));
    assert_eq!(d["status"]["availableReplicas"], 1, "{d}");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:1.37");
    assert_eq!(c.put_json(&format!("{DEPLOYMENTS}/beat"), &d).status, 200);
    advance(&c, 0.0);
    let pods = items(&c, "/api/v1/namespaces/default/pods");
    assert_eq!(pods.len(), 1, "{pods:?}");
    assert_eq!(pods[0]["spec"]["containers"][0]["image"], "busybox:1.37");
    advance(&c, 1.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/beat"));
    assert_eq!(d["status"]["updatedReplicas"], 1, "{d}");
    assert_eq!(d["status"]["availableReplicas"], 1, "{d}");
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn deletion_propagates_through_the_controllers_objects() {
    let inst = kubesim::spawn().expect("kubesim starts");
    let c = Client::new(&inst);
    for name in ["fg", "orph"] {
        create(&c, DEPLOYMENTS, deployment(name, "nginx:1.27", 2));
    }
    for name in ["fg", "orph"] {
        eventually("rolled out", || {
            get(&c, &format!("{DEPLOYMENTS}/{name}"))["status"]["availableReplicas"] == 2
        });
    }
    let body = json!({"propagationPolicy": "Foreground"}).to_string();
    let r = c.send(
        "DELETE",
        &format!("{DEPLOYMENTS}/fg"),
        &[],
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    eventually("foreground deletion completes", || {
        c.get(&format!("{DEPLOYMENTS}/fg")).status == 404
    });
    assert!(items(&c, "/api/v1/namespaces/default/pods?labelSelector=app%3Dfg").is_empty());
    assert!(
        items(
            &c,
            "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dfg"
        )
        .is_empty()
    );

    let body = json!({"propagationPolicy": "Orphan"}).to_string();
    let r = c.send(
        "DELETE",
        &format!("{DEPLOYMENTS}/orph"),
        &[],
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(r.status, 200);
    eventually("orphaned", || {
        c.get(&format!("{DEPLOYMENTS}/orph")).status == 404
    });
    let rss = items(
        &c,
        "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dorph",
    );
    assert_eq!(rss.len(), 1);
    assert!(
        rss[0]["metadata"]["ownerReferences"].is_null(),
        "{}",
        rss[0]
    );
    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dorph",
    );
    assert_eq!(pods.len(), 2, "the orphaned ReplicaSet keeps its pods");
    // A deleted pod of the orphan is replaced by its ReplicaSet.
    let victim = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        c.delete(&format!("/api/v1/namespaces/default/pods/{victim}"))
            .status,
        200
    );
    eventually("pod replaced", || {
        let pods = items(
            &c,
            "/api/v1/namespaces/default/pods?labelSelector=app%3Dorph",
        );
        pods.len() == 2
            && pods
                .iter()
                .all(|p| p["metadata"]["name"] != victim.as_str())
    });
}

#[test]
fn a_statefulset_update_replaces_pods_from_the_highest_ordinal() {
    let (_inst, c) = manual();
    let path = "/apis/apps/v1/namespaces/default/statefulsets";
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "cache"},
        "spec": {
            "serviceName": "cache", "replicas": 3,
            "selector": {"matchLabels": {"app": "cache"}},
            "template": {"metadata": {"labels": {"app": "cache"}},
                "spec": {"containers": [{"name": "redis", "image": "redis:7.4"}]}}
        }
    });
    create(&c, path, sts);
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let s = get(&c, &format!("{path}/cache"));
    assert_eq!(s["status"]["readyReplicas"], 3, "{s}");
    let old = s["status"]["currentRevision"].as_str().unwrap().to_string();
    let mut s = s;
    s["spec"]["template"]["spec"]["containers"][0]["image"] = json!("redis:7.5");
    assert_eq!(c.put_json(&format!("{path}/cache"), &s).status, 200);
    advance(&c, 0.0);
    let s = get(&c, &format!("{path}/cache"));
    let new = s["status"]["updateRevision"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    assert_eq!(s["status"]["currentRevision"], old.as_str());
    let revision = |n: &str| {
        get(&c, &format!("/api/v1/namespaces/default/pods/{n}"))["metadata"]["labels"]
            ["controller-revision-hash"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(
        revision("cache-2").as_deref(),
        Some(new.as_str()),
        "highest first"
    );
    assert_eq!(revision("cache-0").as_deref(), Some(old.as_str()));
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let s = get(&c, &format!("{path}/cache"));
    assert_eq!(s["status"]["currentRevision"], new.as_str(), "{s}");
    assert_eq!(s["status"]["updatedReplicas"], 3, "{s}");
    assert_eq!(s["status"]["readyReplicas"], 3, "{s}");
    assert_eq!(
        items(&c, "/apis/apps/v1/namespaces/default/controllerrevisions").len(),
        2
    );
}

#[test]
fn a_partition_keeps_lower_ordinals_on_the_current_revision() {
    let (_inst, c) = manual();
    let path = "/apis/apps/v1/namespaces/default/statefulsets";
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "p"},
        "spec": {
            "serviceName": "p", "replicas": 2, "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "selector": {"matchLabels": {"app": "p"}},
            "template": {"metadata": {"labels": {"app": "p"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
        }
    });
    create(&c, path, sts);
    advance(&c, 1.0);
    let mut s = get(&c, &format!("{path}/p"));
    let old = s["status"]["currentRevision"].as_str().unwrap().to_string();
    s["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:1.37");
    assert_eq!(c.put_json(&format!("{path}/p"), &s).status, 200);
    advance(&c, 2.0);
    assert_eq!(c.delete("/api/v1/namespaces/default/pods/p-0").status, 200);
    advance(&c, 2.0);
    let image = |n: &str| {
        get(&c, &format!("/api/v1/namespaces/default/pods/{n}"))["spec"]["containers"][0]["image"]
            .clone()
    };
    assert_eq!(image("p-0"), "busybox:1.36", "below the partition");
    assert_eq!(image("p-1"), "busybox:1.37");
    let s = get(&c, &format!("{path}/p"));
    assert_eq!(s["status"]["currentRevision"], old.as_str(), "{s}");
    assert_eq!(s["status"]["updatedReplicas"], 1, "{s}");
    assert_eq!(s["status"]["readyReplicas"], 2, "{s}");
}

#[test]
fn pdb_and_hpa_status_have_the_fixture_shape() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 2));
    let pdb = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    });
    create(
        &c,
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        pdb,
    );
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        }
    });
    create(
        &c,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        hpa,
    );
    advance(&c, 2.0);
    let fixture = fixture_bodies("22-ssa-more-kinds.json");
    let want_pdb = fixture
        .iter()
        .rev()
        .find(|b| b["kind"] == "PodDisruptionBudget")
        .unwrap();
    let want_hpa = fixture
        .iter()
        .rev()
        .find(|b| b["kind"] == "HorizontalPodAutoscaler")
        .unwrap();
    let pdb = get(
        &c,
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web",
    );
    assert_eq!(shape(&pdb["status"]), shape(&want_pdb["status"]), "{pdb}");
    let hpa = get(
        &c,
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
    );
    assert_eq!(shape(&hpa["status"]), shape(&want_hpa["status"]), "{hpa}");
}

#[test]
fn slow_exit_and_hang_faults_follow_their_tags() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("slow", "app:slow-5", 1));
    create(&c, JOBS, job("three", "busybox:exit-3"));
    create(&c, JOBS, job("stuck", "busybox:hang"));
    advance(&c, 4.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/slow"));
    assert!(
        d["status"]["availableReplicas"].is_null(),
        "not before 5 s: {d}"
    );
    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dslow",
    );
    assert_eq!(pods[0]["status"]["phase"], "Running");
    assert_eq!(pods[0]["status"]["containerStatuses"][0]["started"], true);
    assert_eq!(pods[0]["status"]["containerStatuses"][0]["ready"], false);
    advance(&c, 1.0);
    let d = get(&c, &format!("{DEPLOYMENTS}/slow"));
    assert_eq!(d["status"]["availableReplicas"], 1, "{d}");
    let pods = items(
        &c,
        "/api/v1/namespaces/default/pods?labelSelector=job-name%3Dthree",
    );
    assert_eq!(
        pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
    let j = get(&c, &format!("{JOBS}/three"));
    assert_eq!(condition(&j, "Failed")["reason"], "BackoffLimitExceeded");
    advance(&c, 600.0);
    let j = get(&c, &format!("{JOBS}/stuck"));
    assert_eq!(j["status"]["active"], 1, "{j}");
    assert_eq!(j["status"]["ready"], 0, "{j}");
    assert!(j["status"]["conditions"].is_null(), "{j}");
}

#[test]
fn the_binary_takes_a_speed() {
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--speed", "fast", "--ignore-stdin"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--speed"));
    let dir = std::env::temp_dir().join(format!("kubesim-speed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kc = dir.join("kubeconfig");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--port", "0", "--speed", "0", "--kubeconfig-out"])
        .arg(&kc)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let text = std::fs::read_to_string(&kc).unwrap();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .unwrap()
            .trim()
            .to_string()
    };
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    let ca = base64(&field("certificate-authority-data:"));
    let c = Client::from_parts(port, &field("token:"), &ca);
    let before = get(&c, "/_sim/clock");
    assert_eq!(before["speed"], 0.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        get(&c, "/_sim/clock")["now"],
        before["now"],
        "a manual clock stands still"
    );
    advance(&c, 2.5);
    assert_ne!(get(&c, "/_sim/clock")["now"], before["now"]);
    let r = c.send("POST", "/_sim/advance?seconds=-1", &[], None);
    assert_eq!(r.status, 400);
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn an_on_failure_job_counts_restarts_against_its_backoff_limit() {
    let (_inst, c) = manual();
    let mut body = job("retry", "busybox:jobfail");
    body["spec"]["backoffLimit"] = json!(2);
    body["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    create(&c, JOBS, body);
    advance(&c, 3.0);
    let j = get(&c, &format!("{JOBS}/retry"));
    assert!(
        j["status"]["conditions"].is_null(),
        "one restart is within the limit: {j}"
    );
    let pods = items(&c, "/api/v1/namespaces/default/pods");
    assert_eq!(pods.len(), 1, "restarted in place");
    assert_eq!(pods[0]["status"]["containerStatuses"][0]["restartCount"], 1);
    advance(&c, 12.0);
    let j = get(&c, &format!("{JOBS}/retry"));
    assert_eq!(
        condition(&j, "Failed")["reason"],
        "BackoffLimitExceeded",
        "{j}"
    );
}

#[test]
fn kubectl_get_events_prints_the_event_columns() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 1));
    advance(&c, 1.0);
    let r = c.send(
        "GET",
        "/api/v1/namespaces/default/events",
        &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        None,
    );
    let table = r.json();
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..4], ["Last Seen", "Type", "Reason", "Object"]);
    let row = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cells"][2] == "ScalingReplicaSet")
        .unwrap();
    assert_eq!(row["cells"][1], "Normal");
    assert_eq!(row["cells"][3], "deployment/web");
    assert_eq!(row["cells"][5], "deployment-controller");
    assert_eq!(row["cells"][8], "1");
}

/// (name, uid, creationTimestamp) of the pods matching `selector`.
fn pod_ids(c: &Client, selector: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = items(
        c,
        &format!("/api/v1/namespaces/default/pods?labelSelector={selector}"),
    )
    .iter()
    .map(|p| {
        let m = &p["metadata"];
        let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
        (s("name"), s("uid"), s("creationTimestamp"))
    })
    .collect();
    out.sort();
    out
}

fn delete_orphan(c: &Client, path: &str) {
    let body = json!({"propagationPolicy": "Orphan"}).to_string();
    let r = c.send(
        "DELETE",
        path,
        &[],
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    eventually("the orphaning delete completes", || {
        c.get(path).status == 404
    });
}

fn controller_uid(obj: &Value) -> &str {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
        .and_then(|r| r["uid"].as_str())
        .unwrap_or("")
}

/// What `thebot --force-replace` relies on: a StatefulSet deleted with
/// Orphan and recreated with other volumeClaimTemplates takes its pods
/// and revision back (the real controller's ClaimPods and
/// AdoptOrphanRevisions) instead of making new ones.
#[test]
fn a_statefulset_recreated_after_an_orphan_delete_adopts_its_pods() {
    let (_inst, c) = manual();
    let path = "/apis/apps/v1/namespaces/default/statefulsets";
    let sts = |storage: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db", "replicas": 2,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
                }]
            }
        })
    };
    create(&c, path, sts("1Gi"));
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let old = get(&c, &format!("{path}/db"));
    assert_eq!(old["status"]["readyReplicas"], 2, "{old}");
    let pods_before = pod_ids(&c, "app%3Ddb");
    assert_eq!(pods_before.len(), 2);

    delete_orphan(&c, &format!("{path}/db"));
    for p in items(&c, "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb") {
        assert!(p["metadata"]["ownerReferences"].is_null(), "orphaned: {p}");
    }
    // An orphan that is not `<set>-<ordinal>` is no member of the set.
    create(
        &c,
        "/api/v1/namespaces/default/pods",
        json!({"metadata": {"name": "stray", "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}),
    );

    let new = create(&c, path, sts("2Gi"));
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let new_uid = new["metadata"]["uid"].as_str().unwrap();
    assert_ne!(new_uid, old["metadata"]["uid"].as_str().unwrap());
    let pods_after: Vec<_> = pod_ids(&c, "app%3Ddb")
        .into_iter()
        .filter(|(n, _, _)| n != "stray")
        .collect();
    assert_eq!(pods_after, pods_before, "the same pods, never recreated");
    for (name, _, _) in &pods_after {
        let p = get(&c, &format!("/api/v1/namespaces/default/pods/{name}"));
        assert_eq!(controller_uid(&p), new_uid, "adopted: {p}");
    }
    let stray = get(&c, "/api/v1/namespaces/default/pods/stray");
    assert_eq!(controller_uid(&stray), "", "not adopted: {stray}");
    let s = get(&c, &format!("{path}/db"));
    assert_eq!(s["status"]["readyReplicas"], 2, "{s}");
    assert_eq!(
        s["status"]["currentRevision"],
        old["status"]["currentRevision"]
    );
    let crs = items(&c, "/apis/apps/v1/namespaces/default/controllerrevisions");
    assert_eq!(crs.len(), 1, "the revision was adopted, not duplicated");
    assert_eq!(controller_uid(&crs[0]), new_uid);
    let claims: Vec<String> = items(&c, "/api/v1/namespaces/default/persistentvolumeclaims")
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["metadata"]["name"].as_str().unwrap(),
                p["spec"]["resources"]["requests"]["storage"]
            )
        })
        .collect();
    assert_eq!(
        claims,
        ["data-db-0 \"1Gi\"", "data-db-1 \"1Gi\""],
        "existing claims are kept as they are"
    );
}

#[test]
fn a_deployment_recreated_after_an_orphan_delete_adopts_its_replicaset() {
    let (_inst, c) = manual();
    create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 2));
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let rs_path = "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb";
    let rss_before = items(&c, rs_path);
    assert_eq!(rss_before.len(), 1);
    let pods_before = pod_ids(&c, "app%3Dweb");

    delete_orphan(&c, &format!("{DEPLOYMENTS}/web"));
    let new = create(&c, DEPLOYMENTS, deployment("web", "nginx:1.27", 2));
    for _ in 0..3 {
        advance(&c, 1.0);
    }
    let rss = items(&c, rs_path);
    assert_eq!(rss.len(), 1, "no second ReplicaSet");
    assert_eq!(rss[0]["metadata"]["uid"], rss_before[0]["metadata"]["uid"]);
    assert_eq!(
        controller_uid(&rss[0]),
        new["metadata"]["uid"].as_str().unwrap()
    );
    assert_eq!(pod_ids(&c, "app%3Dweb"), pods_before);
    let d = get(&c, &format!("{DEPLOYMENTS}/web"));
    assert_eq!(d["status"]["availableReplicas"], 2, "{d}");
}

//! Auth, discovery and the CRUD verbs, checked directly (the fixture
//! replays in `replay` check the exact bodies).

use serde_json::json;

use crate::client::Client;

fn start() -> (kubesim::Instance, Client) {
    let sim = kubesim::spawn_with(kubesim::Options {
        read_only_token: Some("viewer".into()),
        ..kubesim::Options::default()
    })
    .expect("kubesim starts");
    let c = Client::new(&sim);
    (sim, c)
}

#[test]
fn starts_quickly() {
    let t = std::time::Instant::now();
    let sim = kubesim::spawn().expect("kubesim starts");
    let c = Client::new(&sim);
    assert_eq!(c.get("/version").status, 200);
    let took = t.elapsed();
    assert!(took.as_millis() < 100, "start-up took {took:?}");
}

#[test]
fn tokens_decide_access() {
    let (_sim, c) = start();
    let list = "/api/v1/namespaces/default/configmaps";
    assert_eq!(c.get(list).status, 200);
    assert_eq!(c.with_token(Some("wrong")).get(list).status, 401);
    let anon = c.with_token(None).get(list);
    assert_eq!(anon.status, 403);
    assert_eq!(anon.json()["reason"], "Forbidden");
    assert_eq!(c.with_token(None).get("/version").status, 200);
    let viewer = c.with_token(Some("viewer"));
    assert_eq!(viewer.get(list).status, 200);
    let denied = viewer.post_json(
        list,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    );
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.json()["message"],
        "configmaps is forbidden: User \"kubesim-viewer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
}

#[test]
fn discovery_documents() {
    let (_sim, c) = start();
    let apis = c.get("/apis").json();
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(groups.contains(&"apps") && groups.contains(&"batch"));
    let agg = c.send(
        "GET",
        "/apis",
        &[(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )],
        None,
    );
    assert_eq!(
        agg.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert_eq!(agg.json()["kind"], "APIGroupDiscoveryList");
    let apps = c.get("/apis/apps/v1").json();
    assert!(
        apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments/scale")
    );
    let missing = c.get("/apis/nosuch.example.com/v1");
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "404 page not found\n")
    );
}

#[test]
fn crud_round_trip() {
    let (_sim, c) = start();
    let base = "/api/v1/namespaces/default/configmaps";
    let created = c.post_json(
        base,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(obj["metadata"]["namespace"], "default");
    assert_eq!(obj["metadata"]["uid"].as_str().unwrap().len(), 36);

    let mut stale = obj.clone();
    stale["data"]["k"] = json!("v2");
    assert_eq!(c.put_json(&format!("{base}/a"), &stale).status, 200);
    let conflict = c.put_json(&format!("{base}/a"), &stale);
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json()["reason"], "Conflict");

    let patched = c.patch(
        &format!("{base}/a"),
        "application/json-patch+json",
        &json!([{"op": "add", "path": "/data/j", "value": "w"}]),
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["data"], json!({"k": "v2", "j": "w"}));
    assert_ne!(patched.json()["metadata"]["resourceVersion"], json!(rv));

    let deleted = c.delete(&format!("{base}/a"));
    assert_eq!(deleted.json()["status"], "Success");
    assert_eq!(c.get(&format!("{base}/a")).status, 404);
}

#[test]
fn deployment_generation_rules() {
    let (_sim, c) = start();
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    let created = c.post_json(base, &d).json();
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["status"], json!({}));
    let merge = "application/merge-patch+json";
    let gen_after = |patch: serde_json::Value| {
        c.patch(&format!("{base}/d"), merge, &patch).json()["metadata"]["generation"].clone()
    };
    assert_eq!(gen_after(json!({"metadata": {"labels": {"a": "b"}}})), 1);
    assert_eq!(
        gen_after(json!({"metadata": {"annotations": {"a": "b"}}})),
        2
    );
    assert_eq!(gen_after(json!({"spec": {"replicas": 3}})), 3);
    assert_eq!(gen_after(json!({"status": {"replicas": 3}})), 3);
    let st = c.patch(
        &format!("{base}/d/status"),
        merge,
        &json!({"spec": {"replicas": 9}, "status": {"replicas": 3}}),
    );
    let st = st.json();
    assert_eq!(
        (
            st["spec"]["replicas"].clone(),
            st["status"]["replicas"].clone()
        ),
        (json!(3), json!(3))
    );
    let scale = c.get(&format!("{base}/d/scale")).json();
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=d");
}

#[test]
fn namespaces_get_root_ca_and_default_service_account() {
    let (_sim, c) = start();
    let r = c.post_json(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["status"]["phase"], "Active");
    let cm = c
        .get("/api/v1/namespaces/team/configmaps/kube-root-ca.crt")
        .json();
    assert!(
        cm["data"]["ca.crt"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(
        c.get("/api/v1/namespaces/team/serviceaccounts/default")
            .status,
        200
    );
}

#[test]
fn request_counter() {
    let (_sim, c) = start();
    for _ in 0..3 {
        c.get("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
    }
    c.get("/api/v1/namespaces/default/configmaps");
    let m = c.get("/_sim/requests").json();
    let count = |verb: &str| {
        m["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["verb"] == verb && r["resource"] == "configmaps")
            .map(|r| r["count"].as_u64().unwrap())
    };
    assert_eq!(count("get"), Some(3));
    assert_eq!(count("list"), Some(1));
    c.delete("/_sim/requests");
    assert_eq!(c.get("/_sim/requests").json()["total"], 0);
}

#[test]
fn watch_streams_events_and_selector_transitions() {
    let (_sim, c) = start();
    let base = "/api/v1/namespaces/default/configmaps";
    let (resp, rx) = c.watch(&format!("{base}?watch=1&labelSelector=grp%3Da"));
    assert_eq!(resp.status, 200);
    let cm = |name: &str, grp: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"grp": grp}}});
    c.post_json(base, &cm("in", "a"));
    c.post_json(base, &cm("out", "b"));
    let merge = "application/merge-patch+json";
    c.patch(
        &format!("{base}/out"),
        merge,
        &json!({"metadata": {"labels": {"grp": "a"}}}),
    );
    c.patch(
        &format!("{base}/in"),
        merge,
        &json!({"metadata": {"labels": {"grp": "c"}}}),
    );
    let events = crate::client::take_events(&rx, 3, std::time::Duration::from_secs(2));
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("ADDED", "in"), ("ADDED", "out"), ("DELETED", "in")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Leaving the selector: old labels, new resourceVersion.
    assert_eq!(events[2]["object"]["metadata"]["labels"]["grp"], "a");
}

#[test]
fn foreground_delete_waits_for_dependents() {
    let (_sim, c) = start();
    let base = "/apis/apps/v1/namespaces/default";
    let owner = c
        .post_json(
            &format!("{base}/deployments"),
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fg"},
                "spec": {"selector": {"matchLabels": {"app": "fg"}}, "template": {"metadata": {"labels": {"app": "fg"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
        )
        .json();
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "fg-1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "fg",
            "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"selector": {"matchLabels": {"app": "fg"}}, "template": {"metadata": {"labels": {"app": "fg"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    assert_eq!(c.post_json(&format!("{base}/replicasets"), &rs).status, 201);
    let r = c.send(
        "DELETE",
        &format!("{base}/deployments/fg"),
        &[],
        Some((
            "application/json",
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}"#,
        )),
    );
    let body = r.json();
    assert_eq!(
        body["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert_eq!(body["metadata"]["generation"], 2);
    crate::client::eventually("the ReplicaSet and then the Deployment to go", || {
        c.get(&format!("{base}/replicasets/fg-1")).status == 404
            && c.get(&format!("{base}/deployments/fg")).status == 404
    });
}

#[test]
fn background_delete_collects_dependents() {
    let (_sim, c) = start();
    let base = "/apis/apps/v1/namespaces/default";
    let owner = c
        .post_json(
            &format!("{base}/deployments"),
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bg"},
                "spec": {"selector": {"matchLabels": {"app": "bg"}}, "template": {"metadata": {"labels": {"app": "bg"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
        )
        .json();
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "bg-1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "bg",
            "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"selector": {"matchLabels": {"app": "bg"}}, "template": {"metadata": {"labels": {"app": "bg"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    assert_eq!(c.post_json(&format!("{base}/replicasets"), &rs).status, 201);
    let r = c.delete(&format!(
        "{base}/deployments/bg?propagationPolicy=Background"
    ));
    assert_eq!(r.json()["status"], "Success");
    crate::client::eventually("the ReplicaSet to go", || {
        c.get(&format!("{base}/replicasets/bg-1")).status == 404
    });
}

#[test]
fn nested_unknown_fields_follow_field_validation() {
    let (_sim, c) = start();
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "x", "imagee": "y"}]}}}});
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let strict = c.post_json(&format!("{base}?fieldValidation=Strict"), &d);
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json()["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.template.spec.containers[0].imagee\""
    );
    let warn = c.post_json(base, &d);
    assert_eq!(warn.status, 201);
    assert_eq!(
        warn.header("warning"),
        Some("299 - \"unknown field \\\"spec.template.spec.containers[0].imagee\\\"\"")
    );
    assert_eq!(
        warn.json()["spec"]["template"]["spec"]["containers"][0],
        json!({"name": "c", "image": "x", "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "Always"})
    );
}

#[test]
fn wrong_json_types_are_rejected_as_go_decodes_them() {
    let (_sim, c) = start();
    let r = c.post_json(
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "data": {"port": 8080}}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    );
}

#[test]
fn delete_preconditions_and_secret_size() {
    let (_sim, c) = start();
    let base = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    let lease = c
        .post_json(
            base,
            &json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "lock"},
                "spec": {"holderIdentity": "me", "leaseDurationSeconds": 30}}),
        )
        .json();
    let uid = lease["metadata"]["uid"].as_str().unwrap();
    let rv = lease["metadata"]["resourceVersion"].as_str().unwrap();
    let del = |pre: serde_json::Value| {
        let body =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": pre}).to_string();
        c.send(
            "DELETE",
            &format!("{base}/lock"),
            &[],
            Some(("application/json", body.as_bytes())),
        )
    };
    let stale = del(json!({"uid": uid, "resourceVersion": "1"}));
    assert_eq!(stale.status, 409);
    assert_eq!(
        stale.json()["message"],
        format!(
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"lock\": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: {rv}"
        )
    );
    assert_eq!(
        del(json!({"uid": "other", "resourceVersion": rv})).status,
        409
    );
    assert_eq!(del(json!({"uid": uid, "resourceVersion": rv})).status, 200);

    let big = "QUFB".repeat(300_000); // 900,000 bytes decoded
    let secret = |name: &str, n: usize| {
        let mut data = serde_json::Map::new();
        for i in 0..n {
            data.insert(format!("k{i}"), json!(big));
        }
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data})
    };
    let ok = c.post_json("/api/v1/namespaces/default/secrets", &secret("one", 1));
    assert_eq!(ok.status, 201);
    let too_big = c.post_json("/api/v1/namespaces/default/secrets", &secret("two", 2));
    assert_eq!(too_big.status, 422);
    assert_eq!(too_big.json()["details"]["causes"][0]["field"], "data");
}

#[test]
fn events_are_one_object_under_two_apis() {
    let (_sim, c) = start();
    let core = "/api/v1/namespaces/default/events";
    let v1 = "/apis/events.k8s.io/v1/namespaces/default/events";
    let (_, rx) = c.watch(&format!(
        "{core}?watch=1&fieldSelector=involvedObject.name%3Dweb"
    ));
    let created = c.post_json(
        v1,
        &json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
            "eventTime": "2026-11-25T10:00:00.000000Z", "reportingController": "thebot", "reportingInstance": "x",
            "action": "Deploy", "reason": "Started", "regarding": {"kind": "Deployment", "name": "web"},
            "note": "hello", "type": "Normal"}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let as_core = c.get(&format!("{core}/e1")).json();
    assert_eq!(as_core["message"], "hello");
    assert_eq!(as_core["involvedObject"]["name"], "web");
    assert_eq!(
        as_core["metadata"]["uid"],
        created.json()["metadata"]["uid"]
    );
    assert_eq!(
        as_core["metadata"]["resourceVersion"],
        created.json()["metadata"]["resourceVersion"]
    );
    let seen = crate::client::take_events(&rx, 1, std::time::Duration::from_secs(2));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["object"]["kind"], "Event");
    assert_eq!(seen[0]["object"]["apiVersion"], "v1");
    assert_eq!(c.delete(&format!("{core}/e1")).status, 200);
    assert_eq!(c.get(&format!("{v1}/e1")).status, 404);
}

#[test]
fn jobs_orphan_their_pods_by_default_with_a_warning() {
    let (_sim, c) = start();
    let job = c
        .post_json(
            "/apis/batch/v1/namespaces/default/jobs",
            &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "hook"},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}),
        )
        .json();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hook-1",
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "hook", "uid": job["metadata"]["uid"], "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "x"}]}});
    assert_eq!(
        c.post_json("/api/v1/namespaces/default/pods", &pod).status,
        201
    );
    let r = c.delete("/apis/batch/v1/namespaces/default/jobs/hook");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("warning"),
        Some(
            "299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\""
        )
    );
    assert_eq!(r.json()["metadata"]["finalizers"], json!(["orphan"]));
    crate::client::eventually("the Job to go", || {
        c.get("/apis/batch/v1/namespaces/default/jobs/hook").status == 404
    });
    let kept = c.get("/api/v1/namespaces/default/pods/hook-1").json();
    assert!(kept["metadata"].get("ownerReferences").is_none(), "{kept}");
}

#[test]
fn deletecollection_by_label() {
    let (_sim, c) = start();
    let base = "/api/v1/namespaces/default/configmaps";
    for (name, grp) in [("a", "x"), ("b", "x"), ("c", "y")] {
        c.post_json(
            base,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"grp": grp}}}),
        );
    }
    let r = c.delete(&format!("{base}?labelSelector=grp%3Dx"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "ConfigMapList");
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let left: Vec<String> = c.get(base).json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["c", "kube-root-ca.crt"]);
}

#[test]
fn hostile_patches_do_not_break_the_server() {
    let (_sim, c) = start();
    let svc = "/api/v1/namespaces/default/services/kubernetes";
    for (ct, body) in [
        (
            "application/merge-patch+json",
            json!({"metadata": null, "spec": null}),
        ),
        ("application/merge-patch+json", json!([1, 2])),
        (
            "application/strategic-merge-patch+json",
            json!({"spec": {"ports": null}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "remove", "path": "/metadata"}]),
        ),
        ("application/json-patch+json", json!({"op": "add"})),
    ] {
        let r = c.patch(svc, ct, &body);
        assert!(
            r.status >= 200 && r.status < 500,
            "{ct} {body}: {} {}",
            r.status,
            r.text()
        );
    }
    assert_eq!(c.get(svc).status, 200);
}

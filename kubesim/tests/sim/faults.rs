//! Request faults (issue 7) as clients see them: kube-rs's default retry
//! layer through 429 and 503 (and the request counter showing the
//! retries), 500s on every N-th request, latency, connections dropped
//! before and after a create, watches closed after K events and resumed
//! from the last resourceVersion, a 410 on the next watch, and the
//! control endpoint that lists and clears the rules.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use crate::client::{Client, take_events};

async fn kube_client(sim: &kubesim::Instance) -> kube::Client {
    let kc = Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn start(faults: &[&str]) -> (kubesim::Instance, Client) {
    let sim = kubesim::spawn_with(kubesim::Options {
        controllers: false,
        faults: faults
            .iter()
            .map(|s| kubesim::Fault::parse(s).expect("fault parses"))
            .collect(),
        ..Default::default()
    })
    .expect("kubesim starts");
    let c = Client::new(&sim);
    (sim, c)
}

fn count(c: &Client, verb: &str, resource: &str) -> u64 {
    let m = c.get("/_sim/requests").json();
    m["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verb"] == verb && r["resource"] == resource)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

fn add_fault(c: &Client, spec: &str) -> Value {
    let r = c.send(
        "POST",
        "/_sim/faults",
        &[],
        Some(("text/plain", spec.as_bytes())),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[test]
fn kube_rs_retries_429_and_503_and_the_counter_shows_it() {
    let (sim, c) = start(&[
        "429,verb=get,resource=configmaps,times=2,retry-after=0",
        "503,verb=create,resource=configmaps,times=1,retry-after=0",
    ]);
    runtime().block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube_client(&sim).await, "default");
        api.create(&PostParams::default(), &cm("a")).await.unwrap();
        let got = api.get("a").await.unwrap();
        assert_eq!(got.data.unwrap()["k"], "v");
    });
    // One create retried once, one get retried twice.
    assert_eq!(count(&c, "create", "configmaps"), 2);
    assert_eq!(count(&c, "get", "configmaps"), 3);
    let f = c.get("/_sim/faults").json();
    let fired: Vec<u64> = f["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, [2, 1]);
    // The answers themselves, as a client without retries sees them.
    add_fault(&c, "429,verb=list,retry-after=7");
    let r = c.get("/api/v1/namespaces/default/configmaps");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    let s = r.json();
    assert_eq!(s["reason"], "TooManyRequests");
    assert_eq!(s["details"]["retryAfterSeconds"], 7);
}

#[test]
fn every_nth_500_listed_and_cleared_through_the_control_endpoint() {
    let (_sim, c) = start(&[]);
    let added = add_fault(&c, "500,verb=get,resource=configmaps,every=2");
    let id = added["added"][0].as_u64().unwrap();
    let path = "/api/v1/namespaces/default/configmaps/kube-root-ca.crt";
    let codes: Vec<u16> = (0..4).map(|_| c.get(path).status).collect();
    assert_eq!(codes, [200, 500, 200, 500]);
    // Other verbs and resources are not affected.
    assert_eq!(c.get("/api/v1/namespaces/default/configmaps").status, 200);
    assert_eq!(c.get("/api/v1/namespaces/default").status, 200);
    let f = c.get("/_sim/faults").json();
    assert_eq!(
        f["faults"][0],
        json!({"id": id, "spec": "500,verb=get,resource=configmaps,every=2", "matched": 4, "fired": 2})
    );
    // JSON form, then clear one, then all.
    let r = c.post_json(
        "/_sim/faults",
        &json!({"action": "503", "verb": "delete", "times": 1}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        c.get("/_sim/faults").json()["faults"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(c.delete(&format!("/_sim/faults/{id}")).status, 200);
    assert_eq!(
        c.get("/_sim/faults").json()["faults"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(c.delete("/_sim/faults").status, 200);
    assert_eq!(c.get("/_sim/faults").json()["faults"], json!([]));
    assert_eq!(c.get(path).status, 200);
    let bad = c.send("POST", "/_sim/faults", &[], Some(("text/plain", b"teapot")));
    assert_eq!(bad.status, 400);
    // The control endpoint needs the admin token.
    assert_eq!(c.with_token(None).get("/_sim/faults").status, 403);
}

#[test]
fn latency_delays_matching_requests() {
    let (_sim, c) = start(&["latency=300,verb=get,resource=namespaces,times=1"]);
    let t = Instant::now();
    assert_eq!(c.get("/api/v1/namespaces/default").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(c.get("/api/v1/namespaces/default").status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn dropped_after_create_then_a_retry_is_already_exists() {
    let (sim, _c) = start(&["drop-after,verb=create,resource=configmaps,times=1"]);
    runtime().block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube_client(&sim).await, "default");
        let first = api.create(&PostParams::default(), &cm("x")).await;
        assert!(
            first.is_err(),
            "the connection should have dropped: {first:?}"
        );
        match api.create(&PostParams::default(), &cm("x")).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"))
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert!(api.get("x").await.is_ok());
    });
}

#[test]
fn dropped_before_create_leaves_nothing() {
    let (sim, c) = start(&["drop-before,verb=create,resource=configmaps,times=1"]);
    runtime().block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube_client(&sim).await, "default");
        assert!(api.create(&PostParams::default(), &cm("y")).await.is_err());
        assert!(api.get_opt("y").await.unwrap().is_none());
        api.create(&PostParams::default(), &cm("y")).await.unwrap();
    });
    assert_eq!(count(&c, "create", "configmaps"), 2);
}

#[test]
fn closed_watch_is_resumed_from_the_last_resource_version() {
    let (_sim, c) = start(&[]);
    let ns = "/api/v1/namespaces/default/configmaps";
    let rv = c.get(ns).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    for n in ["w1", "w2", "w3"] {
        let r = c.post_json(ns, &json!({"metadata": {"name": n}}));
        assert_eq!(r.status, 201);
    }
    add_fault(&c, "watch-close=2,resource=configmaps,times=1");
    let (resp, rx) = c.watch(&format!("{ns}?watch=1&resourceVersion={rv}"));
    assert_eq!(resp.status, 200);
    let first = take_events(&rx, 10, Duration::from_millis(500));
    let names: Vec<&str> = first
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["w1", "w2"], "the stream ends after 2 events");
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    let last = first[1]["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap();
    let (_, rx) = c.watch(&format!("{ns}?watch=1&resourceVersion={last}"));
    let rest = take_events(&rx, 1, Duration::from_secs(2));
    assert_eq!(rest[0]["type"], "ADDED");
    assert_eq!(rest[0]["object"]["metadata"]["name"], "w3");
}

#[test]
fn gone_answers_the_next_watch_with_410() {
    let (_sim, c) = start(&["gone,verb=watch,resource=configmaps,times=1"]);
    let ns = "/api/v1/namespaces/default/configmaps";
    let rv = c.get(ns).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let (resp, rx) = c.watch(&format!("{ns}?watch=1&resourceVersion={rv}"));
    assert_eq!(resp.status, 200);
    let ev = take_events(&rx, 1, Duration::from_secs(2));
    assert_eq!(ev[0]["type"], "ERROR");
    assert_eq!(ev[0]["object"]["code"], 410);
    assert_eq!(ev[0]["object"]["reason"], "Expired");
    // The client relists and watches again: this one works.
    let (resp, rx) = c.watch(&format!("{ns}?watch=1&resourceVersion={rv}"));
    assert_eq!(resp.status, 200);
    assert_eq!(
        c.post_json(ns, &json!({"metadata": {"name": "after"}}))
            .status,
        201
    );
    let ev = take_events(&rx, 1, Duration::from_secs(2));
    assert_eq!(ev[0]["object"]["metadata"]["name"], "after");
}

#[test]
fn seeded_faults_repeat() {
    let run = || {
        let (_sim, c) = start(&["500,verb=get,resource=namespaces,seed=42,probability=0.5"]);
        (0..20)
            .map(|_| c.get("/api/v1/namespaces/default").status)
            .collect::<Vec<u16>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[test]
fn request_counter_by_user_agent() {
    let (sim, c) = start(&[]);
    let path = "/api/v1/namespaces/default/configmaps/kube-root-ca.crt";
    for _ in 0..2 {
        assert_eq!(c.get(path).status, 200);
    }
    runtime().block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube_client(&sim).await, "default");
        api.get("kube-root-ca.crt").await.unwrap();
    });
    let m = c.get("/_sim/requests").json();
    let rows: Vec<(String, u64)> = m["byUserAgent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verb"] == "get" && r["resource"] == "configmaps")
        .map(|r| {
            (
                r["userAgent"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    // The test client's agent twice, kube-rs's once.
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.contains(&("python-requests/2.32.3".to_string(), 2)),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(a, n)| a != "python-requests/2.32.3" && *n == 1),
        "{rows:?}"
    );
    assert_eq!(count(&c, "get", "configmaps"), 3);
    c.delete("/_sim/requests");
    assert_eq!(c.get("/_sim/requests").json()["byUserAgent"], json!([]));
}

#[test]
fn fault_flags_on_the_binary() {
    let dir = crate::persist::tmp("fault-flag");
    let (mut child, c) = crate::persist::start_binary(
        &dir,
        &[
            "--fault",
            "503,verb=get,resource=namespaces,times=1,retry-after=2",
            "--fault",
            "latency=10,verb=list",
        ],
    );
    let r = c.get("/api/v1/namespaces/default");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(c.get("/api/v1/namespaces/default").status, 200);
    let specs: Vec<String> = c.get("/_sim/faults").json()["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["spec"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        specs,
        [
            "503,verb=get,resource=namespaces,times=1,retry-after=2",
            "latency=10,verb=list"
        ]
    );
    drop(child.stdin.take());
    let _ = child.wait();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--fault", "teapot"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fault: unknown fault action"));
    let _ = std::fs::remove_dir_all(&dir);
}

//! Benchmarks of issue 7 (ignored; run with
//! `cargo test --release -p kubesim --test sim bench_load -- --ignored --nocapture --test-threads 1`):
//! requests per second, p50/p99 latency and RSS for 10,000 ConfigMap
//! creates, 1,000 server-side applied Deployments shaped like thebot's
//! (managedFields included), and a mixed apply/get/watch load. Against the
//! binary with `--no-controllers`, so that only the API is measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench::{Binary, percentile};
use crate::client::Conn;

/// thebot's rendered backend Deployment (`thebot template dev`).
const THEBOT_DEPLOYMENT: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "thebot-dev-backend", "namespace": "thebot-dev", "labels": {"app.kubernetes.io/component": "backend", "app.kubernetes.io/instance": "thebot-dev", "app.kubernetes.io/managed-by": "thebot", "app.kubernetes.io/name": "thebot", "app.kubernetes.io/version": "1.4.0"}, "annotations": {"thebot.io/release": "thebot-dev/thebot-dev", "thebot.io/stage": "4-app"}}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/component": "backend", "app.kubernetes.io/instance": "thebot-dev", "app.kubernetes.io/name": "thebot"}}, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}, "template": {"metadata": {"labels": {"app.kubernetes.io/component": "backend", "app.kubernetes.io/instance": "thebot-dev", "app.kubernetes.io/managed-by": "thebot", "app.kubernetes.io/name": "thebot", "app.kubernetes.io/version": "1.4.0"}, "annotations": {"checksum/config": "9648c9c6100a3ac03a8fd688bc30087aa741a8e4c08bea450dce9ab9a0928f78"}}, "spec": {"serviceAccountName": "thebot-dev-app", "automountServiceAccountToken": false, "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "backend", "image": "ghcr.io/the-bot/thebot-backend:1.4.0", "imagePullPolicy": "IfNotPresent", "command": ["gunicorn", "thebot.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-tmp-dir", "/tmp"], "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}], "envFrom": [{"configMapRef": {"name": "thebot-dev-config"}}, {"secretRef": {"name": "thebot-dev-secret"}}], "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}], "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}}, "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "privileged": false, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}, "readinessProbe": {"httpGet": {"path": "/healthz/", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}, "livenessProbe": {"httpGet": {"path": "/healthz/", "port": "http"}, "initialDelaySeconds": 15, "periodSeconds": 20, "timeoutSeconds": 3, "failureThreshold": 3}, "volumeMounts": [{"name": "static", "mountPath": "/app/staticfiles", "readOnly": true}, {"name": "media", "mountPath": "/app/media"}, {"name": "tmp", "mountPath": "/tmp"}]}], "volumes": [{"name": "static", "persistentVolumeClaim": {"claimName": "thebot-dev-static"}}, {"name": "media", "persistentVolumeClaim": {"claimName": "thebot-dev-media"}}, {"name": "tmp", "emptyDir": {}}]}}}}"#;

fn deployment(i: usize, tag: &str) -> Value {
    let mut d: Value = serde_json::from_str(THEBOT_DEPLOYMENT).unwrap();
    let name = format!("thebot-{i:04}-backend");
    d["metadata"]["name"] = json!(name);
    d["metadata"]["namespace"] = json!("default");
    let c = &mut d["spec"]["template"]["spec"]["containers"][0];
    c["image"] = json!(format!("registry.example.com/thebot/backend:{tag}"));
    d
}

fn apply(conn: &mut Conn, i: usize, tag: &str) -> (u16, Duration) {
    let d = deployment(i, tag);
    let path = format!(
        "/apis/apps/v1/namespaces/default/deployments/{}?fieldManager=thebot&force=true",
        d["metadata"]["name"].as_str().unwrap()
    );
    let body = d.to_string();
    let t = Instant::now();
    let r = conn.send(
        "PATCH",
        &path,
        &[],
        Some(("application/apply-patch+yaml", body.as_bytes())),
    );
    (r.status, t.elapsed())
}

fn report(what: &str, n: usize, took: Duration, lat: &mut [Duration], rss: f64) {
    lat.sort();
    eprintln!(
        "{what}: {n} in {took:.2?}, {:.0}/s, p50 {:?}, p99 {:?}, RSS {rss:.1} MiB",
        n as f64 / took.as_secs_f64(),
        percentile(lat, 0.50),
        percentile(lat, 0.99),
    );
}

#[test]
#[ignore = "benchmark: cargo test --release -p kubesim --test sim bench_load -- --ignored --nocapture"]
fn bench_load_10k_configmaps() {
    let b = Binary::start_with(&["--no-controllers"]);
    let mut conn = b.client.connect();
    let value = "x".repeat(1024);
    let n = 10_000;
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:05}"), "labels": {"bench": "yes"}},
            "data": {"v": value}})
        .to_string();
        let t = Instant::now();
        let r = conn.send(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[],
            Some(("application/json", body.as_bytes())),
        );
        lat.push(t.elapsed());
        assert_eq!(r.status, 201);
    }
    let took = start.elapsed();
    report("create ConfigMap (1 KiB)", n, took, &mut lat, b.rss_mib());
    let t = Instant::now();
    let list = conn.send("GET", "/api/v1/namespaces/default/configmaps", &[], None);
    assert_eq!(list.status, 200);
    eprintln!(
        "list of 10,000 ConfigMaps: {:?}, {} bytes",
        t.elapsed(),
        list.body.len()
    );
}

#[test]
#[ignore = "benchmark: cargo test --release -p kubesim --test sim bench_load -- --ignored --nocapture"]
fn bench_load_1k_thebot_deployments() {
    let b = Binary::start_with(&["--no-controllers"]);
    let mut conn = b.client.connect();
    let before = b.rss_mib();
    let n = 1_000;
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let (status, d) = apply(&mut conn, i, "1.4.0");
        assert_eq!(status, 201);
        lat.push(d);
    }
    report(
        "server-side apply, create a thebot Deployment",
        n,
        start.elapsed(),
        &mut lat,
        b.rss_mib(),
    );
    // The same applies again: no-ops (nothing written).
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let (status, d) = apply(&mut conn, i, "1.4.0");
        assert_eq!(status, 200);
        lat.push(d);
    }
    report(
        "server-side apply, unchanged",
        n,
        start.elapsed(),
        &mut lat,
        b.rss_mib(),
    );
    // A new image tag on each: real updates.
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let (status, d) = apply(&mut conn, i, "1.5.0");
        assert_eq!(status, 200);
        lat.push(d);
    }
    let after = b.rss_mib();
    report(
        "server-side apply, new image",
        n,
        start.elapsed(),
        &mut lat,
        after,
    );
    let one = conn.send(
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/thebot-0000-backend",
        &[],
        None,
    );
    assert!(one.json()["metadata"]["managedFields"].is_array());
    eprintln!(
        "1,000 Deployments of {} bytes each (managedFields included): RSS {before:.1} MiB before, {after:.1} MiB after",
        one.body.len()
    );
}

#[test]
#[ignore = "benchmark: cargo test --release -p kubesim --test sim bench_load -- --ignored --nocapture"]
fn bench_load_mixed_apply_get_watch() {
    let b = Binary::start_with(&["--no-controllers"]);
    let deployments = 100;
    {
        let mut conn = b.client.connect();
        for i in 0..deployments {
            assert_eq!(apply(&mut conn, i, "1.4.0").0, 201);
        }
    }
    // Watchers on all Deployments, counting events.
    let events = Arc::new(AtomicU64::new(0));
    let watchers = 10;
    let mut streams = Vec::new();
    for _ in 0..watchers {
        let (resp, rx) = b
            .client
            .watch("/apis/apps/v1/namespaces/default/deployments?watch=1&resourceVersion=0");
        assert_eq!(resp.status, 200);
        let events = events.clone();
        streams.push(std::thread::spawn(move || {
            while rx.recv_timeout(Duration::from_secs(3)).is_ok() {
                events.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let run = Duration::from_secs(5);
    let appliers = (0..2).map(|w| {
        let client = b.client.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut conn = client.connect();
            let mut lat = Vec::new();
            let mut k = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let i = (k * 2 + w) % deployments;
                let (status, d) = apply(&mut conn, i, &format!("2.0.{k}"));
                assert_eq!(status, 200);
                lat.push(d);
                k += 1;
            }
            lat
        })
    });
    let appliers: Vec<_> = appliers.collect();
    let getters: Vec<_> = (0..2)
        .map(|w| {
            let client = b.client.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = client.connect();
                let mut lat = Vec::new();
                let mut k = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let i = (k * 2 + w) % deployments;
                    let path = format!(
                        "/apis/apps/v1/namespaces/default/deployments/thebot-{i:04}-backend"
                    );
                    let t = Instant::now();
                    assert_eq!(conn.send("GET", &path, &[], None).status, 200);
                    lat.push(t.elapsed());
                    k += 1;
                }
                lat
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(run);
    stop.store(true, Ordering::Relaxed);
    let mut applies: Vec<Duration> = appliers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let mut gets: Vec<Duration> = getters
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let took = start.elapsed();
    let rss = b.rss_mib();
    let (na, ng) = (applies.len(), gets.len());
    report("mixed: apply (2 clients)", na, took, &mut applies, rss);
    report("mixed: get (2 clients)", ng, took, &mut gets, rss);
    // Each apply changes the object: every watcher sees it.
    let want = (deployments + na) as u64 * watchers as u64;
    let t = Instant::now();
    while events.load(Ordering::Relaxed) < want && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = events.load(Ordering::Relaxed);
    eprintln!(
        "mixed: {watchers} watchers received {got} events of {want} ({:.0} events/s delivered); total {:.0} requests/s",
        got as f64 / took.as_secs_f64(),
        (na + ng) as f64 / took.as_secs_f64()
    );
    assert_eq!(got, want);
    drop(b);
    drop(streams);
}

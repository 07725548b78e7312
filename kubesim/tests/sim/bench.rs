//! Performance: GETs per second over one keep-alive connection (p50/p99)
//! and the memory held by 10,000 ConfigMaps of 1 KiB, measured against the
//! `kubesim` binary in its own process.
//!
//! Run: `cargo test --release -p kubesim --test sim bench -- --ignored --nocapture`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::Client;

/// The binary, started on port 0; its kubeconfig gives the token and CA.
pub struct Binary {
    child: Child,
    pub client: Client,
}

impl Binary {
    pub fn start() -> Binary {
        Binary::start_with(&[])
    }

    /// The binary with extra arguments (`--no-controllers`...).
    pub fn start_with(extra: &[&str]) -> Binary {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kubesim-bench-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(["--port", "0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("kubesim binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let text = std::fs::read_to_string(&kubeconfig).unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap()
                .trim()
                .to_string()
        };
        let client = Client::from_parts(
            port,
            &field("token:"),
            &decode_base64(&field("certificate-authority-data:")),
        );
        let _ = std::fs::remove_dir_all(&dir);
        Binary { child, client }
    }

    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kib / 1024.0
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // Closing stdin stops it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn decode_base64(s: &str) -> String {
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

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
#[ignore = "benchmark: cargo test --release -p kubesim --test sim bench -- --ignored --nocapture"]
fn bench_gets_over_one_connection() {
    let b = Binary::start();
    let path = "/api/v1/namespaces/default/configmaps/kube-root-ca.crt";
    let mut conn = b.client.connect();
    for _ in 0..200 {
        assert_eq!(conn.send("GET", path, &[], None).status, 200);
    }
    let n = 10_000;
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let r = conn.send("GET", path, &[], None);
        lat.push(t.elapsed());
        assert_eq!(r.status, 200);
    }
    let total = start.elapsed();
    lat.sort();
    let rate = n as f64 / total.as_secs_f64();
    eprintln!(
        "GET x{n} over one keep-alive connection: {rate:.0}/s, p50 {:?}, p99 {:?}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    assert!(rate >= 2000.0, "{rate:.0} GETs/s");
}

#[test]
#[ignore = "benchmark: cargo test --release -p kubesim --test sim bench -- --ignored --nocapture"]
fn bench_memory_of_10k_configmaps() {
    let b = Binary::start();
    let before = b.rss_mib();
    let mut conn = b.client.connect();
    let value = "x".repeat(1024);
    let start = Instant::now();
    for i in 0..10_000 {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:05}"), "labels": {"bench": "yes"}},
            "data": {"v": value}})
        .to_string();
        let r = conn.send(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[],
            Some(("application/json", body.as_bytes())),
        );
        assert_eq!(r.status, 201);
    }
    let took = start.elapsed();
    let list = conn.send(
        "GET",
        "/api/v1/namespaces/default/configmaps?labelSelector=bench",
        &[],
        None,
    );
    assert_eq!(list.status, 200);
    let after = b.rss_mib();
    eprintln!(
        "10,000 ConfigMaps of 1 KiB: created in {took:?}; RSS {before:.1} MiB before, {after:.1} MiB after (list of {} bytes)",
        list.body.len()
    );
    assert!(after < 200.0, "RSS {after:.1} MiB");
}

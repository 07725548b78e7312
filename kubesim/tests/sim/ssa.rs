//! Server-side apply (issue 5) against the recordings of a real
//! kube-apiserver 1.32: each step of a fixture is sent as recorded and the
//! status and body must match, managedFields included (times masked, the
//! test client's User-Agent standing for `python-requests`), and a
//! resourceVersion must change exactly when the recording's did.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::client::Response;
use crate::replay::{Replay, fixture, normalise};

/// The managedFields of a body with times masked and this client's
/// manager renamed to the recorder's.
fn managed_fields(v: &Value) -> Value {
    let mut mf = v
        .pointer("/metadata/managedFields")
        .cloned()
        .unwrap_or(Value::Null);
    if let Value::Array(a) = &mut mf {
        for e in a.iter_mut() {
            if e["time"].is_string() {
                e["time"] = json!("<time>");
            }
            if e["manager"] == "kubesim-tests" {
                e["manager"] = json!("python-requests");
            }
        }
    }
    mf
}

struct SsaReplay {
    r: Replay,
    /// fixture resourceVersion → kubesim resourceVersion, both ways.
    rv: HashMap<String, String>,
    rv_back: HashMap<String, String>,
    /// Recorded values kubesim cannot reproduce (allocated cluster IPs) →
    /// its own, substituted in requests and expected bodies.
    values: Vec<(String, String)>,
    failures: Vec<String>,
}

impl SsaReplay {
    fn new(namespaces: &[&str]) -> SsaReplay {
        SsaReplay {
            r: Replay::new(namespaces),
            rv: HashMap::new(),
            rv_back: HashMap::new(),
            values: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn send(&self, req: &Value) -> Response {
        let method = req["method"].as_str().unwrap();
        let path = req["path"].as_str().unwrap();
        let body = match req.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.substitute(s).into_bytes()),
            Some(v) => Some(self.substitute(&v.to_string()).into_bytes()),
        };
        let ct = req
            .get("content_type")
            .and_then(Value::as_str)
            .unwrap_or("application/json")
            .to_string();
        self.r.c.send(
            method,
            path,
            &[],
            body.as_ref().map(|b| (ct.as_str(), b.as_slice())),
        )
    }

    fn substitute(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (a, b) in &self.values {
            s = s.replace(a.as_str(), b);
        }
        s
    }

    fn learn(&mut self, want: &Value, got: &Value) {
        if let (Some(Value::String(a)), Some(Value::String(b))) = (
            want.pointer("/spec/clusterIP"),
            got.pointer("/spec/clusterIP"),
        ) && a != b
            && !self.values.iter().any(|(x, _)| x == a)
        {
            self.values.push((a.clone(), b.clone()));
        }
    }

    fn check_rv(&mut self, step: usize, want: &Value, got: &Value) {
        let (Some(w), Some(g)) = (
            want.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str),
            got.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str),
        ) else {
            return;
        };
        let a = self
            .rv
            .entry(w.to_string())
            .or_insert_with(|| g.to_string());
        let b = self
            .rv_back
            .entry(g.to_string())
            .or_insert_with(|| w.to_string());
        if a != g || b != w {
            self.failures.push(format!(
                "step {step}: resourceVersion {g} where the recording has {w} (changed when it did not, or the reverse)"
            ));
        }
    }

    /// Runs the steps of `file`, skipping `skip` (with reasons).
    fn run(&mut self, file: &str, skip: &[(usize, &str)]) {
        let fx = fixture(file);
        for (i, step) in fx["steps"].as_array().unwrap().iter().enumerate() {
            if let Some((_, why)) = skip.iter().find(|(n, _)| *n == i) {
                eprintln!("{file} step {i}: skipped: {why}");
                continue;
            }
            let want = &step["response"];
            let got = self.send(&step["request"]);
            let status = want["status"].as_u64().unwrap() as u16;
            if got.status != status {
                self.failures.push(format!(
                    "{file} step {i}: status {} != {status}: {}",
                    got.status,
                    got.text()
                ));
                continue;
            }
            self.learn(&want["body"], &got.json());
            let w: Value =
                serde_json::from_str(&self.substitute(&want["body"].to_string())).unwrap();
            let (mut w, mut g) = (w, got.json());
            self.check_rv(i, &w, &g);
            let (wm, gm) = (managed_fields(&w), managed_fields(&g));
            if wm != gm {
                self.failures.push(format!(
                    "{file} step {i}: managedFields differ:\n  want {wm}\n  got  {gm}"
                ));
            }
            normalise(&mut w);
            normalise(&mut g);
            if w != g {
                self.failures.push(format!(
                    "{file} step {i}: body differs:\n  want {w}\n  got  {g}"
                ));
            }
        }
    }

    fn assert_ok(&self) {
        assert!(
            self.failures.is_empty(),
            "{} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

#[test]
fn configmap_create_conflict_force_prune_02_to_05() {
    let mut r = SsaReplay::new(&["rec-ssa"]);
    for f in [
        "02-ssa-create-configmap.json",
        "03-ssa-conflict.json",
        "04-ssa-force.json",
        "05-ssa-remove-omitted-field.json",
    ] {
        r.run(f, &[]);
    }
    r.assert_ok();
}

#[test]
fn service_cluster_ip_12() {
    let mut r = SsaReplay::new(&["rec-misc"]);
    r.run("12-service-clusterip.json", &[]);
    r.assert_ok();
}

#[test]
fn more_kinds_22() {
    let mut r = SsaReplay::new(&["rec-kinds"]);
    let controllers = "status written by controllers (part 3)";
    r.run(
        "22-ssa-more-kinds.json",
        &[
            (7, controllers),
            (8, controllers),
            (9, controllers),
            (10, controllers),
        ],
    );
    r.assert_ok();
}

#[test]
fn dry_run_15() {
    let mut r = SsaReplay::new(&["rec-dry"]);
    r.run("15-dry-run.json", &[]);
    r.assert_ok();
}

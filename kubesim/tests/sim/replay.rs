//! Replays of the recordings of a real kube-apiserver 1.32
//! (`shared/fixtures/k8s-1.32/`): every step is sent to a fresh kubesim and
//! the status, content type, Warning header and body must match after
//! normalising uids, resourceVersions, timestamps and managedFields.
//!
//! Steps kubesim cannot reproduce yet are listed per fixture with the
//! reason (controller timing, recording artifacts); everything
//! else must match exactly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Client, Response, take_events};

/// What to do differently for one step.
pub enum Override {
    /// Not sent.
    Skip(&'static str),
    /// Only the status code is compared.
    StatusOnly(&'static str),
    /// Everything but `message` is compared.
    MessageDiffers(&'static str),
    /// Re-sent until the status matches (the step depends on timing).
    Eventually,
    /// Not sent; the fixture's response status is written through
    /// `/status`, standing in for a controller (part 3).
    EmulateController(&'static str),
}

pub fn fixture(name: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/k8s-1.32");
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Replaces volatile values so that two servers' answers compare equal.
pub fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("managedFields");
            m.retain(|_, x| !x.is_null());
            let generated = m
                .get("generateName")
                .and_then(Value::as_str)
                .map(str::to_string);
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "uid" | "resourceVersion" | "creationTimestamp" | "deletionTimestamp"
                    | "continue" | "lastTransitionTime" | "lastUpdateTime" | "ca.crt" => {
                        if x.is_string() {
                            *x = json!(format!("<{k}>"));
                        }
                    }
                    "name" if generated.is_some() => {
                        *x = json!(format!("{}<random>", generated.clone().unwrap()));
                    }
                    "message" => {
                        if let Some(s) = x.as_str() {
                            *x = json!(mask_numbers(s));
                        }
                    }
                    _ => normalise(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Masks numbers of three or more digits (resourceVersions in messages).
fn mask_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in s.chars().chain(std::iter::once('\u{0}')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 3 {
            out.push('N');
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        if c != '\u{0}' {
            out.push(c);
        }
    }
    out
}

/// Drops what only the OpenShift fork creates (fixture README).
fn drop_openshift(v: &mut Value) {
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        items.retain(|i| i["metadata"]["name"] != "openshift-service-ca.crt");
    }
}

/// Strips what the server sets, so that a fixture object can be created.
pub fn creatable(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "finalizers",
        ] {
            m.remove(k);
        }
    }
    o
}

/// One replay: an instance, a client and the fixture→kubesim value maps
/// (resourceVersions, uids, continue tokens) that requests are rewritten
/// with.
pub struct Replay {
    /// Kept alive for the replay.
    pub _sim: kubesim::Instance,
    pub c: Client,
    map: HashMap<String, String>,
    pub failures: Vec<String>,
}

impl Replay {
    pub fn new(namespaces: &[&str]) -> Replay {
        let sim = kubesim::spawn_with(kubesim::Options {
            timing: kubesim::Timing {
                namespace_finalize: Duration::from_millis(300),
                ..kubesim::Timing::default()
            },
            // The recorded steps include the controllers' writes, which
            // the replays emulate step by step.
            controllers: false,
            ..kubesim::Options::default()
        })
        .expect("kubesim starts");
        let c = Client::new(&sim);
        for ns in namespaces {
            let r = c.post_json(
                "/api/v1/namespaces",
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
        Replay {
            _sim: sim,
            c,
            map: HashMap::new(),
            failures: Vec::new(),
        }
    }

    /// Creates a fixture object (and its status) as setup.
    pub fn seed(&mut self, path: &str, obj: &Value) -> Value {
        let r = self.c.post_json(path, &creatable(obj));
        assert_eq!(r.status, 201, "seeding {path}: {}", r.text());
        let mut created = r.json();
        if let Some(status) = obj.get("status") {
            let name = created["metadata"]["name"].as_str().unwrap().to_string();
            created["status"] = status.clone();
            let s = self.c.put_json(&format!("{path}/{name}/status"), &created);
            if s.status == 200 {
                created = s.json();
            }
        }
        self.learn(obj, &created);
        created
    }

    /// Records fixture→kubesim values from a pair of answers.
    fn learn(&mut self, want: &Value, got: &Value) {
        let pairs = [
            ("/metadata/resourceVersion", "/metadata/resourceVersion"),
            ("/metadata/uid", "/metadata/uid"),
            ("/metadata/continue", "/metadata/continue"),
            ("/details/uid", "/details/uid"),
        ];
        for (a, b) in pairs {
            if let (Some(Value::String(x)), Some(Value::String(y))) =
                (want.pointer(a), got.pointer(b))
            {
                self.map.insert(x.clone(), y.clone());
            }
        }
        if let (Some(Value::Array(w)), Some(Value::Array(g))) =
            (want.get("items"), got.get("items"))
        {
            for (x, y) in w.iter().zip(g) {
                self.learn(x, y);
            }
        }
    }

    fn rewrite_path(&self, path: &str) -> String {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        if q.is_empty() {
            return p.to_string();
        }
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if k == "resourceVersion" || k == "continue" => {
                    format!("{k}={}", self.map.get(v).map(String::as_str).unwrap_or(v))
                }
                Some(("timeoutSeconds", "8")) => "timeoutSeconds=2".to_string(),
                _ => kv.to_string(),
            })
            .collect();
        format!("{p}?{}", params.join("&"))
    }

    fn rewrite_body(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(n) = self.map.get(s.as_str()) {
                    *s = n.clone();
                }
            }
            Value::Object(m) => m.values_mut().for_each(|x| self.rewrite_body(x)),
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite_body(x)),
            _ => {}
        }
    }

    fn send(&self, req: &Value) -> Response {
        let method = req["method"].as_str().unwrap();
        let path = self.rewrite_path(req["path"].as_str().unwrap());
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(a) = req.get("accept").and_then(Value::as_str) {
            headers.push(("Accept".into(), a.into()));
        }
        let mut client = self.c.clone();
        if let Some(h) = req.get("headers").and_then(Value::as_object) {
            for (k, v) in h {
                let v = v.as_str().unwrap_or("");
                match (k.as_str(), v) {
                    ("Authorization", "(header not sent)") => client = client.with_token(None),
                    _ => headers.push((k.clone(), v.to_string())),
                }
            }
        }
        let body = match req.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone().into_bytes()),
            Some(v) => {
                let mut v = v.clone();
                self.rewrite_body(&mut v);
                Some(v.to_string().into_bytes())
            }
        };
        let ct = req
            .get("content_type")
            .and_then(Value::as_str)
            .unwrap_or("application/json")
            .to_string();
        let hs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        client.send(
            method,
            &path,
            &hs,
            body.as_ref().map(|b| (ct.as_str(), b.as_slice())),
        )
    }

    fn fail(&mut self, step: usize, what: String) {
        self.failures.push(format!("step {step}: {what}"));
    }

    fn compare(&mut self, step: usize, want: &Value, got: &Response, messages: bool) {
        if got.status < 300 && got.body.first() == Some(&b'{') {
            self.learn(&want["body"], &got.json());
        }
        for f in check(want, got, messages) {
            self.fail(step, f);
        }
    }

    fn compare_events(&mut self, step: usize, want: &[Value], got: &[Value]) {
        let mut want: Vec<Value> = want
            .iter()
            .filter(|e| e["object"]["metadata"]["name"] != "openshift-service-ca.crt")
            .cloned()
            .collect();
        let mut got = got.to_vec();
        for (w, g) in want.iter().zip(&got) {
            self.learn(&w["object"], &g["object"]);
        }
        want.iter_mut().for_each(normalise);
        got.iter_mut().for_each(normalise);
        if want != got {
            self.fail(
                step,
                format!(
                    "watch events differ:\n  want {}\n  got  {}",
                    Value::Array(want),
                    Value::Array(got)
                ),
            );
        }
    }

    /// Runs every step of `file` and returns the mismatches.
    pub fn run(&mut self, file: &str, overrides: &HashMap<usize, Override>) {
        let fx = fixture(file);
        let steps = fx["steps"].as_array().unwrap().clone();
        let mut i = 0;
        while i < steps.len() {
            let step = &steps[i];
            let req = &step["request"];
            let path = req["path"].as_str().unwrap();
            if let Some(d) = overrides.get(&i).and_then(Override::describe) {
                eprintln!("{file} step {i}: {d}");
            }
            match overrides.get(&i) {
                Some(Override::Skip(_)) => {
                    i += 1;
                    continue;
                }
                Some(Override::EmulateController(_)) => {
                    let body = &step["response"]["body"];
                    let object_path = path.split('?').next().unwrap();
                    let mut current = self.c.get(object_path).json();
                    current["status"] = body["status"].clone();
                    current["metadata"]["annotations"] = body["metadata"]["annotations"].clone();
                    let r = self.c.put_json(&format!("{object_path}/status"), &current);
                    assert_eq!(r.status, 200, "emulating a controller: {}", r.text());
                    self.learn(body, &r.json());
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if path.contains("watch=1") && step["response"]["body"].is_array() {
                i = self.run_watch(&steps, i);
                continue;
            }
            let want = &step["response"];
            let mut got = self.send(req);
            if let Some(Override::Eventually) = overrides.get(&i) {
                for _ in 0..100 {
                    if check(want, &got, true).is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    got = self.send(req);
                }
            }
            match overrides.get(&i) {
                Some(Override::StatusOnly(_)) => {
                    if u64::from(got.status) != want["status"].as_u64().unwrap() {
                        self.fail(i, format!("status {} != {}", got.status, want["status"]));
                    }
                }
                Some(Override::MessageDiffers(_)) => self.compare(i, want, &got, false),
                _ => self.compare(i, want, &got, true),
            }
            i += 1;
        }
    }

    /// A watch step: opens the stream, runs the mutations recorded right
    /// after it while it is open, and compares the event lines.
    fn run_watch(&mut self, steps: &[Value], i: usize) -> usize {
        let step = &steps[i];
        let path = self.rewrite_path(step["request"]["path"].as_str().unwrap());
        let want = step["response"]["body"].as_array().unwrap().clone();
        let (resp, rx) = self.c.watch(&path);
        if resp.status != 200 {
            self.fail(i, format!("watch status {}", resp.status));
        }
        let mut j = i + 1;
        while j < steps.len() && steps[j]["request"]["method"] != "GET" {
            let got = self.send(&steps[j]["request"]);
            self.compare(j, &steps[j]["response"], &got, true);
            j += 1;
        }
        let expected = want
            .iter()
            .filter(|e| e["object"]["metadata"]["name"] != "openshift-service-ca.crt")
            .count();
        let by_server = step["stream_ended_by"] == "server";
        let mut got = take_events(
            &rx,
            expected,
            Duration::from_secs(if by_server { 4 } else { 2 }),
        );
        // Nothing more may arrive (the fixture recorded all there was).
        got.extend(take_events(&rx, 1, Duration::from_millis(200)));
        self.compare_events(i, &want, &got);
        j
    }

    pub fn assert_ok(&self, file: &str) {
        assert!(
            self.failures.is_empty(),
            "{file}: {} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// Differences between a recorded response and kubesim's.
fn check(want: &Value, got: &Response, messages: bool) -> Vec<String> {
    let mut out = Vec::new();
    let status = want["status"].as_u64().unwrap() as u16;
    if got.status != status {
        out.push(format!("status {} != {status}: {}", got.status, got.text()));
        return out;
    }
    if let Some(ct) = want["content_type"].as_str()
        && got.header("content-type") != Some(ct)
    {
        out.push(format!(
            "content type {:?} != {ct}",
            got.header("content-type")
        ));
    }
    if let Some(w) = want.pointer("/headers/Warning").and_then(Value::as_str)
        && got.header("warning") != Some(w)
    {
        out.push(format!("Warning {:?} != {w}", got.header("warning")));
    }
    let mut expected = want["body"].clone();
    if let Value::String(text) = &expected {
        if got.text() != *text {
            out.push(format!("body {:?} != {text:?}", got.text()));
        }
        return out;
    }
    let mut actual = got.json();
    drop_openshift(&mut expected);
    normalise(&mut expected);
    normalise(&mut actual);
    if !messages {
        expected.as_object_mut().map(|m| m.remove("message"));
        actual.as_object_mut().map(|m| m.remove("message"));
    }
    if expected != actual {
        out.push(format!("body differs:\n  want {expected}\n  got  {actual}"));
    }
    out
}

impl Override {
    /// Printed so that every deviation from the recording shows in the
    /// test output.
    fn describe(&self) -> Option<String> {
        match self {
            Override::Skip(r) => Some(format!("skipped: {r}")),
            Override::StatusOnly(r) => Some(format!("status only: {r}")),
            Override::MessageDiffers(r) => Some(format!("message not compared: {r}")),
            Override::EmulateController(r) => Some(format!("emulated: {r}")),
            Override::Eventually => None,
        }
    }
}

fn overrides(list: Vec<(usize, Override)>) -> HashMap<usize, Override> {
    list.into_iter().collect()
}

#[test]
fn errors_14() {
    let mut r = Replay::new(&["rec-errors"]);
    r.run(
        "14-errors.json",
        &overrides(vec![
            (
                8,
                Override::StatusOnly(
                    "recording artifact: the recorder mutated this body (it shows step 9's data)",
                ),
            ),
            (27, Override::MessageDiffers("YAML parser wording differs")),
            (
                28,
                Override::MessageDiffers("Go's JSON parser wording differs"),
            ),
        ]),
    );
    r.assert_ok("14-errors.json");
}

#[test]
fn dry_run_15() {
    let mut r = Replay::new(&["rec-dry"]);
    r.run("15-dry-run.json", &overrides(vec![]));
    r.assert_ok("15-dry-run.json");
}

#[test]
fn watch_16() {
    let mut r = Replay::new(&["rec-w"]);
    r.run("16-watch.json", &HashMap::new());
    r.assert_ok("16-watch.json");
}

#[test]
fn list_selectors_pagination_17() {
    let mut r = Replay::new(&["rec-list"]);
    let base = "/api/v1/namespaces/rec-list/configmaps";
    let cm = |name: &str, labels: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": name}});
    for (name, labels) in [
        ("c1", json!({"app": "a", "tier": "front"})),
        ("c2", json!({"app": "a", "tier": "back"})),
        ("c3", json!({"app": "b", "tier": "front"})),
        ("c4", json!({"app": "c"})),
    ] {
        assert_eq!(r.c.post_json(base, &cm(name, labels)).status, 201);
    }
    const OPENSHIFT: &str = "the fixture's extra OpenShift-only ConfigMap shifts the page counts";
    r.run(
        "17-list-selectors-pagination.json",
        &overrides(vec![
            (17, Override::StatusOnly(OPENSHIFT)),
            (18, Override::StatusOnly(OPENSHIFT)),
            (19, Override::StatusOnly(OPENSHIFT)),
            (20, Override::StatusOnly(OPENSHIFT)),
            (21, Override::StatusOnly(OPENSHIFT)),
            (22, Override::Skip(OPENSHIFT)),
            (
                25,
                Override::MessageDiffers("Go's JSON parser wording differs"),
            ),
        ]),
    );
    r.assert_ok("17-list-selectors-pagination.json");
    // The pagination itself, with kubesim's own counts.
    let mut next = format!("{base}?limit=1");
    let mut seen = Vec::new();
    loop {
        let page = r.c.get(&next).json();
        seen.push(
            page["items"][0]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let remaining = page["metadata"]["remainingItemCount"].as_u64();
        match page["metadata"]["continue"].as_str() {
            Some(tok) => {
                assert_eq!(remaining, Some(5 - seen.len() as u64));
                next = format!("{base}?limit=1&continue={tok}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ["c1", "c2", "c3", "c4", "kube-root-ca.crt"]);
}

#[test]
fn lease_optimistic_locking_18() {
    let mut r = Replay::new(&["rec-lease"]);
    r.run("18-lease-optimistic-locking.json", &HashMap::new());
    r.assert_ok("18-lease-optimistic-locking.json");
}

/// The Deployments of fixture 19 and their ReplicaSets, as they were
/// before the recording (fully rolled out).
fn seed_19(r: &mut Replay) {
    let fx = fixture("19-delete-propagation.json");
    let steps = fx["steps"].as_array().unwrap();
    let deployments = "/apis/apps/v1/namespaces/rec-del/deployments";
    let replicasets = "/apis/apps/v1/namespaces/rec-del/replicasets";
    let template = steps[0]["response"]["body"].clone();
    let rs_template = steps[12]["response"]["body"]["items"][0].clone();
    for name in ["fg", "bg", "orph", "dflt"] {
        let mut d = if name == "orph" {
            steps[10]["response"]["body"].clone()
        } else {
            template.clone()
        };
        d["metadata"]["name"] = json!(name);
        d["spec"]["selector"]["matchLabels"]["app"] = json!(name);
        d["spec"]["template"]["metadata"]["labels"]["app"] = json!(name);
        let created = r.seed(deployments, &d);
        let mut rs = if name == "fg" {
            steps[2]["response"]["body"]["items"][0].clone()
        } else {
            let mut rs = rs_template.clone();
            rs["metadata"]["name"] = json!(format!("{name}-644ff574fc"));
            rs["metadata"]["labels"]["app"] = json!(name);
            rs
        };
        rs["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
            "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
        }]);
        r.seed(replicasets, &rs);
    }
}

#[test]
fn delete_propagation_19() {
    let mut r = Replay::new(&["rec-del"]);
    seed_19(&mut r);
    const TIMING: &str = "taken while the garbage collector works; kubesim's is faster";
    r.run(
        "19-delete-propagation.json",
        &overrides(vec![
            (2, Override::StatusOnly(TIMING)),
            (3, Override::StatusOnly(TIMING)),
            (4, Override::Eventually),
            (5, Override::Eventually),
            (8, Override::Eventually),
            (9, Override::Eventually),
            (11, Override::Eventually),
        ]),
    );
    r.assert_ok("19-delete-propagation.json");
}

#[test]
fn status_subresource_20() {
    let mut r = Replay::new(&["rec-gen"]);
    let fx = fixture("20-status-subresource.json");
    r.seed(
        "/apis/apps/v1/namespaces/rec-gen/deployments",
        &fx["steps"][0]["response"]["body"],
    );
    const CONTROLLER: &str = "the deployment controller is part 3";
    r.run(
        "20-status-subresource.json",
        &overrides(vec![
            (2, Override::EmulateController(CONTROLLER)),
            (3, Override::StatusOnly(CONTROLLER)),
            (7, Override::EmulateController(CONTROLLER)),
        ]),
    );
    r.assert_ok("20-status-subresource.json");
}

#[test]
fn namespace_delete_23() {
    let mut r = Replay::new(&["rec-kinds"]);
    let fx = fixture("23-namespace-delete.json");
    let ns = &fx["steps"][0]["response"]["body"];
    // The namespace was created with its label set explicitly.
    let mut current = r.c.get("/api/v1/namespaces/rec-kinds").json();
    current["metadata"]["labels"] = ns["metadata"]["labels"].clone();
    let updated = r.c.put_json("/api/v1/namespaces/rec-kinds", &current);
    assert_eq!(updated.status, 200);
    for (path, obj) in [
        (
            "/api/v1/namespaces/rec-kinds/secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}),
        ),
        (
            "/apis/apps/v1/namespaces/rec-kinds/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
        ),
    ] {
        assert_eq!(r.c.post_json(path, &obj).status, 201);
    }
    r.run(
        "23-namespace-delete.json",
        &overrides(vec![
            (3, Override::MessageDiffers("")),
            (
                6,
                Override::Skip("the namespace controller's status conditions are not simulated"),
            ),
            (7, Override::Eventually),
        ]),
    );
    r.assert_ok("23-namespace-delete.json");
    // Everything inside went with it.
    assert_eq!(
        r.c.get("/api/v1/namespaces/rec-kinds/secrets/s").status,
        404
    );
}

/// Fixture 01: every resource kubesim advertises is advertised exactly as
/// the real server does (subresources restricted to the ones kubesim
/// serves), in the legacy lists and in aggregated discovery.
#[test]
fn discovery_01() {
    let r = Replay::new(&[]);
    let fx = fixture("01-discovery.json");
    let steps = fx["steps"].as_array().unwrap();
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let req = &step["request"];
        let path = req["path"].as_str().unwrap();
        let accept = req
            .get("accept")
            .and_then(Value::as_str)
            .unwrap_or("application/json");
        let got = r.c.send("GET", path, &[("Accept", accept)], None);
        let want = &step["response"];
        if u64::from(got.status) != want["status"].as_u64().unwrap()
            || got.header("content-type") != want["content_type"].as_str()
        {
            failures.push(format!(
                "step {i} {path}: {} {:?}",
                got.status,
                got.header("content-type")
            ));
            continue;
        }
        let (want, got) = (&want["body"], got.json());
        match want.get("kind").and_then(Value::as_str) {
            Some("APIResourceList") => {
                for res in got["resources"].as_array().unwrap() {
                    let mut w = want["resources"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["name"] == res["name"])
                        .cloned()
                        .unwrap_or(Value::Null);
                    if res.get("storageVersionHash").is_none() {
                        w.as_object_mut().map(|m| m.remove("storageVersionHash"));
                    }
                    if &w != res {
                        failures.push(format!("step {i}: {res} != {w}"));
                    }
                }
                let names =
                    |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
                if names(want) != names(&got) {
                    failures.push(format!("step {i}: top-level fields differ"));
                }
            }
            Some("APIGroupList") => {
                for g in got["groups"].as_array().unwrap() {
                    let w = want["groups"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["name"] == g["name"]);
                    let Some(w) = w else {
                        failures.push(format!("step {i}: group {} not in the fixture", g["name"]));
                        continue;
                    };
                    let mut w = w.clone();
                    let served: Vec<&Value> = g["versions"].as_array().unwrap().iter().collect();
                    w["versions"] = Value::Array(
                        w["versions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|v| served.contains(v))
                            .cloned()
                            .collect(),
                    );
                    if &w != g {
                        failures.push(format!("step {i}: {g} != {w}"));
                    }
                }
            }
            Some("APIGroupDiscoveryList") => {
                if got["apiVersion"] != want["apiVersion"] || got["metadata"] != want["metadata"] {
                    failures.push(format!("step {i}: header fields differ"));
                }
                for item in got["items"].as_array().unwrap() {
                    let w = want["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["metadata"] == item["metadata"]);
                    let Some(w) = w else {
                        failures.push(format!("step {i}: {} not in the fixture", item["metadata"]));
                        continue;
                    };
                    for v in item["versions"].as_array().unwrap() {
                        let wv = w["versions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|x| x["version"] == v["version"]);
                        let Some(wv) = wv else {
                            failures.push(format!("step {i}: version {} missing", v["version"]));
                            continue;
                        };
                        if wv["freshness"] != v["freshness"] {
                            failures.push(format!("step {i}: freshness differs"));
                        }
                        for res in v["resources"].as_array().unwrap() {
                            let mut wr = wv["resources"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|x| x["resource"] == res["resource"])
                                .cloned()
                                .unwrap_or(Value::Null);
                            let served: Vec<Value> = res
                                .get("subresources")
                                .and_then(Value::as_array)
                                .map(|s| s.iter().map(|x| x["subresource"].clone()).collect())
                                .unwrap_or_default();
                            if let Some(subs) =
                                wr.get_mut("subresources").and_then(Value::as_array_mut)
                            {
                                subs.retain(|s| served.contains(&s["subresource"]));
                                if subs.is_empty() {
                                    wr.as_object_mut().map(|m| m.remove("subresources"));
                                }
                            }
                            if &wr != res {
                                failures.push(format!("step {i}: {res} != {wr}"));
                            }
                        }
                    }
                }
            }
            _ => {
                // /version and /api: same fields.
                let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
                if keys(want) != keys(&got) {
                    failures.push(format!(
                        "step {i}: fields {:?} != {:?}",
                        keys(&got),
                        keys(want)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Fixture 10's Events, read through both APIs: the controllers' core/v1
/// Events are created as they were recorded (the controllers are part 3),
/// then both lists must match the recording.
#[test]
fn events_both_apis_10() {
    let mut r = Replay::new(&["rec-work"]);
    let fx = fixture("10-deployment-progress-deadline.json");
    let steps = fx["steps"].as_array().unwrap();
    let (core_step, v1_step) = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s["request"]["path"].as_str().unwrap().ends_with("/events"))
        .fold((None, None), |(c, v), (i, s)| {
            if s["request"]["path"]
                .as_str()
                .unwrap()
                .starts_with("/api/v1")
            {
                (c.or(Some(i)), v)
            } else {
                (c, v.or(Some(i)))
            }
        });
    let (core_step, v1_step) = (core_step.unwrap(), v1_step.unwrap());
    for item in steps[core_step]["response"]["body"]["items"]
        .as_array()
        .unwrap()
    {
        let mut e = creatable(item);
        e["apiVersion"] = json!("v1");
        e["kind"] = json!("Event");
        let created = r.c.post_json("/api/v1/namespaces/rec-work/events", &e);
        assert_eq!(created.status, 201, "{}", created.text());
    }
    for i in [core_step, v1_step] {
        let got = r.c.get(steps[i]["request"]["path"].as_str().unwrap());
        for f in check(&steps[i]["response"], &got, true) {
            r.failures.push(format!("step {i}: {f}"));
        }
    }
    r.assert_ok("10-deployment-progress-deadline.json");
}

#[test]
fn generation_21() {
    let mut r = Replay::new(&["rec-gen"]);
    let fx = fixture("21-generation.json");
    r.seed(
        "/apis/apps/v1/namespaces/rec-gen/deployments",
        &fx["steps"][0]["response"]["body"],
    );
    r.run(
        "21-generation.json",
        &overrides(vec![(
            6,
            Override::EmulateController("the deployment controller is part 3"),
        )]),
    );
    r.assert_ok("21-generation.json");
}

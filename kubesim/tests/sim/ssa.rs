//! Server-side apply (issue 5) against the recordings of a real
//! kube-apiserver 1.32: each step of a fixture is sent as recorded and the
//! status and body must match, managedFields included (times masked; the
//! test client sends the recorder's User-Agent, `python-requests`), and a
//! resourceVersion must change exactly when the recording's did.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::client::Response;
use crate::replay::{Replay, fixture, normalise};

/// The managedFields of a body with times masked.
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
        }
    }
    mf
}

/// What to do differently for one step.
#[derive(Clone, Copy)]
enum Step {
    /// Not sent.
    Skip(&'static str),
    /// `message` not compared.
    NoMessage(&'static str),
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
        if let (Some(Value::String(a)), Some(Value::String(b))) =
            (want.pointer("/metadata/uid"), got.pointer("/metadata/uid"))
            && a != b
            && !self.values.iter().any(|(x, _)| x == a)
        {
            self.values.push((a.clone(), b.clone()));
        }
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

    /// The differences between a recorded step and kubesim's answer.
    fn differences(
        &mut self,
        i: usize,
        want: &Value,
        got: &Response,
        messages: bool,
    ) -> Vec<String> {
        let status = want["status"].as_u64().unwrap() as u16;
        if got.status != status {
            return vec![format!(
                "step {i}: status {} != {status}: {}",
                got.status,
                got.text()
            )];
        }
        let mut out = Vec::new();
        self.learn(&want["body"], &got.json());
        let mut w: Value =
            serde_json::from_str(&self.substitute(&want["body"].to_string())).unwrap();
        // The replays run without controllers, so claims get no
        // pvc-protection finalizer (nothing would remove it).
        if let Some(Value::Object(m)) = w.get_mut("metadata")
            && m.get("finalizers") == Some(&json!(["kubernetes.io/pvc-protection"]))
        {
            m.remove("finalizers");
        }
        let mut g = got.json();
        let (wm, gm) = (managed_fields(&w), managed_fields(&g));
        if wm != gm {
            out.push(format!(
                "step {i}: managedFields differ:\n  want {wm}\n  got  {gm}"
            ));
        }
        normalise(&mut w);
        normalise(&mut g);
        if !messages {
            for v in [&mut w, &mut g] {
                v.as_object_mut().map(|m| m.remove("message"));
                if let Some(Value::Array(causes)) = v.pointer_mut("/details/causes") {
                    causes.iter_mut().for_each(|c| {
                        c.as_object_mut().map(|m| m.remove("message"));
                    });
                }
            }
        }
        if w != g {
            out.push(format!("step {i}: body differs:\n  want {w}\n  got  {g}"));
        }
        out
    }

    /// Runs the steps of `file` with the given exceptions (printed).
    fn run(&mut self, file: &str, exceptions: &[(usize, Step)]) {
        self.run_steps(file, 0..usize::MAX, exceptions);
    }

    fn run_steps(
        &mut self,
        file: &str,
        steps: std::ops::Range<usize>,
        exceptions: &[(usize, Step)],
    ) {
        let fx = fixture(file);
        for (i, step) in fx["steps"].as_array().unwrap().iter().enumerate() {
            if !steps.contains(&i) {
                continue;
            }
            let how = exceptions.iter().find(|(n, _)| *n == i).map(|(_, s)| *s);
            match how {
                Some(Step::Skip(why)) => {
                    eprintln!("{file} step {i}: skipped: {why}");
                    continue;
                }
                Some(Step::NoMessage(why)) => {
                    eprintln!("{file} step {i}: message not compared: {why}")
                }
                _ => {}
            }
            let want = &step["response"];
            let messages = !matches!(how, Some(Step::NoMessage(_)));
            let got = self.send(&step["request"]);
            if got.status < 300 {
                self.check_rv(i, &want["body"], &got.json());
            }
            for d in self.differences(i, want, &got, messages) {
                self.failures.push(format!("{file} {d}"));
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
            (7, Step::Skip(controllers)),
            (8, Step::Skip(controllers)),
            (9, Step::Skip(controllers)),
            (10, Step::Skip(controllers)),
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

const CONTROLLERS: &str = "depends on controller timing (part 3)";

#[test]
fn deployment_create_06() {
    let mut r = SsaReplay::new(&["rec-work"]);
    let fx = fixture("06-ssa-deployment-rollout.json");
    let n = fx["steps"].as_array().unwrap().len();
    let skip: Vec<(usize, Step)> = (1..n).map(|i| (i, Step::Skip(CONTROLLERS))).collect();
    r.run("06-ssa-deployment-rollout.json", &skip);
    r.assert_ok();
}

#[test]
fn statefulset_11() {
    let mut r = SsaReplay::new(&["rec-misc"]);
    r.run(
        "11-statefulset-volumeclaimtemplates.json",
        &[
            (1, Step::Skip(CONTROLLERS)),
            (2, Step::Skip(CONTROLLERS)),
            (3, Step::Skip(CONTROLLERS)),
            (4, Step::Skip(CONTROLLERS)),
            (5, Step::Skip(CONTROLLERS)),
            (6, Step::Skip(CONTROLLERS)),
            (8, Step::Skip(CONTROLLERS)),
        ],
    );
    r.assert_ok();
}

#[test]
fn job_template_immutable_08() {
    let mut r = SsaReplay::new(&["rec-work"]);
    r.run(
        "08-ssa-job-complete.json",
        &[
            (1, Step::Skip(CONTROLLERS)),
            (2, Step::Skip(CONTROLLERS)),
            (3, Step::Skip(CONTROLLERS)),
            (4, Step::Skip(CONTROLLERS)),
            (5, Step::Skip(CONTROLLERS)),
            (
                6,
                Step::NoMessage("the real message holds a Go struct dump"),
            ),
        ],
    );
    r.assert_ok();
}

/// What the recording's fake provisioner and kube-controller-manager's
/// binder did to a new claim: annotations and `spec.volumeName`, then the
/// bound status.
fn bind_pvc(r: &SsaReplay, path: &str, pv: &str) {
    let mut pvc = r.r.c.get(path).json();
    pvc["metadata"]["annotations"] = json!({
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes"
    });
    pvc["spec"]["volumeName"] = json!(pv);
    let q = "?fieldManager=kube-controller-manager";
    let put = r.r.c.put_json(&format!("{path}{q}"), &pvc);
    assert_eq!(put.status, 200, "{}", put.text());
    let mut pvc = put.json();
    pvc["status"] =
        json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}});
    let put = r.r.c.put_json(&format!("{path}/status{q}"), &pvc);
    assert_eq!(put.status, 200, "{}", put.text());
}

#[test]
fn pvc_resize_13() {
    let mut r = SsaReplay::new(&["rec-misc"]);
    let file = "13-pvc-resize.json";
    r.run_steps(file, 0..2, &[]);
    eprintln!("{file}: the binding between steps 1 and 2 is written as kube-controller-manager");
    bind_pvc(
        &r,
        "/api/v1/namespaces/rec-misc/persistentvolumeclaims/data1",
        "pv-rec-misc-data1",
    );
    r.run_steps(
        file,
        2..usize::MAX,
        &[(
            8,
            Step::NoMessage("the real message ends with a Go struct diff"),
        )],
    );
    r.assert_ok();
}

#[test]
fn deployment_selector_immutable_07() {
    let mut r = SsaReplay::new(&["rec-work"]);
    eprintln!("07: the Deployment is fixture 06's first step");
    r.run_steps("06-ssa-deployment-rollout.json", 0..1, &[]);
    r.run(
        "07-deployment-selector-immutable.json",
        &[(2, Step::Skip(CONTROLLERS))],
    );
    r.assert_ok();
}

/// An apply to `/status` changes only the status and is recorded with
/// `subresource: status`; the applier of the main resource keeps its
/// fields.
#[test]
fn apply_to_the_status_subresource() {
    let r = Replay::new(&["ns"]);
    let path = "/apis/apps/v1/namespaces/ns/deployments/d";
    let apply = |p: &str, manager: &str, body: &Value| {
        r.c.patch(
            &format!("{p}?fieldManager={manager}"),
            "application/apply-patch+yaml",
            body,
        )
    };
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "ns"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    assert_eq!(apply(path, "thebot", &d).status, 201);
    let mut s = d.clone();
    s["spec"]["replicas"] = json!(5);
    s["status"] = json!({"conditions": [{"type": "Custom", "status": "True"}]});
    let got = apply(&format!("{path}/status"), "ctl", &s);
    assert_eq!(got.status, 200, "{}", got.text());
    let got = got.json();
    assert_eq!(
        got["spec"]["replicas"], 2,
        "spec is not changed through /status"
    );
    assert_eq!(got["status"]["conditions"][0]["type"], "Custom");
    let ctl = got["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "ctl")
        .unwrap()
        .clone();
    assert_eq!(ctl["subresource"], "status");
    assert_eq!(
        ctl["fieldsV1"],
        json!({"f:status": {"f:conditions": {"k:{\"type\":\"Custom\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
    );
}

/// thebot's HPA hand-over: `spec.replicas` applied by thebot, then
/// co-owned by kube-controller-manager (a forced apply of the live
/// value), survives thebot's apply without it; once nobody owns it, an
/// apply without it resets it to the default 1.
#[test]
fn replicas_hand_over_and_reset_to_default() {
    let r = Replay::new(&["ns"]);
    let path = "/apis/apps/v1/namespaces/ns/deployments/web";
    let apply = |manager: &str, force: bool, body: &Value| {
        let f = if force { "&force=true" } else { "" };
        let got = r.c.patch(
            &format!("{path}?fieldManager={manager}{f}"),
            "application/apply-patch+yaml",
            body,
        );
        assert!(got.status < 300, "{}", got.text());
        got.json()
    };
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    apply("thebot", false, &d);
    let kcm = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"}, "spec": {"replicas": 3}});
    let rv = apply("kube-controller-manager", true, &kcm)["metadata"]["resourceVersion"].clone();
    d["spec"].as_object_mut().unwrap().remove("replicas");
    let got = apply("thebot", false, &d);
    assert_eq!(got["spec"]["replicas"], 3, "a co-owned field is kept");
    assert_ne!(
        got["metadata"]["resourceVersion"], rv,
        "thebot gave the field up"
    );
    let owners: Vec<&str> = got["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.pointer("/fieldsV1/f:spec/f:replicas").is_some())
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["kube-controller-manager"]);

    // A Deployment whose replicas only thebot owned.
    let path2 = "/apis/apps/v1/namespaces/ns/deployments/solo";
    let mut solo = d.clone();
    solo["metadata"]["name"] = json!("solo");
    solo["spec"]["replicas"] = json!(4);
    let send = |body: &Value| {
        r.c.patch(
            &format!("{path2}?fieldManager=thebot"),
            "application/apply-patch+yaml",
            body,
        )
        .json()
    };
    assert_eq!(send(&solo)["spec"]["replicas"], 4);
    solo["spec"].as_object_mut().unwrap().remove("replicas");
    assert_eq!(send(&solo)["spec"]["replicas"], 1, "reset to its default");
}

/// Duplicate list keys in an applied configuration are the real 500, and
/// conflicts with several fields list them all.
#[test]
fn duplicate_keys_and_several_conflicts() {
    let r = Replay::new(&["ns"]);
    let apply = |path: &str, manager: &str, body: &Value| {
        r.c.patch(
            &format!("{path}?fieldManager={manager}"),
            "application/apply-patch+yaml",
            body,
        )
    };
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]}]}}}});
    let got = apply("/apis/apps/v1/namespaces/ns/deployments/web", "thebot", &d);
    assert_eq!(got.status, 500);
    assert_eq!(
        got.json()["message"],
        "failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): .spec.template.spec.containers[name=\"c\"].ports: duplicate entries for key [containerPort=80,protocol=\"TCP\"]"
    );

    let cm = |a: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
            "data": {"a": a, "b": a}})
    };
    let path = "/api/v1/namespaces/ns/configmaps/c";
    assert_eq!(apply(path, "thebot", &cm("1")).status, 201);
    let got = apply(path, "other", &cm("2"));
    assert_eq!(got.status, 409);
    let body = got.json();
    assert_eq!(
        body["message"],
        "Apply failed with 2 conflicts: conflicts with \"thebot\":\n- .data.a\n- .data.b"
    );
    assert_eq!(body["details"]["causes"].as_array().unwrap().len(), 2);
}

/// Items of keyed lists that thebot stops applying go away (env vars,
/// ports, volumes), the others keep their place.
#[test]
fn omitted_list_items_are_removed() {
    let r = Replay::new(&["ns"]);
    let path = "/apis/apps/v1/namespaces/ns/deployments/web";
    let apply = |body: &Value| {
        let got = r.c.patch(
            &format!("{path}?fieldManager=thebot"),
            "application/apply-patch+yaml",
            body,
        );
        assert!(got.status < 300, "{}", got.text());
        got.json()
    };
    let d = |env: Value, ports: Value, volumes: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"volumes": volumes, "containers": [{"name": "c", "image": "nginx:1.27",
                        "env": env, "ports": ports}]}}}})
    };
    apply(&d(
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]),
        json!([{"containerPort": 80}, {"containerPort": 443}]),
        json!([{"name": "x", "emptyDir": {}}, {"name": "y", "emptyDir": {}}]),
    ));
    let got = apply(&d(
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "4"}]),
        json!([{"containerPort": 8080}]),
        json!([{"name": "y", "emptyDir": {}}]),
    ));
    let c = &got["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "4"}])
    );
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        got["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "y", "emptyDir": {}}])
    );
}

/// Updates move the fields they change to their manager: a merge patch
/// takes `data.a` from the applier, which then conflicts with it; a
/// `/scale` write is recorded with `subresource: scale`.
#[test]
fn updates_take_the_fields_they_change() {
    let r = Replay::new(&["ns"]);
    let path = "/api/v1/namespaces/ns/configmaps/c";
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1", "b": "1"}});
    let apply = |p: &str, body: &Value| {
        r.c.patch(
            &format!("{p}?fieldManager=thebot"),
            "application/apply-patch+yaml",
            body,
        )
    };
    assert_eq!(apply(path, &cm).status, 201);
    let got = r.c.patch(
        &format!("{path}?fieldManager=editor"),
        "application/merge-patch+json",
        &json!({"data": {"a": "2"}}),
    );
    assert_eq!(got.status, 200);
    let mf = got.json()["metadata"]["managedFields"].clone();
    assert_eq!(mf[0]["manager"], "thebot");
    assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:b": {}}}));
    assert_eq!(mf[1]["manager"], "editor");
    assert_eq!(mf[1]["operation"], "Update");
    assert_eq!(mf[1]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
    let got = apply(path, &cm);
    assert_eq!(got.status, 409);
    assert_eq!(
        got.json()["message"],
        "Apply failed with 1 conflict: conflict with \"editor\" using v1: .data.a"
    );

    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    let dpath = "/apis/apps/v1/namespaces/ns/deployments/web";
    assert_eq!(apply(dpath, &d).status, 201);
    let got = r.c.patch(
        &format!("{dpath}/scale?fieldManager=autoscaler"),
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 4}}),
    );
    assert_eq!(got.status, 200, "{}", got.text());
    let d = r.c.get(dpath).json();
    let scaler = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "autoscaler")
        .unwrap()
        .clone();
    assert_eq!(scaler["subresource"], "scale");
    assert_eq!(scaler["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

/// With the controllers running, an applied claim carries the
/// pvc-protection finalizer (owned by nobody), and deleting it still
/// completes: the pvc-protection controller lets it go.
#[test]
fn applied_claims_are_protected_and_still_deletable() {
    let sim = kubesim::spawn().expect("kubesim starts");
    let c = crate::client::Client::new(&sim);
    let path = "/api/v1/namespaces/default/persistentvolumeclaims/data";
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let got = c.patch(
        &format!("{path}?fieldManager=thebot"),
        "application/apply-patch+yaml",
        &pvc,
    );
    assert_eq!(got.status, 201, "{}", got.text());
    let got = got.json();
    assert_eq!(
        got["metadata"]["finalizers"],
        json!(["kubernetes.io/pvc-protection"])
    );
    assert_eq!(
        got["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:spec": {"f:accessModes": {}, "f:resources": {"f:requests": {"f:storage": {}}}}})
    );
    assert_eq!(c.delete(path).status, 200);
    crate::client::eventually("the claim to go", || c.get(path).status == 404);
}

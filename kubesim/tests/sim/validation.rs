//! Field validation (issue 22) against fixture 24, the answers of a real
//! kube-apiserver 1.32 to 18 server-side applies of invalid (and three
//! valid) objects: status, reason, causes (field and reason) and message
//! must match; then the rules beyond the fixture, one valid and one
//! invalid object each, through create, update, patch and dry runs.

use serde_json::{Value, json};

use crate::client::Response;
use crate::replay::{Replay, fixture};

/// The PDB's message embeds Go pointers (`(0xc00eb875c0)`): masked.
fn mask_pointers(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("(0x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let end = tail.find(')').unwrap_or(tail.len());
        out.push_str("(<ptr>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn causes(v: &Value) -> Vec<(String, String)> {
    v.pointer("/details/causes")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["field"].as_str().unwrap_or("").to_string(),
                        c["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn differences(want: &Value, got: &Response) -> Vec<String> {
    let mut out = Vec::new();
    if u64::from(got.status) != want["status"].as_u64().unwrap() {
        out.push(format!(
            "status {} != {}: {}",
            got.status,
            want["status"],
            got.text()
        ));
        return out;
    }
    let w = &want["body"];
    if w["kind"] != "Status" {
        return out;
    }
    let g = got.json();
    for f in ["reason", "code", "status"] {
        if g[f] != w[f] {
            out.push(format!("{f} {} != {}", g[f], w[f]));
        }
    }
    let (wm, gm) = (
        mask_pointers(w["message"].as_str().unwrap_or("")),
        mask_pointers(g["message"].as_str().unwrap_or("")),
    );
    if wm != gm {
        out.push(format!("message\n  got  {gm}\n  want {wm}"));
    }
    if causes(&g) != causes(w) {
        out.push(format!("causes {:?} != {:?}", causes(&g), causes(w)));
    }
    for f in ["name", "group", "kind"] {
        if g.pointer(&format!("/details/{f}")) != w.pointer(&format!("/details/{f}")) {
            out.push(format!("details.{f} differs"));
        }
    }
    out
}

fn send_step(r: &Replay, req: &Value, dry: bool) -> Response {
    let mut path = req["path"].as_str().unwrap().to_string();
    if dry {
        path.push_str("&dryRun=All");
    }
    r.c.send(
        req["method"].as_str().unwrap(),
        &path,
        &[],
        Some((
            req["content_type"].as_str().unwrap(),
            req["body"].as_str().unwrap().as_bytes(),
        )),
    )
}

#[test]
fn every_case_of_fixture_24_is_answered_as_the_real_server_did() {
    let r = Replay::new(&["rec-valid"]);
    let fx = fixture("24-validation.json");
    let mut failures = Vec::new();
    let steps = fx["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 18);
    // Dry runs first (nothing is stored), then the real applies.
    for dry in [true, false] {
        for (i, step) in steps.iter().enumerate() {
            let got = send_step(&r, &step["request"], dry);
            for d in differences(&step["response"], &got) {
                failures.push(format!("step {i} ({}, dry {dry}): {d}", step["note"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The causes of a 422 as (field, reason), or the status and body.
fn refused(got: &Response) -> Vec<(String, String)> {
    assert_eq!(got.status, 422, "{}", got.text());
    let body = got.json();
    assert_eq!(body["reason"], "Invalid");
    causes(&body)
}

fn pair(field: &str, reason: &str) -> (String, String) {
    (field.to_string(), reason.to_string())
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "v"}},
            "template": {"metadata": {"labels": {"app": "v"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                  "limits": {"cpu": "1", "memory": "128Mi"}},
                    "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}],
                    "volumes": [{"name": "cache", "emptyDir": {}}]}}}})
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

#[test]
fn valid_objects_pass_create_update_patch_and_dry_run() {
    let r = Replay::new(&[]);
    let d = deployment("ok");
    assert_eq!(
        r.c.post_json(&format!("{DEPLOYMENTS}?dryRun=All"), &d)
            .status,
        201
    );
    let created = r.c.post_json(DEPLOYMENTS, &d);
    assert_eq!(created.status, 201, "{}", created.text());
    let mut upd = created.json();
    upd["spec"]["replicas"] = json!(3);
    assert_eq!(r.c.put_json(&format!("{DEPLOYMENTS}/ok"), &upd).status, 200);
    let p = r.c.patch(
        &format!("{DEPLOYMENTS}/ok"),
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 2}}),
    );
    assert_eq!(p.status, 200, "{}", p.text());
}

#[test]
fn invalid_updates_and_patches_are_refused_like_creates() {
    let r = Replay::new(&[]);
    let created = r.c.post_json(DEPLOYMENTS, &deployment("d"));
    assert_eq!(created.status, 201);
    let mut upd = created.json();
    upd["spec"]["replicas"] = json!(-1);
    assert_eq!(
        refused(&r.c.put_json(&format!("{DEPLOYMENTS}/d"), &upd)),
        [pair("spec.replicas", "FieldValueInvalid")]
    );
    let patch = json!({"spec": {"template": {"spec": {"restartPolicy": "Never"}}}});
    for dry in ["", "?dryRun=All"] {
        let got = r.c.patch(
            &format!("{DEPLOYMENTS}/d{dry}"),
            "application/merge-patch+json",
            &patch,
        );
        assert_eq!(
            refused(&got),
            [pair(
                "spec.template.spec.restartPolicy",
                "FieldValueNotSupported"
            )]
        );
    }
    let still = r.c.get(&format!("{DEPLOYMENTS}/d")).json();
    assert_eq!(still["spec"]["replicas"], 1);
}

#[test]
fn pod_template_rules() {
    let r = Replay::new(&[]);
    let mut d = deployment("bad");
    let c = &mut d["spec"]["template"]["spec"]["containers"];
    c[0]["imagePullPolicy"] = json!("Sometimes");
    c[0]["ports"] = json!([{"name": "http", "containerPort": 70000, "protocol": "HTTP"},
                           {"name": "http", "containerPort": 81}]);
    c[0]["resources"] = json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}});
    c[0]["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
    c.as_array_mut()
        .unwrap()
        .push(json!({"name": "web", "image": "x"}));
    let got = r.c.post_json(DEPLOYMENTS, &d);
    let base = "spec.template.spec.containers";
    assert_eq!(
        refused(&got),
        [
            pair(
                &format!("{base}[0].imagePullPolicy"),
                "FieldValueNotSupported"
            ),
            pair(
                &format!("{base}[0].ports[0].containerPort"),
                "FieldValueInvalid"
            ),
            pair(
                &format!("{base}[0].ports[0].protocol"),
                "FieldValueNotSupported"
            ),
            pair(&format!("{base}[0].ports[1].name"), "FieldValueDuplicate"),
            pair(
                &format!("{base}[0].volumeMounts[0].name"),
                "FieldValueNotFound"
            ),
            pair(
                &format!("{base}[0].resources.requests"),
                "FieldValueInvalid"
            ),
            pair(&format!("{base}[1].name"), "FieldValueDuplicate"),
        ]
    );
    let msg = got.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(
            "resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
        ),
        "{msg}"
    );
}

#[test]
fn negative_quantities_are_invalid_and_undecodable_ones_a_400_on_create() {
    let r = Replay::new(&[]);
    let mut d = deployment("neg");
    d["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"memory": "-1Mi"}});
    assert_eq!(
        refused(&r.c.post_json(DEPLOYMENTS, &d)),
        [pair(
            "spec.template.spec.containers[0].resources.requests[memory]",
            "FieldValueInvalid"
        )]
    );
    d["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"memory": "12XB"}});
    let got = r.c.post_json(DEPLOYMENTS, &d);
    assert_eq!(got.status, 400, "{}", got.text());
    assert_eq!(
        got.json()["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
}

#[test]
fn workload_kind_rules() {
    let r = Replay::new(&[]);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"parallelism": -1, "activeDeadlineSeconds": -5, "completionMode": "Sometimes",
            "template": {"spec": {"containers": [{"name": "j", "image": "busybox"}]}}}});
    assert_eq!(
        refused(&r.c.post_json("/apis/batch/v1/namespaces/default/jobs", &job)),
        [
            pair("spec.parallelism", "FieldValueInvalid"),
            pair("spec.activeDeadlineSeconds", "FieldValueInvalid"),
            pair("spec.completionMode", "FieldValueNotSupported"),
            pair("spec.template.spec.restartPolicy", "FieldValueNotSupported"),
        ]
    );
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Sometimes",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    assert_eq!(
        refused(&r.c.post_json("/apis/batch/v1/namespaces/default/cronjobs", &cron)),
        [pair("spec.concurrencyPolicy", "FieldValueNotSupported")]
    );
    let mut d = deployment("zero");
    d["spec"]["strategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
    assert_eq!(
        refused(&r.c.post_json(DEPLOYMENTS, &d)),
        [pair(
            "spec.strategy.rollingUpdate.maxUnavailable",
            "FieldValueInvalid"
        )]
    );
}

#[test]
fn service_ingress_pvc_hpa_pdb_configmap_rules() {
    let r = Replay::new(&[]);
    let ns = "/api/v1/namespaces/default";
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"type": "Cluster", "ports": [{"port": 80, "name": "http"}, {"port": 81}]}});
    assert_eq!(
        refused(&r.c.post_json(&format!("{ns}/services"), &svc)),
        [
            pair("spec.type", "FieldValueNotSupported"),
            pair("spec.ports[1].name", "FieldValueRequired"),
        ]
    );
    let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "i"}, "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [
            {"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "x", "port": {"number": 80}}}},
            {"path": "/", "backend": {"service": {"name": "x", "port": {}}}}]}}]}});
    let p = "spec.rules[0].http.paths";
    assert_eq!(
        refused(&r.c.post_json(
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
            &ing
        )),
        [
            pair(&format!("{p}[0].path"), "FieldValueInvalid"),
            pair(&format!("{p}[1].pathType"), "FieldValueRequired"),
            pair(
                &format!("{p}[1].backend.service.port"),
                "FieldValueRequired"
            ),
        ]
    );
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
        "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "0"}}}});
    assert_eq!(
        refused(&r.c.post_json(&format!("{ns}/persistentvolumeclaims"), &pvc)),
        [
            pair("spec.accessModes", "FieldValueNotSupported"),
            pair("spec.resources[storage]", "FieldValueInvalid"),
        ]
    );
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
            "minReplicas": 0, "maxReplicas": 3}});
    assert_eq!(
        refused(&r.c.post_json(
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            &hpa
        )),
        [pair("spec.minReplicas", "FieldValueInvalid")]
    );
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "b"}, "spec": {"maxUnavailable": "150%", "selector": {"matchLabels": {"app": "v"}}}});
    assert_eq!(
        refused(&r.c.post_json(
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            &pdb
        )),
        [pair("spec.maxUnavailable", "FieldValueInvalid")]
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "1", "..b": "2"}, "binaryData": {"a": "AA=="}});
    assert_eq!(
        refused(&r.c.post_json(&format!("{ns}/configmaps"), &cm)),
        [
            pair("data[..b]", "FieldValueInvalid"),
            pair("binaryData[a]", "FieldValueInvalid"),
        ]
    );
}

/// The message of a 422 (after `refused` checked it is one).
fn message(got: &Response) -> String {
    got.json()["message"].as_str().unwrap_or("").to_string()
}

#[test]
fn env_probe_and_security_context_rules_through_the_api() {
    let r = Replay::new(&[]);
    let mut ok = deployment("good");
    let spec = &mut ok["spec"]["template"]["spec"];
    spec["securityContext"] = json!({"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"}});
    spec["tolerations"] =
        json!([{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]);
    let c = &mut spec["containers"][0];
    c["env"] = json!([{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]);
    c["envFrom"] = json!([{"configMapRef": {"name": "settings"}}]);
    c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": "http"}});
    c["readinessProbe"] = json!({"tcpSocket": {"port": 8080}, "successThreshold": 2});
    c["securityContext"] =
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    let created = r.c.post_json(DEPLOYMENTS, &ok);
    assert_eq!(created.status, 201, "{}", created.text());

    let mut bad = deployment("bad");
    let c = &mut bad["spec"]["template"]["spec"]["containers"][0];
    c["env"] = json!([{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "db"}}}]);
    c["livenessProbe"] = json!({"httpGet": {"port": 0}, "successThreshold": 3});
    c["readinessProbe"] = json!({"periodSeconds": -1});
    c["securityContext"] =
        json!({"runAsUser": -1, "privileged": true, "allowPrivilegeEscalation": false});
    let base = "spec.template.spec.containers[0]";
    for dry in ["?dryRun=All", ""] {
        let got = r.c.post_json(&format!("{DEPLOYMENTS}{dry}"), &bad);
        assert_eq!(
            refused(&got),
            [
                pair(&format!("{base}.env[0].valueFrom"), "FieldValueInvalid"),
                pair(
                    &format!("{base}.env[1].valueFrom.secretKeyRef.key"),
                    "FieldValueRequired"
                ),
                pair(
                    &format!("{base}.livenessProbe.httpGet.port"),
                    "FieldValueInvalid"
                ),
                pair(
                    &format!("{base}.livenessProbe.successThreshold"),
                    "FieldValueInvalid"
                ),
                pair(&format!("{base}.readinessProbe"), "FieldValueRequired"),
                pair(
                    &format!("{base}.readinessProbe.periodSeconds"),
                    "FieldValueInvalid"
                ),
                pair(
                    &format!("{base}.securityContext.runAsUser"),
                    "FieldValueInvalid"
                ),
                pair(&format!("{base}.securityContext"), "FieldValueInvalid"),
            ]
        );
        let msg = message(&got);
        for part in [
            "env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
            "livenessProbe.successThreshold: Invalid value: 3: must be 1",
            "readinessProbe: Required value: must specify a handler type",
            "securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
            "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
        ] {
            assert!(msg.contains(part), "{part}\n  in {msg}");
        }
    }
    assert_eq!(r.c.get(&format!("{DEPLOYMENTS}/bad")).status, 404);
    // A merge patch that breaks a valid object is refused the same way.
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [
        {"key": "dedicated", "operator": "Exists", "value": "web"}]}}}});
    let got = r.c.patch(
        &format!("{DEPLOYMENTS}/good"),
        "application/merge-patch+json",
        &patch,
    );
    assert_eq!(
        refused(&got),
        [pair(
            "spec.template.spec.tolerations[0].operator",
            "FieldValueInvalid"
        )]
    );
}

#[test]
fn volume_affinity_and_hpa_metric_rules_through_the_api() {
    let r = Replay::new(&[]);
    let mut d = deployment("vols");
    let spec = &mut d["spec"]["template"]["spec"];
    spec["volumes"] = json!([{"name": "cache", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 511,
            "items": [{"key": "a", "path": "../a"}]}},
        {"name": "data", "persistentVolumeClaim": {"claimName": ""}}]);
    spec["affinity"] = json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 0, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}});
    let s = "spec.template.spec";
    assert_eq!(
        refused(&r.c.post_json(DEPLOYMENTS, &d)),
        [
            pair(
                &format!("{s}.volumes[1].configMap.items[0].path"),
                "FieldValueInvalid"
            ),
            pair(
                &format!("{s}.volumes[2].persistentVolumeClaim.claimName"),
                "FieldValueRequired"
            ),
            pair(
                &format!(
                    "{s}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
                ),
                "FieldValueRequired"
            ),
            pair(
                &format!(
                    "{s}.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"
                ),
                "FieldValueInvalid"
            ),
        ]
    );
    let hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    let hpa = |metrics: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1",
                "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                "metrics": metrics}})
    };
    let good = hpa(json!([{"type": "Pods", "pods": {"metric": {"name": "rps"},
        "target": {"type": "AverageValue", "averageValue": "100"}}}]));
    let created = r.c.post_json(&format!("{hpas}?dryRun=All"), &good);
    assert_eq!(created.status, 201, "{}", created.text());
    let got = r.c.post_json(
        hpas,
        &hpa(
            json!([{"type": "External", "pods": {"metric": {"name": "rps"},
            "target": {"type": "AverageValue", "averageValue": "100"}}}]),
        ),
    );
    assert_eq!(
        refused(&got),
        [
            pair("spec.metrics[0].external", "FieldValueRequired"),
            pair("spec.metrics[0].pods", "FieldValueForbidden"),
        ]
    );
    assert_eq!(
        message(&got),
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: [spec.metrics[0].external: Required value: must populate information for the given metric source, spec.metrics[0].pods: Forbidden: must populate the given metric source only]"
    );
}

#[test]
fn service_duplicate_ports_and_node_ports_are_refused() {
    let r = Replay::new(&[]);
    let svcs = "/api/v1/namespaces/default/services";
    let svc = |ports: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"type": "NodePort", "selector": {"app": "v"}, "ports": ports}})
    };
    // The same port over TCP and UDP is fine (DNS does it).
    let dns = svc(
        json!([{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "nodePort": 30053}]),
    );
    let got = r.c.post_json(&format!("{svcs}?dryRun=All"), &dns);
    assert_eq!(got.status, 201, "{}", got.text());
    let got = r.c.post_json(
        svcs,
        &svc(json!([{"name": "a", "port": 80, "nodePort": 30080},
            {"name": "b", "port": 80, "targetPort": 8080, "nodePort": 30080}])),
    );
    assert_eq!(
        refused(&got),
        [
            pair("spec.ports[1].nodePort", "FieldValueDuplicate"),
            pair("spec.ports[1]", "FieldValueDuplicate"),
        ]
    );
    assert_eq!(
        message(&got),
        "Service \"s\" is invalid: [spec.ports[1].nodePort: Duplicate value: 30080, spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}]"
    );
}

#[test]
fn scale_writes_refuse_negative_replicas_as_the_scale() {
    let r = Replay::new(&[]);
    assert_eq!(r.c.post_json(DEPLOYMENTS, &deployment("w")).status, 201);
    let scale = format!("{DEPLOYMENTS}/w/scale");
    let body = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "w", "namespace": "default"}, "spec": {"replicas": -2}});
    let got = r.c.put_json(&scale, &body);
    assert_eq!(refused(&got), [pair("spec.replicas", "FieldValueInvalid")]);
    let b = got.json();
    assert_eq!(
        b["message"],
        "Scale.autoscaling \"w\" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0"
    );
    assert_eq!(b["details"]["kind"], "Scale");
    assert_eq!(b["details"]["group"], "autoscaling");
    let got = r.c.patch(
        &scale,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": -1}}),
    );
    assert_eq!(refused(&got), [pair("spec.replicas", "FieldValueInvalid")]);
    let got = r.c.patch(
        &scale,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": "many"}}),
    );
    assert_eq!(got.status, 400, "{}", got.text());
    assert_eq!(r.c.get(&scale).json()["spec"]["replicas"], 1);
    let got = r.c.patch(
        &scale,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 4}}),
    );
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(r.c.get(&scale).json()["spec"]["replicas"], 4);
}

#[test]
fn spread_behavior_and_unvalidated_fields_through_the_api() {
    let r = Replay::new(&[]);
    // Neutral values of refused fields pass, as do the new rules' valid
    // forms, through create and a server-side apply.
    let mut d = deployment("neutral");
    let spec = &mut d["spec"]["template"]["spec"];
    spec["hostNetwork"] = json!(false);
    spec["hostPID"] = json!(false);
    spec["priority"] = json!(0);
    spec["hostAliases"] = json!([]);
    spec["topologySpreadConstraints"] = json!([{"maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "v"}}}]);
    let created = r.c.post_json(DEPLOYMENTS, &d);
    assert_eq!(created.status, 201, "{}", created.text());
    let applied = r.c.patch(
        &format!("{DEPLOYMENTS}/neutral?fieldManager=t&force=true"),
        "application/apply-patch+yaml",
        &d,
    );
    assert_eq!(applied.status, 200, "{}", applied.text());

    let mut d = deployment("refused");
    let spec = &mut d["spec"]["template"]["spec"];
    spec["hostAliases"] = json!([{"ip": "10.0.0.1", "hostnames": ["db"]}]);
    spec["priority"] = json!(100);
    spec["topologySpreadConstraints"] = json!([{"maxSkew": 0,
        "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"}]);
    spec["volumes"] = json!([{"name": "cache", "nfs": {"server": "nfs", "path": "/"}}]);
    let s = "spec.template.spec";
    let got = r.c.post_json(DEPLOYMENTS, &d);
    assert_eq!(
        refused(&got),
        [
            pair(&format!("{s}.volumes[0].nfs"), "FieldValueForbidden"),
            pair(
                &format!("{s}.topologySpreadConstraints[0].maxSkew"),
                "FieldValueInvalid"
            ),
            pair(
                &format!("{s}.topologySpreadConstraints[0].whenUnsatisfiable"),
                "FieldValueNotSupported"
            ),
            pair(&format!("{s}.hostAliases"), "FieldValueForbidden"),
            pair(&format!("{s}.priority"), "FieldValueForbidden"),
        ]
    );
    assert!(
        message(&got).contains(&format!("{s}.hostAliases: Forbidden: kubesim does not validate this field yet (a real server may accept it): remove it or extend kubesim/src/validation")),
        "{}",
        message(&got)
    );
    // Nothing was stored.
    assert_eq!(r.c.get(&format!("{DEPLOYMENTS}/refused")).status, 404);

    let hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    let hpa = |behavior: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1",
                "kind": "Deployment", "name": "web"}, "maxReplicas": 5, "behavior": behavior}})
    };
    let ok = r.c.post_json(
        &format!("{hpas}?dryRun=All"),
        &hpa(json!({"scaleDown": {"stabilizationWindowSeconds": 300,
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}})),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    let got = r.c.post_json(
        hpas,
        &hpa(json!({"scaleUp": {"selectPolicy": "Fastest",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 3600}]}})),
    );
    assert_eq!(
        message(&got),
        "HorizontalPodAutoscaler.autoscaling \"h\" is invalid: [spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Fastest\": supported values: \"Disabled\", \"Max\", \"Min\", spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 3600: must be less than or equal to 1800]"
    );

    // Client-written Events: the legacy rules of core v1.
    let ev = |ns: &str| {
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("e-{ns}")},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
            "reason": "Test", "message": "hi", "type": "Normal"})
    };
    let events = "/api/v1/namespaces/default/events";
    assert_eq!(r.c.post_json(events, &ev("default")).status, 201);
    assert_eq!(
        refused(&r.c.post_json(events, &ev("other"))),
        [pair("involvedObject.namespace", "FieldValueInvalid")]
    );
}

#[test]
fn other_kinds_refuse_unvalidated_fields_and_strict_events_through_the_api() {
    let r = Replay::new(&[]);
    let np = |peer: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np"}, "spec": {"podSelector": {},
                "policyTypes": ["Egress"], "egress": [{"to": [peer]}]}})
    };
    let nps = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies";
    let ok = r.c.post_json(
        &format!("{nps}?dryRun=All"),
        &np(json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}})),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(
        refused(&r.c.post_json(nps, &np(json!({"ipBlock": {"cidr": "10.0.0.0/8"}})))),
        [pair("spec.egress[0].to[0].ipBlock", "FieldValueForbidden")]
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}], "externalIPs": ["203.0.113.9"]}});
    assert_eq!(
        refused(&r.c.post_json("/api/v1/namespaces/default/services", &svc)),
        [pair("spec.externalIPs", "FieldValueForbidden")]
    );
    // events.k8s.io/v1 gets the strict rules.
    let events = "/apis/events.k8s.io/v1/namespaces/default/events";
    let ev = |ty: &str| {
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": format!("e-{}", ty.to_lowercase())},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Sync", "reason": "Synced", "note": "ok", "type": ty})
    };
    let created = r.c.post_json(events, &ev("Normal"));
    assert_eq!(created.status, 201, "{}", created.text());
    let got = r.c.post_json(events, &ev("Info"));
    assert_eq!(refused(&got), [pair("type", "FieldValueInvalid")]);
    assert_eq!(
        message(&got),
        "Event.events.k8s.io \"e-info\" is invalid: type: Invalid value: \"\": has invalid value: Info"
    );
}

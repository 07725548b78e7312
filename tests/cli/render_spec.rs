//! The render against SPEC §1a, §2 and §3: every per-environment number,
//! the environment contract, and the hardening, parsed from the output.

use serde_json::Value;

use crate::support::{find, has, render, secret_value};

/// (component, replicas, HPA min-max when autoscaled)
type Scaling = (&'static str, u64, Option<(u64, u64)>);

struct Numbers {
    env: &'static str,
    release: &'static str,
    scaling: [Scaling; 3],
    backend_memory: &'static str,
    backend_cpu: &'static str,
    pg_storage: &'static str,
    redis_storage: &'static str,
}

const SPEC: [Numbers; 3] = [
    Numbers {
        env: "dev",
        release: "thebot-dev",
        scaling: [
            ("backend", 1, None),
            ("frontend", 1, None),
            ("celery", 1, None),
        ],
        backend_memory: "256Mi",
        backend_cpu: "250m",
        pg_storage: "5Gi",
        redis_storage: "2Gi",
    },
    Numbers {
        env: "staging",
        release: "thebot-staging",
        scaling: [
            ("backend", 2, Some((2, 4))),
            ("frontend", 2, Some((2, 3))),
            ("celery", 2, Some((2, 4))),
        ],
        backend_memory: "512Mi",
        backend_cpu: "500m",
        pg_storage: "20Gi",
        redis_storage: "10Gi",
    },
    Numbers {
        env: "prod",
        release: "thebot",
        scaling: [
            ("backend", 3, Some((3, 10))),
            ("frontend", 3, Some((3, 5))),
            ("celery", 3, Some((3, 8))),
        ],
        backend_memory: "1Gi",
        backend_cpu: "1000m",
        pg_storage: "100Gi",
        redis_storage: "50Gi",
    },
];

fn containers(pod_owner: &Value) -> Vec<&Value> {
    pod_owner["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn workloads(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects.iter().filter(|o| {
        matches!(
            o["kind"].as_str(),
            Some("Deployment" | "StatefulSet" | "Job")
        )
    })
}

#[test]
fn every_spec_number_per_environment() {
    for n in &SPEC {
        let objects = render(n.env, &[]);
        let r = n.release;
        for (component, replicas, hpa) in n.scaling {
            let name = format!("{r}-{component}");
            let dep = find(&objects, "Deployment", &name);
            match hpa {
                None => {
                    assert_eq!(
                        dep["spec"]["replicas"], replicas,
                        "{} {component} replicas",
                        n.env
                    );
                    assert!(
                        !has(&objects, "HorizontalPodAutoscaler", &name),
                        "{} has no HPAs",
                        n.env
                    );
                }
                Some((min, max)) => {
                    assert!(
                        dep["spec"].get("replicas").is_none(),
                        "{} {component}: the HPA owns replicas",
                        n.env
                    );
                    let h = find(&objects, "HorizontalPodAutoscaler", &name);
                    assert_eq!(h["apiVersion"], "autoscaling/v2");
                    assert_eq!(
                        (
                            h["spec"]["minReplicas"].as_u64(),
                            h["spec"]["maxReplicas"].as_u64()
                        ),
                        (Some(min), Some(max)),
                        "{} {component}",
                        n.env
                    );
                    assert_eq!(min, replicas);
                    assert_eq!(h["spec"]["scaleTargetRef"]["name"], name.as_str());
                }
            }
        }
        let backend = containers(find(&objects, "Deployment", &format!("{r}-backend")))[0];
        assert_eq!(
            backend["resources"]["requests"]["memory"], n.backend_memory,
            "{}",
            n.env
        );
        assert_eq!(
            backend["resources"]["requests"]["cpu"], n.backend_cpu,
            "{}",
            n.env
        );
        assert_eq!(
            backend["resources"]["limits"]["memory"], n.backend_memory,
            "{}",
            n.env
        );
        for (component, size) in [("postgresql", n.pg_storage), ("redis", n.redis_storage)] {
            let sts = find(&objects, "StatefulSet", &format!("{r}-{component}"));
            assert_eq!(
                sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
                size,
                "{} {component}",
                n.env
            );
        }
    }
}

#[test]
fn celery_beat_is_one_replica_recreated() {
    for n in &SPEC {
        let objects = render(n.env, &[]);
        let beat = find(
            &objects,
            "Deployment",
            &format!("{}-celery-beat", n.release),
        );
        assert_eq!(beat["spec"]["replicas"], 1, "{}", n.env);
        assert_eq!(beat["spec"]["strategy"]["type"], "Recreate", "{}", n.env);
        assert!(!has(
            &objects,
            "HorizontalPodAutoscaler",
            &format!("{}-celery-beat", n.release)
        ));
    }
}

#[test]
fn pdbs_only_where_at_least_two_replicas() {
    for n in &SPEC {
        let objects = render(n.env, &[]);
        for pdb in objects
            .iter()
            .filter(|o| o["kind"] == "PodDisruptionBudget")
        {
            assert_eq!(pdb["spec"]["maxUnavailable"], 1);
            let name = pdb["metadata"]["name"].as_str().unwrap();
            let hpa = find(&objects, "HorizontalPodAutoscaler", name);
            assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2, "{name}");
        }
        let pdbs = objects
            .iter()
            .filter(|o| o["kind"] == "PodDisruptionBudget")
            .count();
        let expected = match n.env {
            "dev" => 0,
            "staging" => 1,
            _ => 3,
        };
        assert_eq!(pdbs, expected, "{}", n.env);
    }
    assert!(has(
        &render("prod", &[]),
        "PodDisruptionBudget",
        "thebot-backend"
    ));
}

#[test]
fn prod_spreads_replicas_with_preferred_anti_affinity_matching_its_pods() {
    let objects = render("prod", &[]);
    for c in ["backend", "frontend", "celery"] {
        let dep = find(&objects, "Deployment", &format!("thebot-{c}"));
        let aa = &dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
        assert!(
            aa.get("requiredDuringSchedulingIgnoredDuringExecution")
                .is_none(),
            "{c}"
        );
        let term = &aa["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"];
        let selector = term["labelSelector"]["matchLabels"].as_object().unwrap();
        let pod_labels = dep["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .unwrap();
        for (k, v) in selector {
            assert_eq!(
                pod_labels.get(k),
                Some(v),
                "{c}: anti-affinity must select its own pods"
            );
        }
    }
}

#[test]
fn shared_volumes_are_read_write_many_with_a_configurable_class() {
    let objects = render(
        "dev",
        &["--set", "persistence.static.storageClass=nfs-client"],
    );
    for c in ["static", "media"] {
        let pvc = find(
            &objects,
            "PersistentVolumeClaim",
            &format!("thebot-dev-{c}"),
        );
        assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteMany");
    }
    assert_eq!(
        find(&objects, "PersistentVolumeClaim", "thebot-dev-static")["spec"]["storageClassName"],
        "nfs-client"
    );
}

#[test]
fn dns_egress_allows_udp_and_tcp_53() {
    let objects = render("staging", &[]);
    let np = find(&objects, "NetworkPolicy", "thebot-staging-allow-dns");
    let ports = np["spec"]["egress"][0]["ports"].as_array().unwrap();
    let mut protocols: Vec<_> = ports
        .iter()
        .filter(|p| p["port"] == 53)
        .map(|p| p["protocol"].as_str().unwrap())
        .collect();
    protocols.sort();
    assert_eq!(protocols, ["TCP", "UDP"]);
    let deny = find(&objects, "NetworkPolicy", "thebot-staging-default-deny");
    assert_eq!(
        deny["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
}

#[test]
fn the_database_is_reachable_only_from_the_app() {
    let objects = render("prod", &[]);
    let np = find(&objects, "NetworkPolicy", "thebot-postgresql");
    let from = &np["spec"]["ingress"][0]["from"][0]["podSelector"];
    let allowed = from["matchExpressions"][0]["values"].as_array().unwrap();
    assert!(allowed.contains(&Value::from("backend")));
    assert!(!allowed.contains(&Value::from("frontend")));
}

#[test]
fn hardening_on_every_container_jobs_included() {
    for n in &SPEC {
        let objects = render(n.env, &[]);
        let mut count = 0;
        for w in workloads(&objects) {
            let pod = &w["spec"]["template"]["spec"];
            let name = w["metadata"]["name"].as_str().unwrap();
            assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
            assert_eq!(
                pod["serviceAccountName"],
                format!("{}-app", n.release),
                "{name}"
            );
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{name}"
            );
            // checkov CKV_K8S_40: ids clear of the node's and the image's
            // own users; fsGroup keeps the data volumes writable.
            for id in ["runAsUser", "runAsGroup", "fsGroup"] {
                let v = pod["securityContext"][id].as_u64().unwrap_or(0);
                assert!(v >= 10000, "{name}: {id} {v}");
            }
            for c in containers(w) {
                count += 1;
                // checkov CKV_K8S_15: a moved tag is pulled again.
                assert_eq!(c["imagePullPolicy"], "Always", "{name}");
                let sc = &c["securityContext"];
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(sc["runAsNonRoot"], true, "{name}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{name}"
                );
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
                for k in ["requests", "limits"] {
                    for r in ["cpu", "memory"] {
                        assert!(
                            c["resources"][k][r].is_string(),
                            "{name}: resources.{k}.{r}"
                        );
                    }
                }
                if w["kind"] != "Job" {
                    assert!(
                        c.get("livenessProbe").is_some() && c.get("readinessProbe").is_some(),
                        "{name}: probes"
                    );
                }
                let image = c["image"].as_str().unwrap();
                assert!(
                    !image.ends_with(":latest") && image.contains(':'),
                    "{name}: pinned image {image}"
                );
                // checkov CKV_K8S_43: prod (with the example file) runs
                // every image by digest.
                if n.env == "prod" {
                    assert!(image.contains("@sha256:"), "{name}: {image}");
                }
            }
        }
        assert!(count >= 8, "{}: {count} containers", n.env);
    }
}

#[test]
fn jobs_run_the_backend_image_with_bounded_retries() {
    let objects = render(
        "prod",
        &[
            "--set",
            "images.backend.tag=2.0.1",
            "--set-string",
            "images.backend.digest=",
        ],
    );
    // The backup Job (run by the engine before a migration) has its own
    // test in dbsafe.rs: it runs the database's image.
    let jobs: Vec<_> = objects
        .iter()
        .filter(|o| {
            o["kind"] == "Job" && o["metadata"]["annotations"]["thebot.io/hook"] != "backup"
        })
        .collect();
    assert_eq!(jobs.len(), 2);
    for j in jobs {
        assert!(j["spec"]["backoffLimit"].as_u64().unwrap() <= 1);
        assert!(j["spec"]["activeDeadlineSeconds"].as_u64().is_some());
        assert_eq!(
            containers(j)[0]["image"],
            "ghcr.io/the-bot/thebot-backend:2.0.1"
        );
        assert!(j["metadata"]["annotations"]["thebot.io/hook"].is_string());
        assert_eq!(j["metadata"]["annotations"]["thebot.io/stage"], "3-prepare");
    }
}

#[test]
fn every_object_carries_the_labels_and_annotations() {
    let objects = render("staging", &[]);
    for o in &objects {
        let labels = &o["metadata"]["labels"];
        let id = format!("{}/{}", o["kind"], o["metadata"]["name"]);
        assert_eq!(labels["app.kubernetes.io/name"], "thebot", "{id}");
        assert_eq!(
            labels["app.kubernetes.io/instance"], "thebot-staging",
            "{id}"
        );
        assert_eq!(labels["app.kubernetes.io/managed-by"], "thebot", "{id}");
        assert!(labels["app.kubernetes.io/component"].is_string(), "{id}");
        assert!(labels["app.kubernetes.io/version"].is_string(), "{id}");
        assert_eq!(o["metadata"]["namespace"], "thebot-staging", "{id}");
        assert_eq!(
            o["metadata"]["annotations"]["thebot.io/release"], "thebot-staging/thebot-staging",
            "{id}"
        );
        assert!(o["kind"] != "Namespace");
        assert!(
            o.get("stringData").is_none(),
            "{id}: Secrets render data, never stringData"
        );
    }
}

#[test]
fn selectors_match_their_pods() {
    let objects = render("prod", &[]);
    let pods: Vec<&serde_json::Map<String, Value>> = workloads(&objects)
        .map(|w| {
            w["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .unwrap()
        })
        .collect();
    let matches_some_pod = |sel: &serde_json::Map<String, Value>| {
        pods.iter()
            .any(|p| sel.iter().all(|(k, v)| p.get(k) == Some(v)))
    };
    for o in &objects {
        let sel = match o["kind"].as_str().unwrap() {
            "Service" => o["spec"]["selector"].as_object(),
            "Deployment" | "StatefulSet" | "PodDisruptionBudget" => {
                o["spec"]["selector"]["matchLabels"].as_object()
            }
            _ => None,
        };
        if let Some(sel) = sel {
            assert!(
                matches_some_pod(sel),
                "{} {} selects no pod",
                o["kind"],
                o["metadata"]["name"]
            );
        }
    }
}

/// SPEC §1a: URL hosts are this release's Services; one database password.
#[test]
fn urls_point_at_real_services_and_share_one_password() {
    let objects = render("prod", &[]);
    let secret = find(&objects, "Secret", "thebot-secret");
    let cm = find(&objects, "ConfigMap", "thebot-config");
    let url = secret_value(secret, "DATABASE_URL");
    let password = secret_value(secret, "POSTGRES_PASSWORD");
    assert_eq!(
        url,
        format!("postgres://thebot:{password}@thebot-postgresql:5432/thebot")
    );
    let host = cm["data"]["DATABASE_HOST"].as_str().unwrap();
    assert!(
        has(&objects, "Service", host),
        "DATABASE_HOST {host} is a Service"
    );
    // PostgreSQL starts with the Secret's POSTGRES_PASSWORD, read from a file.
    let pg = find(&objects, "StatefulSet", "thebot-postgresql");
    let file = mounted_secret_file(pg, "thebot-secret", "POSTGRES_PASSWORD");
    let env = containers(pg)[0]["env"].as_array().unwrap();
    let pw = env
        .iter()
        .find(|e| e["name"] == "POSTGRES_PASSWORD_FILE")
        .unwrap();
    assert_eq!(pw["value"], file.as_str());
    let redis_pw = secret_value(secret, "REDIS_PASSWORD");
    for key in [
        "REDIS_URL",
        "REDIS_BACKEND",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
    ] {
        let u = secret_value(secret, key);
        assert!(
            u.starts_with(&format!("redis://:{redis_pw}@thebot-redis:6379/")),
            "{key}: {u}"
        );
    }
    assert!(has(&objects, "Service", "thebot-redis"));
    for key in [
        "DJANGO_SETTINGS_MODULE",
        "K8S_ENVIRONMENT",
        "DATABASE_ENGINE",
        "DATABASE_NAME",
        "DATABASE_PORT",
        "POSTGRES_DB",
        "POSTGRES_USER",
        "REDIS_HOST",
        "REDIS_PORT",
        "LOG_LEVEL",
        "CACHE_TIMEOUT",
        "API_PAGE_SIZE",
        "API_RATE_LIMIT",
    ] {
        assert!(cm["data"][key].is_string(), "ConfigMap {key}");
    }
    for key in [
        "SECRET_KEY",
        "YOOKASSA_SHOP_ID",
        "YOOKASSA_SECRET_KEY",
        "OPENROUTER_API_KEY",
        "PACHCA_FORUM_API_TOKEN",
        "TELEGRAM_BOT_TOKEN",
    ] {
        assert!(!secret_value(secret, key).is_empty(), "Secret {key}");
    }
    let cm_text = serde_json::to_string(cm).unwrap();
    assert!(
        !cm_text.contains(&password) && !cm_text.contains("redis://"),
        "no credentials in the ConfigMap"
    );
}

/// The path at which `workload`'s first container sees `key` of Secret
/// `secret`, through a volume that projects only that key.
fn mounted_secret_file(workload: &Value, secret: &str, key: &str) -> String {
    let pod = &workload["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == secret)
        .unwrap_or_else(|| panic!("no volume of Secret {secret}"));
    let items = volume["secret"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only {key} is mounted: {items:?}");
    assert_eq!(items[0]["key"], key);
    let mount = containers(workload)[0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume["name"])
        .unwrap();
    assert_eq!(mount["readOnly"], true);
    format!(
        "{}/{}",
        mount["mountPath"].as_str().unwrap(),
        items[0]["path"].as_str().unwrap()
    )
}

/// checkov CKV_K8S_35: the databases read their passwords from files; no
/// password is in their environment, command line or anywhere in their spec.
#[test]
fn database_passwords_are_files_never_env_or_arguments() {
    let objects = render("prod", &[]);
    let secret = find(&objects, "Secret", "thebot-secret");
    for (name, key) in [
        ("thebot-postgresql", "POSTGRES_PASSWORD"),
        ("thebot-redis", "REDIS_PASSWORD"),
    ] {
        let sts = find(&objects, "StatefulSet", name);
        let file = mounted_secret_file(sts, "thebot-secret", key);
        let c = containers(sts)[0];
        let spec = serde_json::to_string(&sts["spec"]).unwrap();
        assert!(
            !spec.contains(&secret_value(secret, key)),
            "{name}: the password is in the spec"
        );
        assert!(!spec.contains("secretKeyRef"), "{name}: a secret in env");
        if key == "REDIS_PASSWORD" {
            let script = c["command"][2].as_str().unwrap();
            assert!(script.contains(&format!("$(cat {file})")), "{script}");
            assert!(
                script.contains("redis-server -"),
                "config on stdin: {script}"
            );
            for probe in ["readinessProbe", "livenessProbe"] {
                let cmd = c[probe]["exec"]["command"][2].as_str().unwrap();
                assert!(cmd.contains(&format!("$(cat {file})")), "{probe}: {cmd}");
            }
        }
    }
}

/// The database pods roll when their own password changes, not when the
/// application's secrets do.
#[test]
fn database_checksums_cover_only_their_password() {
    let sum = |objects: &[Value], name: &str| {
        find(objects, "StatefulSet", name)["spec"]["template"]["metadata"]["annotations"]
            ["checksum/config"]
            .clone()
    };
    let base = render("prod", &[]);
    let token = render("prod", &["--set-string", "secrets.telegramBotToken=other"]);
    let pg_pw = render("prod", &["--set-string", "secrets.postgresPassword=other"]);
    let redis_pw = render("prod", &["--set-string", "secrets.redisPassword=other"]);
    for name in ["thebot-postgresql", "thebot-redis"] {
        assert!(sum(&base, name).is_string(), "{name}");
        assert_eq!(sum(&base, name), sum(&token, name), "{name}");
    }
    assert_ne!(
        sum(&base, "thebot-postgresql"),
        sum(&pg_pw, "thebot-postgresql")
    );
    assert_eq!(sum(&base, "thebot-redis"), sum(&pg_pw, "thebot-redis"));
    assert_ne!(sum(&base, "thebot-redis"), sum(&redis_pw, "thebot-redis"));
    assert_eq!(
        sum(&base, "thebot-postgresql"),
        sum(&redis_pw, "thebot-postgresql")
    );
}

#[test]
fn passwords_with_url_characters_are_encoded_in_urls() {
    let objects = render(
        "dev",
        &["--set-string", "secrets.postgresPassword=p@ss:w/rd"],
    );
    let secret = find(&objects, "Secret", "thebot-dev-secret");
    assert_eq!(secret_value(secret, "POSTGRES_PASSWORD"), "p@ss:w/rd");
    assert!(
        secret_value(secret, "DATABASE_URL").contains(":p%40ss%3Aw%2Frd@thebot-dev-postgresql:")
    );
}

#[test]
fn dev_and_staging_render_placeholders_for_generated_secrets() {
    let objects = render("dev", &[]);
    let secret = find(&objects, "Secret", "thebot-dev-secret");
    assert_eq!(
        secret_value(secret, "POSTGRES_PASSWORD"),
        "generated-at-install"
    );
    assert_eq!(secret_value(secret, "TELEGRAM_BOT_TOKEN"), "");
}

#[test]
fn an_existing_secret_replaces_the_rendered_one() {
    let objects = render("prod", &["--set", "secrets.existingSecret=vault-thebot"]);
    assert!(!objects.iter().any(|o| o["kind"] == "Secret"));
    let backend = find(&objects, "Deployment", "thebot-backend");
    assert_eq!(
        containers(backend)[0]["envFrom"][1]["secretRef"]["name"],
        "vault-thebot"
    );
}

#[test]
fn checksum_rolls_consumers_on_config_change() {
    let sum = |objects: &[Value], kind: &str, name: &str| {
        find(objects, kind, name)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .map(str::to_string)
    };
    let a = render("dev", &[]);
    let b = render("dev", &["--set", "app.logLevel=WARNING"]);
    assert!(sum(&a, "Deployment", "thebot-dev-backend").is_some());
    assert_ne!(
        sum(&a, "Deployment", "thebot-dev-backend"),
        sum(&b, "Deployment", "thebot-dev-backend")
    );
    assert_ne!(
        sum(&a, "Deployment", "thebot-dev-celery-beat"),
        sum(&b, "Deployment", "thebot-dev-celery-beat")
    );
    assert_eq!(
        sum(&a, "StatefulSet", "thebot-dev-postgresql"),
        sum(&b, "StatefulSet", "thebot-dev-postgresql")
    );
    let jobs = |o: &[Value]| {
        o.iter()
            .filter(|x| x["kind"] == "Job")
            .map(|x| x["metadata"]["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        jobs(&a),
        jobs(&b),
        "a config change does not re-run hook Jobs"
    );
    let c = render("dev", &["--set", "images.backend.tag=1.5.0"]);
    assert_ne!(jobs(&a), jobs(&c), "an image change runs new hook Jobs");
}

#[test]
fn dev_ingress_does_not_force_ssl_and_prod_has_tls() {
    let dev = render("dev", &[]);
    let ing = find(&dev, "Ingress", "thebot-dev-ingress");
    assert_eq!(
        ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"],
        "false"
    );
    assert!(ing["spec"].get("tls").is_none());
    let prod = render("prod", &[]);
    let ing = find(&prod, "Ingress", "thebot-ingress");
    assert_eq!(ing["spec"]["tls"][0]["hosts"][0], "thebot.example.com");
    assert_eq!(ing["spec"]["rules"][0]["host"], "thebot.example.com");
}

#[test]
fn names_follow_the_release() {
    let objects = render("dev", &["--name", "other", "-n", "ns2"]);
    for o in &objects {
        assert!(
            o["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("other-")
        );
        assert_eq!(o["metadata"]["namespace"], "ns2");
    }
}

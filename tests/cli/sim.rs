//! A kubesim per test, and the real binary pointed at it by KUBECONFIG.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{Output, TempDir};

/// One simulated cluster and a working directory holding its kubeconfig.
pub struct Sim {
    pub instance: kubesim::Instance,
    pub dir: TempDir,
    pub kubeconfig: String,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(kubesim::Options::default())
    }

    /// A kubesim with request faults (`kubesim::Fault::parse` syntax).
    /// A simulator with the dev platform installed and ready.
    pub fn with_dev() -> Sim {
        let sim = Sim::start();
        sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"])
            .ok();
        sim
    }

    pub fn with_faults(specs: &[&str]) -> Sim {
        Sim::start_with(kubesim::Options {
            faults: specs
                .iter()
                .map(|s| kubesim::Fault::parse(s).expect("fault spec"))
                .collect(),
            ..Default::default()
        })
    }

    pub fn start_with(opts: kubesim::Options) -> Sim {
        let instance = kubesim::spawn_with(opts).expect("kubesim starts");
        let dir = TempDir::new();
        let kubeconfig = dir.write("kubeconfig", &instance.kubeconfig());
        Sim {
            instance,
            dir,
            kubeconfig,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_thebot"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs thebot against this cluster.
    pub fn thebot(&self, args: &[&str]) -> Output {
        self.thebot_env(args, &[])
    }

    pub fn thebot_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("thebot runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts thebot in the background with piped stderr.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("thebot starts")
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::from_yaml(&self.instance.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// Sends a request with a JSON body (or none); returns (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        Self::rt().block_on(async {
            let client = self.client().await;
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("Content-Type", content_type)
                .header("Accept", "application/json")
                .body(
                    body.map(|b| serde_json::to_vec(b).unwrap())
                        .unwrap_or_default(),
                )
                .unwrap();
            let resp = client.send(req.map(Into::into)).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect_bytes().await.unwrap();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    /// GET that must succeed.
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, "application/json", None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The items of a list.
    pub fn list(&self, path: &str) -> Vec<Value> {
        self.get(path)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Server-side apply as another field manager.
    pub fn apply_as(&self, manager: &str, path: &str, body: &Value, force: bool) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let full = format!(
            "{path}{sep}fieldManager={manager}{}",
            if force { "&force=true" } else { "" }
        );
        self.request("PATCH", &full, "application/apply-patch+yaml", Some(body))
    }

    /// name -> resourceVersion of every object of the release's kinds in `ns`.
    pub fn resource_versions(&self, ns: &str) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for (kind, path) in [
            ("ConfigMap", format!("/api/v1/namespaces/{ns}/configmaps")),
            ("Secret", format!("/api/v1/namespaces/{ns}/secrets")),
            ("Service", format!("/api/v1/namespaces/{ns}/services")),
            (
                "Deployment",
                format!("/apis/apps/v1/namespaces/{ns}/deployments"),
            ),
            (
                "StatefulSet",
                format!("/apis/apps/v1/namespaces/{ns}/statefulsets"),
            ),
            ("Job", format!("/apis/batch/v1/namespaces/{ns}/jobs")),
            (
                "NetworkPolicy",
                format!("/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"),
            ),
            (
                "Ingress",
                format!("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"),
            ),
            (
                "PersistentVolumeClaim",
                format!("/api/v1/namespaces/{ns}/persistentvolumeclaims"),
            ),
            (
                "ServiceAccount",
                format!("/api/v1/namespaces/{ns}/serviceaccounts"),
            ),
        ] {
            for item in self.list(&path) {
                let labels = &item["metadata"]["labels"];
                if labels["app.kubernetes.io/managed-by"] != "thebot" {
                    continue;
                }
                out.insert(
                    format!("{kind}/{}", item["metadata"]["name"].as_str().unwrap()),
                    item["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
        out
    }

    /// `thebot history -o json` of a namespace's release: (revision, status, description).
    pub fn history(&self, namespace: &str) -> Vec<(u64, String, String)> {
        let out = self.thebot(&["history", "-n", namespace, "-o", "json"]);
        serde_json::from_str::<Value>(out.ok())
            .expect("history is JSON")
            .as_array()
            .expect("history is a list")
            .iter()
            .map(|e| {
                (
                    e["revision"].as_u64().unwrap_or(0),
                    e["status"].as_str().unwrap_or("").to_string(),
                    e["description"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

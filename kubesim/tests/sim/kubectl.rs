//! The real kubectl against kubesim, in a temporary HOME so that its
//! discovery cache starts empty. Skipped loudly when kubectl is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A temporary HOME with the instance's kubeconfig.
struct Kubectl {
    bin: PathBuf,
    home: PathBuf,
    _sim: kubesim::Instance,
}

impl Kubectl {
    fn start() -> Option<Kubectl> {
        let bin = std::env::var_os("KUBECTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
        if !bin.exists() {
            eprintln!(
                "SKIP: kubectl not found at {} (set KUBECTL to run the kubectl tests)",
                bin.display()
            );
            return None;
        }
        let sim = kubesim::spawn().expect("kubesim starts");
        let home = std::env::temp_dir().join(format!(
            "kubesim-kubectl-{}-{}",
            std::process::id(),
            sim.port
        ));
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        std::fs::write(home.join(".kube/config"), sim.kubeconfig()).unwrap();
        Some(Kubectl {
            bin,
            home,
            _sim: sim,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("KUBECONFIG", self.home.join(".kube/config"))
            .env("PATH", "/usr/bin:/bin")
            .current_dir(&self.home);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kubectl runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p: &Path = &self.home.join(name);
        std::fs::write(p, text).unwrap();
        p.display().to_string()
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: default\ndata:\n  a: b\n";

#[test]
fn get_create_delete() {
    let Some(k) = Kubectl::start() else { return };
    let ns = k.ok(&["get", "namespaces", "-o", "name"]);
    assert!(ns.contains("namespace/kube-system"), "{ns}");
    // Server-side printing: the real columns.
    let table = k.ok(&["get", "namespaces"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "AGE"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("default") && l.contains("Active"))
    );
    let file = k.write("cm.yaml", CONFIGMAP);
    assert_eq!(
        k.ok(&["create", "-f", &file]).trim(),
        "configmap/demo created"
    );
    let json = k.ok(&["get", "configmap", "demo", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["data"]["a"], "b");
    let again = k.run(&["create", "-f", &file]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("AlreadyExists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        k.ok(&["delete", "configmap", "demo"]).trim(),
        "configmap \"demo\" deleted"
    );
    let gone = k.run(&["get", "configmap", "demo"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
}

#[test]
fn strict_validation_rejects_unknown_fields() {
    let Some(k) = Kubectl::start() else { return };
    let file = k.write("bad.yaml", &format!("{CONFIGMAP}bogus: 1\n"));
    let out = k.run(&["create", "-f", &file]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("strict decoding error: unknown field \"bogus\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn get_watch_sees_changes() {
    let Some(k) = Kubectl::start() else { return };
    let mut watch = k
        .command(&["get", "configmaps", "-w", "--request-timeout=10s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl get -w starts");
    std::thread::sleep(Duration::from_millis(700));
    let file = k.write("cm.yaml", CONFIGMAP);
    k.ok(&["create", "-f", &file]);
    k.ok(&["delete", "-f", &file]);
    std::thread::sleep(Duration::from_millis(700));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("kube-root-ca.crt")),
        "{text}"
    );
    assert!(
        lines.iter().filter(|l| l.starts_with("demo ")).count() >= 2,
        "created and deleted: {text}"
    );
}

#[test]
fn typed_create_commands_send_protobuf() {
    let Some(k) = Kubectl::start() else { return };
    assert_eq!(
        k.ok(&["create", "namespace", "team"]).trim(),
        "namespace/team created"
    );
    k.ok(&[
        "create",
        "configmap",
        "c",
        "-n",
        "team",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "team",
        "--from-literal=x=y",
    ]);
    let data = k.ok(&[
        "get",
        "secret",
        "s",
        "-n",
        "team",
        "-o",
        "jsonpath={.data.x}",
    ]);
    assert_eq!(data, "eQ==");
    k.ok(&["delete", "namespace", "team"]);
    let gone = k.run(&["get", "namespace", "team"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
}

const SSA_MANIFEST: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-demo
  namespace: default
data:
  a: \"1\"
  b: \"1\"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa-web
  namespace: default
spec:
  selector:
    matchLabels: {app: ssa-web}
  template:
    metadata:
      labels: {app: ssa-web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          limits: {cpu: 1000m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: ssa-web
  namespace: default
spec:
  selector: {app: ssa-web}
  ports:
  - port: 80
";

/// Server-side apply through the real kubectl (issue 5): managers,
/// conflicts, forcing, `diff --server-side`, and no-op re-applies.
#[test]
fn server_side_apply_with_kubectl() {
    let Some(k) = Kubectl::start() else { return };
    let m = k.write("m.yaml", SSA_MANIFEST);
    let out = k.ok(&["apply", "--server-side", "-f", &m]);
    assert!(
        out.contains("configmap/ssa-demo serverside-applied"),
        "{out}"
    );
    assert!(
        out.contains("deployment.apps/ssa-web serverside-applied"),
        "{out}"
    );
    let rvs = || {
        k.ok(&[
            "get",
            "-f",
            &m,
            "-o",
            "jsonpath={range .items[*]}{.metadata.resourceVersion} {end}",
        ])
    };
    // The controllers roll the Deployment out; wait until they are done.
    let mut before = rvs();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        let now = rvs();
        if now == before {
            break;
        }
        before = now;
    }
    let cm = k.ok(&[
        "get",
        "configmap",
        "ssa-demo",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(cm.contains("manager: kubectl"), "{cm}");
    assert!(cm.contains("operation: Apply"), "{cm}");
    let d = k.ok(&["get", "deployment", "ssa-web", "-o", "yaml"]);
    assert!(d.contains("cpu: \"1\""), "quantities are canonical: {d}");

    k.ok(&["apply", "--server-side", "-f", &m]);
    assert_eq!(rvs(), before, "a re-apply writes nothing");

    let other = k.write(
        "other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-demo\n  namespace: default\ndata:\n  a: \"2\"\n",
    );
    let out = k.run(&[
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        &other,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conflict with \"kubectl\": .data.a"), "{err}");
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "--force-conflicts",
        "-f",
        &other,
    ]);
    let a = k.ok(&["get", "configmap", "ssa-demo", "-o", "jsonpath={.data.a}"]);
    assert_eq!(a, "2");

    let changed = k.write(
        "changed.yaml",
        &SSA_MANIFEST.replace("b: \"1\"", "b: \"3\""),
    );
    let out = k.run(&["diff", "--server-side", "--force-conflicts", "-f", &changed]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = String::from_utf8_lossy(&out.stdout);
    let changes: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .filter(|l| {
            !l.contains("generation") && !l.contains("resourceVersion") && !l.contains("time:")
        })
        .collect();
    assert!(
        changes.contains(&"-  b: \"1\"") && changes.contains(&"+  b: \"3\""),
        "{diff}"
    );
}

const WORKLOADS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: default
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: pg
        image: postgres:16
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: default
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: [sh, -c, echo done]
";

#[test]
fn rollout_status_wait_and_logs_follow_the_controllers() {
    let Some(k) = Kubectl::start() else { return };
    let f = k.write("workloads.yaml", WORKLOADS);
    k.ok(&["apply", "-f", &f]);
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let out = k.ok(&["rollout", "status", "statefulset/db", "--timeout=60s"]);
    assert!(
        out.contains("partitioned roll out complete") || out.contains("rolling update complete"),
        "{out}"
    );
    let out = k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "--timeout=60s",
    ]);
    assert!(out.contains("job.batch/once condition met"), "{out}");
    let out = k.ok(&["logs", "job/once"]);
    assert!(out.contains("echo done"), "{out}");
    let out = k.ok(&["logs", "deployment/web", "--tail=1", "--timestamps"]);
    assert!(out.contains("ready to accept connections"), "{out}");
    let out = k.ok(&["get", "pods", "-l", "app=db"]);
    assert!(out.contains("db-0") && out.contains("Running"), "{out}");
}

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

//! Runs the real binary in a temporary directory and captures its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "thebot-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A directory `name` holding the platform's templates plus `extra`
    /// (file name, template text); returns its path for `--manifests`.
    pub fn manifests(&self, name: &str, extra: &[(&str, &str)]) -> String {
        let m = self.0.join(name);
        std::fs::create_dir_all(&m).unwrap();
        for entry in std::fs::read_dir(repo().join("manifests")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), m.join(entry.file_name())).unwrap();
        }
        for (file, text) in extra {
            std::fs::write(m.join(file), text).unwrap();
        }
        m.display().to_string()
    }

    /// Writes a file and returns its path as a string.
    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success, stderr:\n{}", self.stderr);
        &self.stdout
    }

    /// Asserts exit code `code` and that stderr contains every needle.
    pub fn fails_with(&self, code: i32, needles: &[&str]) -> &Output {
        assert_eq!(
            self.code, code,
            "exit code; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// Runs `thebot ARGS` in a fresh temporary directory.
pub fn thebot(args: &[&str]) -> Output {
    let dir = TempDir::new();
    thebot_in(dir.path(), args)
}

/// Runs `thebot ARGS` in `dir`.
pub fn thebot_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_thebot"))
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("thebot runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// The repository root (for releases/prod-secrets.example.yaml).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `template ENV` (prod with the example secrets) parsed into objects.
pub fn render(env: &str, extra: &[&str]) -> Vec<Value> {
    let secrets = repo()
        .join("releases/prod-secrets.example.yaml")
        .display()
        .to_string();
    let mut args = vec!["template", env];
    if env == "prod" {
        args.extend(["-f", secrets.as_str()]);
    }
    args.extend(extra);
    let out = thebot(&args);
    parse(out.ok())
}

/// Parses a rendered stream.
pub fn parse(stream: &str) -> Vec<Value> {
    thebot::yaml::parse_documents(stream)
        .expect("the render is valid YAML")
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect()
}

/// The one object of `kind` named `name`.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in the render"))
}

/// Whether an object of `kind` named `name` exists.
pub fn has(objects: &[Value], kind: &str, name: &str) -> bool {
    objects
        .iter()
        .any(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// Decodes a Secret's data key.
pub fn secret_value(secret: &Value, key: &str) -> String {
    use base64::Engine as _;
    let raw = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("Secret lacks {key}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap(),
    )
    .unwrap()
}

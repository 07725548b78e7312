//! The `kubesim` binary: exactly one stdout line, a usable kubeconfig, and
//! exit on stdin EOF or SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start(dir: &std::path::Path) -> (std::process::Child, String) {
    std::fs::create_dir_all(dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--port", "0", "--kubeconfig-out"])
        .arg(dir.join("kubeconfig"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading in the background: nothing else may be printed.
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    std::mem::forget(rest);
    (child, line)
}

fn wait_exit(child: &mut std::process::Child) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn tmp(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kubesim-bin-{tag}-{}", std::process::id()))
}

#[test]
fn prints_one_line_and_exits_when_stdin_closes() {
    let dir = tmp("stdin");
    let (mut child, line) = start(&dir);
    let url = line
        .strip_prefix("kubesim listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .trim();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let kubeconfig = std::fs::read_to_string(dir.join("kubeconfig")).unwrap();
    assert!(kubeconfig.contains(&format!("server: {url}")));
    assert!(kubeconfig.contains("certificate-authority-data: "));
    assert!(kubeconfig.contains("token: "));
    drop(child.stdin.take());
    assert!(wait_exit(&mut child), "still running after stdin closed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exits_on_sigterm() {
    let dir = tmp("term");
    let (mut child, _) = start(&dir);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_exit(&mut child), "still running after SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

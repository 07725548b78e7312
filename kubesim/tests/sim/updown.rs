//! `kubesim up` / `kubesim down` (issue 18): a background or foreground
//! simulator with a stable kubeconfig and a recorded pid. Every test has
//! its own XDG_STATE_HOME and HOME.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::client::Client;

/// A private state directory and home, removed when dropped.
struct Home(PathBuf);

impl Home {
    fn new(tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("kubesim-updown-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Home(dir)
    }

    fn state(&self) -> PathBuf {
        self.0.join("state")
    }

    fn kubesim_dir(&self) -> PathBuf {
        self.state().join("kubesim")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kubesim"));
        c.args(args)
            .env("XDG_STATE_HOME", self.state())
            .env("HOME", self.0.join("home"))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("kubesim runs"))
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Never leave a simulator behind, whatever the test did.
        if let Some(pid) = read_pid(&self.kubesim_dir()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

fn read_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("kubesim.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a live process (an unreaped zombie has exited).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// A client for the instance a kubeconfig names (raw HTTPS, its CA).
fn client(kubeconfig: &Path) -> Client {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .unwrap_or_else(|| panic!("kubeconfig lacks {k}:\n{text}"))
            .trim()
            .to_string()
    };
    let port: u16 = field("server:")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    Client::from_parts(
        port,
        &field("token:"),
        &decode_base64(&field("certificate-authority-data:")),
    )
}

fn decode_base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    String::from_utf8(out).unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn up_runs_in_the_background_and_down_stops_it() {
    let home = Home::new("bg");
    let kubeconfig = home.kubesim_dir().join("kubeconfig");

    let up = home.run(&["up"]);
    assert_eq!(up.code, 0, "stderr:\n{}", up.stderr);
    assert_eq!(
        up.stdout,
        format!("export KUBECONFIG={}\n", kubeconfig.display())
    );
    assert!(
        up.stderr.contains("running in the background (pid "),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("kubesim down"), "{}", up.stderr);

    // The kubeconfig is private (it holds the token) and ordinary: its
    // context's namespace is default.
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(text.contains("    namespace: default\n"), "{text}");
    assert!(text.contains("current-context: kubesim"), "{text}");
    let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "kubeconfig mode {mode:o}");

    // `up` returned: the recorded pid is a live simulator that answers.
    let pid = read_pid(&home.kubesim_dir()).expect("a pid file");
    assert!(alive(pid));
    let c = client(&kubeconfig);
    let ns = c.get("/api/v1/namespaces/default");
    assert_eq!(ns.status, 200, "{}", ns.text());
    assert_eq!(ns.json()["metadata"]["name"], "default");

    // A second `up` finds it, says so, and prints the same line.
    let again = home.run(&["up"]);
    assert_eq!(again.code, 0, "stderr:\n{}", again.stderr);
    assert_eq!(again.stdout, up.stdout);
    assert!(
        again
            .stderr
            .contains(&format!("already running (pid {pid})")),
        "{}",
        again.stderr
    );
    assert_eq!(read_pid(&home.kubesim_dir()), Some(pid));

    let down = home.run(&["down"]);
    assert_eq!(down.code, 0, "stderr:\n{}", down.stderr);
    assert!(
        down.stderr.contains(&format!("stopped (pid {pid})")),
        "{}",
        down.stderr
    );
    assert_eq!(down.stdout, "");
    assert!(!alive(pid), "pid {pid} still runs after down");
    assert!(!home.kubesim_dir().join("kubesim.pid").exists());

    let none = home.run(&["down"]);
    assert_eq!(none.code, 0, "stderr:\n{}", none.stderr);
    assert!(none.stderr.contains("none running"), "{}", none.stderr);
}

#[test]
fn up_in_the_foreground_serves_until_down_and_ignores_stdin() {
    let home = Home::new("fg");
    let mut child = home
        .command(&["up", "--foreground", "--speed", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kubeconfig = home.kubesim_dir().join("kubeconfig");
    assert_eq!(
        line,
        format!("export KUBECONFIG={}\n", kubeconfig.display())
    );
    // This process is the simulator, and stdin at /dev/null did not stop it.
    assert_eq!(read_pid(&home.kubesim_dir()), Some(child.id()));
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "exited on stdin EOF");
    let clock = client(&kubeconfig).get("/_sim/clock").json();
    assert_eq!(clock["speed"], 5.0, "{clock}");

    let down = home.run(&["down"]);
    assert_eq!(down.code, 0, "stderr:\n{}", down.stderr);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!home.kubesim_dir().join("kubesim.pid").exists());
}

#[test]
fn a_stale_pid_file_is_said_and_replaced() {
    let home = Home::new("stale");
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::create_dir_all(home.kubesim_dir()).unwrap();
    std::fs::write(home.kubesim_dir().join("kubesim.pid"), format!("{dead}\n")).unwrap();

    let down = home.run(&["down"]);
    assert_eq!(down.code, 0, "stderr:\n{}", down.stderr);
    assert!(
        down.stderr
            .contains(&format!("none running (the recorded pid {dead} has exited")),
        "{}",
        down.stderr
    );
    assert!(!home.kubesim_dir().join("kubesim.pid").exists());

    std::fs::write(home.kubesim_dir().join("kubesim.pid"), format!("{dead}\n")).unwrap();
    let up = home.run(&["up"]);
    assert_eq!(up.code, 0, "stderr:\n{}", up.stderr);
    let pid = read_pid(&home.kubesim_dir()).unwrap();
    assert_ne!(pid, dead);
    assert_eq!(home.run(&["down"]).code, 0);
    wait_until("the simulator exits", || !alive(pid));
}

#[test]
fn without_xdg_state_home_the_state_is_under_home() {
    let home = Home::new("home");
    let up = Run::from(
        home.command(&["up"])
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap(),
    );
    assert_eq!(up.code, 0, "stderr:\n{}", up.stderr);
    let dir = home.0.join("home/.local/state/kubesim");
    assert_eq!(
        up.stdout,
        format!("export KUBECONFIG={}\n", dir.join("kubeconfig").display())
    );
    let pid = read_pid(&dir).expect("pid file under HOME");
    let down = Run::from(
        home.command(&["down"])
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap(),
    );
    assert_eq!(down.code, 0, "stderr:\n{}", down.stderr);
    assert!(!alive(pid));
}

#[test]
fn up_refuses_serve_mode_flags_and_bad_values() {
    let home = Home::new("bad");
    let r = home.run(&["up", "--kubeconfig-out", "/tmp/x"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--kubeconfig-out is for the serve mode only"),
        "{}",
        r.stderr
    );
    let r = home.run(&["up", "--speed", "fast"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--speed"), "{}", r.stderr);
    let r = home.run(&["down", "now"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("takes no arguments"), "{}", r.stderr);
    // Nothing was started.
    assert!(!home.kubesim_dir().join("kubesim.pid").exists());
}

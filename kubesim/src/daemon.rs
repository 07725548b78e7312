//! `kubesim up` and `kubesim down`: one simulator per user for trying
//! commands by hand, with a stable kubeconfig path.
//!
//! Everything lives in the state directory, `$XDG_STATE_HOME/kubesim/`
//! (else `~/.local/state/kubesim/`): `kubeconfig` (context namespace
//! `default`, mode 0600: it holds the token), `kubesim.pid`, and
//! `kubesim.log` (the background instance's stderr).
//!
//! - `up` prints exactly one stdout line, `export KUBECONFIG=PATH` (so
//!   `eval "$(kubesim up)"` works), and a human line on stderr. By default
//!   it starts the instance in the background: a copy of itself in a new
//!   session (so the terminal closing does not stop it), stdin at
//!   /dev/null and never read, stderr into the log; it returns once the
//!   instance answers. `--foreground` serves in this process until Ctrl-C,
//!   SIGTERM or SIGHUP. Both ignore stdin. The options are the serve
//!   mode's but for `--kubeconfig-out` and `--ignore-stdin`; `--speed`
//!   defaults to 20 (the library's default), not 1. When one is already
//!   running, `up` says so on stderr, prints the export line and exits 0.
//! - `down` sends SIGTERM to the recorded pid, waits for it to exit (10 s,
//!   then an error naming the pid) and removes the pid file. When none is
//!   running it says so and exits 0: `down` makes sure none runs.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::{Exit, USAGE};

/// The hidden flag the background copy runs with.
const DETACHED: &str = "--detached";
/// How long `down` waits after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(10);

struct Paths {
    dir: PathBuf,
    kubeconfig: PathBuf,
    pid: PathBuf,
    log: PathBuf,
}

impl Paths {
    fn find() -> Result<Paths, String> {
        let base = match std::env::var_os("XDG_STATE_HOME") {
            // The XDG spec: a relative path is invalid and ignored.
            Some(x) if Path::new(&x).is_absolute() => PathBuf::from(x),
            _ => match std::env::var_os("HOME") {
                Some(h) if !h.is_empty() => PathBuf::from(h).join(".local/state"),
                _ => {
                    return Err(
                        "neither XDG_STATE_HOME nor HOME is set: cannot choose where to keep the kubeconfig and pid file"
                            .into(),
                    );
                }
            },
        };
        let dir = base.join("kubesim");
        Ok(Paths {
            kubeconfig: dir.join("kubeconfig"),
            pid: dir.join("kubesim.pid"),
            log: dir.join("kubesim.log"),
            dir,
        })
    }

    /// The pid in the pid file when that process is a live kubesim; a
    /// stale pid file is removed.
    fn running(&self) -> Option<u32> {
        let text = fs::read_to_string(&self.pid).ok()?;
        match text.trim().parse::<u32>() {
            Ok(pid) if alive(pid) && is_kubesim(pid) => Some(pid),
            _ => {
                let _ = fs::remove_file(&self.pid);
                None
            }
        }
    }

    fn export_line(&self) -> String {
        format!(
            "export KUBECONFIG={}",
            shell_quote(&self.kubeconfig.display().to_string())
        )
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("kubesim: {msg}");
    ExitCode::from(1)
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(2)
}

/// `kubesim up [--foreground] [OPTIONS]`.
pub fn up(args: Vec<String>) -> ExitCode {
    let mut foreground = false;
    let mut detached = false;
    let mut rest = Vec::new();
    for a in args {
        match a.as_str() {
            "--foreground" => foreground = true,
            DETACHED => detached = true,
            "--kubeconfig-out" | "--ignore-stdin" => {
                return usage(format!(
                    "kubesim up: {a} is for the serve mode only (up writes its kubeconfig under the state directory and never reads stdin)\n{USAGE}"
                ));
            }
            _ => rest.push(a),
        }
    }
    let mut opts = match crate::parse(rest.clone().into_iter()) {
        Ok(a) => a.opts,
        Err(e) => return usage(e),
    };
    // For trying commands by hand: pods are Ready 50 ms after they are
    // scheduled, unless --speed says otherwise.
    if !rest.iter().any(|a| a == "--speed") {
        opts.speed = kubesim::DEFAULT_SPEED;
    }
    let paths = match Paths::find() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if let Err(e) = fs::create_dir_all(&paths.dir) {
        return fail(format!("cannot create {}: {e}", paths.dir.display()));
    }
    if let Some(pid) = paths.running() {
        eprintln!("kubesim: already running (pid {pid}); stop it with: kubesim down");
        println!("{}", paths.export_line());
        return ExitCode::SUCCESS;
    }
    if foreground || detached {
        serve(opts, &paths, detached)
    } else {
        start_background(&rest, &paths)
    }
}

/// Starts a detached copy (`up --detached ...`) and returns once it has
/// printed its export line.
fn start_background(rest: &[String], paths: &Paths) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot find my own executable: {e}")),
    };
    let log = match fs::File::create(&paths.log) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot write {}: {e}", paths.log.display())),
    };
    let mut cmd = Command::new(exe);
    cmd.arg("up")
        .arg(DETACHED)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot start the background kubesim: {e}")),
    };
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    if matches!(read, Some(Ok(n)) if n > 0) && line.starts_with("export KUBECONFIG=") {
        print!("{line}");
        let _ = std::io::stdout().flush();
        eprintln!(
            "kubesim: running in the background (pid {}, log {}); stop it with: kubesim down",
            child.id(),
            paths.log.display()
        );
        return ExitCode::SUCCESS;
    }
    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
    let log = fs::read_to_string(&paths.log).unwrap_or_default();
    fail(format!(
        "the background kubesim did not start ({status}); its log, {}:\n{}",
        paths.log.display(),
        log.trim_end()
    ))
}

/// Serves in this process: claims the pid file, writes the kubeconfig,
/// prints the export line, and cleans up on the way out.
fn serve(opts: kubesim::Options, paths: &Paths, detached: bool) -> ExitCode {
    let me = std::process::id();
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&paths.pid)
    {
        Ok(mut f) => {
            if let Err(e) = writeln!(f, "{me}") {
                let _ = fs::remove_file(&paths.pid);
                return fail(format!("cannot write {}: {e}", paths.pid.display()));
            }
        }
        // Another `up` won the race since the check.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "kubesim: already running (pid file {}); stop it with: kubesim down",
                paths.pid.display()
            );
            println!("{}", paths.export_line());
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(format!("cannot write {}: {e}", paths.pid.display())),
    }
    let code = serve_claimed(opts, paths, detached);
    // Remove the pid file only while it is still ours.
    if fs::read_to_string(&paths.pid).is_ok_and(|t| t.trim() == me.to_string()) {
        let _ = fs::remove_file(&paths.pid);
    }
    code
}

fn serve_claimed(opts: kubesim::Options, paths: &Paths, detached: bool) -> ExitCode {
    let instance = match kubesim::spawn_with(opts) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let kubeconfig = kubesim::render_kubeconfig(
        &instance.url,
        &instance.ca_pem,
        &instance.token,
        Some("default"),
    );
    if let Err(e) = write_private(&paths.kubeconfig, &kubeconfig) {
        return fail(format!("cannot write {}: {e}", paths.kubeconfig.display()));
    }
    println!("{}", paths.export_line());
    let _ = std::io::stdout().flush();
    if detached {
        eprintln!(
            "kubesim: listening on {} (pid {})",
            instance.url,
            std::process::id()
        );
    } else {
        eprintln!(
            "kubesim: listening on {} (pid {}); Ctrl-C or kubesim down stops it",
            instance.url,
            std::process::id()
        );
    }
    let exit = if detached {
        Exit::SignalsNoHangup
    } else {
        Exit::SignalsOrHangup
    };
    if let Err(e) = crate::serve_until(exit) {
        return fail(e);
    }
    drop(instance);
    eprintln!("kubesim: stopped");
    ExitCode::SUCCESS
}

/// Writes `text` to `path` (mode 0600) through a temporary file, so that
/// a reader never sees half a kubeconfig.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    drop(f);
    fs::rename(&tmp, path)
}

/// `kubesim down`.
pub fn down(args: Vec<String>) -> ExitCode {
    if let Some(a) = args.first() {
        if a == "-h" || a == "--help" {
            return usage(USAGE);
        }
        return usage(format!(
            "kubesim down takes no arguments (got {a})\n{USAGE}"
        ));
    }
    let paths = match Paths::find() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let recorded = fs::read_to_string(&paths.pid).ok();
    let Some(pid) = paths.running() else {
        match recorded {
            Some(text) => eprintln!(
                "kubesim: none running (the recorded pid {} has exited; removed the stale {})",
                text.trim(),
                paths.pid.display()
            ),
            None => eprintln!(
                "kubesim: none running (no {}): nothing to stop",
                paths.pid.display()
            ),
        }
        return ExitCode::SUCCESS;
    };
    // SAFETY: kill has no memory effects; the pid was checked to be a
    // live kubesim just now.
    if unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) } != 0 {
        let e = std::io::Error::last_os_error();
        return fail(format!("cannot stop pid {pid}: {e}"));
    }
    let t = Instant::now();
    while alive(pid) {
        if t.elapsed() > STOP_WAIT {
            return fail(format!(
                "pid {pid} is still running {} s after SIGTERM; stop it with: kill -9 {pid}",
                STOP_WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = fs::remove_file(&paths.pid);
    eprintln!("kubesim: stopped (pid {pid})");
    ExitCode::SUCCESS
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(p, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    // Linux: an exited process its parent has not reaped yet is a zombie.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Whether `pid` runs a kubesim binary (so that a reused pid is not
/// signalled). Without /proc this cannot be told, and it is assumed.
fn is_kubesim(pid: u32) -> bool {
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(argv0).contains("kubesim")
        }
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// `s` as one shell word.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(
            shell_quote("/home/a/.local/state/kubesim/kubeconfig"),
            "/home/a/.local/state/kubesim/kubeconfig"
        );
        assert_eq!(shell_quote("/tmp/my dir/k"), "'/tmp/my dir/k'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}

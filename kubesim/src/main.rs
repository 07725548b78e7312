//! The `kubesim` binary.
//!
//! - `kubesim [OPTIONS]` (serve mode, for tests): starts one instance,
//!   writes its kubeconfig, prints exactly one line (`kubesim listening on
//!   https://127.0.0.1:PORT`) and serves until SIGTERM/SIGINT or until its
//!   stdin closes.
//! - `kubesim up [--foreground] [OPTIONS]` / `kubesim down`: one instance
//!   per user with a stable kubeconfig path and a recorded pid, for trying
//!   commands by hand (`src/daemon.rs`).

use std::io::Write;
use std::process::ExitCode;

use tokio::io::AsyncReadExt;

mod daemon;

const USAGE: &str = "usage: kubesim [--port N] [--kubeconfig-out PATH] [--token T] [--read-only-token T] [--speed X] [--no-controllers] [--ignore-stdin] [--log-requests] [--fault SPEC]... [--state FILE]
       kubesim up [--foreground] [--port N] [--token T] [--read-only-token T] [--speed X] [--no-controllers] [--log-requests] [--fault SPEC]... [--state FILE]
       kubesim down";

struct Args {
    opts: kubesim::Options,
    kubeconfig_out: Option<String>,
    ignore_stdin: bool,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        opts: kubesim::Options {
            speed: 1.0,
            ..Default::default()
        },
        kubeconfig_out: None,
        ignore_stdin: false,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--port" => {
                args.opts.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--kubeconfig-out" => args.kubeconfig_out = Some(value("--kubeconfig-out")?),
            "--token" => args.opts.token = Some(value("--token")?),
            "--read-only-token" => args.opts.read_only_token = Some(value("--read-only-token")?),
            "--speed" => {
                args.opts.speed = value("--speed")?
                    .parse()
                    .map_err(|e| format!("--speed: {e}"))?;
                if !(args.opts.speed >= 0.0 && args.opts.speed.is_finite()) {
                    return Err("--speed: must be a number >= 0 (0: manual clock)".into());
                }
            }
            "--no-controllers" => args.opts.controllers = false,
            "--ignore-stdin" => args.ignore_stdin = true,
            "--log-requests" => args.opts.log_requests = true,
            "--state" => args.opts.state = Some(value("--state")?.into()),
            "--fault" => args.opts.faults.push(
                kubesim::Fault::parse(&value("--fault")?).map_err(|e| format!("--fault: {e}"))?,
            ),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("up") => return daemon::up(argv.skip(1).collect()),
        Some("down") => return daemon::down(argv.skip(1).collect()),
        _ => {}
    }
    let args = match parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let instance = match kubesim::spawn_with(args.opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("kubesim: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &args.kubeconfig_out
        && let Err(e) = std::fs::write(path, instance.kubeconfig())
    {
        eprintln!("kubesim: cannot write {path}: {e}");
        return ExitCode::from(1);
    }
    println!("kubesim listening on {}", instance.url);
    let _ = std::io::stdout().flush();
    let exit = if args.ignore_stdin {
        Exit::Signals
    } else {
        Exit::SignalsOrStdinEof
    };
    if let Err(e) = serve_until(exit) {
        eprintln!("kubesim: {e}");
        return ExitCode::from(1);
    }
    drop(instance);
    ExitCode::SUCCESS
}

/// What ends a running kubesim.
#[derive(Clone, Copy, PartialEq)]
enum Exit {
    /// SIGTERM, SIGINT, or EOF on stdin (the serve mode's default).
    SignalsOrStdinEof,
    /// SIGTERM or SIGINT (the serve mode with `--ignore-stdin`).
    Signals,
    /// SIGTERM, SIGINT or SIGHUP (`kubesim up --foreground`: the terminal
    /// closing stops it, and it still removes its pid file).
    SignalsOrHangup,
    /// SIGTERM or SIGINT; SIGHUP is ignored (`kubesim up` in the
    /// background: it outlives the terminal that started it).
    SignalsNoHangup,
}

/// Blocks until `exit` says to stop.
fn serve_until(exit: Exit) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(wait_for_exit(exit));
    // The stdin reader may still be blocked in its thread: do not wait.
    rt.shutdown_background();
    Ok(())
}

async fn wait_for_exit(exit: Exit) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    // Handling SIGHUP replaces its default action (exit without cleanup).
    let mut hup = match exit {
        Exit::SignalsOrStdinEof | Exit::Signals => None,
        Exit::SignalsOrHangup | Exit::SignalsNoHangup => signal(SignalKind::hangup()).ok(),
    };
    let hangup = async {
        loop {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                    if exit != Exit::SignalsNoHangup {
                        return;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    };
    let stdin_closed = async {
        if exit != Exit::SignalsOrStdinEof {
            return std::future::pending::<()>().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        _ = hangup => {}
        _ = stdin_closed => {}
    }
}

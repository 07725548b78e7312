//! The `thebot` binary: parse, run, map the error to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match thebot::cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(thebot::cli::exit_code(&e))
        }
    }
}

/// The error and its causes, each said once: most messages already quote
/// their cause, and `{:#}` would repeat it.
fn message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        // API errors are already described (status, reason, causes) by
        // the messages that wrap them; their Debug-style text adds noise.
        if matches!(
            cause.downcast_ref::<kube::Error>(),
            Some(kube::Error::Api(_))
        ) {
            continue;
        }
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

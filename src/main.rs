//! The `thebot` binary: parse, run, map the error to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match thebot::cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

//! Ctrl-C and SIGTERM: the first one stops the operation so it can mark
//! its revision failed and release the lock; a second one exits at once.

/// Resolves with the signal's name when SIGINT or SIGTERM arrives.
pub async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// While cleanup runs, a second signal exits immediately (code 130).
pub fn exit_on_second_signal() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let name = signal().await;
        eprintln!("error: {name} again: exiting without cleaning up (the lock expires by itself)");
        std::process::exit(130);
    })
}

//! The `-v`/`-vv` diagnostic log. Level 1: one line per API call (method,
//! URL, status, latency). Level 2 adds retries and watch restarts. Never
//! bodies or headers. Lines go to the writer the progress view installs,
//! so they are printed above its bars instead of through them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

type Writer = Box<dyn Fn(&str) + Send + Sync>;
static WRITER: Mutex<Option<Writer>> = Mutex::new(None);

/// `-v` gives 1, `-vv` 2.
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn enabled(level: u8) -> bool {
    level > 0 && LEVEL.load(Ordering::Relaxed) >= level
}

/// Where lines go (None: straight to stderr).
pub fn set_writer(writer: Option<Writer>) {
    *WRITER.lock().unwrap_or_else(|e| e.into_inner()) = writer;
}

/// Logs a line at `level`; the text is only built when it will be shown.
pub fn line(level: u8, text: impl FnOnce() -> String) {
    if !enabled(level) {
        return;
    }
    let text = text();
    match &*WRITER.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(write) => write(&text),
        None => eprintln!("{text}"),
    }
}

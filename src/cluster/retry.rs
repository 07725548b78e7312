//! Retries for requests that are safe to repeat: connection errors and
//! HTTP 500 on GET, server-side apply and precondition-guarded DELETE.
//! kube's own retry layer (429/503 with backoff) stays underneath.

use std::future::Future;
use std::time::Duration;

/// Attempts in all, the first included.
const ATTEMPTS: u32 = 4;

/// Whether an error is worth one more try of an idempotent request.
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Runs `op(attempt)` until it succeeds, fails for good, or runs out of
/// attempts (`attempt` > 0 tells a create that it may have succeeded before).
pub async fn idempotent<T, F, Fut>(mut op: F) -> Result<T, kube::Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 0;
    loop {
        match op(attempt).await {
            Err(e) if attempt + 1 < ATTEMPTS && is_transient(&e) => {
                attempt += 1;
                crate::log::line(2, || {
                    format!("retrying (attempt {}) after: {e}", attempt + 1)
                });
                tokio::time::sleep(Duration::from_millis(150u64 << attempt)).await;
            }
            other => return other,
        }
    }
}

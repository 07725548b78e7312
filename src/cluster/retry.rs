//! Retries for requests that are safe to repeat: connection errors and
//! HTTP 500 on GET, server-side apply and precondition-guarded DELETE.
//!
//! Why not only a tower/kube layer: the HTTP-level retry is kube's own
//! `RetryPolicy` (429, 503, 504 with back-off and Retry-After), mounted
//! through tower's `RetryLayer` inside `LoggedRetry` so `-vv` can say when
//! it retries (`cluster/mod.rs`). A layer sees a request, not what it
//! means. Whether a 500 or a dropped
//! connection may be repeated depends on the operation: an apply or a GET
//! may, a create may only if the caller then treats `409 AlreadyExists` as
//! "my first attempt got through" (the `attempt` argument; test
//! `engine::a_create_whose_answer_was_lost_is_not_done_twice`), and a
//! DELETE only with a precondition. kube offers no per-call retry with
//! that knowledge, so the call sites wrap themselves here (40 lines).

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

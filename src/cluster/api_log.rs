//! Tower middleware for `-v`: each API call as one log line (method, URL,
//! status, latency), and at `-vv` each retry kube's policy decides on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use kube::client::Body;
use kube::client::retry::RetryPolicy;
use tower::retry::Policy;
use tower::{BoxError, Layer, Service};

use crate::log;

/// Logs every request that passes through (each retry attempt included).
#[derive(Clone)]
pub struct ApiLogLayer {
    base: Arc<str>,
}

impl ApiLogLayer {
    /// `server`: the API server URL, prefixed to the request path.
    pub fn new(server: &str) -> ApiLogLayer {
        ApiLogLayer {
            base: server.trim_end_matches('/').into(),
        }
    }
}

impl<S> Layer<S> for ApiLogLayer {
    type Service = ApiLog<S>;

    fn layer(&self, inner: S) -> ApiLog<S> {
        ApiLog {
            inner,
            base: self.base.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ApiLog<S> {
    inner: S,
    base: Arc<str>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> Service<Request<B>> for ApiLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !log::enabled(1) {
            return Box::pin(self.inner.call(req));
        }
        let call = format!("{} {}{}", req.method(), self.base, req.uri());
        let started = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match &result {
                Ok(r) => log::line(1, || format!("{call} {} {ms:.1}ms", r.status().as_u16())),
                Err(e) => log::line(1, || format!("{call} failed after {ms:.1}ms: {e}")),
            }
            result
        })
    }
}

/// kube's server retry policy (429, 503, 504 with back-off and
/// Retry-After), saying at `-vv` when it retries.
#[derive(Clone)]
pub struct LoggedRetry(RetryPolicy);

impl LoggedRetry {
    pub fn server() -> LoggedRetry {
        LoggedRetry(RetryPolicy::server_retry())
    }
}

impl<R> Policy<Request<Body>, Response<R>, BoxError> for LoggedRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut Request<Body>,
        result: &mut Result<Response<R>, BoxError>,
    ) -> Option<Self::Future> {
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        let sleep = self.0.retry(req, result)?;
        log::line(2, || {
            let wait = sleep
                .deadline()
                .saturating_duration_since(tokio::time::Instant::now());
            format!(
                "retrying {} {} after HTTP {} in {:.0}ms",
                req.method(),
                req.uri(),
                status.unwrap_or_default(),
                wait.as_secs_f64() * 1000.0
            )
        });
        Some(sleep)
    }

    fn clone_request(&mut self, req: &Request<Body>) -> Option<Request<Body>> {
        <RetryPolicy as Policy<Request<Body>, Response<R>, BoxError>>::clone_request(
            &mut self.0,
            req,
        )
    }
}

//! HTTP responses: a body that is either complete or streamed (watch), and
//! constructors for JSON, Status errors and plain text.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Bytes, Frame};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// A response body: complete bytes or chunks from a watch task.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(Some(b)) => hyper::body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => hyper::body::SizeHint::with_exact(0),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// A response before it becomes a `hyper::Response`.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

pub const JSON: &str = "application/json";

impl Reply {
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: Body::Full(Some(body.into())),
        }
    }

    pub fn json(status: u16, v: &Value) -> Reply {
        Reply::bytes(
            status,
            JSON,
            serde_json::to_vec(v).expect("JSON serialises"),
        )
    }

    pub fn error(e: &ApiError) -> Reply {
        Reply::json(e.code, &e.to_status())
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply::bytes(status, "text/plain; charset=utf-8", text.to_string())
    }

    /// The Go mux's answer for a path nothing serves.
    pub fn page_not_found() -> Reply {
        Reply::text(404, "404 page not found\n")
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub fn with_warnings(mut self, warnings: &[String]) -> Reply {
        for w in warnings {
            let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
            self.headers
                .push(("Warning", format!("299 - \"{escaped}\"")));
        }
        self
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::error(&e)
    }
}

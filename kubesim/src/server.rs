//! The HTTPS server: accepts TLS connections on the loopback listener,
//! serves HTTP/1.1 with keep-alive, and routes each request through
//! authentication, authorization, the request counter and the handlers.

use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::auth::{self, Attributes};
use crate::control;
use crate::discovery;
use crate::error::ApiError;
use crate::faults::{self, Plan};
use crate::openapi;
use crate::query::Query;
use crate::reply::{Body, Reply};
use crate::router::{self, Route};
use crate::sim::Sim;
use crate::verbs::{self, Call};

/// Largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, sim: Arc<Sim>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sim = sim.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |req| {
                let sim = sim.clone();
                async move { respond(sim, req).await }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn read_body(mut body: Incoming) -> Result<Bytes, ApiError> {
    use hyper::body::Body as _;
    let mut out = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(e)) => return Err(ApiError::bad_request(format!("reading body: {e}"))),
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    out.extend_from_slice(&d);
                    if out.len() > MAX_BODY {
                        return Err(ApiError::new(
                            413,
                            "RequestEntityTooLarge",
                            "the request is too large",
                        ));
                    }
                }
            }
        }
    }
    Ok(Bytes::from(out))
}

/// A fault dropped the connection: hyper closes it without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault")
    }
}

impl std::error::Error for Dropped {}

async fn respond(sim: Arc<Sim>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let (parts, body) = req.into_parts();
    let reply = match read_body(body).await {
        Ok(body) => dispatch(&sim, &parts, body).await,
        Err(e) => Ok(e.into()),
    };
    let reply = match reply {
        Ok(r) => r,
        Err(Dropped) => {
            if sim.log_requests {
                eprintln!("kubesim: {} {} dropped", parts.method, parts.uri);
            }
            return Err(Dropped);
        }
    };
    if sim.log_requests {
        eprintln!("kubesim: {} {} {}", parts.method, parts.uri, reply.status);
    }
    let mut resp = Response::new(reply.body);
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&reply.content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-cache, private"),
    );
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.append(name, v);
        }
    }
    Ok(resp)
}

fn header<'a>(parts: &'a hyper::http::request::Parts, name: &str) -> &'a str {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn dispatch(
    sim: &Arc<Sim>,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<Reply, Dropped> {
    let user = match auth::authenticate(&parts.headers, &sim.tokens) {
        Ok(u) => u,
        Err(e) => return Ok(e.into()),
    };
    let path = parts.uri.path();
    let query = Query::parse(parts.uri.query());
    let route = router::route(path);
    let method_verb = match parts.method {
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "unknown",
    };
    let verb: &'static str = match &route {
        Route::Resource(t) => verbs::verb_of(&parts.method, t, &query),
        _ => method_verb,
    };
    let record = {
        let attrs = match &route {
            Route::Resource(t) => Attributes {
                verb,
                group: t.rt.group,
                resource: match &t.sub {
                    Some(s) => format!("{}/{s}", t.rt.plural),
                    None => t.rt.plural.to_string(),
                },
                namespace: t.namespace.as_deref().or(if t.rt.plural == "namespaces" {
                    t.name.as_deref()
                } else {
                    None
                }),
                name: t.name.as_deref(),
                path,
            },
            _ => Attributes {
                verb: method_verb,
                group: "",
                resource: String::new(),
                namespace: None,
                name: None,
                path,
            },
        };
        if let Err(e) = auth::authorize(&user, &attrs) {
            return Ok(e.into());
        }
        if attrs.resource.is_empty() {
            path.to_string()
        } else {
            attrs.resource.clone()
        }
    };
    let user_agent = header(parts, "user-agent");
    let plan = if matches!(route, Route::Control(_)) {
        Plan::default()
    } else {
        sim.metrics.record(verb, &record, user_agent);
        sim.faults.plan(verb, &record)
    };
    if plan.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(plan.latency_ms)).await;
    }
    if plan.drop_before {
        return Err(Dropped);
    }
    if let Some((code, retry_after)) = plan.status {
        return Ok(faults::status_reply(code, retry_after));
    }
    if plan.gone {
        return Ok(faults::gone_reply(verb == "watch", sim.store().rv()));
    }
    let reply = route_request(sim, parts, route, verb, query, body, user_agent).await;
    if plan.drop_after {
        // Let a streamed answer (watch) go; the client sees no answer.
        return Err(Dropped);
    }
    Ok(match plan.watch_close {
        Some(k) if verb == "watch" => faults::close_after(reply, k),
        _ => reply,
    })
}

async fn route_request(
    sim: &Arc<Sim>,
    parts: &hyper::http::request::Parts,
    route: Route,
    verb: &'static str,
    query: Query,
    body: Bytes,
    user_agent: &str,
) -> Reply {
    let accept = header(parts, "accept");
    let get_only = |r: Reply| {
        if parts.method == Method::GET {
            r
        } else {
            ApiError::method_not_allowed().into()
        }
    };
    match route {
        Route::Version => get_only(Reply::json(200, &discovery::version())),
        Route::Health => get_only(Reply::text(200, "ok")),
        Route::CoreVersions => get_only(match discovery::aggregated_version(accept) {
            Some(v) => discovery::aggregated(true, v),
            None => {
                let addr = sim.address.lock().map(|a| a.clone()).unwrap_or_default();
                Reply::json(200, &discovery::core_versions(&addr))
            }
        }),
        Route::Groups => get_only(match discovery::aggregated_version(accept) {
            Some(v) => discovery::aggregated(false, v),
            None => Reply::json(200, &discovery::group_list()),
        }),
        Route::Group(g) => get_only(Reply::json(200, &discovery::group(&g))),
        Route::Resources { group, version } => get_only(Reply::json(
            200,
            &discovery::resource_list(&group, &version),
        )),
        Route::OpenApiRoot => get_only(Reply::json(200, &openapi::root())),
        Route::OpenApiDoc { group, version } => {
            get_only(match openapi::document(&group, &version) {
                Some(doc) => Reply::json(200, &doc),
                None => Reply::page_not_found(),
            })
        }
        Route::Control(rest) => {
            control::handle(sim, &parts.method, &rest, parts.uri.query(), &body).await
        }
        Route::UnknownResource => ApiError::unknown_resource().into(),
        Route::NotFound => Reply::page_not_found(),
        Route::Resource(t) => {
            let call = Call {
                sim: sim.clone(),
                verb,
                t,
                query,
                body,
                content_type: header(parts, "content-type").to_string(),
                accept: accept.to_string(),
                user_agent: user_agent.to_string(),
            };
            verbs::handle(call).await
        }
    }
}

//! The control endpoint `/_sim/...`, for tests and benchmarks: request
//! counters (`GET`/`DELETE /_sim/requests`), store statistics
//! (`GET /_sim/stats`), and the controllers' virtual clock (`GET
//! /_sim/clock`; `POST /_sim/advance?seconds=N` moves it forward and
//! answers once the controllers have settled), and request faults
//! (`GET`/`POST`/`DELETE /_sim/faults`, `DELETE /_sim/faults/ID`; see
//! `faults.rs`). Not part of the Kubernetes API.

use hyper::Method;
use serde_json::json;

use crate::reply::Reply;
use crate::sim::Sim;

pub async fn handle(
    sim: &Sim,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    match (method, path) {
        (&Method::GET, "faults") => Reply::json(200, &sim.faults.to_json()),
        (&Method::POST, "faults") => match crate::faults::parse_body(body) {
            Ok(rules) => {
                let ids: Vec<u64> = rules.into_iter().map(|f| sim.faults.add(f)).collect();
                let mut all = sim.faults.to_json();
                all["added"] = json!(ids);
                Reply::json(201, &all)
            }
            Err(e) => Reply::json(400, &json!({"message": e})),
        },
        (&Method::DELETE, "faults") => {
            sim.faults.clear(None);
            Reply::json(200, &sim.faults.to_json())
        }
        (&Method::DELETE, p) if p.starts_with("faults/") => {
            match p["faults/".len()..].parse::<u64>() {
                Ok(id) if sim.faults.clear(Some(id)) => Reply::json(200, &sim.faults.to_json()),
                _ => Reply::json(404, &json!({"message": "no such fault"})),
            }
        }
        (&Method::GET, "requests") => Reply::json(200, &sim.metrics.to_json()),
        (&Method::DELETE, "requests") => {
            sim.metrics.reset();
            Reply::json(200, &json!({"total": 0, "requests": []}))
        }
        (&Method::GET, "stats") => {
            let store = sim.store();
            Reply::json(
                200,
                &json!({"objects": store.count(), "resourceVersion": store.rv().to_string()}),
            )
        }
        (&Method::GET, "clock") => match &sim.controllers {
            Some(c) => Reply::json(200, &clock_json(c)),
            None => Reply::json(404, &json!({"message": "controllers are off"})),
        },
        (&Method::POST, "advance") => advance(sim, query).await,
        _ => Reply::page_not_found(),
    }
}

fn clock_json(c: &crate::controllers::Handle) -> serde_json::Value {
    let now = c.clock.now_micros();
    json!({
        "now": crate::controllers::clock::rfc3339_micro(now),
        "speed": c.clock.speed(),
    })
}

/// `POST /_sim/advance?seconds=N` (N may be 0 or fractional).
async fn advance(sim: &Sim, query: Option<&str>) -> Reply {
    let Some(c) = &sim.controllers else {
        return Reply::json(404, &json!({"message": "controllers are off"}));
    };
    let q = crate::query::Query::parse(query);
    let seconds = match q.get("seconds").unwrap_or("0").parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => s,
        _ => {
            return Reply::json(
                400,
                &json!({"message": "seconds must be a number of seconds >= 0"}),
            );
        }
    };
    let micros = (seconds * 1_000_000.0) as i64;
    if !c.advance(micros).await {
        return Reply::json(503, &json!({"message": "the controllers are not running"}));
    }
    Reply::json(200, &clock_json(c))
}

//! The control endpoint `/_sim/...`, for tests and benchmarks: request
//! counters (`GET`/`DELETE /_sim/requests`) and store statistics
//! (`GET /_sim/stats`). Not part of the Kubernetes API.

use hyper::Method;
use serde_json::json;

use crate::reply::Reply;
use crate::sim::Sim;

pub fn handle(sim: &Sim, method: &Method, path: &str) -> Reply {
    match (method, path) {
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
        _ => Reply::page_not_found(),
    }
}

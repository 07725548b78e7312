//! Request counters by verb and resource, read through `/_sim/requests`
//! (benchmarks and tests assert how many calls a client made).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Counts requests per (verb, resource).
#[derive(Debug, Default)]
pub struct Metrics(Mutex<BTreeMap<(String, String), u64>>);

impl Metrics {
    pub fn record(&self, verb: &str, resource: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
    }

    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// `{"total": N, "requests": [{"verb", "resource", "count"}...]}`.
    pub fn to_json(&self) -> Value {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let total: u64 = m.values().sum();
        let items: Vec<Value> = m
            .iter()
            .map(|((v, r), n)| json!({"verb": v, "resource": r, "count": n}))
            .collect();
        json!({"total": total, "requests": items})
    }
}

//! Request counters by verb, resource and user agent, read through
//! `/_sim/requests` (benchmarks and tests assert how many calls a client
//! made).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Counts requests per (verb, resource, user agent).
#[derive(Debug, Default)]
pub struct Metrics(Mutex<BTreeMap<(String, String, String), u64>>);

impl Metrics {
    pub fn record(&self, verb: &str, resource: &str, user_agent: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((
            verb.to_string(),
            resource.to_string(),
            user_agent.to_string(),
        ))
        .or_default() += 1;
    }

    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// `{"total": N, "requests": [{"verb", "resource", "count"}...],
    /// "byUserAgent": [{"verb", "resource", "userAgent", "count"}...]}`.
    pub fn to_json(&self) -> Value {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let total: u64 = m.values().sum();
        let mut by_verb: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for ((v, r, _), n) in m.iter() {
            *by_verb.entry((v, r)).or_default() += n;
        }
        let items: Vec<Value> = by_verb
            .iter()
            .map(|((v, r), n)| json!({"verb": v, "resource": r, "count": n}))
            .collect();
        let by_agent: Vec<Value> = m
            .iter()
            .map(|((v, r, a), n)| json!({"verb": v, "resource": r, "userAgent": a, "count": n}))
            .collect();
        json!({"total": total, "requests": items, "byUserAgent": by_agent})
    }
}

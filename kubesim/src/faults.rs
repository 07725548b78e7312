//! Request faults (issue 7): rules that make matching requests slow, fail
//! (500, 503, 429 with `Retry-After`), lose their connection before or
//! after the server acted, close watch streams early or after K events, or
//! answer the next watch with 410 Expired. A rule fires deterministically,
//! on every N-th matching request or from a seeded generator, and may be
//! limited to a number of firings.
//!
//! Rules come from `Options::faults`, the binary's `--fault SPEC`, and the
//! control endpoint (`POST`/`GET`/`DELETE /_sim/faults`).
//!
//! A SPEC is comma-separated: the action first, then `key=value` scopes:
//! `503,verb=create,resource=configmaps,every=2,times=1,retry-after=1`.
//! Actions: `latency=MS`, `500`, `503`, `429`, `drop-before`, `drop-after`,
//! `watch-close=K` (K events, then the stream ends; `watch-close` is 0),
//! `gone` (410 on a watch: 200 + an ERROR Expired event; with a `verb`
//! other than watch, a 410 Status). `watch-close` and `gone` without a
//! `verb` apply to watches only. Keys: `verb`,
//! `resource` (`configmaps`, `deployments/status`; `*` or absent: any),
//! `every=N` (the N-th, 2N-th... matching request; default 1), `seed=S`
//! with `probability=P` (a seeded generator instead of `every`),
//! `times=T` (at most T firings), `retry-after=S` (429/503; default 1).

use std::sync::Mutex;

use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::{ApiError, Details};
use crate::reply::{Body, JSON, Reply};

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Adds this many milliseconds before the request is handled.
    Latency(u64),
    /// Answers 500, 503 or 429 (with `Retry-After` for 503 and 429)
    /// without acting.
    Status(u16),
    /// Closes the connection without acting or answering.
    DropBefore,
    /// Acts, then closes the connection without answering.
    DropAfter,
    /// A watch stream ends (cleanly) after this many events.
    WatchClose(u64),
    /// A watch gets 200 and one ERROR event with 410 Expired; other verbs
    /// get a 410 Status.
    Gone,
}

impl Action {
    fn parse(s: &str) -> Result<Action, String> {
        let (name, arg) = match s.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let num = |what: &str| -> Result<u64, String> {
            arg.ok_or_else(|| format!("{what} needs a value ({what}=N)"))?
                .trim_end_matches("ms")
                .parse()
                .map_err(|e| format!("{what}: {e}"))
        };
        Ok(match name {
            "latency" => Action::Latency(num("latency")?),
            "500" | "503" | "429" => Action::Status(name.parse().expect("a number")),
            "drop-before" => Action::DropBefore,
            "drop-after" => Action::DropAfter,
            "watch-close" => Action::WatchClose(if arg.is_some() {
                num("watch-close")?
            } else {
                0
            }),
            "gone" | "410" => Action::Gone,
            other => {
                return Err(format!(
                    "unknown fault action {other:?} (latency=MS, 500, 503, 429, drop-before, drop-after, watch-close=K, gone)"
                ));
            }
        })
    }

    fn name(&self) -> String {
        match self {
            Action::Latency(ms) => format!("latency={ms}"),
            Action::Status(c) => c.to_string(),
            Action::DropBefore => "drop-before".into(),
            Action::DropAfter => "drop-after".into(),
            Action::WatchClose(k) => format!("watch-close={k}"),
            Action::Gone => "gone".into(),
        }
    }
}

/// One fault rule. Build it with [`Fault::parse`] (the `--fault` syntax)
/// or [`Fault::new`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub action: Action,
    /// `None` (or `*`): any verb (`get`, `list`, `watch`, `create`,
    /// `update`, `patch`, `delete`, `deletecollection`).
    pub verb: Option<String>,
    /// `None` (or `*`): any resource; else `configmaps`,
    /// `deployments/status`...
    pub resource: Option<String>,
    /// Fires on every N-th matching request (1: all of them).
    pub every: u64,
    /// `Some((seed, p))`: fires with probability p from a generator seeded
    /// with `seed` (deterministic for a given sequence of requests).
    pub random: Option<(u64, f64)>,
    /// At most this many firings.
    pub times: Option<u64>,
    /// `Retry-After` seconds for 429 and 503.
    pub retry_after: u64,
}

impl Fault {
    pub fn new(action: Action) -> Fault {
        Fault {
            action,
            verb: None,
            resource: None,
            every: 1,
            random: None,
            times: None,
            retry_after: 1,
        }
    }

    pub fn with_verb(mut self, verb: &str) -> Fault {
        self.verb = Some(verb.to_string());
        self
    }

    pub fn with_resource(mut self, resource: &str) -> Fault {
        self.resource = Some(resource.to_string());
        self
    }

    pub fn with_every(mut self, n: u64) -> Fault {
        self.every = n.max(1);
        self
    }

    pub fn with_times(mut self, n: u64) -> Fault {
        self.times = Some(n);
        self
    }

    /// Parses the `--fault` syntax (see the module documentation).
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let mut parts = spec.split(',').map(str::trim).filter(|p| !p.is_empty());
        let action = Action::parse(parts.next().ok_or("an empty fault")?)?;
        let mut f = Fault::new(action);
        let mut seed = None;
        let mut probability = None;
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("{p:?}: expected key=value"))?;
            let num = || v.parse::<u64>().map_err(|e| format!("{k}: {e}"));
            let any = |v: &str| (v != "*" && !v.is_empty()).then(|| v.to_string());
            match k {
                "verb" => f.verb = any(v),
                "resource" => f.resource = any(v),
                "every" => f.every = num()?.max(1),
                "times" => f.times = Some(num()?),
                "retry-after" | "retryAfter" => f.retry_after = num()?,
                "seed" => seed = Some(num()?),
                "probability" => {
                    let p: f64 = v.parse().map_err(|e| format!("{k}: {e}"))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err("probability must be between 0 and 1".into());
                    }
                    probability = Some(p)
                }
                other => return Err(format!("unknown fault key {other:?}")),
            }
        }
        match (seed, probability) {
            (None, None) => {}
            (s, p) => f.random = Some((s.unwrap_or(0), p.unwrap_or(0.5))),
        }
        Ok(f)
    }

    /// The rule in the `--fault` syntax.
    pub fn spec(&self) -> String {
        let mut s = self.action.name();
        if let Some(v) = &self.verb {
            s += &format!(",verb={v}");
        }
        if let Some(r) = &self.resource {
            s += &format!(",resource={r}");
        }
        if self.every != 1 {
            s += &format!(",every={}", self.every);
        }
        if let Some((seed, p)) = self.random {
            s += &format!(",seed={seed},probability={p}");
        }
        if let Some(t) = self.times {
            s += &format!(",times={t}");
        }
        if matches!(self.action, Action::Status(429 | 503)) && self.retry_after != 1 {
            s += &format!(",retry-after={}", self.retry_after);
        }
        s
    }

    fn matches(&self, verb: &str, resource: &str) -> bool {
        let verb_ok = match &self.verb {
            Some(v) => v == verb,
            // Watch faults apply to watches unless a verb says otherwise.
            None => !matches!(self.action, Action::WatchClose(_) | Action::Gone) || verb == "watch",
        };
        verb_ok && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// The JSON form accepted by `POST /_sim/faults` (besides a text SPEC).
#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultJson {
    action: String,
    verb: Option<String>,
    resource: Option<String>,
    every: Option<u64>,
    seed: Option<u64>,
    probability: Option<f64>,
    times: Option<u64>,
    retry_after: Option<u64>,
}

/// Parses a `POST /_sim/faults` body: a JSON object (`{"action": "503",
/// "verb": "create", ...}`), a JSON array of them, or SPEC lines.
pub fn parse_body(body: &[u8]) -> Result<Vec<Fault>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?.trim();
    if text.starts_with('{') || text.starts_with('[') {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let items = match v {
            Value::Array(a) => a,
            o => vec![o],
        };
        items
            .into_iter()
            .map(|o| {
                let j: FaultJson = serde_json::from_value(o).map_err(|e| e.to_string())?;
                let mut spec = j.action.clone();
                let mut kv = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        spec += &format!(",{k}={v}");
                    }
                };
                kv("verb", j.verb);
                kv("resource", j.resource);
                kv("every", j.every.map(|n| n.to_string()));
                kv("seed", j.seed.map(|n| n.to_string()));
                kv("probability", j.probability.map(|n| n.to_string()));
                kv("times", j.times.map(|n| n.to_string()));
                kv("retry-after", j.retry_after.map(|n| n.to_string()));
                Fault::parse(&spec)
            })
            .collect()
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(Fault::parse)
            .collect()
    }
}

struct Rule {
    id: u64,
    fault: Fault,
    matched: u64,
    fired: u64,
    rng: u64,
}

/// The active rules of one instance.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<(u64, Vec<Rule>)>,
}

/// What the request pipeline must do for one request.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub latency_ms: u64,
    /// Answer this instead of acting: (status, Retry-After).
    pub status: Option<(u16, u64)>,
    pub drop_before: bool,
    pub drop_after: bool,
    pub watch_close: Option<u64>,
    pub gone: bool,
}

impl Faults {
    pub fn new(initial: &[Fault]) -> Faults {
        let f = Faults::default();
        for r in initial {
            f.add(r.clone());
        }
        f
    }

    /// Adds a rule; returns its id.
    pub fn add(&self, fault: Fault) -> u64 {
        let mut g = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let id = g.0;
        let rng = fault.random.map_or(1, |(s, _)| s ^ 0x9E37_79B9_7F4A_7C15);
        g.1.push(Rule {
            id,
            fault,
            matched: 0,
            fired: 0,
            rng: rng.max(1),
        });
        id
    }

    /// Removes all rules (`None`) or one; false if there was no such rule.
    pub fn clear(&self, id: Option<u64>) -> bool {
        let mut g = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        match id {
            None => {
                g.1.clear();
                true
            }
            Some(id) => {
                let before = g.1.len();
                g.1.retain(|r| r.id != id);
                g.1.len() != before
            }
        }
    }

    /// `{"faults": [{"id", "spec", "matched", "fired"}]}`.
    pub fn to_json(&self) -> Value {
        let g = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let items: Vec<Value> =
            g.1.iter()
                .map(|r| {
                    json!({"id": r.id, "spec": r.fault.spec(), "matched": r.matched, "fired": r.fired})
                })
                .collect();
        json!({ "faults": items })
    }

    /// Decides the faults of one request (counting it against every rule
    /// that matches it).
    pub fn plan(&self, verb: &str, resource: &str) -> Plan {
        let mut plan = Plan::default();
        let mut g = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if g.1.is_empty() {
            return plan;
        }
        for r in g.1.iter_mut() {
            if !r.fault.matches(verb, resource) || r.fault.times.is_some_and(|t| r.fired >= t) {
                continue;
            }
            r.matched += 1;
            let fire = match r.fault.random {
                Some((_, p)) => {
                    // xorshift64*
                    r.rng ^= r.rng >> 12;
                    r.rng ^= r.rng << 25;
                    r.rng ^= r.rng >> 27;
                    let x = r.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
                    ((x >> 11) as f64 / (1u64 << 53) as f64) < p
                }
                None => r.matched % r.fault.every == 0,
            };
            if !fire {
                continue;
            }
            r.fired += 1;
            match r.fault.action {
                Action::Latency(ms) => plan.latency_ms += ms,
                Action::Status(c) => {
                    plan.status.get_or_insert((c, r.fault.retry_after));
                }
                Action::DropBefore => plan.drop_before = true,
                Action::DropAfter => plan.drop_after = true,
                Action::WatchClose(k) => {
                    plan.watch_close = Some(plan.watch_close.map_or(k, |o: u64| o.min(k)))
                }
                Action::Gone => plan.gone = true,
            }
        }
        plan
    }
}

/// The answer of a 500, 503 or 429 fault (as the real server's
/// `InternalError`, `ServiceUnavailable` and `TooManyRequests`).
pub fn status_reply(code: u16, retry_after: u64) -> Reply {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        _ => (
            "InternalError",
            "Internal error occurred: injected by a kubesim fault",
        ),
    };
    let mut e = ApiError::new(code, reason, message);
    if code != 500 {
        e = e.with_details(Details {
            retry_after_seconds: Some(u32::try_from(retry_after).unwrap_or(u32::MAX)),
            ..Details::default()
        });
    }
    let r = Reply::from(e);
    if code == 500 {
        r
    } else {
        r.with_header("Retry-After", retry_after.to_string())
    }
}

/// The answer of a `gone` fault: for a watch 200 with one ERROR event (as
/// for a too-old resourceVersion), else a 410 Status.
pub fn gone_reply(watch: bool, rv: u64) -> Reply {
    let e = ApiError::expired(format!("too old resource version: 1 ({rv})"));
    if !watch {
        return e.into();
    }
    let mut line =
        serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()})).expect("serialises");
    line.push(b'\n');
    // Streamed (chunked) as a real watch answer is.
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Bytes::from(line));
    let mut r = Reply::bytes(200, JSON, Bytes::new());
    r.body = Body::Stream(rx);
    r
}

/// Ends a streamed (watch) answer after `k` events.
pub fn close_after(mut reply: Reply, k: u64) -> Reply {
    let Body::Stream(mut rx) = std::mem::replace(&mut reply.body, Body::Full(None)) else {
        return reply;
    };
    let (tx, out) = mpsc::channel(64);
    tokio::spawn(async move {
        for _ in 0..k {
            let Some(b) = rx.recv().await else { return };
            if tx.send(b).await.is_err() {
                return;
            }
        }
    });
    reply.body = Body::Stream(out);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let f = Fault::parse("503,verb=create,resource=configmaps,every=2,times=1,retry-after=3")
            .unwrap();
        assert_eq!(f.action, Action::Status(503));
        assert_eq!(f.every, 2);
        assert_eq!(
            f.spec(),
            "503,verb=create,resource=configmaps,every=2,times=1,retry-after=3"
        );
        assert_eq!(
            Fault::parse("watch-close=3").unwrap().action,
            Action::WatchClose(3)
        );
        assert!(Fault::parse("teapot").is_err());
        assert!(Fault::parse("500,colour=red").is_err());
        let j = parse_body(br#"{"action":"latency=20","verb":"get","times":2}"#).unwrap();
        assert_eq!(j[0].spec(), "latency=20,verb=get,times=2");
    }

    #[test]
    fn every_nth_and_times() {
        let f = Faults::new(&[Fault::parse("500,verb=get,every=3,times=2").unwrap()]);
        let fired: Vec<bool> = (0..12)
            .map(|_| f.plan("get", "configmaps").status.is_some())
            .collect();
        let expect = [
            false, false, true, false, false, true, false, false, false, false, false, false,
        ];
        assert_eq!(fired, expect);
        assert!(f.plan("list", "configmaps").status.is_none());
    }

    #[test]
    fn seeded_is_deterministic() {
        let run = || {
            let f = Faults::new(&[Fault::parse("429,seed=7,probability=0.3").unwrap()]);
            (0..100)
                .map(|_| f.plan("get", "pods").status.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let n = a.iter().filter(|x| **x).count();
        assert!((15..=45).contains(&n), "{n}");
    }
}

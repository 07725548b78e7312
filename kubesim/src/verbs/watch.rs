//! WATCH: newline-delimited JSON events on a chunked response, each flushed
//! as it happens. Covers fixture 16: synthetic ADDED for no/zero
//! resourceVersion, replay from the history, a too-old version as 200 plus
//! one ERROR (410 Expired) event, BOOKMARKs, `sendInitialEvents`, and
//! objects entering/leaving a selector as ADDED/DELETED.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, sleep_until};

use super::Call;
use super::list::Filter;
use crate::base64;
use crate::error::{ApiError, Cause};
use crate::reply::{Body, JSON, Reply};
use crate::resources::ResourceType;
use crate::store::{Entry, Event, EventType, Key};

/// Without `timeoutSeconds`, the real server picks 30-60 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

fn line(ty: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        let blueprint = format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{}},\"items\":null}}\n",
            rt.kind,
            rt.api_version()
        );
        meta["annotations"] = json!({
            "k8s.io/initial-events-end": "true",
            "kubernetes.io/initial-events-list-blueprint": base64::encode(blueprint.as_bytes()),
        });
    }
    let obj = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta});
    line("BOOKMARK", obj.to_string().as_bytes())
}

/// What one watcher does with a store event.
struct Watcher {
    res: u16,
    ns: Option<String>,
    filter: Filter,
    /// Objects are sent as one-row Tables (kubectl get -w).
    table: bool,
    sim: Arc<crate::sim::Sim>,
}

impl Watcher {
    /// One event line for an object (as a Table row when asked for).
    fn line(&self, ty: &str, object: &[u8]) -> Bytes {
        if !self.table {
            return line(ty, object);
        }
        let rt = crate::resources::get(self.res);
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(object).unwrap_or_default();
        let rv = obj
            .get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .cloned()
            .unwrap_or(json!(""));
        let now = self.sim.clock.now().secs;
        let t = crate::table::render(rt, &[obj], json!({"resourceVersion": rv}), now);
        line(ty, t.to_string().as_bytes())
    }

    fn matches(&self, key: &Key, e: &Entry) -> bool {
        key.res == self.res
            && self.ns.as_deref().is_none_or(|n| key.ns == n)
            && self.filter.matches(key, e)
    }

    /// The line this watcher sends for `ev`, if any.
    fn render(&self, ev: &Event) -> Option<Bytes> {
        if ev.key.res != self.res {
            return None;
        }
        let new = self.matches(&ev.key, &ev.new);
        match ev.ty {
            EventType::Added if new => Some(self.line("ADDED", &ev.new.json)),
            EventType::Deleted if new => Some(self.line("DELETED", &ev.new.json)),
            EventType::Modified => {
                let old = ev.old.as_ref().is_some_and(|o| self.matches(&ev.key, o));
                match (old, new) {
                    (true, true) => Some(self.line("MODIFIED", &ev.new.json)),
                    (false, true) => Some(self.line("ADDED", &ev.new.json)),
                    (true, false) => {
                        // Leaving the selector: the old object, new version.
                        let mut obj = ev.old.as_ref()?.to_map();
                        obj["metadata"]["resourceVersion"] = json!(ev.rv.to_string());
                        Some(self.line("DELETED", &serde_json::to_vec(&obj).expect("serialises")))
                    }
                    (false, false) => None,
                }
            }
            _ => None,
        }
    }
}

pub async fn watch(call: Call) -> Reply {
    match start(&call) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

fn start(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let filter = Filter::from_call(call)?;
    let q = &call.query;
    let send_initial = q.flag("sendInitialEvents");
    if send_initial && q.get("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::invalid_options(
            "ListOptions",
            vec![Cause::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )],
        ));
    }
    let bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let rv = q.get("resourceVersion").unwrap_or("");
    let watcher = Watcher {
        res: call.t.id,
        ns: call.t.namespace.clone(),
        filter,
        table: crate::table::wanted(&call.accept),
        sim: call.sim.clone(),
    };

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut first: Vec<Bytes> = Vec::new();
    let live;
    let mut done = false;
    {
        let store = call.sim.store();
        live = store.subscribe();
        if rv.is_empty() || rv == "0" || send_initial {
            for (k, e) in store.range(call.t.id, call.t.namespace.as_deref()) {
                if watcher.matches(k, e) {
                    first.push(watcher.line("ADDED", &e.json));
                }
            }
            if send_initial && bookmarks {
                first.push(bookmark(rt, store.rv(), true));
            }
        } else {
            let n: u64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
            match store.since(n) {
                Some(events) => first.extend(events.iter().filter_map(|e| watcher.render(e))),
                None => {
                    let status = ApiError::expired(format!(
                        "too old resource version: {n} ({})",
                        store.oldest()
                    ))
                    .to_status();
                    first.push(line("ERROR", status.to_string().as_bytes()));
                    done = true;
                }
            }
        }
    }
    let sim = call.sim.clone();
    tokio::spawn(async move {
        for b in first {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        if done {
            return;
        }
        stream(watcher, live, tx, rt, timeout, bookmarks, sim).await;
    });
    Ok(Reply {
        status: 200,
        content_type: JSON.to_string(),
        headers: Vec::new(),
        body: Body::Stream(rx),
    })
}

async fn stream(
    watcher: Watcher,
    mut live: broadcast::Receiver<Arc<Event>>,
    tx: mpsc::Sender<Bytes>,
    rt: &'static ResourceType,
    timeout: Duration,
    bookmarks: bool,
    sim: Arc<crate::sim::Sim>,
) {
    let deadline = Instant::now() + timeout;
    // One bookmark shortly before the timeout (as in fixture 16), then
    // periodic ones.
    let mut next_bookmark = Instant::now() + (timeout.mul_f32(0.8)).min(BOOKMARK_EVERY);
    loop {
        tokio::select! {
            _ = sleep_until(deadline) => return,
            _ = sleep_until(next_bookmark), if bookmarks => {
                let rv = sim.store().rv();
                if tx.send(bookmark(rt, rv, false)).await.is_err() {
                    return;
                }
                next_bookmark = (Instant::now() + BOOKMARK_EVERY).min(deadline + BOOKMARK_EVERY);
            }
            _ = tx.closed() => return,
            ev = live.recv() => match ev {
                Ok(ev) => {
                    if let Some(b) = watcher.render(&ev)
                        && tx.send(b).await.is_err() {
                            return;
                        }
                }
                // Too slow a reader: end the watch; the client re-watches
                // from its last resourceVersion.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

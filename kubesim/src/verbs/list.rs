//! LIST with label and field selectors, `limit`/`continue` pagination
//! (`remainingItemCount` only without selectors), and the resourceVersion
//! rules of fixture 17: `0` ignores `limit`, an old `Exact` version is 410,
//! a future one is 504.

use serde_json::{Value, json};

use super::Call;
use crate::base64;
use crate::error::{ApiError, Cause, Details};
use crate::reply::{JSON, Reply};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Entry, Key};

/// The selectors of a list or watch.
pub struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn from_call(call: &Call) -> Result<Filter, ApiError> {
        let labels = LabelSelector::parse(call.query.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(
            call.query.get("fieldSelector").unwrap_or(""),
            call.rt().rules,
        )
        .map_err(ApiError::bad_request)?;
        Ok(Filter { labels, fields })
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, key: &Key, e: &Entry) -> bool {
        self.labels.matches(&e.labels) && self.fields.matches(&key.ns, &key.name, &e.fields)
    }
}

/// A decoded continue token.
struct Continue {
    rv: u64,
    start: String,
}

fn decode_continue(token: &str) -> Result<Continue, ApiError> {
    let bad = |why: String| ApiError::bad_request(format!("invalid continue token: {why}"));
    let raw = base64::decode_url(token).ok_or_else(|| bad("illegal base64 data".to_string()))?;
    let v: Value =
        serde_json::from_slice(&raw).map_err(|e| bad(format!("continue key is not valid: {e}")))?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(bad("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()));
    }
    let rv = v.get("rv").and_then(Value::as_u64).unwrap_or(0);
    let start = v.get("start").and_then(Value::as_str).unwrap_or("");
    let start = start.strip_suffix('\u{0}').unwrap_or(start).to_string();
    Ok(Continue { rv, start })
}

fn encode_continue(rv: u64, start: &str) -> String {
    let v = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::encode_url(v.to_string().as_bytes())
}

/// Checks `resourceVersion`/`resourceVersionMatch` against the store.
fn check_rv(call: &Call, current: u64, oldest: u64) -> Result<(), ApiError> {
    let rv = call.query.get("resourceVersion").unwrap_or("");
    let matching = call.query.get("resourceVersionMatch").unwrap_or("");
    if !matching.is_empty() && rv.is_empty() {
        return Err(ApiError::invalid_options(
            "ListOptions",
            vec![Cause::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )],
        ));
    }
    if rv.is_empty() || rv == "0" {
        return Ok(());
    }
    let n: u64 = rv
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
    match matching {
        "Exact" if n != current => {
            if n < oldest || n < current {
                Err(ApiError::expired(
                    "The resourceVersion for the provided list is too old.",
                ))
            } else {
                Err(too_large(n, current))
            }
        }
        "" | "NotOlderThan" | "Exact" if n > current => Err(too_large(n, current)),
        "" | "NotOlderThan" | "Exact" => Ok(()),
        other => Err(ApiError::invalid_options(
            "ListOptions",
            vec![Cause::not_supported(
                "resourceVersionMatch",
                &format!("\"{other}\""),
                &["Exact", "NotOlderThan", ""],
            )],
        )),
    }
}

fn too_large(n: u64, current: u64) -> ApiError {
    ApiError::new(
        504,
        "Timeout",
        format!("Timeout: Too large resource version: {n}, current: {current}"),
    )
    .with_details(Details {
        causes: vec![crate::error::Cause {
            reason: "ResourceVersionTooLarge",
            message: "Too large resource version".into(),
            field: None,
        }],
        retry_after_seconds: Some(1),
        ..Details::default()
    })
}

pub fn list(call: &Call) -> Result<Reply, ApiError> {
    let rt = call.rt();
    let filter = Filter::from_call(call)?;
    let token = match call.query.get("continue") {
        Some(t) if !t.is_empty() => {
            if call
                .query
                .get("resourceVersion")
                .is_some_and(|r| !r.is_empty())
            {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            Some(decode_continue(t)?)
        }
        _ => None,
    };
    let limit = match call.query.get("resourceVersion") {
        Some("0") => 0,
        _ => call
            .query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(0),
    };
    let all_namespaces = call.t.namespace.is_none() && rt.namespaced;
    let table = crate::table::wanted(&call.accept);
    let mut objects = Vec::new();
    let mut items = Vec::with_capacity(4096);
    let (list_rv, next, remaining) = {
        let store = call.sim.store();
        check_rv(call, store.rv(), store.oldest())?;
        let list_rv = token.as_ref().map(|t| t.rv).unwrap_or(store.rv());
        let start = token.as_ref().map(|t| t.start.as_str()).unwrap_or("");
        let mut count = 0usize;
        let mut last = String::new();
        let mut more = 0usize;
        for (k, e) in store.range(call.t.id, call.t.namespace.as_deref()) {
            let pos = if all_namespaces {
                format!("{}/{}", k.ns, k.name)
            } else {
                k.name.clone()
            };
            if !start.is_empty() && pos.as_str() <= start {
                continue;
            }
            if !filter.matches(k, e) {
                continue;
            }
            if limit > 0 && count == limit {
                more += 1;
                if !filter.is_empty() {
                    break;
                }
                continue;
            }
            if table {
                objects.push(e.to_map());
            } else {
                if count > 0 {
                    items.push(b',');
                }
                e.list_item(&mut items);
            }
            count += 1;
            last = pos;
        }
        let next = (more > 0).then(|| encode_continue(list_rv, &last));
        let remaining = (more > 0 && filter.is_empty()).then_some(more);
        (list_rv, next, remaining)
    };
    let mut meta = serde_json::Map::new();
    meta.insert("resourceVersion".into(), json!(list_rv.to_string()));
    if let Some(c) = next {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    if table {
        return Ok(Reply::json(
            200,
            &crate::table::render(rt, &objects, Value::Object(meta), call.sim.clock.now().secs),
        ));
    }
    let mut out = Vec::with_capacity(items.len() + 128);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            rt.kind,
            rt.api_version(),
            Value::Object(meta)
        )
        .as_bytes(),
    );
    out.extend_from_slice(&items);
    out.extend_from_slice(b"]}");
    Ok(Reply::bytes(200, JSON, out))
}

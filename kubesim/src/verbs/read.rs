//! GET of one object, its `/status` (the whole object, as the real server
//! returns it), a workload's `/scale` (an autoscaling/v1 Scale), and a
//! pod's `/log`.

use hyper::body::Bytes;
use serde_json::{Value, json};

use super::Call;
use crate::error::ApiError;
use crate::reply::{JSON, Reply};
use crate::store::Entry;

pub fn get(call: &Call) -> Result<Reply, ApiError> {
    let entry = {
        let store = call.sim.store();
        store
            .get(&call.key())
            .cloned()
            .ok_or_else(|| ApiError::not_found(call.rt(), call.name()))?
    };
    match call.t.sub.as_deref() {
        Some("scale") => Ok(Reply::json(200, &scale_of(&entry))),
        Some("log") => Ok(Reply::text(
            200,
            &crate::controllers::logs::render(&entry.to_map(), &call.query)?,
        )),
        None if crate::table::wanted(&call.accept) => {
            let obj = entry.to_map();
            let meta = json!({"resourceVersion": entry.rv.to_string()});
            Ok(Reply::json(
                200,
                &crate::table::render(call.rt(), &[obj], meta, call.sim.clock.now().secs),
            ))
        }
        _ => Ok(Reply::bytes(200, JSON, Bytes::clone(&entry.json))),
    }
}

/// The Scale view of a Deployment, ReplicaSet or StatefulSet.
pub fn scale_of(entry: &Entry) -> Value {
    let obj = entry.to_map();
    let meta = &obj["metadata"];
    let selector = obj
        .get("spec")
        .and_then(|s| s.get("selector"))
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.get("spec").and_then(|s| s.get("replicas")).cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.get("status").and_then(|s| s.get("replicas")).cloned().unwrap_or(json!(0)),
            "selector": selector,
        }
    })
}

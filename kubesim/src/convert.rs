//! Twin resources: one object served through two APIs. core/v1 Events
//! and events.k8s.io/v1 Events are the same objects on a real server
//! (same uid and resourceVersion, fixture 10), converted field by field.
//! The store keeps both forms and writes them together.

use serde_json::{Map, Value};

use crate::object::canonical;
use crate::resources::{self, ResourceId};

/// (core/v1 name, events.k8s.io/v1 name) of the Event fields that differ.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// events.k8s.io/v1 string fields tagged `omitempty`.
const V1_OMIT_EMPTY: &[&str] = &[
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "note",
    "type",
];

/// The resource served as the same objects under another API, if any.
pub fn twin(id: ResourceId) -> Option<ResourceId> {
    let rt = resources::get(id);
    match (rt.group, rt.plural) {
        ("", "events") => resources::find("events.k8s.io", "v1", "events").map(|(i, _)| i),
        ("events.k8s.io", "events") => resources::find("", "v1", "events").map(|(i, _)| i),
        _ => None,
    }
}

/// Converts an object of resource `from` into the form of its twin `to`.
pub fn to_twin(from: ResourceId, to: ResourceId, obj: &Map<String, Value>) -> Map<String, Value> {
    let to_core = resources::get(from).group == "events.k8s.io";
    let mut out = Map::new();
    for (k, v) in obj {
        let renamed = EVENT_FIELDS.iter().find_map(|(core, v1)| {
            if to_core && k == v1 {
                Some(*core)
            } else if !to_core && k == core {
                Some(*v1)
            } else {
                None
            }
        });
        let name = renamed.unwrap_or(k);
        // events.k8s.io/v1 omits empty strings these core fields keep.
        if !to_core && V1_OMIT_EMPTY.contains(&name) && v.as_str() == Some("") {
            continue;
        }
        out.insert(name.to_string(), v.clone());
    }
    canonical(resources::get(to), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip() {
        let (core, _) = resources::find("", "v1", "events").unwrap();
        let v1 = twin(core).unwrap();
        let obj = json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "reason": "R",
            "reportingComponent": "kubelet", "type": "Normal"});
        let converted = to_twin(core, v1, obj.as_object().unwrap());
        assert_eq!(converted["apiVersion"], "events.k8s.io/v1");
        assert_eq!(converted["regarding"]["name"], "p");
        assert_eq!(converted["note"], "hi");
        assert_eq!(converted["reportingController"], "kubelet");
        let back = to_twin(v1, core, &converted);
        assert_eq!(Value::Object(back), obj);
    }
}

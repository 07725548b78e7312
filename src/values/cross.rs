//! Rules across values, checked on the merged values: each value may be
//! fine alone and the pair still wrong, because two layers set them.
//!
//! - an autoscaler's `minReplicas` ≤ its `maxReplicas` (the API server
//!   refuses the HPA otherwise, in stage 4, after the Jobs ran);
//! - a container's resource request ≤ its limit, per resource (the API
//!   server refuses the pod: `must be less than or equal to ... limit`).
//!
//! The rules find their pairs by shape (any map with both keys), so a new
//! component's autoscaling and resources are covered without a list here.
//! A message names both keys and where each was set; it starts with the
//! layer that set the later of the two.

use serde_json::Value;

use super::check::Origins;
use super::quantity;
use super::schema::Problem;
use crate::yaml::load::join_path;

/// Every broken pair of the merged values.
pub fn check(
    merged: &Value,
    origins: &Origins,
    defaults_at: &dyn Fn(&str) -> String,
    out: &mut Vec<(String, Problem)>,
) {
    let mut pairs = Vec::new();
    collect(merged, "", &mut pairs);
    for pair in pairs {
        out.push(pair.report(origins, defaults_at));
    }
}

struct Broken {
    low: (String, String),
    high: (String, String),
    relation: &'static str,
}

impl Broken {
    fn report(&self, origins: &Origins, defaults_at: &dyn Fn(&str) -> String) -> (String, Problem) {
        let origin = |path: &str| {
            origins
                .get(path)
                .map_or_else(|| (defaults_at(path), 0), |o| (o.at.clone(), o.order))
        };
        let (low_at, low_order) = origin(&self.low.0);
        let (high_at, high_order) = origin(&self.high.0);
        let from = |at: &str, other: &str| {
            if at == other {
                String::new()
            } else {
                format!(", from {at}")
            }
        };
        // Led by the later layer: that is the user's most recent say.
        let (at, low_from, high_from) = if high_order > low_order {
            (high_at.clone(), from(&low_at, &high_at), String::new())
        } else {
            (low_at.clone(), String::new(), from(&high_at, &low_at))
        };
        let message = format!(
            "{} ({}{low_from}) must be {} {} ({}{high_from})",
            self.low.0, self.low.1, self.relation, self.high.0, self.high.1
        );
        (
            at,
            Problem::Cross {
                path: self.low.0.clone(),
                message,
            },
        )
    }
}

fn collect(node: &Value, path: &str, out: &mut Vec<Broken>) {
    let Value::Object(m) = node else { return };
    if let (Some(min), Some(max)) = (
        m.get("minReplicas").and_then(Value::as_i64),
        m.get("maxReplicas").and_then(Value::as_i64),
    ) && min > max
    {
        out.push(Broken {
            low: (join_path(path, "minReplicas"), min.to_string()),
            high: (join_path(path, "maxReplicas"), max.to_string()),
            relation: "≤",
        });
    }
    if let (Some(Value::Object(requests)), Some(Value::Object(limits))) =
        (m.get("requests"), m.get("limits"))
    {
        for (resource, request) in requests {
            let Some(limit) = limits.get(resource) else {
                continue;
            };
            if let (Some(r), Some(l)) = (quantity::amount(request), quantity::amount(limit))
                && r > l
            {
                out.push(Broken {
                    low: (
                        join_path(&join_path(path, "requests"), resource),
                        text(request),
                    ),
                    high: (join_path(&join_path(path, "limits"), resource), text(limit)),
                    relation: "≤ its limit",
                });
            }
        }
    }
    for (k, v) in m {
        collect(v, &join_path(path, k), out);
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(merged: Value, origins: &Origins) -> Vec<String> {
        let mut out = Vec::new();
        check(
            &merged,
            origins,
            &|p| format!("defaults.yaml({p})"),
            &mut out,
        );
        out.into_iter()
            .map(|(at, p)| format!("{at}: {p}"))
            .collect()
    }

    #[test]
    fn min_above_max_names_both_keys_and_layers() {
        let mut o = Origins::default();
        o.set(
            "backend.autoscaling.maxReplicas",
            "releases/staging.yaml:31",
            1,
        );
        o.set(
            "backend.autoscaling.minReplicas",
            "--set backend.autoscaling.minReplicas=5",
            2,
        );
        let got = run(
            json!({"backend": {"autoscaling": {"minReplicas": 5, "maxReplicas": 4}}}),
            &o,
        );
        assert_eq!(
            got,
            [
                "--set backend.autoscaling.minReplicas=5: backend.autoscaling.minReplicas (5) must be ≤ backend.autoscaling.maxReplicas (4, from releases/staging.yaml:31)"
            ]
        );
    }

    #[test]
    fn the_later_layer_leads_and_one_layer_is_named_once() {
        let mut o = Origins::default();
        o.set("a.maxReplicas", "--set a.maxReplicas=1", 3);
        let got = run(json!({"a": {"minReplicas": 2, "maxReplicas": 1}}), &o);
        assert_eq!(
            got,
            [
                "--set a.maxReplicas=1: a.minReplicas (2, from defaults.yaml(a.minReplicas)) must be ≤ a.maxReplicas (1)"
            ]
        );
        let mut o = Origins::default();
        o.set("a.minReplicas", "x.yaml:3", 1);
        o.set("a.maxReplicas", "x.yaml:3", 1);
        let got = run(json!({"a": {"minReplicas": 2, "maxReplicas": 1}}), &o);
        assert_eq!(
            got,
            ["x.yaml:3: a.minReplicas (2) must be ≤ a.maxReplicas (1)"]
        );
    }

    #[test]
    fn requests_above_limits_compare_amounts_not_text() {
        let merged = json!({"backend": {"resources": {
            "requests": {"cpu": "1500m", "memory": "1Gi"},
            "limits": {"cpu": 1, "memory": "1024Mi"}}}});
        let got = run(merged, &Origins::default());
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].ends_with("backend.resources.requests.cpu (1500m) must be ≤ its limit backend.resources.limits.cpu (1, from defaults.yaml(backend.resources.limits.cpu))"),
            "{got:?}"
        );
    }

    #[test]
    fn unset_or_mistyped_halves_are_left_to_the_type_rules() {
        let merged = json!({"c": {"minReplicas": "x", "maxReplicas": 1,
                                  "requests": {"cpu": "2"}, "limits": null}});
        assert!(run(merged, &Origins::default()).is_empty());
    }
}

//! The Job controller (non-indexed): pods up to parallelism until
//! `completions` succeed, replacements after failures with back-off (10 s
//! doubling), and the 1.32 terminal conditions of fixtures 08 and 09:
//! `SuccessCriteriaMet` + `Complete`, or `FailureTarget` + `Failed`
//! (BackoffLimitExceeded, or DeadlineExceeded after
//! activeDeadlineSeconds), with their Events.
//!
//! # Caveats
//! Pods get no `batch.kubernetes.io/job-tracking` finalizer; counts of
//! finished pods are taken from the pods that still exist (never
//! lowered), so deleting a finished pod does not re-run it.

use serde_json::{Map, Value, json};

use super::Ctl;
use super::clock::{Micros, SECOND, parse, rfc3339};
use super::ctx::{CONTROLLER_MANAGER, Ctx};
use super::replicaset::{PodName, active, new_pod, ready};
use super::util::{child, condition, ids, int, name, pointer, text, uid};
use crate::store::Key;

const COMPONENT: &str = "job-controller";

fn finished(job: &Map<String, Value>) -> bool {
    ["Complete", "Failed"]
        .iter()
        .any(|t| condition(job, t).and_then(|c| c.get("status")) == Some(&json!("True")))
}

pub fn reconcile(cx: &mut Ctx, key: &Key) {
    let ids = ids();
    let Some(job) = cx.get(ids.jobs, &key.ns, &key.name) else {
        return;
    };
    if super::util::deleting(&job) || finished(&job) {
        return;
    }
    if pointer(&job, "/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let job_uid = uid(&job).to_string();
    let pods = cx.owned(ids.pods, &key.ns, &job_uid);
    let start = text(&job, "/status/startTime")
        .and_then(parse)
        .unwrap_or(cx.now);
    let completions = int(&job, "/spec/completions").unwrap_or(1).max(1);
    let parallelism = int(&job, "/spec/parallelism").unwrap_or(1).max(0);
    let backoff_limit = int(&job, "/spec/backoffLimit").unwrap_or(6);
    let phase = |p: &Map<String, Value>| text(p, "/status/phase").unwrap_or("").to_string();
    let succeeded = (pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64)
        .max(int(&job, "/status/succeeded").unwrap_or(0));
    let failed = (pods.iter().filter(|p| phase(p) == "Failed").count() as i64)
        .max(int(&job, "/status/failed").unwrap_or(0));
    let restarts: i64 = pods
        .iter()
        .filter(|p| active(p))
        .filter_map(|p| pointer(p, "/status/containerStatuses").and_then(Value::as_array))
        .flat_map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
        })
        .sum();
    let mut running: Vec<Map<String, Value>> = pods.iter().filter(|p| active(p)).cloned().collect();

    let mut outcome: Option<(bool, &str, &str)> = None;
    if let Some(ads) = int(&job, "/spec/activeDeadlineSeconds") {
        let due = start + ads * SECOND;
        if cx.now >= due {
            outcome = Some((
                false,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ));
        } else {
            cx.after(due - cx.now, Ctl::Job, key.clone());
        }
    }
    // pastBackoffLimitOnFailure: restarts in place count for OnFailure.
    let on_failure = text(&job, "/spec/template/spec/restartPolicy") == Some("OnFailure");
    let restarts_exceed = on_failure
        && if backoff_limit == 0 {
            restarts > 0
        } else {
            restarts >= backoff_limit
        };
    if outcome.is_none() && (failed > backoff_limit || restarts_exceed) {
        outcome = Some((
            false,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    }
    if outcome.is_none() && succeeded >= completions {
        outcome = Some((
            true,
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        ));
    }
    if outcome.is_none() {
        let want = parallelism.min(completions - succeeded) as usize;
        if running.len() < want {
            let last_failure: Option<Micros> = pods
                .iter()
                .filter(|p| phase(p) == "Failed")
                .filter_map(|p| {
                    text(p, "/status/containerStatuses/0/state/terminated/finishedAt")
                        .and_then(parse)
                })
                .max();
            let wait_until = match last_failure {
                Some(t) if failed > 0 => {
                    let mut b = 10 * SECOND;
                    for _ in 1..failed {
                        b = (b * 2).min(360 * SECOND);
                    }
                    t + b
                }
                _ => cx.now,
            };
            if wait_until > cx.now {
                cx.after(wait_until - cx.now, Ctl::Job, key.clone());
            } else {
                let mut template = pointer(&job, "/spec/template")
                    .cloned()
                    .unwrap_or(json!({}));
                if let Some(t) = template.as_object_mut() {
                    let labels = child(child(t, "metadata"), "labels");
                    for (k, v) in [
                        ("batch.kubernetes.io/controller-uid", &job_uid),
                        ("batch.kubernetes.io/job-name", &key.name),
                        ("controller-uid", &job_uid),
                        ("job-name", &key.name),
                    ] {
                        labels.entry(k).or_insert(json!(v));
                    }
                }
                for _ in running.len()..want {
                    let pod = new_pod(&job, &template, PodName::Generate(format!("{}-", key.name)));
                    let Some(created) = cx.create(ids.pods, pod, CONTROLLER_MANAGER) else {
                        break;
                    };
                    cx.event(
                        &job,
                        false,
                        "SuccessfulCreate",
                        &format!("Created pod: {}", name(&created)),
                        COMPONENT,
                    );
                    running.push(created);
                }
            }
        }
    }
    let now = rfc3339(cx.now);
    let mut status = Map::new();
    let mut completion = None;
    if let Some((ok, reason, message)) = outcome {
        let c = |ty: &str| json!({"type": ty, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message});
        let conds = if ok {
            completion = Some(now.clone());
            json!([c("SuccessCriteriaMet"), c("Complete")])
        } else {
            for p in running.drain(..) {
                cx.delete(ids.pods, &key.ns, name(&p));
                cx.event(
                    &job,
                    false,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name(&p)),
                    COMPONENT,
                );
            }
            json!([c("FailureTarget"), c("Failed")])
        };
        status.insert("conditions".into(), conds);
    }
    status.insert("startTime".into(), json!(rfc3339(start)));
    if let Some(t) = completion {
        status.insert("completionTime".into(), json!(t));
    }
    let nz = |m: &mut Map<String, Value>, k: &str, v: i64| {
        if v != 0 {
            m.insert(k.into(), json!(v));
        }
    };
    nz(&mut status, "active", running.len() as i64);
    nz(&mut status, "succeeded", succeeded);
    nz(&mut status, "failed", failed);
    status.insert("terminating".into(), json!(0));
    status.insert("uncountedTerminatedPods".into(), json!({}));
    status.insert(
        "ready".into(),
        json!(running.iter().filter(|p| ready(p)).count()),
    );
    let mut new = job.clone();
    new.insert("status".into(), Value::Object(status));
    if let Some(stored) = cx.update(ids.jobs, new, "status", CONTROLLER_MANAGER)
        && let Some((ok, reason, message)) = outcome
    {
        if ok {
            cx.event(&stored, false, "Completed", "Job completed", COMPONENT);
        } else {
            cx.event(&stored, true, reason, message, COMPONENT);
        }
    }
}

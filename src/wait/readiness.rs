//! Readiness as a pure function of a live object.
//!
//! The rules follow what the controllers write (fixtures 06, 08–11, 13):
//! a workload is judged only once its controller has observed the
//! generation thebot applied; a failed Job and a Deployment past its
//! progress deadline are final failures, not something to wait out
//! (kube-rs's `is_deployment_completed` / `is_job_completed` miss both).

use serde_json::Value;

/// Where an object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not yet; the reason says what is missing.
    InProgress(String),
    /// Final: waiting longer will not help.
    Failed(String),
    /// The object does not exist.
    Missing,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// What readiness needs beyond the object itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `minReplicas` of the HPA that manages this Deployment, if any.
    pub hpa_min_replicas: Option<i64>,
    /// The PVC's StorageClass binds on first consumer.
    pub wait_for_first_consumer: bool,
    /// `--no-wait-lb`: a LoadBalancer Service is ready without an address.
    pub skip_load_balancers: bool,
}

fn int(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == kind)
}

fn condition_true<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    condition(v, kind).filter(|c| c["status"] == "True")
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// `None` when the controller has seen the applied generation (or the
/// object has no generation), else why not.
fn unobserved(obj: &Value) -> Option<String> {
    let generation = int(obj, "/metadata/generation")?;
    match int(obj, "/status/observedGeneration") {
        Some(o) if o >= generation => None,
        Some(o) => Some(format!(
            "the controller has seen generation {o}, not yet {generation}"
        )),
        None => Some(format!(
            "waiting for the controller to observe generation {generation}"
        )),
    }
}

/// The readiness of `obj` (None: it does not exist).
pub fn readiness(obj: Option<&Value>, ctx: &Context) -> Readiness {
    let Some(obj) = obj else {
        return Readiness::Missing;
    };
    match obj.get("kind").and_then(Value::as_str).unwrap_or("") {
        "Deployment" => deployment(obj, ctx),
        "StatefulSet" => statefulset(obj),
        "Job" => job(obj),
        "PersistentVolumeClaim" => pvc(obj, ctx),
        "Service" => service(obj, ctx),
        _ => Readiness::Ready,
    }
}

fn deployment(d: &Value, ctx: &Context) -> Readiness {
    if let Some(p) = condition(d, "Progressing")
        && p["reason"] == "ProgressDeadlineExceeded"
    {
        return Readiness::Failed(format!("ProgressDeadlineExceeded: {}", text(p, "message")));
    }
    if let Some(why) = unobserved(d) {
        return Readiness::InProgress(why);
    }
    let spec = int(d, "/spec/replicas").unwrap_or(1);
    let desired = ctx.hpa_min_replicas.map_or(spec, |m| m.max(spec));
    let updated = int(d, "/status/updatedReplicas").unwrap_or(0);
    let available = int(d, "/status/availableReplicas").unwrap_or(0);
    let total = int(d, "/status/replicas").unwrap_or(0);
    if updated < desired {
        return Readiness::InProgress(format!("{updated} of {desired} replicas updated"));
    }
    if total > updated {
        return Readiness::InProgress(format!("{} old replicas still running", total - updated));
    }
    if available < desired {
        return Readiness::InProgress(format!("{available} of {desired} replicas available"));
    }
    Readiness::Ready
}

fn statefulset(s: &Value) -> Readiness {
    if let Some(why) = unobserved(s) {
        return Readiness::InProgress(why);
    }
    let desired = int(s, "/spec/replicas").unwrap_or(1);
    let ready = int(s, "/status/readyReplicas").unwrap_or(0);
    let updated = int(s, "/status/updatedReplicas").unwrap_or(0);
    let partition = if s
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete")
    {
        None
    } else {
        Some(int(s, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0))
    };
    match partition {
        Some(p) if p > 0 => {
            let expected = (desired - p).max(0);
            if updated < expected {
                return Readiness::InProgress(format!(
                    "{updated} of {expected} replicas above partition {p} updated"
                ));
            }
        }
        Some(_) => {
            let current = s.pointer("/status/currentRevision").and_then(Value::as_str);
            let update = s.pointer("/status/updateRevision").and_then(Value::as_str);
            if current != update || updated < desired {
                return Readiness::InProgress(format!(
                    "{updated} of {desired} replicas on the new revision"
                ));
            }
        }
        None => {}
    }
    if ready < desired {
        return Readiness::InProgress(format!("{ready} of {desired} replicas ready"));
    }
    Readiness::Ready
}

fn job(j: &Value) -> Readiness {
    for kind in ["Failed", "FailureTarget"] {
        if let Some(c) = condition_true(j, kind) {
            return Readiness::Failed(format!("{}: {}", text(c, "reason"), text(c, "message")));
        }
    }
    if condition_true(j, "Complete").is_some() {
        return Readiness::Ready;
    }
    let active = int(j, "/status/active").unwrap_or(0);
    let succeeded = int(j, "/status/succeeded").unwrap_or(0);
    let failed = int(j, "/status/failed").unwrap_or(0);
    Readiness::InProgress(if active + succeeded + failed == 0 {
        "waiting for its pod to start".to_string()
    } else {
        format!("active {active}, succeeded {succeeded}, failed {failed}")
    })
}

fn pvc(p: &Value, ctx: &Context) -> Readiness {
    match p.pointer("/status/phase").and_then(Value::as_str) {
        Some("Bound") => Readiness::Ready,
        Some("Lost") => Readiness::Failed("the claim lost its volume (phase Lost)".into()),
        // A claim of a WaitForFirstConsumer class binds when a pod uses it:
        // gating a stage on it would wait forever for the next stage.
        _ if ctx.wait_for_first_consumer => Readiness::Ready,
        phase => Readiness::InProgress(format!("phase {}", phase.unwrap_or("Pending"))),
    }
}

fn service(s: &Value, ctx: &Context) -> Readiness {
    if s.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer")
        || ctx.skip_load_balancers
    {
        return Readiness::Ready;
    }
    let assigned = s
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|i| !i.is_empty());
    if assigned {
        Readiness::Ready
    } else {
        Readiness::InProgress(
            "waiting for a load-balancer address (--no-wait-lb skips this)".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    macro_rules! fixture {
        ($name:literal) => {
            crate::yaml::parse_single(include_str!(concat!("fixtures/", $name)))
                .expect($name)
                .value
        };
    }

    fn r(v: &Value) -> Readiness {
        readiness(Some(v), &Context::default())
    }

    fn in_progress(x: Readiness) -> String {
        match x {
            Readiness::InProgress(why) => why,
            other => panic!("expected in progress, got {other:?}"),
        }
    }

    #[test]
    fn deployments() {
        assert_eq!(r(&fixture!("deployment-ready.yaml")), Readiness::Ready);
        assert!(
            in_progress(r(&fixture!("deployment-progressing.yaml")))
                .contains("1 of 2 replicas available")
        );
        assert!(
            in_progress(r(&fixture!("deployment-unobserved.yaml")))
                .contains("generation 1, not yet 2")
        );
        assert!(
            in_progress(r(&fixture!("deployment-old-replicas.yaml")))
                .contains("1 of 2 replicas updated")
        );
        match r(&fixture!("deployment-failed.yaml")) {
            Readiness::Failed(why) => assert!(why.starts_with("ProgressDeadlineExceeded"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(readiness(None, &Context::default()), Readiness::Missing);
    }

    #[test]
    fn an_hpa_minimum_raises_the_desired_count() {
        let d = fixture!("deployment-ready.yaml");
        let ctx = Context {
            hpa_min_replicas: Some(3),
            ..Default::default()
        };
        assert!(in_progress(readiness(Some(&d), &ctx)).contains("2 of 3"));
    }

    #[test]
    fn statefulsets() {
        assert_eq!(r(&fixture!("statefulset-ready.yaml")), Readiness::Ready);
        assert!(
            in_progress(r(&fixture!("statefulset-progressing.yaml")))
                .contains("1 of 2 replicas ready")
        );
        let mut rolling = fixture!("statefulset-ready.yaml");
        rolling["status"]["updateRevision"] = json!("db-new");
        rolling["status"]["updatedReplicas"] = json!(1);
        assert!(in_progress(r(&rolling)).contains("new revision"));
        rolling["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
        assert_eq!(
            r(&rolling),
            Readiness::Ready,
            "partition 1 of 2: one updated replica is the goal"
        );
    }

    #[test]
    fn jobs() {
        assert_eq!(r(&fixture!("job-complete.yaml")), Readiness::Ready);
        assert_eq!(
            in_progress(r(&fixture!("job-running.yaml"))),
            "active 1, succeeded 0, failed 0"
        );
        match r(&fixture!("job-failed.yaml")) {
            Readiness::Failed(why) => assert!(why.starts_with("BackoffLimitExceeded"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut target_only = fixture!("job-failed.yaml");
        target_only["status"]["conditions"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["type"] == "FailureTarget");
        assert!(
            matches!(r(&target_only), Readiness::Failed(_)),
            "FailureTarget alone is final"
        );
    }

    #[test]
    fn claims() {
        assert_eq!(r(&fixture!("pvc-bound.yaml")), Readiness::Ready);
        assert!(in_progress(r(&fixture!("pvc-pending.yaml"))).contains("Pending"));
        let wffc = Context {
            wait_for_first_consumer: true,
            ..Default::default()
        };
        assert_eq!(
            readiness(Some(&fixture!("pvc-pending.yaml")), &wffc),
            Readiness::Ready
        );
    }

    #[test]
    fn load_balancers_and_everything_else() {
        let lb = json!({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert!(matches!(r(&lb), Readiness::InProgress(_)));
        let skip = Context {
            skip_load_balancers: true,
            ..Default::default()
        };
        assert_eq!(readiness(Some(&lb), &skip), Readiness::Ready);
        let mut assigned = lb.clone();
        assigned["status"]["loadBalancer"]["ingress"] = json!([{"ip": "10.0.0.1"}]);
        assert_eq!(r(&assigned), Readiness::Ready);
        assert_eq!(
            r(&json!({"kind": "Service", "spec": {"type": "ClusterIP"}})),
            Readiness::Ready
        );
        assert_eq!(
            r(&json!({"kind": "ConfigMap", "metadata": {"generation": 5}})),
            Readiness::Ready
        );
    }
}

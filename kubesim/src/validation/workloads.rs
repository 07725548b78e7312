//! Rules of the workload kinds beyond their tables in [`super`]: a
//! Deployment's rolling-update parameters and progress deadline, the
//! pod templates (with the restart policies each owner accepts), and the
//! selector/template agreement of the apps kinds.

use serde_json::Value;

use super::fields::{at, int_or_percent, is_zero, present};
use super::pod::{self, ALWAYS, JOB_RESTART};
use super::selectors::{go_map, selector_matches, string_map};
use crate::error::Cause;

/// `spec.selector` required and matching `spec.template.metadata.labels`.
pub fn selector_matches_template(obj: &Value, out: &mut Vec<Cause>) {
    match present(obj, "spec.selector") {
        None => out.push(Cause::required_bare("spec.selector")),
        Some(sel) => {
            let labels = string_map(at(obj, "spec.template.metadata.labels"));
            if !selector_matches(sel, &labels) {
                out.push(Cause::invalid_go(
                    "spec.template.metadata.labels",
                    &go_map(&labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
}

/// The pod template of an apps kind: restartPolicy Always only.
pub fn apps_template(obj: &Value, out: &mut Vec<Cause>) {
    pod::pod_spec(
        at(obj, "spec.template.spec"),
        "spec.template.spec",
        ALWAYS,
        out,
    );
}

/// A StatefulSet's template, whose mounts may name its claim templates.
///
/// # Caveats
/// The real server (1.32) does not validate a StatefulSet's pod spec
/// beyond its labels and restart policy (its pods then fail to be
/// created); kubesim validates it as a Deployment's, which is stricter.
pub fn statefulset_template(obj: &Value, out: &mut Vec<Cause>) {
    let claims: Vec<String> = at(obj, "spec.volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    pod::pod_spec_with_claims(
        at(obj, "spec.template.spec"),
        "spec.template.spec",
        ALWAYS,
        &claims,
        out,
    );
}

pub fn job_template(obj: &Value, out: &mut Vec<Cause>) {
    pod::pod_spec(
        at(obj, "spec.template.spec"),
        "spec.template.spec",
        JOB_RESTART,
        out,
    );
    // A template without restartPolicy is defaulted to Always, which a Job
    // refuses.
    if at(obj, "spec.template.spec").is_some()
        && at(obj, "spec.template.spec.restartPolicy").is_none()
    {
        out.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            "\"Always\"",
            JOB_RESTART,
        ));
    }
}

pub fn cronjob_template(obj: &Value, out: &mut Vec<Cause>) {
    let base = "spec.jobTemplate.spec.template.spec";
    pod::pod_spec(at(obj, base), base, JOB_RESTART, out);
}

/// `spec.strategy` and `spec.progressDeadlineSeconds` of a Deployment.
/// `ValidateRollingUpdateDaemonSet`: int-or-percent values at most 100%,
/// exactly one of them non-zero.
pub fn daemonset_rolling_update(obj: &Value, out: &mut Vec<Cause>) {
    let Some(r) = present(obj, "spec.updateStrategy.rollingUpdate") else {
        return;
    };
    let base = "spec.updateStrategy.rollingUpdate";
    let (unavail, surge) = (r.get("maxUnavailable"), r.get("maxSurge"));
    int_or_percent(out, &format!("{base}.maxUnavailable"), unavail, true);
    int_or_percent(out, &format!("{base}.maxSurge"), surge, true);
    let go = |v: Option<&Value>| {
        v.map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_else(|| "0".into())
    };
    let (has_u, has_s) = (
        !is_zero(unavail) && unavail.is_some_and(|v| !v.is_null()),
        !is_zero(surge) && surge.is_some_and(|v| !v.is_null()),
    );
    if has_u && has_s {
        out.push(Cause::invalid_go(
            &format!("{base}.maxSurge"),
            &go(surge),
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_u && !has_s {
        out.push(Cause::invalid_go(
            &format!("{base}.maxUnavailable"),
            &go(unavail),
            "cannot be 0 when maxSurge is 0",
        ));
    }
}

pub fn deployment_strategy(obj: &Value, out: &mut Vec<Cause>) {
    let ty = at(obj, "spec.strategy.type").and_then(Value::as_str);
    let rolling = present(obj, "spec.strategy.rollingUpdate");
    if ty == Some("Recreate") && rolling.is_some() {
        out.push(Cause::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    if ty == Some("RollingUpdate") || ty.is_none() {
        let (surge, unavail) = (
            at(obj, "spec.strategy.rollingUpdate.maxSurge"),
            at(obj, "spec.strategy.rollingUpdate.maxUnavailable"),
        );
        int_or_percent(
            out,
            "spec.strategy.rollingUpdate.maxUnavailable",
            unavail,
            true,
        );
        int_or_percent(out, "spec.strategy.rollingUpdate.maxSurge", surge, false);
        if rolling.is_some() && is_zero(surge) && is_zero(unavail) {
            out.push(Cause::invalid_go(
                "spec.strategy.rollingUpdate.maxUnavailable",
                &unavail
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default(),
                "may not be 0 when `maxSurge` is 0",
            ));
        }
    }
    let min_ready = at(obj, "spec.minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(p) = at(obj, "spec.progressDeadlineSeconds").and_then(Value::as_i64)
        && p <= min_ready
    {
        out.push(Cause::invalid_go(
            "spec.progressDeadlineSeconds",
            &p.to_string(),
            "must be greater than minReadySeconds",
        ));
    }
}

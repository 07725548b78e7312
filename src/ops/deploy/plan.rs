//! What an operation applies and records. Install and upgrade build it
//! from values (a render); rollback from a recorded revision. A draft is
//! built before the lock (enough to check against the server); the plan
//! is completed under the lock, where the records and generated secrets
//! are read again.

use serde_json::Value;

use super::backup::{self, Crossing};
use super::identify::{entries, identify};
use super::{DeployOptions, Mode, secrets};
use crate::bundle::Bundle;
use crate::cluster::Cluster;
use crate::environment::{self, Target};
use crate::manifest::{self, Object};
use crate::ops::OpError;
use crate::ops::preflight::{self, Passed};
use crate::ops::session::ReleaseRef;
use crate::release::history;
use crate::release::record::Status;
use crate::release::store::Entry;
use crate::render::{self, Rendered};
use crate::values::UserLayer;

/// What one operation applies, and what its record will say.
pub struct Plan {
    pub env: String,
    pub layers: Vec<UserLayer>,
    pub merged: Value,
    pub objects: Vec<Object>,
    pub notes: String,
    pub rollback_of: Option<u32>,
    /// The rendered backup Job (`backup.enabled`), run by the engine
    /// before a migration; not among `objects`.
    pub backup: Option<Object>,
    /// A rollback that would run old code on a newer schema.
    pub crossing: Option<Crossing>,
}

impl Plan {
    /// What the record's manifest holds: the objects and the backup Job
    /// template (which is never in the inventory).
    pub fn recorded_objects(&self) -> Vec<Object> {
        self.objects.iter().chain(&self.backup).cloned().collect()
    }

    /// The objects applied: all of them, except that a rollback skips
    /// hook Jobs not annotated for it (a migration is not re-run backwards).
    pub fn to_apply(&self) -> Vec<Object> {
        match self.rollback_of {
            Some(_) => self
                .objects
                .iter()
                .filter(|o| runs_on_rollback(o))
                .cloned()
                .collect(),
            None => self.objects.clone(),
        }
    }
}

/// The plan as known before the lock.
pub struct Draft {
    pub release: ReleaseRef,
    source: Source,
}

enum Source {
    /// Install or upgrade: the resolved values and a first render (with
    /// placeholders for the generated secrets).
    Values {
        env: String,
        target: Box<Target>,
        layers: Vec<UserLayer>,
        first: Rendered,
    },
    /// Rollback: the revision to re-apply (`None`: the last good one) and
    /// its objects as recorded when the draft was made.
    Revision {
        to: Option<u32>,
        objects: Vec<Object>,
        env: String,
        merged: Value,
        crossing: Option<Box<Crossing>>,
    },
}

impl Draft {
    /// The objects to check against the server before anything is written.
    pub fn objects(&self) -> &[Object] {
        match &self.source {
            Source::Values { first, .. } => &first.objects,
            Source::Revision { objects, .. } => objects,
        }
    }

    /// A rollback that would run old code on a newer schema, as the
    /// records said when the draft was made.
    pub fn crossing(&self) -> Option<&Crossing> {
        match &self.source {
            Source::Revision { crossing, .. } => crossing.as_deref(),
            Source::Values { .. } => None,
        }
    }

    /// The client-side preflight of what the draft would apply.
    pub fn lint(&self, bundle: &Bundle) -> Result<Passed, OpError> {
        const NOT_DONE: &str = "nothing was written (no lock taken, no revision recorded)";
        match &self.source {
            Source::Values { target, .. } => {
                preflight::check_values(bundle, &target.release, &target.values.merged, NOT_DONE)
            }
            Source::Revision {
                objects,
                env,
                merged,
                ..
            } => {
                let release = render::Release {
                    name: self.release.name.clone(),
                    namespace: self.release.namespace.clone(),
                    environment: env.clone(),
                };
                preflight::check_objects(objects, &release, merged, NOT_DONE)
            }
        }
    }
}

/// Phase 1, values and render: who the release is, and what it would be.
pub async fn draft(
    mode: Mode,
    opts: &DeployOptions,
    bundle: &Bundle,
    cluster: &Cluster,
    new_layers: Vec<UserLayer>,
) -> Result<Draft, OpError> {
    let (release, env, previous_layers) = identify(mode, opts, bundle, cluster).await?;
    let source = match mode {
        Mode::Rollback { to } => {
            let plan = rollback_target(&entries(cluster, &release).await?, to)?;
            Source::Revision {
                to,
                // The backup Job too: the render is checked whole.
                objects: plan.recorded_objects(),
                env: plan.env,
                merged: plan.merged,
                crossing: plan.crossing.map(Box::new),
            }
        }
        Mode::Install | Mode::Upgrade { .. } => {
            let mut layers = previous_layers;
            layers.extend(new_layers);
            let target = environment::resolve_in(
                bundle,
                &env,
                &layers,
                Some(&release.name),
                Some(&release.namespace),
                &release.namespace,
            )?;
            let first = render::render(bundle, &target.release, &target.values.merged, None)?;
            Source::Values {
                env,
                target: Box::new(target),
                layers,
                first,
            }
        }
    };
    Ok(Draft { release, source })
}

/// Under the lock: the plan from the records as they are now, with the
/// generated secrets filled in.
pub async fn complete(
    draft: Draft,
    entries: &[Entry],
    bundle: &Bundle,
    cluster: &Cluster,
) -> Result<Plan, OpError> {
    match draft.source {
        Source::Revision { to, .. } => {
            let mut plan = rollback_target(entries, to)?;
            plan.notes = rollback_notes(bundle, &draft.release, &plan);
            Ok(plan)
        }
        Source::Values {
            env,
            target,
            layers,
            first,
        } => {
            let rendered = secrets::fill(cluster, bundle, &target, first).await?;
            let (engine, objects): (Vec<Object>, Vec<Object>) = rendered
                .objects
                .into_iter()
                .partition(crate::plan::is_engine_job);
            Ok(Plan {
                env,
                layers,
                merged: target.values.merged,
                objects,
                notes: rendered.notes,
                rollback_of: None,
                backup: engine.into_iter().next(),
                crossing: None,
            })
        }
    }
}

/// Whether an object is applied on rollback: everything but hook Jobs not
/// annotated for rollback.
fn runs_on_rollback(o: &Object) -> bool {
    match o.annotation(crate::plan::HOOK_ANNOTATION) {
        Some(hooks) => hooks.split(',').any(|h| h.trim() == "rollback"),
        None => true,
    }
}

/// The revision a rollback re-applies: `to`, or the newest before the
/// current one that was deployed or superseded (never blindly N-1).
pub(crate) fn rollback_target(entries: &[Entry], to: Option<u32>) -> Result<Plan, OpError> {
    let current = history::latest(entries)
        .ok_or_else(|| OpError::Failed("the release has no revision to roll back to".into()))?;
    let record = match to {
        Some(n) => {
            let e = entries.iter().find(|e| e.revision == n).ok_or_else(|| {
                let known: Vec<String> = entries.iter().map(|e| e.revision.to_string()).collect();
                OpError::Failed(format!(
                    "revision {n} does not exist (revisions: {})",
                    known.join(", ")
                ))
            })?;
            let r = e
                .record
                .as_ref()
                .map_err(|msg| OpError::Failed(format!("cannot roll back to {msg}")))?;
            if n == current.revision && r.status != Status::Failed {
                return Err(OpError::Failed(format!(
                    "revision {n} is the current one ({}): roll back to an earlier revision",
                    r.status
                )));
            }
            r
        }
        None => entries
            .iter()
            .filter(|e| e.revision < current.revision)
            .filter_map(|e| e.record.as_ref().ok())
            .filter(|r| matches!(r.status, Status::Deployed | Status::Superseded))
            .max_by_key(|r| r.revision)
            .ok_or_else(|| {
                OpError::Failed(
                    "no earlier revision was ever deployed: nothing to roll back to".into(),
                )
            })?,
    };
    let all: Vec<Object> = manifest::from_stream(&record.manifest).map_err(|e| {
        OpError::Failed(format!(
            "revision {}: its manifest cannot be read: {e}",
            record.revision
        ))
    })?;
    let crossing = backup::crossing(record, &all, entries);
    let (engine, objects): (Vec<Object>, Vec<Object>) =
        all.into_iter().partition(crate::plan::is_engine_job);
    Ok(Plan {
        env: record.environment.clone(),
        layers: record.values.layers.clone(),
        merged: record.values.merged.clone(),
        crossing,
        objects,
        notes: String::new(),
        rollback_of: Some(record.revision),
        backup: engine.into_iter().next(),
    })
}

/// The notes of a rollback target, rendered from its values (best effort:
/// the templates may have changed since).
fn rollback_notes(bundle: &Bundle, release: &ReleaseRef, plan: &Plan) -> String {
    let r = render::Release {
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        environment: plan.env.clone(),
    };
    render::render(bundle, &r, &plan.merged, None)
        .map(|x| x.notes)
        .unwrap_or_default()
}

//! `--atomic` (alias `--rollback-on-failure`): when an install, upgrade or
//! rollback fails or times out after its revision was recorded, put back
//! what was there. An upgrade or rollback rolls back to the last deployed
//! revision through the normal staged, waited path; an install removes the
//! objects it created and nothing else. If that fails too, the message
//! states the release's exact state and the one command that fixes it.

use kube::api::{DeleteParams, PropagationPolicy};

use super::OpError;
use super::deploy::{self, DeployOptions, Deployed, Failed, Mode};
use super::events::{Event, Sink};
use super::session::{self, ReleaseRef};
use crate::apply::{api_for, describe};
use crate::manifest::ObjectId;

/// Install, upgrade or rollback; with `--atomic`, a failure after the
/// revision was recorded restores what was there (the error then says
/// what was restored, or the one command that fixes it).
pub async fn deploy(
    mode: Mode,
    opts: &DeployOptions,
    sink: &dyn Sink,
) -> Result<Deployed, OpError> {
    let failed = match deploy::deploy(mode, opts, sink).await {
        Ok(done) => return Ok(done),
        Err(failed) => failed,
    };
    let Failed {
        error,
        release,
        recorded,
        previous,
        created,
    } = failed;
    let (true, Some(failed), Some(release)) = (opts.atomic, recorded, release) else {
        return Err(error);
    };
    let target = Target {
        release,
        failed,
        previous,
        created,
    };
    let restored = restore(opts, &target, sink).await;
    Err(combine(error, &target, restored))
}

/// What failed and what there is to restore.
#[derive(Debug, Clone)]
pub struct Target {
    pub release: ReleaseRef,
    /// The revision that failed.
    pub failed: u32,
    /// The last deployed revision before it, if any.
    pub previous: Option<u32>,
    /// Objects the failed operation created.
    pub created: Vec<ObjectId>,
}

/// How the restore went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    RolledBack { to: u32, revision: u32 },
    Removed { objects: usize },
    Failed(String),
}

pub async fn restore(opts: &DeployOptions, t: &Target, sink: &dyn Sink) -> Restored {
    match t.previous {
        Some(to) => {
            sink.event(Event::Warning(format!(
                "--atomic: rolling back to revision {to}"
            )));
            let rollback = DeployOptions {
                atomic: false,
                env: None,
                layers: Vec::new(),
                reuse_values: false,
                name: Some(t.release.name.clone()),
                namespace: Some(t.release.namespace.clone()),
                create_namespace: false,
                description: Some(format!(
                    "Rollback to {to} (--atomic, revision {} failed)",
                    t.failed
                )),
                take_ownership: false,
                // The failed revision's migration may have run: restoring
                // the previous code is still the best the user asked for;
                // the crossing is warned about, naming the backup.
                allow_schema_mismatch: true,
                // Never a second restore behind the user's back.
                restore_db: false,
                ..opts.clone()
            };
            match Box::pin(deploy::deploy(
                Mode::Rollback { to: Some(to) },
                &rollback,
                sink,
            ))
            .await
            {
                Ok(done) => Restored::RolledBack {
                    to,
                    revision: done.record.revision,
                },
                Err(failed) => Restored::Failed(failed.error.to_string()),
            }
        }
        None => {
            sink.event(Event::Warning(format!(
                "--atomic: removing the {} objects this install created",
                t.created.len()
            )));
            match remove_created(opts, t).await {
                Ok(n) => Restored::Removed { objects: n },
                Err(e) => Restored::Failed(e),
            }
        }
    }
}

async fn remove_created(opts: &DeployOptions, t: &Target) -> Result<usize, String> {
    let cluster = session::connect(&opts.connect)
        .await
        .map_err(|e| e.to_string())?;
    let discovery = session::discover(&cluster)
        .await
        .map_err(|e| e.to_string())?;
    let mut removed = 0;
    let mut problems = Vec::new();
    for id in t.created.iter().rev() {
        let Some(api) = api_for(&cluster.client, &discovery, id) else {
            continue;
        };
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(&id.name, &dp).await {
            Ok(_) => removed += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => problems.push(format!("{id}: {}", describe(&e))),
        }
    }
    if problems.is_empty() {
        Ok(removed)
    } else {
        Err(format!("could not remove: {}", problems.join("; ")))
    }
}

/// The original error, saying what was restored (same exit code).
pub fn combine(err: OpError, t: &Target, restored: Restored) -> OpError {
    let r = &t.release;
    let suffix = match restored {
        Restored::RolledBack { to, revision } => format!(
            "\n--atomic: revision {} failed; rolled back to revision {to} (now revision {revision}, deployed)",
            t.failed
        ),
        Restored::Removed { objects } => format!(
            "\n--atomic: revision {} failed; removed the {objects} objects the install created (objects that existed before were not touched)",
            t.failed
        ),
        Restored::Failed(e) => match t.previous {
            Some(to) => format!(
                "\n--atomic: the automatic rollback failed too: {e}\nThe release's state: revision {} failed, the rollback's revision failed, revision {to} is still the last deployed one.\nFix: thebot rollback {to} --name {} -n {}",
                t.failed, r.name, r.namespace
            ),
            None => format!(
                "\n--atomic: removing what the install created failed: {e}\nThe release's state: revision {} failed and no revision is deployed.\nFix: thebot uninstall --name {} -n {}",
                t.failed, r.name, r.namespace
            ),
        },
    };
    err.with_suffix(&suffix)
}

//! Phase 5: the recorded plan onto the cluster. The live objects are read
//! once, ownership is checked (`adopt`), the stages are applied and
//! waited for in order (`stages`), then what the previous revision had
//! and this one drops is pruned.

use super::inflight::InFlight;
use super::revision::Recorded;
use super::stages::Stages;
use super::{DeployOptions, adopt};
use crate::apply::Change;
use crate::apply::live::LiveIndex;
use crate::cluster::{Cluster, Discovery};
use crate::manifest::Object;
use crate::ops::events::Sink;
use crate::ops::{OpError, prune};

/// Where and how the rollout runs.
pub struct Target<'a> {
    pub cluster: &'a Cluster,
    pub discovery: &'a Discovery,
    pub opts: &'a DeployOptions,
    pub deadline: tokio::time::Instant,
    /// Objects applied with force besides adopted ones (the Deployments a
    /// `--restore-db` scaled down take their replicas back).
    pub force: &'a [crate::manifest::ObjectId],
}

pub async fn roll_out(
    t: &Target<'_>,
    recorded: &Recorded,
    state: &mut InFlight,
    sink: &dyn Sink,
) -> Result<Vec<Change>, OpError> {
    let release = &recorded.release;
    let objects = &recorded.objects;
    let ids: Vec<_> = objects.iter().map(Object::id).collect();
    let live =
        LiveIndex::snapshot(&t.cluster.client, t.discovery, &ids, &release.namespace).await?;
    let release_key = format!("{}/{}", release.namespace, release.name);
    let mut force_for = adopt::foreign(objects, &live, &release_key, t.opts.take_ownership, sink)?;
    force_for.extend(t.force.iter().cloned());
    let stages = Stages {
        cluster: t.cluster,
        discovery: t.discovery,
        live: &live,
        opts: t.opts,
        force_for: &force_for,
        release,
        deadline: t.deadline,
        revision: recorded.revision,
        // No data before an install, and a rollback runs no migration.
        backup: recorded
            .plan
            .backup
            .as_ref()
            .filter(|_| recorded.previous.is_some() && recorded.plan.rollback_of.is_none()),
        warn_unbacked_migration: recorded.previous.is_some()
            && recorded.plan.rollback_of.is_none()
            && recorded.plan.backup.is_none(),
    };
    let mut changes = stages.run(objects, state, sink).await?;
    if let Some(prev) = &recorded.previous {
        state.check_lock()?;
        changes.extend(
            prune::prune(
                t.cluster,
                t.discovery,
                prev,
                &recorded.plan.objects,
                t.opts.apply.dry_run,
                sink,
            )
            .await,
        );
    }
    Ok(changes)
}

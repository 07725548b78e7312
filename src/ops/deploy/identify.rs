//! Which release an operation is about, and whether the mode fits the
//! records it has (install over a live release, upgrade of nothing).

use super::{DeployOptions, Mode};
use crate::bundle::Bundle;
use crate::cluster::Cluster;
use crate::environment;
use crate::ops::OpError;
use crate::ops::session::{self, ReleaseRef};
use crate::release::history;
use crate::release::record::Status;
use crate::release::store::{Entry, Store};
use crate::values::UserLayer;

/// (release, environment, layers replayed from the previous revision).
/// With ENV the environment file names the release; without ENV
/// (upgrade, rollback) the records do.
pub(crate) async fn identify(
    mode: Mode,
    opts: &DeployOptions,
    bundle: &Bundle,
    cluster: &Cluster,
) -> Result<(ReleaseRef, String, Vec<UserLayer>), OpError> {
    let previous_layers = |entries: &[Entry]| -> Vec<UserLayer> {
        if !opts.reuse_values {
            return Vec::new();
        }
        history::last_deployed(entries)
            .map(|r| r.values.layers.clone())
            .unwrap_or_default()
    };
    if let Some(env) = &opts.env {
        let target = environment::resolve_in(
            bundle,
            env,
            &[],
            opts.name.as_deref(),
            opts.namespace.as_deref(),
            &cluster.context_namespace,
        )?;
        let release = ReleaseRef {
            name: target.release.name,
            namespace: target.release.namespace,
        };
        let layers = if opts.reuse_values {
            previous_layers(&entries(cluster, &release).await?)
        } else {
            Vec::new()
        };
        return Ok((release, env.clone(), layers));
    }
    if mode == Mode::Install {
        return Err(OpError::Failed(
            "install needs an environment: thebot install dev|staging|prod".into(),
        ));
    }
    let release = session::find_release(
        cluster,
        bundle,
        opts.name.as_deref(),
        opts.namespace.as_deref(),
    )
    .await?;
    let entries = entries(cluster, &release).await?;
    let env = entries
        .iter()
        .rev()
        .filter_map(|e| e.record.as_ref().ok())
        .map(|r| r.environment.clone())
        .next()
        .ok_or_else(|| {
            OpError::Failed(format!(
                "release {} has no readable revision: pass the environment (thebot upgrade ENV)",
                release.name
            ))
        })?;
    let layers = previous_layers(&entries);
    Ok((release, env, layers))
}

/// The release's records, read without the lock.
pub(super) async fn entries(
    cluster: &Cluster,
    release: &ReleaseRef,
) -> Result<Vec<Entry>, OpError> {
    Ok(
        Store::new(cluster.client.clone(), &release.namespace, &release.name)
            .entries()
            .await?,
    )
}

/// Install refuses a live release; a plain upgrade refuses a release
/// with no revision at all.
pub(super) fn check_mode(
    mode: Mode,
    release: &ReleaseRef,
    entries: &[Entry],
) -> Result<(), OpError> {
    let live = entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .filter(|r| {
            !matches!(
                r.status,
                Status::Failed | Status::Uninstalled | Status::Superseded
            )
        })
        .max_by_key(|r| r.revision);
    match (mode, live, entries.is_empty()) {
        (Mode::Install, Some(r), _) => Err(OpError::Failed(format!(
            "release {} already exists in namespace {} (revision {}, {}): use `thebot upgrade`",
            release.name, release.namespace, r.revision, r.status
        ))),
        (
            Mode::Upgrade {
                install_missing: false,
            },
            _,
            true,
        ) => Err(OpError::Failed(format!(
            "release {} has no revision in namespace {}: install it first, or use `thebot upgrade --install`",
            release.name, release.namespace
        ))),
        _ => Ok(()),
    }
}

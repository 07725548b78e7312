//! `--dry-run=client|server` on install, upgrade and rollback: the plan,
//! or what the server would change, without touching records or the lock.
//! client: render and list the objects by stage (no cluster needed for
//! install/upgrade with ENV). server: every apply is sent with
//! `dryRun=All` and classified against the live objects; objects the new
//! plan drops are listed as would-be pruned.

use serde::Serialize;
use serde_json::Value;

use super::deploy::{DeployOptions, Mode, Plan, identify, rollback_target};
use super::{OpError, read_layers, session};
use crate::apply::live::LiveIndex;
use crate::apply::{self, ApplyOptions};
use crate::bundle::Bundle;
use crate::environment;
use crate::manifest::Object;
use crate::plan;
use crate::release::store::Store;
use crate::release::{generated, history};
use crate::render;

/// `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    Client,
    Server,
}

/// What a dry run found.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunReport {
    pub name: String,
    pub namespace: String,
    /// `stage Kind/namespace/name`, in apply order.
    pub plan: Vec<String>,
    /// server: `action Kind/namespace/name`.
    pub changes: Vec<String>,
    /// server: objects the previous deployed revision has and the plan not.
    pub prune: Vec<String>,
}

async fn plan_for(
    mode: Mode,
    opts: &DeployOptions,
    with_cluster: Option<&crate::cluster::Cluster>,
) -> Result<(String, String, Plan), OpError> {
    let bundle =
        Bundle::embedded().with_dirs(opts.manifests.as_deref(), opts.releases.as_deref())?;
    let layers = read_layers(&opts.layers)?;
    match (with_cluster, &opts.env, mode) {
        (None, Some(env), Mode::Install | Mode::Upgrade { .. }) => {
            let t = environment::resolve(&bundle, env, &layers, opts.name.as_deref(), opts.namespace.as_deref())?;
            let r = render::render(&bundle, &t.release, &t.values.merged, None)?;
            Ok((t.release.name, t.release.namespace, plan_of(env, layers, t.values.merged, r)))
        }
        (None, _, _) => Err(OpError::Failed("--dry-run=client without ENV needs the cluster's records: pass ENV, or use --dry-run=server".into())),
        (Some(cluster), _, _) => {
            let (release, env, previous_layers) = identify(mode, opts, &bundle, cluster).await?;
            let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);
            if let Mode::Rollback { to } = mode {
                let plan = rollback_target(&store.entries().await?, to)?;
                // --restore-db with a backup: the dry run shows the rollback
                // (the restore itself writes, and is not simulated).
                let restorable = |c: &crate::ops::deploy::Crossing| opts.restore_db && c.restore.is_some();
                if let Some(c) = plan.crossing.as_ref().filter(|c| !opts.allow_schema_mismatch && !restorable(c)) {
                    return Err(OpError::Failed(c.refusal()));
                }
                return Ok((release.name, release.namespace, plan));
            }
            let mut all = previous_layers;
            all.extend(layers);
            let t = environment::resolve_in(&bundle, &env, &all, Some(&release.name), Some(&release.namespace), &release.namespace)?;
            // The generated secrets as they are: a dry run creates nothing.
            let generated_values = generated::read(cluster.client.clone(), &release.namespace, &release.name).await;
            let r = render::render(&bundle, &t.release, &t.values.merged, generated_values.as_ref())?;
            Ok((release.name, release.namespace, plan_of(&env, all, t.values.merged, r)))
        }
    }
}

fn plan_of(
    env: &str,
    layers: Vec<crate::values::UserLayer>,
    merged: Value,
    r: render::Rendered,
) -> Plan {
    let (engine, objects): (Vec<Object>, Vec<Object>) =
        r.objects.into_iter().partition(plan::is_engine_job);
    Plan {
        env: env.to_string(),
        layers,
        merged,
        objects,
        notes: r.notes,
        rollback_of: None,
        backup: engine.into_iter().next(),
        crossing: None,
    }
}

pub async fn dry_run(
    mode: Mode,
    opts: &DeployOptions,
    how: DryRun,
) -> Result<DryRunReport, OpError> {
    let cluster = match how {
        DryRun::Client if opts.env.is_some() && !matches!(mode, Mode::Rollback { .. }) => None,
        _ => Some(session::connect(&opts.connect).await?),
    };
    let (name, namespace, plan) = plan_for(mode, opts, cluster.as_ref()).await?;
    let mut report = DryRunReport {
        name: name.clone(),
        namespace: namespace.clone(),
        plan: plan
            .objects
            .iter()
            .map(|o| format!("{} {}", plan::stage_of(o).label(), o.id()))
            .collect(),
        ..Default::default()
    };
    let (Some(cluster), DryRun::Server) = (cluster, how) else {
        return Ok(report);
    };
    let discovery = session::discover(&cluster).await?;
    let ids: Vec<_> = plan.objects.iter().map(Object::id).collect();
    discovery.check(&ids, &cluster.server)?;
    let live = LiveIndex::snapshot(&cluster.client, &discovery, &ids, &namespace).await?;
    let refs: Vec<&Object> = plan.objects.iter().collect();
    let apply_opts = ApplyOptions {
        dry_run: true,
        ..opts.apply.clone()
    };
    let applied = apply::apply(&cluster.client, &discovery, &refs, &live, &apply_opts, &[]).await?;
    report.changes = applied
        .changes
        .iter()
        .map(|c| {
            let line = format!("{} {}", crate::ui::action_word(c.action), c.object);
            // --force-replace: a refused immutable change is shown as the
            // replacement it would be (nothing is deleted in a dry run).
            match applied.replaced.iter().find(|r| r.object == c.object) {
                Some(r) => format!("{line} ({})", r.what()),
                None => line,
            }
        })
        .collect();
    let entries = Store::new(cluster.client.clone(), &namespace, &name)
        .entries()
        .await?;
    if let Some(prev) = history::last_deployed(&entries) {
        let (delete, _) = super::prune::prune_set(prev, &plan.objects);
        report.prune = delete.iter().map(ToString::to_string).collect();
    }
    Ok(report)
}

//! `install` and `upgrade`: render, lock, record revision N pending,
//! apply stage by stage, record N deployed (N-1 superseded), unlock.
//!
//! Whatever happens after revision N is written (an apply refused, the
//! lock lost, Ctrl-C), N ends `failed` with the reason, N-1 stays
//! `deployed`, and the Lease is released: the release is never left
//! "in progress".

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::events::{Event, Sink};
use super::session::{self, ReleaseRef};
use super::{LayerArg, OpError, atomic, interrupt, prune, read_layers, waiting};
use crate::apply::live::LiveIndex;
use crate::apply::{self, ApplyOptions, Change, handover, ownership};
use crate::bundle::Bundle;
use crate::cluster::{Cluster, ConnectOptions, Discovery};
use crate::environment::{self, Target};
use crate::manifest::{self, Object};
use crate::plan::{self, Stage};
use crate::release::lock::{self, Acquired, Lock};
use crate::release::record::{self, InventoryEntry, Record, RecordValues, SCHEMA_VERSION, Status};
use crate::release::store::{Entry, Store};
use crate::release::{generated, history};
use crate::render::{self, Rendered, secrets};
use crate::values::UserLayer;

/// Install or upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    /// `install_missing`: `upgrade --install`.
    Upgrade {
        install_missing: bool,
    },
    /// Re-apply a recorded revision (`None`: the last good one before the current).
    Rollback {
        to: Option<u32>,
    },
}

/// Everything `install`/`upgrade` take.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub env: Option<String>,
    pub layers: Vec<LayerArg>,
    /// `--reuse-values`: replay the previous revision's layers first.
    pub reuse_values: bool,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub connect: ConnectOptions,
    pub create_namespace: bool,
    pub description: Option<String>,
    pub apply: ApplyOptions,
    pub take_ownership: bool,
    /// Records kept (0 = all).
    pub history_max: usize,
    pub wait_for_lock: Option<Duration>,
    /// Wait for each stage to be ready before the next (`--wait`, default on).
    pub wait: bool,
    /// The budget of the whole operation, hooks included (`--timeout`).
    pub timeout: Duration,
    /// `--no-wait-lb`: do not wait for load-balancer addresses.
    pub skip_load_balancers: bool,
    /// `--fail-on-unschedulable`.
    pub fail_on_unschedulable: bool,
    /// `--log-lines N` of a failing container shown on failure.
    pub log_lines: u32,
    /// `--atomic`: on failure, restore the last deployed revision (or
    /// remove what a failed install created).
    pub atomic: bool,
    pub manifests: Option<PathBuf>,
    pub releases: Option<PathBuf>,
}

/// What a successful deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub record: Record,
    pub changes: Vec<Change>,
    pub notes: String,
    pub duration: Duration,
}

/// State that outlives an interrupted or failed run, for cleanup.
#[derive(Default)]
struct InFlight {
    store: Option<Store>,
    lock: Option<Lock>,
    /// The revision written pending, and its resourceVersion.
    pending: Option<(Record, String)>,
    /// The revision this operation wrote (kept after it ends, for --atomic).
    recorded: Option<u32>,
    /// The last deployed revision before this operation.
    previous: Option<u32>,
    /// Objects this operation created (an atomic install removes them).
    created: Vec<crate::manifest::ObjectId>,
    /// The release being worked on, once known.
    release: Option<ReleaseRef>,
}

/// Runs install or upgrade, cleaning up on failure and on Ctrl-C/SIGTERM.
pub async fn deploy(
    mode: Mode,
    opts: &DeployOptions,
    sink: &dyn Sink,
) -> Result<Deployed, OpError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut state = InFlight::default();
    let result = tokio::select! {
        r = run(mode, opts, sink, &mut state, deadline) => r,
        sig = interrupt::signal() => Err(OpError::Interrupted(format!("interrupted by {sig}"))),
    };
    let guard = interrupt::exit_on_second_signal();
    let (recorded, previous, created, release) = (
        state.recorded,
        state.previous,
        state.created.clone(),
        state.release.clone(),
    );
    let mut outcome = finish(state, result, mode, sink).await;
    guard.abort();
    if opts.atomic
        && let (Err(err), Some(failed)) = (&outcome, recorded)
    {
        let target = atomic::Target {
            release: release.clone().expect("a recorded revision has a release"),
            failed,
            previous,
            created,
        };
        let restored = atomic::restore(opts, &target, sink).await;
        outcome = Err(atomic::combine(err, &target, restored));
    }
    outcome.map(|(record, changes, notes)| Deployed {
        record,
        changes,
        notes,
        duration: started.elapsed(),
    })
}

type Outcome = (Record, Vec<Change>, String);

async fn finish(
    mut state: InFlight,
    result: Result<Outcome, OpError>,
    mode: Mode,
    sink: &dyn Sink,
) -> Result<Outcome, OpError> {
    if let Err(err) = &result
        && let (Some(store), Some((mut rec, rv))) = (state.store.as_ref(), state.pending.take())
    {
        let still_ours = state.lock.as_ref().is_some_and(|l| l.check().is_ok());
        if still_ours {
            rec.status = Status::Failed;
            rec.description = format!(
                "{} failed: {}",
                verb(mode, rec.revision),
                first_line(&err.to_string())
            );
            rec.last_deployed = record::now_rfc3339();
            match store.update(&mut rec, &rv).await {
                Ok(_) => sink.event(Event::Info(format!(
                    "revision {} marked failed",
                    rec.revision
                ))),
                Err(e) => sink.event(Event::Warning(format!(
                    "could not mark revision {} failed: {e}",
                    rec.revision
                ))),
            }
        }
    }
    if let Some(lock) = state.lock.take()
        && let Err(e) = lock.release().await
    {
        sink.event(Event::Warning(format!("{e} (it expires by itself)")));
    }
    result
}

/// A one-line summary of an error for a record's description: the first
/// line, with the next one when the first only introduces a list.
fn first_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let take = if lines.first().is_some_and(|l| l.ends_with(':')) && lines.len() > 1 {
        2
    } else {
        1
    };
    let head = lines
        .iter()
        .take(take)
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    match lines.len().saturating_sub(take) {
        0 => head,
        n => format!("{head} (and {n} more)"),
    }
}

fn verb(mode: Mode, revision: u32) -> &'static str {
    match mode {
        Mode::Install => "Install",
        Mode::Upgrade { .. } if revision == 1 => "Install",
        Mode::Upgrade { .. } => "Upgrade",
        Mode::Rollback { .. } => "Rollback",
    }
}

/// What one operation applies, and what its record will say.
pub struct Plan {
    pub env: String,
    pub layers: Vec<UserLayer>,
    pub merged: Value,
    pub objects: Vec<Object>,
    pub notes: String,
    pub rollback_of: Option<u32>,
}

async fn run(
    mode: Mode,
    opts: &DeployOptions,
    sink: &dyn Sink,
    state: &mut InFlight,
    deadline: tokio::time::Instant,
) -> Result<Outcome, OpError> {
    let bundle =
        Bundle::embedded().with_dirs(opts.manifests.as_deref(), opts.releases.as_deref())?;
    let new_layers = read_layers(&opts.layers)?;
    let cluster = session::connect(&opts.connect).await?;

    // Who and what: with ENV the environment file names the release;
    // without ENV (upgrade, rollback) the records in the namespace do. A
    // first plan (placeholders for generated secrets) is checked against
    // the server before anything is locked.
    let (release, env, previous_layers) = identify(mode, opts, &bundle, &cluster).await?;
    state.release = Some(release.clone());
    let mut target = None;
    let first_objects = match mode {
        Mode::Rollback { to } => {
            let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
                .entries()
                .await?;
            rollback_target(&entries, to)?.objects
        }
        _ => {
            let mut layers = previous_layers;
            layers.extend(new_layers);
            let t = environment::resolve_in(
                &bundle,
                &env,
                &layers,
                Some(&release.name),
                Some(&release.namespace),
                &release.namespace,
            )?;
            let first = render::render(&bundle, &t.release, &t.values.merged, None)?;
            target = Some((t, layers, first));
            target
                .as_ref()
                .map(|(_, _, r)| r.objects.clone())
                .unwrap_or_default()
        }
    };

    // Said before anything else, even when the namespace is missing.
    // Without ENV, finding the release already required its records.
    if let (
        Mode::Upgrade {
            install_missing: false,
        },
        Some(_),
    ) = (mode, &opts.env)
    {
        let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
            .entries()
            .await?;
        check_mode(mode, &release, &entries)?;
    }
    let discovery = session::discover(&cluster).await?;
    let ids: Vec<_> = first_objects.iter().map(Object::id).collect();
    discovery.check(&ids, &cluster.server)?;

    if opts.create_namespace {
        create_namespace(&cluster, &release.namespace, sink).await?;
    }

    let holder = format!("{}/{}", record::who(), std::process::id());
    let (lock, how) = lock::acquire(
        cluster.client.clone(),
        &release.namespace,
        &release.name,
        &holder,
        opts.wait_for_lock,
    )
    .await?;
    state.lock = Some(lock);
    if let Acquired::TakenOver { .. } = &how {
        sink.event(Event::Warning(how.describe()));
    }
    let store = Store::new(cluster.client.clone(), &release.namespace, &release.name);
    state.store = Some(store.clone());
    let entries = store.entries().await?;
    fail_dangling(&store, &entries, sink).await;
    check_mode(mode, &release, &entries)?;
    for e in &entries {
        if let Err(msg) = &e.record {
            sink.event(Event::Warning(format!("ignoring unreadable record: {msg}")));
        }
    }

    let plan = match (mode, target) {
        (Mode::Rollback { to }, _) => {
            let mut plan = rollback_target(&entries, to)?;
            plan.notes = rollback_notes(&bundle, &release, &plan);
            plan
        }
        (_, Some((t, layers, first))) => {
            let rendered = with_generated_secrets(&cluster, &bundle, &t, first).await?;
            Plan {
                env: env.clone(),
                layers,
                merged: t.values.merged.clone(),
                objects: rendered.objects,
                notes: rendered.notes,
                rollback_of: None,
            }
        }
        (_, None) => unreachable!("install and upgrade always render"),
    };
    let objects: Vec<Object> = match mode {
        // Hooks run on rollback only when annotated for it.
        Mode::Rollback { .. } => plan
            .objects
            .iter()
            .filter(|o| runs_on_rollback(o))
            .cloned()
            .collect(),
        _ => plan.objects.clone(),
    };

    let revision = history::next_revision(&entries);
    let previous = history::last_deployed(&entries).cloned();
    state.previous = previous.as_ref().map(|p| p.revision);
    let now = record::now_rfc3339();
    let mut rec = Record {
        schema_version: SCHEMA_VERSION,
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        environment: plan.env.clone(),
        revision,
        status: match (mode, &previous) {
            (Mode::Rollback { .. }, _) => Status::PendingRollback,
            (_, Some(_)) => Status::PendingUpgrade,
            (_, None) => Status::PendingInstall,
        },
        description: String::new(),
        first_deployed: previous
            .as_ref()
            .map_or(now.clone(), |p| p.first_deployed.clone()),
        last_deployed: now,
        values: RecordValues {
            layers: plan.layers.clone(),
            merged: plan.merged.clone(),
        },
        manifest: manifest::to_stream(&plan.objects),
        inventory: plan
            .objects
            .iter()
            .map(|o| InventoryEntry::from(&o.id()))
            .collect(),
        rollback_of: plan.rollback_of,
        thebot_version: env!("CARGO_PKG_VERSION").to_string(),
        by: record::who(),
        digest: String::new(),
    };
    // The size limit is checked here, before anything is applied.
    check_lock(state)?;
    let rv = store.create(&mut rec).await?;
    state.pending = Some((rec.clone(), rv));
    state.recorded = Some(revision);
    sink.event(Event::Info(format!(
        "revision {revision} recorded {}",
        rec.status
    )));

    let ids: Vec<_> = objects.iter().map(Object::id).collect();
    let live = LiveIndex::snapshot(&cluster.client, &discovery, &ids, &release.namespace).await?;
    let release_key = format!("{}/{}", release.namespace, release.name);
    let foreign = ownership::foreign_objects(&objects, &live, &release_key);
    let mut force_for = Vec::new();
    if !foreign.is_empty() {
        if !opts.take_ownership {
            return Err(OpError::Failed(foreign_message(&foreign)));
        }
        for f in &foreign {
            sink.event(Event::Warning(format!(
                "taking ownership of {} (was: {})",
                f.object, f.owner
            )));
        }
        force_for = objects
            .iter()
            .filter(|o| foreign.iter().any(|f| f.object == o.id().to_string()))
            .map(Object::id)
            .collect();
    }

    let stages = Stages {
        cluster: &cluster,
        discovery: &discovery,
        live: &live,
        opts,
        force_for: &force_for,
        release: &release,
        deadline,
    };
    let mut changes = stages.run(&objects, state, sink).await?;
    if let Some(prev) = &previous {
        check_lock(state)?;
        changes.extend(
            prune::prune(
                &cluster,
                &discovery,
                prev,
                &plan.objects,
                opts.apply.dry_run,
                sink,
            )
            .await,
        );
    }

    check_lock(state)?;
    let (mut done, rv) = state.pending.take().expect("pending revision");
    done.status = Status::Deployed;
    done.description = opts
        .description
        .clone()
        .unwrap_or_else(|| match plan.rollback_of {
            Some(n) => format!("Rollback to {n}"),
            None => format!("{} complete", verb(mode, done.revision)),
        });
    done.last_deployed = record::now_rfc3339();
    if let Err(e) = store.update(&mut done, &rv).await {
        state.pending = Some((done.clone(), rv));
        return Err(e.into());
    }
    supersede(&store, &entries, revision, sink).await;
    if opts.history_max > 0 && entries.len() + 1 > opts.history_max {
        prune_history(&store, opts.history_max, sink).await;
    }
    Ok((done, changes, plan.notes))
}

/// Whether an object is applied on rollback: everything but hook Jobs not
/// annotated for rollback (a migration is not re-run backwards).
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
    Ok(Plan {
        env: record.environment.clone(),
        layers: record.values.layers.clone(),
        merged: record.values.merged.clone(),
        objects: manifest::from_stream(&record.manifest).map_err(|e| {
            OpError::Failed(format!(
                "revision {}: its manifest cannot be read: {e}",
                record.revision
            ))
        })?,
        notes: String::new(),
        rollback_of: Some(record.revision),
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

/// (release, environment, layers replayed from the previous revision).
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
            previous_layers(
                &Store::new(cluster.client.clone(), &release.namespace, &release.name)
                    .entries()
                    .await?,
            )
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
    let entries = Store::new(cluster.client.clone(), &release.namespace, &release.name)
        .entries()
        .await?;
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

fn check_mode(mode: Mode, release: &ReleaseRef, entries: &[Entry]) -> Result<(), OpError> {
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

/// Revisions left pending by a client that died: we hold the lock now, so
/// nobody is working on them.
async fn fail_dangling(store: &Store, entries: &[Entry], sink: &dyn Sink) {
    for e in entries {
        let Ok(r) = &e.record else { continue };
        if !r.status.is_pending() {
            continue;
        }
        let mut r = r.clone();
        r.status = Status::Failed;
        r.description =
            "interrupted: the client running this operation stopped before it finished".into();
        match store.update(&mut r, &e.resource_version).await {
            Ok(_) => sink.event(Event::Warning(format!(
                "revision {} was left pending by a stopped client: marked failed",
                r.revision
            ))),
            Err(err) => sink.event(Event::Warning(format!(
                "could not mark dangling revision {} failed: {err}",
                r.revision
            ))),
        }
    }
}

fn check_lock(state: &InFlight) -> Result<(), OpError> {
    match &state.lock {
        Some(l) => Ok(l.check()?),
        None => Ok(()),
    }
}

async fn with_generated_secrets(
    cluster: &Cluster,
    bundle: &Bundle,
    target: &Target,
    first: Rendered,
) -> Result<Rendered, OpError> {
    let s = &target.values.merged["secrets"];
    let generate = s.get("generate").and_then(Value::as_bool).unwrap_or(false);
    let external = s
        .get("existingSecret")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    let keys: Vec<&str> = secrets::GENERATED_KEYS
        .iter()
        .copied()
        .filter(|k| {
            s.get(*k)
                .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        })
        .collect();
    if !generate || external || keys.is_empty() {
        return Ok(first);
    }
    let labels = [
        ("app.kubernetes.io/name", "thebot"),
        ("app.kubernetes.io/instance", target.release.name.as_str()),
        ("app.kubernetes.io/component", "generated"),
        ("app.kubernetes.io/managed-by", "thebot"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let values = generated::ensure(
        cluster.client.clone(),
        &target.release.namespace,
        &target.release.name,
        &keys,
        labels,
    )
    .await?;
    Ok(render::render(
        bundle,
        &target.release,
        &target.values.merged,
        Some(&values),
    )?)
}

async fn create_namespace(
    cluster: &Cluster,
    namespace: &str,
    sink: &dyn Sink,
) -> Result<(), OpError> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: kube::Api<Namespace> = kube::Api::all(cluster.client.clone());
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(namespace.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&kube::api::PostParams::default(), &ns).await {
        Ok(_) => {
            sink.event(Event::Info(format!("created namespace {namespace}")));
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(OpError::Failed(format!(
            "cannot create namespace {namespace}: {}",
            apply::describe(&e)
        ))),
    }
}

fn foreign_message(foreign: &[ownership::Foreign]) -> String {
    let mut lines =
        vec!["these objects already exist and do not belong to this release:".to_string()];
    for f in foreign {
        lines.push(format!("  {} (owner: {})", f.object, f.owner));
        if let Some(h) = &f.hint {
            lines.push(format!("    {h}"));
        }
    }
    lines.push("Adopt them with --take-ownership, or rename or delete them.".into());
    lines.join("\n")
}

/// Applying (and waiting for) the stages of one render.
struct Stages<'a> {
    cluster: &'a Cluster,
    discovery: &'a Discovery,
    live: &'a LiveIndex,
    opts: &'a DeployOptions,
    force_for: &'a [crate::manifest::ObjectId],
    release: &'a ReleaseRef,
    deadline: tokio::time::Instant,
}

impl Stages<'_> {
    async fn run(
        &self,
        objects: &[Object],
        state: &mut InFlight,
        sink: &dyn Sink,
    ) -> Result<Vec<Change>, OpError> {
        let mut waiting = match self.opts.wait {
            true => Some(
                waiting::Waiting::start(
                    self.cluster,
                    self.discovery,
                    objects,
                    &self.release.name,
                    &self.release.namespace,
                    waiting::WaitSettings {
                        skip_load_balancers: self.opts.skip_load_balancers,
                        fail_on_unschedulable: self.opts.fail_on_unschedulable,
                        log_lines: self.opts.log_lines,
                    },
                )
                .await,
            ),
            false => None,
        };
        let mut changes = Vec::new();
        for stage in [Stage::Config, Stage::Data, Stage::Prepare, Stage::App] {
            let batch: Vec<&Object> = objects
                .iter()
                .filter(|o| plan::stage_of(o) == stage)
                .collect();
            if batch.is_empty() {
                continue;
            }
            check_lock(state)?;
            sink.event(Event::StageStarted {
                stage,
                objects: batch.len(),
            });
            if stage == Stage::Prepare {
                waiting::retry_failed_hooks(self.cluster, self.discovery, &batch, self.live, sink)
                    .await?;
            }
            let handovers = handover::needed(&batch, self.live);
            if !handovers.is_empty() {
                handover::hand_over(
                    &self.cluster.client,
                    self.discovery,
                    &handovers,
                    self.opts.apply.dry_run,
                )
                .await
                .map_err(OpError::Failed)?;
                for (o, replicas) in &handovers {
                    sink.event(Event::Info(format!(
                        "{}: spec.replicas ({replicas}) handed to the autoscaler",
                        o.id()
                    )));
                }
            }
            let apply::Applied {
                changes: applied,
                replaced,
            } = apply::apply(
                &self.cluster.client,
                self.discovery,
                &batch,
                self.live,
                &self.opts.apply,
                self.force_for,
            )
            .await?;
            for r in &replaced {
                sink.event(Event::Info(r.to_string()));
            }
            self.take_fields(&batch, sink).await?;
            sink.event(Event::StageApplied {
                stage,
                changes: applied.clone(),
            });
            state.created.extend(
                applied
                    .iter()
                    .filter(|c| c.action == crate::apply::Action::Created)
                    .map(|c| c.id.clone()),
            );
            if let Some(w) = waiting.as_mut() {
                let awaited = w
                    .wait_stage(self.cluster, &batch, &applied, self.deadline, sink)
                    .await?;
                sink.event(Event::StageReady {
                    stage,
                    objects: awaited,
                });
                if stage == Stage::Prepare {
                    waiting::delete_old_hooks(
                        self.cluster,
                        self.discovery,
                        &batch,
                        &self.release.name,
                        &self.release.namespace,
                        sink,
                    )
                    .await;
                }
            }
            changes.extend(applied);
        }
        Ok(changes)
    }

    /// After a stage's apply, the objects taken over with
    /// `--take-ownership` also lose their previous managers' fields to
    /// thebot, so that what only those set is pruned by the next apply.
    async fn take_fields(&self, batch: &[&Object], sink: &dyn Sink) -> Result<(), OpError> {
        let taken: Vec<_> = batch
            .iter()
            .map(|o| o.id())
            .filter(|id| self.force_for.contains(id))
            .collect();
        if taken.is_empty() || self.opts.apply.dry_run {
            return Ok(());
        }
        let moved = ownership::take_fields(&self.cluster.client, self.discovery, &taken)
            .await
            .map_err(OpError::Failed)?;
        for (id, managers) in moved {
            sink.event(Event::Info(format!(
                "{id}: fields owned by {} now belong to thebot (the next upgrade removes those thebot does not render)",
                managers.join(", ")
            )));
        }
        Ok(())
    }
}

async fn supersede(store: &Store, entries: &[Entry], revision: u32, sink: &dyn Sink) {
    for e in entries {
        let Ok(r) = &e.record else { continue };
        if r.status != Status::Deployed || r.revision == revision {
            continue;
        }
        let mut r = r.clone();
        r.status = Status::Superseded;
        if let Err(err) = store.update(&mut r, &e.resource_version).await {
            sink.event(Event::Warning(format!(
                "could not mark revision {} superseded: {err}",
                r.revision
            )));
        }
    }
}

async fn prune_history(store: &Store, max: usize, sink: &dyn Sink) {
    let entries = match store.entries().await {
        Ok(e) => e,
        Err(e) => {
            sink.event(Event::Warning(format!("history not pruned: {e}")));
            return;
        }
    };
    for revision in history::to_prune(&entries, max) {
        if let Err(e) = store.delete(revision).await {
            sink.event(Event::Warning(format!("history not pruned: {e}")));
            return;
        }
    }
}

//! `thebot diff`: what an upgrade would change. Every object of the new
//! render is applied with `dryRun=All` and the server's answer is compared
//! with the live object (never the render with live: the server defaults
//! and canonicalises, `1000m` becomes `1`). Secret data is masked: changed
//! keys show, values (and hashes of them) never. managedFields, resourceVersion, generation,
//! uid, timestamps and status are left out.

use kube::api::{Patch, PatchParams, ValidationDirective};
use serde::Serialize;
use serde_json::Value;

use super::session;
use super::{LayerArg, OpError, read_layers};
use crate::apply::live::LiveIndex;
use crate::apply::{FIELD_MANAGER, api_for, comparable, describe, replace};
use crate::bundle::Bundle;
use crate::cluster::{Cluster, ConnectOptions, Discovery};
use crate::manifest::Object;
use crate::release::store::Store;
use crate::release::{generated, history};
use crate::{environment, render, ui, yaml};

#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub env: Option<String>,
    pub layers: Vec<LayerArg>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub connect: ConnectOptions,
    pub manifests: Option<std::path::PathBuf>,
    pub releases: Option<std::path::PathBuf>,
}

/// The differences, object by object.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Changed objects whose change touches a field that cannot change:
    /// an upgrade needs `--force-replace` (also listed in `changed`).
    pub replace: Vec<String>,
    /// Unified diffs of the changed objects.
    #[serde(skip)]
    pub text: String,
}

impl DiffReport {
    pub fn has_changes(&self) -> bool {
        !(self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty())
    }
}

/// Secret values become `(masked)`, or `(masked, changed)` on the new
/// side when they differ: which keys change shows, no value (nor a hash
/// of one) does.
fn mask_secret_pair(old: &mut Value, new: &mut Value) {
    for field in ["data", "stringData"] {
        let before = old
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(map) = new.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                let same = before.get(k) == Some(&*v);
                *v = Value::String(
                    if same {
                        "(masked)"
                    } else {
                        "(masked, changed)"
                    }
                    .into(),
                );
            }
        }
        if let Some(map) = old.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String("(masked)".into());
            }
        }
    }
}

/// `render` laid over `live`: maps merged key by key, lists of the same
/// length item by item, anything else replaced. An approximation of the
/// apply, for objects the server will not dry-run in place.
fn overlay(mut live: Value, render: &Value) -> Value {
    match (&mut live, render) {
        (Value::Object(l), Value::Object(r)) => {
            for (k, v) in r {
                match l.get_mut(k) {
                    Some(slot) => *slot = overlay(slot.take(), v),
                    None => {
                        l.insert(k.clone(), v.clone());
                    }
                }
            }
            live
        }
        // Lists of the same length are taken item by item, so the server's
        // defaults inside them (probe thresholds, volumeMode) stay.
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => {
            for (slot, v) in l.iter_mut().zip(r) {
                *slot = overlay(slot.take(), v);
            }
            live
        }
        _ => render.clone(),
    }
}

pub async fn diff(opts: &DiffOptions) -> Result<DiffReport, OpError> {
    let bundle =
        Bundle::embedded().with_dirs(opts.manifests.as_deref(), opts.releases.as_deref())?;
    let layers = read_layers(&opts.layers)?;
    let cluster = session::connect(&opts.connect).await?;
    let (env, name, namespace) = which_release(opts, &bundle, &cluster).await?;
    let target = environment::resolve_in(
        &bundle,
        &env,
        &layers,
        Some(&name),
        Some(&namespace),
        &namespace,
    )?;
    super::preflight::check_values(
        &bundle,
        &target.release,
        &target.values.merged,
        "nothing was compared",
    )?;
    // The generated secrets as they are (read only: a diff creates nothing).
    let generated_values = generated::read(cluster.client.clone(), &namespace, &name).await;
    let mut rendered = render::render(
        &bundle,
        &target.release,
        &target.values.merged,
        generated_values.as_ref(),
    )?;
    // The backup Job is run by the engine under its own name, never applied as rendered.
    rendered.objects.retain(|o| !crate::plan::is_engine_job(o));

    let discovery = session::discover(&cluster).await?;
    let ids: Vec<_> = rendered.objects.iter().map(Object::id).collect();
    discovery.check(&ids, &cluster.server)?;
    let live = LiveIndex::snapshot(&cluster.client, &discovery, &ids, &namespace).await?;

    let mut report = DiffReport::default();
    let mut refusals = Vec::new();
    for o in &rendered.objects {
        if let Err(refused) = compare(&cluster, &discovery, &live, o, &mut report).await {
            refusals.push(refused);
        }
    }
    // Objects of the deployed revision the new render no longer has.
    let entries = Store::new(cluster.client.clone(), &namespace, &name)
        .entries()
        .await?;
    if let Some(prev) = history::last_deployed(&entries) {
        let (delete, _) = super::prune::prune_set(prev, &rendered.objects);
        report.removed = delete.iter().map(ToString::to_string).collect();
    }
    if !refusals.is_empty() {
        return Err(OpError::Failed(format!(
            "the server refuses the new render:\n{}",
            refusals.join("\n")
        )));
    }
    Ok(report)
}

/// (environment, release, namespace): from ENV, or from the release
/// found without it and the environment its latest record names.
async fn which_release(
    opts: &DiffOptions,
    bundle: &Bundle,
    cluster: &Cluster,
) -> Result<(String, String, String), OpError> {
    if let Some(env) = &opts.env {
        let t = environment::resolve_in(
            bundle,
            env,
            &[],
            opts.name.as_deref(),
            opts.namespace.as_deref(),
            &cluster.context_namespace,
        )?;
        return Ok((env.clone(), t.release.name, t.release.namespace));
    }
    let r = session::find_release(
        cluster,
        bundle,
        opts.name.as_deref(),
        opts.namespace.as_deref(),
    )
    .await?;
    let entries = Store::new(cluster.client.clone(), &r.namespace, &r.name)
        .entries()
        .await?;
    let env = entries
        .iter()
        .rev()
        .find_map(|e| e.record.as_ref().ok().map(|rec| rec.environment.clone()))
        .ok_or_else(|| OpError::Failed("the release has no readable revision: pass ENV".into()))?;
    Ok((env, r.name, r.namespace))
}

/// Adds one object's change to `report` (dry-run apply against the live
/// object); `Err`: the server's refusal, named.
async fn compare(
    cluster: &Cluster,
    discovery: &Discovery,
    live: &LiveIndex,
    o: &Object,
    report: &mut DiffReport,
) -> Result<(), String> {
    let id = o.id();
    let Some(before) = live.get(&id) else {
        report.added.push(id.to_string());
        return Ok(());
    };
    let Some(api) = api_for(&cluster.client, discovery, &id) else {
        return Ok(());
    };
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        force: false,
        field_validation: Some(ValidationDirective::Strict),
        dry_run: true,
    };
    let after = match api.patch(&id.name, &pp, &Patch::Apply(&o.value)).await {
        Ok(a) => serde_json::to_value(&a).unwrap_or(Value::Null),
        Err(e) => {
            let changed = replace::changed_fields(o, &before.value);
            let Some(fields) = replace::immutable_change(&e, &changed) else {
                return Err(format!("{id}: {}", describe(&e)));
            };
            // The server will not dry-run it in place: show the render
            // laid over the live object, and say what it takes.
            report.replace.push(id.to_string());
            report.text.push_str(&format!(
                "# {id}: {} cannot change in place; `upgrade --force-replace` deletes and recreates it{} (shown: the render laid over the live object)\n",
                fields.join(", "),
                if replace::Policy::of(&id) == replace::Policy::Orphan {
                    " (its pods are kept)"
                } else {
                    ""
                }
            ));
            overlay(before.value.clone(), &o.value)
        }
    };
    let (mut old, mut new) = (comparable(before.value.clone()), comparable(after));
    if id.kind == "Secret" {
        mask_secret_pair(&mut old, &mut new);
    }
    let (old, new) = (yaml::to_yaml(&old), yaml::to_yaml(&new));
    let d = ui::diff::unified(&old, &new, &format!("live {id}"), &format!("new {id}"), 3);
    if !d.is_empty() {
        report.changed.push(id.to_string());
        report.text.push_str(&d);
    }
    Ok(())
}

#[cfg(test)]
mod overlay_tests {
    use serde_json::json;

    #[test]
    fn the_render_is_laid_over_the_live_object_in_place() {
        let live = json!({"spec": {"replicas": 1, "serviceName": "db", "volumeClaimTemplates": [{"size": "1Gi", "mode": "rwo"}]}, "status": {"ready": 1}});
        let render = json!({"spec": {"replicas": 1, "volumeClaimTemplates": [{"size": "10Gi"}]}});
        let merged = super::overlay(live.clone(), &render);
        assert_eq!(
            merged,
            json!({"spec": {"replicas": 1, "serviceName": "db", "volumeClaimTemplates": [{"size": "10Gi", "mode": "rwo"}]}, "status": {"ready": 1}})
        );
        // A list of another length is the render's.
        let render = json!({"spec": {"volumeClaimTemplates": [{"size": "2Gi"}, {"size": "3Gi"}]}});
        assert_eq!(
            super::overlay(live, &render)["spec"]["volumeClaimTemplates"],
            json!([{"size": "2Gi"}, {"size": "3Gi"}])
        );
        let keys: Vec<&String> = merged["spec"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["replicas", "serviceName", "volumeClaimTemplates"],
            "key order kept"
        );
    }
}

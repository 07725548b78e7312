//! Checks made before the lock is taken and before any record is
//! written: the lint's error rules over the whole render (`ops::preflight`),
//! the mode against the records (when ENV named the release), every
//! object's kind against the server's discovery; then the namespace is
//! created when asked (it is never part of the release).

use super::identify::{check_mode, entries};
use super::plan::Draft;
use super::{DeployOptions, Mode};
use crate::apply;
use crate::bundle::Bundle;
use crate::cluster::{Cluster, Discovery};
use crate::manifest::Object;
use crate::ops::OpError;
use crate::ops::events::{Event, Sink};
use crate::ops::preflight::{Preflight, dry_run_all};
use crate::ops::session;

/// Phase 2: the draft is known to be good for this server.
pub async fn check(
    mode: Mode,
    opts: &DeployOptions,
    cluster: &Cluster,
    draft: &Draft,
    bundle: &Bundle,
    sink: &dyn Sink,
) -> Result<Discovery, OpError> {
    let passed = draft.lint(bundle)?;
    if passed.warnings > 0 {
        sink.event(Event::Info(format!(
            "preflight passed with {} lint warning{} (`thebot lint` lists them)",
            passed.warnings,
            if passed.warnings == 1 { "" } else { "s" }
        )));
    }
    // Said before anything else, even when the namespace is missing.
    // Without ENV, finding the release already required its records.
    if mode
        == (Mode::Upgrade {
            install_missing: false,
        })
        && opts.env.is_some()
    {
        check_mode(
            mode,
            &draft.release,
            &entries(cluster, &draft.release).await?,
        )?;
    }
    let discovery = session::discover(cluster).await?;
    let ids: Vec<_> = draft.objects().iter().map(Object::id).collect();
    discovery.check(&ids, &cluster.server)?;
    if opts.create_namespace {
        create_namespace(cluster, &draft.release.namespace, sink).await?;
    }
    if opts.preflight == Preflight::Server {
        let n = dry_run_all(
            cluster,
            &discovery,
            draft.objects(),
            &draft.release.namespace,
            &opts.apply,
        )
        .await?;
        sink.event(Event::Info(format!(
            "preflight (server): the cluster accepts all {n} objects in a dry run"
        )));
    }
    Ok(discovery)
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

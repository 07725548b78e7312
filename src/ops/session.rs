//! The shared start of every cluster command: connect, find the release
//! (with or without ENV), discover once.

use crate::bundle::Bundle;
use crate::cluster::{self, Cluster, ConnectOptions, Discovery};
use crate::environment;
use crate::release::store;

use super::OpError;

/// Which release a command without ENV works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRef {
    pub name: String,
    pub namespace: String,
}

/// Connects to the cluster of the kubeconfig.
pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, OpError> {
    Ok(cluster::connect(opts).await?)
}

/// Discovers the server (one discovery per run).
pub async fn discover(cluster: &Cluster) -> Result<Discovery, OpError> {
    Ok(cluster::discovery::discover(cluster).await?)
}

/// Finds the release for commands run without ENV: `--name` or the one
/// release of the namespace named by an environment file; `--namespace`
/// or the context's namespace. When none is found, the visible releases
/// are listed.
pub async fn find_release(
    cluster: &Cluster,
    bundle: &Bundle,
    name: Option<&str>,
    namespace: Option<&str>,
) -> Result<ReleaseRef, OpError> {
    let namespace = namespace.unwrap_or(&cluster.context_namespace).to_string();
    let present: Vec<String> = store::list_releases(cluster.client.clone(), Some(&namespace))
        .await?
        .into_iter()
        .map(|(_, n, _)| n)
        .collect();
    if let Some(n) = name {
        if present.iter().any(|p| p == n) {
            return Ok(ReleaseRef {
                name: n.to_string(),
                namespace,
            });
        }
        return Err(not_found(
            cluster,
            &format!("release {n} not found in namespace {namespace}"),
        )
        .await);
    }
    let defaults: Vec<String> = environment::default_release_names(bundle)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let known: Vec<&String> = present.iter().filter(|p| defaults.contains(p)).collect();
    let chosen = match (known.as_slice(), present.as_slice()) {
        ([one], _) => Some((*one).clone()),
        ([], [one]) => Some(one.clone()),
        _ => None,
    };
    match chosen {
        Some(n) => Ok(ReleaseRef { name: n, namespace }),
        None if present.len() > 1 => Err(OpError::Failed(format!(
            "namespace {namespace} holds several releases ({}): pass --name",
            present.join(", ")
        ))),
        None => Err(not_found(
            cluster,
            &format!("no thebot release in namespace {namespace}"),
        )
        .await),
    }
}

async fn not_found(cluster: &Cluster, what: &str) -> OpError {
    let visible = match store::list_releases(cluster.client.clone(), None).await {
        Ok(all) if all.is_empty() => "no release is visible in any namespace".to_string(),
        Ok(all) => format!(
            "visible releases:\n{}",
            all.iter()
                .map(|(ns, n, _)| format!("  {n} (namespace {ns}): --name {n} -n {ns}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Err(_) => "listing releases in all namespaces is not allowed for this user".to_string(),
    };
    OpError::Failed(format!("{what}; {visible}"))
}

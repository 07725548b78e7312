//! The shared start of every cluster command: connect, find the release
//! (with or without ENV), discover once.

use crate::bundle::Bundle;
use crate::cluster::{self, Cluster, ConnectOptions, Discovery};
use crate::environment;
use crate::release::{lock, record, store};

use super::OpError;
use super::events::{Event, Sink};

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

/// Takes the release's lock as this process (`user@host/pid`, which lets
/// a later run on this host see that the process is gone), waiting up to
/// `wait` for a live holder; a takeover is said as a warning.
pub async fn lock(
    cluster: &Cluster,
    release: &ReleaseRef,
    wait: Option<std::time::Duration>,
    sink: &dyn Sink,
) -> Result<lock::Lock, OpError> {
    let holder = format!("{}/{}", record::who(), std::process::id());
    let (lock, how) = lock::acquire(
        cluster.client.clone(),
        &release.namespace,
        &release.name,
        &holder,
        wait,
    )
    .await?;
    if let lock::Acquired::TakenOver { .. } = &how {
        sink.event(Event::Warning(how.describe()));
    }
    Ok(lock)
}

/// Finds the release for commands run without ENV, in this order:
/// `--name`/`-n` when given; else the one release of the kubeconfig
/// context's namespace (preferring one an environment file names); else
/// one cluster-wide LIST of release records: exactly one visible release
/// is used (and said on stderr), several are listed and refused. thebot
/// never picks between two releases.
pub async fn find_release(
    cluster: &Cluster,
    bundle: &Bundle,
    name: Option<&str>,
    namespace: Option<&str>,
) -> Result<ReleaseRef, OpError> {
    let explicit_ns = namespace.is_some();
    let namespace = namespace.unwrap_or(&cluster.context_namespace).to_string();
    let present: Vec<String> =
        match store::list_releases(cluster.client.clone(), Some(&namespace)).await {
            Ok(found) => found.into_iter().map(|(_, n, _)| n).collect(),
            // The context's namespace may be one this user cannot read:
            // look further unless the user named it.
            Err(e) if !explicit_ns && forbidden(&e) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
    if let Some(n) = name {
        if present.iter().any(|p| p == n) {
            return Ok(ReleaseRef {
                name: n.to_string(),
                namespace,
            });
        }
        if !explicit_ns {
            return only_visible(
                cluster,
                Some(n),
                &format!("release {n} not found in namespace {namespace}"),
            )
            .await;
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
        None if explicit_ns => Err(not_found(
            cluster,
            &format!("no thebot release in namespace {namespace}"),
        )
        .await),
        None => {
            only_visible(
                cluster,
                None,
                &format!("no thebot release in namespace {namespace}"),
            )
            .await
        }
    }
}

/// The one release (named `name`, when given) visible in any namespace,
/// from one cluster-wide LIST; several, none, or a refused list are errors
/// that say what the user can pass instead.
async fn only_visible(
    cluster: &Cluster,
    name: Option<&str>,
    what: &str,
) -> Result<ReleaseRef, OpError> {
    let all = match store::list_releases(cluster.client.clone(), None).await {
        Ok(all) => all,
        Err(e) => return Err(OpError::Failed(format!("{what}; {}", list_refused(&e)))),
    };
    let matching: Vec<&(String, String, store::Entry)> = all
        .iter()
        .filter(|(_, n, _)| name.is_none_or(|want| want == n))
        .collect();
    match matching.as_slice() {
        [(ns, n, _)] => {
            crate::ui::notice(&format!(
                "using release {n} in namespace {ns}, the only one visible"
            ));
            Ok(ReleaseRef {
                name: n.clone(),
                namespace: ns.clone(),
            })
        }
        [] if all.is_empty() => Err(OpError::Failed(format!(
            "{what}; no release is visible in any namespace"
        ))),
        [] => Err(OpError::Failed(format!("{what}; {}", visible(&all)))),
        several => Err(OpError::Failed(format!(
            "{what}, and several releases are visible: pass --name and -n to choose one\n{}",
            several
                .iter()
                .map(|(ns, n, _)| format!("  {n} (namespace {ns}): --name {n} -n {ns}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

fn visible(all: &[(String, String, store::Entry)]) -> String {
    format!(
        "visible releases:\n{}",
        all.iter()
            .map(|(ns, n, _)| format!("  {n} (namespace {ns}): --name {n} -n {ns}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Why the cluster-wide list failed, with the way around it.
fn forbidden(e: &store::StoreError) -> bool {
    matches!(
        e,
        store::StoreError::Api { source: kube::Error::Api(s), .. } if s.code == 403
    )
}

fn list_refused(e: &store::StoreError) -> String {
    if forbidden(e) {
        "listing releases in all namespaces is not allowed for this user; pass -n NAMESPACE (and --name RELEASE) to avoid that list".to_string()
    } else {
        format!("cannot list releases in all namespaces: {e}")
    }
}

async fn not_found(cluster: &Cluster, what: &str) -> OpError {
    let visible = match store::list_releases(cluster.client.clone(), None).await {
        Ok(all) if all.is_empty() => "no release is visible in any namespace".to_string(),
        Ok(all) => visible(&all),
        Err(e) => list_refused(&e),
    };
    OpError::Failed(format!("{what}; {visible}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> store::StoreError {
        store::StoreError::Api {
            what: "cannot list".into(),
            namespace: "(all)".into(),
            source: kube::Error::Api(Box::new(kube::core::Status {
                code,
                message: "secrets is forbidden".into(),
                reason: "Forbidden".into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn a_refused_cluster_wide_list_says_how_to_avoid_it() {
        let msg = list_refused(&api_error(403));
        assert!(msg.contains("not allowed"), "{msg}");
        assert!(msg.contains("pass -n NAMESPACE"), "{msg}");
        let other = list_refused(&api_error(500));
        assert!(!other.contains("pass -n"), "{other}");
    }
}

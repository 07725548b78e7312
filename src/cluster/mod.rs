//! Cluster access: kubeconfig as users expect it, one discovery per run,
//! and the capability check that runs before anything is locked.

pub mod api_log;
pub mod discovery;
pub mod retry;

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

pub use discovery::{Discovery, Resource};

/// What thebot calls itself on every request, as kubectl and Helm do, so
/// that audit logs and API priority-and-fairness rules can tell it apart
/// (the field manager stays `thebot`).
pub fn user_agent() -> String {
    format!(
        "thebot/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// How to reach the cluster (the kubectl-like flags).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig` (else `KUBECONFIG`, several files merged, else ~/.kube/config).
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-context`.
    pub context: Option<String>,
    /// `--as`: impersonate this user.
    pub as_user: Option<String>,
    /// `--as-group` (repeatable).
    pub as_groups: Vec<String>,
}

/// A connected client and what the kubeconfig said.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The current context's namespace ("default" when it names none).
    pub context_namespace: String,
    /// The API server URL, for messages.
    pub server: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no kubeconfig: set KUBECONFIG or pass --kubeconfig PATH (for a local simulator: kubesim --kubeconfig-out PATH)"
    )]
    NoKubeconfig,
    #[error("cannot read the kubeconfig{}: {source}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig {
        path: Option<PathBuf>,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot create a client for {server}: {source}")]
    Client {
        server: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}")]
    Discovery(String),
    #[error("the cluster at {server} cannot run this release:\n{}", missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n"))]
    Capability {
        server: String,
        missing: Vec<String>,
    },
}

/// Connects with the user's kubeconfig (no request is sent yet).
pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, ClusterError> {
    let default_exists = kube::config::Kubeconfig::from_env()
        .ok()
        .flatten()
        .is_some()
        || std::env::var_os("HOME")
            .is_some_and(|h| std::path::Path::new(&h).join(".kube/config").exists());
    if opts.kubeconfig.is_none() && !default_exists {
        return Err(ClusterError::NoKubeconfig);
    }
    let kubeconfig = match &opts.kubeconfig {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
    .map_err(|source| ClusterError::Kubeconfig {
        path: opts.kubeconfig.clone(),
        source,
    })?;
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|source| ClusterError::Kubeconfig {
            path: opts.kubeconfig.clone(),
            source,
        })?;
    if let Some(user) = &opts.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !opts.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(opts.as_groups.clone());
    }
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&user_agent()).expect("a header-safe agent"),
    ));
    let server = config.cluster_url.to_string();
    crate::log::line(1, || {
        format!("API server {server}, User-Agent {}", user_agent())
    });
    let context_namespace = config.default_namespace.clone();
    // kube's retry layer is rebuilt outside the logging one, so `-v` shows
    // every attempt and `-vv` says when a retry is made.
    config.default_retry = false;
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|source| ClusterError::Client {
            server: server.clone(),
            source,
        })?;
    let client = builder
        .with_layer(&api_log::ApiLogLayer::new(&server))
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(
            api_log::LoggedRetry::server(),
        ))
        .build();
    Ok(Cluster {
        client,
        context_namespace,
        server,
    })
}

//! Starting and stopping an instance: certificates, the loopback listener,
//! the bootstrap objects, and a thread with its own runtime that serves
//! until the [`Instance`] is dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::auth::Tokens;
use crate::sim::{Sim, Timing};
use crate::{bootstrap, controllers, gc, kubeconfig, server, tls};

/// How to start an instance.
#[derive(Debug, Clone)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// The admin bearer token; random when `None`.
    pub token: Option<String>,
    /// An optional token whose writes get 403.
    pub read_only_token: Option<String>,
    pub timing: Timing,
    /// Print each request (method, URI, status) on stderr.
    pub log_requests: bool,
    /// Run the controllers, scheduler and kubelet stand-in (default true).
    pub controllers: bool,
    /// Virtual seconds per real second of the controllers' clock: 20 by
    /// default here, so that a pod is Ready 50 ms after it is scheduled
    /// (the binary's `--speed` defaults to 1). 0 is manual: time moves
    /// only by `POST /_sim/advance?seconds=N`.
    pub speed: f64,
    /// Seeds uids and generated names and starts the clock at
    /// 2026-01-01T00:00:00Z, so that a scenario run twice on a manual
    /// clock gives the same object history.
    pub seed: Option<u64>,
    /// Request fault rules active from the start, e.g.
    /// `vec![kubesim::Fault::parse("503,verb=create,resource=configmaps,times=1")?]`
    /// or `kubesim::Fault::new(kubesim::FaultAction::DropAfter).with_verb("create")`.
    /// More can be added, listed and cleared at run time through
    /// `/_sim/faults`.
    pub faults: Vec<crate::faults::Fault>,
    /// `--state FILE`: load the objects and resourceVersion counter from
    /// FILE when it exists (instead of the fresh cluster's objects), and
    /// save them there after each batch of writes (`src/persist.rs`).
    pub state: Option<std::path::PathBuf>,
}

/// The default library speed (virtual seconds per real second).
pub const DEFAULT_SPEED: f64 = 20.0;

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            token: None,
            read_only_token: None,
            timing: Timing::default(),
            log_requests: false,
            controllers: true,
            speed: DEFAULT_SPEED,
            seed: None,
            faults: Vec::new(),
            state: None,
        }
    }
}

/// Why an instance did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] crate::persist::StateError),
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A running kubesim; stops when dropped.
pub struct Instance {
    pub port: u16,
    pub url: String,
    pub token: String,
    pub read_only_token: Option<String>,
    pub ca_pem: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Instance {
    /// A kubeconfig for the admin token.
    pub fn kubeconfig(&self) -> String {
        kubeconfig::render(&self.url, &self.ca_pem, &self.token, None)
    }

    /// A kubeconfig for the read-only token, if there is one.
    pub fn read_only_kubeconfig(&self) -> Option<String> {
        self.read_only_token
            .as_deref()
            .map(|t| kubeconfig::render(&self.url, &self.ca_pem, t, None))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts an instance on a free port with a random token.
pub fn spawn() -> Result<Instance, SpawnError> {
    spawn_with(Options::default())
}

/// Starts an instance with `opts`.
pub fn spawn_with(opts: Options) -> Result<Instance, SpawnError> {
    // With --state, the CA, certificate and token outlive a restart.
    let identity = opts
        .state
        .as_deref()
        .and_then(crate::persist::load_identity);
    let (tls, saved_token) = match identity {
        Some((token, parts)) => (tls::from_parts(parts)?, Some(token)),
        None => (tls::generate()?, None),
    };
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, opts.port)))
        .map_err(|source| SpawnError::Listen {
            port: opts.port,
            source,
        })?;
    let port = listener
        .local_addr()
        .map_err(|source| SpawnError::Listen {
            port: opts.port,
            source,
        })?
        .port();
    listener
        .set_nonblocking(true)
        .map_err(SpawnError::Runtime)?;
    let rng = crate::ids::Rng::default();
    let token = opts
        .token
        .clone()
        .or(saved_token)
        .unwrap_or_else(|| rng.token());
    if let Some(path) = &opts.state
        && let Err(e) = crate::persist::save_identity(path, &token, &tls.parts)
    {
        eprintln!("kubesim: cannot save {}.identity: {e}", path.display());
    }
    let tokens = Tokens {
        admin: token.clone(),
        read_only: opts.read_only_token.clone(),
    };
    let mut sim = Sim::new(tokens, tls.ca_pem.clone(), opts.timing.clone());
    sim.log_requests = opts.log_requests;
    sim.faults = crate::faults::Faults::new(&opts.faults);
    let controllers = opts.controllers.then(|| {
        let start = match opts.seed {
            Some(_) => 1_767_225_600 * controllers::clock::SECOND,
            None => {
                let now = crate::clock::now();
                now.secs * controllers::clock::SECOND + i64::from(now.micros)
            }
        };
        let clock = Arc::new(controllers::clock::VirtualClock::new(start, opts.speed));
        sim.clock = Box::new(controllers::clock::Shared(clock.clone()));
        let (handle, rx) = controllers::channel(clock.clone());
        sim.controllers = Some(handle);
        (clock, rx)
    });
    if let Some(seed) = opts.seed {
        sim.rng = crate::ids::Rng::seeded(seed);
    }
    let sim = Arc::new(sim);
    if let Ok(mut a) = sim.address.lock() {
        *a = format!("127.0.0.1:{port}");
    }
    let loaded = match &opts.state {
        Some(path) => crate::persist::load(path)?,
        None => None,
    };
    match loaded {
        Some((rv, objects)) => sim.store().restore(rv, objects),
        None => bootstrap::populate(&sim),
    }
    if controllers.is_some() {
        controllers::populate(&sim);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kubesim")
        .enable_all()
        .build()
        .map_err(SpawnError::Runtime)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let state = opts.state.clone();
    let acceptor = TlsAcceptor::from(tls.config.clone());
    let thread = std::thread::Builder::new()
        .name(format!("kubesim-{port}"))
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(_) => return,
                };
                tokio::spawn(gc::run(sim.clone()));
                if let Some(path) = state.clone() {
                    tokio::spawn(crate::persist::run(sim.clone(), path));
                }
                if let Some((clock, rx)) = controllers {
                    tokio::spawn(controllers::run(sim.clone(), clock, rx));
                }
                tokio::select! {
                    _ = server::serve(listener, acceptor, sim.clone()) => {}
                    _ = stopped => {}
                }
                // A clean stop (drop, SIGTERM, stdin closed) loses nothing.
                if let Some(path) = &state {
                    crate::persist::save_now(&sim, path);
                }
            });
            runtime.shutdown_background();
        })
        .map_err(SpawnError::Runtime)?;
    Ok(Instance {
        port,
        url: format!("https://127.0.0.1:{port}"),
        token,
        read_only_token: opts.read_only_token,
        ca_pem: tls.ca_pem,
        stop: Some(stop),
        thread: Some(thread),
    })
}

//! The operation lock: a Lease `thebot-lock-<release>` held while an
//! operation runs, renewed every third of its duration, and taken over
//! when it expires, so a killed client never leaves a release stuck
//! (Helm's "another operation is in progress").
//!
//! # Caveats
//! The holder must call [`Lock::check`] before each stage and record
//! write: a holder that lost the Lease (network partition, long pause)
//! must stop, since another operation may now own the release.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

use super::store::preconditions;

/// Default Lease duration (CONVENTIONS); `THEBOT_LEASE_SECONDS` overrides.
pub const DEFAULT_SECONDS: u64 = 30;

pub fn lease_name(release: &str) -> String {
    format!("thebot-lock-{release}")
}

/// The Lease duration in force.
pub fn duration() -> Duration {
    let secs = std::env::var("THEBOT_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_SECONDS);
    Duration::from_secs(secs)
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another operation on release {release} is in progress: held by {holder} since {since}.\n\
         Wait for it (--wait-for-lock 5m), or if you know that process is dead: thebot unlock --name {release} -n {namespace}"
    )]
    Held {
        release: String,
        namespace: String,
        holder: String,
        since: String,
    },
    #[error(
        "lost the lock of release {0} (another operation took it over, or it could not be renewed in time): stopping before changing anything else"
    )]
    Lost(String),
    #[error("{what} the lock (Lease {name}): {}", crate::apply::describe(.source))]
    Api {
        what: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("namespace {0} does not exist: create it, or pass --create-namespace")]
    NoNamespace(String),
}

/// How the Lease was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Fresh,
    /// The Lease of a dead holder was taken over.
    TakenOver {
        holder: String,
        since: String,
        /// Why the holder counts as dead.
        why: Takeover,
    },
}

impl Acquired {
    /// The warning a takeover deserves (empty for a fresh Lease).
    pub fn describe(&self) -> String {
        match self {
            Acquired::Fresh => String::new(),
            Acquired::TakenOver {
                holder,
                since,
                why: Takeover::Expired,
            } => format!(
                "took over an expired lock held by {holder} since {since}: that operation's client is gone"
            ),
            Acquired::TakenOver { holder, since, why } => {
                format!("took over the lock held by {holder} since {since}: {why}")
            }
        }
    }
}

/// Why a held Lease was taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// It had expired.
    Expired,
    /// Its holder ran on this host and its process is gone.
    DeadProcess,
    /// Its holder stopped renewing; thebot waited for it to expire.
    StoppedRenewing,
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Takeover::Expired => "its Lease had expired",
            Takeover::DeadProcess => "its process is no longer running on this host",
            Takeover::StoppedRenewing => "it stopped renewing its Lease",
        })
    }
}

/// What a held Lease tells of its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HolderState {
    Expired,
    /// Same host, and its pid is not running.
    DeadProcess,
    /// Missed two renewals: it expires at this instant.
    Silent(Timestamp),
    Live,
}

/// Judges a Lease held by someone else. `host`: this machine's name;
/// `alive`: whether a pid of this host runs.
fn judge(lease: &Lease, now: Timestamp, host: &str, alive: &dyn Fn(u32) -> bool) -> HolderState {
    if expired(lease, now) {
        return HolderState::Expired;
    }
    let spec = lease.spec.clone().unwrap_or_default();
    if let Some((h, pid)) = spec.holder_identity.as_deref().and_then(parse_holder)
        && h == host
        && pid != std::process::id()
        && !alive(pid)
    {
        return HolderState::DeadProcess;
    }
    let seconds = i64::from(
        spec.lease_duration_seconds
            .unwrap_or(DEFAULT_SECONDS as i32),
    );
    let interval_ms = seconds * 1000 / 3;
    match spec.renew_time.or(spec.acquire_time).map(|t| t.0) {
        Some(last) if last + SignedDuration::from_millis(2 * interval_ms) < now => {
            HolderState::Silent(last + SignedDuration::from_secs(seconds))
        }
        _ => HolderState::Live,
    }
}

/// `user@host/pid` → (host, pid).
fn parse_holder(holder: &str) -> Option<(&str, u32)> {
    let (who, pid) = holder.rsplit_once('/')?;
    let host = who.rsplit_once('@').map_or(who, |(_, h)| h);
    Some((host, pid.parse().ok()?))
}

/// Whether a process of this host runs (Linux: /proc; elsewhere thebot
/// cannot tell, and counts it alive).
fn process_alive(pid: u32) -> bool {
    let proc_dir = std::path::Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return true;
    }
    proc_dir.join(pid.to_string()).exists()
}

fn this_host() -> String {
    let who = super::record::who();
    who.rsplit_once('@')
        .map_or(who.clone(), |(_, h)| h.to_string())
}

/// A held Lease, renewed in the background until released.
pub struct Lock {
    api: Api<Lease>,
    name: String,
    release: String,
    uid: Option<String>,
    state: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    duration: Duration,
}

struct Held {
    resource_version: String,
    renewed: std::time::Instant,
    lease: Lease,
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn expired(lease: &Lease, now: Timestamp) -> bool {
    let spec = lease.spec.clone().unwrap_or_default();
    let seconds = i64::from(
        spec.lease_duration_seconds
            .unwrap_or(DEFAULT_SECONDS as i32),
    );
    let last = spec.renew_time.or(spec.acquire_time).map(|t| t.0);
    match last {
        Some(t) => t + SignedDuration::from_secs(seconds) < now,
        None => true,
    }
}

fn holder_of(lease: &Lease) -> (String, String) {
    let spec = lease.spec.clone().unwrap_or_default();
    (
        spec.holder_identity.unwrap_or_else(|| "(unknown)".into()),
        spec.acquire_time
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| "(unknown)".into()),
    )
}

/// Takes the release's lock. `wait`: how long to wait for a live holder.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    release: &str,
    holder: &str,
    wait: Option<Duration>,
) -> Result<(Lock, Acquired), LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    let duration = duration();
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    let host = this_host();
    let mut announced = false;
    let api_err = |what, source| LockError::Api {
        what,
        name: name.clone(),
        source,
    };
    let fresh = |previous: Option<&Lease>| {
        let transitions = previous
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.lease_transitions)
            .map_or(0, |t| t + 1);
        Lease {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                resource_version: previous.and_then(|p| p.metadata.resource_version.clone()),
                labels: Some(
                    [
                        ("owner".to_string(), "thebot".to_string()),
                        ("name".to_string(), release.to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.to_string()),
                lease_duration_seconds: Some(duration.as_secs() as i32),
                acquire_time: Some(micro_now()),
                renew_time: Some(micro_now()),
                lease_transitions: Some(transitions),
                ..Default::default()
            }),
        }
    };
    loop {
        let (lease, how) = match api.create(&PostParams::default(), &fresh(None)).await {
            Ok(l) => (l, Acquired::Fresh),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let current = match api.get(&name).await {
                    Ok(l) => l,
                    Err(kube::Error::Api(s)) if s.code == 404 => continue,
                    Err(e) => return Err(api_err("cannot read", e)),
                };
                let (prev_holder, since) = holder_of(&current);
                let why = match judge(&current, Timestamp::now(), &host, &process_alive) {
                    HolderState::Expired => Some(Takeover::Expired),
                    HolderState::DeadProcess => Some(Takeover::DeadProcess),
                    HolderState::Silent(until) => {
                        if !announced {
                            announced = true;
                            crate::ui::notice(&format!(
                                "the lock of release {release} is held by {prev_holder}, which stopped renewing it: waiting until it expires ({until}) to take it over"
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                    HolderState::Live => None,
                };
                if let Some(why) = why {
                    // Exactly one contender wins this PUT (resourceVersion precondition).
                    match api
                        .replace(&name, &PostParams::default(), &fresh(Some(&current)))
                        .await
                    {
                        Ok(l) => (
                            l,
                            Acquired::TakenOver {
                                holder: prev_holder,
                                since,
                                why: if announced {
                                    Takeover::StoppedRenewing
                                } else {
                                    why
                                },
                            },
                        ),
                        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => continue,
                        Err(e) => return Err(api_err("cannot take over", e)),
                    }
                } else if deadline.is_some_and(|d| std::time::Instant::now() < d) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                } else {
                    return Err(LockError::Held {
                        release: release.to_string(),
                        namespace: namespace.to_string(),
                        holder: prev_holder,
                        since,
                    });
                }
            }
            Err(kube::Error::Api(s))
                if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
            {
                return Err(LockError::NoNamespace(namespace.to_string()));
            }
            Err(e) => return Err(api_err("cannot create", e)),
        };
        let state = Arc::new(Mutex::new(Held {
            resource_version: lease.metadata.resource_version.clone().unwrap_or_default(),
            renewed: std::time::Instant::now(),
            lease: lease.clone(),
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            api.clone(),
            name.clone(),
            state.clone(),
            lost.clone(),
            duration,
        ));
        let lock = Lock {
            api: api.clone(),
            name: name.clone(),
            release: release.to_string(),
            uid: lease.metadata.uid.clone(),
            state,
            lost,
            renewer,
            duration,
        };
        return Ok((lock, how));
    }
}

async fn renew(
    api: Api<Lease>,
    name: String,
    state: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    duration: Duration,
) {
    let period = (duration / 3).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(period).await;
        let mut lease = state.lock().expect("lock state").lease.clone();
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(micro_now());
        }
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(l) => {
                let mut s = state.lock().expect("lock state");
                s.resource_version = l.metadata.resource_version.clone().unwrap_or_default();
                s.renewed = std::time::Instant::now();
                s.lease = l;
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // Transient: try again next period; `check` notices expiry.
            Err(_) => {}
        }
    }
}

impl Lock {
    /// Fails if the Lease was lost or could not be renewed within its duration.
    pub fn check(&self) -> Result<(), LockError> {
        let stale = self.state.lock().expect("lock state").renewed.elapsed() >= self.duration;
        if self.lost.load(Ordering::SeqCst) || stale {
            return Err(LockError::Lost(self.release.clone()));
        }
        Ok(())
    }

    /// Stops renewing and deletes the Lease if it is still ours.
    pub async fn release(self) -> Result<(), LockError> {
        self.renewer.abort();
        let rv = self
            .state
            .lock()
            .expect("lock state")
            .resource_version
            .clone();
        let dp = preconditions(self.uid.clone(), Some(rv));
        match self.api.delete(&self.name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(LockError::Api {
                what: "cannot release",
                name: self.name.clone(),
                source: e,
            }),
        }
    }
}

/// `thebot unlock`: deletes the Lease whoever holds it; returns its holder.
pub async fn break_lock(
    client: kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<(String, String)>, LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    let current = match api.get(&name).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
        Err(e) => {
            return Err(LockError::Api {
                what: "cannot read",
                name,
                source: e,
            });
        }
    };
    let dp = preconditions(
        current.metadata.uid.clone(),
        current.metadata.resource_version.clone(),
    );
    match api.delete(&name, &dp).await {
        Ok(_) => Ok(Some(holder_of(&current))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(LockError::Api {
            what: "cannot delete",
            name,
            source: e,
        }),
    }
}

/// The holder of the release's Lease, if any: (holder, since, expired).
pub async fn holder(
    client: kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<(String, String, bool)>, LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    match api.get(&name).await {
        Ok(l) => {
            let (h, s) = holder_of(&l);
            Ok(Some((h, s, expired(&l, Timestamp::now()))))
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(LockError::Api {
            what: "cannot read",
            name,
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(renewed_secs_ago: i64, duration: i32) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                lease_duration_seconds: Some(duration),
                renew_time: Some(MicroTime(
                    Timestamp::now() - SignedDuration::from_secs(renewed_secs_ago),
                )),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn held_by(holder: &str, renewed_ms_ago: i64, duration: i32) -> Lease {
        let mut l = lease(0, duration);
        let spec = l.spec.as_mut().unwrap();
        spec.holder_identity = Some(holder.into());
        spec.renew_time = Some(MicroTime(
            Timestamp::now() - SignedDuration::from_millis(renewed_ms_ago),
        ));
        l
    }

    #[test]
    fn a_dead_process_on_this_host_is_taken_over_at_once() {
        let dead = |_: u32| false;
        let alive = |_: u32| true;
        let l = held_by("me@box/4242", 1000, 30);
        assert_eq!(
            judge(&l, Timestamp::now(), "box", &dead),
            HolderState::DeadProcess
        );
        assert_eq!(
            judge(&l, Timestamp::now(), "box", &alive),
            HolderState::Live
        );
        // Another host's pid says nothing about this one.
        assert_eq!(
            judge(&l, Timestamp::now(), "other", &dead),
            HolderState::Live
        );
    }

    #[test]
    fn a_holder_that_missed_two_renewals_is_waited_out() {
        let alive = |_: u32| true;
        // 30 s Lease, renewed every 10 s: silent after 20 s.
        let l = held_by("me@elsewhere/1", 21_000, 30);
        assert!(matches!(
            judge(&l, Timestamp::now(), "box", &alive),
            HolderState::Silent(_)
        ));
        let l = held_by("me@elsewhere/1", 15_000, 30);
        assert_eq!(
            judge(&l, Timestamp::now(), "box", &alive),
            HolderState::Live
        );
    }

    #[test]
    fn holder_strings_parse() {
        assert_eq!(parse_holder("ann@vm/31492"), Some(("vm", 31492)));
        assert_eq!(
            parse_holder("unknown@vm-2.local/7"),
            Some(("vm-2.local", 7))
        );
        assert_eq!(parse_holder("garbage"), None);
    }

    #[test]
    fn expiry_follows_renew_time_and_duration() {
        assert!(!expired(&lease(5, 30), Timestamp::now()));
        assert!(expired(&lease(31, 30), Timestamp::now()));
        assert!(
            expired(&Lease::default(), Timestamp::now()),
            "a Lease with no times is dead"
        );
    }
}

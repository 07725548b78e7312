//! Taking the Lease: create it, or contend with its holder (take over
//! an expired or dead one, wait out a silent one, wait for or refuse a
//! live one).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use super::holder::{HolderState, holder_of, judge, process_alive, this_host};
use super::{Acquired, Held, Lock, LockError, Takeover, duration, lease_name, micro_now, renew};

/// Takes the release's lock. `wait`: how long to wait for a live holder.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    release: &str,
    holder: &str,
    wait: Option<Duration>,
) -> Result<(Lock, Acquired), LockError> {
    let mut c = Contender {
        api: Api::namespaced(client, namespace),
        name: lease_name(release),
        namespace,
        release,
        holder,
        duration: duration(),
        deadline: wait.map(|w| std::time::Instant::now() + w),
        host: this_host(),
        announced: false,
    };
    loop {
        let attempt = match c.api.create(&PostParams::default(), &c.lease(None)).await {
            Ok(l) => Attempt::Got(Box::new(l), Acquired::Fresh),
            Err(kube::Error::Api(s)) if s.code == 409 => c.contend().await?,
            Err(kube::Error::Api(s))
                if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
            {
                return Err(LockError::NoNamespace(namespace.to_string()));
            }
            Err(e) => return Err(c.api_err("cannot create", e)),
        };
        match attempt {
            Attempt::Got(lease, how) => return Ok((c.hold(*lease), how)),
            Attempt::Retry => {}
            Attempt::Wait => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// One try at the Lease that did not end the loop.
enum Attempt {
    Got(Box<Lease>, Acquired),
    /// Someone else changed the Lease meanwhile: try again at once.
    Retry,
    /// The holder still counts: try again shortly.
    Wait,
}

/// This process, trying to take the release's Lease.
struct Contender<'a> {
    api: Api<Lease>,
    name: String,
    namespace: &'a str,
    release: &'a str,
    holder: &'a str,
    duration: Duration,
    deadline: Option<std::time::Instant>,
    host: String,
    /// Whether the wait for a silent holder was said.
    announced: bool,
}

impl Contender<'_> {
    fn api_err(&self, what: &'static str, source: kube::Error) -> LockError {
        LockError::Api {
            what,
            name: self.name.clone(),
            source,
        }
    }

    /// The Lease this process holds, replacing `previous` if given.
    fn lease(&self, previous: Option<&Lease>) -> Lease {
        let transitions = previous
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.lease_transitions)
            .map_or(0, |t| t + 1);
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.to_string()),
                resource_version: previous.and_then(|p| p.metadata.resource_version.clone()),
                labels: Some(
                    [
                        ("owner".to_string(), "thebot".to_string()),
                        ("name".to_string(), self.release.to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.holder.to_string()),
                lease_duration_seconds: Some(self.duration.as_secs() as i32),
                acquire_time: Some(micro_now()),
                renew_time: Some(micro_now()),
                lease_transitions: Some(transitions),
                ..Default::default()
            }),
        }
    }

    /// The Lease exists: take it over if its holder no longer counts,
    /// wait for it, or refuse.
    async fn contend(&mut self) -> Result<Attempt, LockError> {
        let current = match self.api.get(&self.name).await {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Attempt::Retry),
            Err(e) => return Err(self.api_err("cannot read", e)),
        };
        let (previous, since) = holder_of(&current);
        let why = match judge(&current, Timestamp::now(), &self.host, &process_alive) {
            HolderState::Expired => Takeover::Expired,
            HolderState::DeadProcess => Takeover::DeadProcess,
            HolderState::Silent(until) => {
                if !self.announced {
                    self.announced = true;
                    crate::ui::notice(&format!(
                        "the lock of release {} is held by {previous}, which stopped renewing it: waiting until it expires ({until}) to take it over",
                        self.release
                    ));
                }
                return Ok(Attempt::Wait);
            }
            HolderState::Live if self.deadline.is_some_and(|d| std::time::Instant::now() < d) => {
                return Ok(Attempt::Wait);
            }
            HolderState::Live => {
                return Err(LockError::Held {
                    release: self.release.to_string(),
                    namespace: self.namespace.to_string(),
                    holder: previous,
                    since,
                });
            }
        };
        let why = if self.announced {
            Takeover::StoppedRenewing
        } else {
            why
        };
        // Exactly one contender wins this PUT (resourceVersion precondition).
        let taken = self
            .api
            .replace(
                &self.name,
                &PostParams::default(),
                &self.lease(Some(&current)),
            )
            .await;
        match taken {
            Ok(l) => Ok(Attempt::Got(
                Box::new(l),
                Acquired::TakenOver {
                    holder: previous,
                    since,
                    why,
                },
            )),
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => Ok(Attempt::Retry),
            Err(e) => Err(self.api_err("cannot take over", e)),
        }
    }

    /// Holds `lease`, renewing it in the background.
    fn hold(self, lease: Lease) -> Lock {
        let state = Arc::new(Mutex::new(Held {
            resource_version: lease.metadata.resource_version.clone().unwrap_or_default(),
            renewed: std::time::Instant::now(),
            lease: lease.clone(),
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            self.api.clone(),
            self.name.clone(),
            state.clone(),
            lost.clone(),
            self.duration,
        ));
        Lock {
            api: self.api,
            name: self.name,
            release: self.release.to_string(),
            uid: lease.metadata.uid.clone(),
            state,
            lost,
            renewer,
            duration: self.duration,
        }
    }
}

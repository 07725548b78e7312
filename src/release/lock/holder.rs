//! Who holds a Lease, and whether that holder still counts: expired,
//! a dead process on this host, silent for two renewals, or live.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::DEFAULT_SECONDS;

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
pub(super) enum HolderState {
    Expired,
    /// Same host, and its pid is not running.
    DeadProcess,
    /// Missed two renewals: it expires at this instant.
    Silent(Timestamp),
    Live,
}

/// Judges a Lease held by someone else. `host`: this machine's name;
/// `alive`: whether a pid of this host runs.
pub(super) fn judge(
    lease: &Lease,
    now: Timestamp,
    host: &str,
    alive: &dyn Fn(u32) -> bool,
) -> HolderState {
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
pub(super) fn process_alive(pid: u32) -> bool {
    let proc_dir = std::path::Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return true;
    }
    proc_dir.join(pid.to_string()).exists()
}

pub(super) fn this_host() -> String {
    let who = crate::release::record::who();
    who.rsplit_once('@')
        .map_or(who.clone(), |(_, h)| h.to_string())
}

pub(super) fn expired(lease: &Lease, now: Timestamp) -> bool {
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

pub(super) fn holder_of(lease: &Lease) -> (String, String) {
    let spec = lease.spec.clone().unwrap_or_default();
    (
        spec.holder_identity.unwrap_or_else(|| "(unknown)".into()),
        spec.acquire_time
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| "(unknown)".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

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

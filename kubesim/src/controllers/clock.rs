//! The virtual clock every controller delay is measured on: virtual time
//! is the start instant plus real elapsed time × speed, plus whatever
//! `POST /_sim/advance?seconds=N` added. Speed 0 is manual: time moves
//! only when advanced, which makes a scenario reproducible.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::clock::{Clock, Instant};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;

/// Virtual time: shared by the API handlers (timestamps) and the
/// reconcile loop (delays).
#[derive(Debug)]
pub struct VirtualClock {
    origin: std::time::Instant,
    start: Micros,
    speed: f64,
    offset: AtomicI64,
}

impl VirtualClock {
    /// A clock at `start` that runs `speed` times faster than real time
    /// (0: only [`Self::advance_to`] moves it).
    pub fn new(start: Micros, speed: f64) -> VirtualClock {
        VirtualClock {
            origin: std::time::Instant::now(),
            start,
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                0.0
            },
            offset: AtomicI64::new(0),
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn now_micros(&self) -> Micros {
        let run = (self.origin.elapsed().as_micros() as f64 * self.speed) as i64;
        self.start + run + self.offset.load(Ordering::SeqCst)
    }

    /// Moves the clock forward so that it reads at least `at`.
    pub fn advance_to(&self, at: Micros) {
        let now = self.now_micros();
        if at > now {
            self.offset.fetch_add(at - now, Ordering::SeqCst);
        }
    }

    /// Real time until the clock reads `at`; `None` in manual mode.
    pub fn real_until(&self, at: Micros) -> Option<Duration> {
        if self.speed == 0.0 {
            return None;
        }
        let left = (at - self.now_micros()).max(0) as f64 / self.speed;
        Some(Duration::from_micros(left as u64))
    }
}

/// The instance's [`Clock`], reading a shared [`VirtualClock`].
pub struct Shared(pub std::sync::Arc<VirtualClock>);

impl Clock for Shared {
    fn now(&self) -> Instant {
        to_instant(self.0.now_micros())
    }
}

pub fn to_instant(m: Micros) -> Instant {
    Instant {
        secs: m.div_euclid(SECOND),
        micros: m.rem_euclid(SECOND) as u32,
    }
}

/// `2026-11-25T09:47:57Z`.
pub fn rfc3339(m: Micros) -> String {
    to_instant(m).rfc3339()
}

/// `2026-11-25T09:47:57.492386Z`, as in MicroTime fields.
pub fn rfc3339_micro(m: Micros) -> String {
    let i = to_instant(m);
    let s = i.rfc3339();
    format!("{}.{:06}Z", &s[..s.len() - 1], i.micros)
}

/// `2026-11-25T09:47:57.492386000Z`, as kubectl logs --timestamps shows.
pub fn rfc3339_nano(m: Micros) -> String {
    let i = to_instant(m);
    let s = i.rfc3339();
    format!("{}.{:06}000Z", &s[..s.len() - 1], i.micros)
}

/// Parses an RFC 3339 timestamp to micros (fractions ignored).
pub fn parse(s: &str) -> Option<Micros> {
    crate::clock::parse_rfc3339(s).map(|secs| secs * SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = VirtualClock::new(1_795_600_172 * SECOND, 0.0);
        assert_eq!(c.now_micros(), 1_795_600_172 * SECOND);
        c.advance_to(1_795_600_173 * SECOND + 5);
        assert_eq!(c.now_micros(), 1_795_600_173 * SECOND + 5);
        c.advance_to(0);
        assert_eq!(c.now_micros(), 1_795_600_173 * SECOND + 5);
        assert_eq!(c.real_until(0), None);
        assert_eq!(rfc3339(c.now_micros()), "2026-11-25T09:49:33Z");
        assert_eq!(rfc3339_micro(c.now_micros()), "2026-11-25T09:49:33.000005Z");
    }

    #[test]
    fn fast_clock_runs_ahead() {
        let c = VirtualClock::new(0, 1000.0);
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.now_micros() >= 5 * SECOND);
        assert!(c.real_until(c.now_micros() + 1000 * SECOND).is_some());
    }
}

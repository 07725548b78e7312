//! Choosing the progress view (TTY bars, plain timestamped lines, or
//! nothing with `-q`) and what both views share: the clock and how an
//! object's readiness reads.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use crate::ops::events::{Event, Sink};
use crate::wait::Readiness;

/// Where "now" comes from; tests inject a fixed sequence.
pub type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Box::new(SystemTime::now)
}

/// `-q`, `--no-color` and `NO_COLOR`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewOptions {
    pub quiet: bool,
    pub no_color: bool,
}

/// The progress view for stderr: bars on a terminal, plain lines otherwise.
/// It installs itself as the `-v` log writer so log lines never tear it.
pub fn stderr_view(opts: ViewOptions) -> Box<dyn Sink> {
    if opts.quiet {
        crate::log::set_writer(None);
        return Box::new(Quiet);
    }
    if std::io::stderr().is_terminal() {
        let color = !opts.no_color && std::env::var_os("NO_COLOR").is_none();
        let view = super::tty::Tty::stderr(color);
        let multi = view.multi();
        crate::log::set_writer(Some(Box::new(move |line| {
            let _ = multi.println(line);
        })));
        Box::new(view)
    } else {
        crate::log::set_writer(Some(Box::new(|line| {
            eprintln!("{} {line}", timestamp(SystemTime::now()))
        })));
        Box::new(super::plain::Plain::new(std::io::stderr(), system_clock()))
    }
}

/// `-q`: only the result (stdout) and errors (main) are printed.
struct Quiet;

impl Sink for Quiet {
    fn event(&self, _: Event) {}
}

/// `12:45:13Z`: the UTC time of day (CI logs carry the date already).
pub fn timestamp(t: SystemTime) -> String {
    let full = humantime::format_rfc3339_seconds(t).to_string();
    full[11..].to_string()
}

/// `0.4s`, `12.3s`, `2m05s`.
pub fn elapsed(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// `1 object`, `16 objects`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// How a settled or unsettled object reads: a mark and a text.
pub enum Look {
    Ready,
    Failed(String),
    Waiting(String),
}

pub fn look(r: &Readiness) -> Look {
    match r {
        Readiness::Ready => Look::Ready,
        Readiness::Failed(why) => Look::Failed(why.clone()),
        other => Look::Waiting(crate::wait::tracker::describe(other)),
    }
}

#[cfg(test)]
pub mod testing {
    use std::sync::Mutex;
    use std::time::{Duration, SystemTime};

    use super::Clock;
    use crate::apply::{Action, Change};
    use crate::manifest::ObjectId;
    use crate::ops::events::Event;
    use crate::plan::Stage;
    use crate::wait::Readiness;

    /// Feeds `script` (milliseconds to wait, then the event) to a view.
    pub fn play(clock: &FakeClock, sink: &dyn crate::ops::events::Sink, script: Vec<(u64, Event)>) {
        for (ms, event) in script {
            clock.advance(ms);
            sink.event(event);
        }
    }

    fn change(kind: &str, name: &str, action: Action) -> Change {
        Change {
            id: ObjectId {
                group: String::new(),
                version: "v1".into(),
                kind: kind.into(),
                namespace: "thebot-dev".into(),
                name: name.into(),
            },
            object: format!("{kind}/thebot-dev/{name}"),
            action,
            generation: None,
            uid: None,
        }
    }

    fn progress(object: &str, r: Readiness) -> Event {
        Event::Progress {
            object: object.into(),
            readiness: r,
        }
    }

    fn waiting(why: &str) -> Readiness {
        Readiness::InProgress(why.into())
    }

    /// The events of `thebot upgrade dev --set images.backend.tag=...`:
    /// a new migration Job, then the backend rolls; with `crash` its new
    /// pod crash-loops and the upgrade fails.
    pub fn image_upgrade(crash: bool) -> Vec<(u64, Event)> {
        use Action::*;
        let backend = "Deployment/thebot-dev/thebot-dev-backend";
        let migrate = "Job/thebot-dev/thebot-dev-migrate-1a2b3c4d";
        let mut config = vec![change("ConfigMap", "thebot-dev-config", Configured)];
        config.extend((0..15).map(|i| change("Service", &format!("s{i}"), Unchanged)));
        let mut script = vec![
            (0, Event::Info("revision 2 recorded pending-upgrade".into())),
            (
                20,
                Event::StageStarted {
                    stage: Stage::Config,
                    objects: 16,
                },
            ),
            (
                80,
                Event::StageApplied {
                    stage: Stage::Config,
                    changes: config,
                },
            ),
            (
                10,
                progress(
                    "PersistentVolumeClaim/thebot-dev/thebot-dev-media",
                    Readiness::Missing,
                ),
            ),
            (
                30,
                progress(
                    "PersistentVolumeClaim/thebot-dev/thebot-dev-media",
                    Readiness::Ready,
                ),
            ),
            (
                0,
                Event::StageReady {
                    stage: Stage::Config,
                    objects: 1,
                },
            ),
            (
                10,
                Event::StageStarted {
                    stage: Stage::Prepare,
                    objects: 1,
                },
            ),
            (
                40,
                Event::StageApplied {
                    stage: Stage::Prepare,
                    changes: vec![change("Job", "thebot-dev-migrate-1a2b3c4d", Created)],
                },
            ),
            (0, progress(migrate, Readiness::Missing)),
            (
                100,
                progress(migrate, waiting("waiting for its pod to start")),
            ),
            (
                900,
                progress(migrate, waiting("active 1, succeeded 0, failed 0")),
            ),
            (
                0,
                progress(migrate, waiting("active 1, succeeded 0, failed 0")),
            ),
            (2100, progress(migrate, Readiness::Ready)),
            (
                0,
                Event::StageReady {
                    stage: Stage::Prepare,
                    objects: 1,
                },
            ),
            (
                10,
                Event::StageStarted {
                    stage: Stage::App,
                    objects: 2,
                },
            ),
            (
                60,
                Event::StageApplied {
                    stage: Stage::App,
                    changes: vec![
                        change("Deployment", "thebot-dev-backend", Configured),
                        change("Deployment", "thebot-dev-frontend", Unchanged),
                    ],
                },
            ),
            (
                10,
                progress(
                    "Deployment/thebot-dev/thebot-dev-frontend",
                    Readiness::Ready,
                ),
            ),
            (20, progress(backend, waiting("0 of 2 replicas updated"))),
            (1500, progress(backend, waiting("1 of 2 replicas updated"))),
        ];
        if crash {
            script.extend([
                (3000, progress(backend, waiting(
                    "1 old replicas still running; pod thebot-dev-backend-7b8-x2x: CrashLoopBackOff, restarted once",
                ))),
                (3200, progress(backend, Readiness::Failed(
                    "pod thebot-dev-backend-7b8-x2x container backend: CrashLoopBackOff (restarted 2 times)".into(),
                ))),
                (30, Event::Info("revision 2 marked failed".into())),
            ]);
        } else {
            script.extend([
                (
                    1400,
                    progress(backend, waiting("1 old replicas still running")),
                ),
                (900, progress(backend, Readiness::Ready)),
                (
                    0,
                    Event::StageReady {
                        stage: Stage::App,
                        objects: 2,
                    },
                ),
            ]);
        }
        script
    }

    /// A clock that starts at 2026-11-25T12:00:00Z and moves only when told.
    pub struct FakeClock(pub std::sync::Arc<Mutex<SystemTime>>);

    impl FakeClock {
        pub fn at_noon() -> FakeClock {
            let start = humantime::parse_rfc3339("2026-11-25T12:00:00Z").expect("time");
            FakeClock(std::sync::Arc::new(Mutex::new(start)))
        }

        pub fn clock(&self) -> Clock {
            let t = self.0.clone();
            Box::new(move || *t.lock().expect("clock"))
        }

        pub fn advance(&self, millis: u64) {
            *self.0.lock().expect("clock") += Duration::from_millis(millis);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_times_of_day() {
        let t = humantime::parse_rfc3339("2026-11-25T12:45:13Z").unwrap();
        assert_eq!(timestamp(t + Duration::from_millis(900)), "12:45:13Z");
    }

    #[test]
    fn elapsed_reads_in_seconds_then_minutes() {
        assert_eq!(elapsed(Duration::from_millis(420)), "0.4s");
        assert_eq!(elapsed(Duration::from_secs(125)), "2m05s");
    }
}

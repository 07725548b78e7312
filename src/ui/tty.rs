//! The progress view on a terminal (indicatif): a header per stage, one
//! line per awaited object with its current reason and elapsed time, ✓/✗
//! when settled, and a finished stage collapsed to one ✓ line.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::{Clock, Look, count, elapsed, look, system_clock};
use crate::apply::Action;
use crate::ops::events::{Event, Sink};
use crate::plan::Stage;

pub struct Tty {
    multi: MultiProgress,
    clock: Clock,
    color: bool,
    /// Spinners animate on their own (off in tests: frames would differ).
    tick: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    stage: Option<StageView>,
}

struct StageView {
    stage: Stage,
    header: ProgressBar,
    since: SystemTime,
    applied: Option<String>,
    objects: BTreeMap<String, ObjectView>,
}

struct ObjectView {
    bar: ProgressBar,
    ready: bool,
    /// The line as last shown, kept when a stage ends unready.
    line: String,
}

const SPINNER: &str = "{spinner} {msg}";
const OBJECT: &str = "  {spinner} {msg}  {elapsed}";

impl Tty {
    pub fn stderr(color: bool) -> Tty {
        Tty::new(ProgressDrawTarget::stderr(), system_clock(), color, true)
    }

    pub fn new(target: ProgressDrawTarget, clock: Clock, color: bool, tick: bool) -> Tty {
        Tty {
            multi: MultiProgress::with_draw_target(target),
            clock,
            color,
            tick,
            state: Mutex::new(State::default()),
        }
    }

    /// For printing log lines above the bars.
    pub fn multi(&self) -> MultiProgress {
        self.multi.clone()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn spinner(&self, template: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template(template).expect("template"));
        if self.tick {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        bar
    }

    fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }

    /// Ends the current stage's bars. Its lines move above the bars for
    /// good: one ✓ line when every awaited object is ready, otherwise the
    /// stage with each object's last state.
    fn close_stage(&self, view: StageView, now: SystemTime, awaited: Option<usize>) {
        let took = elapsed(now.duration_since(view.since).unwrap_or_default());
        let all_ready = view.objects.values().all(|o| o.ready);
        for bar in view.objects.values().map(|o| &o.bar).chain([&view.header]) {
            bar.finish_and_clear();
            self.multi.remove(bar);
        }
        let applied = view.applied.unwrap_or_default();
        if awaited.is_some() || (all_ready && view.objects.is_empty()) {
            let what = match awaited {
                Some(n) => format!("{n} ready, {applied}"),
                None => applied,
            };
            self.println(&format!(
                "{} {}  {what} ({took})",
                self.paint("32", "✓"),
                view.stage.label()
            ));
            return;
        }
        self.println(&format!(
            "{} {}  not ready after {took}",
            self.paint("31", "✗"),
            view.stage.label()
        ));
        for o in view.objects.values() {
            self.println(&o.line);
        }
    }

    fn progress(
        &self,
        view: &mut StageView,
        object: String,
        readiness: crate::wait::Readiness,
        now: SystemTime,
    ) {
        let took = elapsed(now.duration_since(view.since).unwrap_or_default());
        if !view.objects.contains_key(&object)
            && matches!(readiness, crate::wait::Readiness::Missing)
        {
            // The watch has not seen the applied object yet.
            return;
        }
        let entry = view
            .objects
            .entry(object.clone())
            .or_insert_with(|| ObjectView {
                bar: self.spinner(OBJECT),
                ready: false,
                line: String::new(),
            });
        match look(&readiness) {
            Look::Waiting(why) => {
                entry.bar.set_message(format!("{object}  {why}"));
                entry.line = format!("  … {object}  {why}");
            }
            done => {
                let line = match done {
                    Look::Failed(why) => {
                        format!(
                            "  {} {object}  failed: {why} ({took})",
                            self.paint("31", "✗")
                        )
                    }
                    _ => format!("  {} {object}  ready ({took})", self.paint("32", "✓")),
                };
                entry.ready = matches!(readiness, crate::wait::Readiness::Ready);
                entry
                    .bar
                    .set_style(ProgressStyle::with_template("{msg}").expect("template"));
                entry.bar.finish_with_message(line.clone());
                entry.line = line;
            }
        }
    }
}

fn applied_summary(changes: &[crate::apply::Change]) -> String {
    let count = |a| changes.iter().filter(|c| c.action == a).count();
    let mut parts = vec![format!("{} applied", changes.len())];
    for (a, word) in [
        (Action::Created, "created"),
        (Action::Configured, "configured"),
        (Action::Deleted, "deleted"),
    ] {
        let n = count(a);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

impl Sink for Tty {
    fn event(&self, event: Event) {
        let now = (self.clock)();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Info(i) => self.println(&i),
            Event::Warning(w) => self.println(&format!("{} {w}", self.paint("33", "warning:"))),
            Event::Debug(d) => {
                if crate::log::enabled(2) {
                    self.println(&d);
                }
            }
            Event::StageStarted { stage, objects } => {
                if let Some(previous) = state.stage.take() {
                    self.close_stage(previous, now, None);
                }
                let header = self.spinner(SPINNER);
                header.set_message(format!(
                    "{}  applying {}",
                    stage.label(),
                    count(objects, "object")
                ));
                state.stage = Some(StageView {
                    stage,
                    header,
                    since: now,
                    applied: None,
                    objects: BTreeMap::new(),
                });
            }
            Event::StageApplied { changes, .. } => {
                for c in changes.iter().filter(|c| c.action != Action::Unchanged) {
                    self.println(&format!(
                        "    {:<10} {}",
                        super::action_word(c.action),
                        c.object
                    ));
                }
                if let Some(view) = state.stage.as_mut() {
                    let summary = applied_summary(&changes);
                    view.header
                        .set_message(format!("{}  {summary}, waiting", view.stage.label()));
                    view.applied = Some(summary);
                }
            }
            Event::Progress { object, readiness } => {
                let failed = matches!(readiness, crate::wait::Readiness::Failed(_));
                if let Some(view) = state.stage.as_mut() {
                    self.progress(view, object, readiness, now);
                }
                // A failure ends the operation: the stage is shown as it
                // stands, above whatever follows (diagnostics, rollback).
                if failed && let Some(view) = state.stage.take() {
                    self.close_stage(view, now, None);
                }
            }
            Event::StageReady { objects, .. } => {
                if let Some(view) = state.stage.take() {
                    self.close_stage(view, now, Some(objects));
                }
            }
        }
    }
}

impl Drop for Tty {
    /// An operation that ends mid-stage (failure, timeout, `--wait=false`)
    /// leaves its last stage on screen as it was.
    fn drop(&mut self) {
        let now = (self.clock)();
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = state.stage.take() {
            self.close_stage(view, now, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use indicatif::{InMemoryTerm, ProgressDrawTarget};

    use super::*;
    use crate::ui::progress::testing::{FakeClock, image_upgrade, play};

    fn view(term: &InMemoryTerm, clock: &FakeClock) -> Tty {
        Tty::new(
            ProgressDrawTarget::term_like(Box::new(term.clone())),
            clock.clock(),
            false,
            false,
        )
    }

    #[test]
    fn finished_stages_collapse_to_one_line_each() {
        let term = InMemoryTerm::new(40, 200);
        let clock = FakeClock::at_noon();
        play(&clock, &view(&term, &clock), image_upgrade(false));
        let screen = term.contents();
        let lines: Vec<&str> = screen
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            lines,
            [
                "revision 2 recorded pending-upgrade",
                "    configured ConfigMap/thebot-dev/thebot-dev-config",
                "✓ 1-config  1 ready, 16 applied, 1 configured (0.1s)",
                "    created    Job/thebot-dev/thebot-dev-migrate-1a2b3c4d",
                "✓ 3-prepare  1 ready, 1 applied, 1 created (3.1s)",
                "    configured Deployment/thebot-dev/thebot-dev-backend",
                "✓ 4-app  2 ready, 2 applied, 1 configured (3.9s)",
            ],
            "{screen}"
        );
    }

    #[test]
    fn a_running_stage_shows_each_object_with_its_reason() {
        let term = InMemoryTerm::new(40, 200);
        let clock = FakeClock::at_noon();
        let tty = view(&term, &clock);
        let mut script = image_upgrade(false);
        // Up to "1 of 2 replicas updated" of the backend.
        script.truncate(script.len() - 3);
        play(&clock, &tty, script);
        // A log line forces a redraw of the bars below it.
        tty.event(Event::Info("log".into()));
        let screen = term.contents();
        assert!(
            screen.contains("4-app  2 applied, 1 configured, waiting"),
            "{screen}"
        );
        assert!(
            screen.contains("✓ Deployment/thebot-dev/thebot-dev-frontend  ready (0.1s)"),
            "{screen}"
        );
        assert!(
            screen.contains("Deployment/thebot-dev/thebot-dev-backend  1 of 2 replicas updated"),
            "{screen}"
        );
        assert!(!screen.contains("✓ 4-app"), "{screen}");
    }

    #[test]
    fn a_failed_stage_stays_expanded_with_the_failure() {
        let term = InMemoryTerm::new(40, 200);
        let clock = FakeClock::at_noon();
        play(&clock, &view(&term, &clock), image_upgrade(true));
        let screen = term.contents();
        let tail: Vec<&str> = screen
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .rev()
            .take(4)
            .collect();
        assert_eq!(
            tail,
            [
                "revision 2 marked failed",
                "  ✓ Deployment/thebot-dev/thebot-dev-frontend  ready (0.1s)",
                "  ✗ Deployment/thebot-dev/thebot-dev-backend  failed: pod thebot-dev-backend-7b8-x2x container backend: CrashLoopBackOff (restarted 2 times) (7.8s)",
                "✗ 4-app  not ready after 7.8s",
            ],
            "{screen}"
        );
    }
}

//! The progress view for logs and pipes: no spinners, no ANSI codes, one
//! timestamped line per state change.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;

use super::progress::{Clock, Look, count, elapsed, look, timestamp};
use crate::apply::Action;
use crate::ops::events::{Event, Sink};

pub struct Plain<W> {
    clock: Clock,
    state: Mutex<State<W>>,
}

struct State<W> {
    out: W,
    /// When the current stage was started.
    stage_since: Option<SystemTime>,
    /// Each object's last reported text, and when it was first seen.
    objects: HashMap<String, (String, SystemTime)>,
}

impl<W: Write> Plain<W> {
    pub fn new(out: W, clock: Clock) -> Plain<W> {
        Plain {
            clock,
            state: Mutex::new(State {
                out,
                stage_since: None,
                objects: HashMap::new(),
            }),
        }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .out
    }
}

impl<W> State<W> {
    /// The lines an event adds (none when nothing changed).
    fn lines(&mut self, event: Event, now: SystemTime) -> Vec<String> {
        match event {
            Event::Info(i) => vec![i],
            Event::Warning(w) => vec![format!("warning: {w}")],
            Event::Debug(d) if crate::log::enabled(2) => vec![d],
            Event::Debug(_) => vec![],
            Event::StageStarted { stage, objects } => {
                self.stage_since = Some(now);
                self.objects.clear();
                vec![format!(
                    "==> {} ({})",
                    stage.label(),
                    count(objects, "object")
                )]
            }
            Event::StageApplied { changes, .. } => {
                let mut lines: Vec<String> = changes
                    .iter()
                    .filter(|c| c.action != Action::Unchanged)
                    .map(|c| format!("    {:<10} {}", super::action_word(c.action), c.object))
                    .collect();
                let unchanged = changes.len() - lines.len();
                if unchanged > 0 {
                    lines.push(format!("    {unchanged} unchanged"));
                }
                lines
            }
            Event::Progress { object, readiness } => {
                let look = look(&readiness);
                let text = match &look {
                    Look::Ready => "ready".to_string(),
                    Look::Failed(why) => format!("failed: {why}"),
                    Look::Waiting(why) => why.clone(),
                };
                let since = self.stage_since.unwrap_or(now);
                let first = !self.objects.contains_key(&object);
                let entry = self
                    .objects
                    .entry(object.clone())
                    .or_insert_with(|| (String::new(), since));
                if entry.0 == text
                    || (first && matches!(readiness, crate::wait::Readiness::Missing))
                {
                    // Not a change; "does not exist" right after the apply
                    // only means the watch has not caught up yet.
                    entry.0 = text;
                    return vec![];
                }
                entry.0 = text.clone();
                let took = elapsed(now.duration_since(entry.1).unwrap_or_default());
                vec![match look {
                    Look::Ready => format!("  ✓ {object} ready after {took}"),
                    Look::Failed(_) => format!("  ✗ {object} {text} (after {took})"),
                    Look::Waiting(_) => format!("    {object}: {text}"),
                }]
            }
            Event::StageReady { stage, objects } => {
                let took = self
                    .stage_since
                    .and_then(|s| now.duration_since(s).ok())
                    .unwrap_or_default();
                vec![format!(
                    "✓ {} ready: {objects} awaited in {}",
                    stage.label(),
                    elapsed(took)
                )]
            }
        }
    }
}

impl<W: Write> Sink for Plain<W> {
    fn event(&self, event: Event) {
        let now = (self.clock)();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let lines = state.lines(event, now);
        let stamp = timestamp(now);
        for line in lines {
            // A closed stderr must not stop a deploy.
            let _ = writeln!(state.out, "{stamp} {line}");
        }
        let _ = state.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::progress::testing::{FakeClock, image_upgrade, play};

    fn render(crash: bool) -> String {
        let clock = FakeClock::at_noon();
        let view = Plain::new(Vec::new(), clock.clock());
        play(&clock, &view, image_upgrade(crash));
        String::from_utf8(view.into_inner()).expect("utf-8")
    }

    /// Compares with tests/golden/NAME (THEBOT_UPDATE_GOLDEN=1 rewrites it).
    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("THEBOT_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).expect("write golden");
        }
        let expected = std::fs::read_to_string(&path)
            .expect("golden file (THEBOT_UPDATE_GOLDEN=1 creates it)");
        assert_eq!(
            actual, expected,
            "{name} differs; review and rerun with THEBOT_UPDATE_GOLDEN=1"
        );
    }

    #[test]
    fn a_successful_upgrade_reads_as_timestamped_lines() {
        golden("progress-upgrade-ok.txt", &render(false));
    }

    #[test]
    fn a_failed_upgrade_ends_with_the_failed_object() {
        golden("progress-upgrade-failed.txt", &render(true));
    }

    #[test]
    fn plain_output_has_no_escape_codes_and_one_line_per_change() {
        let text = render(false);
        assert!(!text.contains('\x1b'), "{text}");
        // "active 1, succeeded 0, failed 0" arrived twice and "does not exist" right after
        // the apply: neither is a change.
        assert_eq!(
            text.matches("active 1, succeeded 0, failed 0").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("does not exist"), "{text}");
        for line in text.lines() {
            let (stamp, _) = line.split_once(' ').expect("a stamp");
            assert!(stamp.len() == 9 && stamp.ends_with('Z'), "{line}");
        }
    }
}

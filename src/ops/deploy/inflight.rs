//! State that outlives an interrupted or failed run: when the pipeline's
//! future is dropped (Ctrl-C) or returns an error, `finish` marks the
//! pending revision failed and releases the lock.

use super::Failed;
use super::revision::Done;
use crate::manifest::ObjectId;
use crate::ops::OpError;
use crate::ops::events::{Event, Sink};
use crate::ops::session::ReleaseRef;
use crate::plan::Stage;
use crate::release::lock::Lock;
use crate::release::record::{self, Record, Status};
use crate::release::store::Store;

#[derive(Default)]
pub struct InFlight {
    pub store: Option<Store>,
    pub lock: Option<Lock>,
    /// The revision written pending, and its resourceVersion.
    pub pending: Option<(Record, String)>,
    /// How a failure of the pending revision is described ("Upgrade").
    pub verb: &'static str,
    /// The revision this operation wrote (kept after it ends, for --atomic).
    pub recorded: Option<u32>,
    /// The last deployed revision before this operation.
    pub previous: Option<u32>,
    /// Objects this operation created (an atomic install removes them).
    pub created: Vec<ObjectId>,
    /// The release being worked on, once known.
    pub release: Option<ReleaseRef>,
    /// Whether `--atomic` restores on failure (else the failure names
    /// the command that does).
    pub atomic: bool,
    /// The stages this operation applies, in order.
    pub stages: Vec<Stage>,
    /// Those whose apply the server accepted.
    pub applied: Vec<Stage>,
    /// The stage whose apply began and did not finish (refused, interrupted).
    pub refused: Option<Stage>,
}

impl InFlight {
    /// Fails when the lock was lost (another operation may be running).
    pub fn check_lock(&self) -> Result<(), OpError> {
        match &self.lock {
            Some(l) => Ok(l.check()?),
            None => Ok(()),
        }
    }
}

/// After the pipeline: on failure, the pending revision ends `failed`
/// with the reason (if the lock is still ours); the lock is released.
pub async fn finish(
    mut state: InFlight,
    result: Result<Done, OpError>,
    sink: &dyn Sink,
) -> Result<Done, Failed> {
    if let Err(err) = &result
        && let (Some(store), Some((mut rec, rv))) = (state.store.as_ref(), state.pending.take())
    {
        let still_ours = state.lock.as_ref().is_some_and(|l| l.check().is_ok());
        if still_ours {
            rec.status = Status::Failed;
            rec.description = format!("{} failed: {}", state.verb, first_line(&err.to_string()));
            rec.last_deployed = record::now_rfc3339();
            match store.update(&mut rec, &rv).await {
                Ok(_) => sink.event(Event::Info(format!(
                    "revision {} marked failed",
                    rec.revision
                ))),
                Err(e) => sink.event(Event::Warning(format!(
                    "could not mark revision {} failed: {e}",
                    rec.revision
                ))),
            }
        }
    }
    if let Some(lock) = state.lock.take()
        && let Err(e) = lock.release().await
    {
        sink.event(Event::Warning(format!("{e} (it expires by itself)")));
    }
    let summary = state.writes_summary();
    result.map_err(|error| Failed {
        error: match summary {
            Some(s) => error.with_suffix(&s),
            None => error,
        },
        release: state.release,
        recorded: state.recorded,
        previous: state.previous,
        created: state.created,
    })
}

impl InFlight {
    /// After a failure once writes began: which stages were applied and
    /// which not, and (without `--atomic`) the one command that restores
    /// the last deployed revision.
    fn writes_summary(&self) -> Option<String> {
        if self.applied.is_empty() && self.refused.is_none() {
            return None;
        }
        let names = |stages: &mut dyn Iterator<Item = &Stage>| {
            stages.map(|s| s.label()).collect::<Vec<_>>().join(", ")
        };
        let mut parts = Vec::new();
        if !self.applied.is_empty() {
            parts.push(format!("applied: {}", names(&mut self.applied.iter())));
        }
        if let Some(r) = self.refused {
            parts.push(format!(
                "partly applied (its apply did not finish): {}",
                r.label()
            ));
        }
        let mut rest = self
            .stages
            .iter()
            .filter(|s| !self.applied.contains(s) && self.refused != Some(**s));
        let rest = names(&mut rest);
        if !rest.is_empty() {
            parts.push(format!("not applied: {rest}"));
        }
        let mut out = format!("\nStages {}.", parts.join("; "));
        if self.atomic {
            return Some(out);
        }
        let (Some(r), Some(failed)) = (&self.release, self.recorded) else {
            return Some(out);
        };
        match self.previous {
            Some(to) => out.push_str(&format!(
                "\nRevision {failed} is marked failed; revision {to} is still the last deployed one. To restore it: thebot rollback {to} --name {} -n {}",
                r.name, r.namespace
            )),
            None => out.push_str(&format!(
                "\nRevision {failed} is marked failed and no revision was deployed before it. To remove what was applied: thebot uninstall --name {} -n {}",
                r.name, r.namespace
            )),
        }
        Some(out)
    }
}

/// A one-line summary of an error for a record's description: the first
/// line, with the next one when the first only introduces a list.
fn first_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let take = if lines.first().is_some_and(|l| l.ends_with(':')) && lines.len() > 1 {
        2
    } else {
        1
    };
    let head = lines
        .iter()
        .take(take)
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    match lines.len().saturating_sub(take) {
        0 => head,
        n => format!("{head} (and {n} more)"),
    }
}

//! Objects that exist but belong to no release, another release, another
//! tool or Helm: refused, or adopted with `--take-ownership`.

use crate::apply::live::LiveIndex;
use crate::apply::ownership;
use crate::manifest::{Object, ObjectId};
use crate::ops::OpError;
use crate::ops::events::{Event, Sink};

/// The objects to apply with force (adopted); an error listing the
/// foreign objects when adoption was not asked for.
pub fn foreign(
    objects: &[Object],
    live: &LiveIndex,
    release_key: &str,
    take_ownership: bool,
    sink: &dyn Sink,
) -> Result<Vec<ObjectId>, OpError> {
    let foreign = ownership::foreign_objects(objects, live, release_key);
    if foreign.is_empty() {
        return Ok(Vec::new());
    }
    if !take_ownership {
        return Err(OpError::Failed(foreign_message(&foreign)));
    }
    for f in &foreign {
        sink.event(Event::Warning(format!(
            "taking ownership of {} (was: {})",
            f.object, f.owner
        )));
    }
    Ok(objects
        .iter()
        .filter(|o| foreign.iter().any(|f| f.object == o.id().to_string()))
        .map(Object::id)
        .collect())
}

fn foreign_message(foreign: &[ownership::Foreign]) -> String {
    let mut lines =
        vec!["these objects already exist and do not belong to this release:".to_string()];
    for f in foreign {
        lines.push(format!("  {} (owner: {})", f.object, f.owner));
        if let Some(h) = &f.hint {
            lines.push(format!("    {h}"));
        }
    }
    lines.push("Adopt them with --take-ownership, or rename or delete them.".into());
    lines.join("\n")
}

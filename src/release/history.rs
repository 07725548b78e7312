//! Rules over a release's revisions (pure): the next revision number, the
//! last deployed one, and which records `--history-max` may delete.

use super::record::Migration;
use super::store::Entry;
use super::{Record, Status};

/// The highest revision, whatever its state ("current").
pub fn latest(entries: &[Entry]) -> Option<&Entry> {
    entries.iter().max_by_key(|e| e.revision)
}

/// The number the next revision gets.
pub fn next_revision(entries: &[Entry]) -> u32 {
    latest(entries).map_or(1, |e| e.revision + 1)
}

/// The newest readable revision with status `deployed`.
pub fn last_deployed(entries: &[Entry]) -> Option<&Record> {
    entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .filter(|r| r.status == Status::Deployed)
        .max_by_key(|r| r.revision)
}

/// Revisions to delete so that at most `max` remain (0 = unlimited):
/// oldest first, never the last deployed one.
pub fn to_prune(entries: &[Entry], max: usize) -> Vec<u32> {
    if max == 0 || entries.len() <= max {
        return Vec::new();
    }
    let keep = last_deployed(entries).map(|r| r.revision);
    let mut revisions: Vec<u32> = entries.iter().map(|e| e.revision).collect();
    revisions.sort_unstable();
    let excess = entries.len() - max;
    revisions
        .into_iter()
        .filter(|r| Some(*r) != keep)
        .take(excess)
        .collect()
}

/// The `SCHEMA` column of `history`: the backend tag the database was
/// migrated to and by which revision (`1.5.0 (r2)`), `+backup` when a
/// backup was taken before that migration, `migrated` on the revision
/// whose migration Job ran; `-` when unknown.
pub fn schema_column(migration: Option<&Migration>, revision: u32) -> String {
    let Some(m) = migration else {
        return "-".into();
    };
    let image = m.image.split('@').next().unwrap_or(&m.image);
    let tag = image.rsplit_once(':').map_or(image, |(_, t)| t);
    let mut out = if m.revision == revision {
        format!("{tag} migrated")
    } else {
        format!("{tag} (r{})", m.revision)
    };
    if m.backup.is_some() && m.revision == revision {
        out.push_str(" +backup");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::tests::sample;

    fn entry(revision: u32, status: Status) -> Entry {
        Entry {
            revision,
            record: Ok(sample(revision, status)),
            resource_version: String::new(),
        }
    }

    #[test]
    fn next_and_last_deployed() {
        let entries = vec![
            entry(1, Status::Superseded),
            entry(2, Status::Deployed),
            entry(3, Status::Failed),
        ];
        assert_eq!(next_revision(&entries), 4);
        assert_eq!(last_deployed(&entries).unwrap().revision, 2);
        assert_eq!(next_revision(&[]), 1);
    }

    #[test]
    fn pruning_never_deletes_the_last_deployed() {
        let entries = vec![
            entry(1, Status::Deployed),
            entry(2, Status::Failed),
            entry(3, Status::Failed),
            entry(4, Status::Failed),
        ];
        assert_eq!(to_prune(&entries, 2), vec![2, 3]);
        assert_eq!(to_prune(&entries, 0), Vec::<u32>::new());
        assert_eq!(to_prune(&entries, 10), Vec::<u32>::new());
    }

    #[test]
    fn a_corrupt_record_counts_but_is_not_deployed() {
        let mut entries = vec![entry(1, Status::Superseded), entry(2, Status::Deployed)];
        entries[1].record = Err("corrupt".into());
        assert!(last_deployed(&entries).is_none());
        assert_eq!(next_revision(&entries), 3);
    }

    #[test]
    fn the_schema_column_says_where_the_database_is() {
        let m = Migration {
            image: "ghcr.io/the-bot/thebot-backend:1.5.0@sha256:00".into(),
            revision: 2,
            backup: None,
        };
        assert_eq!(schema_column(Some(&m), 2), "1.5.0 migrated");
        assert_eq!(schema_column(Some(&m), 3), "1.5.0 (r2)");
        assert_eq!(schema_column(None, 1), "-");
    }
}

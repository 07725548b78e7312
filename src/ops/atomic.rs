//! `--atomic` (alias `--rollback-on-failure`): when an install, upgrade or
//! rollback fails or times out after its revision was recorded, put back
//! what was there. An upgrade or rollback rolls back to the last deployed
//! revision through the normal staged, waited path; an install removes the
//! objects it created and nothing else. If that fails too, the message
//! states the release's exact state and the one command that fixes it.
//!
//! After a failed upgrade whose migration Job had started (the failed
//! revision's record says the database was migrated by it) and a backup
//! was taken before it, the rollback first restores that backup, as
//! `rollback --restore-db` does (app scaled to 0, restore Job, then the
//! staged rollback). When the failure came before the migration Job (a
//! failed backup, a refused apply), the database is left as it is.

use kube::api::{DeleteParams, PropagationPolicy};

use super::OpError;
use super::deploy::{self, DeployOptions, Deployed, Failed, Mode};
use super::events::{Event, Sink};
use super::session::{self, ReleaseRef};
use crate::apply::{api_for, describe};
use crate::manifest::ObjectId;

/// Install, upgrade or rollback; with `--atomic`, a failure after the
/// revision was recorded restores what was there (the error then says
/// what was restored, or the one command that fixes it).
pub async fn deploy(
    mode: Mode,
    opts: &DeployOptions,
    sink: &dyn Sink,
) -> Result<Deployed, OpError> {
    let failed = match deploy::deploy(mode, opts, sink).await {
        Ok(done) => return Ok(done),
        Err(failed) => failed,
    };
    let Failed {
        error,
        release,
        recorded,
        previous,
        created,
    } = failed;
    let (true, Some(failed), Some(release)) = (opts.atomic, recorded, release) else {
        return Err(error);
    };
    let target = Target {
        release,
        failed,
        previous,
        created,
    };
    let restored = restore(opts, &target, sink).await;
    Err(combine(error, &target, restored))
}

/// What failed and what there is to restore.
#[derive(Debug, Clone)]
pub struct Target {
    pub release: ReleaseRef,
    /// The revision that failed.
    pub failed: u32,
    /// The last deployed revision before it, if any.
    pub previous: Option<u32>,
    /// Objects the failed operation created.
    pub created: Vec<ObjectId>,
}

/// How the restore went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    RolledBack {
        to: u32,
        revision: u32,
        /// The database was restored first (the migration had started).
        restored_db: bool,
    },
    Removed {
        objects: usize,
    },
    Failed(String),
}

/// Whether the failed revision's migration Job had started, and the
/// backup taken before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// The migration Job was applied; `Some` the backup taken before it.
    Started(Option<crate::release::record::Backup>),
    NotStarted,
    /// The records could not be read (the database is left as it is).
    Unknown(String),
}

impl MigrationState {
    /// What the rollback does about the database, said before it.
    pub fn say(&self, failed: u32) -> String {
        match self {
            MigrationState::Started(Some(b)) => format!(
                "--atomic: revision {failed}'s migration Job had started: restoring the database from {} (PersistentVolumeClaim {}, taken before it) before rolling back",
                b.file, b.claim
            ),
            MigrationState::Started(None) => format!(
                "--atomic: revision {failed}'s migration Job had started but no backup was taken before it (backups off: backup.enabled): the database stays as the migration left it"
            ),
            MigrationState::NotStarted => format!(
                "--atomic: no migration Job started in revision {failed} (it failed before one, or had none to run): no database restore, the database is as it was"
            ),
            MigrationState::Unknown(e) => format!(
                "--atomic: whether revision {failed}'s migration started is unknown ({e}): no database restore"
            ),
        }
    }
}

/// The failed revision's record: did its migration start?
pub fn migration_state(entries: &[crate::release::store::Entry], failed: u32) -> MigrationState {
    let Some(Ok(record)) = entries
        .iter()
        .find(|e| e.revision == failed)
        .map(|e| e.record.as_ref())
    else {
        return MigrationState::Unknown(format!("revision {failed}'s record cannot be read"));
    };
    match &record.migration {
        Some(m) if m.revision == failed => MigrationState::Started(m.backup.clone()),
        _ => MigrationState::NotStarted,
    }
}

async fn read_migration_state(opts: &DeployOptions, t: &Target) -> MigrationState {
    let entries = async {
        let cluster = session::connect(&opts.connect).await?;
        crate::release::store::Store::new(
            cluster.client.clone(),
            &t.release.namespace,
            &t.release.name,
        )
        .entries()
        .await
        .map_err(OpError::from)
    }
    .await;
    match entries {
        Ok(entries) => migration_state(&entries, t.failed),
        Err(e) => MigrationState::Unknown(e.to_string()),
    }
}

pub async fn restore(opts: &DeployOptions, t: &Target, sink: &dyn Sink) -> Restored {
    match t.previous {
        Some(to) => {
            let state = read_migration_state(opts, t).await;
            let restore_db = matches!(state, MigrationState::Started(Some(_)));
            sink.event(Event::Warning(state.say(t.failed)));
            sink.event(Event::Warning(format!(
                "--atomic: rolling back to revision {to}"
            )));
            let rollback = DeployOptions {
                atomic: false,
                env: None,
                layers: Vec::new(),
                reuse_values: false,
                name: Some(t.release.name.clone()),
                namespace: Some(t.release.namespace.clone()),
                create_namespace: false,
                description: Some(format!(
                    "Rollback to {to} (--atomic, revision {} failed{})",
                    t.failed,
                    if restore_db {
                        ", database restored"
                    } else {
                        ""
                    }
                )),
                take_ownership: false,
                // Without a backup to restore, restoring the previous code
                // is still the best the user asked for; the crossing is
                // warned about.
                allow_schema_mismatch: !restore_db,
                // The database back to before the failed migration, only
                // when it had started and was backed up.
                restore_db,
                ..opts.clone()
            };
            match Box::pin(deploy::deploy(
                Mode::Rollback { to: Some(to) },
                &rollback,
                sink,
            ))
            .await
            {
                Ok(done) => Restored::RolledBack {
                    to,
                    revision: done.record.revision,
                    restored_db: restore_db,
                },
                Err(failed) => Restored::Failed(failed.error.to_string()),
            }
        }
        None => {
            sink.event(Event::Warning(format!(
                "--atomic: removing the {} objects this install created",
                t.created.len()
            )));
            match remove_created(opts, t).await {
                Ok(n) => Restored::Removed { objects: n },
                Err(e) => Restored::Failed(e),
            }
        }
    }
}

async fn remove_created(opts: &DeployOptions, t: &Target) -> Result<usize, String> {
    let cluster = session::connect(&opts.connect)
        .await
        .map_err(|e| e.to_string())?;
    let discovery = session::discover(&cluster)
        .await
        .map_err(|e| e.to_string())?;
    let mut removed = 0;
    let mut problems = Vec::new();
    for id in t.created.iter().rev() {
        let Some(api) = api_for(&cluster.client, &discovery, id) else {
            continue;
        };
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(&id.name, &dp).await {
            Ok(_) => removed += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => problems.push(format!("{id}: {}", describe(&e))),
        }
    }
    if problems.is_empty() {
        Ok(removed)
    } else {
        Err(format!("could not remove: {}", problems.join("; ")))
    }
}

/// The original error, saying what was restored (same exit code).
pub fn combine(err: OpError, t: &Target, restored: Restored) -> OpError {
    let r = &t.release;
    let suffix = match restored {
        Restored::RolledBack {
            to,
            revision,
            restored_db,
        } => format!(
            "\n--atomic: revision {} failed; {}rolled back to revision {to} (now revision {revision}, deployed)",
            t.failed,
            if restored_db {
                "database restored from the backup taken before its migration, then "
            } else {
                ""
            }
        ),
        Restored::Removed { objects } => format!(
            "\n--atomic: revision {} failed; removed the {objects} objects the install created (objects that existed before were not touched)",
            t.failed
        ),
        Restored::Failed(e) => match t.previous {
            Some(to) => format!(
                "\n--atomic: the automatic rollback failed too: {e}\nThe release's state: revision {} failed, the rollback's revision failed, revision {to} is still the last deployed one.\nFix: thebot rollback {to} --name {} -n {}",
                t.failed, r.name, r.namespace
            ),
            None => format!(
                "\n--atomic: removing what the install created failed: {e}\nThe release's state: revision {} failed and no revision is deployed.\nFix: thebot uninstall --name {} -n {}",
                t.failed, r.name, r.namespace
            ),
        },
    };
    err.with_suffix(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::tests::sample;
    use crate::release::record::{Backup, Migration, Status};
    use crate::release::store::Entry;

    fn entry(revision: u32, migrated_in: u32, backup: bool) -> Entry {
        let mut r = sample(revision, Status::Failed);
        r.migration = Some(Migration {
            image: "ghcr.io/the-bot/thebot-backend:1.5.0".into(),
            revision: migrated_in,
            backup: backup.then(|| Backup {
                file: "r-r2-x.dump".into(),
                claim: "r-backups".into(),
                time: "2026-12-06T20:00:00Z".into(),
                size: None,
                job: "r-backup-01234567".into(),
            }),
        });
        Entry {
            revision,
            record: Ok(r),
            resource_version: String::new(),
        }
    }

    #[test]
    fn only_a_migration_started_by_the_failed_revision_is_restored() {
        let started = migration_state(&[entry(2, 2, true)], 2);
        assert!(matches!(&started, MigrationState::Started(Some(b)) if b.file == "r-r2-x.dump"));
        assert!(
            started
                .say(2)
                .contains("restoring the database from r-r2-x.dump")
        );
        // The state carried forward from revision 1: it never started.
        let not = migration_state(&[entry(2, 1, false)], 2);
        assert_eq!(not, MigrationState::NotStarted);
        assert!(not.say(2).contains("no database restore"));
        // Started without a backup (backups off): nothing to restore.
        let off = migration_state(&[entry(2, 2, false)], 2);
        assert_eq!(off, MigrationState::Started(None));
        assert!(off.say(2).contains("no backup was taken"));
        assert!(matches!(
            migration_state(&[], 2),
            MigrationState::Unknown(_)
        ));
    }
}

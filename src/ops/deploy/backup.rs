//! Database safety (README, "Database safety"): which Job is the
//! migration, whether it will run, the backup Job made concrete for one
//! run, and the pure decision "does this rollback cross a migration".

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use crate::cluster::Cluster;
use crate::manifest::Object;
use crate::plan::HOOK_ANNOTATION;
use crate::release::record::{Backup, Migration, Record};
use crate::release::store::Entry;

/// The component label of the migration hook Job.
pub const MIGRATE_COMPONENT: &str = "migrate";
/// The environment variable the backup Job writes its file under.
const FILE_ENV: &str = "BACKUP_FILE";

fn component(o: &Object) -> Option<&str> {
    o.value
        .pointer("/metadata/labels/app.kubernetes.io~1component")
        .and_then(Value::as_str)
}

/// The first container's image of a workload or Job.
pub fn first_image(o: &Object) -> Option<String> {
    o.value
        .pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The migration hook Job among `objects`.
pub fn migration_job<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Option<&'a Object> {
    objects.into_iter().find(|o| {
        o.kind() == "Job"
            && o.annotation(HOOK_ANNOTATION).is_some()
            && component(o) == Some(MIGRATE_COMPONENT)
    })
}

/// The backend image a set of objects runs: its migration Job's, else the
/// backend Deployment's.
pub fn backend_image(objects: &[Object]) -> Option<String> {
    migration_job(objects).and_then(first_image).or_else(|| {
        objects
            .iter()
            .find(|o| o.kind() == "Deployment" && component(o) == Some("backend"))
            .and_then(first_image)
    })
}

/// `<release>-r<revision>-<YYYYMMDDTHHMMSSZ>.dump`.
pub fn file_name(release: &str, revision: u32, now: k8s_openapi::jiff::Timestamp) -> String {
    format!(
        "{release}-r{revision}-{}.dump",
        now.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// The rendered backup Job made concrete for one run: `BACKUP_FILE` set
/// to `file`, named `<release>-backup-<hash8>` of that spec.
pub fn concrete(template: &Object, release: &str, file: &str) -> Object {
    let mut job = template.clone();
    if let Some(envs) = job
        .value
        .pointer_mut("/spec/template/spec/containers/0/env")
        .and_then(Value::as_array_mut)
    {
        for e in envs.iter_mut().filter(|e| e["name"] == FILE_ENV) {
            e["value"] = Value::String(file.to_string());
        }
    }
    let hash = crate::render::postprocess::hook_hash(&job.value);
    job.value["metadata"]["name"] = Value::String(format!("{release}-backup-{hash}"));
    job
}

/// The claim a backup Job writes to.
pub fn claim_of(job: &Object) -> String {
    job.value
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "backups")
        .and_then(|v| v.pointer("/persistentVolumeClaim/claimName"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The size a backup Job's log reports (`thebot-backup: FILE N bytes`).
pub fn size_in_log(log: &str, file: &str) -> Option<u64> {
    log.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("thebot-backup: ")?;
        let rest = rest.strip_prefix(file)?.trim();
        rest.strip_suffix("bytes")?.trim().parse().ok()
    })
}

/// The size the backup Job's pod logged (best effort: None when the log
/// cannot be read or does not say).
pub async fn size_of(cluster: &Cluster, namespace: &str, job: &str, file: &str) -> Option<u64> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let lp = ListParams::default().labels(&format!("job-name={job}"));
    for pod in pods.list(&lp).await.ok()?.items {
        let name = pod.metadata.name.unwrap_or_default();
        let lp = LogParams {
            container: Some("backup".into()),
            tail_lines: Some(50),
            ..Default::default()
        };
        if let Some(size) = pods
            .logs(&name, &lp)
            .await
            .ok()
            .and_then(|log| size_in_log(&log, file))
        {
            return Some(size);
        }
    }
    None
}

/// The database's schema as the newest record that knows it says.
pub fn last_migration(entries: &[Entry]) -> Option<&Migration> {
    entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .filter(|r| r.migration.is_some())
        .max_by_key(|r| r.revision)
        .and_then(|r| r.migration.as_ref())
}

/// A rollback that would run a backend other than the one the database
/// was last migrated by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossing {
    /// The revision rolled back to, and the backend image it runs.
    pub target: u32,
    pub target_image: String,
    /// The migration the database is at.
    pub migrated: Migration,
    /// The backup that holds the database as the target revision ran on
    /// it (`rollback --restore-db`), if one was taken.
    pub restore: Option<Backup>,
}

impl Crossing {
    /// The refusal: what would happen, and the ways out.
    pub fn refusal(&self) -> String {
        let m = &self.migrated;
        let restore = match &self.restore {
            Some(b) => format!(
                "--restore-db              restore the database first from {} on PersistentVolumeClaim {} \
                 (taken before the first migration away from revision {}'s code; what was written since is lost), then roll back",
                b.file, b.claim, self.target
            ),
            None => format!(
                "no backup was taken before the migration away from revision {}'s code \
                 (backups off: backup.enabled): --restore-db cannot help, --allow-schema-mismatch is the only way back",
                self.target
            ),
        };
        format!(
            "rollback to revision {} refused: it runs {}, but the database was migrated by {} in revision {}: \
             the old code would run on a newer schema (Django fails on missing or extra columns).\n  \
             --allow-schema-mismatch   roll back anyway (the migration is backward compatible)\n  \
             {restore}\n\
             nothing was written",
            self.target, self.target_image, m.image, m.revision
        )
    }

    /// The warning when the user allowed it.
    pub fn allowed(&self) -> String {
        format!(
            "rolling back to revision {} ({}) on a database migrated by {} in revision {} (--allow-schema-mismatch): the schema stays as it is",
            self.target, self.target_image, self.migrated.image, self.migrated.revision
        )
    }
}

/// Does rolling back to `target` (a recorded revision, its objects) cross
/// a migration? Only when both images are known and differ: a release
/// whose records predate the migration state, or without a migration Job,
/// has nothing to compare.
pub fn crossing(target: &Record, objects: &[Object], entries: &[Entry]) -> Option<Crossing> {
    let migrated = last_migration(entries)?;
    let image = backend_image(objects)?;
    (image != migrated.image).then(|| Crossing {
        target: target.revision,
        restore: backup_to_restore(entries, target.revision, &image).cloned(),
        target_image: image,
        migrated: migrated.clone(),
    })
}

/// The backup that holds the database as revision `target` (running
/// `target_image`) left it: the one taken before the first migration,
/// after `target`, to another image. Later backups hold a newer schema;
/// a migration Job re-run with the same image changed no schema, so the
/// backup before it is skipped for the newer one.
pub fn backup_to_restore<'a>(
    entries: &'a [Entry],
    target: u32,
    target_image: &str,
) -> Option<&'a Backup> {
    entries
        .iter()
        .filter_map(|e| e.record.as_ref().ok())
        .filter_map(|r| r.migration.as_ref())
        .filter(|m| m.revision > target && m.image != target_image)
        .min_by_key(|m| m.revision)
        .and_then(|m| m.backup.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::tests::sample;
    use crate::release::record::{Backup, Status};
    use serde_json::json;

    const OLD: &str = "ghcr.io/the-bot/thebot-backend:1.4.0";
    const NEW: &str = "ghcr.io/the-bot/thebot-backend:1.5.0";

    fn job(component: &str, image: &str) -> Object {
        Object {
            source: String::new(),
            value: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
                "name": format!("r-{component}-0000"),
                "labels": {"app.kubernetes.io/component": component},
                "annotations": {HOOK_ANNOTATION: "install,upgrade"}},
                "spec": {"template": {"spec": {"containers": [{"name": component, "image": image,
                    "env": [{"name": "BACKUP_FILE", "value": "x"}, {"name": "KEEP", "value": "3"}]}]}}}}),
        }
    }

    fn entry(revision: u32, status: Status, migrated: Option<(&str, u32)>) -> Entry {
        let mut r = sample(revision, status);
        r.migration = migrated.map(|(image, revision)| Migration {
            image: image.into(),
            revision,
            backup: None,
        });
        Entry {
            revision,
            record: Ok(r),
            resource_version: String::new(),
        }
    }

    #[test]
    fn a_rollback_to_code_older_than_the_schema_crosses_the_migration() {
        let entries = vec![
            entry(1, Status::Superseded, Some((OLD, 1))),
            entry(2, Status::Deployed, Some((NEW, 2))),
        ];
        let target = sample(1, Status::Superseded);
        let c = crossing(&target, &[job("migrate", OLD)], &entries).expect("crosses");
        assert_eq!((c.target, c.target_image.as_str()), (1, OLD));
        assert_eq!((c.migrated.image.as_str(), c.migrated.revision), (NEW, 2));
        let msg = c.refusal();
        for needle in [
            "old code would run on a newer schema",
            "--allow-schema-mismatch",
            "no backup was taken",
            "nothing was written",
        ] {
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn the_same_image_or_an_unknown_state_does_not_cross() {
        let target = sample(1, Status::Superseded);
        // Revision 3 changed only LOG_LEVEL: the schema is still 1.5.0's.
        let entries = vec![
            entry(1, Status::Superseded, Some((OLD, 1))),
            entry(2, Status::Superseded, Some((NEW, 2))),
            entry(3, Status::Deployed, Some((NEW, 2))),
        ];
        assert!(crossing(&target, &[job("migrate", NEW)], &entries).is_none());
        // Records older than the migration state: nothing to compare.
        let old = vec![
            entry(1, Status::Superseded, None),
            entry(2, Status::Deployed, None),
        ];
        assert!(crossing(&target, &[job("migrate", OLD)], &old).is_none());
        // No migration Job and no backend in the target: nothing to compare.
        assert!(crossing(&target, &[job("collectstatic", OLD)], &entries).is_none());
    }

    #[test]
    fn the_newest_known_state_wins_even_from_a_failed_revision() {
        // Revision 3 failed after its migration had started: the schema is
        // 1.6.0's, whatever revision 2 runs.
        let entries = vec![
            entry(1, Status::Superseded, Some((OLD, 1))),
            entry(2, Status::Deployed, Some((NEW, 2))),
            entry(
                3,
                Status::Failed,
                Some(("ghcr.io/the-bot/thebot-backend:1.6.0", 3)),
            ),
        ];
        let target = sample(2, Status::Deployed);
        let c = crossing(&target, &[job("migrate", NEW)], &entries).expect("crosses");
        assert_eq!(c.migrated.revision, 3);
    }

    #[test]
    fn the_backend_deployment_stands_in_when_migrations_are_off() {
        let deploy = Object {
            source: String::new(),
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "r-backend",
                "labels": {"app.kubernetes.io/component": "backend"}},
                "spec": {"template": {"spec": {"containers": [{"name": "backend", "image": OLD}]}}}}),
        };
        assert_eq!(backend_image(&[deploy]).as_deref(), Some(OLD));
    }

    #[test]
    fn the_concrete_job_names_its_file_and_hashes_its_spec() {
        let template = job("backup", "postgres:16");
        let a = concrete(&template, "r", "r-r2-20261206T200000Z.dump");
        let b = concrete(&template, "r", "r-r3-20261206T210000Z.dump");
        assert_ne!(a.name(), b.name());
        assert!(a.name().starts_with("r-backup-") && a.name().len() == "r-backup-".len() + 8);
        let env = &a.value["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], "r-r2-20261206T200000Z.dump");
        assert_eq!(env[1]["value"], "3");
        let t: k8s_openapi::jiff::Timestamp = "2026-12-06T20:00:00Z".parse().unwrap();
        assert_eq!(file_name("r", 2, t), "r-r2-20261206T200000Z.dump");
    }

    #[test]
    fn the_size_is_read_from_the_jobs_log() {
        let log = "thebot-backup: r-r2-x.dump 48213 bytes\nthebot-backup: deleted r-r1-y.dump\n";
        assert_eq!(size_in_log(log, "r-r2-x.dump"), Some(48213));
        assert_eq!(size_in_log("container started", "r-r2-x.dump"), None);
    }

    fn backup(file: &str) -> Backup {
        Backup {
            file: file.into(),
            claim: "r-backups".into(),
            time: "2026-12-06T20:00:00Z".into(),
            size: Some(10),
            job: "r-backup-01234567".into(),
        }
    }

    /// Revision `revision`'s record, the database migrated by `image` in
    /// `migrated_in` after a backup `file` (if any).
    fn migrated(revision: u32, image: &str, migrated_in: u32, file: Option<&str>) -> Entry {
        let mut e = entry(revision, Status::Superseded, Some((image, migrated_in)));
        if let Ok(r) = e.record.as_mut() {
            r.migration.as_mut().unwrap().backup = file.map(backup);
        }
        e
    }

    #[test]
    fn the_backup_to_restore_is_the_one_before_the_first_migration_away() {
        const V6: &str = "ghcr.io/the-bot/thebot-backend:1.6.0";
        // 1 runs 1.4.0; 2 changes LOG_LEVEL; 3 migrates to 1.5.0 (backup
        // b3); 4 carries that state; 5 migrates to 1.6.0 (backup b5).
        let entries = vec![
            migrated(1, OLD, 1, None),
            migrated(2, OLD, 1, None),
            migrated(3, NEW, 3, Some("b3")),
            migrated(4, NEW, 3, Some("b3")),
            migrated(5, V6, 5, Some("b5")),
        ];
        let file = |t, image| backup_to_restore(&entries, t, image).map(|b| b.file.as_str());
        // Back to 1.4.0 (revision 1 or 2): the database as it was before 3.
        assert_eq!(file(1, OLD), Some("b3"));
        assert_eq!(file(2, OLD), Some("b3"));
        // Back to 1.5.0 (revision 3 or 4): the one before 5, not b3.
        assert_eq!(file(3, NEW), Some("b5"));
        assert_eq!(file(4, NEW), Some("b5"));
        // Nothing migrated after 5.
        assert_eq!(file(5, V6), None);
        // The first migration away was not backed up: a later backup holds
        // a newer schema and is no substitute.
        let unbacked = vec![
            migrated(1, OLD, 1, None),
            migrated(2, NEW, 2, None),
            migrated(3, V6, 3, Some("b3")),
        ];
        assert_eq!(backup_to_restore(&unbacked, 1, OLD), None);
        // A migration Job re-run on the same image changed no schema: the
        // newer backup before the real change is the one.
        let rerun = vec![
            migrated(1, OLD, 1, None),
            migrated(2, OLD, 2, Some("b2")),
            migrated(3, NEW, 3, Some("b3")),
        ];
        assert_eq!(
            backup_to_restore(&rerun, 1, OLD).map(|b| b.file.as_str()),
            Some("b3")
        );
    }

    #[test]
    fn a_refusal_offers_restore_db_when_there_is_a_backup() {
        let entries = vec![
            migrated(1, OLD, 1, None),
            migrated(2, NEW, 2, Some("r-r2-20261206T200000Z.dump")),
        ];
        let target = sample(1, Status::Superseded);
        let c = crossing(&target, &[job("migrate", OLD)], &entries).expect("crosses");
        let msg = c.refusal();
        for needle in [
            "--restore-db",
            "r-r2-20261206T200000Z.dump on PersistentVolumeClaim r-backups",
            "--allow-schema-mismatch",
        ] {
            assert!(msg.contains(needle), "{msg}");
        }
        let none = vec![migrated(1, OLD, 1, None), migrated(2, NEW, 2, None)];
        let c = crossing(&target, &[job("migrate", OLD)], &none).expect("crosses");
        assert!(c.restore.is_none());
        assert!(
            c.refusal()
                .contains("--allow-schema-mismatch is the only way back"),
            "{}",
            c.refusal()
        );
    }
}

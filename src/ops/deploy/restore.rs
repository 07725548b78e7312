//! `rollback --restore-db` (README, "Database safety"): under the lock,
//! before the rollback revision is recorded, the app Deployments that run
//! the backend image are scaled to 0 and their pods awaited gone, then a
//! restore Job (`pg_restore --clean --if-exists` of the backup taken
//! before the first migration away from the target's code) runs and is
//! awaited. The rollback's own apply then brings the Deployments back.
//!
//! The restore Job is the target revision's backup Job (same image,
//! credentials, claim mount and hardening) with its command swapped: it
//! exists in every record written with backups on, whatever the templates
//! are now.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::{Value, json};

use super::backup;
use crate::apply;
use crate::apply::live::LiveIndex;
use crate::cluster::{Cluster, Discovery};
use crate::manifest::{Object, ObjectId};
use crate::ops::events::{Event, Sink};
use crate::ops::session::ReleaseRef;
use crate::ops::{OpError, waiting};
use crate::plan::HOOK_ANNOTATION;
use crate::release::record::Backup;
use crate::release::store::Entry;

/// The component label (and container name) of the restore Job.
pub const RESTORE_COMPONENT: &str = "restore";

const SCRIPT: &str = r#"set -eu
f="/backups/$BACKUP_FILE"
if [ ! -f "$f" ]; then echo "thebot-restore: $BACKUP_FILE is not on the claim" >&2; exit 1; fi
PGPASSWORD="$(cat /run/secrets/thebot/postgres-password)" pg_restore --clean --if-exists --no-password --dbname="$PGDATABASE" "$f"
echo "thebot-restore: $BACKUP_FILE $(wc -c < "$f") bytes"
"#;

/// The restore Job of `backup`, made from a rendered backup Job: its
/// command replaced by the restore, `BACKUP_FILE` the file to read, the
/// claim the one that holds it, named `<release>-restore-<hash8>`.
pub fn restore_job(template: &Object, release: &str, backup: &Backup) -> Object {
    let mut job = template.clone();
    let v = &mut job.value;
    v["metadata"]["annotations"][HOOK_ANNOTATION] = json!(RESTORE_COMPONENT);
    for at in ["/metadata/labels", "/spec/template/metadata/labels"] {
        if let Some(labels) = v.pointer_mut(at).and_then(Value::as_object_mut) {
            labels.insert(
                "app.kubernetes.io/component".into(),
                json!(RESTORE_COMPONENT),
            );
        }
    }
    if let Some(c) = v.pointer_mut("/spec/template/spec/containers/0") {
        c["name"] = json!(RESTORE_COMPONENT);
        c["command"] = json!(["sh", "-c", SCRIPT]);
        if let Some(envs) = c["env"].as_array_mut() {
            envs.retain(|e| e["name"] != "KEEP");
            for e in envs.iter_mut().filter(|e| e["name"] == "BACKUP_FILE") {
                e["value"] = json!(backup.file);
            }
        }
    }
    if let Some(vols) = v
        .pointer_mut("/spec/template/spec/volumes")
        .and_then(Value::as_array_mut)
    {
        for vol in vols.iter_mut().filter(|vol| vol["name"] == "backups") {
            vol["persistentVolumeClaim"]["claimName"] = json!(backup.claim);
        }
    }
    let hash = crate::render::postprocess::hook_hash(&job.value);
    job.value["metadata"]["name"] = json!(format!("{release}-restore-{hash}"));
    job
}

/// The Deployments of `objects` that run `image` in any container (the
/// backend, the celery worker and beat; not postgres nor redis).
pub fn app_deployments<'a>(objects: &'a [Object], image: &str) -> Vec<&'a Object> {
    objects
        .iter()
        .filter(|o| o.kind() == "Deployment")
        .filter(|o| {
            o.value
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["image"] == image))
        })
        .collect()
}

/// The rollback's objects after a restore: a Deployment whose replicas an
/// autoscaler owns (none in the manifest) gets back the count it had, or
/// it would stay at 0; the scaled Deployments are applied with force, to
/// take `spec.replicas` back from the scale-down. Returns their ids.
pub fn bring_back(objects: &mut [Object], scaled: &[(String, i64)]) -> Vec<ObjectId> {
    let mut ids = Vec::new();
    for o in objects.iter_mut().filter(|o| o.kind() == "Deployment") {
        let Some((_, replicas)) = scaled.iter().find(|(n, _)| n == o.name()) else {
            continue;
        };
        if o.value.pointer("/spec/replicas").is_none() {
            o.value["spec"]["replicas"] = json!(replicas);
        }
        ids.push(o.id());
    }
    ids
}

/// What the restore did, for the record and the summary.
pub struct Restored {
    pub backup: Backup,
    pub job: String,
    pub size: Option<u64>,
    /// Deployment name -> replicas before the scale-down.
    pub scaled: Vec<(String, i64)>,
}

impl Restored {
    pub fn summary(&self) -> String {
        format!(
            "database restored from {} ({}) on PersistentVolumeClaim {} by Job {} (the backup of {}; what was written since is gone)",
            self.backup.file,
            self.size
                .or(self.backup.size)
                .map_or("size not reported".to_string(), |s| format!("{s} bytes")),
            self.backup.claim,
            self.job,
            self.backup.time,
        )
    }
}

pub struct Restore<'a> {
    pub cluster: &'a Cluster,
    pub discovery: &'a Discovery,
    pub release: &'a ReleaseRef,
    pub opts: &'a super::DeployOptions,
    pub deadline: tokio::time::Instant,
}

impl Restore<'_> {
    /// Scale down, restore, and forget the migration Jobs (so that the
    /// next upgrade to the newer code migrates again).
    pub async fn run(
        &self,
        backup: &Backup,
        template: &Object,
        deployments: &[&Object],
        entries: &[Entry],
        sink: &dyn Sink,
    ) -> Result<Restored, OpError> {
        let ns = &self.release.namespace;
        // Scaled down by applying them as thebot (the running revision's
        // Deployments, replicas 0), so that `spec.replicas` stays thebot's:
        // the rollback, or a plain re-apply after a failed restore, takes
        // it back without a conflict.
        let ids: Vec<ObjectId> = deployments.iter().map(|d| d.id()).collect();
        let live = LiveIndex::snapshot(&self.cluster.client, self.discovery, &ids, ns)
            .await
            .map_err(|e| OpError::from(e).with_suffix(NOTHING))?;
        let mut scaled = Vec::new();
        let mut down = Vec::new();
        for d in deployments {
            let Some(l) = live.get(&d.id()) else { continue };
            scaled.push((
                d.name().to_string(),
                apply::live_replicas(&l.value).unwrap_or(1),
            ));
            let mut d = (*d).clone();
            d.value["spec"]["replicas"] = json!(0);
            down.push(d);
        }
        let down_refs: Vec<&Object> = down.iter().collect();
        let down_ids: Vec<ObjectId> = down.iter().map(Object::id).collect();
        apply::apply(
            &self.cluster.client,
            self.discovery,
            &down_refs,
            &live,
            &self.opts.apply,
            &down_ids,
        )
        .await
        .map_err(|e| OpError::from(e).with_suffix(NOTHING))?;
        let names: Vec<String> = scaled
            .iter()
            .map(|(n, r)| format!("{n} (was {r})"))
            .collect();
        sink.event(Event::Info(format!(
            "restore: scaled to 0 so nothing writes during the restore: {}",
            names.join(", ")
        )));
        let how_back = self.how_back(&scaled);
        self.pods_gone(deployments, &how_back).await?;

        let job = restore_job(template, &self.release.name, backup);
        sink.event(Event::Info(format!(
            "restore: {} restores {} from PersistentVolumeClaim {}",
            job.id(),
            backup.file,
            backup.claim
        )));
        let stopped = format!(
            "\nthe database restore failed: nothing was rolled back and the app stays scaled to 0 (the database may be partly restored).\n  \
             see why:      kubectl logs -n {ns} job/{job}\n  \
             retry:        thebot rollback <N> -n {ns} --restore-db\n  \
             or scale back the current revision: {how_back}",
            job = job.name(),
        );
        let live = LiveIndex::snapshot(&self.cluster.client, self.discovery, &[job.id()], ns)
            .await
            .map_err(|e| OpError::from(e).with_suffix(&stopped))?;
        let apply::Applied { changes, .. } = apply::apply(
            &self.cluster.client,
            self.discovery,
            &[&job],
            &live,
            &self.opts.apply,
            &[],
        )
        .await
        .map_err(|e| OpError::from(e).with_suffix(&stopped))?;
        let mut w = waiting::Waiting::start(
            self.cluster,
            self.discovery,
            std::slice::from_ref(&job),
            &self.release.name,
            ns,
            waiting::WaitSettings {
                skip_load_balancers: true,
                fail_on_unschedulable: self.opts.fail_on_unschedulable,
                log_lines: self.opts.log_lines,
            },
        )
        .await;
        w.wait_stage(self.cluster, &[&job], &changes, self.deadline, sink)
            .await
            .map_err(|e| match e {
                OpError::Timeout(_) | OpError::RolloutFailed(_) => e.with_suffix(&stopped),
                // A restore that did not finish is a failed restore.
                other => OpError::RolloutFailed(format!("{other}{stopped}")),
            })?;
        let size = size_of(self.cluster, ns, job.name(), &backup.file).await;
        self.forget_migrations(entries, sink).await;
        Ok(Restored {
            backup: backup.clone(),
            job: job.name().to_string(),
            size,
            scaled,
        })
    }

    fn how_back(&self, scaled: &[(String, i64)]) -> String {
        let ns = &self.release.namespace;
        scaled
            .iter()
            .map(|(n, r)| format!("kubectl scale -n {ns} deployment/{n} --replicas={r}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Until no pod of the scaled Deployments is left.
    async fn pods_gone(&self, deployments: &[&Object], how_back: &str) -> Result<(), OpError> {
        let pods: Api<Pod> = Api::namespaced(self.cluster.client.clone(), &self.release.namespace);
        let selectors: Vec<String> = deployments
            .iter()
            .filter_map(|d| d.value.pointer("/spec/selector/matchLabels"))
            .filter_map(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        loop {
            let mut left = Vec::new();
            for s in &selectors {
                let list = pods
                    .list(&ListParams::default().labels(s))
                    .await
                    .map_err(fail)?;
                left.extend(list.items.into_iter().filter_map(|p| p.metadata.name));
            }
            if left.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= self.deadline {
                return Err(OpError::Timeout(format!(
                    "timed out waiting for the app's pods to stop before the restore ({} left: {}); nothing was restored nor rolled back.\n  \
                     scale back: {how_back}",
                    left.len(),
                    left.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The migration Jobs left from the newer code: deleted, so that an
    /// upgrade back to that code sees no finished migration and runs it
    /// again on the restored (older) schema.
    async fn forget_migrations(&self, entries: &[Entry], sink: &dyn Sink) {
        let jobs: Api<Job> = Api::namespaced(self.cluster.client.clone(), &self.release.namespace);
        let mut names: Vec<String> = entries
            .iter()
            .filter_map(|e| e.record.as_ref().ok())
            .filter_map(|r| crate::manifest::from_stream(&r.manifest).ok())
            .filter_map(|objs| backup::migration_job(&objs).map(|j| j.name().to_string()))
            .collect();
        names.sort();
        names.dedup();
        let dp = DeleteParams::background();
        for name in names {
            match jobs.delete(&name, &dp).await {
                Ok(_) => sink.event(Event::Info(format!(
                    "restore: Job/{}/{name} deleted (the next upgrade to its code migrates again)",
                    self.release.namespace
                ))),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => sink.event(Event::Warning(format!(
                    "restore: Job/{}/{name} not deleted ({e}): delete it before upgrading, or the migration will not run again",
                    self.release.namespace
                ))),
            }
        }
    }
}

const NOTHING: &str = "\nrestore: nothing was restored nor rolled back";

fn fail(e: kube::Error) -> OpError {
    OpError::Failed(format!("restore: {e}{NOTHING}"))
}

/// The size the restore Job's log reports (`thebot-restore: FILE N bytes`).
async fn size_of(cluster: &Cluster, namespace: &str, job: &str, file: &str) -> Option<u64> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let lp = ListParams::default().labels(&format!("job-name={job}"));
    for pod in pods.list(&lp).await.ok()?.items {
        let name = pod.metadata.name.unwrap_or_default();
        let lp = kube::api::LogParams {
            container: Some(RESTORE_COMPONENT.into()),
            tail_lines: Some(50),
            ..Default::default()
        };
        if let Some(size) = pods.logs(&name, &lp).await.ok().and_then(|log| {
            let log = log.replace("thebot-restore: ", "thebot-backup: ");
            backup::size_in_log(&log, file)
        }) {
            return Some(size);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_restore_job_is_the_backup_job_with_the_restore_command() {
        let template = Object {
            source: String::new(),
            value: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
                "name": "r-backup", "labels": {"app.kubernetes.io/component": "backup"},
                "annotations": {HOOK_ANNOTATION: "backup"}},
                "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/component": "backup"}},
                    "spec": {"containers": [{"name": "backup", "image": "postgres:16",
                    "command": ["sh", "-c", "pg_dump"],
                    "securityContext": {"readOnlyRootFilesystem": true},
                    "env": [{"name": "BACKUP_FILE", "value": "x"}, {"name": "KEEP", "value": "3"}]}],
                    "volumes": [{"name": "backups", "persistentVolumeClaim": {"claimName": "other"}}]}}}}),
        };
        let b = Backup {
            file: "r-r2-20261206T200000Z.dump".into(),
            claim: "r-backups".into(),
            time: "2026-12-06T20:00:00Z".into(),
            size: None,
            job: "r-backup-01234567".into(),
        };
        let job = restore_job(&template, "r", &b);
        assert!(job.name().starts_with("r-restore-") && job.name().len() == "r-restore-".len() + 8);
        let c = &job.value["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "postgres:16");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        let script = c["command"][2].as_str().unwrap();
        assert!(
            script.contains("pg_restore --clean --if-exists"),
            "{script}"
        );
        assert_eq!(c["env"], json!([{"name": "BACKUP_FILE", "value": b.file}]));
        assert_eq!(
            job.value["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "r-backups"
        );
        assert_eq!(job.annotation(HOOK_ANNOTATION), Some("restore"));
    }
}

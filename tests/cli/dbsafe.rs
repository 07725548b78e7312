//! Database-safe releases (issue 19): the backup Job before a migration,
//! the migration state in the records, and rollbacks that would run old
//! code on a newer schema refused.

use serde_json::Value;

use crate::support::{render, thebot};

fn backup_job(objects: &[Value]) -> Option<&Value> {
    objects
        .iter()
        .find(|o| o["kind"] == "Job" && o["metadata"]["annotations"]["thebot.io/hook"] == "backup")
}

fn container(job: &Value) -> &Value {
    &job["spec"]["template"]["spec"]["containers"][0]
}

fn env_of<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"))
}

#[test]
fn backups_are_rendered_in_staging_and_prod_and_not_in_dev() {
    for env in ["staging", "prod"] {
        let objects = render(env, &[]);
        let release = if env == "prod" {
            "thebot"
        } else {
            "thebot-staging"
        };
        let job = backup_job(&objects).unwrap_or_else(|| panic!("{env}: no backup Job"));
        let name = job["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("{release}-backup-")), "{name}");
        let claim = objects
            .iter()
            .find(|o| {
                o["kind"] == "PersistentVolumeClaim"
                    && o["metadata"]["name"] == format!("{release}-backups")
            })
            .unwrap_or_else(|| panic!("{env}: no backups claim"));
        assert_eq!(
            claim["metadata"]["annotations"]["thebot.io/resource-policy"],
            "keep"
        );
    }
    let dev = render("dev", &[]);
    assert!(backup_job(&dev).is_none());
    assert!(
        !dev.iter()
            .any(|o| o["metadata"]["name"] == "thebot-dev-backups")
    );
    let on = render("dev", &["--set", "backup.enabled=true"]);
    assert!(backup_job(&on).is_some());
}

#[test]
fn the_backup_job_dumps_with_the_database_image_and_the_secret_as_a_file() {
    let objects = render("prod", &[]);
    let job = backup_job(&objects).unwrap();
    let c = container(job);
    let image = c["image"].as_str().unwrap();
    assert!(
        image.starts_with("docker.io/library/postgres:16.6-alpine@sha256:"),
        "{image}"
    );
    let script = c["command"][2].as_str().unwrap();
    assert!(script.contains("pg_dump --format=custom"), "{script}");
    assert!(
        script.contains("/run/secrets/thebot/postgres-password"),
        "{script}"
    );
    assert_eq!(env_of(c, "PGHOST")["value"], "thebot-postgresql");
    assert_eq!(env_of(c, "KEEP")["value"], "5");
    // No password anywhere in the pod spec: only the Secret's key, mounted.
    let spec = serde_json::to_string(&job["spec"]).unwrap();
    assert!(!spec.contains("example-postgres-password"), "{spec}");
    let secret = job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "secret")
        .unwrap();
    assert_eq!(secret["secret"]["secretName"], "thebot-secret");
    assert_eq!(secret["secret"]["items"][0]["key"], "POSTGRES_PASSWORD");
    // The hardening of every other Job.
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    let pod = &job["spec"]["template"]["spec"]["securityContext"];
    assert!(pod["runAsUser"].as_u64().unwrap() >= 10000);
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(job["spec"]["backoffLimit"], 0);
}

#[test]
fn an_external_database_and_an_existing_claim_are_used_as_given() {
    let objects = render(
        "staging",
        &[
            "--set",
            "postgresql.enabled=false",
            "--set",
            "database.externalHost=db.example.com",
            "--set",
            "backup.existingClaim=nightly-dumps",
            "--set",
            "backup.image.tag=17.2-alpine",
        ],
    );
    let job = backup_job(&objects).unwrap();
    let c = container(job);
    assert_eq!(env_of(c, "PGHOST")["value"], "db.example.com");
    assert_eq!(c["image"], "docker.io/library/postgres:17.2-alpine");
    let claim = &job["spec"]["template"]["spec"]["volumes"][0];
    assert_eq!(claim["persistentVolumeClaim"]["claimName"], "nightly-dumps");
    assert!(
        !objects
            .iter()
            .any(|o| o["metadata"]["name"] == "thebot-staging-backups")
    );
}

#[test]
fn lint_is_clean_with_backups_on_in_every_environment() {
    let secrets = crate::support::repo()
        .join("releases/prod-secrets.example.yaml")
        .display()
        .to_string();
    for args in [
        vec!["lint", "dev", "--set", "backup.enabled=true"],
        vec!["lint", "staging"],
        vec!["lint", "prod", "-f", secrets.as_str()],
    ] {
        let out = thebot(&args);
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("0 errors, 0 warnings"),
            "{args:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn bad_backup_values_are_refused_naming_the_key() {
    for (set, key) in [
        ("backup.keep=0", "backup.keep"),
        ("backup.persistence.size=lots", "backup.persistence.size"),
        ("backup.enabled=sometimes", "backup.enabled"),
    ] {
        let out = thebot(&["template", "staging", "--set", set]);
        out.fails_with(1, &[key]);
    }
}

#[test]
fn restore_db_excludes_allow_schema_mismatch_and_atomic() {
    for other in ["--allow-schema-mismatch", "--atomic"] {
        let out = thebot(&["rollback", "1", "--restore-db", other]);
        out.fails_with(2, &["--restore-db", "cannot be used with"]);
    }
}

// ---- end to end, against kubesim ----

use crate::sim::Sim;

const NS: &str = "thebot-dev";
const BACKUPS_ON: &str = "backup.enabled=true";

fn backend_image(sim: &Sim) -> String {
    let d = sim.get("/apis/apps/v1/namespaces/thebot-dev/deployments/thebot-dev-backend");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

/// (name, creationTimestamp) of the release's Jobs of one component.
fn jobs(sim: &Sim, component: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = sim
        .list(&format!(
            "/apis/batch/v1/namespaces/{NS}/jobs?labelSelector=app.kubernetes.io/component%3D{component}"
        ))
        .iter()
        .map(|j| {
            (
                j["metadata"]["name"].as_str().unwrap().to_string(),
                j["metadata"]["creationTimestamp"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `thebot install dev --create-namespace` with backups on.
fn install_with_backups(sim: &Sim) -> crate::support::Output {
    sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--set",
        BACKUPS_ON,
        "--timeout",
        "2m",
    ])
}

fn history_json(sim: &Sim) -> Vec<Value> {
    let out = sim.thebot(&["history", "-n", NS, "-o", "json"]);
    serde_json::from_str::<Value>(out.ok())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// dev with backups on, installed, then upgraded to backend 1.5.0 (a
/// migration, so a backup first).
fn migrated_to_1_5_0() -> Sim {
    let sim = Sim::start();
    let install = install_with_backups(&sim);
    install.ok();
    assert!(
        !install.stderr.contains("backup before the migration"),
        "an install has no data to back up:\n{}",
        install.stderr
    );
    assert!(jobs(&sim, "backup").is_empty());
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ])
    .ok();
    sim
}

#[test]
fn an_upgrade_that_changes_the_backend_backs_up_before_it_migrates() {
    let sim = migrated_to_1_5_0();
    let backups = jobs(&sim, "backup");
    assert_eq!(backups.len(), 1, "{backups:?}");
    let migrations = jobs(&sim, "migrate");
    assert_eq!(
        migrations.len(),
        1,
        "the old migration Job is deleted: {migrations:?}"
    );
    let (backup_at, migrate_at) = (&backups[0].1, &migrations[0].1);
    // Virtual time runs 20 times faster: the backup Job takes about 2 s.
    assert!(
        backup_at < migrate_at,
        "the backup Job ({backup_at}) is created before the migration Job ({migrate_at})"
    );
    // The backup Job ran to completion, writing the file the record names.
    let job = sim.get(&format!(
        "/apis/batch/v1/namespaces/{NS}/jobs/{}",
        backups[0].0
    ));
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let h = history_json(&sim);
    assert_eq!(
        h[0]["migration"]["image"],
        "ghcr.io/the-bot/thebot-backend:1.4.0"
    );
    assert!(
        h[0]["migration"]["backup"].is_null(),
        "no backup at install"
    );
    let m = &h[1]["migration"];
    assert_eq!(m["image"], "ghcr.io/the-bot/thebot-backend:1.5.0");
    assert_eq!(m["revision"], 2);
    let file = m["backup"]["file"].as_str().unwrap();
    assert!(
        file.starts_with("thebot-dev-r2-") && file.ends_with(".dump"),
        "{file}"
    );
    assert_eq!(m["backup"]["claim"], "thebot-dev-backups");
    assert_eq!(m["backup"]["job"], backups[0].0.as_str());
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "BACKUP_FILE")
        .unwrap()
        .clone();
    assert_eq!(env["value"], file);
    // The table shows it too.
    let table = sim.thebot(&["history", "-n", NS]);
    assert!(
        table.ok().contains("1.5.0 migrated +backup"),
        "{}",
        table.stdout
    );
}

#[test]
fn an_upgrade_that_changes_only_the_log_level_runs_neither() {
    let sim = migrated_to_1_5_0();
    let before = (jobs(&sim, "backup"), jobs(&sim, "migrate"));
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ]);
    out.ok();
    assert!(
        !out.stderr.contains("backup before the migration"),
        "{}",
        out.stderr
    );
    assert_eq!((jobs(&sim, "backup"), jobs(&sim, "migrate")), before);
    // The schema is still revision 2's.
    let h = history_json(&sim);
    assert_eq!(h[2]["migration"]["revision"], 2);
}

#[test]
fn a_rollback_across_a_migration_is_refused_and_writes_nothing() {
    let sim = migrated_to_1_5_0();
    let before = sim.resource_versions(NS);
    let out = sim.thebot(&["rollback", "1", "-n", NS, "--timeout", "2m"]);
    out.fails_with(
        1,
        &[
            "rollback to revision 1 refused",
            "ghcr.io/the-bot/thebot-backend:1.4.0",
            "migrated by ghcr.io/the-bot/thebot-backend:1.5.0 in revision 2",
            "old code would run on a newer schema",
            "--allow-schema-mismatch",
            "--restore-db",
            "restore the database first from thebot-dev-r2-",
            "on PersistentVolumeClaim thebot-dev-backups",
        ],
    );
    assert_eq!(sim.resource_versions(NS), before, "nothing was written");
    assert_eq!(history_json(&sim).len(), 2);
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.5.0");

    // The user knows the migration is backward compatible.
    let out = sim.thebot(&[
        "rollback",
        "1",
        "-n",
        NS,
        "--allow-schema-mismatch",
        "--timeout",
        "2m",
    ]);
    out.ok();
    assert!(
        out.stderr.contains("--allow-schema-mismatch"),
        "{}",
        out.stderr
    );
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");
    let h = history_json(&sim);
    assert_eq!(h.len(), 3);
    assert_eq!(
        h[2]["migration"]["image"], "ghcr.io/the-bot/thebot-backend:1.5.0",
        "a rollback does not migrate back: the schema stays 1.5.0's"
    );
    // Rolling forward to the migrated code is no crossing.
    sim.thebot(&["rollback", "2", "-n", NS, "--timeout", "2m"])
        .ok();
}

#[test]
fn a_failing_backup_stops_the_upgrade_before_the_migration() {
    let sim = Sim::start();
    install_with_backups(&sim).ok();
    let migrations = jobs(&sim, "migrate");
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--set",
        "backup.image.tag=16.6-jobfail",
        "--timeout",
        "2m",
    ]);
    out.fails_with(
        4,
        &[
            "thebot-dev-backup-",
            "the backup before the migration failed",
            "stopped before the migration Job",
        ],
    );
    assert!(!out.stderr.contains("==> 4-app"), "{}", out.stderr);
    assert_eq!(
        jobs(&sim, "migrate"),
        migrations,
        "the migration never started"
    );
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");
    let h = history_json(&sim);
    assert_eq!(
        (h[0]["status"].as_str(), h[1]["status"].as_str()),
        (Some("deployed"), Some("failed"))
    );
    assert_eq!(
        h[1]["migration"]["revision"], 1,
        "the schema is still revision 1's"
    );
}

#[test]
fn backups_lists_each_backup_once_and_which_retention_deleted() {
    let sim = migrated_to_1_5_0();
    // A LOG_LEVEL change carries the state forward: still one backup.
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ])
    .ok();
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "backup.keep=1",
        "--set",
        "images.backend.tag=1.6.0",
        "--timeout",
        "2m",
    ])
    .ok();
    let out = sim.thebot(&["backups", "-n", NS, "-o", "json"]);
    let list: Vec<Value> = serde_json::from_str(out.ok()).unwrap();
    let summary: Vec<(u64, &str, bool)> = list
        .iter()
        .map(|b| {
            (
                b["revision"].as_u64().unwrap(),
                b["image"].as_str().unwrap(),
                b["kept"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, "ghcr.io/the-bot/thebot-backend:1.5.0", false),
            (4, "ghcr.io/the-bot/thebot-backend:1.6.0", true)
        ]
    );
    assert!(
        list[1]["file"]
            .as_str()
            .unwrap()
            .starts_with("thebot-dev-r4-")
    );
    // The newest backup Job keeps one file and is the only one left.
    let backups = jobs(&sim, "backup");
    assert_eq!(backups.len(), 1, "{backups:?}");
    let job = sim.get(&format!(
        "/apis/batch/v1/namespaces/{NS}/jobs/{}",
        backups[0].0
    ));
    assert_eq!(job["metadata"]["name"], list[1]["job"]);
    let keep = job["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "KEEP")
        .unwrap()["value"]
        .clone();
    assert_eq!(keep, "1");
    let table = sim.thebot(&["backups", "-n", NS]);
    let text = table.ok();
    assert!(
        text.contains("FILE") && text.contains("deleted: beyond backup.keep"),
        "{text}"
    );
}

fn pods(sim: &Sim, component: &str) -> Vec<Value> {
    sim.list(&format!(
        "/api/v1/namespaces/{NS}/pods?labelSelector=app.kubernetes.io/component%3D{component}"
    ))
}

#[test]
fn rollback_restore_db_restores_the_database_then_rolls_back() {
    let sim = migrated_to_1_5_0();
    let file = history_json(&sim)[1]["migration"]["backup"]["file"]
        .as_str()
        .unwrap()
        .to_string();
    let out = sim.thebot(&["rollback", "1", "-n", NS, "--restore-db", "--timeout", "2m"]);
    out.ok();
    let err = &out.stderr;
    for needle in [
        "scaled to 0",
        "thebot-dev-backend (was 1)",
        "thebot-dev-celery (was 1)",
        "thebot-dev-celery-beat (was 1)",
        &format!("database restored from {file} ("),
        "on PersistentVolumeClaim thebot-dev-backups",
    ] {
        assert!(err.contains(needle), "{needle}:\n{err}");
    }
    // The scale-down, then the restore, come before the revision exists.
    let at = |s: &str| err.find(s).unwrap_or_else(|| panic!("{s}:\n{err}"));
    assert!(at("scaled to 0") < at("restores ") && at("restores ") < at("revision 3 recorded"));
    let restores = jobs(&sim, "restore");
    assert_eq!(restores.len(), 1, "{restores:?}");
    let job = sim.get(&format!(
        "/apis/batch/v1/namespaces/{NS}/jobs/{}",
        restores[0].0
    ));
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert!(
        c["command"][2]
            .as_str()
            .unwrap()
            .contains("pg_restore --clean --if-exists")
    );
    assert_eq!(env_of(c, "BACKUP_FILE")["value"], file.as_str());
    let record = sim.get(&format!(
        "/api/v1/namespaces/{NS}/secrets/thebot.release.v1.thebot-dev.v3"
    ));
    let recorded_at = record["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(
        restores[0].1.as_str() < recorded_at,
        "the restore Job ({}) is created before revision 3 ({recorded_at})",
        restores[0].1
    );
    // No app pod outlived the restore: every one running now started after it.
    let done = job["status"]["completionTime"].as_str().unwrap();
    for component in ["backend", "celery", "celery-beat"] {
        let ps = pods(&sim, component);
        assert!(!ps.is_empty(), "{component} is back");
        for p in ps {
            let created = p["metadata"]["creationTimestamp"].as_str().unwrap();
            assert!(
                created >= done,
                "{component} pod {created} predates the restore's end {done}"
            );
        }
    }
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");
    let d = sim.get(&format!(
        "/apis/apps/v1/namespaces/{NS}/deployments/thebot-dev-backend"
    ));
    assert_eq!(d["status"]["readyReplicas"], 1, "{}", d["status"]);
    let h = history_json(&sim);
    assert_eq!(h.len(), 3);
    let m = &h[2]["migration"];
    assert_eq!(
        m["image"], "ghcr.io/the-bot/thebot-backend:1.4.0",
        "the schema is 1.4.0's again"
    );
    assert_eq!(m["revision"], 3);
    assert_eq!(m["backup"]["file"], file.as_str());
    assert_eq!(h[2]["status"], "deployed");
    assert!(
        h[2]["description"]
            .as_str()
            .unwrap()
            .contains("database restored from"),
        "{}",
        h[2]["description"]
    );
    // The newer code's migration Job is gone: upgrading to it migrates again.
    assert!(
        jobs(&sim, "migrate").is_empty(),
        "{:?}",
        jobs(&sim, "migrate")
    );
    let up = sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ]);
    up.ok();
    assert!(
        up.stderr.contains("backup before the migration"),
        "{}",
        up.stderr
    );
    assert_eq!(jobs(&sim, "migrate").len(), 1);
    assert_eq!(history_json(&sim)[3]["migration"]["revision"], 4);
}

#[test]
fn a_failing_restore_stops_with_the_app_down_and_nothing_rolled_back() {
    let sim = Sim::start();
    // Revision 1's backup Job (the one a restore to it is made from) fails.
    sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--set",
        BACKUPS_ON,
        "--set",
        "backup.image.tag=16.6-jobfail",
        "--timeout",
        "2m",
    ])
    .ok();
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ])
    .ok();
    let out = sim.thebot(&["rollback", "1", "-n", NS, "--restore-db", "--timeout", "2m"]);
    out.fails_with(
        4,
        &[
            "thebot-dev-restore-",
            "the database restore failed: nothing was rolled back and the app stays scaled to 0",
            "kubectl logs -n thebot-dev job/thebot-dev-restore-",
            "kubectl scale -n thebot-dev deployment/thebot-dev-backend --replicas=1",
        ],
    );
    assert!(
        !out.stderr.contains("revision 3 recorded"),
        "{}",
        out.stderr
    );
    assert_eq!(history_json(&sim).len(), 2, "no revision recorded");
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.5.0");
    let d = sim.get(&format!(
        "/apis/apps/v1/namespaces/{NS}/deployments/thebot-dev-backend"
    ));
    assert_eq!(d["spec"]["replicas"], 0);
    // The lock was released: the plain rollback the message offers works.
    sim.thebot(&[
        "rollback",
        "1",
        "-n",
        NS,
        "--allow-schema-mismatch",
        "--timeout",
        "2m",
    ])
    .ok();
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");
}

#[test]
fn restore_db_without_a_backup_is_refused_and_without_a_migration_ignored() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"])
        .ok();
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ])
    .ok();
    // No migration crossed: the flag is ignored, with a warning.
    let out = sim.thebot(&["rollback", "1", "-n", NS, "--restore-db", "--timeout", "2m"]);
    out.ok();
    assert!(
        out.stderr.contains("--restore-db ignored"),
        "{}",
        out.stderr
    );
    assert!(jobs(&sim, "restore").is_empty());
    // Backups off (dev's default): a migration with no backup before it.
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ])
    .ok();
    let before = sim.resource_versions(NS);
    let out = sim.thebot(&["rollback", "1", "-n", NS, "--restore-db", "--timeout", "2m"]);
    out.fails_with(
        1,
        &[
            "--restore-db refused: no backup exists",
            "--allow-schema-mismatch is the only way",
            "nothing was written",
        ],
    );
    assert_eq!(sim.resource_versions(NS), before, "nothing was written");
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.5.0");
}

/// The manual-backup notes of the release (`thebot backup`).
fn manual_notes(sim: &Sim) -> Vec<Value> {
    sim.list(&format!(
        "/api/v1/namespaces/{NS}/configmaps?labelSelector=thebot.io/manual-backups%3Dtrue"
    ))
}

#[test]
fn backup_takes_one_now_backups_lists_it_and_a_failing_or_disabled_one_is_reported() {
    let sim = Sim::start();
    install_with_backups(&sim).ok();
    let out = sim.thebot(&["backup", "-n", NS, "--timeout", "2m"]);
    let text = out.ok();
    assert!(
        text.contains("backup taken: thebot-dev-r1-manual-")
            && text
                .contains("on PersistentVolumeClaim thebot-dev-backups by Job thebot-dev-backup-"),
        "{text}"
    );
    assert!(
        text.contains(" bytes)") || text.contains("size not reported"),
        "{text}"
    );
    let backups = jobs(&sim, "backup");
    assert_eq!(backups.len(), 1, "{backups:?}");
    let job = sim.get(&format!(
        "/apis/batch/v1/namespaces/{NS}/jobs/{}",
        backups[0].0
    ));
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let file = env_of(container(&job), "BACKUP_FILE")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains(&file), "{text}");
    // Listed, from the ConfigMap (no record was rewritten).
    let list: Vec<Value> =
        serde_json::from_str(sim.thebot(&["backups", "-n", NS, "-o", "json"]).ok()).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["file"], file.as_str());
    assert_eq!(list[0]["manual"], true);
    assert_eq!(list[0]["revision"], 1);
    assert_eq!(list[0]["job"], backups[0].0.as_str());
    assert_eq!(list[0]["image"], "ghcr.io/the-bot/thebot-backend:1.4.0");
    let table = sim.thebot(&["backups", "-n", NS]);
    assert!(table.ok().contains("manual"), "{}", table.stdout);
    assert_eq!(history_json(&sim).len(), 1, "no revision was written");
    assert_eq!(manual_notes(&sim).len(), 1);

    // A backup Job that fails: exit 4, the Job and how to see why named,
    // nothing noted.
    sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "backup.image.tag=16.6-jobfail",
        "--timeout",
        "2m",
    ])
    .ok();
    let out = sim.thebot(&["backup", "-n", NS, "--timeout", "2m"]);
    out.fails_with(
        4,
        &[
            "the backup failed: Job thebot-dev-backup-",
            "kubectl logs -n thebot-dev job/thebot-dev-backup-",
        ],
    );
    let list: Vec<Value> =
        serde_json::from_str(sim.thebot(&["backups", "-n", NS, "-o", "json"]).ok()).unwrap();
    assert_eq!(list.len(), 1, "the failed one is not listed: {list:?}");

    // Backups off: exit 1, how to enable them, nothing written.
    sim.thebot(&["upgrade", "-n", NS, "--timeout", "2m"]).ok();
    let before = sim.resource_versions(NS);
    let out = sim.thebot(&["backup", "-n", NS, "--timeout", "2m"]);
    out.fails_with(
        1,
        &[
            "backups are off for release thebot-dev",
            "revision 3 records no backup Job",
            "--set backup.enabled=true",
            "nothing was written",
        ],
    );
    assert_eq!(sim.resource_versions(NS), before, "nothing was written");

    // Uninstall takes the notes with the records.
    sim.thebot(&["uninstall", "-n", NS, "--timeout", "2m"]).ok();
    assert!(manual_notes(&sim).is_empty());
}

#[test]
fn atomic_restores_the_database_only_when_the_failed_migration_had_started() {
    let sim = Sim::start();
    install_with_backups(&sim).ok();
    // The migration Job of 1.5.0-jobfail fails (kubesim: a `jobfail` tag
    // makes Jobs exit 1), after the backup before it was taken.
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0-jobfail",
        "--atomic",
        "--timeout",
        "2m",
    ]);
    out.fails_with(
        4,
        &[
            "revision 2's migration Job had started: restoring the database from thebot-dev-r2-",
            "--atomic: revision 2 failed; database restored from the backup taken before its migration, then rolled back to revision 1 (now revision 3, deployed)",
        ],
    );
    let restores = jobs(&sim, "restore");
    assert_eq!(restores.len(), 1, "{restores:?}");
    let job = sim.get(&format!(
        "/apis/batch/v1/namespaces/{NS}/jobs/{}",
        restores[0].0
    ));
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let h = history_json(&sim);
    let file = h[1]["migration"]["backup"]["file"].as_str().unwrap();
    assert_eq!(env_of(container(&job), "BACKUP_FILE")["value"], file);
    assert_eq!(
        (h[1]["status"].as_str(), h[2]["status"].as_str()),
        (Some("failed"), Some("deployed"))
    );
    // The restore ran before the rollback's revision was recorded.
    let rollback_record = sim.get(&format!(
        "/api/v1/namespaces/{NS}/secrets/thebot.release.v1.thebot-dev.v3"
    ));
    let recorded_at = rollback_record["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap();
    assert!(
        restores[0].1.as_str() <= recorded_at,
        "restore Job {} created after the rollback record {recorded_at}",
        restores[0].1
    );
    assert!(
        h[2]["description"]
            .as_str()
            .unwrap()
            .contains("database restored"),
        "{:?}",
        h[2]
    );
    assert_eq!(
        h[2]["migration"]["image"],
        "ghcr.io/the-bot/thebot-backend:1.4.0"
    );
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");

    // A failure before the migration Job (the backup fails): no restore.
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        NS,
        "--set",
        BACKUPS_ON,
        "--set",
        "images.backend.tag=1.5.0",
        "--set",
        "backup.image.tag=16.6-jobfail",
        "--atomic",
        "--timeout",
        "2m",
    ]);
    out.fails_with(
        4,
        &[
            "no migration Job started in revision 4 (it failed before one, or had none to run): no database restore",
            "--atomic: revision 4 failed; rolled back to revision 3 (now revision 5, deployed)",
        ],
    );
    assert_eq!(jobs(&sim, "restore"), restores, "no second restore");
    assert_eq!(backend_image(&sim), "ghcr.io/the-bot/thebot-backend:1.4.0");
}

#[test]
fn a_migration_without_backups_is_announced_and_not_on_install() {
    // dev has backups off: the install (no data yet) says nothing, the
    // upgrade whose migration will run warns that no copy is taken, and an
    // upgrade with no migration to run stays quiet.
    let sim = Sim::start();
    let install = sim.thebot(&["install", "dev", "--create-namespace", "--timeout", "2m"]);
    install.ok();
    let warning = "will migrate the database without a backup";
    assert!(!install.stderr.contains(warning), "{}", install.stderr);
    let upgrade = sim.thebot(&[
        "upgrade",
        "--set",
        "images.backend.tag=1.5.0",
        "--timeout",
        "2m",
    ]);
    upgrade.ok();
    assert!(upgrade.stderr.contains(warning), "{}", upgrade.stderr);
    assert!(
        upgrade.stderr.contains("backup.enabled=false"),
        "{}",
        upgrade.stderr
    );
    assert!(jobs(&sim, "backup").is_empty());
    let again = sim.thebot(&[
        "upgrade",
        "--reuse-values",
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ]);
    again.ok();
    assert!(!again.stderr.contains(warning), "{}", again.stderr);
}

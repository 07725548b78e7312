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

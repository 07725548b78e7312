//! `thebot template`: golden renders, determinism, round trips and errors.

use serde_json::Value;

use crate::support::{TempDir, find, parse, render, repo, secret_value, thebot};

fn golden(env: &str) {
    let secrets = repo()
        .join("releases/prod-secrets.example.yaml")
        .display()
        .to_string();
    let mut args = vec!["template", env];
    if env == "prod" {
        args.extend(["-f", secrets.as_str()]);
    }
    let out = thebot(&args);
    let path = repo().join(format!("tests/golden/{env}.yaml"));
    if std::env::var_os("THEBOT_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, out.ok()).unwrap();
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file (THEBOT_UPDATE_GOLDEN=1 writes it)");
    assert!(
        out.ok() == want,
        "`thebot template {env}` differs from tests/golden/{env}.yaml; review the diff and rerun with THEBOT_UPDATE_GOLDEN=1 if intended"
    );
}

#[test]
fn golden_dev() {
    golden("dev");
}

#[test]
fn golden_staging() {
    golden("staging");
}

#[test]
fn golden_prod() {
    golden("prod");
}

#[test]
fn renders_are_byte_identical_across_runs() {
    let a = thebot(&["template", "staging"]);
    let b = thebot(&["template", "staging"]);
    assert_eq!(a.ok(), b.ok());
}

#[test]
fn every_document_starts_with_separator_and_source() {
    let out = thebot(&["template", "dev"]);
    let docs: Vec<&str> = out.ok().split("---\n").skip(1).collect();
    assert!(docs.len() > 20);
    for d in docs {
        assert!(d.starts_with("# Source: manifests/"), "{d}");
    }
}

const ADVERSARIAL: &[&str] = &[
    "abc #tail",
    "12345",
    "on",
    "yes",
    "0755",
    "a: b",
    "2024-01-01",
    "line one\nline two\n",
    "юникод ✓ 🚀",
    "'quoted' \"twice\"",
    "~",
    " padded ",
];

/// Values through -f and --set come out with the same type and content.
#[test]
fn adversarial_values_survive_the_round_trip() {
    let dir = TempDir::new();
    for (i, s) in ADVERSARIAL.iter().enumerate() {
        let file = dir.write(
            &format!("v{i}.yaml"),
            &format!(
                "app:\n  apiRateLimit: {}\nsecrets:\n  telegramBotToken: {}\n",
                serde_json::to_string(s).unwrap(),
                serde_json::to_string(s).unwrap()
            ),
        );
        let objects = render("dev", &["-f", &file]);
        let cm = find(&objects, "ConfigMap", "thebot-dev-config");
        assert_eq!(
            cm["data"]["API_RATE_LIMIT"],
            Value::String(s.to_string()),
            "-f {s:?}"
        );
        let secret = find(&objects, "Secret", "thebot-dev-secret");
        assert_eq!(
            secret_value(secret, "TELEGRAM_BOT_TOKEN"),
            *s,
            "-f secret {s:?}"
        );
    }
    for s in ["abc #tail", "12345", "on", "юникод"] {
        let objects = render("dev", &["--set-string", &format!("app.apiRateLimit={s}")]);
        let cm = find(&objects, "ConfigMap", "thebot-dev-config");
        assert_eq!(
            cm["data"]["API_RATE_LIMIT"],
            Value::String(s.to_string()),
            "--set-string {s:?}"
        );
    }
    // --set types 12345 as an integer (Helm's rule); a ConfigMap value and
    // a secret are text all the same.
    let objects = render(
        "dev",
        &[
            "--set",
            "app.apiRateLimit=12345,secrets.yookassaShopId=0012",
        ],
    );
    assert_eq!(
        find(&objects, "ConfigMap", "thebot-dev-config")["data"]["API_RATE_LIMIT"],
        "12345"
    );
    assert_eq!(
        secret_value(
            find(&objects, "Secret", "thebot-dev-secret"),
            "YOOKASSA_SHOP_ID"
        ),
        "0012"
    );
}

/// A YAML 1.1 reader (PyYAML, like kubectl's Go reader) types every value
/// of the render exactly as thebot's own YAML 1.2 reader does.
#[test]
fn a_yaml_1_1_reader_sees_the_same_values() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!(
            "SKIP a_yaml_1_1_reader_sees_the_same_values: python3 with PyYAML is not installed"
        );
        return;
    }
    let dir = TempDir::new();
    let values = ADVERSARIAL
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect::<Vec<_>>();
    let file = dir.write(
        "adv.yaml",
        &format!(
            // Free-text keys: a log level or module path must be one (issue 17).
            "app:\n  apiRateLimit: {}\ndatabase:\n  name: {}\n  user: {}\n",
            values[0], values[2], values[5]
        ),
    );
    let out = thebot(&[
        "template",
        "prod",
        "-f",
        &repo()
            .join("releases/prod-secrets.example.yaml")
            .display()
            .to_string(),
        "-f",
        &file,
    ]);
    let stream = dir.write("render.yaml", out.ok());
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], default=lambda o: 'NOT-JSON:' + repr(o)))",
            &stream,
        ])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let theirs: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(theirs, Value::Array(parse(out.ok())));
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    thebot(&["template", "qa"]).fails_with(1, &["unknown environment `qa`", "dev, prod, staging"]);
}

#[test]
fn missing_values_file_is_named() {
    thebot(&["template", "dev", "-f", "nope.yaml"])
        .fails_with(1, &["cannot read values file nope.yaml"]);
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let dir = TempDir::new();
    let f = dir.write("bad.yaml", "app:\n  logLevel: [DEBUG\n  apiPageSize: 3\n");
    let out = thebot(&["template", "dev", "-f", &f]);
    out.fails_with(1, &[&format!("{f}:")]);
    let tail = out.stderr.split(&format!("{f}:")).nth(1).unwrap();
    let mut parts = tail.split(':');
    assert!(
        parts.next().unwrap().parse::<u32>().is_ok(),
        "line number in {}",
        out.stderr
    );
    assert!(
        parts.next().unwrap().parse::<u32>().is_ok(),
        "column number in {}",
        out.stderr
    );
}

#[test]
fn unknown_key_names_file_and_line() {
    let dir = TempDir::new();
    let f = dir.write("typo.yaml", "backend:\n  replicas: 2\n  replicaz: 3\n");
    thebot(&["template", "dev", "-f", &f]).fails_with(
        1,
        &[
            &format!("{f}:3: unknown key `backend.replicaz`"),
            "did you mean `backend.replicas`",
        ],
    );
}

#[test]
fn bad_set_arguments_are_named() {
    for (arg, needle) in [
        ("a", "--set a: key `a` has no value"),
        ("=x", "--set =x: the key before `=` is empty"),
        ("backend.replicas[x]=1", "whole number"),
        ("backend..replicas=1", "empty key segment"),
        ("backend.replicaz=1", "unknown key `backend.replicaz`"),
    ] {
        thebot(&["template", "dev", "--set", arg]).fails_with(1, &[needle]);
    }
}

#[test]
fn template_error_names_file_line_and_key() {
    let dir = TempDir::new();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(
        manifests.join("broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.backend.replicaz }}\n",
    )
    .unwrap();
    thebot(&[
        "template",
        "dev",
        "--manifests",
        &manifests.display().to_string(),
    ])
    .fails_with(
        1,
        &["broken.yaml:6:", "values.backend.replicaz", "undefined"],
    );
}

#[test]
fn template_errors_never_print_values() {
    let dir = TempDir::new();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(
        manifests.join("broken.yaml"),
        "a: {{ values.secrets.djangoSecretKey + 1 }}\n",
    )
    .unwrap();
    let out = thebot(&[
        "template",
        "dev",
        "--set",
        "secrets.djangoSecretKey=VerySecretValue123",
        "--manifests",
        &manifests.display().to_string(),
    ]);
    out.fails_with(1, &["broken.yaml:1:"]);
    assert!(!out.stderr.contains("VerySecretValue123"), "{}", out.stderr);
}

#[test]
fn prod_without_secrets_lists_every_missing_one() {
    thebot(&["template", "prod"]).fails_with(
        1,
        &[
            "secrets.djangoSecretKey",
            "secrets.postgresPassword",
            "secrets.telegramBotToken",
            "prod-secrets.example.yaml",
        ],
    );
}

#[test]
fn release_name_is_checked() {
    thebot(&["template", "dev", "--name", &"a".repeat(41)])
        .fails_with(1, &["release name", "at most 40"]);
    thebot(&["template", "dev", "--name", "Bad_Name"])
        .fails_with(1, &["release name `Bad_Name` is invalid"]);
}

#[test]
fn show_only_selects_objects() {
    let out = thebot(&[
        "template",
        "dev",
        "--show-only",
        "deployment/thebot-dev-backend",
        "--show-only",
        "Job/thebot-dev-migrate",
    ]);
    let objects = parse(out.ok());
    let kinds: Vec<_> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Job", "Deployment"]);
    thebot(&["template", "dev", "--show-only", "Deployment/nope"])
        .fails_with(1, &["no such object", "Deployment/thebot-dev-backend"]);
}

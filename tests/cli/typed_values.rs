//! Typed values (issue 17): a value of the wrong type is refused before
//! anything renders, naming the key and the layer that set it.

use crate::support::{TempDir, thebot, thebot_in};

/// Regression: `template dev --set backend.replicas=abc` printed
/// `replicas: abc` and exited 0.
#[test]
fn a_wrong_type_on_the_command_line_is_refused_naming_key_and_flag() {
    let out = thebot(&["template", "dev", "--set", "backend.replicas=abc"]);
    out.fails_with(
        1,
        &["--set backend.replicas=abc: backend.replicas must be a whole number ≥ 0"],
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn every_bad_layer_is_named_at_once_and_secrets_stay_hidden() {
    let dir = TempDir::new();
    dir.write(
        "values.yaml",
        "frontend:\n  autoscaling:\n    minReplicas: 0\nsecrets:\n  redisPassword: [hunter2hunter2]\n",
    );
    let out = thebot_in(
        dir.path(),
        &[
            "template",
            "dev",
            "-f",
            "values.yaml",
            "--set-string",
            "backend.replicas=3",
            "--set",
            "images.pullPolicy=Sometimes",
        ],
    );
    out.fails_with(
        1,
        &[
            "values.yaml:3: frontend.autoscaling.minReplicas must be a whole number ≥ 1",
            "values.yaml:5: the value of secrets.redisPassword must be text",
            "--set-string backend.replicas=3: backend.replicas must be a whole number ≥ 0",
            "--set images.pullPolicy=Sometimes: images.pullPolicy must be one of Always, IfNotPresent, Never",
        ],
    );
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

#[test]
fn min_above_max_names_both_keys() {
    let out = thebot(&[
        "template",
        "staging",
        "--set",
        "celery.autoscaling.minReplicas=9",
    ]);
    out.fails_with(
        1,
        &[
            "--set celery.autoscaling.minReplicas=9: celery.autoscaling.minReplicas (9) must be ≤ celery.autoscaling.maxReplicas (4, from releases/staging.yaml:",
        ],
    );
}

//! `thebot lint`: one deliberately broken manifest per rule, each caught
//! with its object and field; clean renders of every environment; a
//! manifest with five problems reports five. Broken manifests are copies
//! of the real templates with a textual patch, linted through the real
//! binary with `--manifests DIR`: the baseline is clean, so exactly the
//! patched problems are reported.

use serde::Deserialize;

use crate::support::{Output, TempDir, repo, thebot};

/// The JSON report, as the README documents it: an unknown or missing
/// field fails the test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    environment: String,
    release: String,
    namespace: String,
    objects: usize,
    strict: bool,
    errors: usize,
    warnings: usize,
    notes: usize,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Finding {
    severity: String,
    rule: String,
    object: String,
    source: String,
    path: String,
    message: String,
    fix: String,
}

impl Report {
    /// (rule, object, path) of every finding, in report order.
    fn keys(&self) -> Vec<(&str, &str, &str)> {
        self.findings
            .iter()
            .map(|f| (f.rule.as_str(), f.object.as_str(), f.path.as_str()))
            .collect()
    }

    /// Asserts exactly these (rule, object, path) findings, in any order.
    fn assert_only(&self, want: &[(&str, &str, &str)]) {
        let mut have = self.keys();
        let mut want = want.to_vec();
        have.sort();
        want.sort();
        assert_eq!(have, want, "{:#?}", self.findings);
    }

    fn finding(&self, rule: &str, path: &str) -> &Finding {
        self.findings
            .iter()
            .find(|f| f.rule == rule && f.path == path)
            .unwrap_or_else(|| panic!("no {rule} at {path}: {:#?}", self.findings))
    }
}

fn secrets_file() -> String {
    repo()
        .join("releases/prod-secrets.example.yaml")
        .display()
        .to_string()
}

/// `thebot lint ENV ARGS -o json` (prod with the example secrets).
fn lint_json(env: &str, args: &[&str]) -> (Output, Report) {
    let secrets = secrets_file();
    let mut all = vec!["lint", env, "-o", "json"];
    if env == "prod" {
        all.extend(["-f", secrets.as_str()]);
    }
    all.extend(args);
    let out = thebot(&all);
    let report: Report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr));
    assert_eq!(report.environment, env);
    assert_eq!(report.errors, out_count(&report, "error"));
    assert_eq!(report.warnings, out_count(&report, "warning"));
    assert_eq!(report.notes, out_count(&report, "note"));
    let want_code = if report.errors > 0 { 1 } else { 0 };
    assert_eq!(out.code, want_code, "stderr: {}", out.stderr);
    (out, report)
}

fn out_count(r: &Report, severity: &str) -> usize {
    r.findings.iter().filter(|f| f.severity == severity).count()
}

/// A copy of manifests/ with `patches` (file, from, to; the first
/// occurrence of `from`, which must exist) and extra files.
struct Manifests {
    _dir: TempDir,
    path: String,
}

fn manifests(patches: &[(&str, &str, &str)], extra: &[(&str, &str)]) -> Manifests {
    let dir = TempDir::new();
    let src = repo().join("manifests");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    for (file, from, to) in patches {
        let p = dir.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} lacks {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }
    for (name, text) in extra {
        dir.write(name, text);
    }
    let path = dir.path().display().to_string();
    Manifests { _dir: dir, path }
}

/// Lints `env` with patched templates.
fn lint_patched(
    env: &str,
    patches: &[(&str, &str, &str)],
    extra: &[(&str, &str)],
    args: &[&str],
) -> (Output, Report) {
    let m = manifests(patches, extra);
    let mut all = vec!["--manifests", m.path.as_str()];
    all.extend(args);
    lint_json(env, &all)
}

const DEV_BACKEND: &str = "Deployment/thebot-dev/thebot-dev-backend";

/// The backend's resources with a memory limit of `1Gb`, written into the
/// template: the values layer refuses `--set ...memory=1Gb` (issue 17), so
/// only a template can still hand lint a bad quantity.
const BAD_MEMORY_LIMIT: &str = r#"resources: {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gb"}}"#;
const CONTAINER: &str = "spec.template.spec.containers[0]";

fn at(field: &str) -> String {
    format!("{CONTAINER}.{field}")
}

#[test]
fn clean_renders_of_every_environment_pass() {
    for env in ["dev", "staging", "prod"] {
        let (_, report) = lint_json(env, &[]);
        assert_eq!(report.findings.len(), 0, "{env}: {:#?}", report.findings);
        assert!(report.objects > 20, "{env}");
        assert!(!report.strict);
        let secrets = secrets_file();
        let mut args = vec!["lint", env, "--strict"];
        if env == "prod" {
            args.extend(["-f", secrets.as_str()]);
        }
        assert_eq!(thebot(&args).ok(), "0 errors, 0 warnings\n", "{env}");
    }
    let (_, dev) = lint_json("dev", &[]);
    assert_eq!(
        (dev.release.as_str(), dev.namespace.as_str()),
        ("thebot-dev", "thebot-dev")
    );
}

#[test]
fn the_copied_templates_are_a_clean_baseline() {
    let (_, report) = lint_patched("dev", &[], &[], &[]);
    report.assert_only(&[]);
}

/// prod without secrets: every missing one a warning (exit 0), errors
/// with --strict.
#[test]
fn prod_without_secrets_warns_and_fails_only_when_strict() {
    let out = thebot(&["lint", "prod", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Report = serde_json::from_str(&out.stdout).unwrap();
    // Without the example file no image has a digest either: one
    // policy/image-digest warning per container (the backup Job's
    // pg_dump container included).
    assert_eq!((report.errors, report.warnings), (0, 17));
    let (missing, digests): (Vec<_>, Vec<_>) = report
        .findings
        .iter()
        .partition(|f| f.rule == "secrets/missing");
    assert_eq!(missing.len(), 8);
    assert!(digests.iter().all(|f| f.rule == "policy/image-digest"));
    for f in missing {
        assert_eq!(
            (f.rule.as_str(), f.object.as_str()),
            ("secrets/missing", "values")
        );
        assert!(f.path.starts_with("secrets."), "{}", f.path);
        assert!(f.fix.contains("prod-secrets.example.yaml"), "{}", f.fix);
    }
    assert!(
        report
            .keys()
            .contains(&("secrets/missing", "values", "secrets.telegramBotToken"))
    );
    let strict = thebot(&["lint", "prod", "--strict", "-o", "json"]);
    strict.fails_with(1, &["lint of prod found 17 errors, 0 warnings"]);
    let report: Report = serde_json::from_str(&strict.stdout).unwrap();
    assert!(report.strict);
    assert!(report.findings.iter().all(|f| f.severity == "error"));
}

#[test]
fn yaml_errors_are_reported_per_template() {
    let (_, report) = lint_patched(
        "dev",
        &[],
        &[
            ("broken-a.yaml", "a: [1, 2\n"),
            ("broken-b.yaml", "b: {x\n"),
        ],
        &[],
    );
    assert_eq!(report.findings.len(), 2, "{:#?}", report.findings);
    for f in &report.findings {
        assert_eq!(f.rule, "structure/yaml");
        assert!(f.object.ends_with("/broken-a.yaml") || f.object.ends_with("/broken-b.yaml"));
        assert!(f.message.contains("line "), "{}", f.message);
    }
}

#[test]
fn a_template_error_hides_no_other_problem() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "backend.yaml",
            "resources: {{ b.resources }}",
            BAD_MEMORY_LIMIT,
        )],
        &[("broken.yaml", "a: {{ values.nope }}\n")],
        &[],
    );
    assert_eq!(report.findings.len(), 2, "{:#?}", report.findings);
    assert_eq!(report.findings[0].rule, "structure/render");
    assert!(report.findings[0].message.contains("values.nope"));
    report.finding("semantics/quantity", &at("resources.limits.memory"));
}

#[test]
fn a_template_that_does_not_compile_is_reported() {
    let (_, report) = lint_patched("dev", &[], &[("broken.yaml", "{% if %}\n")], &[]);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.rule, "structure/render");
    assert!(f.object.ends_with("/broken.yaml"), "{}", f.object);
    assert!(
        f.message.contains("no template could be rendered"),
        "{}",
        f.message
    );
    assert_eq!(report.objects, 0);
}

#[test]
fn documents_need_api_version_kind_and_name() {
    let (_, report) = lint_patched(
        "dev",
        &[],
        &[(
            "partial.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\napiVersion: v1\nmetadata: {name: x}\n---\n- a list\n",
        )],
        &[],
    );
    let file = report.findings[0].object.clone();
    assert!(file.ends_with("/partial.yaml"), "{file}");
    report.assert_only(&[
        ("structure/missing-field", &file, "metadata.name"),
        ("structure/missing-field", &file, "kind"),
        ("structure/not-an-object", &file, ""),
    ]);
}

#[test]
fn an_object_rendered_twice_is_named() {
    let (_, report) = lint_patched(
        "dev",
        &[],
        &[(
            "again.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ name(\"app\") }}\n  namespace: {{ release.namespace }}\nautomountServiceAccountToken: false\n",
        )],
        &[],
    );
    report.assert_only(&[(
        "structure/duplicate",
        "ServiceAccount/thebot-dev/thebot-dev-app",
        "metadata.name",
    )]);
}

#[test]
fn unknown_fields_are_errors_with_their_path() {
    let (_, report) = lint_patched(
        "dev",
        &[("backend.yaml", "periodSeconds: 10", "periodSecond: 10")],
        &[],
        &[],
    );
    report.assert_only(&[(
        "schema/unknown-field",
        DEV_BACKEND,
        &at("readinessProbe.periodSecond"),
    )]);
}

#[test]
fn wrong_types_are_errors_with_their_path() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "backend.yaml",
            "initialDelaySeconds: 15",
            "initialDelaySeconds: soon",
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "schema/type",
        DEV_BACKEND,
        &at("livenessProbe.initialDelaySeconds"),
    )]);
    assert!(report.findings[0].message.contains("invalid type"));
}

/// SPEC §3: secret values never appear in terminal output, not even in a
/// type error about them.
#[test]
fn a_wrong_type_in_secret_data_does_not_print_the_value() {
    let (out, report) = lint_patched(
        "dev",
        &[(
            "config.yaml",
            "SECRET_KEY: {{ s.djangoSecretKey | b64 }}",
            "SECRET_KEY: 987654321",
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "schema/type",
        "Secret/thebot-dev/thebot-dev-secret",
        "data.SECRET_KEY",
    )]);
    assert!(!out.stdout.contains("987654321"), "{}", out.stdout);
    assert!(!out.stderr.contains("987654321"), "{}", out.stderr);
}

#[test]
fn an_api_version_kubernetes_does_not_serve_is_an_error() {
    let (_, report) = lint_patched(
        "staging",
        &[(
            "_helpers.tpl",
            "apiVersion: autoscaling/v2\n",
            "apiVersion: autoscaling/v2beta2\n",
        )],
        &[],
        &[],
    );
    report.assert_only(&[
        (
            "schema/api-version",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-backend",
            "apiVersion",
        ),
        (
            "schema/api-version",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-celery",
            "apiVersion",
        ),
        (
            "schema/api-version",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-frontend",
            "apiVersion",
        ),
    ]);
    assert!(report.findings[0].fix.contains("autoscaling/v2"));
}

#[test]
fn custom_resources_are_noted_not_checked() {
    let (out, report) = lint_json("staging", &["--set", "metrics.serviceMonitor.enabled=true"]);
    assert_eq!(out.code, 0);
    report.assert_only(&[(
        "schema/skipped",
        "ServiceMonitor/thebot-staging/thebot-staging-backend",
        "",
    )]);
    assert_eq!(report.findings[0].severity, "note");
}

#[test]
fn an_invalid_quantity_is_named_with_the_fix() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "backend.yaml",
            "resources: {{ b.resources }}",
            BAD_MEMORY_LIMIT,
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "semantics/quantity",
        DEV_BACKEND,
        &at("resources.limits.memory"),
    )]);
    assert!(
        report.findings[0].fix.contains("`1Gi`"),
        "{}",
        report.findings[0].fix
    );
}

#[test]
fn an_enum_in_the_wrong_case_is_named_with_the_right_spelling() {
    let (_, report) = lint_patched(
        "dev",
        &[("frontend.yaml", "type: ClusterIP", "type: ClusterIp")],
        &[],
        &[],
    );
    report.assert_only(&[(
        "semantics/enum",
        "Service/thebot-dev/thebot-dev-frontend",
        "spec.type",
    )]);
    assert!(report.findings[0].fix.contains("`ClusterIP`"));
}

#[test]
fn invalid_names_and_long_label_values_are_errors() {
    let long = "v".repeat(64);
    let extra = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  namespace: {{{{ release.namespace }}}}\n  labels:\n    tier: {long}\ndata: {{}}\n"
    );
    let (_, report) = lint_patched(
        "dev",
        &[(
            "frontend.yaml",
            "      - name: frontend\n",
            "      - name: Frontend\n",
        )],
        &[("named.yaml", &extra)],
        &[],
    );
    report.assert_only(&[
        (
            "semantics/name",
            "ConfigMap/thebot-dev/Bad_Name",
            "metadata.name",
        ),
        (
            "semantics/label",
            "ConfigMap/thebot-dev/Bad_Name",
            "metadata.labels.tier",
        ),
        (
            "semantics/name",
            "Deployment/thebot-dev/thebot-dev-frontend",
            &at("name"),
        ),
    ]);
}

#[test]
fn duplicate_env_and_volume_names_are_errors() {
    let (_, report) = lint_patched(
        "dev",
        &[
            (
                "postgresql.yaml",
                "- name: POSTGRES_DB\n",
                "- name: POSTGRES_USER\n",
            ),
            (
                "frontend.yaml",
                "- {name: cache, emptyDir: {}}",
                "- {name: tmp, emptyDir: {}}",
            ),
        ],
        &[],
        &[],
    );
    let frontend = "Deployment/thebot-dev/thebot-dev-frontend";
    report.assert_only(&[
        (
            "semantics/duplicate-name",
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            &at("env[1].name"),
        ),
        (
            "semantics/duplicate-name",
            frontend,
            "spec.template.spec.volumes[1].name",
        ),
        (
            "semantics/volume-mount",
            frontend,
            &at("volumeMounts[1].name"),
        ),
    ]);
}

#[test]
fn a_mount_of_an_undeclared_volume_is_an_error() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "backend.yaml",
            "- {name: tmp, mountPath: /tmp}",
            "- {name: temp, mountPath: /tmp}",
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "semantics/volume-mount",
        DEV_BACKEND,
        &at("volumeMounts[2].name"),
    )]);
    assert!(report.findings[0].fix.contains("tmp"));
}

#[test]
fn a_selector_outside_its_template_labels_is_an_error() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "celery.yaml",
            "matchLabels: {{ selector(\"celery-beat\") }}",
            "matchLabels: {{ selector(\"celery\") }}",
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "semantics/selector",
        "Deployment/thebot-dev/thebot-dev-celery-beat",
        "spec.selector.matchLabels[\"app.kubernetes.io/component\"]",
    )]);
}

#[test]
fn services_network_policies_and_budgets_must_select_pods() {
    let (_, report) = lint_patched(
        "staging",
        &[
            (
                "frontend.yaml",
                "selector: {{ selector(\"frontend\") }}",
                "selector: {{ selector(\"front-end\") }}",
            ),
            (
                "network.yaml",
                "    matchLabels: {{ selector(\"redis\") }}\n  policyTypes: [Ingress]",
                "    matchLabels: {{ selector(\"rediss\") }}\n  policyTypes: [Ingress]",
            ),
            (
                "_helpers.tpl",
                "    matchLabels: {{ selector(component) }}\n{% endmacro %}",
                "    matchLabels: {{ selector(\"nothing\") }}\n{% endmacro %}",
            ),
        ],
        &[],
        &[],
    );
    report.assert_only(&[
        (
            "semantics/selects-nothing",
            "Service/thebot-staging/thebot-staging-frontend",
            "spec.selector",
        ),
        (
            "semantics/selects-nothing",
            "NetworkPolicy/thebot-staging/thebot-staging-redis",
            "spec.podSelector",
        ),
        (
            "semantics/selects-nothing",
            "PodDisruptionBudget/thebot-staging/thebot-staging-backend",
            "spec.selector",
        ),
    ]);
    let svc = report.finding("semantics/selects-nothing", "spec.selector");
    assert!(svc.fix.contains("thebot-staging-frontend"), "{}", svc.fix);
}

/// SPEC §1b.5: the replaced chart's anti-affinity selected labels no pod had.
#[test]
fn anti_affinity_that_matches_no_pod_is_an_error() {
    let (_, report) = lint_patched(
        "staging",
        &[(
            "_helpers.tpl",
            "{\"matchLabels\": {{ selector(component) }}}",
            "{\"matchLabels\": {\"app\": \"thebot\"}}",
        )],
        &[],
        &[],
    );
    let path = "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector";
    report.assert_only(&[
        (
            "semantics/selects-nothing",
            "Deployment/thebot-staging/thebot-staging-backend",
            path,
        ),
        (
            "semantics/selects-nothing",
            "Deployment/thebot-staging/thebot-staging-celery",
            path,
        ),
        (
            "semantics/selects-nothing",
            "Deployment/thebot-staging/thebot-staging-frontend",
            path,
        ),
    ]);
}

#[test]
fn an_hpa_target_that_is_not_rendered_is_an_error() {
    let (_, report) = lint_patched(
        "staging",
        &[(
            "_helpers.tpl",
            "    name: {{ name(component) }}\n  minReplicas",
            "    name: {{ name(component ~ \"-x\") }}\n  minReplicas",
        )],
        &[],
        &[],
    );
    let path = "spec.scaleTargetRef.name";
    report.assert_only(&[
        (
            "semantics/reference",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-backend",
            path,
        ),
        (
            "semantics/reference",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-celery",
            path,
        ),
        (
            "semantics/reference",
            "HorizontalPodAutoscaler/thebot-staging/thebot-staging-frontend",
            path,
        ),
    ]);
}

#[test]
fn env_value_from_must_name_a_rendered_key() {
    let (_, report) = lint_patched(
        "dev",
        &[
            (
                "postgresql.yaml",
                "key: POSTGRES_DB}",
                "key: POSTGRES_DATABASE}",
            ),
            (
                "postgresql.yaml",
                "configMapKeyRef: {name: {{ name(\"config\") }}, key: POSTGRES_USER}",
                "configMapKeyRef: {name: {{ name(\"configs\") }}, key: POSTGRES_USER}",
            ),
        ],
        &[],
        &[],
    );
    report.assert_only(&[
        (
            "semantics/reference",
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            &at("env[1].valueFrom.configMapKeyRef.key"),
        ),
        (
            "semantics/reference",
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            &at("env[0].valueFrom.configMapKeyRef.name"),
        ),
    ]);
    let key = report.finding(
        "semantics/reference",
        &at("env[1].valueFrom.configMapKeyRef.key"),
    );
    assert!(key.fix.contains("POSTGRES_DB"), "{}", key.fix);
}

/// The databases mount their password as a file: a key the Secret lacks,
/// or a Secret that is not rendered, would keep the pod from starting.
#[test]
fn a_secret_volume_must_name_a_rendered_secret_and_keys() {
    let (_, report) = lint_patched(
        "dev",
        &[
            (
                "redis.yaml",
                "items: [{key: REDIS_PASSWORD,",
                "items: [{key: REDIS_PASS,",
            ),
            (
                "postgresql.yaml",
                "secretName: {{ secret_name() }}",
                "secretName: {{ name(\"secrets\") }}",
            ),
        ],
        &[],
        &[],
    );
    report.assert_only(&[
        (
            "semantics/reference",
            "StatefulSet/thebot-dev/thebot-dev-redis",
            "spec.template.spec.volumes[1].secret.items[0].key",
        ),
        (
            "semantics/reference",
            "StatefulSet/thebot-dev/thebot-dev-postgresql",
            "spec.template.spec.volumes[2].secret.secretName",
        ),
    ]);
    let key = report.finding(
        "semantics/reference",
        "spec.template.spec.volumes[1].secret.items[0].key",
    );
    assert!(
        key.message.contains("no key `REDIS_PASS`"),
        "{}",
        key.message
    );
    assert!(key.fix.contains("REDIS_PASSWORD"), "{}", key.fix);
}

#[test]
fn ingress_backends_and_target_ports_must_exist() {
    let (_, report) = lint_patched(
        "dev",
        &[
            ("ingress.yaml", "port: {name: http}", "port: {name: web}"),
            ("backend.yaml", "targetPort: http", "targetPort: web"),
        ],
        &[],
        &[],
    );
    let ingress = "Ingress/thebot-dev/thebot-dev-ingress";
    let port = |i: usize| format!("spec.rules[0].http.paths[{i}].backend.service.port.name");
    report.assert_only(&[
        ("semantics/reference", ingress, &port(0)),
        ("semantics/reference", ingress, &port(1)),
        ("semantics/reference", ingress, &port(2)),
        ("semantics/reference", ingress, &port(3)),
        (
            "semantics/reference",
            "Service/thebot-dev/thebot-dev-backend",
            "spec.ports[0].targetPort",
        ),
    ]);
}

#[test]
fn an_existing_secret_is_a_note_not_an_error() {
    let (out, report) = lint_json("dev", &["--set", "secrets.existingSecret=vault-synced"]);
    assert_eq!(out.code, 0);
    assert!(report.notes > 0);
    assert_eq!((report.errors, report.warnings), (0, 0));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule == "semantics/reference")
    );
}

#[test]
fn hardening_gaps_are_errors() {
    let (_, report) = lint_patched(
        "dev",
        &[
            (
                "frontend.yaml",
                "securityContext: {{ container_security() }}",
                "securityContext: {\"runAsNonRoot\": true, \"allowPrivilegeEscalation\": false, \"capabilities\": {\"drop\": [\"ALL\"]}}",
            ),
            (
                "jobs.yaml",
                "automountServiceAccountToken: false",
                "automountServiceAccountToken: true",
            ),
        ],
        &[],
        &["--set", "celery.resources.limits=null"],
    );
    let celery = "Deployment/thebot-dev/thebot-dev-celery";
    let job = |name: &str| {
        report
            .findings
            .iter()
            .find(|f| {
                f.object
                    .starts_with(&format!("Job/thebot-dev/thebot-dev-{name}-"))
            })
            .map(|f| f.object.clone())
            .unwrap()
    };
    let (migrate, collect) = (job("migrate"), job("collectstatic"));
    let sa = "spec.template.spec.automountServiceAccountToken";
    report.assert_only(&[
        (
            "policy/hardening",
            "Deployment/thebot-dev/thebot-dev-frontend",
            &at("securityContext.readOnlyRootFilesystem"),
        ),
        ("policy/resources", celery, &at("resources.limits.cpu")),
        ("policy/resources", celery, &at("resources.limits.memory")),
        ("policy/service-account", &migrate, sa),
        ("policy/service-account", &collect, sa),
    ]);
}

#[test]
fn long_running_containers_need_both_probes() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "celery.yaml",
            "        readinessProbe:\n          exec:\n            command: [sh, -c, 'test -s",
            "        startupProbe:\n          exec:\n            command: [sh, -c, 'test -s",
        )],
        &[],
        &[],
    );
    report.assert_only(&[(
        "policy/probes",
        "Deployment/thebot-dev/thebot-dev-celery-beat",
        &at("readinessProbe"),
    )]);
}

#[test]
fn production_needs_replicas_budgets_and_spreading() {
    let (_, report) = lint_json(
        "prod",
        &[
            "--set",
            "podAntiAffinity=false,frontend.pdb.enabled=false,celery.autoscaling.minReplicas=2",
        ],
    );
    let anti = "spec.template.spec.affinity.podAntiAffinity";
    report.assert_only(&[
        (
            "policy/production",
            "Deployment/thebot-prod/thebot-backend",
            anti,
        ),
        (
            "policy/production",
            "Deployment/thebot-prod/thebot-frontend",
            anti,
        ),
        (
            "policy/production",
            "Deployment/thebot-prod/thebot-frontend",
            "spec.template.metadata.labels",
        ),
        (
            "policy/production",
            "Deployment/thebot-prod/thebot-celery",
            anti,
        ),
        (
            "policy/production",
            "Deployment/thebot-prod/thebot-celery",
            "spec.replicas (HPA minReplicas)",
        ),
    ]);
    // The same values are no production problem elsewhere.
    let (_, staging) = lint_json("staging", &["--set", "podAntiAffinity=false"]);
    staging.assert_only(&[]);
}

#[test]
fn pods_without_network_policies_are_warnings() {
    let (out, report) = lint_json("dev", &["--set", "networkPolicy.enabled=false"]);
    assert_eq!(out.code, 0);
    assert_eq!(report.errors, 0);
    assert_eq!(report.warnings, 16, "8 pod templates, ingress and egress");
    assert!(report.keys().contains(&(
        "policy/network-policy",
        DEV_BACKEND,
        "spec.template.metadata.labels"
    )));
    thebot(&[
        "lint",
        "dev",
        "--strict",
        "--set",
        "networkPolicy.enabled=false",
    ])
    .fails_with(1, &["16 errors, 0 warnings"]);
}

#[test]
fn credentials_in_a_config_map_are_errors() {
    let (_, report) = lint_patched(
        "dev",
        &[(
            "config.yaml",
            "  LOG_LEVEL: {{ values.app.logLevel }}\n",
            "  LOG_LEVEL: {{ values.app.logLevel }}\n  SENTRY_DSN: x\n  BROKER: \"redis://user:pw@redis:6379/0\"\n  CACHE_KEY_PREFIX: thebot\n",
        )],
        &[],
        &[],
    );
    let cm = "ConfigMap/thebot-dev/thebot-dev-config";
    report.assert_only(&[
        ("policy/credentials", cm, "data.SENTRY_DSN"),
        ("policy/credentials", cm, "data.BROKER"),
    ]);
}

#[test]
fn images_must_be_pinned_to_a_tag_other_than_latest() {
    let (_, report) = lint_json("dev", &["--set", "images.backend.tag=latest"]);
    assert_eq!(report.errors, 5, "backend, celery, beat and two Jobs");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule == "policy/image" && f.path == at("image"))
    );
    let (_, pinned) = lint_json(
        "dev",
        &["--set", &format!("images.frontend.digest={DIGEST}")],
    );
    pinned.assert_only(&[]);
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A digest that is not `sha256:` + 64 hex would only fail as a pull error
/// on the node: lint reports it, in every environment.
#[test]
fn a_malformed_digest_is_an_error() {
    for (env, object) in [
        ("dev", "StatefulSet/thebot-dev/thebot-dev-redis"),
        ("prod", "StatefulSet/thebot-prod/thebot-redis"),
    ] {
        // Written into the template: the values layer refuses a malformed
        // images.redis.digest (issue 17).
        let patch = (
            "redis.yaml",
            "image: {{ image(\"redis\") }}",
            "image: docker.io/library/redis:7.4.2-alpine@sha256:0123abc",
        );
        let (out, report) = lint_patched(env, &[patch], &[], &[]);
        report.assert_only(&[("policy/image", object, &at("image"))]);
        let f = &report.findings[0];
        assert_eq!(f.severity, "error");
        assert!(f.message.contains("malformed digest"), "{}", f.message);
        assert_eq!(out.code, 1);
    }
}

/// prod is pinned by digest (the example file shows how): an image without
/// one is a warning, an error with --strict; dev and staging need none.
#[test]
fn prod_images_without_a_digest_warn_and_fail_when_strict() {
    let unpinned = ["--set-string", "images.frontend.digest="];
    let (out, report) = lint_json("prod", &unpinned);
    let frontend = "Deployment/thebot-prod/thebot-frontend";
    report.assert_only(&[("policy/image-digest", frontend, &at("image"))]);
    let f = &report.findings[0];
    assert_eq!(f.severity, "warning");
    assert!(f.message.contains("thebot-frontend:1.4.0"), "{}", f.message);
    assert!(f.fix.contains("images.<name>.digest"), "{}", f.fix);
    assert_eq!(out.code, 0);
    let mut strict = unpinned.to_vec();
    strict.push("--strict");
    let (out, report) = lint_json("prod", &strict);
    assert_eq!((report.errors, report.warnings), (1, 0));
    out.fails_with(1, &["lint of prod found 1 error, 0 warnings"]);
    for env in ["dev", "staging"] {
        let (_, report) = lint_json(env, &["--strict"]);
        report.assert_only(&[]);
    }
}

/// The issue's acceptance test: five problems, five findings.
#[test]
fn a_manifest_with_five_problems_reports_five() {
    let patches = [
        ("backend.yaml", "periodSeconds: 10", "periodSecond: 10"),
        (
            "backend.yaml",
            "initialDelaySeconds: 15",
            "initialDelaySeconds: soon",
        ),
        ("frontend.yaml", "type: ClusterIP", "type: ClusterIp"),
        (
            "postgresql.yaml",
            "key: POSTGRES_DB}",
            "key: POSTGRES_DATABASE}",
        ),
        (
            "backend.yaml",
            "resources: {{ b.resources }}",
            BAD_MEMORY_LIMIT,
        ),
    ];
    let (out, report) = lint_patched("dev", &patches, &[], &[]);
    assert_eq!(
        (report.errors, report.warnings),
        (5, 0),
        "{:#?}",
        report.findings
    );
    out.fails_with(1, &["lint of dev found 5 errors, 0 warnings"]);

    let m = manifests(&patches, &[]);
    let text = thebot(&["lint", "dev", "--manifests", &m.path]);
    text.fails_with(1, &[]);
    assert!(
        text.stdout.ends_with("\n5 errors, 0 warnings\n"),
        "{}",
        text.stdout
    );
    let group = format!(
        "{DEV_BACKEND} ({}/backend.yaml)\n  error[schema/unknown-field] {}: ",
        m.path,
        at("readinessProbe.periodSecond")
    );
    assert!(text.stdout.contains(&group), "{}", text.stdout);
    assert!(
        text.stdout.contains(&format!(
            "  error[semantics/quantity] {}: `1Gb` is not a Kubernetes quantity\n      fix: write `1Gi`",
            at("resources.limits.memory")
        )),
        "{}",
        text.stdout
    );
    assert_eq!(
        text.stdout.matches(&format!("{DEV_BACKEND} (")).count(),
        1,
        "one group per object"
    );
}

#[test]
fn lint_takes_the_template_flags() {
    let (_, report) = lint_json("dev", &["--name", "mine", "-n", "ns1"]);
    assert_eq!(
        (report.release.as_str(), report.namespace.as_str()),
        ("mine", "ns1")
    );
    report.assert_only(&[]);
    thebot(&["lint", "qa"]).fails_with(1, &["unknown environment `qa`"]);
    thebot(&["lint", "dev", "-o", "yaml"]).fails_with(2, &["invalid value 'yaml'"]);
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = thebot(&["completion", shell]);
        let script = out.ok();
        assert!(script.contains("thebot"), "{shell}");
        assert!(
            script.contains("lint") && script.contains("template"),
            "{shell}"
        );
    }
    thebot(&["completion", "tcsh"]).fails_with(2, &["invalid value 'tcsh'"]);
}

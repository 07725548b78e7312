//! What users see: the plain progress renderer, `-q`, `-v`/`-vv`, and the
//! `-o json|yaml` schemas the README documents (issue 12).

use serde::Deserialize;
use serde_json::Value;

use crate::sim::Sim;
use crate::support::parse;

/// `12:45:13Z ` and the rest of the line.
fn unstamp(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_once(' ')?;
    let b = stamp.as_bytes();
    let ok = b.len() == 9
        && b[8] == b'Z'
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit());
    ok.then_some(rest)
}

#[test]
fn progress_in_a_log_is_one_timestamped_line_per_state_change() {
    let sim = Sim::start();
    let out = sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-q",
    ]);
    assert!(out.ok().contains("revision 1 deployed"));
    assert_eq!(out.stderr, "", "-q prints only the result");

    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--set",
        "app.logLevel=WARNING",
        "--timeout",
        "2m",
    ]);
    out.ok();
    let err = &out.stderr;
    assert!(!err.contains('\x1b'), "no escape codes in a log: {err:?}");
    let lines: Vec<&str> = err
        .lines()
        .map(|l| unstamp(l).unwrap_or_else(|| panic!("not timestamped: {l:?}")))
        .collect();
    for needle in [
        "==> 4-app (5 objects)",
        "    configured Deployment/thebot-dev/thebot-dev-backend",
        "  ✓ Deployment/thebot-dev/thebot-dev-backend ready after ",
        "✓ 4-app ready: 4 awaited in ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(needle)),
            "{needle}\n{err}"
        );
    }
    // One line per change: an object never repeats its last state.
    let mut last: std::collections::HashMap<&str, &str> = Default::default();
    for l in lines
        .iter()
        .filter_map(|l| l.strip_prefix("    Deployment/"))
    {
        let (object, state) = l.split_once(": ").expect("object: state");
        assert_ne!(
            last.insert(object, state),
            Some(state),
            "repeated: {l}\n{err}"
        );
    }
}

#[test]
fn quiet_failures_print_only_the_error() {
    let sim = Sim::start();
    sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-q",
    ])
    .ok();
    let out = sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "-q",
        "--set",
        "images.frontend.tag=crashloop",
        "--timeout",
        "2m",
    ]);
    out.fails_with(4, &["CrashLoopBackOff"]);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(!out.stderr.contains("==>"), "{}", out.stderr);
}

/// `METHOD URL STATUS LATENCYms` lines of `-v`.
fn api_calls(stderr: &str) -> Vec<Vec<String>> {
    stderr
        .lines()
        .filter_map(unstamp)
        .filter(|l| {
            ["GET ", "POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| l.starts_with(m))
        })
        .map(|l| l.split(' ').map(String::from).collect())
        .collect()
}

#[test]
fn verbose_logs_every_api_call_and_nothing_of_its_content() {
    let sim = Sim::start();
    let out = sim.thebot(&["install", "dev", "--create-namespace", "--wait=false", "-v"]);
    out.ok();
    let calls = api_calls(&out.stderr);
    let counted = sim.get("/_sim/requests")["total"].as_u64().unwrap();
    assert_eq!(
        calls.len() as u64,
        counted,
        "one line per request the server saw\n{}",
        out.stderr
    );
    let prefix = format!("{}/", sim.instance.url.trim_end_matches('/'));
    for c in &calls {
        assert_eq!(c.len(), 4, "{c:?}");
        assert!(c[1].starts_with(&prefix), "{c:?}");
        assert!(c[2].parse::<u16>().is_ok(), "{c:?}");
        assert!(c[3].ends_with("ms"), "{c:?}");
    }
    assert!(
        calls.iter().any(|c| c[0] == "PATCH" && c[2] == "201"),
        "{calls:?}"
    );
    // Never headers or bodies: no token, no manifest, no secret value.
    let generated = sim.get("/api/v1/namespaces/thebot-dev/secrets/thebot-dev-generated");
    let err = &out.stderr;
    assert!(
        !err.contains(&sim.instance.token),
        "the bearer token leaked"
    );
    assert!(!err.to_lowercase().contains("authorization"), "{err}");
    assert!(!err.contains('{'), "a body was logged: {err}");
    for v in generated["data"].as_object().unwrap().values() {
        assert!(!err.contains(v.as_str().unwrap()), "a secret value leaked");
    }
}

#[test]
fn very_verbose_adds_retries_and_watch_restarts() {
    let faults = [
        "503,verb=patch,resource=configmaps,times=1",
        "watch-close=1,resource=deployments",
    ];
    let sim = Sim::with_faults(&faults);
    let out = sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-vv",
    ]);
    out.ok();
    let err = &out.stderr;
    assert!(
        err.lines()
            .any(|l| l.contains("retrying PATCH") && l.contains("after HTTP 503")),
        "{err}"
    );
    assert!(err.contains("watch of Deployment restarted"), "{err}");

    // -v alone shows the calls (the 503 among them) but not the reasons.
    let sim = Sim::with_faults(&faults);
    let out = sim.thebot(&[
        "install",
        "dev",
        "--create-namespace",
        "--timeout",
        "2m",
        "-v",
    ]);
    out.ok();
    assert!(
        api_calls(&out.stderr).iter().any(|c| c[2] == "503"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    assert!(!out.stderr.contains("watch of"), "{}", out.stderr);
}

// The schemas the README documents; an unknown or missing field fails.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct StatusReport {
    name: String,
    namespace: String,
    environment: String,
    revision: u32,
    status: String,
    description: String,
    first_deployed: String,
    last_deployed: String,
    objects: Vec<ObjectState>,
    #[serde(default)]
    locked_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ObjectState {
    kind: String,
    namespace: String,
    name: String,
    state: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct HistoryEntry {
    revision: u32,
    status: String,
    environment: String,
    updated: String,
    description: String,
    migration: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ListEntry {
    name: String,
    namespace: String,
    revision: u32,
    status: String,
    environment: String,
    updated: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffSummary {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
    replace: Vec<String>,
}

/// `-o json` deserialized into the documented schema; `-o yaml` says the same.
fn both<T: serde::de::DeserializeOwned>(sim: &Sim, args: &[&str]) -> T {
    let json = sim.thebot(&[args, &["-o", "json"]].concat());
    let value: Value = serde_json::from_str(json.ok()).expect("json");
    let yaml = sim.thebot(&[args, &["-o", "yaml"]].concat());
    let yaml = parse(yaml.ok());
    assert_eq!(
        yaml,
        std::slice::from_ref(&value),
        "-o yaml and -o json differ"
    );
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{args:?}: {e}\n{json:?}"))
}

#[test]
fn status_history_list_and_diff_follow_the_documented_schemas() {
    let sim = Sim::start();
    sim.thebot(&["install", "dev", "--create-namespace", "--wait=false"])
        .ok();
    sim.thebot(&[
        "upgrade",
        "-n",
        "thebot-dev",
        "--wait=false",
        "--set",
        "app.logLevel=WARNING",
    ])
    .ok();

    let status: StatusReport = both(&sim, &["status", "-n", "thebot-dev"]);
    assert_eq!((status.revision, status.status.as_str()), (2, "deployed"));
    assert!(status.objects.iter().any(|o| o.kind == "Deployment"));

    let history: Vec<HistoryEntry> = both(&sim, &["history", "-n", "thebot-dev"]);
    let rows: Vec<(u32, &str)> = history
        .iter()
        .map(|h| (h.revision, h.status.as_str()))
        .collect();
    assert_eq!(rows, [(1, "superseded"), (2, "deployed")]);

    let list: Vec<ListEntry> = both(&sim, &["list", "-A"]);
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].name.as_str(), list[0].revision), ("thebot-dev", 2));

    let diff = [
        "diff",
        "-n",
        "thebot-dev",
        "--set",
        "app.logLevel=ERROR,ingress.enabled=false",
    ];
    let summary: DiffSummary = both(&sim, &[&diff[..], &["--summary"]].concat());
    assert_eq!(summary.added, Vec::<String>::new());
    assert_eq!(summary.removed, ["Ingress/thebot-dev/thebot-dev-ingress"]);
    assert_eq!(summary.replace, Vec::<String>::new());
    assert!(
        summary
            .changed
            .contains(&"ConfigMap/thebot-dev/thebot-dev-config".to_string()),
        "{summary:?}"
    );
    let table = sim.thebot(&[&diff[..], &["--summary"]].concat());
    let text = table.ok();
    assert!(
        text.contains("~ ConfigMap/thebot-dev/thebot-dev-config (changed)"),
        "{text}"
    );
    assert!(!text.contains("@@"), "--summary prints no diff: {text}");
}

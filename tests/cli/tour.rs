//! The newcomer's first minute (issue 18): `scripts/tour.sh` end to end on
//! the real binaries and a kubesim it starts itself, and `install.sh`
//! (with a stand-in `cargo`, so that no release build runs here).
//!
//! The tour uses `target/<profile>/kubesim` next to the thebot under
//! test: `cargo test --workspace` builds it (kubesim has tests of its own);
//! with `cargo test --test cli` alone, build it first
//! (`cargo build -p kubesim`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TempDir, repo};

fn thebot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_thebot"))
}

fn kubesim_bin() -> PathBuf {
    let k = thebot_bin().with_file_name("kubesim");
    assert!(
        k.exists(),
        "{} is missing: build it with `cargo build -p kubesim` (cargo test --workspace does)",
        k.display()
    );
    k
}

/// What a script printed, stdout and stderr interleaved as on a terminal.
struct Run {
    code: i32,
    out: String,
    took: Duration,
}

/// Runs `script args` with a private HOME, XDG_STATE_HOME and TMPDIR
/// under `dir`, no KUBECONFIG, and `env`.
fn run_script(dir: &Path, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    for sub in ["home", "state", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(r#"exec "$@" 2>&1"#)
        .arg("bash")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("TMPDIR", dir.join("tmp"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        // install.sh must use its defaults: $HOME/.local, ./target.
        .env_remove("PREFIX")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let out = c.output().expect("bash runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        took: t.elapsed(),
    }
}

fn tour(dir: &Path, thebot: &Path) -> Run {
    run_script(
        dir,
        &repo().join("scripts/tour.sh"),
        &[],
        &[
            ("THEBOT", thebot.to_str().unwrap()),
            ("KUBESIM", kubesim_bin().to_str().unwrap()),
        ],
    )
}

/// Whether `pid` is a live process (an unreaped zombie has exited).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The pid `kubesim up` reported for the tour's simulator.
fn kubesim_pid(out: &str) -> u32 {
    let at = out
        .find("running in the background (pid ")
        .unwrap_or_else(|| panic!("kubesim up said no pid:\n{out}"));
    out[at..]
        .split_once("(pid ")
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in:\n{out}"))
}

/// The output of the step whose command line is `command`.
fn step_output<'a>(out: &'a str, command: &str) -> &'a str {
    let start = out
        .find(&format!("\n$ {command}\n"))
        .unwrap_or_else(|| panic!("the tour did not run {command:?}:\n{out}"));
    let rest = &out[start..];
    let end = rest.find("\n    (exit ").unwrap_or(rest.len());
    &rest[..end]
}

/// Entries the tour left in its TMPDIR.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_tour_runs_every_step_with_the_expected_exit_codes_and_leaves_nothing_running() {
    let dir = TempDir::new();
    let run = tour(dir.path(), &thebot_bin());
    let out = &run.out;
    assert_eq!(run.code, 0, "the tour failed:\n{out}");

    // Every command as a user types it, in order, and each step's code.
    let commands: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter(|c| !c.starts_with("export KUBECONFIG="))
        .collect();
    assert_eq!(
        commands,
        [
            "kubesim up",
            "thebot install dev --create-namespace",
            "thebot status",
            "thebot upgrade --set images.backend.tag=1.5.0",
            "thebot upgrade --reuse-values --set images.frontend.tag=1.5.0-crashloop --atomic",
            "thebot history",
            "thebot rollback 1",
            "thebot rollback 1 --allow-schema-mismatch",
            "thebot diff",
            "thebot uninstall",
            "thebot list -A",
            "kubesim down",
        ],
        "{out}"
    );
    let codes: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("(exit "))
        .collect();
    let expected = [0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 0, 0].map(|c| format!("{c}, as expected)"));
    assert_eq!(codes, expected, "{out}");
    assert!(out.contains("EXPECTED TO FAIL with exit 4"), "{out}");

    // The commands ran against the tour's own simulator, not a real
    // cluster: its kubeconfig lives in the tour's private state directory.
    let export = out
        .lines()
        .find_map(|l| l.strip_prefix("$ export KUBECONFIG="))
        .expect("the tour exports KUBECONFIG");
    assert!(
        export.starts_with(&dir.path().join("tmp").display().to_string()),
        "{export}"
    );

    // What each step did, as the user sees it.
    assert!(
        step_output(out, "thebot install dev --create-namespace")
            .contains("Release thebot-dev revision 1 deployed in namespace thebot-dev"),
        "{out}"
    );
    assert!(
        step_output(out, "thebot upgrade --set images.backend.tag=1.5.0")
            .contains("Release thebot-dev revision 2 deployed"),
        "{out}"
    );
    let atomic = step_output(
        out,
        "thebot upgrade --reuse-values --set images.frontend.tag=1.5.0-crashloop --atomic",
    );
    assert!(atomic.contains("CrashLoopBackOff"), "{atomic}");
    assert!(
        atomic.contains(
            "--atomic: revision 3 failed; rolled back to revision 2 (now revision 4, deployed)"
        ),
        "{atomic}"
    );
    let history = step_output(out, "thebot history");
    assert!(history.contains("failed"), "{history}");
    assert!(history.contains("Rollback to 2"), "{history}");
    let refused = step_output(out, "thebot rollback 1");
    assert!(
        refused.contains("rollback to revision 1 refused")
            && refused.contains("nothing was written")
            && !refused.contains("revision 5"),
        "{refused}"
    );
    assert!(
        step_output(out, "thebot rollback 1 --allow-schema-mismatch")
            .contains("Release thebot-dev revision 5 deployed"),
        "{out}"
    );
    assert!(
        step_output(out, "thebot uninstall").contains("Release thebot-dev uninstalled"),
        "{out}"
    );
    // Final state: no release record is left anywhere in the cluster.
    let list = step_output(out, "thebot list -A");
    assert!(list.contains("NAME"), "{list}");
    assert!(!list.contains("thebot-dev"), "a release is left:\n{list}");

    // Nothing left running or on disk, and the user's own state directory
    // (XDG_STATE_HOME) was not touched.
    let pid = kubesim_pid(out);
    assert!(!alive(pid), "the tour's kubesim (pid {pid}) still runs");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert!(!dir.path().join("state/kubesim").exists());

    // How to keep one up by hand, with the user's real kubeconfig path.
    assert!(out.contains("Tour complete"), "{out}");
    let yours = dir.path().join("state/kubesim/kubeconfig");
    assert!(
        out.contains("  kubesim up ")
            && out.contains(&format!("  export KUBECONFIG={}\n", yours.display())),
        "{out}"
    );
    assert!(out.contains("  kubesim down\n"), "{out}");
    assert!(
        run.took < Duration::from_secs(180),
        "the tour took {:?}",
        run.took
    );
}

#[test]
fn the_tour_stops_at_an_unexpected_exit_code_and_still_stops_kubesim() {
    let dir = TempDir::new();
    // A thebot that fails every command: step 2 (install) exits 1, not 0.
    let run = tour(dir.path(), Path::new("/bin/false"));
    let out = &run.out;
    assert_eq!(run.code, 1, "{out}");
    assert!(
        out.contains(
            "tour: step 2 (thebot install dev --create-namespace) gave exit 1, expected 0: stopping"
        ),
        "{out}"
    );
    assert!(!out.contains("$ thebot status"), "it went on:\n{out}");
    assert!(!out.contains("Tour complete"), "{out}");
    let pid = kubesim_pid(out);
    let t = Instant::now();
    while alive(pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "the tour's kubesim (pid {pid}) still runs");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// A copy of install.sh in a checkout of its own, with a stand-in `cargo`
/// that logs its arguments and "builds" two small scripts, and a stand-in
/// tour that prints what it was given.
struct FakeCheckout {
    dir: TempDir,
}

impl FakeCheckout {
    fn new() -> FakeCheckout {
        let dir = TempDir::new();
        let root = dir.path().join("checkout");
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::create_dir_all(dir.path().join("fakebin")).unwrap();
        std::fs::copy(repo().join("install.sh"), root.join("install.sh")).unwrap();
        std::fs::write(root.join("Cargo.lock"), "").unwrap();
        write_exe(
            &dir.path().join("fakebin/cargo"),
            r#"#!/usr/bin/env bash
echo "cargo $* (in $PWD)" >> "$CARGO_LOG"
out="${CARGO_TARGET_DIR:-target}/release"
mkdir -p "$out"
printf '#!/bin/sh\necho "thebot 0.1.0"\n' > "$out/thebot"
printf '#!/bin/sh\necho kubesim\n' > "$out/kubesim"
chmod +x "$out/thebot" "$out/kubesim"
"#,
        );
        write_exe(
            &root.join("scripts/tour.sh"),
            "#!/usr/bin/env bash\necho \"tour: THEBOT=$THEBOT KUBESIM=$KUBESIM\"\n\"$THEBOT\" --version\nexit \"${TOUR_EXIT:-0}\"\n",
        );
        FakeCheckout { dir }
    }

    fn install(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let d = self.dir.path();
        let path = format!("{}:/usr/bin:/bin", d.join("fakebin").display());
        let log = d.join("cargo.log");
        let mut env = vec![
            ("PATH", path.as_str()),
            ("CARGO_LOG", log.to_str().unwrap()),
        ];
        env.extend_from_slice(extra);
        run_script(d, &d.join("checkout/install.sh"), args, &env)
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("home/.local/bin")
    }

    fn cargo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("cargo.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_sh_builds_once_installs_both_binaries_and_gives_the_path_line() {
    let fake = FakeCheckout::new();
    let root = fake.dir.path().join("checkout");
    for round in 0..2 {
        let run = fake.install(&[], &[]);
        assert_eq!(run.code, 0, "round {round}:\n{}", run.out);
        for b in ["thebot", "kubesim"] {
            let installed = fake.bin().join(b);
            assert!(
                installed.exists(),
                "round {round}: no {}",
                installed.display()
            );
            assert!(
                run.out
                    .contains(&format!("Installed: {}", installed.display())),
                "{}",
                run.out
            );
        }
        assert!(
            run.out.contains("thebot version: thebot 0.1.0"),
            "{}",
            run.out
        );
        // ~/.local/bin is not on this PATH: the exact line to add.
        assert!(run.out.contains("is NOT on your PATH"), "{}", run.out);
        assert!(
            run.out
                .contains("\n  export PATH=\"$HOME/.local/bin:$PATH\"\n"),
            "{}",
            run.out
        );
    }
    // One workspace build per run (not one cargo install per crate).
    assert_eq!(
        fake.cargo_calls(),
        vec![
            format!(
                "cargo build --release --workspace --locked (in {})",
                root.display()
            );
            2
        ]
    );
}

#[test]
fn install_sh_demo_runs_the_tour_with_the_installed_binaries() {
    let fake = FakeCheckout::new();
    let bin = fake.bin();
    let run = fake.install(&["--demo"], &[]);
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(
        run.out.contains(&format!(
            "tour: THEBOT={} KUBESIM={}",
            bin.join("thebot").display(),
            bin.join("kubesim").display()
        )),
        "{}",
        run.out
    );
    // The PATH advice comes last, after the tour's output.
    let tour_at = run.out.find("tour: THEBOT=").unwrap();
    let advice_at = run.out.find("is NOT on your PATH").unwrap();
    assert!(tour_at < advice_at, "{}", run.out);

    // A failing tour fails install.sh, and says the binaries are in place.
    let run = fake.install(&["--demo"], &[("TOUR_EXIT", "4")]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(
        run.out.contains(&format!(
            "install.sh: the tour failed (exit 4; see above). thebot and kubesim are installed in {}.",
            bin.display()
        )),
        "{}",
        run.out
    );
}

#[test]
fn install_sh_refuses_an_unknown_argument_before_building() {
    let fake = FakeCheckout::new();
    let run = fake.install(&["--dmeo"], &[]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(
        run.out
            .contains("install.sh: unknown argument --dmeo (usage: ./install.sh [--demo])"),
        "{}",
        run.out
    );
    assert_eq!(fake.cargo_calls(), Vec::<String>::new());
}

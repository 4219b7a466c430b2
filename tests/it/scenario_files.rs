//! Scenario files as a user writes them: errors name file:line:col; the CLI's exit codes.

use std::sync::atomic::{AtomicU32, Ordering};
use writeback_sim::scenario::runner;

/// A scenario written to the system's temp directory, removed when dropped.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file(text: &str) -> TempFile {
    static N: AtomicU32 = AtomicU32::new(0);
    let p = std::env::temp_dir().join(format!(
        "wbsim-{}-{}.yaml",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&p, text).unwrap();
    TempFile(p)
}

#[test]
fn parse_errors_carry_file_line_and_column() {
    let cases = [
        ("summary: x\nwrld: {}\n", 2, "wrld"),
        ("steps:\n  - advance: soon\n", 2, "bad duration"),
        (
            "steps:\n  - sspr_reset: { user: a@b.c, new_pasword: x }\n",
            2,
            "new_pasword",
        ),
        ("world:\n  tenant:\n    license: P3\n", 3, "P3"),
        ("seed: many\n", 1, "u64"),
    ];
    for (text, line, needle) in cases {
        let f = file(text);
        let e = runner::parse(&f.0).unwrap_err().to_string();
        let prefix = format!("{}:{line}:", f.0.display());
        assert!(e.starts_with(&prefix), "{e:?} should start with {prefix:?}");
        assert!(e.contains(needle), "{e:?} should mention {needle:?}");
    }
}

#[test]
fn the_shipped_scenarios_all_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = writeback_sim::scenario::suite::discover(&root).unwrap();
    assert!(files.len() >= 20);
    for f in files {
        runner::parse(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `writeback-sim show FILE` prints the report the snapshot holds, byte for byte, and says
/// which expectation failed (exit 1) or that the file is unusable (exit 2).
#[test]
fn show_prints_the_report_of_one_scenario() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_writeback-sim");
    let out = std::process::Command::new(bin)
        .current_dir(root)
        .args(["show", "scenarios/group/cloud-sync-ok.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let snap =
        std::fs::read_to_string(root.join("scenarios/group/snapshots/cloud-sync-ok.snap")).unwrap();
    // the insta header is `---` … `---`; the document follows
    let body = snap.splitn(3, "---\n").nth(2).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        body.trim_end()
    );

    let wrong = file("steps:\n  - expect_features: { UnifiedGroupWriteback: Enabled }\n");
    let out = std::process::Command::new(bin)
        .arg("show")
        .arg(&wrong.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("step 1 (expect_features) at 2026-01-05T09:00:00Z: expected UnifiedGroupWriteback: Enabled, got UnifiedGroupWriteback: Disabled"),
        "{err}"
    );

    let out = std::process::Command::new(bin)
        .args(["show", "no-such.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// `run --filter` and `--tag` choose the scenarios; nothing chosen is a usage error (2).
#[test]
fn run_chooses_scenarios_by_name_and_tag() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_writeback-sim");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .current_dir(root)
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--tag", "whfb", "--tag", "advice"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let ran: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ok     "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(
        ran,
        [
            "device/whfb-certificate",
            "group/skip-without-exchange",
            "password/writeback-skipped",
            "status/password-only",
            "status/skip-device-writeback"
        ],
        "{text}"
    );
    let out = run(&["--filter", "device/owner-changed"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\n1 passed, 0 failed ("), "{text}");
    let out = run(&["--filter", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A scenarios tree of its own under the temp directory, removed when dropped.
struct TempTree(std::path::PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree(name: &str) -> TempTree {
    let dir = std::env::temp_dir().join(format!("wbsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scenarios/demo")).unwrap();
    TempTree(dir)
}

/// Runs the binary in `dir` with CI unset unless `env` sets it; (exit code, stdout).
fn sim(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("CI")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// The snapshot life cycle as a user meets it: a new snapshot is pending (and fails under
/// `--ci` or CI=true), `--accept` stores it, a failed expectation shows the step, expected
/// and got with the seed and the virtual time, a changed report shows its diff and the
/// command that accepts it, and `--junit` writes the same for a CI system.
#[test]
fn run_reports_pending_snapshots_readable_failures_and_junit() {
    let t = tree("run");
    let scenario = t.0.join("scenarios/demo/features.yaml");
    let snaps = t.0.join("scenarios/demo/snapshots");
    std::fs::write(
        &scenario,
        "summary: The feature status after the article's setup.\nsteps:\n  - expect_features: { PasswordWriteback: Enabled }\n",
    )
    .unwrap();

    let (code, out) = sim(&t.0, &["run", "scenarios"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pending demo/features"), "{out}");
    assert!(
        out.contains("0 passed, 0 failed, 1 pending review"),
        "{out}"
    );
    assert!(snaps.join("features.snap.new").is_file());
    assert!(!snaps.join("features.snap").exists());

    let (code, out) = sim(&t.0, &["run", "--ci", "scenarios"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no stored snapshot"), "{out}");
    let (code, _) = sim(&t.0, &["run", "scenarios"], &[("CI", "true")]);
    assert_eq!(code, 1);

    let (code, out) = sim(&t.0, &["run", "--accept", "scenarios"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("accepted demo/features"), "{out}");
    assert!(snaps.join("features.snap").is_file());
    assert!(!snaps.join("features.snap.new").exists());
    let (code, out) = sim(&t.0, &["run", "--ci", "--repeat", "3", "scenarios"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok     demo/features"), "{out}");
    assert!(out.contains("round 3/3 (shuffled order"), "{out}");
    assert!(out.contains("1 identical, 0 different"), "{out}");

    std::fs::write(
        &scenario,
        "summary: The feature status, checked wrongly.\nseed: 9\nsteps:\n  - advance: 2h\n  - expect_features: { DeviceWriteback: Disabled }\n",
    )
    .unwrap();
    let junit = t.0.join("junit.xml");
    let (code, out) = sim(
        &t.0,
        &["run", "--junit", junit.to_str().unwrap(), "scenarios"],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "FAILED demo/features",
        "seed 9",
        "step 2 expect_features (virtual time 2026-01-05T11:00:00Z)",
        "expected: DeviceWriteback: Disabled",
        "got:      DeviceWriteback: Enabled",
        "snapshot scenarios/demo/snapshots/features.snap differs:",
        "-summary: The feature status after the article's setup.",
        "+summary: The feature status, checked wrongly.",
        "writeback-sim run --accept --filter demo/features",
        "0 passed, 1 failed",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testcase name=\"demo/features\" classname=\"demo\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"step 2 (expect_features)"),
        "{xml}"
    );
    assert!(xml.contains("failures=\"1\""), "{xml}");

    // A file that does not parse is bad input: exit 2, and where to look.
    std::fs::write(&scenario, "steps:\n  - sspr_rest: { user: a }\n").unwrap();
    let (code, out) = sim(&t.0, &["run", "scenarios"], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("scenarios/demo/features.yaml:2:5: unknown field `sspr_rest`"),
        "{out}"
    );
    assert!(
        out.contains("`writeback-sim validate scenarios/demo/features.yaml` lists every problem"),
        "{out}"
    );
}

/// `validate` reports every problem of a file at once, each with file:line:col and a hint,
/// and exits 2; the shipped scenarios are all valid.
#[test]
fn validate_reports_every_problem_with_place_and_hint() {
    let t = tree("validate");
    let bad = t.0.join("scenarios/demo/bad.yaml");
    std::fs::write(
        &bad,
        "sumary: x\nworld:\n  tenant:\n    users:\n      - { upn: alice@gntech.me }\nsteps:\n  - sspr_reset: { user: bob@gntech.me, new_password: \"Summer#2026x\" }\n  - advance: soon\n  - delete_group: { name: Sales }\n",
    )
    .unwrap();
    let (code, out) = sim(&t.0, &["validate", "scenarios"], &[]);
    assert_eq!(code, 2, "{out}");
    for want in [
        "invalid scenarios/demo/bad.yaml (4 problems)",
        "unknown key `sumary` in the top level",
        "[scenarios/demo/bad.yaml:1:1]",
        "help: did you mean `summary`?",
        "steps[0].sspr_reset.user: unknown user `bob@gntech.me`",
        "[scenarios/demo/bad.yaml:7:25]",
        "steps[1].advance: `soon` is not a duration",
        "help: write it as 250ms, 90s, 30m, 2h or 1d",
        "steps[2].delete_group.name: unknown group `Sales`",
        "0 valid, 1 invalid",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out) = sim(root, &["validate", "scenarios"], &[]);
    assert_eq!(code, 0, "{out}");
}

/// `schema` prints the JSON Schema that `scenarios/scenario.schema.json` holds (so editors
/// check against the current format), and every scenario names it on its first line.
#[test]
fn the_committed_schema_is_current_and_every_scenario_names_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out) = sim(root, &["schema"], &[]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "writeback-sim scenario");
    assert_eq!(schema["additionalProperties"], false);
    let committed = std::fs::read_to_string(root.join("scenarios/scenario.schema.json")).unwrap();
    assert_eq!(
        committed.trim_end(),
        out.trim_end(),
        "scenarios/scenario.schema.json is stale: writeback-sim schema > scenarios/scenario.schema.json"
    );
    for f in writeback_sim::scenario::suite::discover(&root.join("scenarios")).unwrap() {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("# yaml-language-server: $schema=../scenario.schema.json"),
            "{}",
            f.display()
        );
    }
}

/// `new AREA/NAME` writes a commented scenario that validates and runs; `--from` copies a
/// scenario; an existing file or a bad name is refused (2).
#[test]
fn new_writes_a_starting_scenario_that_runs() {
    let t = tree("new");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(t.0.join("fixtures")).unwrap();
    std::fs::copy(
        root.join("fixtures/gntech.me.ldif"),
        t.0.join("fixtures/gntech.me.ldif"),
    )
    .unwrap();
    std::fs::create_dir_all(t.0.join("scenarios/password")).unwrap();
    std::fs::copy(
        root.join("scenarios/password/access-denied.yaml"),
        t.0.join("scenarios/password/access-denied.yaml"),
    )
    .unwrap();

    let (code, out) = sim(&t.0, &["new", "demo/my-case"], &[]);
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(t.0.join("scenarios/demo/my-case.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=../scenario.schema.json\n"));
    assert!(text.contains("summary: TODO"), "{text}");
    let (code, out) = sim(&t.0, &["validate", "scenarios/demo/my-case.yaml"], &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = sim(&t.0, &["run", "--accept", "--filter", "demo/my-case"], &[]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = sim(
        &t.0,
        &["new", "demo/denied", "--from", "password/access-denied"],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let copy = std::fs::read_to_string(t.0.join("scenarios/demo/denied.yaml")).unwrap();
    assert!(
        copy.contains("started from password/access-denied"),
        "{copy}"
    );
    assert!(copy.contains("grant: { right: reset_password"), "{copy}");
    let (code, _) = sim(&t.0, &["run", "--accept", "--filter", "demo/denied"], &[]);
    assert_eq!(code, 0);

    assert_eq!(sim(&t.0, &["new", "demo/my-case"], &[]).0, 2);
    assert_eq!(sim(&t.0, &["new", "no-area"], &[]).0, 2);
    assert_eq!(sim(&t.0, &["new", "demo/x", "--from", "nope"], &[]).0, 2);
}

/// A user the world declares with a password is an account one can sign in with (512);
/// an explicit userAccountControl wins (546: disabled, data 533).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_user_with_a_password_is_enabled_unless_it_says_otherwise() {
    let f = file(
        r#"
world:
  directory:
    entries:
      - { dn: "OU=Staff,DC=gntech,DC=me", objectClass: organizationalUnit }
      - dn: "CN=Dana Declared,OU=Staff,DC=gntech,DC=me"
        objectClass: user
        sAMAccountName: dana
        userPrincipalName: dana@gntech.me
        password: "Declared#Pass2026"
      - dn: "CN=Ed Disabled,OU=Staff,DC=gntech,DC=me"
        objectClass: user
        sAMAccountName: ed
        userPrincipalName: ed@gntech.me
        userAccountControl: "546"
        password: "Declared#Pass2026"
steps:
  - expect_ad:
      dn: "CN=Dana Declared,OU=Staff,DC=gntech,DC=me"
      attributes: { userAccountControl: "512" }
  - sign_in: { user: dana@gntech.me, password: "Declared#Pass2026" }
    expect: { outcome: ok }
  - sign_in: { user: ed@gntech.me, password: "Declared#Pass2026" }
    expect: { outcome: failed, error: "data 533" }
"#,
    );
    let replayed = runner::run(&f.0, &std::env::temp_dir()).await.unwrap();
    assert!(replayed.failures.is_empty(), "{:?}", replayed.failures);
}

/// A scenario that cannot be set up is reported with its own seed, not the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_failure_names_the_files_own_seed() {
    let f = file(
        r#"
seed: 7
world:
  tenant:
    users:
      - { upn: nobody@gntech.me, synced_from: "CN=Nobody,OU=Staff,DC=gntech,DC=me" }
steps: []
"#,
    );
    let mode = writeback_sim::scenario::suite::SnapshotMode::ci(false);
    let checked = writeback_sim::scenario::suite::run_and_check(&f.0, mode, None, false).await;
    assert!(checked
        .unusable
        .as_deref()
        .unwrap_or_default()
        .contains("CN=Nobody"));
    assert_eq!(checked.seed, 7);
}

/// Exchange hybrid comes from the directory: a forest whose schema is not prepared for
/// Exchange does not know mailNickname (16 0000200A on an add, not in the subschema), so
/// the wizard refuses group writeback v1; deploying Exchange hybrid prepares the schema
/// (as Exchange's setup does) and the same configuration then writes the group back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_hybrid_needs_a_forest_prepared_for_exchange() {
    let f = file(
        r#"
world:
  tenant:
    exchange_hybrid: true
    users:
      - { upn: alice@gntech.me, synced_from: "CN=Alice Smith,OU=Staff,DC=gntech,DC=me" }
  directory:
    ldif: [FIXTURE]
    exchange_schema: false
    entries:
      - { dn: "OU=M365 Groups,DC=gntech,DC=me", objectClass: organizationalUnit }
steps:
  - ad: { add: { dn: "CN=Mail Test,OU=M365 Groups,DC=gntech,DC=me", objectClass: group, mailNickname: mailtest } }
    expect: { outcome: failed, error: "Error in attribute conversion operation" }
  - configure: { group_writeback_v1: { ou: "OU=M365 Groups,DC=gntech,DC=me" } }
    expect: { outcome: failed, error: "run Exchange's /PrepareSchema first" }
  - create_group: { name: Marketing, type: m365, members: [alice@gntech.me], writeback: true }
  - tenant: { exchange_hybrid: true }
    expect: { outcome: ok }
  - configure: { group_writeback_v1: { ou: "OU=M365 Groups,DC=gntech,DC=me" } }
    expect: { outcome: ok }
  - sync: delta
  - expect_ad: { base: "OU=M365 Groups,DC=gntech,DC=me", filter: "(&(displayName=Marketing)(mailNickname=marketing))", count: 1 }
"#
        .replace(
            "FIXTURE",
            &std::path::absolute("fixtures/gntech.me.ldif")
                .unwrap()
                .display()
                .to_string(),
        )
        .as_str(),
    );
    let replayed = runner::run(&f.0, &std::env::temp_dir()).await.unwrap();
    assert!(replayed.failures.is_empty(), "{:?}", replayed.failures);
    let tenant_step = &replayed.report.steps[3];
    assert!(
        tenant_step
            .detail
            .iter()
            .any(|d| d.contains("schema prepared for Exchange")),
        "{:?}",
        tenant_step.detail
    );
}

/// Cloud Sync is a service of its own: its provisioning logs are in the report, and a job
/// without a scope says so on every cycle (not only in setup's first one).
#[tokio::test]
async fn cloud_sync_provisioning_logs_explain_a_missing_scope_on_every_cycle() {
    let scenarios = std::path::absolute("scenarios").unwrap();
    let replayed = runner::run(
        &scenarios.join("group/cloud-sync-scope-not-configured.yaml"),
        &scenarios,
    )
    .await
    .unwrap();
    assert!(replayed.failures.is_empty(), "{:?}", replayed.failures);
    let first_sync = &replayed.report.steps[0];
    assert!(
        first_sync
            .detail
            .iter()
            .any(|d| d.contains("no scope configured")),
        "{:?}",
        first_sync.detail
    );
    let logs = &replayed.report.provisioning_logs;
    assert!(
        logs.iter()
            .any(|l| l.status == "Skipped" && l.detail.contains("no scope configured")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.object == "HR" && l.detail.contains("not among the groups selected")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.object == "Finance" && l.action == "Create" && l.status == "Success"),
        "{logs:?}"
    );
    // The Entra Connect Export run does not carry Cloud Sync's decisions.
    assert!(replayed
        .report
        .runs
        .iter()
        .all(|r| r.skipped.iter().all(|s| s.object != "HR")));
}

/// A reader that goes away (`writeback-sim list | head -1`) ends a command quietly, as it
/// ends any Unix tool (SIGPIPE): no panic, no "internal error".
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    for args in [
        &["list", "scenarios"][..],
        &["schema"],
        &["run", "scenarios/status"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("internal error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?}",
            out.status
        );
    }
}

/// A port already taken is named in the error, with what to do about it.
#[test]
fn a_busy_port_is_named() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args(["directory", "--ldap", &addr, "--ldaps", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
    assert!(stderr.contains("--ldap"), "{stderr}");
}

/// A new snapshot is not a pass: JUnit marks it skipped, with the command that accepts it,
/// and `--ci` names that command too. A scenario missing from the catalogue index above it
/// is named before the run (`cargo test` would fail on it later).
#[test]
fn a_pending_snapshot_is_not_a_pass_and_an_unlisted_scenario_is_named() {
    let t = tree("pending");
    std::fs::write(
        t.0.join("scenarios/demo/features.yaml"),
        "summary: The feature status.\nsteps:\n  - expect_features: { PasswordWriteback: Enabled }\n",
    )
    .unwrap();
    std::fs::write(
        t.0.join("scenarios/README.md"),
        "| row | [demo/other](demo/other.yaml) |\n",
    )
    .unwrap();
    let junit = t.0.join("junit.xml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .current_dir(&t.0)
        .args(["run", "--junit", junit.to_str().unwrap(), "scenarios"])
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("demo/features.yaml is not in the catalogue index")
            && stderr.contains("README.md"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<skipped"), "{xml}");
    assert!(
        xml.contains("writeback-sim run --accept --filter demo/features"),
        "{xml}"
    );
    let (code, out) = sim(&t.0, &["run", "--ci", "scenarios"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`writeback-sim run --accept --filter demo/features` writes and accepts it"),
        "{out}"
    );
}

/// A folder link back up the tree is not followed: discovery ends, with each real file once.
#[cfg(unix)]
#[test]
fn discovery_does_not_follow_a_link_back_up_the_tree() {
    let t = tree("links");
    let demo = t.0.join("scenarios/demo");
    std::fs::write(demo.join("a.yaml"), "steps: []\n").unwrap();
    std::os::unix::fs::symlink(&t.0, demo.join("up")).unwrap();
    std::os::unix::fs::symlink(&demo, demo.join("here")).unwrap();
    let found = writeback_sim::scenario::suite::discover(&t.0.join("scenarios")).unwrap();
    assert_eq!(found, vec![demo.join("a.yaml")]);
}

/// `run --timeout N` stops a scenario still running after N seconds of wall-clock time,
/// reports it as not finished (exit 2, in JUnit too) and goes on with the others.
#[test]
fn a_scenario_past_the_timeout_is_stopped_and_reported_and_the_run_goes_on() {
    let dir = std::env::temp_dir().join(format!("wbsim-timeout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tens of thousands of devices written back one LDAP add at a time: far longer than
    // a second in a debug build.
    std::fs::write(
        dir.join("slow.yaml"),
        "summary: slow\nworld:\n  tenant:\n    generate: { users: 10, devices: 60000 }\n  engine:\n    device_writeback: true\nsteps:\n  - sync: delta\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("fast.yaml"),
        "summary: fast\nsteps:\n  - advance: 1m\n",
    )
    .unwrap();
    let junit = dir.join("junit.xml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args(["run", "--timeout", "1", "--junit"])
        .arg(&junit)
        .arg(&dir)
        .env_remove("CI")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // The other scenario ran to its end (its first snapshot is written as pending).
    assert!(text.contains("pending fast"), "{text}");
    assert!(
        text.contains("did not finish within 1 s of wall-clock time and was stopped"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("did not finish within 1 s"), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// No secret in any log at any level: the whole catalogue replayed with
/// `WRITEBACK_SIM_LOG=trace` logs none of the passwords its scenarios and fixtures use,
/// and no relay token (`SharedAccessSignature … sig=…`). The libraries that print what
/// crosses the wire at trace level (an LDAP bind or unicodePwd modify, a relay frame, HTTP
/// headers) are held at debug.
#[test]
fn the_catalogue_at_trace_level_logs_no_secret() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .current_dir(root)
        .args(["run", "scenarios"])
        .env("WRITEBACK_SIM_LOG", "trace")
        .env_remove("CI")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    // Everything was asked for: the log is not empty for want of asking.
    assert!(
        log.lines().filter(|l| l.contains("DEBUG")).count() > 100,
        "{log}"
    );
    let mut secrets = vec![
        "SharedAccessSignature".to_string(),
        "sig=".to_string(),
        // The fixture forest's initial password, and its UTF-16LE form as unicodePwd holds it.
        "Initial#Pass2026".to_string(),
        "IgBJAG4AaQB0AGkAYQBsACMA".to_string(),
    ];
    let key = password_values(&root.join("scenarios"));
    assert!(key.len() >= 10, "{key:?}");
    secrets.extend(key);
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "the trace log holds {s:?}");
    }
}

/// Every value of a `password`, `new_password` or `current_password` key in the
/// catalogue's scenario files.
fn password_values(dir: &std::path::Path) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    for file in writeback_sim::scenario::suite::discover(dir).unwrap() {
        let text = std::fs::read_to_string(&file).unwrap();
        for key in [
            "new_password:",
            "current_password:",
            " password:",
            "{password:",
        ] {
            for (at, _) in text.match_indices(key) {
                let rest = text[at + key.len()..].trim_start();
                let value: String = rest
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| !matches!(c, '"' | '\'' | ',' | '}' | '\n'))
                    .collect();
                let value = value.trim().to_string();
                if value.len() >= 6 {
                    found.insert(value);
                }
            }
        }
    }
    found.into_iter().collect()
}

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
        err.contains("UnifiedGroupWriteback: expected Enabled, got Disabled"),
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
    let out = run(&["--tag", "cloud-sync"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let ran: Vec<&str> = text.lines().filter(|l| l.starts_with("ok")).collect();
    assert!(!ran.is_empty());
    assert!(ran.iter().all(|l| l.contains("group/cloud-sync")), "{text}");
    let out = run(&["--filter", "device/owner-changed"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("1 passed, 0 failed\n"), "{text}");
    let out = run(&["--filter", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

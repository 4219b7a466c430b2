//! A suite of scenario files: discovery under a directory, and the snapshot check that
//! `writeback-sim run` and `cargo test` share (insta: a mismatch or a new snapshot writes a
//! pending `.snap.new` for `cargo insta review`, except under CI).

use super::report::Report;
use super::runner;
use std::path::{Path, PathBuf};

/// Every `*.yaml` under `path` (or `path` itself), sorted, so runs are in a stable order.
pub fn discover(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "snapshots") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The root scenario names are relative to: the nearest ancestor called `scenarios`.
pub fn root_of(file: &Path) -> PathBuf {
    file.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "scenarios"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The report as the snapshot's YAML. Loopback ports are picked by the OS at every run,
/// so `127.0.0.1:<port>` is shown as `127.0.0.1:PORT`.
pub fn render(report: &Report) -> String {
    let yaml = serde_saphyr::to_string(report)
        .unwrap_or_else(|e| format!("# report could not be rendered: {e}\n"));
    mask_ports(&yaml)
}

fn mask_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(HOST) {
        out.push_str(&rest[..i + HOST.len()]);
        rest = &rest[i + HOST.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Compare the report with `snapshots/<file stem>.snap` beside the scenario.
pub fn check_snapshot(file: &Path, report: &Report) -> Result<(), String> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = file.parent().unwrap_or(Path::new(".")).join("snapshots");
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let yaml = render(report);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&file);
    if let Some(s) = &report.summary {
        settings.set_description(s.clone());
    }
    let outcome = settings.bind(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), yaml);
        }))
    });
    outcome.map_err(|_| {
        format!(
            "snapshot {} does not match (cargo insta review to accept)",
            dir.join(format!("{name}.snap")).display()
        )
    })
}

/// Run one file to completion: expectations and snapshot. `Ok` when it passed.
pub async fn run_and_check(file: &Path) -> Result<Report, Vec<String>> {
    let root = root_of(file);
    let outcome = runner::run(file, &root)
        .await
        .map_err(|e| vec![e.to_string()])?;
    let mut failures = outcome.failures;
    if let Err(e) = check_snapshot(file, &outcome.report) {
        failures.push(e);
    }
    if failures.is_empty() {
        Ok(outcome.report)
    } else {
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_ports_are_masked() {
        assert_eq!(
            super::mask_ports("ldaps://127.0.0.1:46607: eof, 127.0.0.1:"),
            "ldaps://127.0.0.1:PORT: eof, 127.0.0.1:"
        );
    }
}

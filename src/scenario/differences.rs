//! `dc-differences.yaml` (beside the `scenarios` folder): where a real DC of some kind
//! answers differently from the embedded AD — which answers as a Windows DC does — scenario
//! by scenario, each with its reason and the reference row it comes from. `run --directory`
//! reads it: a listed scenario that fails on that kind of DC is a known difference; one
//! that passes there is listed for nothing and fails, so that the file stays true.

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const FILE: &str = "dc-differences.yaml";

/// The file: a list per kind of DC (`samba`, `windows`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Differences {
    #[serde(default)]
    samba: Vec<Known>,
    #[serde(default)]
    windows: Vec<Known>,
}

/// One scenario that differs on a kind of DC, and why.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// `password/history-rejected`.
    pub scenario: String,
    /// What that DC does differently.
    pub reason: String,
    /// The row of ../shared/reference/ad-behaviour.md (or the measurement) it comes from.
    pub reference: String,
}

/// Where the file of the catalogue under `root` (the `scenarios` folder) is: beside it.
pub fn path_for(root: &Path) -> PathBuf {
    root.parent().unwrap_or(Path::new(".")).join(FILE)
}

/// The known difference of scenario `name` on a DC of `kind`, if the file of the catalogue
/// under `root` lists one. No file means none; a file that cannot be read or parsed says
/// where and why.
pub fn known(root: &Path, kind: &str, name: &str) -> Result<Option<Known>, String> {
    let path = path_for(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let d: Differences =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let list = match kind {
        "samba" => d.samba,
        _ => d.windows,
    };
    if let Some(k) = list.iter().find(|k| k.reference.trim().is_empty()) {
        return Err(format!(
            "{}: {} names no reference row; every difference must",
            path.display(),
            k.scenario
        ));
    }
    Ok(list.into_iter().find(|k| k.scenario == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_parses_and_every_entry_names_a_scenario_and_a_reference() {
        let text = std::fs::read_to_string(FILE).unwrap();
        let d: Differences = serde_saphyr::from_str(&text).unwrap();
        for k in d.samba.iter().chain(&d.windows) {
            assert!(!k.reason.trim().is_empty(), "{k:?}");
            assert!(!k.reference.trim().is_empty(), "{k:?}");
            let file = Path::new("scenarios").join(format!("{}.yaml", k.scenario));
            assert!(
                file.exists(),
                "{} lists {}, which is not a scenario",
                FILE,
                k.scenario
            );
        }
    }
}

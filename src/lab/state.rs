//! A lab's state folder: what lasts between runs, written so that a crash at any moment
//! (`kill -9` included) leaves a folder that loads — each file is written to a temporary
//! name, flushed to disk and renamed over the old one.
//!
//! - `state.json`: the format (refused when it is not ours), who wrote it, when;
//! - `secrets.json` (0600): the CA and its key, the token-signing key, the app and user
//!   credentials and the control token;
//! - `directory.json`, `tenant.json`, `engine.json`: the world ([`WorldState`]);
//! - `lab.json` (0600) and `ca.pem`: what clients need (rewritten at every start);
//! - `lock`: the process that has the folder.

use crate::world::{DirectorySnapshot, EngineSnapshot, TenantState, WorldState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state format this build reads and writes.
pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a lab's state ({why}); remove it or point --state elsewhere")]
    Unreadable { path: String, why: String },
    #[error("{path} was written in state format {found} (by writeback-sim {by}); this writeback-sim reads format {FORMAT} only: start with a new --state folder")]
    Format {
        path: String,
        found: u32,
        by: String,
    },
    #[error(
        "{path} holds files that are not a lab's ({file}); point --state at an empty or new folder"
    )]
    Foreign { path: String, file: String },
    #[error("{path} is in use by a lab running as process {pid}")]
    Locked { path: String, pid: u32 },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// The writeback-sim version that wrote it.
    by: String,
    created: chrono::DateTime<chrono::Utc>,
}

/// The lab's own secrets: kept, never printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    pub ca_cert: String,
    pub ca_key: String,
    pub signing_key: String,
    /// The confidential app for scripts and SDKs (client credentials).
    pub client_id: String,
    pub client_secret: String,
    /// The public client for the password grant.
    pub public_client_id: String,
    /// A cloud Global Administrator for delegated calls (resetPassword).
    pub admin_upn: String,
    pub admin_user_password: String,
    pub control_token: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("client_id", &self.client_id)
            .field("admin_upn", &self.admin_upn)
            .finish_non_exhaustive()
    }
}

/// `engine.json`: the engine and what the world knows of the organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EngineFile {
    engine: EngineSnapshot,
    exchange_hybrid: bool,
}

/// The files a lab writes; anything else in the folder makes it foreign.
const OURS: &[&str] = &[
    "state.json",
    "secrets.json",
    "directory.json",
    "tenant.json",
    "engine.json",
    "lab.json",
    "ca.pem",
    "lock",
    "world.yaml",
    "gntech.me.ldif",
];

/// An open state folder (locked for this process until dropped).
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
}

/// What a state folder held when it was opened.
pub struct Opened {
    pub dir: StateDir,
    /// `None`: a new lab (the folder was empty, or a first start never finished).
    pub secrets: Option<Secrets>,
    pub world: Option<WorldState>,
}

impl StateDir {
    /// Open (creating it when missing) and lock the folder, and read what it holds.
    pub fn open(path: &Path) -> Result<Opened, StateError> {
        std::fs::create_dir_all(path).map_err(io(path))?;
        set_mode(path, 0o700);
        for e in std::fs::read_dir(path).map_err(io(path))? {
            let name = e
                .map_err(io(path))?
                .file_name()
                .to_string_lossy()
                .to_string();
            if !OURS.contains(&name.as_str()) && !name.ends_with(".tmp") {
                return Err(StateError::Foreign {
                    path: path.display().to_string(),
                    file: name,
                });
            }
        }
        lock(path)?;
        let dir = StateDir {
            path: path.to_path_buf(),
        };
        let manifest = dir.file("state.json");
        if !manifest.exists() {
            // New, or a first start that never finished: begin again.
            return Ok(Opened {
                dir,
                secrets: None,
                world: None,
            });
        }
        let m: Manifest = dir.read("state.json")?;
        if m.format != FORMAT {
            return Err(StateError::Format {
                path: path.display().to_string(),
                found: m.format,
                by: m.by,
            });
        }
        let secrets: Secrets = dir.read("secrets.json")?;
        let engine: EngineFile = dir.read("engine.json")?;
        let world = WorldState {
            directory: dir.read("directory.json")?,
            tenant: dir.read("tenant.json")?,
            engine: engine.engine,
            exchange_hybrid: engine.exchange_hybrid,
        };
        Ok(Opened {
            dir,
            secrets: Some(secrets),
            world: Some(world),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn read<T: DeserializeOwned>(&self, name: &str) -> Result<T, StateError> {
        let started = std::time::Instant::now();
        let p = self.file(name);
        let text = std::fs::read_to_string(&p).map_err(|e| StateError::Unreadable {
            path: p.display().to_string(),
            why: e.to_string(),
        })?;
        let value = serde_json::from_str(&text).map_err(|e| StateError::Unreadable {
            path: p.display().to_string(),
            why: e.to_string(),
        })?;
        tracing::info!(
            file = name,
            bytes = text.len(),
            ms = started.elapsed().as_millis() as u64,
            "read"
        );
        Ok(value)
    }

    /// Write `name` so that a crash leaves the old file or the new one, never half of one.
    pub fn write_file(&self, name: &str, bytes: &[u8], private: bool) -> Result<(), StateError> {
        let p = self.file(name);
        let tmp = self.file(&format!("{name}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            if private {
                set_mode(&tmp, 0o600);
            }
            f.write_all(bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &p).map_err(io(&p))?;
        // The rename itself reaches the disk with the folder's entry.
        if let Ok(d) = std::fs::File::open(&self.path) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn write_json<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        private: bool,
    ) -> Result<(), StateError> {
        let started = std::time::Instant::now();
        let bytes = serde_json::to_vec(value).map_err(|e| StateError::Unreadable {
            path: self.file(name).display().to_string(),
            why: e.to_string(),
        })?;
        let encoded = started.elapsed();
        self.write_file(name, &bytes, private)?;
        tracing::info!(
            file = name,
            bytes = bytes.len(),
            encode_ms = encoded.as_millis() as u64,
            ms = started.elapsed().as_millis() as u64,
            "written"
        );
        Ok(())
    }

    pub fn save_secrets(&self, s: &Secrets) -> Result<(), StateError> {
        self.write_json("secrets.json", s, true)
    }

    pub fn save_directory(&self, d: &DirectorySnapshot) -> Result<(), StateError> {
        self.write_json("directory.json", d, true)
    }

    pub fn save_tenant(&self, t: &TenantState) -> Result<(), StateError> {
        self.write_json("tenant.json", t, true)
    }

    pub fn save_engine(
        &self,
        engine: EngineSnapshot,
        exchange_hybrid: bool,
    ) -> Result<(), StateError> {
        self.write_json(
            "engine.json",
            &EngineFile {
                engine,
                exchange_hybrid,
            },
            true,
        )
    }

    /// Mark the folder complete: written last on a first start, so a folder without it
    /// is begun again.
    pub fn seal(&self) -> Result<(), StateError> {
        if self.file("state.json").exists() {
            return Ok(());
        }
        self.write_json(
            "state.json",
            &Manifest {
                format: FORMAT,
                by: env!("CARGO_PKG_VERSION").into(),
                created: chrono::Utc::now(),
            },
            false,
        )
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.file("lock"));
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// Is process `pid` alive (this one included: a folder is opened once)?
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Take the folder for this process: `lock` names the pid; a lock left by a process that
/// is gone (killed) is taken over.
fn lock(path: &Path) -> Result<(), StateError> {
    let file = path.join("lock");
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Ok(pid) = text.trim().parse::<u32>() {
            if alive(pid) {
                return Err(StateError::Locked {
                    path: path.display().to_string(),
                    pid,
                });
            }
        }
    }
    std::fs::write(&file, std::process::id().to_string()).map_err(io(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("wbsim-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn a_new_folder_is_a_new_lab_and_a_foreign_one_is_refused() {
        let p = temp("new");
        let o = StateDir::open(&p).unwrap();
        assert!(o.secrets.is_none() && o.world.is_none());
        drop(o);
        std::fs::write(p.join("photo.jpg"), b"x").unwrap();
        let e = StateDir::open(&p).err().unwrap().to_string();
        assert!(e.contains("photo.jpg"), "{e}");
        let _ = std::fs::remove_dir_all(&p);
    }

    #[test]
    fn another_format_is_refused_with_the_reason_and_nothing_is_read() {
        let p = temp("format");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("state.json"),
            r#"{"format": 7, "by": "9.9.9", "created": "2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let e = StateDir::open(&p).err().unwrap().to_string();
        assert!(e.contains("state format 7") && e.contains("9.9.9"), "{e}");
        let _ = std::fs::remove_dir_all(&p);
    }

    #[test]
    fn a_folder_in_use_is_refused_and_a_stale_lock_taken_over() {
        let p = temp("lock");
        std::fs::create_dir_all(&p).unwrap();
        // pid 1 is always alive.
        std::fs::write(p.join("lock"), "1").unwrap();
        assert!(matches!(
            StateDir::open(&p).err(),
            Some(StateError::Locked { pid: 1, .. })
        ));
        std::fs::write(p.join("lock"), "4000000000").unwrap();
        assert!(StateDir::open(&p).is_ok());
        let _ = std::fs::remove_dir_all(&p);
    }
}

//! What an admin reads afterwards: the run history (Synchronization Service Manager's
//! Operations tab: PasswordSet / PasswordChange rows, and the import / synchronization /
//! export runs of sync cycles with their counts and export errors) and the Application
//! event log (PasswordResetService, Directory Synchronization), and Cloud Sync's own
//! provisioning logs (what its group provisioning did or skipped, per group, and why). They
//! live outside the engine's tasks so they survive a restart of the service.
//!
//! Profiles, statuses, event levels and sources are enums; their `Display` is how the
//! Synchronization Service Manager and the event viewer word them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The run profile of a row in the Operations tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Profile {
    /// A password reset (SSPR or an admin's) written to AD.
    PasswordSet,
    /// A user's password change written to AD.
    PasswordChange,
    /// An unlock without a reset.
    AccountUnlock,
    FullImport,
    DeltaImport,
    FullSynchronization,
    DeltaSynchronization,
    Export,
}

impl Profile {
    /// Password operations, as opposed to the runs of a sync cycle.
    pub fn is_password(self) -> bool {
        matches!(
            self,
            Self::PasswordSet | Self::PasswordChange | Self::AccountUnlock
        )
    }

    pub fn is_import(self) -> bool {
        matches!(self, Self::FullImport | Self::DeltaImport)
    }

    pub fn is_synchronization(self) -> bool {
        matches!(self, Self::FullSynchronization | Self::DeltaSynchronization)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PasswordSet => "PasswordSet",
            Self::PasswordChange => "PasswordChange",
            Self::AccountUnlock => "AccountUnlock",
            Self::FullImport => "Full Import",
            Self::DeltaImport => "Delta Import",
            Self::FullSynchronization => "Full Synchronization",
            Self::DeltaSynchronization => "Delta Synchronization",
            Self::Export => "Export",
        })
    }
}

/// How a run ended, as the Operations tab's Status column says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Success,
    /// A password operation that AD (or the engine) refused.
    Failure,
    /// An export that wrote some objects and failed on others.
    CompletedExportErrors,
    /// An import that could not reach the connected directory.
    StoppedServerDown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::CompletedExportErrors => "completed-export-errors",
            Self::StoppedServerDown => "stopped-server-down",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub profile: Profile,
    /// The connector the run belongs to (sync runs).
    pub connector: Option<String>,
    pub status: Status,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The user of a password operation.
    pub user: String,
    pub adds: Option<u32>,
    pub updates: Option<u32>,
    pub deletes: Option<u32>,
    pub export_errors: Vec<ExportError>,
    /// Objects an export left alone on purpose (out of scope, limits), with the reason.
    pub skipped: Vec<Skipped>,
    pub dn: Option<String>,
    pub error: Option<String>,
}

impl RunRecord {
    /// A row with nothing counted yet.
    pub fn new(profile: Profile, status: Status, start: DateTime<Utc>) -> Self {
        Self {
            profile,
            connector: None,
            status,
            start,
            end: start,
            user: String::new(),
            adds: None,
            updates: None,
            deletes: None,
            export_errors: Vec::new(),
            skipped: Vec::new(),
            dn: None,
            error: None,
        }
    }
}

/// One object an export could not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportError {
    pub kind: ExportErrorKind,
    pub dn: String,
    pub detail: String,
}

/// The error types the Connector Operations pane shows for an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExportErrorKind {
    /// The connector account lacks a right (LDAP 50).
    PermissionIssue,
    /// The writeback container or OU is missing (LDAP 32).
    NoWritebackContainer,
    /// The connected directory refused the object for another reason.
    CdError,
    /// The connected directory could not be reached.
    ConnectionFailure,
}

impl fmt::Display for ExportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PermissionIssue => "permission-issue",
            Self::NoWritebackContainer => "no-writeback-container",
            Self::CdError => "cd-error",
            Self::ConnectionFailure => "connection-failure",
        })
    }
}

/// One object an export did not write on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The cloud object (a group's display name).
    pub object: String,
    pub reason: String,
}

/// An event's level in the Application log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    Information,
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Information => "Information",
            Self::Warning => "Warning",
            Self::Error => "Error",
        })
    }
}

/// The event source in the Application log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// Password writeback (310xx, 320xx, 330xx).
    PasswordResetService,
    /// The sync engine's cycles (6xxx).
    DirectorySynchronization,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PasswordResetService => "PasswordResetService",
            Self::DirectorySynchronization => "Directory Synchronization",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: u32,
    pub time: DateTime<Utc>,
    pub level: Level,
    pub source: Source,
    pub message: String,
}

/// One row of Cloud Sync's provisioning logs (Entra admin center → Microsoft Entra Connect
/// → Cloud Sync → Provisioning logs): a group, what was done with it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningLog {
    pub time: DateTime<Utc>,
    /// The group's display name (or the job itself, for what concerns every group).
    pub object: String,
    /// Create, Update, Delete or Other (a group left alone).
    pub action: String,
    /// Success, Skipped or Failure.
    pub status: String,
    /// The target DN, the reason a group was skipped, or the error.
    pub detail: String,
}

/// Every run, event and provisioning log row so far, as data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Records {
    pub runs: Vec<RunRecord>,
    pub events: Vec<Event>,
    /// Cloud Sync's provisioning logs (absent from state saved before they existed).
    #[serde(default)]
    pub provisioning: Vec<ProvisioningLog>,
}

/// How much the history held at one moment: what came after is read with `*_since`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryMark {
    pub runs: usize,
    pub events: usize,
    pub provisioning: usize,
}

/// Shared, append-only history; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct History {
    inner: Arc<Mutex<Records>>,
}

impl History {
    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn run(&self, r: RunRecord) {
        self.lock().runs.push(r);
    }

    /// A PasswordResetService event.
    pub fn event(&self, time: DateTime<Utc>, id: u32, level: Level, message: String) {
        self.event_from(Source::PasswordResetService, time, id, level, message);
    }

    pub fn event_from(
        &self,
        source: Source,
        time: DateTime<Utc>,
        id: u32,
        level: Level,
        message: String,
    ) {
        self.lock().events.push(Event {
            id,
            time,
            level,
            source,
            message,
        });
    }

    /// A row of Cloud Sync's provisioning logs.
    pub fn provisioning(&self, row: ProvisioningLog) {
        self.lock().provisioning.push(row);
    }

    pub fn provisioning_logs(&self) -> Vec<ProvisioningLog> {
        self.lock().provisioning.clone()
    }

    pub fn runs(&self) -> Vec<RunRecord> {
        self.lock().runs.clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Everything so far, to keep.
    pub fn snapshot(&self) -> Records {
        self.lock().clone()
    }

    /// A history that goes on from `records`.
    pub fn restore(records: Records) -> Self {
        Self {
            inner: Arc::new(Mutex::new(records)),
        }
    }

    /// A number that moves with every row (the history only grows).
    pub fn generation(&self) -> u64 {
        let r = self.lock();
        (r.runs.len() + r.events.len() + r.provisioning.len()) as u64
    }

    /// How many rows there are so far: a mark to read what came after.
    pub fn mark(&self) -> HistoryMark {
        let r = self.lock();
        HistoryMark {
            runs: r.runs.len(),
            events: r.events.len(),
            provisioning: r.provisioning.len(),
        }
    }
}

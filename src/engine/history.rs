//! What an admin reads afterwards: the run history (Synchronization Service Manager's
//! Operations tab: PasswordSet / PasswordChange rows, and the import / synchronization /
//! export runs of sync cycles with their counts and export errors) and the Application
//! event log (PasswordResetService, Directory Synchronization). Both live outside the engine's tasks so they survive a
//! restart of the service.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// `PasswordSet`, `PasswordChange`, `Full Import`, `Delta Import`, `Delta
    /// Synchronization`, `Export`, …
    pub profile: String,
    /// The connector the run belongs to (sync runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// `success`, `failure`, or `completed-export-errors`.
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The user of a password operation.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletes: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export_errors: Vec<ExportError>,
    /// Objects an export left alone on purpose (out of scope, limits), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One object an export could not write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportError {
    /// e.g. `no-writeback-container`, `permission-issue`.
    #[serde(rename = "type")]
    pub kind: String,
    pub dn: String,
    pub detail: String,
}

/// One object an export did not write on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The cloud object (a group's display name).
    pub object: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub id: u32,
    pub time: DateTime<Utc>,
    /// `Information`, `Warning` or `Error`.
    pub level: String,
    pub source: String,
    pub message: String,
}

#[derive(Debug, Default)]
struct Records {
    runs: Vec<RunRecord>,
    events: Vec<Event>,
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

    pub fn event(&self, time: DateTime<Utc>, id: u32, level: &str, message: String) {
        self.event_from("PasswordResetService", time, id, level, message);
    }

    pub fn event_from(
        &self,
        source: &str,
        time: DateTime<Utc>,
        id: u32,
        level: &str,
        message: String,
    ) {
        self.lock().events.push(Event {
            id,
            time,
            level: level.into(),
            source: source.into(),
            message,
        });
    }

    pub fn runs(&self) -> Vec<RunRecord> {
        self.lock().runs.clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }
}

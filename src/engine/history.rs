//! What an admin reads afterwards: the run history (Synchronization Service Manager's
//! Operations tab: PasswordSet / PasswordChange rows) and the Application event log
//! (source PasswordResetService). Both live outside the engine's tasks so they survive a
//! restart of the service.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// `PasswordSet` (reset) or `PasswordChange`.
    pub profile: String,
    /// `success` or `failure`.
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
        self.lock().events.push(Event {
            id,
            time,
            level: level.into(),
            source: "PasswordResetService".into(),
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

//! Scenarios: a YAML file (`SCENARIO-FORMAT.md`) becomes a world, a list of steps run
//! against it, and a snapshot of what happened.
//!
//! - [`model`]: the file as serde types (unknown keys rejected with file:line:col).

pub mod model;

//! Scenarios: a YAML file (`SCENARIO-FORMAT.md`) becomes a world, a list of steps run
//! against it, and a snapshot of what happened. Everything here drives the world through
//! its API (`crate::world`); nothing touches a fake or the engine directly.
//!
//! - [`model`]: the file as serde types (unknown keys rejected with file:line:col);
//!   [`convert`]: its specs as the world's input types.
//! - [`generate`]: seeded fake users, devices and groups (`world.tenant.generate`).
//! - [`setup`]: the file's `world:` made real, up to the first step.
//! - [`steps`]: each step action as a world verb, a file per family (people, cloud,
//!   on-premises, faults and time).
//! - [`expect`]: the checks (`expect_ad`, `expect_run`, `expect_features`, `expect:`).
//! - [`runner`]: one file from parse to report; [`error`]: why a file could not run.
//! - [`report`]: what is snapshotted.
//! - [`compare`]: the AD part of two reports side by side (`run --compare`).
//! - [`suite`]: discovery and the snapshot check shared by the CLI and `cargo test`.
//! - [`validate`]: every problem in a file at once, located, with hints (miette).

pub mod compare;
pub mod convert;
pub mod differences;
pub mod error;
pub mod expect;
pub mod generate;
pub mod model;
pub mod report;
pub mod runner;
pub mod setup;
pub mod steps;
pub mod suite;
pub mod validate;

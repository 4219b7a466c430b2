//! Scenarios: a YAML file (`SCENARIO-FORMAT.md`) becomes a world, a list of steps run
//! against it, and a snapshot of what happened.
//!
//! - [`model`]: the file as serde types (unknown keys rejected with file:line:col).
//! - [`filter`]: RFC 4515 filter strings (`expect_ad.filter`) read by ldap3's parser.
//! - [`generate`]: seeded fake users, devices and groups (`world.tenant.generate`).
//! - [`runner`]: build the world, run the steps, check the expectations.
//! - [`report`]: what is snapshotted.
//! - [`suite`]: discovery and the snapshot check shared by the CLI and `cargo test`.
//! - [`validate`]: every problem in a file at once, located, with hints (miette).

pub mod filter;
pub mod generate;
pub mod model;
pub mod report;
pub mod runner;
pub mod suite;
pub mod validate;

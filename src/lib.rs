//! writeback-sim: a testing simulator for Microsoft Entra Connect writeback — cloud
//! password resets, registered devices and Microsoft 365 / cloud security groups flowing
//! back into on-premises Active Directory — without a tenant or a domain controller.
//!
//! - [`directory`]: the embedded AD — LDAP/LDAPS on real sockets with AD's schema, password
//!   policy, access control and result codes.
//! - [`relay`]: the fake Azure Relay (Hybrid Connections over WebSocket).
//! - [`cloud`]: the fake Entra tenant (users, licences, groups, devices, SSPR and its
//!   password services, Microsoft Graph).
//! - [`engine`]: the real writeback engine (production code; speaks protocols only).
//! - [`sas`], [`hybrid_connections`], [`writeback_protocol`]: wire formats both sides use.
//! - [`clock`]: business time (real, or a virtual clock that scenarios own).
//!
//! - [`world`]: one simulated world (directory + relay + tenant + engine, one clock).
//! - [`scenario`]: YAML scenarios: parse, validate, run against a world, snapshot.
//!
//! The `writeback-sim` commands are the binary's (`src/main.rs`, `src/cli/`). Still to
//! come (see the issues): `lab`.

pub mod clock;
pub mod cloud;
pub mod directory;
pub mod engine;
pub mod hybrid_connections;
pub mod nt_security;
pub mod relay;
pub mod sas;
pub mod scenario;
pub mod world;
pub mod writeback_protocol;

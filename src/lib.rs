//! writeback-sim: a testing simulator for Microsoft Entra Connect writeback — cloud
//! password resets, registered devices and Microsoft 365 / cloud security groups flowing
//! back into on-premises Active Directory — without a tenant or a domain controller.
//!
//! - [`directory`]: the embedded AD — LDAP/LDAPS on real sockets with AD's schema, password
//!   policy, access control and result codes.
//! - [`relay`]: the fake Azure Relay (Hybrid Connections over WebSocket).
//! - [`cloud`]: the fake Entra tenant (users, licences, SSPR and its password services).
//! - [`engine`]: the real writeback engine (production code; speaks protocols only).
//! - [`sas`], [`hybrid_connections`], [`writeback_protocol`]: wire formats both sides use.
//! - [`clock`]: business time (real, or a virtual clock that scenarios own).
//! - [`cli`]: the `writeback-sim` commands, called by `main.rs`.
//!
//! - [`world`]: one simulated world (directory + relay + tenant + engine, one clock).
//! - [`scenario`]: YAML scenarios: parse, run against a world, snapshot.
//!
//! Still to come (see the issues): the Graph API of the tenant, `lab`.

pub mod cli;
pub mod clock;
pub mod cloud;
pub mod directory;
pub mod engine;
pub mod hybrid_connections;
pub mod relay;
pub mod sas;
pub mod scenario;
pub mod world;
pub mod writeback_protocol;

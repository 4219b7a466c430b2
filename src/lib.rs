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
//! - [`sas`], [`hybrid_connections`], [`writeback_protocol`], [`nt_security`]: wire formats
//!   both sides use (SAS tokens, Hybrid Connections messages, the password message,
//!   nTSecurityDescriptor); [`tls`] and [`https`]: TLS material, a CA of our own, HTTPS
//!   clients and serving; [`net`]: addresses as clients reach them.
//! - [`clock`]: business time (real, or a virtual clock that scenarios own).
//!
//! - [`world`]: one simulated world (directory + relay + tenant + engine, one clock) as an
//!   API in domain verbs; the only place that wires the parts.
//! - [`scenario`]: YAML scenarios: parse, validate, run against a world, snapshot.
//! - [`lab`]: the world kept running for a homelab, with its state folder and controls.
//!
//! Where things live: a step action is a world verb called from `scenario::steps` (a file
//! per family); an expectation is in `scenario::expect` (a file per family); a wizard
//! decision (licence, forest, rights, onboarding) is in `engine::wizard` and
//! `engine::adprep`; the schedule is `engine::scheduler`. `tests/it/architecture.rs` keeps
//! the boundaries. The `writeback-sim` commands are the binary's (`src/main.rs`,
//! `src/cli/`).

pub mod clock;
pub mod cloud;
pub mod directory;
pub mod engine;
pub mod fault_proxy;
pub mod files;
pub mod https;
pub mod hybrid_connections;
pub mod lab;
pub mod net;
pub mod nt_security;
pub mod relay;
pub mod sas;
pub mod scenario;
pub mod tls;
pub mod world;
pub mod writeback_protocol;

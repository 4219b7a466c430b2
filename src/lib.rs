//! writeback-sim: a testing simulator for Microsoft Entra Connect writeback — cloud
//! password resets, registered devices and Microsoft 365 / cloud security groups flowing
//! back into on-premises Active Directory — without a tenant or a domain controller.
//!
//! - [`directory`]: the embedded AD — LDAP/LDAPS on real sockets with AD's schema, password
//!   policy, access control and result codes.
//! - [`relay`]: the fake Azure Relay (Hybrid Connections over WebSocket).
//! - [`sas`]: Shared Access Signature tokens, for both sides of the relay.
//! - [`clock`]: business time (real, or a virtual clock that scenarios own).
//! - [`cli`]: the `writeback-sim` commands, called by `main.rs`.
//!
//! Still to come (see the issues): `cloud` (fake Entra tenant: Graph + SSPR), `engine`
//! (the real writeback engine), `world`, `scenario`, `lab`.

pub mod cli;
pub mod clock;
pub mod directory;
pub mod relay;
pub mod sas;

//! The fake Entra tenant: users (synced from AD with their on-premises anchor, or
//! cloud-only), licences, the SSPR policy with its on-premises writeback toggle, and the
//! password services people use — the SSPR portal, an admin's reset, a user's change.
//! Operations on synced users travel through the relay to the on-premises engine and wait
//! for its answer, so the person sees AD's verdict at once, in the words the portal uses
//! (`SSPR_00xx` codes, the article's symptom texts).
//!
//! - [`tenant`]: the state — settings, users, devices, groups, what Entra Connect onboarded.
//! - [`change_log`]: the change numbers delta queries are answered from.
//! - [`identity`]: the identity platform — OpenID configuration, JWKS, the token endpoint
//!   (client credentials, password, refresh) — and the signed tokens Graph checks.
//! - [`sspr`]: the password services and their gates.
//! - [`graph`]: Microsoft Graph on axum — users, licences, passwords, devices, groups and
//!   their delta queries, the on-premises sync features — with bearer tokens and OData
//!   errors.

pub mod change_log;
pub mod graph;
pub mod identity;
pub mod sspr;
pub mod tenant;

pub use sspr::{sspr_wording, AnswerOutcome, PasswordService, RelaySender, UserAnswer};
pub use tenant::{CloudUser, License, SsprEnabled, SyncFeatures, Tenant, TenantSettings};

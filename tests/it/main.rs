//! The one integration-test binary (each `tests/*.rs` would link separately, which costs
//! minutes on a 2-core machine). Real `ldap3` clients over real sockets against the
//! embedded AD, served on 127.0.0.1:0.

mod access;
mod acl;
mod architecture;
mod binds;
mod catalogue;
mod devices;
mod engine;
mod external_dc;
mod graph;
mod group_writeback;
mod groups_devices;
mod identity;
mod lab;
mod ldif;
mod names_schema;
mod pages;
mod paging;
mod passwords;
mod relay;
mod scenario_files;
mod searches;
mod support;
mod transport;
mod updates;
mod world;

//! The steps of a scenario: one action each (what people, admins, faults and the clock
//! do, and the checks), with an optional `expect` on its outcome, and their
//! deserialisation (exactly one action key per step). What each action takes is in
//! `actions`.

use super::actions::*;
use super::{DeviceSpec, Duration, EngineSpec, GroupSpec};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;

/// One thing people, faults or checks do.
#[derive(Debug, Clone)]
pub enum Action {
    SsprReset(SsprReset),
    ChangePassword(ChangePassword),
    AdminReset(AdminReset),
    SsprUnlock(UserRef),
    SignIn(SignIn),
    Tenant(TenantChange),
    Ad(AdChange),
    Grant(GrantSpec),
    Deny(GrantSpec),
    Revoke(GrantSpec),
    BlockInheritance(InheritanceSpec),
    RestoreInheritance(InheritanceSpec),
    Fault(FaultSpec),
    ClearFaults,
    Advance(Duration),
    RestartEngine,
    ExpectAd(ExpectAd),
    ExpectRun(ExpectRun),
    RegisterDevice(DeviceSpec),
    UpdateDevice(UpdateDevice),
    DeleteDevice(DeleteDevice),
    CreateGroup(GroupSpec),
    UpdateGroup(UpdateGroup),
    DeleteGroup(DeleteGroup),
    Configure(Box<EngineSpec>),
    Sync(SyncKind),
    ExpectFeatures(BTreeMap<String, String>),
}

impl Action {
    /// A person's action (a reset, a change, a sign-in): it may end any way, and its
    /// `expect` says which way is right. Any other step that fails means the scenario did
    /// not run as written.
    pub fn is_person(&self) -> bool {
        matches!(
            self,
            Action::SsprReset(_)
                | Action::AdminReset(_)
                | Action::ChangePassword(_)
                | Action::SignIn(_)
                | Action::SsprUnlock(_)
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::SsprReset(_) => "sspr_reset",
            Action::ChangePassword(_) => "change_password",
            Action::AdminReset(_) => "admin_reset",
            Action::SignIn(_) => "sign_in",
            Action::SsprUnlock(_) => "sspr_unlock",
            Action::Tenant(_) => "tenant",
            Action::Ad(_) => "ad",
            Action::Grant(_) => "grant",
            Action::Deny(_) => "deny",
            Action::Revoke(_) => "revoke",
            Action::BlockInheritance(_) => "block_inheritance",
            Action::RestoreInheritance(_) => "restore_inheritance",
            Action::Fault(_) => "fault",
            Action::ClearFaults => "clear_faults",
            Action::Advance(_) => "advance",
            Action::RestartEngine => "restart_engine",
            Action::ExpectAd(_) => "expect_ad",
            Action::ExpectRun(_) => "expect_run",
            Action::RegisterDevice(_) => "register_device",
            Action::UpdateDevice(_) => "update_device",
            Action::DeleteDevice(_) => "delete_device",
            Action::CreateGroup(_) => "create_group",
            Action::UpdateGroup(_) => "update_group",
            Action::DeleteGroup(_) => "delete_group",
            Action::Configure(_) => "configure",
            Action::Sync(_) => "sync",
            Action::ExpectFeatures(_) => "expect_features",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub expect: Option<Expect>,
}

/// Every action key the format knows.
pub const ACTIONS: &[&str] = &[
    "sspr_reset",
    "change_password",
    "admin_reset",
    "sign_in",
    "sspr_unlock",
    "register_device",
    "update_device",
    "delete_device",
    "create_group",
    "update_group",
    "delete_group",
    "tenant",
    "configure",
    "sync",
    "ad",
    "grant",
    "deny",
    "revoke",
    "block_inheritance",
    "restore_inheritance",
    "restart_engine",
    "fault",
    "clear_faults",
    "advance",
    "expect_ad",
    "expect_run",
    "expect_features",
    "expect",
];

/// Accepts any YAML and keeps nothing (the empty maps of `clear_faults: {}` and friends,
/// and the bodies of steps whose area has not landed).
struct Ignored;

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(d).map(|_| Ignored)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = Step;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step: a map with one action key (sspr_reset, ad, advance, …) and optionally `expect`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let mut action: Option<Action> = None;
                let mut expect = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "expect" {
                        expect = Some(map.next_value::<Expect>()?);
                        continue;
                    }
                    if action.is_some() {
                        return Err(de::Error::custom(format!(
                            "a step has one action; `{key}` comes after `{}`",
                            action.as_ref().map(Action::name).unwrap_or_default()
                        )));
                    }
                    action = Some(match key.as_str() {
                        "sspr_reset" => Action::SsprReset(map.next_value()?),
                        "change_password" => Action::ChangePassword(map.next_value()?),
                        "admin_reset" => Action::AdminReset(map.next_value()?),
                        "sign_in" => Action::SignIn(map.next_value()?),
                        "sspr_unlock" => Action::SsprUnlock(map.next_value()?),
                        "tenant" => Action::Tenant(map.next_value()?),
                        "ad" => Action::Ad(map.next_value()?),
                        "grant" => Action::Grant(map.next_value()?),
                        "deny" => Action::Deny(map.next_value()?),
                        "revoke" => Action::Revoke(map.next_value()?),
                        "block_inheritance" => Action::BlockInheritance(map.next_value()?),
                        "restore_inheritance" => Action::RestoreInheritance(map.next_value()?),
                        "fault" => Action::Fault(map.next_value()?),
                        "clear_faults" => {
                            map.next_value::<Ignored>()?;
                            Action::ClearFaults
                        }
                        "advance" => Action::Advance(map.next_value()?),
                        "restart_engine" => {
                            map.next_value::<Ignored>()?;
                            Action::RestartEngine
                        }
                        "expect_ad" => Action::ExpectAd(map.next_value()?),
                        "expect_run" => Action::ExpectRun(map.next_value()?),
                        "register_device" => Action::RegisterDevice(map.next_value()?),
                        "update_device" => Action::UpdateDevice(map.next_value()?),
                        "delete_device" => Action::DeleteDevice(map.next_value()?),
                        "create_group" => Action::CreateGroup(map.next_value()?),
                        "update_group" => Action::UpdateGroup(map.next_value()?),
                        "delete_group" => Action::DeleteGroup(map.next_value()?),
                        "configure" => Action::Configure(Box::new(map.next_value()?)),
                        "sync" => Action::Sync(map.next_value()?),
                        "expect_features" => Action::ExpectFeatures(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, ACTIONS)),
                    });
                }
                match action {
                    Some(action) => Ok(Step { action, expect }),
                    None => Err(de::Error::custom(
                        "a step needs an action key (sspr_reset, ad, advance, …)",
                    )),
                }
            }
        }
        d.deserialize_map(StepVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{from_yaml, Scenario};

    #[test]
    fn durations_take_the_documented_units() {
        assert_eq!(
            Duration::parse("250ms").unwrap().0,
            std::time::Duration::from_millis(250)
        );
        assert_eq!(
            Duration::parse("90s").unwrap().0,
            std::time::Duration::from_secs(90)
        );
        assert_eq!(
            Duration::parse("1d").unwrap().0,
            std::time::Duration::from_secs(86400)
        );
        assert!(Duration::parse("5 minutes").is_none());
        assert!(Duration::parse("s").is_none());
        // Huge values are refused, not overflowed (a panic before) or wrapped.
        assert!(Duration::parse("36500d").is_some());
        assert!(Duration::parse("36501d").is_none());
        assert!(Duration::parse("99999999999999999d").is_none());
        assert!(Duration::parse("99999999999999999999999d").is_none());
        let e = from_yaml("steps:\n  - advance: 213503982334601d\n").unwrap_err();
        assert!(e.to_string().contains("at most 36500d"), "{e}");
    }

    #[test]
    fn generate_is_bounded_where_it_is_written() {
        for n in ["4000000000", "200001", "99999999999999999999"] {
            let e = from_yaml(&format!(
                "world:\n  tenant:\n    generate: {{ users: {n} }}\n"
            ))
            .unwrap_err();
            // Past u64 the YAML reader itself refuses the number.
            let said = e.to_string();
            assert!(
                said.contains("at most 200000") || said.contains("invalid u64"),
                "{n}: {e}"
            );
            assert_eq!(e.location().map(|l| l.line()), Some(3), "{e}");
        }
        assert!(from_yaml("world:\n  tenant:\n    generate: { users: 200000 }\n").is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_their_place() {
        let e = from_yaml("name: x\nstepz: []\n").unwrap_err();
        let loc = e.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (2, 1), "{e}");
        let e = from_yaml("steps:\n  - advance: 5 minutes\n").unwrap_err();
        assert!(e.to_string().contains("bad duration"), "{e}");
        assert_eq!(e.location().unwrap().line(), 2);
        let e = from_yaml("steps:\n  - sspr_rest: {user: a}\n").unwrap_err();
        assert!(e.to_string().contains("sspr_rest"), "{e}");
    }

    #[test]
    fn steps_carry_their_expectation() {
        let s: Scenario = from_yaml(
            "steps:\n  - sspr_reset: { user: alice@gntech.me, new_password: \"Summer2026\" }\n    expect: { outcome: rejected, error: complexity }\n  - clear_faults: {}\n  - sync: delta\n",
        )
        .unwrap();
        assert_eq!(s.steps.len(), 3);
        assert!(matches!(s.steps[0].action, Action::SsprReset(_)));
        assert_eq!(
            s.steps[0].expect.as_ref().unwrap().outcome,
            Some(ExpectedOutcome::Rejected)
        );
        assert!(matches!(s.steps[2].action, Action::Sync(SyncKind::Delta)));
        let s =
            from_yaml("steps:\n  - grant: { right: reset_password, on: \"DC=gntech,DC=me\" }\n")
                .unwrap();
        assert!(matches!(&s.steps[0].action, Action::Grant(g) if g.on == "DC=gntech,DC=me"));
    }
}

//! The format's JSON Schema (`writeback-sim schema`), for editors — every scenario file
//! names it in a `# yaml-language-server: $schema=...` line — and for `validate`, which
//! checks files against the same schema. Derived from the serde types with schemars; a
//! step is one `oneOf` branch per action.

use super::actions::*;
use super::steps::*;
use super::{DeviceSpec, Duration, EngineSpec, GroupSpec, Scenario};
use schemars::JsonSchema;
use std::collections::BTreeMap;

/// The JSON Schema of the format (`writeback-sim schema`), for editors: every scenario
/// file names it in a `# yaml-language-server: $schema=...` line. `validate` checks files
/// against the same schema.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Scenario);
    schema.insert("title".into(), "writeback-sim scenario".into());
    schema.insert(
        "description".into(),
        "A world (tenant, directory, engine), steps people, faults and checks take, and a snapshot of what happened. See SCENARIO-FORMAT.md.".into(),
    );
    schema.to_value()
}

/// The JSON Schema of one step: a map with exactly one action key (and optionally
/// `expect`), one `oneOf` branch per action, so an editor completes the action's keys.
impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use schemars::Schema;
        let empty = || schemars::json_schema!({ "type": ["object", "null"], "additionalProperties": false });
        let actions: Vec<(&str, &str, Schema)> = vec![
            (
                "sspr_reset",
                "Self-service reset at the SSPR portal, identity verified.",
                g.subschema_for::<SsprReset>(),
            ),
            (
                "change_password",
                "The user changes their password in the cloud.",
                g.subschema_for::<ChangePassword>(),
            ),
            (
                "admin_reset",
                "A reset in the Entra admin center.",
                g.subschema_for::<AdminReset>(),
            ),
            (
                "sign_in",
                "An on-premises sign-in (a simple bind over LDAPS).",
                g.subschema_for::<SignIn>(),
            ),
            (
                "sspr_unlock",
                "Unlock at the SSPR portal without a reset.",
                g.subschema_for::<UserRef>(),
            ),
            (
                "register_device",
                "A device registers in Entra ID.",
                g.subschema_for::<DeviceSpec>(),
            ),
            (
                "update_device",
                "A device is enabled, disabled, renamed or changes owner.",
                g.subschema_for::<UpdateDevice>(),
            ),
            (
                "delete_device",
                "A device is deleted in Entra ID.",
                g.subschema_for::<DeleteDevice>(),
            ),
            (
                "create_group",
                "A group is created in Entra ID.",
                g.subschema_for::<GroupSpec>(),
            ),
            (
                "update_group",
                "Members, writeback or name of a group change.",
                g.subschema_for::<UpdateGroup>(),
            ),
            (
                "delete_group",
                "A group is deleted in Entra ID.",
                g.subschema_for::<DeleteGroup>(),
            ),
            (
                "tenant",
                "Change tenant settings.",
                g.subschema_for::<TenantChange>(),
            ),
            (
                "configure",
                "Run the Entra Connect wizard again with these choices.",
                g.subschema_for::<EngineSpec>(),
            ),
            (
                "sync",
                "Start-ADSyncSyncCycle -PolicyType Delta / Initial.",
                g.subschema_for::<SyncKind>(),
            ),
            (
                "ad",
                "A change made directly in AD.",
                g.subschema_for::<AdChange>(),
            ),
            (
                "grant",
                "dsacls: grant a right (to the connector account by default).",
                g.subschema_for::<GrantSpec>(),
            ),
            (
                "deny",
                "dsacls /D: deny a right (to the connector account by default); a deny ACE wins over allows on the same object and over inherited ones below.",
                g.subschema_for::<GrantSpec>(),
            ),
            (
                "revoke",
                "dsacls /R: remove a right, allowed or denied; an error when there was none.",
                g.subschema_for::<GrantSpec>(),
            ),
            (
                "block_inheritance",
                "Disable inheritance on an object (its DACL protected, inherited permissions removed): nothing granted or denied above reaches it or its subtree.",
                g.subschema_for::<InheritanceSpec>(),
            ),
            (
                "restore_inheritance",
                "Enable inheritance again on an object.",
                g.subschema_for::<InheritanceSpec>(),
            ),
            (
                "restart_engine",
                "The sync service restarts; its state survives.",
                empty(),
            ),
            (
                "fault",
                "Inject a fault into the relay, the DC or Graph.",
                g.subschema_for::<FaultSpec>(),
            ),
            ("clear_faults", "Remove every fault.", empty()),
            (
                "advance",
                "Move the virtual clock; what falls due meanwhile runs: the scheduled delta sync cycle (every 30 minutes), Cloud Sync's provisioning job (every 2 minutes), the relay token renewal.",
                g.subschema_for::<Duration>(),
            ),
            (
                "expect_ad",
                "Check an entry, or count the entries a subtree search finds.",
                g.subschema_for::<ExpectAd>(),
            ),
            (
                "expect_run",
                "Check the newest run of a profile.",
                g.subschema_for::<ExpectRun>(),
            ),
            (
                "expect_features",
                "Check Get-ADSyncAADCompanyFeature.",
                g.subschema_for::<BTreeMap<String, String>>(),
            ),
        ];
        let expect = g.subschema_for::<Expect>();
        let branches: Vec<serde_json::Value> = actions
            .into_iter()
            .map(|(name, about, schema)| {
                let mut properties = serde_json::Map::new();
                properties.insert(name.to_string(), schema.to_value());
                properties.insert("expect".to_string(), expect.clone().to_value());
                serde_json::json!({
                    "type": "object",
                    "title": name,
                    "description": about,
                    "properties": properties,
                    "required": [name],
                    "additionalProperties": false
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "One thing people, faults or checks do: a map with one action key and optionally `expect`.",
            "oneOf": branches
        })
    }
}

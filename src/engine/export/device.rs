//! The device half of the export: pending devices added, updated, renamed or deleted in
//! the writeback container. Adds are sent ahead of their answers (up to [`ExportAhead`]
//! at a time) and settled in the order they were sent, so the export's outcome — the
//! counts, the errors and their order, what the connector space holds — is what one add at
//! a time gives, without a round trip to the DC for each of 100,000 devices.

use super::{domain_of, export_error, note_rename};
use crate::engine::ad::{AdSession, SentAdd};
use crate::engine::config::{DeviceWriteback, EngineConfig};
use crate::engine::connector_space::{ConnectorSpace, CsObject};
use crate::engine::devices::{self, DeviceImage};
use crate::engine::history::{ExportError, ExportErrorKind};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How many adds an export sends ahead of their answers (1: one at a time). Shared by the
/// engine and whoever set it up, and kept over the service's restarts.
#[derive(Debug, Clone)]
pub struct ExportAhead(Arc<AtomicUsize>);

impl ExportAhead {
    /// What an export sends ahead unless told otherwise.
    pub const DEFAULT: usize = 64;

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// At least one.
    pub fn set(&self, n: usize) {
        self.0.store(n.max(1), Ordering::Relaxed);
    }
}

impl Default for ExportAhead {
    fn default() -> Self {
        Self(Arc::new(AtomicUsize::new(Self::DEFAULT)))
    }
}

/// The owner's AD account (cloud-only owners have none), looked up once per export.
async fn owner_of(
    ad: &mut AdSession,
    base: &str,
    cache: &mut HashMap<String, Option<devices::Owner>>,
    img: &DeviceImage,
) -> Option<devices::Owner> {
    let upn = img.owner.as_ref()?;
    if let Some(hit) = cache.get(upn) {
        return hit.clone();
    }
    let found = ad
        .user_by_upn(base, upn)
        .await
        .ok()
        .flatten()
        .map(|(dn, sid)| devices::Owner { dn, sid });
    cache.insert(upn.clone(), found.clone());
    found
}

/// What a device export did.
#[derive(Default)]
pub(in crate::engine) struct DeviceExport {
    /// (adds, updates, deletes).
    pub(in crate::engine) counts: (u32, u32, u32),
    pub(in crate::engine) errors: Vec<ExportError>,
    /// Objects renamed or moved (old DN, new DN).
    pub(in crate::engine) renamed: Vec<(String, String)>,
    /// Objects updated (DN after the export, the attributes written).
    pub(in crate::engine) updated: Vec<(String, Vec<&'static str>)>,
}

/// An add sent, its device and where it goes.
struct Sent {
    id: String,
    device: CsObject<DeviceImage>,
    dn: String,
    answer: SentAdd,
}

/// Settle the oldest adds sent until at most `keep` wait: in the order they were sent.
async fn settle(
    sent: &mut VecDeque<Sent>,
    keep: usize,
    cs: &ConnectorSpace,
    out: &mut DeviceExport,
) {
    while sent.len() > keep {
        let Some(s) = sent.pop_front() else {
            return;
        };
        match s.answer.answer().await {
            Ok(()) => {
                out.counts.0 += 1;
                note_rename(&mut out.renamed, s.device.dn.as_deref(), Some(&s.dn));
                cs.lock().devices.settle(&s.id, s.device.image, Some(s.dn));
            }
            Err(f) => out.errors.push(export_error(f, s.device.dn.or(Some(s.dn)))),
        }
    }
}

pub(in crate::engine) async fn export_devices(
    cfg: &EngineConfig,
    dw: &DeviceWriteback,
    cs: &ConnectorSpace,
    ahead: usize,
) -> DeviceExport {
    let mut out = DeviceExport::default();
    let work = cs.lock().devices.pending_ids();
    if work.is_empty() {
        return out;
    }
    let mut ad = match AdSession::open(cfg).await {
        Ok(s) => s,
        Err(f) => {
            out.errors.push(ExportError {
                kind: ExportErrorKind::ConnectionFailure,
                dn: dw.container.clone(),
                detail: f.message,
            });
            return out;
        }
    };
    let container_exists = ad.exists(&dw.container).await.unwrap_or(false);
    // Owners are looked up in the domain the container is in.
    let domain = domain_of(&dw.container);
    let mut owners: HashMap<String, Option<devices::Owner>> = HashMap::new();
    let mut sent = VecDeque::new();
    for id in work {
        let Some(d) = cs.read().devices.objects.get(&id).cloned() else {
            continue;
        };
        if let (Some(img), None, true) = (&d.image, &d.exported, container_exists) {
            let dn = devices::dn_in(&dw.container, dw.class, img);
            let owner = owner_of(&mut ad, &domain, &mut owners, img).await;
            let attrs = img.attributes(dw.class, owner.as_ref());
            let answer = ad.send_add(dn.clone(), attrs).await;
            sent.push_back(Sent {
                id,
                device: d,
                dn,
                answer,
            });
            settle(&mut sent, ahead.saturating_sub(1), cs, &mut out).await;
            continue;
        }
        // Anything else waits for the adds before it, so its outcome follows theirs.
        settle(&mut sent, 0, cs, &mut out).await;
        let target_dn = (d.image.as_ref()).map(|i| devices::dn_in(&dw.container, dw.class, i));
        let DeviceExport {
            counts,
            errors,
            renamed,
            updated,
        } = &mut out;
        let result = match (&d.image, &d.exported, &d.dn) {
            (Some(_), None, _) => {
                errors.push(ExportError {
                    kind: ExportErrorKind::NoWritebackContainer,
                    dn: target_dn.unwrap_or_default(),
                    detail: format!(
                        "the device writeback container {} does not exist",
                        dw.container
                    ),
                });
                continue;
            }
            (Some(img), Some(old), Some(dn)) => {
                let old_owner = owner_of(&mut ad, &domain, &mut owners, old).await;
                let new_owner = owner_of(&mut ad, &domain, &mut owners, img).await;
                devices::update(
                    &mut ad,
                    dn,
                    dw.class,
                    (old, old_owner.as_ref()),
                    (img, new_owner.as_ref()),
                )
                .await
                .map(|(dn, written)| {
                    counts.1 += 1;
                    if !written.is_empty() {
                        updated.push((dn.clone(), written));
                    }
                    Some(dn)
                })
            }
            (None, Some(_), Some(dn)) => match ad.delete(dn).await {
                Ok(()) => {
                    counts.2 += 1;
                    Ok(None)
                }
                Err(f) if f.code == Some(32) => Ok(None),
                Err(f) => Err(f),
            },
            _ => Ok(d.dn.clone()),
        };
        match result {
            Ok(dn) => {
                note_rename(renamed, d.dn.as_deref(), dn.as_deref());
                cs.lock().devices.settle(&id, d.image, dn)
            }
            Err(f) => errors.push(export_error(f, d.dn.clone().or(target_dn))),
        }
    }
    settle(&mut sent, 0, cs, &mut out).await;
    ad.close().await;
    out
}

//! The lab's saver: the world's parts that changed since the last write go to the state
//! folder, every [`SAVE_EVERY`] and once more at shutdown.

use super::state::{StateDir, StateError};
use super::LabError;
use crate::world::World;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// How often the saver looks for changes: a crash loses at most this, plus one write.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// What was last written, part by part.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Saved {
    directory: Option<u64>,
    tenant: Option<u64>,
    engine: Option<u64>,
}

impl Saved {
    /// The world as it is now is what is on disk.
    pub(super) fn now(w: &World) -> Self {
        let g = w.generations();
        Self {
            directory: Some(g.directory),
            tenant: Some(g.tenant),
            engine: Some(g.engine),
        }
    }
}

/// Write the parts that changed since `saved` (all of them when `None`); the snapshots are
/// taken under the world's lock, the files written outside it.
pub(super) async fn save(
    world: &Arc<Mutex<World>>,
    dir: &Arc<StateDir>,
    saved: &mut Saved,
) -> Result<(), LabError> {
    let started = std::time::Instant::now();
    let (gens, directory, tenant, engine) = {
        let w = world.lock().await;
        if w.directory_kind().await.is_some() {
            // A lab on a real DC is not resumed: the DC holds the directory, and the
            // rest would not match it once the DC is left as it was found.
            return Ok(());
        }
        let g = w.generations();
        let changed = |last: Option<u64>, now: u64| last != Some(now);
        (
            g,
            changed(saved.directory, g.directory).then(|| w.directory_snapshot()),
            changed(saved.tenant, g.tenant).then(|| w.tenant_snapshot()),
            changed(saved.engine, g.engine).then(|| (w.engine_snapshot(), w.exchange_hybrid())),
        )
    };
    if directory.is_some() || tenant.is_some() {
        tracing::info!(ms = started.elapsed().as_millis() as u64, "snapshot taken");
    }
    let dir2 = dir.clone();
    let written = tokio::task::spawn_blocking(move || -> Result<(), StateError> {
        if let Some(d) = directory {
            dir2.save_directory(&d)?;
        }
        if let Some(t) = tenant {
            dir2.save_tenant(&t)?;
        }
        if let Some((e, x)) = engine {
            dir2.save_engine(e, x)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| LabError::Setup(format!("the saver stopped: {e}")))?;
    written?;
    saved.directory = Some(gens.directory);
    saved.tenant = Some(gens.tenant);
    saved.engine = Some(gens.engine);
    Ok(())
}

/// Save what changed, every [`SAVE_EVERY`], until `stop`.
pub(super) async fn saver(
    world: Arc<Mutex<World>>,
    dir: Arc<StateDir>,
    saved: Arc<Mutex<Saved>>,
    saves: Arc<std::sync::atomic::AtomicU64>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(SAVE_EVERY) => {}
        }
        match save(&world, &dir, &mut *saved.lock().await).await {
            Ok(()) => {
                saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Err(e) => tracing::error!(error = %e, "the lab's state could not be saved"),
        }
    }
}

//! What a world keeps to start again where it stopped (a lab's state folder), and the
//! numbers a saver compares to know what changed.

use super::World;
use crate::directory::snapshot::DirectorySnapshot;
use crate::engine::EngineSnapshot;
use serde::{Deserialize, Serialize};

/// Everything a world needs to start again where it stopped: what a lab keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorldState {
    pub directory: DirectorySnapshot,
    pub tenant: crate::cloud::tenant::State,
    pub engine: EngineSnapshot,
    /// The organisation runs Exchange hybrid.
    pub exchange_hybrid: bool,
}

/// See [`World::generations`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generations {
    pub directory: u64,
    pub tenant: u64,
    pub engine: u64,
}

impl World {
    /// Everything the world holds, to start again from it ([`WorldOptions::restore`]).
    pub fn snapshot(&self) -> WorldState {
        WorldState {
            directory: self.directory_snapshot(),
            tenant: self.tenant_snapshot(),
            engine: self.engine_snapshot(),
            exchange_hybrid: self.exchange_hybrid,
        }
    }

    /// The directory part of [`World::snapshot`].
    pub fn directory_snapshot(&self) -> DirectorySnapshot {
        self.directory.snapshot()
    }

    /// The tenant part of [`World::snapshot`].
    pub fn tenant_snapshot(&self) -> crate::cloud::tenant::State {
        self.tenant.snapshot()
    }

    /// The engine part of [`World::snapshot`].
    pub fn engine_snapshot(&self) -> EngineSnapshot {
        self.engine_state.snapshot(self.engine_config().setup())
    }

    /// Does the organisation run Exchange hybrid (part of [`World::snapshot`])?
    pub fn exchange_hybrid(&self) -> bool {
        self.exchange_hybrid
    }

    /// Numbers that move when the directory, the tenant or the engine may have changed:
    /// what a saver compares to know what to write.
    pub fn generations(&self) -> Generations {
        Generations {
            directory: self.directory.generation(),
            tenant: self.tenant.generation(),
            engine: self.generation
                + self.engine_state.history.generation()
                + self.engine_state.connector_space.generation(),
        }
    }
}

//! Why a scenario file could not be replayed at all: it cannot be read, it is not a
//! scenario, or its world cannot be set up as written.

use crate::world::WorldError;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}: {message}")]
    Setup { file: String, message: String },
    #[error("{file}: {source}")]
    World { file: String, source: WorldError },
}

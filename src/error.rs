//! The crate-wide error type and the process exit status it maps to.
//!
//! Each stage has its own error enum; they fold into [`Error`], whose
//! [`Error::exit_status`] gives the exit code of SPEC §4.

use crate::catalog::CatalogError;
use crate::config::ConfigError;
use crate::engine::EngineError;
use crate::models::ModelError;
use crate::sink::SinkError;

/// Exit codes of the `shoal` binary (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything that was asked for succeeded.
    Success = 0,
    /// One or more models failed; the others that did not depend on them ran.
    ModelFailed = 1,
    /// Usage or configuration error (bad flags, config, model SQL or DAG).
    Usage = 2,
    /// Input data error: missing partition, schema mismatch, unreadable file.
    Input = 3,
    /// An output could not be committed.
    Output = 4,
}

impl ExitStatus {
    /// The status for a numeric exit code recorded in a run record.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::Usage,
            3 => ExitStatus::Input,
            4 => ExitStatus::Output,
            _ => ExitStatus::ModelFailed,
        }
    }
}

/// Any error shoal reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A model file or the DAG is wrong.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Storage or a source is wrong.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Output could not be written or committed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The engine failed.
    #[error(transparent)]
    Engine(EngineError),
    /// The synthetic data generator failed.
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    /// A command-line value is wrong.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The exit status this error ends the process with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(_) | Error::Model(_) | Error::Usage(_) => ExitStatus::Usage,
            Error::Catalog(CatalogError::BadLocation { .. } | CatalogError::Store { .. }) => {
                ExitStatus::Usage
            }
            Error::Catalog(_) => ExitStatus::Input,
            Error::Generate(crate::generate::GenerateError::InvalidOptions(_)) => ExitStatus::Usage,
            Error::Sink(_) | Error::Generate(_) => ExitStatus::Output,
            Error::Engine(
                EngineError::Plan(_) | EngineError::PlanMany(_) | EngineError::NothingToRetry(_),
            ) => ExitStatus::Usage,
            Error::Engine(EngineError::NoData { .. }) => ExitStatus::Input,
            Error::Engine(EngineError::Locked { .. }) => ExitStatus::Output,
            Error::Engine(_) => ExitStatus::ModelFailed,
        }
    }
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

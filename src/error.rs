//! The crate-wide error type and the process exit status it maps to.
//!
//! Each stage has its own error enum; they fold into [`Error`], whose
//! [`Error::exit_status`] gives the exit code (docs/cli.md#exit-codes).

use crate::catalog::CatalogError;
use crate::config::ConfigError;
use crate::engine::EngineError;
use crate::models::ModelError;
use crate::sink::SinkError;

/// Exit codes of the `shoal` binary (docs/cli.md#exit-codes). Run records
/// store the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
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

impl From<ExitStatus> for u8 {
    fn from(s: ExitStatus) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for ExitStatus {
    type Error = String;

    /// The status of a number in a run record.
    fn try_from(code: u8) -> Result<Self, String> {
        Ok(match code {
            0 => ExitStatus::Success,
            1 => ExitStatus::ModelFailed,
            2 => ExitStatus::Usage,
            3 => ExitStatus::Input,
            4 => ExitStatus::Output,
            n => return Err(format!("{n} is not an exit status of shoal (0-4)")),
        })
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
    /// Writing a command's output to stdout failed.
    #[error("writing output: {0}")]
    Stdout(#[source] std::io::Error),
}

impl Error {
    /// The exit status this error ends the process with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(_) | Error::Model(_) | Error::Usage(_) | Error::Stdout(_) => {
                ExitStatus::Usage
            }
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
            Error::Engine(_) => ExitStatus::ModelFailed,
        }
    }

    /// Whether stdout was closed by its reader (`shoal query … | head`):
    /// not a failure, the process exits 0 (as ripgrep does).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

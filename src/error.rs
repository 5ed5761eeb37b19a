//! The crate-wide error type and the process exit status it maps to.
//!
//! Each stage has its own error enum; they fold into [`Error`], whose
//! [`Error::exit_status`] gives the exit code of SPEC §4.

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

/// Any error shoal reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The synthetic data generator failed.
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
}

impl Error {
    /// The exit status this error ends the process with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Generate(_) => ExitStatus::Output,
        }
    }
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

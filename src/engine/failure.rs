//! Why a model failed, and what the process exits with.
//!
//! Takes a DataFusion or sink error; hands on a [`FailKind`] (model,
//! memory, input, output) and a message that names the file, line and
//! column and says what to do. A run's exit status is the worst kind among
//! its failed models: output (4) over input (3) over model (1).

use datafusion::error::DataFusionError;

use crate::ExitStatus;
use crate::catalog;
use crate::models::Model;
use crate::sink::SinkError;

/// Failure class of a model, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// The model's SQL, data tests or result are wrong (exit 1).
    Model,
    /// The memory pool could not grant an allocation that cannot spill
    /// (exit 1, as a model error; run again alone once, see `run_model`).
    Memory,
    /// An input file or the storage it is read from failed (exit 3).
    Input,
    /// The output could not be written or committed (exit 4).
    Output,
}

/// The exit status of a run whose failed models failed for `kinds`.
pub(crate) fn exit_status(kinds: &[FailKind]) -> ExitStatus {
    if kinds.contains(&FailKind::Output) {
        ExitStatus::Output
    } else if kinds.contains(&FailKind::Input) {
        ExitStatus::Input
    } else if kinds.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::ModelFailed
    }
}

/// Places a DataFusion error in a model file: `file:line:col: message`.
pub fn locate_error(file: &str, err: &DataFusionError) -> String {
    let root = err.find_root();
    let diag = err.diagnostic().or_else(|| root.diagnostic());
    let text = root.strip_backtrace();
    let text = text
        .trim_start_matches("Error during planning: ")
        .to_string();
    match diag.and_then(|d| d.span) {
        Some(span) => format!("{file}:{}:{}: {text}", span.start.line, span.start.column),
        None => format!("{file}: {text}"),
    }
}

/// Whether some DataFusion error in the chain of `err` (its sources,
/// through wrappers) satisfies `pred`.
pub(crate) fn any_in_chain(err: &DataFusionError, pred: impl Fn(&DataFusionError) -> bool) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<DataFusionError>().is_some_and(&pred) {
            return true;
        }
        next = e.source();
    }
    false
}

/// Whether a DataFusion error comes from reading input (exit 3).
pub(crate) fn is_input_error(err: &DataFusionError) -> bool {
    any_in_chain(err, |df| match df {
        DataFusionError::ParquetError(_) | DataFusionError::ObjectStore(_) => true,
        DataFusionError::ArrowError(a, _) => matches!(
            a.as_ref(),
            datafusion::arrow::error::ArrowError::ParquetError(_)
                | datafusion::arrow::error::ArrowError::IoError(..)
        ),
        _ => false,
    })
}

/// The hint of a model that ran out of the memory pool even alone.
const MEMORY_HINT: &str = "\n  (an operator that cannot spill needed more than run.memory_limit allows: raise it with --memory-limit, or keep the larger input of each join off the left, build side)";

/// The failure class and message of an error while planning or executing a
/// model: input errors (exit 3) say whether storage or the file is at fault.
pub(crate) fn classify(file: &str, err: &DataFusionError) -> (FailKind, String) {
    let message = locate_error(file, err);
    if any_in_chain(err, |df| {
        matches!(df, DataFusionError::ResourcesExhausted(_))
    }) {
        return (FailKind::Memory, format!("{message}{MEMORY_HINT}"));
    }
    if !is_input_error(err) {
        return (FailKind::Model, message);
    }
    let hint = if catalog::storage_cause(err).is_some() {
        STORAGE_HINT
    } else {
        " (an input file is unreadable: replace or remove it, then `shoal retry`)"
    };
    (FailKind::Input, format!("{message}{hint}"))
}

/// The hint of an input error caused by storage (not by a file's content).
pub(crate) const STORAGE_HINT: &str = " (reading from storage failed after retries: check the endpoint, credentials and storage.retry, then `shoal retry`)";

/// Why writing a model's result failed: its plan (or input) while
/// executing, the output store, or the result itself.
pub(crate) fn sink_failure(model: &Model, e: SinkError) -> (FailKind, String) {
    match e {
        SinkError::Execute(df) => classify(&model.file, &df),
        e if e.is_storage() => (FailKind::Output, e.to_string()),
        e => (FailKind::Model, format!("{}: {e}", model.file)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_failure_decides_the_exit_status() {
        use FailKind::*;
        assert_eq!(exit_status(&[]), ExitStatus::Success);
        assert_eq!(exit_status(&[Model, Memory]), ExitStatus::ModelFailed);
        assert_eq!(exit_status(&[Model, Input]), ExitStatus::Input);
        assert_eq!(exit_status(&[Input, Output, Model]), ExitStatus::Output);
    }

    #[test]
    fn memory_errors_are_found_through_wrappers_and_say_what_to_do() {
        let inner = DataFusionError::ResourcesExhausted("pool".into());
        let wrapped = DataFusionError::Context("executing".into(), Box::new(inner));
        let (kind, message) = classify("sql/marts/m.sql", &wrapped);
        assert_eq!(kind, FailKind::Memory);
        assert!(message.starts_with("sql/marts/m.sql: "), "{message}");
        assert!(message.contains("--memory-limit"), "{message}");
        let (kind, _) = classify("m.sql", &DataFusionError::Plan("no such column".into()));
        assert_eq!(kind, FailKind::Model);
    }
}

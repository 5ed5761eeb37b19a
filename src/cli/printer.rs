//! Everything shoal prints: results to stdout, summaries and notes to
//! stderr. Writes to stdout go through [`Printer::out`] so a closed pipe
//! (`shoal query … | head`) is an error the process ends quietly on, not a
//! panic.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;

use super::args::QueryFormat;
use crate::runlog::{RunRecord, Status};
use crate::{Error, ExitStatus, Result};

/// Where a command's output goes, and how.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Logs are JSON lines: keep stderr machine-readable (no summaries).
    pub json: bool,
    /// Stderr is a terminal and not quiet: draw a progress bar.
    pub progress: bool,
}

impl Printer {
    /// Writes `text` to stdout, adding a final newline if it has none.
    pub fn out(&self, text: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).map_err(Error::Stdout)?;
        if !text.is_empty() && !text.ends_with('\n') {
            out.write_all(b"\n").map_err(Error::Stdout)?;
        }
        out.flush().map_err(Error::Stdout)
    }

    /// A note for the person at the terminal, on stderr.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// Query results in `format`.
    pub fn batches(&self, batches: &[RecordBatch], format: QueryFormat) -> Result<()> {
        let arrow = |e: datafusion::arrow::error::ArrowError| Error::Usage(e.to_string());
        let mut out = std::io::stdout().lock();
        match format {
            QueryFormat::Table => {
                let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)
                    .map_err(arrow)?;
                writeln!(out, "{table}").map_err(Error::Stdout)?;
            }
            QueryFormat::Csv => {
                let mut w = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for b in batches {
                    w.write(b).map_err(arrow_io)?;
                }
            }
            QueryFormat::Json => {
                let mut w = datafusion::arrow::json::ArrayWriter::new(&mut out);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                w.write_batches(&refs).map_err(arrow_io)?;
                w.finish().map_err(arrow_io)?;
                writeln!(out).map_err(Error::Stdout)?;
            }
        }
        out.flush().map_err(Error::Stdout)
    }

    /// The end-of-run summary on stderr (none with JSON logs: the
    /// run-finished event was logged already); returns the run's exit status.
    pub fn summary(&self, record: &RunRecord) -> ExitStatus {
        let status = record.exit_code.unwrap_or(ExitStatus::ModelFailed);
        if self.json {
            return status;
        }
        let (ok, failed, skipped) = record.counts();
        let secs = record
            .finished_at
            .map(|f| (f - record.started_at).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0);
        eprintln!(
            "run {} for {}: {ok} ok, {failed} failed, {skipped} skipped in {secs:.1}s",
            record.run_id, record.ds
        );
        for m in record.models.iter().filter(|m| m.status == Status::Failed) {
            eprintln!("  failed {}: {}", m.name, m.error.as_deref().unwrap_or(""));
        }
        status
    }

    /// The error a command ended with, on stderr (a JSON log line with
    /// JSON logs); returns the exit status. A closed stdout exits 0.
    pub fn error(&self, e: &Error) -> ExitStatus {
        if e.is_broken_pipe() {
            return ExitStatus::Success;
        }
        let status = e.exit_status();
        if self.json {
            tracing::error!(exit_code = status as u8, "{e}");
        } else {
            eprintln!("error: {e}");
        }
        status
    }
}

/// An Arrow writer error: a closed pipe stays an I/O error.
fn arrow_io(e: datafusion::arrow::error::ArrowError) -> Error {
    match e {
        datafusion::arrow::error::ArrowError::IoError(_, io) => Error::Stdout(io),
        e => Error::Usage(e.to_string()),
    }
}

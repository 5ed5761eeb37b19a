//! Output: write a model's result as staged Parquet, then commit it
//! partition by partition; the output lock and the deletions purge.
//!
//! Takes an executed record-batch stream and the output [`Location`]; hands
//! on [`Staged`] files and committed partitions. The sink writes and
//! commits; it does not know models or SQL: the engine runs a model's data
//! tests ([`crate::quality`]) on the staged files between the two steps.
//!
//! - [`writer`]: Parquet writer settings and the staged, day-split writer
//! - [`warehouse`]: the output location ([`Output`]): where tables, staging and metadata live
//! - [`delta`]: Delta Lake tables: one commit per publish, snapshots, vacuum
//! - [`commit`]: the plain-Parquet commit protocol below, and recovery after a crash
//! - [`lock`]: the output lease that keeps two runs from writing at once
//! - [`purge`]: removing the users of `deletions` from every committed table
//!
//! # Commit protocol (`output.format: parquet`)
//! 1. Files are written under `<output>/_shoal/staging/<run_id>/<model>/`,
//!    never where readers look.
//! 2. The data tests run against the staged files (write–audit–publish).
//! 3. An intent record `<output>/_shoal/commits/<run_id>.<model>.json` lists,
//!    per partition, the files the partition will hold.
//! 4. Staged files are moved into the partition as
//!    `part-<run_id>-<n>.parquet`, then every other file of the partition
//!    is deleted, then the intent is deleted.
//! 5. The next run first finishes any intent left by a crash: when all the
//!    new files are in place it deletes the old ones (roll forward),
//!    otherwise it deletes the new ones (roll back). Staging left behind is
//!    removed.

pub mod commit;
pub mod delta;
pub mod lock;
pub mod purge;
pub mod warehouse;
pub mod writer;

use chrono::NaiveDate;
use object_store::path::Path;

use crate::catalog::Location;

pub use commit::Intent;
pub use delta::{AsOf, Committed, Snapshot};
pub use lock::{Lease, LeaseGuard, Lock};
pub use purge::{is_user_id_column, purge_deleted_users};
pub use warehouse::Output;
pub use writer::{DayRange, Staged, StagedFile, write_staged, writer_properties};

/// What went wrong while writing or committing output.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing, moving or deleting an object failed.
    #[error("{url}: {message}")]
    Storage {
        /// Object URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The result stream failed while it was written.
    #[error("{0}")]
    Execute(#[from] datafusion::error::DataFusionError),
    /// Splitting a batch by day failed.
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The model produced rows for a day outside the days it may write.
    #[error(
        "produced rows for dt={day} but may only write {range}; filter the result on dt or declare rewrites_days"
    )]
    OutOfRange {
        /// The day.
        day: NaiveDate,
        /// The allowed days.
        range: String,
    },
    /// Another run holds the output lock.
    #[error("{url}: {message}")]
    Locked {
        /// The lock object.
        url: String,
        /// Who holds it and what to do.
        message: String,
    },
    /// A column changed type while files written with the old type stay in
    /// the table (a daily model replacing some of its days). The message
    /// names the column, both types, the partitions and what to do.
    #[error("{0}")]
    TypeChange(String),
    /// The model's deadline passed while its result was written; the
    /// writer has stopped and left only files the caller removes.
    #[error("the deadline passed while the result was written")]
    Deadline,
    /// A daily model has no usable `dt` column.
    #[error("a daily model needs a `dt` column of type DATE; found {0}")]
    NoDt(String),
}

impl Output {
    /// Where a model's result is written before its commit, and the stem
    /// of its file names: the table directory itself for Delta (files no
    /// commit names are invisible), a staging directory for plain Parquet.
    pub fn staging(&self, run_id: &str, model: &str) -> (Location, String) {
        if self.is_delta_format() {
            (self.model_dir(model), format!("part-{run_id}"))
        } else {
            (self.staging_dir(run_id, model), "part".to_string())
        }
    }

    /// Publishes what a model wrote: the partitions in `days` (or the
    /// whole table) are replaced, in one Delta commit or by the plain
    /// Parquet commit protocol.
    pub async fn publish(
        &self,
        run_id: &str,
        model: &str,
        staged: &Staged,
        days: Option<DayRange>,
    ) -> Result<Committed, SinkError> {
        if self.is_delta_format() {
            self.commit_delta(run_id, model, staged, days).await
        } else {
            let partitions = self.commit(run_id, model, staged, days).await?;
            let _ = self.remove_prefix(&staged.dir).await;
            Ok(Committed {
                version: None,
                partitions,
            })
        }
    }

    /// Removes what a run wrote for a model and did not publish.
    pub async fn discard(&self, run_id: &str, model: &str) -> Result<(), SinkError> {
        if !self.is_delta_format() {
            return self.remove_prefix(&self.staging_dir(run_id, model)).await;
        }
        let stem = format!("part-{run_id}-");
        self.remove_where(&self.model_dir(model), |name| name.starts_with(&stem))
            .await
    }
}

impl SinkError {
    /// Whether this is a storage failure (exit 4) rather than a model bug.
    pub fn is_storage(&self) -> bool {
        matches!(self, SinkError::Storage { .. })
    }
}

fn storage_err(location: &Location, path: &Path, e: impl std::fmt::Display) -> SinkError {
    SinkError::Storage {
        url: location.object_url(path),
        message: e.to_string(),
    }
}

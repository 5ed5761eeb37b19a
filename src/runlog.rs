//! Run records.
//!
//! Takes the outcome of each model as it finishes; hands on
//! `<output>/_shoal/runs/<run_id>.jsonl` (rewritten after every model, so a
//! run killed by the scheduler still leaves what completed), the final
//! `<output>/_shoal/runs/<run_id>.json` and `<output>/_shoal/latest.json`.
//! The fields are typed (statuses, materialization, exit status as enums);
//! their JSON is documented in docs/outputs.md.

use chrono::{DateTime, NaiveDate, Utc};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::ExitStatus;
use crate::models::Materialization;
use crate::quality::TestOutcome;
use crate::sink::{Output, SinkError};

/// Outcome of one model in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran and committed (or registered, for views).
    Success,
    /// Failed; its downstream models were skipped.
    Failed,
    /// Not run because an upstream model failed.
    Skipped,
}

/// State of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Models are still running (a record read while the run goes on, or
    /// left by a run that was killed).
    Running,
    /// Every model succeeded.
    Success,
    /// At least one model failed or was skipped.
    Failed,
}

/// What one model did (delta-rs style: operations return what they did).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRun {
    /// Model name.
    pub name: String,
    /// How the model's result is kept.
    pub materialized: Materialization,
    /// Outcome.
    pub status: Status,
    /// Rows written (None for views and models that did not run).
    pub rows: Option<u64>,
    /// Bytes written.
    pub bytes: Option<u64>,
    /// Files written.
    pub files: Option<u64>,
    /// Partitions replaced, e.g. `dt=2026-11-21` (empty string for a whole table).
    pub partitions_written: Vec<String>,
    /// The Delta version its commit created (`output.format: delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_version: Option<i64>,
    /// Files scanned by the model's plan, after partition pruning.
    pub files_read: Vec<String>,
    /// `dt` partitions of the events source scanned by the plan.
    pub partitions_read: Vec<String>,
    /// Data test outcomes.
    pub tests: Vec<TestOutcome>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The largest resident set size of the shoal process while the model
    /// ran, in bytes (sampled every 100 ms; models running at the same
    /// time share the figure). None where it cannot be read (not Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// The error, for failed and skipped models.
    pub error: Option<String>,
}

impl ModelRun {
    /// A model that did not run, with a reason.
    pub fn not_run(
        name: &str,
        materialized: Materialization,
        status: Status,
        reason: String,
    ) -> Self {
        Self {
            name: name.to_string(),
            materialized,
            status,
            rows: None,
            bytes: None,
            files: None,
            partitions_written: vec![],
            delta_version: None,
            files_read: vec![],
            partitions_read: vec![],
            tests: vec![],
            started_at: None,
            duration_ms: 0,
            rss_bytes: None,
            error: Some(reason),
        }
    }
}

/// The record of a whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique, sortable id: `YYYYMMDDTHHMMSSZ-<hex>`.
    pub run_id: String,
    /// Project name from config.
    pub project: String,
    /// `run`, `retry` or `backfill`.
    pub command: String,
    /// The run day.
    pub ds: NaiveDate,
    /// Whether this was a full refresh.
    pub full_refresh: bool,
    /// `--select` as given.
    pub select: Vec<String>,
    /// `--exclude` as given.
    pub exclude: Vec<String>,
    /// sha256 of the configuration (before env resolution).
    pub config_fingerprint: String,
    /// shoal version.
    pub shoal_version: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it ended (None while running).
    pub finished_at: Option<DateTime<Utc>>,
    /// Running, success or failed.
    pub status: RunStatus,
    /// Exit status the process ends with (a number in the JSON).
    pub exit_code: Option<ExitStatus>,
    /// Events partitions the run needed.
    pub input_partitions: Vec<String>,
    /// The process's peak resident set size when the run ended, in bytes
    /// (the kernel's high-water mark, VmHWM, since the process started: it
    /// includes a run of the day before made by the same command). None
    /// where it cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Warnings (missing partitions under `missing_partition: warn`, repaired commits).
    pub warnings: Vec<String>,
    /// One entry per model, in completion order.
    pub models: Vec<ModelRun>,
}

impl RunRecord {
    /// The models that did not succeed (failed or skipped), which `shoal
    /// retry` runs again.
    pub fn unfinished_models(&self) -> Vec<String> {
        self.models
            .iter()
            .filter(|m| matches!(m.status, Status::Failed | Status::Skipped))
            .map(|m| m.name.clone())
            .collect()
    }

    /// Counts of (success, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s: Status| self.models.iter().filter(|m| m.status == s).count();
        (c(Status::Success), c(Status::Failed), c(Status::Skipped))
    }
}

/// A new run id: UTC time plus random hex, sortable by start time.
pub fn new_run_id() -> String {
    let now = Utc::now();
    let nanos = now.timestamp_subsec_nanos() as u64;
    let pid = u64::from(std::process::id());
    let mix = (nanos ^ (pid << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{}-{:08x}", now.format("%Y%m%dT%H%M%SZ"), mix >> 32)
}

/// Writes run records into `<output>/_shoal/`.
#[derive(Debug, Clone)]
pub struct RunLog {
    output: Output,
}

impl RunLog {
    /// A log writing under `output`.
    pub fn new(output: Output) -> Self {
        Self { output }
    }

    fn runs_dir(&self) -> Path {
        self.output.meta_dir().join("runs").prefix()
    }

    fn latest_path(&self) -> Path {
        self.output.meta_dir().prefix().join("latest.json")
    }

    /// Rewrites `<run_id>.jsonl`: a header line, then a line per finished model.
    pub async fn checkpoint(&self, record: &RunRecord) -> Result<(), SinkError> {
        let mut head = record.clone();
        head.models.clear();
        let mut text = serde_json::to_string(&head).expect("record serialises");
        text.push('\n');
        for m in &record.models {
            text.push_str(&serde_json::to_string(m).expect("model run serialises"));
            text.push('\n');
        }
        let path = self.runs_dir().join(format!("{}.jsonl", record.run_id));
        self.output.put(&path, text.into_bytes()).await
    }

    /// Writes the final `<run_id>.json` and `latest.json`.
    pub async fn finish(&self, record: &RunRecord) -> Result<(), SinkError> {
        self.checkpoint(record).await?;
        let json = serde_json::to_vec_pretty(record).expect("record serialises");
        let path = self.runs_dir().join(format!("{}.json", record.run_id));
        self.output.put(&path, json.clone()).await?;
        self.output.put(&self.latest_path(), json).await
    }

    /// Reads `latest.json`, if there is one.
    pub async fn latest(&self) -> Result<Option<RunRecord>, SinkError> {
        let path = self.latest_path();
        match self.output.store.get(&path).await {
            Ok(r) => {
                let bytes = r.bytes().await.map_err(|e| SinkError::Storage {
                    url: self.output.root.object_url(&path),
                    message: e.to_string(),
                })?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| SinkError::Storage {
                        url: self.output.root.object_url(&path),
                        message: format!("not a run record: {e}"),
                    })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(SinkError::Storage {
                url: self.output.root.object_url(&path),
                message: e.to_string(),
            }),
        }
    }

    /// Marks day `ds` as fully committed for `models` (used by backfill to resume).
    pub async fn mark_day(
        &self,
        ds: NaiveDate,
        models: &[String],
        run_id: &str,
    ) -> Result<(), SinkError> {
        let path = self
            .output
            .meta_dir()
            .join("days")
            .prefix()
            .join(format!("{ds}.json"));
        let body = serde_json::json!({ "ds": ds, "models": models, "run_id": run_id });
        self.output.put(&path, body.to_string().into_bytes()).await
    }

    /// The models committed for day `ds` by an earlier complete run, if any.
    pub async fn day_mark(&self, ds: NaiveDate) -> Option<Vec<String>> {
        let path = self
            .output
            .meta_dir()
            .join("days")
            .prefix()
            .join(format!("{ds}.json"));
        let bytes = self
            .output
            .store
            .get(&path)
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        serde_json::from_value(v.get("models")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let a = new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20261122T172539Z-0123abcd".len());
        assert!(a[..16] <= b[..16]);
    }
}

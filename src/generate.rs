//! Synthetic event sets in the events schema of SPEC §1 (`shoal generate`).

use std::sync::Arc;

use chrono::NaiveDate;

/// What went wrong while generating data.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing to the object store failed.
    #[error("cannot write {url}: {source}")]
    Write {
        /// The object URL.
        url: String,
        /// The underlying error.
        source: object_store::Error,
    },
}

/// Generator settings.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Users.
    pub users: u64,
    /// Days.
    pub days: u32,
    /// First day.
    pub start: NaiveDate,
    /// Seed.
    pub seed: u64,
    /// Communities.
    pub communities: u32,
    /// Share of late events.
    pub late_share: f64,
    /// Share of duplicates.
    pub duplicate_share: f64,
    /// Share of unknown types.
    pub unknown_type_share: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            users: 5_000,
            days: 60,
            start: NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid"),
            seed: 42,
            communities: 12,
            late_share: 0.01,
            duplicate_share: 0.005,
            unknown_type_share: 0.001,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    /// Events.
    pub events: u64,
    /// Users.
    pub users: u64,
    /// Days.
    pub days: u32,
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
    /// First day.
    pub first_day: NaiveDate,
    /// Last day.
    pub last_day: NaiveDate,
}

/// Writes the event set (being built on the `generate` branch).
pub async fn generate(
    _store: Arc<dyn object_store::ObjectStore>,
    _root: &object_store::path::Path,
    _opts: &GenerateOptions,
) -> Result<GenerateReport, GenerateError> {
    Err(GenerateError::Write {
        url: String::new(),
        source: object_store::Error::NotImplemented {
            operation: "generate".into(),
            implementer: "shoal".into(),
        },
    })
}

//! The typed sections of `config/shoal.yaml` and their defaults; unknown
//! keys are rejected (`deny_unknown_fields`). docs/configuration.md is the
//! reference of every key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::values::parse_duration_secs;

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Project name, recorded in run records.
    pub project: String,
    /// Input sources.
    pub sources: Sources,
    /// Where outputs are written.
    #[serde(default)]
    pub output: OutputConfig,
    /// Object store settings, passed to the object_store builders.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Run settings.
    #[serde(default)]
    pub run: RunConfig,
    /// Execution engine: `local` (default) or `ballista://HOST:PORT`.
    #[serde(default = "default_engine")]
    pub engine: String,
    /// Folder of SQL models, relative to the project directory (default `sql`).
    #[serde(default = "default_models_dir")]
    pub models_dir: String,
    /// Values visible to SQL models as `{{ var.NAME }}`.
    #[serde(default)]
    pub vars: serde_yaml::Mapping,
    /// Funnels computed by the funnel models (docs/metrics.md#funnel_users).
    #[serde(default)]
    pub funnels: Vec<FunnelConfig>,
    /// Segment rules (docs/metrics.md#user_segments); interpreted by the segment models.
    #[serde(default)]
    pub segments: serde_yaml::Mapping,
    /// Lineage outputs besides `_shoal/lineage.json`.
    #[serde(default)]
    pub lineage: LineageConfig,
    /// Pseudonymisation of user ids.
    #[serde(default)]
    pub privacy: PrivacyConfig,
}

/// `lineage:` — where run events go.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageConfig {
    /// OpenLineage run events per model (off when absent).
    #[serde(default)]
    pub openlineage: Option<OpenLineageConfig>,
}

/// `lineage.openlineage:` — exactly one of `file` and `url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenLineageConfig {
    /// A JSON-lines file events are appended to (relative to the project directory).
    #[serde(default)]
    pub file: Option<String>,
    /// An HTTP endpoint each event is POSTed to, e.g. Marquez's
    /// `http://marquez:5000/api/v1/lineage`.
    #[serde(default)]
    pub url: Option<String>,
    /// The job namespace (default: `project`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The events' `producer` URI (default: shoal's crate page with its version).
    #[serde(default = "default_producer")]
    pub producer: String,
}

fn default_producer() -> String {
    concat!("https://crates.io/crates/shoal/", env!("CARGO_PKG_VERSION")).to_string()
}

/// `privacy:` — pseudonymisation of user ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Replace every user id read from the sources (`events.user_id`,
    /// `events.referrer_id`, `users.user_id`, `deletions.user_id`) by a keyed
    /// hash (BLAKE3 keyed mode, 32 hex digits) before any model reads it, so
    /// no output holds a raw user id (default `false`). Turning it on for a
    /// warehouse that has outputs needs a `--full-refresh`.
    #[serde(default)]
    pub hash_user_ids: bool,
    /// Name of the environment variable holding the hash key (at least 16
    /// bytes; default `SHOAL_HASH_KEY`). The key is never in the config.
    #[serde(default = "default_hash_key_env")]
    pub hash_key_env: String,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            hash_user_ids: false,
            hash_key_env: default_hash_key_env(),
        }
    }
}

fn default_hash_key_env() -> String {
    "SHOAL_HASH_KEY".into()
}

/// The shortest hash key accepted, in bytes.
pub const MIN_HASH_KEY_BYTES: usize = 16;

impl PrivacyConfig {
    /// The hash key from the environment when `hash_user_ids` is on; an
    /// error message (naming the variable, never a value) when it is unset or short.
    pub fn hash_key(&self) -> Result<Option<String>, String> {
        if !self.hash_user_ids {
            return Ok(None);
        }
        match std::env::var(&self.hash_key_env) {
            Ok(k) if k.len() >= MIN_HASH_KEY_BYTES => Ok(Some(k)),
            Ok(_) => Err(format!(
                "environment variable {} holds a key shorter than {MIN_HASH_KEY_BYTES} bytes; use a long random key (e.g. `openssl rand -hex 32`)",
                self.hash_key_env
            )),
            Err(_) => Err(format!(
                "privacy.hash_user_ids is on but environment variable {} is not set; export the hash key (e.g. `openssl rand -hex 32`, kept like a password) or turn hashing off",
                self.hash_key_env
            )),
        }
    }
}

fn default_engine() -> String {
    "local".into()
}

fn default_models_dir() -> String {
    "sql".into()
}

/// The three sources (docs/events.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// Raw events, hive-partitioned by `dt`.
    pub events: SourceConfig,
    /// Optional user attributes.
    #[serde(default)]
    pub users: Option<SourceConfig>,
    /// Optional privacy deletion requests.
    #[serde(default)]
    pub deletions: Option<SourceConfig>,
}

/// One source location.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A path relative to the project directory, or a URL
    /// (`s3://bucket/prefix`, `gs://…`, `az://…`, `file:///abs`, `memory://…`).
    pub location: String,
    /// How files are partitioned: `none` (default) or `hive_dt` (`dt=YYYY-MM-DD/`).
    #[serde(default)]
    pub partitioning: Partitioning,
    /// When true, a missing location is not an error: the source is empty.
    #[serde(default)]
    pub optional: bool,
    /// File format: `parquet` (default) or `csv` (with a header row).
    #[serde(default)]
    pub format: SourceFormat,
}

/// Partitioning of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// Plain files.
    #[default]
    None,
    /// `dt=YYYY-MM-DD/` directories.
    HiveDt,
}

/// File format of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Apache Parquet.
    #[default]
    Parquet,
    /// CSV with a header row.
    Csv,
}

/// Output settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Where tables are written (default `warehouse`).
    #[serde(default = "default_output_location")]
    pub location: String,
    /// `delta` (default): each model a Delta Lake table, published in one
    /// commit; `parquet`: plain `dt=` folders of Parquet files.
    #[serde(default)]
    pub format: OutputFormat,
    /// Parquet compression (default `zstd(3)`).
    #[serde(default = "default_compression")]
    pub compression: String,
    /// How long files a newer Delta version replaced are kept for time
    /// travel before the end of a run removes them (default `7d`).
    #[serde(default = "default_keep_versions", deserialize_with = "duration_text")]
    pub keep_versions: String,
    /// How long the output lease lasts unless its run renews it (default
    /// `1m`): a run that died is taken over after this.
    #[serde(default = "default_lease", deserialize_with = "duration_text")]
    pub lease: String,
}

/// A duration written as text (`7d`) or as a bare number of seconds (`0`,
/// which YAML reads as an integer).
fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(u64),
    }
    Ok(match Text::deserialize(d)? {
        Text::Text(s) => s,
        Text::Number(n) => n.to_string(),
    })
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            location: default_output_location(),
            format: OutputFormat::default(),
            compression: default_compression(),
            keep_versions: default_keep_versions(),
            lease: default_lease(),
        }
    }
}

fn default_output_location() -> String {
    "warehouse".into()
}

fn default_compression() -> String {
    "zstd(3)".into()
}

fn default_keep_versions() -> String {
    "7d".into()
}

fn default_run_timeout() -> String {
    "12h".into()
}

fn default_model_timeout() -> String {
    "4h".into()
}

fn default_lease() -> String {
    "1m".into()
}

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Delta Lake tables: atomic publishes, time travel.
    #[default]
    Delta,
    /// Plain Apache Parquet files in `dt=` folders.
    Parquet,
}

/// Object-store settings, per scheme.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Options for `s3://` (object_store `AmazonS3ConfigKey` names, e.g.
    /// `region`, `endpoint`, `allow_http`, `access_key_id`, `secret_access_key`).
    #[serde(default)]
    pub s3: StorageOptions,
    /// Options for `gs://` (object_store `GoogleConfigKey` names).
    #[serde(default)]
    pub gcs: StorageOptions,
    /// Options for `az://` (object_store `AzureConfigKey` names).
    #[serde(default)]
    pub azure: StorageOptions,
    /// Retries of transient storage errors.
    #[serde(default)]
    pub retry: RetrySettings,
}

/// Retry policy for object-store requests (object_store's `RetryConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Retries of one request (default 10).
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
    /// First backoff in milliseconds (default 100).
    #[serde(default = "default_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Largest backoff in milliseconds (default 15000).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Give up retrying after this many seconds (default 180).
    #[serde(default = "default_retry_timeout")]
    pub timeout_secs: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: default_max_retries(),
            initial_backoff_ms: default_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            timeout_secs: default_retry_timeout(),
        }
    }
}

fn default_max_retries() -> usize {
    10
}
fn default_backoff_ms() -> u64 {
    100
}
fn default_max_backoff_ms() -> u64 {
    15_000
}
fn default_retry_timeout() -> u64 {
    180
}

/// String options for an object-store builder. `Debug` never shows values.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StorageOptions(pub BTreeMap<String, String>);

impl fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// Run settings (`run:`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run day: `YYYY-MM-DD`, `yesterday` (UTC) or `latest` (newest `dt` present).
    #[serde(default = "default_ds")]
    pub ds: String,
    /// Days of history the scored population and cohorts cover (default 90).
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// How many days late an event may arrive and still count (default 3).
    #[serde(default = "default_late_days")]
    pub late_days: u32,
    /// Memory pool size, e.g. `4GiB`, `512MiB` (default 4GiB); beyond it operators spill.
    #[serde(default = "default_memory_limit")]
    pub memory_limit: String,
    /// DataFusion target partitions; 0 = number of cores (default 0).
    #[serde(default)]
    pub target_partitions: usize,
    /// Worker threads; 0 = number of cores (default 0).
    #[serde(default)]
    pub threads: usize,
    /// Models run at once when independent (default 2).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// What to do when the run day's events partition is missing: `fail` (exit 3, default) or `warn`.
    #[serde(default)]
    pub missing_partition: MissingPartition,
    /// Longest a whole run may take, e.g. `12h`; `0` = no limit (default 12h).
    #[serde(default = "default_run_timeout", deserialize_with = "duration_text")]
    pub timeout: String,
    /// Longest one model may execute and audit, e.g. `2h`; `0` = no limit (default 4h).
    #[serde(default = "default_model_timeout", deserialize_with = "duration_text")]
    pub model_timeout: String,
}

impl RunConfig {
    /// `run.timeout`; `None` when `0` (no limit). Validation has checked
    /// it is a duration.
    pub fn run_limit(&self) -> Option<std::time::Duration> {
        positive_duration(&self.timeout)
    }

    /// `run.model_timeout`; `None` when `0` (no limit).
    pub fn model_limit(&self) -> Option<std::time::Duration> {
        positive_duration(&self.model_timeout)
    }
}

fn positive_duration(text: &str) -> Option<std::time::Duration> {
    super::parse_duration_secs(text)
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            ds: default_ds(),
            lookback_days: default_lookback(),
            late_days: default_late_days(),
            memory_limit: default_memory_limit(),
            target_partitions: 0,
            threads: 0,
            concurrency: default_concurrency(),
            missing_partition: MissingPartition::Fail,
            timeout: default_run_timeout(),
            model_timeout: default_model_timeout(),
        }
    }
}

fn default_ds() -> String {
    "yesterday".into()
}
fn default_lookback() -> u32 {
    90
}
fn default_late_days() -> u32 {
    3
}
fn default_memory_limit() -> String {
    "4GiB".into()
}
fn default_concurrency() -> usize {
    2
}

/// Policy for a missing run-day partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPartition {
    /// Exit 3.
    #[default]
    Fail,
    /// Log a warning, record it, run with what exists.
    Warn,
}

/// A funnel declared in config (docs/metrics.md#funnel_users).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    /// Funnel name, the `funnel` column.
    pub name: String,
    /// Step event types, in order (2 to 32).
    pub steps: Vec<String>,
    /// Window from the first step, e.g. `7d`, `24h`, `3600s`.
    pub window: String,
    /// Any of `strict_order`, `strict_deduplication`, `strict_increase`,
    /// `strict_once`, `allow_reentry` (with `strict_order`).
    #[serde(default)]
    pub mode: Vec<FunnelMode>,
    /// How later steps are matched: `same_user` (default) or `invitee`
    /// (step 2 onwards are events of users whose `referrer_id` is the step-1 user).
    #[serde(default)]
    pub match_by: FunnelMatch,
}

/// windowFunnel modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelMode {
    /// A step out of order ends the chain.
    StrictOrder,
    /// A repeated step ends the chain.
    StrictDeduplication,
    /// Steps need strictly increasing timestamps.
    StrictIncrease,
    /// A row (one event) counts for at most one step.
    StrictOnce,
    /// With `strict_order`: a step that comes too early is passed over.
    AllowReentry,
}

/// How funnel steps after the first are attributed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelMatch {
    /// All steps are the same user's events.
    #[default]
    SameUser,
    /// Later steps are events of users invited by the step-1 user.
    Invitee,
}

impl FunnelConfig {
    /// The window in seconds.
    pub fn window_seconds(&self) -> Option<u64> {
        parse_duration_secs(&self.window)
    }
}

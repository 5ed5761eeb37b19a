//! Configuration: `config/shoal.yaml` into typed structs.
//!
//! Takes the YAML text, command-line `--set key.path=value` overrides and
//! `SHOAL__SECTION__KEY` environment overrides; hands on a [`Config`] whose
//! `${env:NAME}` references are resolved. Unknown keys and wrong types are
//! rejected with the key path and the line. Secrets are only ever referenced
//! from the environment and never printed: [`StorageOptions`] redacts its
//! values in `Debug`, and the fingerprint is taken before env resolution.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "{path}: cannot read the configuration: {source} (pass --config PATH or run from the project directory)"
    )]
    Read {
        /// The config file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed, a key is unknown or a value has the wrong type.
    #[error("{path}:{line}:{column}: {key}: {message}")]
    Parse {
        /// The config file.
        path: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// Dotted key path, e.g. `run.lookback_days`.
        key: String,
        /// What serde said.
        message: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        /// The config file.
        path: String,
        /// 1-based line of the key (0 when unknown).
        line: usize,
        /// Dotted key path.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// `${env:NAME}` names an environment variable that is not set.
    #[error(
        "{path}:{line}: {key}: environment variable {name} is not set (referenced as ${{env:{name}}}); export it or give a default with ${{env:{name}:-value}}"
    )]
    UnsetEnv {
        /// The config file.
        path: String,
        /// 1-based line of the key (0 when unknown).
        line: usize,
        /// Dotted key path.
        key: String,
        /// The variable name.
        name: String,
    },
    /// A `--set` or `SHOAL__…` override is malformed.
    #[error("override {spec:?}: {message}")]
    Override {
        /// The override as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
}

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
    /// Funnels computed by the funnel models (SPEC §5.5).
    #[serde(default)]
    pub funnels: Vec<FunnelConfig>,
    /// Segment rules (SPEC §5.7); interpreted by the segment models.
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

/// The three sources of SPEC §1.
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
    /// Only `parquet` is supported.
    #[serde(default)]
    pub format: OutputFormat,
    /// Parquet compression (default `zstd(3)`).
    #[serde(default = "default_compression")]
    pub compression: String,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            location: default_output_location(),
            format: OutputFormat::Parquet,
            compression: default_compression(),
        }
    }
}

fn default_output_location() -> String {
    "warehouse".into()
}

fn default_compression() -> String {
    "zstd(3)".into()
}

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Apache Parquet.
    #[default]
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

/// A funnel declared in config (SPEC §5.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    /// Funnel name, the `funnel` column.
    pub name: String,
    /// Step event types, in order (2 to 32).
    pub steps: Vec<String>,
    /// Window from the first step, e.g. `7d`, `24h`, `3600s`.
    pub window: String,
    /// Any of `strict_order`, `strict_deduplication`, `strict_increase`.
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

/// Parses `7d`, `24h`, `90m`, `3600s` or a bare number of seconds.
pub fn parse_duration_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parses a memory size such as `4GiB`, `512MiB`, `2G`, `1000000`.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 1.0).then_some(v as usize)
}

/// A loaded configuration with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The typed, env-resolved configuration.
    pub config: Config,
    /// The file it was read from.
    pub path: PathBuf,
    /// The project directory: relative locations and `sql/` are resolved against it.
    pub project_dir: PathBuf,
    /// sha256 of the configuration before env resolution (no secrets in it).
    pub fingerprint: String,
    text: String,
}

impl LoadedConfig {
    /// 1-based line of a dotted key path in the config text, 0 if not found.
    pub fn line_of(&self, key: &str) -> usize {
        line_of_key(&self.text, key)
    }

    /// An [`ConfigError::Invalid`] for `key`, located in the file.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.display().to_string(),
            line: self.line_of(key),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads, overrides, types, resolves and validates the config file.
///
/// `overrides` are `key.path=value` strings (value parsed as YAML); env
/// variables `SHOAL__A__B=value` are added as `a.b=value` before them.
pub fn load_config(
    path: &Path,
    project_dir: &Path,
    overrides: &[String],
) -> Result<LoadedConfig, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    let mut all_overrides: Vec<String> = std::env::vars()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("SHOAL__")?;
            let key = rest
                .split("__")
                .map(|s| s.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(".");
            Some(format!("{key}={v}"))
        })
        .collect();
    all_overrides.sort();
    all_overrides.extend(overrides.iter().cloned());
    let config = parse_config(&text, &display, &all_overrides)?;
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&config).unwrap_or_default());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut loaded = LoadedConfig {
        config,
        path: path.to_path_buf(),
        project_dir: project_dir.to_path_buf(),
        fingerprint,
        text,
    };
    resolve_env_refs(&mut loaded)?;
    validate(&loaded)?;
    Ok(loaded)
}

/// Parses config text with overrides into the typed struct.
pub fn parse_config(text: &str, path: &str, overrides: &[String]) -> Result<Config, ConfigError> {
    if overrides.is_empty() {
        let de = serde_yaml::Deserializer::from_str(text);
        return serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            ConfigError::Parse {
                path: path.to_string(),
                line,
                column,
                key,
                message: strip_location(&inner.to_string()),
            }
        });
    }
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ConfigError::Parse {
            path: path.to_string(),
            line,
            column,
            key: ".".into(),
            message: strip_location(&e.to_string()),
        }
    })?;
    for spec in overrides {
        apply_override(&mut value, spec)?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Parse {
            path: path.to_string(),
            line: line_of_key(text, &key),
            column: 0,
            key,
            message: format!(
                "{} (after overrides)",
                strip_location(&e.into_inner().to_string())
            ),
        }
    })
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Applies one `a.b.c=value` override to a YAML tree.
fn apply_override(root: &mut serde_yaml::Value, spec: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::Override {
        spec: spec.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected KEY.PATH=VALUE"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad("empty key segment"));
    }
    let value: serde_yaml::Value =
        serde_yaml::from_str(raw).unwrap_or_else(|_| serde_yaml::Value::String(raw.to_string()));
    let mut node = root;
    for seg in key.split('.') {
        if !node.is_mapping() {
            *node = serde_yaml::Value::Mapping(Default::default());
        }
        let map = node.as_mapping_mut().expect("just made a mapping");
        node = map
            .entry(serde_yaml::Value::String(seg.to_string()))
            .or_insert(serde_yaml::Value::Null);
    }
    *node = value;
    Ok(())
}

/// 1-based line where a dotted key path (`sources.events.location`) appears, 0 if not found.
pub fn line_of_key(text: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut found = 0usize;
    for seg in key.split('.').filter(|s| !s.starts_with('[')) {
        let seg = seg.split('[').next().unwrap_or(seg);
        let pat = format!("{seg}:");
        let hit = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let l = l.split('#').next().unwrap_or("");
            l.match_indices(&pat).any(|(i, _)| {
                i == 0
                    || !l.as_bytes()[i - 1].is_ascii_alphanumeric() && l.as_bytes()[i - 1] != b'_'
            })
        });
        match hit {
            Some((i, _)) => {
                found = i + 1;
                from = i;
            }
            None => return found,
        }
    }
    found
}

/// Replaces `${env:NAME}` and `${env:NAME:-default}` in `s`.
pub fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated ${env:".to_string())?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(v), _) => out.push_str(&v),
            (Err(_), Some(d)) => out.push_str(d),
            (Err(_), None) => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_env_refs(loaded: &mut LoadedConfig) -> Result<(), ConfigError> {
    let path = loaded.path.display().to_string();
    let text = loaded.text.clone();
    let resolve = |key: &str, value: &mut String| -> Result<(), ConfigError> {
        *value = expand_env(value).map_err(|name| ConfigError::UnsetEnv {
            path: path.clone(),
            line: line_of_key(&text, key),
            key: key.to_string(),
            name,
        })?;
        Ok(())
    };
    let c = &mut loaded.config;
    resolve("sources.events.location", &mut c.sources.events.location)?;
    if let Some(s) = c.sources.users.as_mut() {
        resolve("sources.users.location", &mut s.location)?;
    }
    if let Some(s) = c.sources.deletions.as_mut() {
        resolve("sources.deletions.location", &mut s.location)?;
    }
    resolve("output.location", &mut c.output.location)?;
    resolve("engine", &mut c.engine)?;
    for (scheme, opts) in [
        ("s3", &mut c.storage.s3),
        ("gcs", &mut c.storage.gcs),
        ("azure", &mut c.storage.azure),
    ] {
        for (k, v) in opts.0.iter_mut() {
            resolve(&format!("storage.{scheme}.{k}"), v)?;
        }
    }
    Ok(())
}

fn validate(loaded: &LoadedConfig) -> Result<(), ConfigError> {
    let c = &loaded.config;
    let mut locations = vec![
        (
            "sources.events.location",
            c.sources.events.location.as_str(),
        ),
        ("output.location", c.output.location.as_str()),
    ];
    if let Some(s) = &c.sources.users {
        locations.push(("sources.users.location", s.location.as_str()));
    }
    if let Some(s) = &c.sources.deletions {
        locations.push(("sources.deletions.location", s.location.as_str()));
    }
    for (key, loc) in locations {
        check_location(loc).map_err(|m| loaded.invalid(key, m))?;
    }
    if let Some(ol) = &c.lineage.openlineage {
        match (&ol.file, &ol.url) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(loaded.invalid(
                    "lineage.openlineage",
                    "set exactly one of `file: events.jsonl` and `url: http://host/api/v1/lineage`",
                ));
            }
            (None, Some(u)) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                return Err(loaded.invalid(
                    "lineage.openlineage.url",
                    format!("{u:?}: expected an http:// or https:// URL"),
                ));
            }
            _ => {}
        }
    }
    if c.sources.events.partitioning != Partitioning::HiveDt {
        return Err(loaded.invalid(
            "sources.events.partitioning",
            "the events source must be `partitioning: hive_dt` (dt=YYYY-MM-DD/ directories)",
        ));
    }
    if parse_size(&c.run.memory_limit).is_none() {
        return Err(loaded.invalid(
            "run.memory_limit",
            format!(
                "{:?} is not a size; write e.g. 4GiB, 512MiB or 2000000000",
                c.run.memory_limit
            ),
        ));
    }
    crate::models::DsSpec::parse(&c.run.ds).map_err(|m| loaded.invalid("run.ds", m))?;
    c.privacy
        .hash_key()
        .map_err(|m| loaded.invalid("privacy.hash_key_env", m))?;
    if c.privacy.hash_user_ids && c.engine != "local" {
        return Err(loaded.invalid(
            "privacy.hash_user_ids",
            "pseudonymisation runs on the local engine only for now (the hash key does not travel to Ballista executors); use --engine local",
        ));
    }
    if c.engine != "local" && !c.engine.starts_with("ballista://") {
        return Err(loaded.invalid(
            "engine",
            format!("{:?}: expected `local` or `ballista://HOST:PORT`", c.engine),
        ));
    }
    for (i, f) in c.funnels.iter().enumerate() {
        let key = format!("funnels.[{i}]");
        if !(2..=32).contains(&f.steps.len()) {
            return Err(loaded.invalid(&key, format!("funnel {:?} needs 2 to 32 steps", f.name)));
        }
        if f.window_seconds().is_none() {
            return Err(loaded.invalid(
                &key,
                format!(
                    "funnel {:?}: window {:?} is not a duration like 7d, 24h, 3600s",
                    f.name, f.window
                ),
            ));
        }
        if !f
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            return Err(loaded.invalid(
                &key,
                format!("funnel name {:?}: use letters, digits and _", f.name),
            ));
        }
    }
    Ok(())
}

/// Checks that a location is a relative path or a URL with a supported scheme.
pub fn check_location(loc: &str) -> Result<(), String> {
    if loc.trim().is_empty() {
        return Err("empty location".into());
    }
    if let Some((scheme, rest)) = loc.split_once("://") {
        let ok = matches!(
            scheme,
            "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "file" | "memory"
        );
        if !ok {
            return Err(format!(
                "{loc:?}: unsupported scheme {scheme:?}; use s3://, gs://, az://, file:// or memory://"
            ));
        }
        if scheme != "file" && rest.split('/').next().unwrap_or("").is_empty() {
            return Err(format!(
                "{loc:?}: expected a URL like {scheme}://bucket/prefix"
            ));
        }
        url::Url::parse(loc).map_err(|e| format!("{loc:?}: not a valid URL: {e}"))?;
        return Ok(());
    }
    let schemes = ["s3", "s3a", "gs", "az", "abfs", "abfss", "file", "memory"];
    if let Some(s) = schemes.iter().find(|s| {
        loc.strip_prefix(**s).is_some_and(|rest| {
            rest.starts_with("//") || rest.starts_with(":/") || rest.starts_with(':')
        })
    }) {
        return Err(format!("{loc:?}: expected a URL like {s}://bucket/prefix"));
    }
    if loc.contains(':') && !loc.starts_with('/') && !loc.starts_with('.') {
        return Err(format!(
            "{loc:?}: expected a path or a URL like s3://bucket/prefix"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "project: p\nsources:\n  events: { location: data/events, partitioning: hive_dt }\n";

    #[test]
    fn parses_minimal_config_with_defaults() {
        let c = parse_config(MINIMAL, "c.yaml", &[]).unwrap();
        assert_eq!(c.run.late_days, 3);
        assert_eq!(c.run.lookback_days, 90);
        assert_eq!(c.output.location, "warehouse");
        assert_eq!(c.engine, "local");
    }

    #[test]
    fn unknown_key_names_path_and_line() {
        let text = format!("{MINIMAL}run:\n  lookback_dayz: 3\n");
        let err = parse_config(&text, "c.yaml", &[]).unwrap_err().to_string();
        assert!(err.starts_with("c.yaml:5:"), "{err}");
        assert!(err.contains("run"), "{err}");
        assert!(err.contains("lookback_dayz"), "{err}");
    }

    #[test]
    fn wrong_type_names_path() {
        let text = format!("{MINIMAL}run:\n  late_days: three\n");
        let err = parse_config(&text, "c.yaml", &[]).unwrap_err().to_string();
        assert!(err.contains("run.late_days"), "{err}");
        assert!(err.contains(":5:"), "{err}");
    }

    #[test]
    fn overrides_apply_and_type_check() {
        let c = parse_config(MINIMAL, "c.yaml", &["run.late_days=5".into()]).unwrap();
        assert_eq!(c.run.late_days, 5);
        let err = parse_config(MINIMAL, "c.yaml", &["run.late_days=x".into()]).unwrap_err();
        assert!(err.to_string().contains("run.late_days"), "{err}");
        assert!(parse_config(MINIMAL, "c.yaml", &["nokey".into()]).is_err());
    }

    #[test]
    fn env_refs_expand_with_defaults() {
        // SAFETY of the test: a name no other test uses.
        assert_eq!(
            expand_env("a${env:SHOAL_TEST_SURELY_UNSET:-b}c").unwrap(),
            "abc"
        );
        assert_eq!(
            expand_env("${env:SHOAL_TEST_SURELY_UNSET}").unwrap_err(),
            "SHOAL_TEST_SURELY_UNSET"
        );
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("${env:PATH}").unwrap(), path);
    }

    #[test]
    fn storage_options_are_redacted_in_debug() {
        let mut o = StorageOptions::default();
        o.0.insert("secret_access_key".into(), "hunter2".into());
        assert!(!format!("{o:?}").contains("hunter2"));
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4GiB"), Some(4 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("2G"), Some(2_000_000_000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_duration_secs("7d"), Some(604_800));
        assert_eq!(parse_duration_secs("3600"), Some(3600));
        assert_eq!(parse_duration_secs("2x"), None);
    }

    #[test]
    fn locations_are_checked() {
        assert!(check_location("data/events").is_ok());
        assert!(check_location("s3://bucket/prefix").is_ok());
        assert!(check_location("s3//bucket").is_err());
        assert!(check_location("s3:///prefix").is_err());
        assert!(check_location("ftp://x/y").is_err());
    }

    #[test]
    fn line_of_key_finds_nested_keys() {
        let text = "project: p\nsources:\n  events:\n    location: x\n";
        assert_eq!(line_of_key(text, "sources.events.location"), 4);
        assert_eq!(line_of_key(text, "project"), 1);
    }
}

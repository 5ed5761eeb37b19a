//! Delta Lake outputs (`output.format: delta`, the default): each model is a
//! Delta table at `<output>/<model>/`, and each publish is one commit of its
//! transaction log.
//!
//! - The model's files are written into the table directory under names no
//!   other run uses (`dt=<day>/part-<run_id>-<n>.parquet`). Until the commit
//!   names them no Delta reader sees them.
//! - The data tests read exactly those files ([`crate::catalog::FileListTable`]).
//! - The commit is one log entry, `_delta_log/<version>.json`, written with
//!   put-if-absent (an atomic create on local disk, `If-None-Match: *` on
//!   S3): `remove` actions for the files of the partitions the model
//!   replaces (a `daily` model's days, all of a `table` model) and `add`
//!   actions for the new files. Readers see the old version or the new one.
//! - Two writers that race for one version: one wins the put, the other
//!   re-reads the log and checks its commit against what won (Delta's
//!   optimistic concurrency); a conflict fails the model, it never
//!   overwrites the other commit.
//! - Replaced files stay for time travel until [`Output::vacuum`] removes
//!   them (`output.keep_versions`); a killed run's uncommitted files are
//!   removed the same way.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::statistics::Statistics as PqStats;
use deltalake_core::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake_core::kernel::{Action, Add, MetadataExt, StructType};
use deltalake_core::logstore::{LogStoreRef, StorageConfig, default_logstore};
use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::prefix::PrefixStore;
use serde_json::{Map, Value, json};

use super::{DayRange, Output, SinkError, Staged};
use crate::catalog::{DT, FileListTable, TableFile};

/// Which version of a table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The newest.
    Latest,
    /// A version number.
    Version(i64),
    /// The newest version committed at or before this instant.
    Timestamp(chrono::DateTime<Utc>),
}

impl std::str::FromStr for AsOf {
    type Err = String;

    /// `12` (a version) or an RFC 3339 timestamp / a date (`2026-12-01`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(v) = s.parse::<i64>() {
            return Ok(AsOf::Version(v));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(AsOf::Timestamp(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let end = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
            return Ok(AsOf::Timestamp(end));
        }
        Err(format!(
            "{s:?} is neither a version number (e.g. 12) nor a time (e.g. 2026-12-01T06:00:00Z or 2026-12-01)"
        ))
    }
}

/// A committed Delta version: what readers and the run record need.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The version.
    pub version: i64,
    /// The table schema, without `dt`.
    pub file_schema: SchemaRef,
    /// Whether the table is partitioned by `dt`.
    pub partitioned: bool,
    /// The live files.
    pub files: Vec<TableFile>,
}

impl Snapshot {
    /// The snapshot as a table provider.
    pub fn table(&self, output: &Output) -> FileListTable {
        FileListTable::new(
            output.root.object_store_url(),
            Arc::clone(&self.file_schema),
            self.partitioned,
            self.files.clone(),
        )
    }
}

/// A finished commit.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The Delta version the commit created (none for plain Parquet).
    pub version: Option<i64>,
    /// The partitions it replaced (`dt=YYYY-MM-DD`, or "" for a table).
    pub partitions: Vec<String>,
}

fn delta_err(output: &Output, model: &str, what: &str, e: impl std::fmt::Display) -> SinkError {
    SinkError::Storage {
        url: output.model_dir(model).to_string(),
        message: format!("{what}: {e}"),
    }
}

impl Output {
    /// The Delta log store of `model`'s table.
    pub fn log_store(&self, model: &str) -> LogStoreRef {
        let dir = self.model_dir(model);
        let prefixed: Arc<dyn ObjectStore> =
            Arc::new(PrefixStore::new(Arc::clone(&self.store), dir.prefix()));
        default_logstore(
            prefixed,
            Arc::clone(&self.store),
            dir.url(),
            &StorageConfig::default(),
        )
    }

    /// Opens `model`'s table at `as_of`; `None` when it has no log yet.
    pub async fn delta_table(
        &self,
        model: &str,
        as_of: AsOf,
    ) -> Result<Option<DeltaTable>, SinkError> {
        let store = self.log_store(model);
        match store.is_delta_table_location().await {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(delta_err(self, model, "reading the Delta log", e)),
        }
        let mut table = DeltaTable::new(store);
        let loaded = match as_of {
            AsOf::Latest => table.load().await,
            AsOf::Version(v) => table.load_version(v.max(0) as u64).await,
            AsOf::Timestamp(t) => table.load_with_datetime(t).await,
        };
        match loaded {
            Ok(()) => Ok(Some(table)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => Err(delta_err(self, model, "reading the Delta log", e)),
        }
    }

    /// The live files and schema of `model` at `as_of`, or `None` when the
    /// table has no commit.
    pub async fn snapshot(&self, model: &str, as_of: AsOf) -> Result<Option<Snapshot>, SinkError> {
        let Some(table) = self.delta_table(model, as_of).await? else {
            return Ok(None);
        };
        snapshot_of(self, model, &table).await.map(Some)
    }

    /// Commits the files a model wrote (see the module docs): one log entry
    /// that replaces the partitions in `days` (or the whole table).
    pub async fn commit_delta(
        &self,
        run_id: &str,
        model: &str,
        staged: &Staged,
        days: Option<DayRange>,
    ) -> Result<Committed, SinkError> {
        let dir = self.model_dir(model).prefix();
        let now = Utc::now().timestamp_millis();
        let adds: Vec<Action> = staged
            .files
            .iter()
            .map(|f| {
                let rel = f
                    .path
                    .strip_prefix(&format!("{}/", dir.as_ref()))
                    .unwrap_or(&f.path)
                    .to_string();
                Action::Add(Add {
                    path: rel,
                    partition_values: f
                        .day
                        .map(|d| HashMap::from([(DT.to_string(), Some(d.to_string()))]))
                        .unwrap_or_default(),
                    size: f.bytes as i64,
                    modification_time: now,
                    data_change: true,
                    stats: f.stats.clone(),
                    ..Default::default()
                })
            })
            .collect();
        let mut partitions: BTreeSet<String> = staged
            .files
            .iter()
            .map(|f| f.day.map(|d| format!("dt={d}")).unwrap_or_default())
            .collect();
        let schema: StructType = Arc::clone(&staged.file_schema)
            .try_into_kernel()
            .map_err(|e| delta_err(self, model, "the result's schema has no Delta type", e))?;
        // Every column of the table is nullable: a column added later is
        // absent from the files of older partitions, and a reader (delta-rs,
        // Spark) refuses to fill a non-nullable column with NULLs.
        let schema = StructType::try_new(schema.fields().map(|f| {
            deltalake_core::kernel::StructField::new(f.name(), f.data_type().clone(), true)
        }))
        .map_err(|e| delta_err(self, model, "building the table schema", e))?;
        let partition_by: Vec<String> = days.map(|_| vec![DT.to_string()]).unwrap_or_default();
        let mut schema_with_dt = schema.clone();
        if days.is_some() {
            schema_with_dt = StructType::try_new(schema.fields().cloned().chain([
                deltalake_core::kernel::StructField::new(
                    DT,
                    deltalake_core::kernel::DataType::DATE,
                    true,
                ),
            ]))
            .map_err(|e| delta_err(self, model, "building the table schema", e))?;
        }
        let app = HashMap::from([("shoal.run_id".to_string(), Value::from(run_id))]);
        let Some(table) = self.delta_table(model, AsOf::Latest).await? else {
            // The first commit creates the table.
            let table = DeltaTable::new(self.log_store(model));
            let created = table
                .create()
                .with_columns(schema_with_dt.fields().cloned())
                .with_partition_columns(partition_by)
                .with_actions(adds)
                .with_save_mode(SaveMode::ErrorIfExists)
                .with_commit_properties(CommitProperties::default().with_metadata(app))
                .await
                .map_err(|e| conflict_or_storage(self, model, e))?;
            return Ok(Committed {
                version: Some(created.version().unwrap_or(0) as i64),
                partitions: partitions.into_iter().collect(),
            });
        };
        let snapshot = table
            .snapshot()
            .map_err(|e| delta_err(self, model, "reading the Delta log", e))?;
        let mut actions = Vec::new();
        let current: StructType = snapshot.schema().as_ref().clone();
        if current != schema_with_dt || snapshot.metadata().partition_columns() != partition_by {
            let metadata = deltalake_core::kernel::new_metadata(
                &schema_with_dt,
                partition_by.clone(),
                snapshot.metadata().configuration().clone(),
            )
            .and_then(|m| m.with_table_id(snapshot.metadata().id().to_string()))
            .map_err(|e| delta_err(self, model, "changing the table schema", e))?;
            tracing::info!(
                model,
                "the model's columns changed: the Delta table takes the new schema"
            );
            actions.push(Action::Metadata(metadata));
            if days.is_some() && !partitions.is_empty() {
                tracing::warn!(
                    model,
                    "older partitions keep their columns; run with --full-refresh to rewrite them"
                );
            }
        }
        // Columns whose type changed: fine when every file is replaced,
        // refused when files written with the old type stay.
        let retyped: Vec<(String, String, String)> = schema
            .fields()
            .filter_map(|f| {
                let old = current.field(f.name())?;
                (old.data_type() != f.data_type()).then(|| {
                    (
                        f.name().to_string(),
                        old.data_type().to_string(),
                        f.data_type().to_string(),
                    )
                })
            })
            .collect();
        let mut kept: BTreeSet<String> = BTreeSet::new();
        let mut removed = 0usize;
        let mut files = snapshot
            .snapshot()
            .file_views(table.log_store().as_ref(), None);
        while let Some(view) = files
            .try_next()
            .await
            .map_err(|e| delta_err(self, model, "reading the Delta log", e))?
        {
            let day = day_of(&view);
            let replaced = match (days, day) {
                (None, _) => true,
                (Some(range), Some(d)) => range.contains(d),
                (Some(_), None) => true,
            };
            if replaced {
                if let Some(d) = day {
                    partitions.insert(format!("dt={d}"));
                }
                actions.push(Action::Remove(view.remove_action(true)));
                removed += 1;
            } else if let Some(d) = day {
                kept.insert(format!("dt={d}"));
            }
        }
        drop(files);
        if let Some((column, old, new)) = retyped.into_iter().next()
            && !kept.is_empty()
        {
            let mut listed: Vec<&str> = kept.iter().map(String::as_str).take(3).collect();
            let more = format!("and {} more", kept.len().saturating_sub(3));
            if kept.len() > 3 {
                listed.push(&more);
            }
            return Err(SinkError::TypeChange(format!(
                "column {column:?} changed type from {old} to {new}, but partitions written with {old} stay in the table ({kept}); cast it back to {old}, or rebuild the table: `shoal run --full-refresh --select {model}` when the model rewrites days (rewrites_days), otherwise remove the table directory {url} (its history goes) and run again",
                kept = listed.join(", "),
                url = self.model_dir(model),
            )));
        }
        tracing::debug!(model, removed, added = adds.len(), "delta commit");
        actions.extend(adds);
        let predicate = days.map(|r| match r.from {
            Some(from) => format!("{DT} >= '{from}' AND {DT} <= '{}'", r.to),
            None => format!("{DT} <= '{}'", r.to),
        });
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: (!partition_by.is_empty()).then_some(partition_by),
            predicate,
        };
        let finalized = CommitBuilder::from(CommitProperties::default().with_metadata(app))
            .with_actions(actions)
            .build(
                Some(snapshot as &dyn TableReference),
                table.log_store(),
                operation,
            )
            .await
            .map_err(|e| conflict_or_storage(self, model, e))?;
        Ok(Committed {
            version: Some(finalized.version() as i64),
            partitions: partitions.into_iter().collect(),
        })
    }

    /// Removes files no version newer than `keep` ago needs, and files no
    /// commit names (a killed run's) that are older than `keep`. With
    /// `keep` zero every file the newest version does not name goes.
    pub async fn vacuum(&self, model: &str, keep: std::time::Duration) -> Result<usize, SinkError> {
        let Some(table) = self.delta_table(model, AsOf::Latest).await? else {
            return Ok(0);
        };
        let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(keep)
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .await
            .map_err(|e| delta_err(self, model, "vacuum", e))?;
        Ok(metrics.files_deleted.len())
    }

    /// Turns a plain-Parquet output of `model` (written before Delta
    /// outputs, or with `output.format: parquet`) into a Delta table whose
    /// version 0 names its files as they are. Returns that version, or
    /// `None` when there is nothing to migrate.
    pub async fn migrate(&self, model: &str) -> Result<Option<i64>, SinkError> {
        if self.is_delta(model).await? {
            return Ok(None);
        }
        let dir = self.model_dir(model);
        let files = crate::catalog::list_files(self.store.as_ref(), &dir, &dir.prefix())
            .await
            .map_err(|e| delta_err(self, model, "listing the plain Parquet output", e))?;
        let files: Vec<_> = files
            .into_iter()
            .filter(|f| f.location.as_ref().ends_with(".parquet"))
            .collect();
        let Some(newest) = files.iter().max_by_key(|f| f.last_modified) else {
            return Ok(None);
        };
        let state = datafusion::prelude::SessionContext::new().state();
        use datafusion::datasource::file_format::FileFormat as _;
        let file_schema = datafusion::datasource::file_format::parquet::ParquetFormat::default()
            .infer_schema(&state, &self.store, std::slice::from_ref(newest))
            .await
            .map_err(|e| delta_err(self, model, "reading a footer", e))?;
        let prefix = format!("{}/", dir.prefix().as_ref());
        let mut staged_files = Vec::new();
        let mut daily = false;
        for f in &files {
            let rel = f
                .location
                .as_ref()
                .strip_prefix(&prefix)
                .unwrap_or(f.location.as_ref());
            let day = rel
                .split('/')
                .next()
                .and_then(|p| p.strip_prefix("dt="))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            daily |= day.is_some();
            staged_files.push(super::StagedFile {
                path: f.location.to_string(),
                day,
                rows: 0,
                bytes: f.size,
                stats: None,
            });
        }
        let staged = Staged {
            dir: dir.clone(),
            files: staged_files,
            file_schema,
        };
        let days = daily.then_some(DayRange {
            from: None,
            to: NaiveDate::MAX,
        });
        let committed = self.commit_delta("migrate", model, &staged, days).await?;
        Ok(committed.version)
    }

    /// Whether `model`'s directory holds a Delta log.
    pub async fn is_delta(&self, model: &str) -> Result<bool, SinkError> {
        self.log_store(model)
            .is_delta_table_location()
            .await
            .map_err(|e| delta_err(self, model, "reading the Delta log", e))
    }
}

/// The `dt` partition value of a file in the log, as a date.
fn day_of(view: &deltalake_core::kernel::LogicalFileView) -> Option<NaiveDate> {
    view.partition_values_map()
        .get(DT)
        .cloned()
        .flatten()
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
}

/// Reads the live files and schema of a loaded table.
async fn snapshot_of(
    output: &Output,
    model: &str,
    table: &DeltaTable,
) -> Result<Snapshot, SinkError> {
    let snapshot = table
        .snapshot()
        .map_err(|e| delta_err(output, model, "reading the Delta log", e))?;
    let partitioned = snapshot
        .metadata()
        .partition_columns()
        .iter()
        .any(|c| c == DT);
    let schema: Schema = snapshot
        .schema()
        .as_ref()
        .try_into_arrow()
        .map_err(|e| delta_err(output, model, "the table schema", e))?;
    let file_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .filter(|f| !(partitioned && f.name() == DT))
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let dir = output.model_dir(model).prefix();
    let mut files = Vec::new();
    let mut views = snapshot
        .snapshot()
        .file_views(table.log_store().as_ref(), None);
    while let Some(view) = views
        .try_next()
        .await
        .map_err(|e| delta_err(output, model, "reading the Delta log", e))?
    {
        let day = day_of(&view);
        files.push(TableFile {
            path: format!("{}/{}", dir.as_ref(), view.object_store_path().as_ref()),
            size: view.size().max(0) as u64,
            day,
            rows: view.num_records().map(|n| n as u64),
        });
    }
    files.sort_by(|a, b| (a.day, &a.path).cmp(&(b.day, &b.path)));
    Ok(Snapshot {
        version: snapshot.version() as i64,
        file_schema,
        partitioned,
        files,
    })
}

/// A lost race for a version (another run committed first and the commits
/// conflict) is the run's fault to report, not a storage failure.
fn conflict_or_storage(output: &Output, model: &str, e: DeltaTableError) -> SinkError {
    let text = e.to_string();
    if matches!(e, DeltaTableError::Transaction { .. }) && text.to_lowercase().contains("concurren")
        || text.contains("VersionAlreadyExists")
        || text.to_lowercase().contains("conflict")
    {
        return SinkError::Locked {
            url: output.model_dir(model).to_string(),
            message: format!(
                "another run committed to this table at the same time and the two commits conflict ({text}); nothing of this run was committed for it: run it again"
            ),
        };
    }
    delta_err(output, model, "the Delta commit failed", e)
}

/// Delta file statistics (`numRecords`, `minValues`, `maxValues`,
/// `nullCount`) of a Parquet file, from its footer, for the top-level
/// columns whose type has a plain JSON form.
pub fn file_stats(meta: &ParquetMetaData, schema: &Schema) -> String {
    let rows: i64 = meta.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let mut min = Map::new();
    let mut max = Map::new();
    let mut nulls = Map::new();
    let descr = meta.file_metadata().schema_descr();
    for (leaf, column) in descr.columns().iter().enumerate() {
        let path = column.path().parts();
        if path.len() != 1 {
            continue;
        }
        let name = &path[0];
        let Ok(field) = schema.field_with_name(name) else {
            continue;
        };
        let mut null_count: Option<u64> = Some(0);
        let mut lo: Option<Value> = None;
        let mut hi: Option<Value> = None;
        let mut complete = true;
        for rg in meta.row_groups() {
            let Some(stats) = rg.column(leaf).statistics() else {
                complete = false;
                null_count = None;
                break;
            };
            null_count = null_count.zip(stats.null_count_opt()).map(|(a, b)| a + b);
            match to_json_pair(stats, field.data_type()) {
                Some((a, b)) => {
                    lo = Some(match lo {
                        Some(x) if json_le(&x, &a) => x,
                        _ => a,
                    });
                    hi = Some(match hi {
                        Some(x) if json_le(&b, &x) => x,
                        _ => b,
                    });
                }
                None => complete = false,
            }
        }
        if let Some(n) = null_count {
            nulls.insert(name.clone(), json!(n));
        }
        if complete && let (Some(a), Some(b)) = (lo, hi) {
            min.insert(name.clone(), a);
            max.insert(name.clone(), b);
        }
    }
    json!({"numRecords": rows, "minValues": min, "maxValues": max, "nullCount": nulls}).to_string()
}

fn json_le(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() <= y.as_f64(),
        (Value::String(x), Value::String(y)) => x <= y,
        _ => false,
    }
}

/// Min and max of one row group's column as JSON, for the types whose
/// order in Parquet is their order in Delta.
fn to_json_pair(stats: &PqStats, ty: &DataType) -> Option<(Value, Value)> {
    let day = |v: i32| crate::catalog::date32_to_day(v).to_string();
    let micros = |v: i64, unit: &TimeUnit| -> Option<i64> {
        Some(match unit {
            TimeUnit::Second => v.checked_mul(1_000_000)?,
            TimeUnit::Millisecond => v.checked_mul(1_000)?,
            TimeUnit::Microsecond => v,
            TimeUnit::Nanosecond => v / 1_000,
        })
    };
    // Delta writes timestamps to the millisecond: the minimum is rounded
    // down and the maximum up, so both stay bounds.
    let ts = |v: i64, unit: &TimeUnit, tz: bool, up: bool| -> Option<Value> {
        let us = micros(v, unit)?;
        let ms = if up {
            (us + 999).div_euclid(1000)
        } else {
            us.div_euclid(1000)
        };
        let t = chrono::DateTime::from_timestamp_millis(ms)?;
        Some(Value::from(if tz {
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        } else {
            t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
        }))
    };
    match (stats, ty) {
        (PqStats::Int32(s), DataType::Int8 | DataType::Int16 | DataType::Int32) => {
            Some((json!(*s.min_opt()?), json!(*s.max_opt()?)))
        }
        (PqStats::Int32(s), DataType::Date32) => {
            Some((json!(day(*s.min_opt()?)), json!(day(*s.max_opt()?))))
        }
        (PqStats::Int64(s), DataType::Int64) => Some((json!(*s.min_opt()?), json!(*s.max_opt()?))),
        (PqStats::Int64(s), DataType::Timestamp(unit, tz)) => Some((
            ts(*s.min_opt()?, unit, tz.is_some(), false)?,
            ts(*s.max_opt()?, unit, tz.is_some(), true)?,
        )),
        (PqStats::Double(s), DataType::Float64) => {
            let (a, b) = (*s.min_opt()?, *s.max_opt()?);
            (a.is_finite() && b.is_finite()).then(|| (json!(a), json!(b)))
        }
        (PqStats::Float(s), DataType::Float32) => {
            let (a, b) = (*s.min_opt()?, *s.max_opt()?);
            (a.is_finite() && b.is_finite()).then(|| (json!(a), json!(b)))
        }
        (PqStats::ByteArray(s), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            if !s.min_is_exact() || !s.max_is_exact() {
                return None;
            }
            let a = std::str::from_utf8(s.min_opt()?.data()).ok()?;
            let b = std::str::from_utf8(s.max_opt()?.data()).ok()?;
            // Long strings are left out rather than truncated.
            (a.len() <= 64 && b.len() <= 64).then(|| (json!(a), json!(b)))
        }
        _ => None,
    }
}

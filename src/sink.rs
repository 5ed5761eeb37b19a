//! Output: write a model's result as staged Parquet, audit it with the
//! model's data tests, then commit it partition by partition.
//!
//! Takes an executed record-batch stream and the output [`Location`]; hands
//! on [`Staged`] files, [`TestOutcome`]s and committed partitions.
//!
//! # Commit protocol
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

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::Date32Array;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch, kernels::cmp::eq};
use datafusion::arrow::datatypes::{DataType, Date32Type, Schema, SchemaRef};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::catalog::{self, DT, Location};
use crate::models::{DataTest, Severity, TestKind};

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
    /// A daily model has no usable `dt` column.
    #[error("a daily model needs a `dt` column of type DATE; found {0}")]
    NoDt(String),
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

/// Parquet writer settings from `output.compression` (zstd, statistics on).
pub fn writer_properties(compression: &str) -> WriterProperties {
    let c = compression.trim().to_ascii_lowercase();
    let codec = if let Some(level) = c.strip_prefix("zstd(").and_then(|r| r.strip_suffix(')')) {
        Compression::ZSTD(ZstdLevel::try_new(level.parse().unwrap_or(3)).unwrap_or_default())
    } else {
        match c.as_str() {
            "snappy" => Compression::SNAPPY,
            "lz4" | "lz4_raw" => Compression::LZ4_RAW,
            "none" | "uncompressed" => Compression::UNCOMPRESSED,
            _ => Compression::ZSTD(ZstdLevel::default()),
        }
    };
    WriterProperties::builder()
        .set_compression(codec)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(512 * 1024))
        .build()
}

/// One staged file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedFile {
    /// Path in the store.
    pub path: String,
    /// The partition day, for daily models.
    pub day: Option<NaiveDate>,
    /// Rows in the file.
    pub rows: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// A model's result written to staging.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The staging directory.
    pub dir: Location,
    /// Files written, in order.
    pub files: Vec<StagedFile>,
    /// Schema of the files (without `dt`).
    pub file_schema: SchemaRef,
}

impl Staged {
    /// Total rows.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Total bytes.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Days a daily model may write: `from..=to`; `from` None = every day up to `to`.
#[derive(Debug, Clone, Copy)]
pub struct DayRange {
    /// First day, or None for no lower bound.
    pub from: Option<NaiveDate>,
    /// Last day.
    pub to: NaiveDate,
}

impl DayRange {
    fn contains(&self, d: NaiveDate) -> bool {
        d <= self.to && self.from.is_none_or(|f| d >= f)
    }
}

impl std::fmt::Display for DayRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.from {
            Some(from) if from == self.to => write!(f, "dt={}", self.to),
            Some(from) => write!(f, "dt={from}..{}", self.to),
            None => write!(f, "dt<={}", self.to),
        }
    }
}

struct OpenFile {
    writer: AsyncArrowWriter<BufWriter>,
    path: Path,
    day: Option<NaiveDate>,
    rows: u64,
}

/// Writes a result stream into `dir`, one file per `dt` value for daily
/// models (the stream must be ordered by `dt`), else one file.
pub async fn write_staged(
    store: Arc<dyn ObjectStore>,
    dir: Location,
    mut stream: SendableRecordBatchStream,
    partitioned: Option<DayRange>,
    props: &WriterProperties,
) -> Result<Staged, SinkError> {
    let schema = stream.schema();
    let dt_index = match partitioned {
        Some(_) => {
            let (i, f) = schema
                .column_with_name(DT)
                .ok_or_else(|| SinkError::NoDt("no dt column".into()))?;
            if f.data_type() != &DataType::Date32 {
                return Err(SinkError::NoDt(f.data_type().to_string()));
            }
            Some(i)
        }
        None => None,
    };
    // Strings are written as plain `Utf8` whichever way the plan carried
    // them (DataFusion reads committed outputs' text as `Utf8View`), so
    // every string column of every output has the Arrow type `string`.
    let file_schema: SchemaRef = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != dt_index)
            .map(|(_, f)| match f.data_type() {
                DataType::Utf8View => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8)),
                _ => Arc::clone(f),
            })
            .collect::<Vec<_>>(),
    ));
    // The Parquet encoding runs in a task of its own, fed through a short
    // queue: while it encodes one batch the next is computed (a sort's
    // final merge, for instance, is single-threaded), so writing a large
    // result uses a second core instead of pausing the plan.
    let (tx, rx) = tokio::sync::mpsc::channel::<(Option<NaiveDate>, RecordBatch)>(2);
    let files_writer = FileWriter {
        store: Arc::clone(&store),
        dir: dir.clone(),
        cast_views: schema
            .fields()
            .iter()
            .any(|f| f.data_type() == &DataType::Utf8View),
        file_schema: Arc::clone(&file_schema),
        props: props.clone(),
        partitioned,
        files: Vec::new(),
        open: None,
        n: 0,
    };
    let writer = tokio::spawn(files_writer.run(rx));
    let fed = feed(&mut stream, dt_index, partitioned, &tx).await;
    drop(tx);
    // The writer is awaited whatever happened, so nothing is still writing
    // into the staging directory when the caller removes it.
    let written = writer
        .await
        .map_err(|e| SinkError::Execute(datafusion::error::DataFusionError::External(Box::new(e))));
    fed?;
    let mut files = written??;
    for f in &mut files {
        let path = Path::from(f.path.as_str());
        f.bytes = store
            .head(&path)
            .await
            .map_err(|e| storage_err(&dir, &path, e))?
            .size;
    }
    Ok(Staged {
        dir,
        files,
        file_schema,
    })
}

/// Pulls the result stream, splits it by day and hands the pieces to the
/// file writer; stops at the first error (or when the writer has stopped).
async fn feed(
    stream: &mut SendableRecordBatchStream,
    dt_index: Option<usize>,
    partitioned: Option<DayRange>,
    tx: &tokio::sync::mpsc::Sender<(Option<NaiveDate>, RecordBatch)>,
) -> Result<(), SinkError> {
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let pieces: Vec<(Option<NaiveDate>, RecordBatch)> = match dt_index {
            None => vec![(None, batch)],
            Some(i) => split_by_day(&batch, i)?,
        };
        for (day, piece) in pieces {
            if let (Some(d), Some(range)) = (day, partitioned)
                && !range.contains(d)
            {
                return Err(SinkError::OutOfRange {
                    day: d,
                    range: range.to_string(),
                });
            }
            if tx.send((day, piece)).await.is_err() {
                // The writer failed; its error is what the caller reports.
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes pieces into files: a new file whenever the day changes.
struct FileWriter {
    store: Arc<dyn ObjectStore>,
    dir: Location,
    /// Pieces carry `Utf8View` columns, written as the `Utf8` of `file_schema`.
    cast_views: bool,
    file_schema: SchemaRef,
    props: WriterProperties,
    partitioned: Option<DayRange>,
    files: Vec<StagedFile>,
    open: Option<OpenFile>,
    n: usize,
}

impl FileWriter {
    /// Writes every piece `rx` delivers, then closes the last file (or
    /// writes one empty file when there was no row). Files are closed
    /// only on success: after a failure the caller removes the directory.
    async fn run(
        mut self,
        mut rx: tokio::sync::mpsc::Receiver<(Option<NaiveDate>, RecordBatch)>,
    ) -> Result<Vec<StagedFile>, SinkError> {
        while let Some((day, piece)) = rx.recv().await {
            if let Err(e) = self.write(day, &piece).await {
                rx.close();
                return Err(e);
            }
        }
        if let Some(f) = self.open.take() {
            self.files.push(close(f, &self.dir).await?);
        }
        if self.files.is_empty() {
            // No rows: one empty file keeps the table's schema readable and
            // marks the model as built (in the run day's partition for daily models).
            let f = self.new_file(self.partitioned.map(|r| r.to))?;
            self.files.push(close(f, &self.dir).await?);
        }
        Ok(self.files)
    }

    async fn write(
        &mut self,
        day: Option<NaiveDate>,
        piece: &RecordBatch,
    ) -> Result<(), SinkError> {
        if self.open.as_ref().is_some_and(|f| f.day != day) {
            let f = self.open.take().expect("checked");
            self.files.push(close(f, &self.dir).await?);
        }
        if self.open.is_none() {
            // An unordered stream may open a second file for a day; both are kept.
            self.open = Some(self.new_file(day)?);
        }
        let f = self.open.as_mut().expect("opened");
        f.rows += piece.num_rows() as u64;
        let plain;
        let piece = if self.cast_views {
            let columns = piece
                .columns()
                .iter()
                .zip(self.file_schema.fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            plain = RecordBatch::try_new(Arc::clone(&self.file_schema), columns)?;
            &plain
        } else {
            piece
        };
        f.writer
            .write(piece)
            .await
            .map_err(|e| storage_err(&self.dir, &f.path, e))
    }

    fn new_file(&mut self, day: Option<NaiveDate>) -> Result<OpenFile, SinkError> {
        let parent = match day {
            Some(d) => self.dir.prefix().join(format!("dt={d}").as_str()),
            None => self.dir.prefix(),
        };
        let path = parent.join(format!("part-{}.parquet", self.n).as_str());
        self.n += 1;
        let writer = BufWriter::new(Arc::clone(&self.store), path.clone());
        let writer = AsyncArrowWriter::try_new(
            writer,
            Arc::clone(&self.file_schema),
            Some(self.props.clone()),
        )
        .map_err(|e| storage_err(&self.dir, &path, e))?;
        Ok(OpenFile {
            writer,
            path,
            day,
            rows: 0,
        })
    }
}

async fn close(f: OpenFile, dir: &Location) -> Result<StagedFile, SinkError> {
    f.writer
        .close()
        .await
        .map_err(|e| storage_err(dir, &f.path, e))?;
    Ok(StagedFile {
        path: f.path.to_string(),
        day: f.day,
        rows: f.rows,
        bytes: 0,
    })
}

/// Splits a batch by its Date32 `dt` column, keeping the `dt` column out of the pieces.
fn split_by_day(
    batch: &RecordBatch,
    dt_index: usize,
) -> Result<Vec<(Option<NaiveDate>, RecordBatch)>, SinkError> {
    let dts = batch.column(dt_index).as_primitive::<Date32Type>();
    if dts.null_count() > 0 {
        return Err(SinkError::NoDt("a dt value that is NULL".into()));
    }
    let mut projected = batch.clone();
    projected.remove_column(dt_index);
    let first = dts.value(0);
    if dts.values().iter().all(|v| *v == first) {
        return Ok(vec![(Some(date32_to_day(first)), projected)]);
    }
    let mut days: Vec<i32> = dts.values().to_vec();
    days.sort_unstable();
    days.dedup();
    let mut out = Vec::new();
    for d in days {
        let mask = eq(dts, &Date32Array::new_scalar(d))?;
        out.push((
            Some(date32_to_day(d)),
            filter_record_batch(&projected, &mask)?,
        ));
    }
    Ok(out)
}

/// Converts days since the epoch to a date.
pub fn date32_to_day(v: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(v + 719_163).expect("Date32 within chrono's range")
}

/// Result of one data test on a staged result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The test's name, e.g. `not_null(user_id)`.
    pub name: String,
    /// `error` or `warn`.
    pub severity: Severity,
    /// Offending rows (or duplicate keys).
    pub failures: u64,
}

impl TestOutcome {
    /// Whether this outcome blocks the commit.
    pub fn blocks(&self) -> bool {
        self.failures > 0 && self.severity == Severity::Error
    }
}

fn quote_ident(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs `tests` against `table`: every row-level check fused into one scan,
/// `relationships` as one anti-join each.
pub async fn run_tests(
    ctx: &SessionContext,
    table: &str,
    tests: &[DataTest],
) -> Result<Vec<TestOutcome>, datafusion::error::DataFusionError> {
    let mut exprs = Vec::new();
    let mut outcomes = Vec::new();
    let mut fused_index = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let e = match &t.kind {
            TestKind::NotNull(cols) => Some(format!(
                "sum(case when {} then 1 else 0 end)",
                cols.iter()
                    .map(|c| format!("{} is null", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
            // Distinct 64-bit hashes first (a primitive set, several times
            // cheaper than a set of strings): equal keys have equal hashes, so
            // when this finds no repeat the key is unique; when it does, the
            // exact count below decides.
            TestKind::Unique(cols) if cols.len() == 1 => {
                let c = quote_ident(&cols[0]);
                Some(format!("count({c}) - count(distinct hash64({c}))"))
            }
            TestKind::Unique(cols) => Some(format!(
                "count(*) - count(distinct hash64({}))",
                cols.iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            TestKind::AcceptedValues { column, values } => Some(format!(
                "sum(case when {c} is not null and cast({c} as varchar) not in ({v}) then 1 else 0 end)",
                c = quote_ident(column),
                v = values
                    .iter()
                    .map(|v| quote_str(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            TestKind::Expression(e) => Some(format!("sum(case when not ({e}) then 1 else 0 end)")),
            TestKind::Relationships { .. } => None,
        };
        if let Some(e) = e {
            exprs.push(format!("coalesce(cast({e} as bigint), 0) as t{i}"));
            fused_index.push(i);
        }
        outcomes.push(TestOutcome {
            name: t.name(),
            severity: t.severity,
            failures: 0,
        });
    }
    if !exprs.is_empty() {
        let sql = format!("select {} from {}", exprs.join(", "), quote_ident(table));
        let batches = ctx.sql(&sql).await?.collect().await?;
        if let Some(b) = batches.first() {
            for (col, &i) in fused_index.iter().enumerate() {
                let v = b
                    .column(col)
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                outcomes[i].failures = if v.is_null(0) {
                    0
                } else {
                    v.value(0).max(0) as u64
                };
            }
        }
    }
    for (i, t) in tests.iter().enumerate() {
        if let TestKind::Unique(cols) = &t.kind
            && outcomes[i].failures > 0
        {
            // A repeated hash: the exact count of repeated keys.
            let sql = if let [c] = cols.as_slice() {
                let c = quote_ident(c);
                format!(
                    "select count({c}) - count(distinct {c}) from {}",
                    quote_ident(table)
                )
            } else {
                let key = cols
                    .iter()
                    .map(|c| format!("coalesce(cast({} as varchar), '\u{1}')", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "select count(*) - count(distinct concat_ws('\u{1f}', {key})) from {}",
                    quote_ident(table)
                )
            };
            outcomes[i].failures = count_of(ctx, &sql).await?;
        }
        if let TestKind::Relationships { column, to, field } = &t.kind {
            let sql = format!(
                "select count(*) as n from {t} s where s.{c} is not null and not exists \
                 (select 1 from {to} r where r.{f} = s.{c})",
                t = quote_ident(table),
                c = quote_ident(column),
                to = quote_ident(to),
                f = quote_ident(field)
            );
            outcomes[i].failures = count_of(ctx, &sql).await?;
        }
    }
    Ok(outcomes)
}

/// The single count a test query returns (0 when it returns no row).
async fn count_of(
    ctx: &SessionContext,
    sql: &str,
) -> Result<u64, datafusion::error::DataFusionError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let n = batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}

/// A commit in progress: what each partition will hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    /// Run that writes.
    pub run_id: String,
    /// Model written.
    pub model: String,
    /// Per partition directory (relative to the model dir; "" for a table), the files it will hold.
    pub partitions: BTreeMap<String, Vec<String>>,
}

/// Paths of the output store used by the commit protocol.
#[derive(Debug, Clone)]
pub struct Output {
    /// Where tables go.
    pub root: Location,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
}

impl Output {
    /// `<output>/<model>/`.
    ///
    /// Model names are checked at discovery and selection
    /// ([`crate::models::valid_name`]); a name that is not plain never gets
    /// here, and a debug build stops if one does.
    pub fn model_dir(&self, model: &str) -> Location {
        debug_assert!(
            crate::models::valid_name(model),
            "model name {model:?} would build a path outside the output location"
        );
        self.root.join(model)
    }

    /// `<output>/_shoal/`.
    pub fn meta_dir(&self) -> Location {
        self.root.join("_shoal")
    }

    /// `<output>/_shoal/staging/<run_id>/<model>/`.
    pub fn staging_dir(&self, run_id: &str, model: &str) -> Location {
        self.meta_dir().join("staging").join(run_id).join(model)
    }

    /// `<output>/_shoal/staging/<run_id>/_temp/`: where a run on a cluster
    /// keeps its `temp` tables (`_temp/<model>/`), removed when it ends.
    /// Model names cannot start with `_`, so this never meets a model's
    /// staging directory.
    pub fn temp_root(&self, run_id: &str) -> Location {
        self.meta_dir().join("staging").join(run_id).join("_temp")
    }

    fn intent_path(&self, run_id: &str, model: &str) -> Path {
        self.meta_dir()
            .join("commits")
            .prefix()
            .join(format!("{run_id}.{model}.json"))
    }

    /// Puts a small object (JSON records, intents).
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.store
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| storage_err(&self.root, path, e))
    }

    /// Commits staged files: partitions in `days` (or the whole table) are
    /// replaced by what was staged for them; days with no staged file are emptied.
    pub async fn commit(
        &self,
        run_id: &str,
        model: &str,
        staged: &Staged,
        days: Option<DayRange>,
    ) -> Result<Vec<String>, SinkError> {
        let model_dir = self.model_dir(model);
        // Which partition directories are replaced.
        let mut partitions: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        match days {
            Some(range) => {
                let existing = catalog::list_partitions(self.store.as_ref(), &model_dir)
                    .await
                    .map_err(|e| SinkError::Storage {
                        url: model_dir.to_string(),
                        message: e.to_string(),
                    })?;
                for p in existing.iter().filter(|p| range.contains(p.day)) {
                    partitions.entry(format!("dt={}", p.day)).or_default();
                }
                if let Some(from) = range.from {
                    let mut d = from;
                    while d <= range.to {
                        partitions.entry(format!("dt={d}")).or_default();
                        d = d.succ_opt().expect("date in range");
                    }
                }
            }
            None => {
                partitions.entry(String::new()).or_default();
            }
        }
        for (n, f) in staged.files.iter().enumerate() {
            let dir = f.day.map(|d| format!("dt={d}")).unwrap_or_default();
            partitions
                .entry(dir)
                .or_default()
                .push((f.path.clone(), format!("part-{run_id}-{n}.parquet")));
        }
        let intent = Intent {
            run_id: run_id.to_string(),
            model: model.to_string(),
            partitions: partitions
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|(_, name)| name.clone()).collect()))
                .collect(),
        };
        let intent_path = self.intent_path(run_id, model);
        self.put(
            &intent_path,
            serde_json::to_vec_pretty(&intent).expect("intent serialises"),
        )
        .await?;
        // Move the new files in. If one move fails, take back the ones
        // already moved before returning, so readers do not see old and new
        // files side by side until the next run's recovery.
        let mut moved: Vec<Path> = Vec::new();
        for (dir, files) in &partitions {
            let target = if dir.is_empty() {
                model_dir.clone()
            } else {
                model_dir.join(dir)
            };
            for (from, name) in files {
                let to = target.prefix().join(name.as_str());
                if let Err(e) = self.store.rename(&Path::from(from.as_str()), &to).await {
                    // A copy-and-delete rename can fail after the copy landed.
                    moved.push(to.clone());
                    let err = storage_err(&self.root, &to, e);
                    return Err(self.roll_back(&intent_path, &moved, err).await);
                }
                moved.push(to);
            }
        }
        // Every new file is in place: from here on the commit rolls forward
        // (a failure below leaves the intent for the next run to finish).
        self.finish_intent(&intent).await?;
        self.store
            .delete(&intent_path)
            .await
            .map_err(|e| storage_err(&self.root, &intent_path, e))?;
        Ok(partitions.keys().cloned().collect())
    }

    /// Undoes the moves of a commit that failed half-way: deletes the files
    /// already moved into partitions, then the intent. When that fails too,
    /// the intent stays and the next run's [`Output::recover`] rolls back.
    async fn roll_back(&self, intent_path: &Path, moved: &[Path], err: SinkError) -> SinkError {
        for p in moved {
            match self.store.delete(p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(
                        "{}: cannot undo a partial commit ({e}); the next run rolls it back",
                        self.root.object_url(p)
                    );
                    return err;
                }
            }
        }
        if let Err(e) = self.store.delete(intent_path).await {
            tracing::warn!(
                "{}: cannot remove the commit intent ({e}); the next run removes it",
                self.root.object_url(intent_path)
            );
        }
        match err {
            SinkError::Storage { url, message } => SinkError::Storage {
                url,
                message: format!(
                    "{message}; the commit was rolled back, the previous output stays visible"
                ),
            },
            other => other,
        }
    }

    /// Deletes every file of the intent's partitions that it does not keep.
    async fn finish_intent(&self, intent: &Intent) -> Result<(), SinkError> {
        let model_dir = self.model_dir(&intent.model);
        for (dir, keep) in &intent.partitions {
            let target = if dir.is_empty() {
                model_dir.clone()
            } else {
                model_dir.join(dir)
            };
            let files = self.list_direct_files(&target).await?;
            for f in files {
                let name = f.filename().unwrap_or_default().to_string();
                if !keep.contains(&name) {
                    self.store
                        .delete(&f)
                        .await
                        .map_err(|e| storage_err(&self.root, &f, e))?;
                }
            }
        }
        Ok(())
    }

    /// Parquet files directly in a directory (not in sub-directories).
    async fn list_direct_files(&self, dir: &Location) -> Result<Vec<Path>, SinkError> {
        let listed = self
            .store
            .list_with_delimiter(Some(&dir.prefix()))
            .await
            .map_err(|e| storage_err(&self.root, &dir.prefix(), e))?;
        Ok(listed
            .objects
            .into_iter()
            .map(|m| m.location)
            .filter(|p| {
                p.filename().is_some_and(|f| {
                    f.ends_with(".parquet") && !f.starts_with('_') && !f.starts_with('.')
                })
            })
            .collect())
    }

    /// Finishes commits a crashed run left behind and removes stale staging.
    /// Returns a line per repaired commit.
    pub async fn recover(&self) -> Result<Vec<String>, SinkError> {
        let mut notes = Vec::new();
        let commits = self.meta_dir().join("commits");
        let listed = catalog::list_files(self.store.as_ref(), &commits, &commits.prefix())
            .await
            .map_err(|e| SinkError::Storage {
                url: commits.to_string(),
                message: e.to_string(),
            })?;
        for meta in listed {
            let bytes = self
                .store
                .get(&meta.location)
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?
                .bytes()
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?;
            let Ok(intent) = serde_json::from_slice::<Intent>(&bytes) else {
                notes.push(format!(
                    "removed unreadable commit intent {}",
                    meta.location
                ));
                let _ = self.store.delete(&meta.location).await;
                continue;
            };
            let model_dir = self.model_dir(&intent.model);
            let mut complete = true;
            for (dir, keep) in &intent.partitions {
                let target = if dir.is_empty() {
                    model_dir.clone()
                } else {
                    model_dir.join(dir)
                };
                let present: Vec<String> = self
                    .list_direct_files(&target)
                    .await?
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string))
                    .collect();
                if keep.iter().any(|k| !present.contains(k)) {
                    complete = false;
                }
            }
            if complete {
                self.finish_intent(&intent).await?;
                notes.push(format!(
                    "finished the commit of {} from run {}",
                    intent.model, intent.run_id
                ));
            } else {
                for (dir, keep) in &intent.partitions {
                    let target = if dir.is_empty() {
                        model_dir.clone()
                    } else {
                        model_dir.join(dir)
                    };
                    for k in keep {
                        let p = target.prefix().join(k.as_str());
                        match self.store.delete(&p).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                            Err(e) => return Err(storage_err(&self.root, &p, e)),
                        }
                    }
                }
                notes.push(format!(
                    "rolled back the partial commit of {} from run {}",
                    intent.model, intent.run_id
                ));
            }
            self.store
                .delete(&meta.location)
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?;
        }
        // A process killed while writing an intent on local disk leaves the
        // store's in-progress file (`<name>#<n>`), which listings never show.
        if let Ok(dir) = self.meta_dir().join("commits").url().to_file_path()
            && let Ok(entries) = std::fs::read_dir(&dir)
        {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains('#') {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        self.remove_prefix(&self.meta_dir().join("staging")).await?;
        Ok(notes)
    }

    /// Deletes every object under a location.
    pub async fn remove_prefix(&self, dir: &Location) -> Result<(), SinkError> {
        use futures::TryStreamExt;
        let objects: Vec<_> = self
            .store
            .list(Some(&dir.prefix()))
            .try_collect()
            .await
            .map_err(|e| storage_err(&self.root, &dir.prefix(), e))?;
        for o in objects {
            match self.store.delete(&o.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_err(&self.root, &o.location, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Any name that passes the model-name check joins to a directory
        /// directly under the output root, on every kind of store URL.
        #[test]
        fn model_dirs_stay_under_the_output_location(name in "[A-Za-z_][A-Za-z0-9_]{0,20}", root in proptest::prop_oneof![
            proptest::strategy::Just("s3://bucket/warehouse"),
            proptest::strategy::Just("file:///srv/shoal/warehouse"),
            proptest::strategy::Just("memory://m/w"),
            proptest::strategy::Just("az://container/a/b"),
        ]) {
            proptest::prop_assume!(crate::models::valid_name(&name));
            let root = Location::parse(root, std::path::Path::new("/")).unwrap();
            let out = Output {
                root: root.clone(),
                store: Arc::new(object_store::memory::InMemory::new()),
            };
            let dir = out.model_dir(&name);
            proptest::prop_assert_eq!(dir.url().as_str(), format!("{}{name}/", root.url()));
            proptest::prop_assert_eq!(dir.store_key(), root.store_key());
        }

        /// Names with separators, dots or escapes are never plain names.
        #[test]
        fn path_tricks_are_not_model_names(prefix in "[a-z]{0,3}", trick in proptest::prop_oneof![
            proptest::strategy::Just("../"), proptest::strategy::Just("/"), proptest::strategy::Just("%2e%2e"),
            proptest::strategy::Just("s3://"), proptest::strategy::Just("\\"), proptest::strategy::Just("."),
            proptest::strategy::Just(":"), proptest::strategy::Just("?"), proptest::strategy::Just("#"),
        ], suffix in "[a-z]{0,3}") {
            let name = format!("{prefix}{trick}{suffix}");
            proptest::prop_assert!(!crate::models::valid_name(&name), "{}", name);
        }
    }

    #[test]
    fn date32_conversion() {
        assert_eq!(
            date32_to_day(0),
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
        );
        assert_eq!(
            date32_to_day(20_413),
            NaiveDate::from_ymd_opt(2025, 11, 21).unwrap()
        );
    }

    #[test]
    fn day_range_display_and_contains() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let r = DayRange {
            from: Some(d("2026-01-01")),
            to: d("2026-01-04"),
        };
        assert!(r.contains(d("2026-01-01")) && r.contains(d("2026-01-04")));
        assert!(!r.contains(d("2026-01-05")) && !r.contains(d("2025-12-31")));
        assert_eq!(r.to_string(), "dt=2026-01-01..2026-01-04");
        let open = DayRange {
            from: None,
            to: d("2026-01-04"),
        };
        assert!(open.contains(d("2000-01-01")));
    }
}

//! Parquet writing: writer settings from `output.compression`, and the
//! writer that streams a result into staged files, split by `dt` day for a
//! daily model (and checked against the days it may write).

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
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::{SinkError, storage_err};
use crate::catalog::{DT, Location, date32_to_day};

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
    /// Delta file statistics from the footer (see [`super::delta::file_stats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
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
    pub(super) fn contains(&self, d: NaiveDate) -> bool {
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
/// models (the stream must be ordered by `dt`), else one file. Files are
/// named `<name>-<n>.parquet` (under `dt=<day>/` for daily models).
///
/// When `deadline` passes first, the result stream is dropped (cancelling
/// its plan), the file being written is abandoned, and
/// [`SinkError::Deadline`] is returned only once the writer task has ended,
/// so removing the files afterwards leaves none behind.
pub async fn write_staged(
    store: Arc<dyn ObjectStore>,
    dir: Location,
    name: &str,
    mut stream: SendableRecordBatchStream,
    partitioned: Option<DayRange>,
    props: &WriterProperties,
    deadline: Option<tokio::time::Instant>,
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
    // `None` ends the result; a channel closed without it (the result
    // failed, or the deadline passed) leaves no file behind.
    let (tx, rx) = tokio::sync::mpsc::channel::<Option<(Option<NaiveDate>, RecordBatch)>>(2);
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
        name: name.to_string(),
        n: 0,
    };
    let writer = tokio::spawn(files_writer.run(rx));
    let feeding = feed(&mut stream, dt_index, partitioned, &tx);
    let fed = match deadline {
        Some(at) => tokio::time::timeout_at(at, feeding)
            .await
            .unwrap_or(Err(SinkError::Deadline)),
        None => feeding.await,
    };
    if fed.is_ok() {
        let _ = tx.send(None).await;
    }
    drop(tx);
    drop(stream);
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
    tx: &tokio::sync::mpsc::Sender<Option<(Option<NaiveDate>, RecordBatch)>>,
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
            if tx.send(Some((day, piece))).await.is_err() {
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
    /// File names are `<name>-<n>.parquet`.
    name: String,
    n: usize,
}

impl FileWriter {
    /// Writes every piece `rx` delivers, then closes the last file (or
    /// writes one empty file when there was no row). Files are closed
    /// only on success: after a failure the caller removes the directory.
    async fn run(
        mut self,
        mut rx: tokio::sync::mpsc::Receiver<Option<(Option<NaiveDate>, RecordBatch)>>,
    ) -> Result<Vec<StagedFile>, SinkError> {
        loop {
            match rx.recv().await {
                Some(Some((day, piece))) => {
                    if let Err(e) = self.write(day, &piece).await {
                        rx.close();
                        return Err(e);
                    }
                }
                Some(None) => break,
                // Closed before the end: the open file is dropped unwritten
                // (its upload aborted); the caller removes the closed ones.
                None => return Ok(self.files),
            }
        }
        if let Some(f) = self.open.take() {
            self.files
                .push(close(f, &self.dir, &self.file_schema).await?);
        }
        if self.files.is_empty() {
            // No rows: one empty file keeps the table's schema readable and
            // marks the model as built (in the run day's partition for daily models).
            let f = self.new_file(self.partitioned.map(|r| r.to))?;
            self.files
                .push(close(f, &self.dir, &self.file_schema).await?);
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
            self.files
                .push(close(f, &self.dir, &self.file_schema).await?);
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
        let path = parent.join(format!("{}-{}.parquet", self.name, self.n).as_str());
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

async fn close(f: OpenFile, dir: &Location, schema: &Schema) -> Result<StagedFile, SinkError> {
    let meta = f
        .writer
        .close()
        .await
        .map_err(|e| storage_err(dir, &f.path, e))?;
    Ok(StagedFile {
        path: f.path.to_string(),
        day: f.day,
        rows: f.rows,
        bytes: 0,
        stats: Some(super::delta::file_stats(&meta, schema)),
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

#[cfg(test)]
mod tests {
    use super::*;

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

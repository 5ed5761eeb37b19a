//! A table over an explicit list of Parquet files, with the `dt` day of
//! each file as a partition column: how a Delta snapshot's live files are
//! read (the files the log names, never a directory listing, so files a
//! commit replaced or a killed run left behind are not seen), and how a
//! model's written-but-uncommitted files are audited.
//!
//! The scan is a plain Parquet `DataSourceExec` (row-group pruning and
//! filter pushdown as for any Parquet file); filters on `dt` choose the
//! files before anything is read. The table serializes to JSON
//! ([`FileListTable::to_json`]), so a Ballista client can send it to the
//! scheduler, whose executors see only the Parquet scan.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use serde::{Deserialize, Serialize};

use super::DT;

/// One file of a [`FileListTable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFile {
    /// The object path in the store.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The `dt` partition day (daily tables).
    pub day: Option<chrono::NaiveDate>,
    /// Its row count, when known.
    pub rows: Option<u64>,
}

/// A table over the Parquet `files` of one store (see the module docs).
#[derive(Debug, Clone)]
pub struct FileListTable {
    store_url: ObjectStoreUrl,
    file_schema: SchemaRef,
    partitioned: bool,
    files: Vec<TableFile>,
    schema: SchemaRef,
}

/// What [`FileListTable::to_json`] writes: the table without its schema
/// (a decoder is handed the schema by the plan).
#[derive(Serialize, Deserialize)]
struct Wire {
    store_url: String,
    partitioned: bool,
    files: Vec<TableFile>,
}

impl FileListTable {
    /// A table of `files` in the store at `store_url` (`scheme://host/`),
    /// whose files have `file_schema`; `partitioned` adds the `dt` column.
    pub fn new(
        store_url: ObjectStoreUrl,
        file_schema: SchemaRef,
        partitioned: bool,
        files: Vec<TableFile>,
    ) -> Self {
        let mut fields: Vec<Arc<Field>> = file_schema.fields().iter().cloned().collect();
        if partitioned {
            fields.push(Arc::new(Field::new(DT, DataType::Date32, false)));
        }
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            file_schema.metadata().clone(),
        ));
        Self {
            store_url,
            file_schema,
            partitioned,
            files,
            schema,
        }
    }

    /// The files.
    pub fn files(&self) -> &[TableFile] {
        &self.files
    }

    /// The table as JSON, for [`FileListTable::from_json`] on a scheduler.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&Wire {
            store_url: self.store_url.as_str().to_string(),
            partitioned: self.partitioned,
            files: self.files.clone(),
        })
        .expect("a file list serializes")
    }

    /// The table [`FileListTable::to_json`] wrote; `schema` is the table's
    /// schema (with `dt` last when partitioned).
    pub fn from_json(bytes: &[u8], schema: SchemaRef) -> DfResult<Self> {
        let wire: Wire = serde_json::from_slice(bytes)
            .map_err(|e| DataFusionError::Internal(format!("file list table: {e}")))?;
        let fields: Vec<Arc<Field>> = schema
            .fields()
            .iter()
            .filter(|f| !(wire.partitioned && f.name() == DT))
            .cloned()
            .collect();
        Ok(Self::new(
            ObjectStoreUrl::parse(&wire.store_url)?,
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
            wire.partitioned,
            wire.files,
        ))
    }

    /// The files whose day passes the filters that name only `dt`.
    fn pruned(&self, state: &dyn Session, filters: &[Expr]) -> DfResult<Vec<&TableFile>> {
        let on_dt: Vec<Expr> = filters
            .iter()
            .filter(|f| self.partitioned && only_dt(f))
            .cloned()
            .collect();
        let Some(predicate) = conjunction(on_dt) else {
            return Ok(self.files.iter().collect());
        };
        let days: Vec<i32> = self
            .files
            .iter()
            .map(|f| f.day.map(day_to_date32).unwrap_or_default())
            .collect();
        let dt_schema = Arc::new(Schema::new(vec![Field::new(DT, DataType::Date32, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&dt_schema),
            vec![Arc::new(Date32Array::from(days)) as ArrayRef],
        )?;
        let df_schema = DFSchema::try_from(dt_schema)?;
        let physical = state.create_physical_expr(predicate, &df_schema)?;
        let mask = physical.evaluate(&batch)?.into_array(batch.num_rows())?;
        let mask = datafusion::arrow::array::AsArray::as_boolean(&mask).clone();
        Ok(self
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| mask.is_valid(*i) && mask.value(*i))
            .map(|(_, f)| f)
            .collect())
    }
}

/// Whether `expr` refers to no column but `dt`.
fn only_dt(expr: &Expr) -> bool {
    let columns = expr.column_refs();
    !columns.is_empty() && columns.iter().all(|c| c.name == DT)
}

fn day_to_date32(d: chrono::NaiveDate) -> i32 {
    (d - date32_to_day(0)).num_days() as i32
}

#[async_trait]
impl TableProvider for FileListTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.partitioned && only_dt(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let files = self.pruned(state, filters)?;
        if files.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let partitioned: Vec<PartitionedFile> = files
            .iter()
            .map(|f| {
                let mut pf = PartitionedFile::new(f.path.clone(), f.size);
                if self.partitioned {
                    pf = pf
                        .with_partition_values(vec![ScalarValue::Date32(f.day.map(day_to_date32))]);
                }
                if let Some(rows) = f.rows {
                    let mut stats = Statistics::new_unknown(&self.file_schema);
                    stats.num_rows = datafusion::common::stats::Precision::Exact(rows as usize);
                    pf = pf.with_statistics(Arc::new(stats));
                }
                pf
            })
            .collect();
        let groups = FileGroup::new(partitioned).split_files(state.config().target_partitions());
        let partition_cols = if self.partitioned {
            vec![Arc::new(Field::new(DT, DataType::Date32, false))]
        } else {
            vec![]
        };
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(
            TableSchema::builder(Arc::clone(&self.file_schema))
                .with_table_partition_cols(partition_cols)
                .build(),
        );
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }
}

/// Converts days since the epoch to a date.
pub fn date32_to_day(v: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(v + 719_163).expect("Date32 within chrono's range")
}

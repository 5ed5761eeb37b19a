//! `temp` models: results written once per run as local Parquet (LZ4) in
//! a scratch directory and registered for the models after them, then
//! removed with the run. On a Ballista cluster the executors cannot read
//! the client's disk, so temp tables go to the output store's staging area.

use std::sync::Arc;

use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::DataFrame;

use super::failure::{FailKind, classify, locate_error, sink_failure};
use super::model::RunShared;
use super::scan::{events_partitions, local_scanned_files, scanned_files};
use crate::catalog;
use crate::models::Model;
use crate::runlog::ModelRun;
use crate::sink;

/// A run's local scratch directory, removed (with everything in it) on drop.
pub(super) struct Scratch(pub(super) std::path::PathBuf);

impl Scratch {
    /// `<temp dir>/shoal-<pid>-<run_id>`. Scratch directories of processes
    /// that no longer run (killed before they could clean up) are removed
    /// first, where the OS lists processes under /proc.
    pub(super) fn new(run_id: &str) -> Self {
        let tmp = std::env::temp_dir();
        if std::path::Path::new("/proc/self").exists()
            && let Ok(entries) = std::fs::read_dir(&tmp)
        {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let pid = name
                    .strip_prefix("shoal-")
                    .and_then(|rest| rest.split('-').next())
                    .and_then(|p| p.parse::<u32>().ok());
                if let Some(pid) = pid
                    && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Self(tmp.join(format!("shoal-{}-{run_id}", std::process::id())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a `temp` model's result as Parquet under `scratch/name/` (one file
/// per output partition, streamed, so memory stays bounded; LZ4 for speed)
/// and registers it under its name for the rest of the run. Records the rows
/// and the files its plan read.
pub(super) async fn write_temp(
    shared: &RunShared,
    name: &str,
    df: DataFrame,
    mr: &mut ModelRun,
) -> std::result::Result<(), DataFusionError> {
    let ctx = &shared.ctx;
    let dir = shared.scratch.0.join(name);
    // A second attempt (see `run_model`) starts from an empty directory.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let url = url::Url::from_directory_path(&dir)
        .map_err(|_| DataFusionError::Execution(format!("{}: not a path", dir.display())))?;
    let plan = df.create_physical_plan().await?;
    let schema = plan.schema();
    let props = temp_writer_properties();
    ctx.write_parquet(Arc::clone(&plan), url.as_str(), Some(props))
        .await?;
    mr.rows = plan
        .metrics()
        .and_then(|m| m.output_rows())
        .map(|n| n as u64);
    mr.files_read = scanned_files(&plan);
    mr.partitions_read = events_partitions(&mr.files_read, &shared.events_prefix);
    let config = ListingTableConfig::new(ListingTableUrl::parse(url.as_str())?)
        .with_listing_options(catalog::parquet_listing_options(false))
        .with_schema(schema);
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

/// `temp` tables are read once or a few times in the same run: LZ4, the
/// cheapest codec to write.
fn temp_writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .build()
}

/// On a cluster, writes a `temp` model's result to
/// `_shoal/staging/<run>/_temp/<name>/` in the output store (the executors
/// read it from there) and registers it under its name for the rest of the
/// run; the run removes the directory when it ends.
pub(super) async fn write_temp_shared(
    shared: &RunShared,
    model: &Model,
    df: DataFrame,
    mr: &mut ModelRun,
) -> Result<(), (FailKind, String)> {
    let ctx = &shared.ctx;
    let exec_err = |e: DataFusionError| classify(&model.file, &e);
    let plan = df.clone().create_physical_plan().await.map_err(exec_err)?;
    let output = &shared.project.output;
    let dir = output.temp_root(&shared.run_id).join(&model.name);
    let props = temp_writer_properties();
    let stream = execute_stream(plan, ctx.task_ctx()).map_err(exec_err)?;
    let staged = sink::write_staged(
        Arc::clone(&output.store),
        dir.clone(),
        "part",
        stream,
        None,
        &props,
        None,
    )
    .await
    .map_err(|e| sink_failure(model, e))?;
    mr.rows = Some(staged.rows());
    mr.files_read = local_scanned_files(ctx, &df)
        .await
        .map_err(|e| (FailKind::Model, locate_error(&model.file, &e)))?;
    mr.partitions_read = events_partitions(&mr.files_read, &shared.events_prefix);
    let _ = ctx.deregister_table(model.name.as_str());
    catalog::register_listing(ctx, &model.name, &dir, staged.file_schema, false)
        .map_err(|e| (FailKind::Model, e.to_string()))?;
    audit_cluster_result(shared, model, mr).await
}

/// Runs a `temp` model's data tests on what the cluster returned. Ballista
/// 55 can return a job's result partitions twice when an executor is lost
/// in the middle of the job (docs/operations.md#ballista-cluster): a published
/// model's own tests catch that before its commit, but a `temp` table has
/// none and would pass the repeated rows on to every model after it. So on
/// a cluster a temp model's `tests:` (stg_valid_events: `unique(event_id)`)
/// run here, and a failure stops the model and everything downstream.
async fn audit_cluster_result(
    shared: &RunShared,
    model: &Model,
    mr: &mut ModelRun,
) -> Result<(), (FailKind, String)> {
    if model.header.tests.is_empty() {
        return Ok(());
    }
    let outcomes = crate::quality::run_tests(&shared.ctx, &model.name, &model.header.tests)
        .await
        .map_err(|e| {
            let (kind, message) = classify(&model.file, &e);
            (
                kind,
                format!("{}: data tests do not run: {message}", model.file),
            )
        })?;
    let blocking: Vec<String> = outcomes
        .iter()
        .filter(|o| o.blocks())
        .map(|o| format!("{} ({} rows)", o.name, o.failures))
        .collect();
    mr.tests = outcomes;
    if blocking.is_empty() {
        return Ok(());
    }
    Err((
        FailKind::Model,
        format!(
            "{}: data tests failed on the cluster's result: {}; Ballista returns rows twice when an executor is lost during a job, so nothing after this model runs and nothing of it is committed; rerun the day (docs/operations.md#ballista-cluster)",
            model.file,
            blocking.join("; ")
        ),
    ))
}

//! Execution: run the models of a project for one day.
//!
//! Takes a [`Project`] and [`RunOptions`]; plans the run
//! ([`plan::plan_run`], no side effects), takes the output lock, builds the
//! session ([`session`]), checks every input file's schema, removes deleted
//! users from committed tables, plans every model's SQL, then runs the
//! models in dependency order — independent ones concurrently, as the
//! [`schedule::Schedule`] decides — each staged, audited and committed by
//! [`model`]. It keeps going past a failed model (its downstream is
//! skipped), tells the [`observer::RunObserver`]s what happens, and hands
//! on the [`RunRecord`].
//!
//! - [`backfill`]: one run per day over a range, resumable
//! - [`plan`]: the run plan, model SQL checks, `validate`
//! - [`schedule`]: ready / skip / fail, as a pure state machine
//! - [`session`]: the one session builder, sources and committed tables
//! - [`model`]: one model, from SQL to committed table
//! - [`temp`]: `temp` models in a per-run scratch area
//! - [`scan`]: the files a plan reads, for the run record
//! - [`failure`]: failure kinds, located messages, exit status
//! - [`observer`]: the progress bar, OpenLineage and lineage.json hook in here

pub mod backfill;
pub mod failure;
pub mod model;
pub mod observer;
pub mod plan;
mod rss;
pub mod scan;
pub mod schedule;
pub mod session;
pub mod temp;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast as cast_array;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

use crate::catalog;
use crate::config;
use crate::models::{self, Model};
use crate::project::Project;
use crate::quality::{self, TestOutcome};
use crate::runlog::{ModelRun, RunLog, RunRecord, RunStatus, Status};
use crate::sink::{self, lock};
use crate::{Error, Result};

pub use backfill::{Backfill, backfill};
pub use failure::locate_error;
pub use observer::{RunObserver, RunStart};
pub use plan::{RunPlan, check_models_plan, plan_run, validate};
pub use scan::scanned_files;
pub use session::{
    query_session, query_session_at, register_committed, register_committed_at, register_sources,
    run_session,
};

use failure::FailKind;
use model::{RunShared, run_model};
use schedule::{Decision, Schedule};
use temp::Scratch;

/// Errors of the engine itself (not of one model).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A model does not plan (unknown column, type error).
    #[error("{0}")]
    Plan(String),
    /// Several models do not plan.
    #[error("{} models do not plan:\n{}", .0.len(), .0.join("\n"))]
    PlanMany(Vec<String>),
    /// DataFusion failed outside a model.
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
    /// There is no events partition to run on.
    #[error("{url}: {message}")]
    NoData {
        /// The events location.
        url: String,
        /// What is missing.
        message: String,
    },
    /// `retry` found nothing to retry.
    #[error("{0}")]
    NothingToRetry(String),
    /// The tokio task running a model panicked or was cancelled.
    #[error("model task failed: {0}")]
    Join(String),
    /// A query before the models (the deletions) passed its deadline.
    #[error("{0}")]
    Deadline(String),
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Engine(e)
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run day (`--ds`); None = `run.ds` from config.
    pub ds: Option<String>,
    /// `--select` selectors.
    pub select: Vec<String>,
    /// `--exclude` selectors.
    pub exclude: Vec<String>,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// `run`, `retry` or `backfill` (recorded).
    pub command: String,
    /// Published models this invocation has just built up to `ds − 1` (the
    /// previous-day run of a full refresh, see `reads_previous_day`): in a
    /// full refresh they run as that night's run would, rewriting only
    /// their late window instead of all history a second time.
    pub built_to_day_before: BTreeSet<String>,
}

/// Plans a run without running it (`shoal run --dry-run`): the plan, after
/// every model's SQL has planned against the sources and the committed
/// tables. Takes no lock and writes nothing.
pub async fn dry_run(project: &Project, opts: &RunOptions) -> Result<RunPlan> {
    let ds = project.resolve_ds(opts.ds.as_deref()).await?;
    let plan = plan_run(project, opts, ds).await?;
    let ctx = run_session(project)?;
    register_sources(project, &ctx).await?;
    check_plan(project, &ctx, &plan).await?;
    Ok(plan)
}

/// Runs the selected models for one day and returns the run record.
///
/// Errors before any model runs (bad selection, missing input, lock) are
/// returned as `Err`; model failures are in the record.
pub async fn run(
    project: &Project,
    opts: &RunOptions,
    observers: &[Arc<dyn RunObserver>],
) -> Result<RunRecord> {
    let started = Utc::now();
    #[cfg(feature = "ballista")]
    if project.is_distributed() {
        crate::distributed::check_scheduler(&project.config().engine)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
    }
    let ds = project.resolve_ds(opts.ds.as_deref()).await?;
    // A selector that names no model (or a path) is refused before the
    // lease: such a run writes nothing at all.
    let dag = project.dag(ds, opts.full_refresh, None)?;
    let selected = dag.select(&opts.select, &opts.exclude)?;
    let run_id = crate::runlog::new_run_id();
    let mut lease = take_lease(project, &run_id).await?;
    let result = async {
        let mut run_opts = opts.clone();
        if let Some(previous) = previous_day_run(project, opts, ds, &dag, &selected).await? {
            // The run of ds must be able to start before the day before is
            // built: its inputs' schemas are checked first (exit 3 writes
            // nothing).
            let plan = plan_run(project, opts, ds).await?;
            catalog::check_parquet_schemas(
                &run_session(project)?.state(),
                project.stores.store_for(&project.events)?,
                &project.events,
                &plan.input_files,
                &catalog::events_schema(),
                &[],
            )
            .await?;
            let day = ds - chrono::Duration::days(1);
            tracing::info!(%day, select = ?previous.select, "building the previous day first: models of the run read its partitions");
            let record = run_locked(
                project,
                &previous,
                observers,
                day,
                &crate::runlog::new_run_id(),
                Utc::now(),
                lease.guard(),
            )
            .await?;
            if record.exit_code != Some(crate::ExitStatus::Success) {
                return Ok(record);
            }
            // The published models it built run for ds as that night's
            // run would (their late window only).
            run_opts.built_to_day_before = dag
                .select(&previous.select, &[])?
                .into_iter()
                .filter(|name| {
                    dag.get(name)
                        .is_some_and(|m| m.header.materialized.is_published())
                })
                .collect();
        }
        run_locked(
            project,
            &run_opts,
            observers,
            ds,
            &run_id,
            started,
            lease.guard(),
        )
        .await
    }
    .await;
    lock::release(&project.output, &mut lease).await;
    result
}

/// The run of `ds − 1` that has to come first, if any: the upstream models
/// named by `reads_previous_day` of a selected model whose `ds − 1`
/// partition is not committed, with their ancestors, as that night's run
/// (a full refresh when this one is). None when every such partition is
/// committed, or when there are no events for `ds − 1` (that night would
/// have had nothing to build either).
async fn previous_day_run(
    project: &Project,
    opts: &RunOptions,
    ds: NaiveDate,
    dag: &models::Dag,
    selected: &BTreeSet<String>,
) -> Result<Option<RunOptions>> {
    let day = ds - chrono::Duration::days(1);
    let mut needed = BTreeSet::new();
    for m in dag.models.iter().filter(|m| selected.contains(&m.name)) {
        for up in &m.header.reads_previous_day {
            if !needed.contains(up) && !project.output.has_day(up, day).await? {
                needed.insert(up.clone());
            }
        }
    }
    if needed.is_empty() {
        return Ok(None);
    }
    let events_store = project.stores.store_for(&project.events)?;
    let partitions = catalog::list_partitions(events_store.as_ref(), &project.events).await?;
    if !partitions.iter().any(|p| p.day == day) {
        return Ok(None);
    }
    Ok(Some(RunOptions {
        ds: Some(day.to_string()),
        select: needed.iter().map(|m| format!("+{m}")).collect(),
        exclude: vec![],
        full_refresh: opts.full_refresh,
        command: if opts.command.is_empty() {
            "run".into()
        } else {
            opts.command.clone()
        },
        built_to_day_before: BTreeSet::new(),
    }))
}

async fn run_locked(
    project: &Project,
    opts: &RunOptions,
    observers: &[Arc<dyn RunObserver>],
    ds: NaiveDate,
    run_id: &str,
    started: chrono::DateTime<Utc>,
    lease: sink::LeaseGuard,
) -> Result<RunRecord> {
    let config = project.config();
    let mut warnings: Vec<String> = project.output.recover().await?;
    if project.output.is_delta_format() {
        warnings.extend(migrate_to_delta(project).await?);
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let plan = plan_run(project, opts, ds).await?;
    warnings.extend(plan.warnings.iter().cloned());
    let events_store = project.stores.store_for(&project.events)?;
    let ctx = run_session(project)?;
    // Check the schema of every file the run will read (footers only).
    catalog::check_parquet_schemas(
        &ctx.state(),
        Arc::clone(&events_store),
        &project.events,
        &plan.input_files,
        &catalog::events_schema(),
        &[], // every column of docs/events.md#events must be present
    )
    .await?;

    register_sources(project, &ctx).await?;
    // Users added to `deletions` leave every committed table before any
    // model reads history (docs/events.md#deletions: excluded from every output).
    // The first query of a run: on a cluster without executors it would
    // wait for ever, so it has the model deadline too.
    let ids = match config.run.model_limit() {
        None => deleted_user_ids(&ctx).await?,
        Some(limit) => tokio::time::timeout(limit, deleted_user_ids(&ctx))
            .await
            .map_err(|_| {
                EngineError::Deadline(format!(
                    "reading the deletions source did not finish within run.model_timeout ({}); nothing was written{}",
                    config.run.model_timeout,
                    model::cluster_hint(project)
                ))
            })??,
    };
    let published: Vec<String> = project
        .models
        .iter()
        .filter(|m| m.header.materialized.is_published())
        .map(|m| m.name.clone())
        .collect();
    let props = sink::writer_properties(&config.output.compression);
    for note in sink::purge_deleted_users(&project.output, &published, &ids, run_id, &props).await?
    {
        tracing::warn!("{note}");
        warnings.push(note);
    }
    check_plan(project, &ctx, &plan).await?;

    let mut record = RunRecord {
        run_id: run_id.to_string(),
        project: config.project.clone(),
        command: if opts.command.is_empty() {
            "run".into()
        } else {
            opts.command.clone()
        },
        ds,
        full_refresh: plan.full_refresh,
        select: opts.select.clone(),
        exclude: opts.exclude.clone(),
        config_fingerprint: project.loaded.fingerprint.clone(),
        shoal_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started,
        finished_at: None,
        peak_rss_bytes: None,
        status: RunStatus::Running,
        exit_code: None,
        input_partitions: plan
            .partitions
            .iter()
            .map(|p| format!("dt={}", p.day))
            .collect(),
        warnings,
        models: vec![],
    };
    let runlog = RunLog::new(project.output.clone());
    if let Err(e) = runlog.checkpoint(&record).await {
        tracing::warn!("cannot write the run record: {e}");
    }
    tracing::info!(run_id, %ds, models = plan.run_set.len(), full_refresh = plan.full_refresh, "run started");
    for o in observers {
        o.run_started(RunStart {
            run_id,
            ds,
            models: plan.run_set.len(),
        })
        .await;
    }

    let shared = Arc::new(RunShared {
        project: project.clone(),
        ctx,
        scratch: Scratch::new(run_id),
        run_id: run_id.to_string(),
        plan,
        events_prefix: project.events.prefix().to_string(),
        events_store,
        undecodable: tokio::sync::OnceCell::new(),
        turns: tokio::sync::RwLock::new(()),
        lease,
        run_deadline: config
            .run
            .run_limit()
            .map(|limit| tokio::time::Instant::now() + limit),
    });
    let fail_kinds = run_models(&shared, observers, &mut record, &runlog).await?;
    let plan = &shared.plan;
    if project.is_distributed() {
        let _ = project
            .output
            .remove_prefix(&project.output.temp_root(run_id))
            .await;
    }
    // Object stores have no directories; on local disk remove the empty ones staging left.
    if let Ok(dir) = project
        .output
        .meta_dir()
        .join("staging")
        .url()
        .to_file_path()
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    if project.output.is_delta_format() {
        vacuum_published(project, &record).await;
    }
    let status = failure::exit_status(&fail_kinds);
    record.finished_at = Some(Utc::now());
    record.peak_rss_bytes = rss::process_peak();
    record.status = if status == crate::ExitStatus::Success {
        RunStatus::Success
    } else {
        RunStatus::Failed
    };
    record.exit_code = Some(status);
    runlog.finish(&record).await?;
    if status == crate::ExitStatus::Success {
        runlog
            .mark_day(
                ds,
                &plan.selected.iter().cloned().collect::<Vec<_>>(),
                run_id,
            )
            .await?;
    }
    for o in observers {
        o.run_finished(&record).await;
    }
    let (ok, failed, skipped) = record.counts();
    tracing::info!(run_id, %ds, ok, failed, skipped, exit_code = status as u8, peak_rss_mib = record.peak_rss_bytes.map(|b| b >> 20), "run finished");
    Ok(record)
}

/// Takes the output lease for `run_id` for `output.lease`.
async fn take_lease(project: &Project, run_id: &str) -> Result<lock::Lease> {
    let ttl = config::parse_duration_secs(&project.config().output.lease).unwrap_or(60);
    Ok(lock::acquire(&project.output, run_id, std::time::Duration::from_secs(ttl)).await?)
}

/// `shoal migrate`: under the output lease, recovers what a killed run of
/// an older shoal left and turns every plain-Parquet model output into a
/// Delta table now, instead of at the next run. Returns a note per table
/// (none when the output was migrated before or holds no plain output).
pub async fn migrate(project: &Project) -> Result<Vec<String>> {
    if !project.output.is_delta_format() {
        return Err(Error::Usage(
            "output.format is parquet: there is nothing to migrate to; set output.format: delta (the default, docs/outputs.md) first".into(),
        ));
    }
    let mut lease = take_lease(project, &crate::runlog::new_run_id()).await?;
    let result = async {
        let mut notes = project.output.recover().await?;
        notes.extend(migrate_to_delta(project).await?);
        Ok(notes)
    }
    .await;
    lock::release(&project.output, &mut lease).await;
    result
}

/// Turns each plain-Parquet model output (from a shoal before Delta
/// outputs, or `output.format: parquet`) into a Delta table whose first
/// version is its files as they are, once per output (`_shoal/format.json`
/// records it). Returns a note per table.
async fn migrate_to_delta(project: &Project) -> Result<Vec<String>> {
    use object_store::ObjectStoreExt;
    // Outputs that Delta-writing runs have used carry this marker: a table
    // directory without a log there holds only a killed first build's
    // uncommitted files, never a table to adopt.
    let marker = project.output.meta_dir().prefix().join("format.json");
    if project.output.store.head(&marker).await.is_ok() {
        return Ok(vec![]);
    }
    let mut notes = Vec::new();
    for m in project
        .models
        .iter()
        .filter(|m| m.header.materialized.is_published())
    {
        if let Some(version) = project.output.migrate(&m.name).await? {
            let note = format!(
                "{}: the plain Parquet output became Delta table version {version}",
                m.name
            );
            tracing::warn!("{note}");
            notes.push(note);
        }
    }
    project
        .output
        .put(
            &marker,
            serde_json::to_vec(&serde_json::json!({"format": "delta"})).expect("json"),
        )
        .await?;
    Ok(notes)
}

/// Removes the files that versions older than `output.keep_versions` and
/// killed runs left in the tables this run committed to. A failure is a
/// warning: the tables are consistent, only space is not yet reclaimed.
async fn vacuum_published(project: &Project, record: &RunRecord) {
    let keep =
        config::parse_duration_secs(&project.config().output.keep_versions).unwrap_or(7 * 86_400);
    for m in record.models.iter().filter(|m| m.delta_version.is_some()) {
        match project
            .output
            .vacuum(&m.name, std::time::Duration::from_secs(keep))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(model = %m.name, files = n, "vacuumed"),
            Err(e) => tracing::warn!(model = %m.name, "vacuum failed: {e}"),
        }
    }
}

/// Registers the committed tables the run reads but does not rebuild, then
/// plans every model of the run against them: nothing runs if one does not plan.
async fn check_plan(project: &Project, ctx: &SessionContext, plan: &RunPlan) -> Result<()> {
    for m in &plan.dag.models {
        if !plan.run_set.contains(&m.name) && m.header.materialized.is_published() {
            register_committed(project, ctx, m).await?;
        }
    }
    check_models_plan(ctx, &plan.dag, &plan.run_set, plan.ds).await
}

/// Runs the models of the plan (in DAG order) as the [`Schedule`]
/// decides, up to `run.concurrency` at once; records each in `record`
/// (checkpointed after every model) and tells the observers. Returns the
/// failure kinds, for the exit status.
async fn run_models(
    shared: &Arc<RunShared>,
    observers: &[Arc<dyn RunObserver>],
    record: &mut RunRecord,
    runlog: &RunLog,
) -> Result<Vec<FailKind>> {
    let run_id = shared.run_id.as_str();
    let run_set = &shared.plan.run_set;
    let order: Vec<&Model> = shared.plan.models().collect();
    let by_name = |name: &str| -> &Model {
        order
            .iter()
            .find(|m| m.name == name)
            .expect("scheduled models are in the run")
    };
    let mut schedule = Schedule::new(order.iter().map(|m| (m.name.as_str(), m.deps.as_slice())));
    let mut fail_kinds: Vec<FailKind> = Vec::new();
    let mut tasks: JoinSet<(ModelRun, Option<FailKind>)> = JoinSet::new();
    let concurrency = shared.project.config().run.concurrency.max(1);
    loop {
        // Start what is ready, skip what cannot run.
        loop {
            let decisions = schedule.next(concurrency.saturating_sub(tasks.len()));
            if decisions.is_empty() {
                break;
            }
            for decision in decisions {
                let (m, outcome) = match decision {
                    Decision::Skip { model, upstream } => {
                        let m = by_name(&model);
                        tracing::warn!(model = %m.name, "skipped: upstream model {upstream} did not succeed");
                        let mr = ModelRun::not_run(
                            &m.name,
                            m.header.materialized,
                            Status::Skipped,
                            format!("upstream model {upstream} did not succeed"),
                        );
                        (m, mr)
                    }
                    Decision::Start(name) => {
                        let m = by_name(&name);
                        // An upstream model outside the run must have committed output.
                        let missing = m.deps.iter().find(|d| {
                            !run_set.contains(*d)
                                && shared
                                    .ctx
                                    .table_exist(d.as_str())
                                    .map(|e| !e)
                                    .unwrap_or(true)
                        });
                        let Some(missing) = missing else {
                            for o in observers {
                                o.model_started(run_id, m).await;
                            }
                            let shared = Arc::clone(shared);
                            let model = m.clone();
                            tasks.spawn(async move { run_model(&shared, &model).await });
                            continue;
                        };
                        let mr = ModelRun::not_run(
                            &m.name,
                            m.header.materialized,
                            Status::Failed,
                            format!(
                                "{}: upstream model {missing} has no committed output; run it first (shoal run --select +{})",
                                m.file, m.name
                            ),
                        );
                        tracing::error!(model = %m.name, "{}", mr.error.as_deref().unwrap_or(""));
                        schedule.finish(&m.name, Status::Failed);
                        fail_kinds.push(FailKind::Model);
                        (m, mr)
                    }
                };
                for o in observers {
                    o.model_finished(run_id, m, &outcome).await;
                }
                record.models.push(outcome);
            }
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (mr, kind) = joined.map_err(|e| EngineError::Join(e.to_string()))?;
        if let Some(k) = kind {
            fail_kinds.push(k);
        }
        schedule.finish(&mr.name, mr.status);
        log_model_run(&mr);
        let m = by_name(&mr.name);
        for o in observers {
            o.model_finished(run_id, m, &mr).await;
        }
        record.models.push(mr);
        if let Err(e) = runlog.checkpoint(record).await {
            tracing::warn!("cannot write the run record: {e}");
        }
    }
    debug_assert!(schedule.is_done(), "every model of the run ended");
    Ok(fail_kinds)
}

/// The log line of a model that ran.
fn log_model_run(mr: &ModelRun) {
    match mr.status {
        Status::Success if mr.rows.is_none() => {
            tracing::info!(model = %mr.name, ms = mr.duration_ms, "ok (view)")
        }
        Status::Success if mr.materialized == models::Materialization::Temp => tracing::info!(
            model = %mr.name,
            rows = mr.rows.unwrap_or(0),
            ms = mr.duration_ms,
            rss_mib = mr.rss_bytes.map(|b| b >> 20),
            "ok (temp, this run only)"
        ),
        Status::Success => tracing::info!(
            model = %mr.name,
            rows = mr.rows.unwrap_or(0),
            ms = mr.duration_ms,
            rss_mib = mr.rss_bytes.map(|b| b >> 20),
            partitions = %summarize_partitions(&mr.partitions_written),
            "ok"
        ),
        _ => tracing::error!(model = %mr.name, "failed: {}", mr.error.as_deref().unwrap_or("")),
    }
}

/// `dt=A` or `dt=A..dt=B (n partitions)` for logs; the run record keeps the full list.
fn summarize_partitions(parts: &[String]) -> String {
    match parts {
        [] => "-".into(),
        [one] if one.is_empty() => "whole table".into(),
        [one] => one.clone(),
        [first, .., last] => format!("{first}..{last} ({} partitions)", parts.len()),
    }
}

/// The user ids in the `deletions` source, as text.
async fn deleted_user_ids(ctx: &SessionContext) -> Result<BTreeSet<String>> {
    let batches = ctx
        .sql("select distinct cast(user_id as varchar) as user_id from deletions where user_id is not null")
        .await
        .map_err(EngineError::from)?
        .collect()
        .await
        .map_err(EngineError::from)?;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for b in &batches {
        let col = cast_array(b.column(0), &DataType::Utf8)
            .map_err(|e| EngineError::from(DataFusionError::from(e)))?;
        let col = col
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        ids.extend(col.iter().flatten().map(str::to_string));
    }
    Ok(ids)
}

/// Runs the data tests of the selected models on their committed outputs.
pub async fn test_models(
    project: &Project,
    ds: NaiveDate,
    select: &[String],
) -> Result<Vec<(String, Vec<TestOutcome>)>> {
    let (ctx, dag) = query_session(project, ds).await?;
    let chosen = dag.select(select, &[])?;
    let mut out = Vec::new();
    for m in dag
        .models
        .iter()
        .filter(|m| chosen.contains(&m.name) && !m.header.tests.is_empty())
    {
        if !ctx
            .table_exist(m.name.as_str())
            .map_err(EngineError::from)?
        {
            out.push((
                m.name.clone(),
                vec![TestOutcome {
                    name: "has committed output".into(),
                    severity: models::Severity::Error,
                    failures: 1,
                }],
            ));
            continue;
        }
        // A daily model's tests hold for what one run writes (the run's
        // audit checks exactly that): the days the run of `ds` replaces,
        // not every day of history (`unique: user_id` holds per day).
        let late_days = project.config().run.late_days;
        let table = if let Some(days) = model::written_days(m, late_days, ds, false) {
            let from = days.from.expect("not a full refresh");
            let view = format!("__test_{}", m.name);
            let df = ctx
                .sql(&format!(
                    "select * from \"{}\" where {DT} between date '{from}' and date '{ds}'",
                    m.name,
                    DT = catalog::DT
                ))
                .await
                .map_err(|e| EngineError::Plan(locate_error(&m.file, &e)))?;
            ctx.register_table(view.as_str(), df.into_view())
                .map_err(|e| EngineError::Plan(locate_error(&m.file, &e)))?;
            view
        } else {
            m.name.clone()
        };
        let outcomes = quality::run_tests(&ctx, &table, &m.header.tests)
            .await
            .map_err(|e| EngineError::Plan(locate_error(&m.file, &e)))?;
        out.push((m.name.clone(), outcomes));
    }
    Ok(out)
}

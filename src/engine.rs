//! Execution: the DataFusion session and the run of a model DAG.
//!
//! Takes a [`Project`] (config, stores, models) and [`RunOptions`]; builds
//! a `SessionContext` (shoal's functions, a spilling memory pool, the
//! sources), runs the selected models in dependency order — independent
//! ones concurrently — stages, audits and commits each result, keeps going
//! past a failed model (its downstream is skipped) and hands on the
//! [`RunRecord`].

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{cast, col};
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use object_store::ObjectStoreExt;
use tokio::task::JoinSet;

use crate::catalog::{self, DT, Location, Stores};
use crate::config::{self, LoadedConfig, MissingPartition};
use crate::models::{self, Dag, DsSpec, Materialization, Model, TemplateContext};
use crate::runlog::{ModelRun, RunLog, RunRecord, Status};
use crate::sink::{self, DayRange, Output};
use crate::{Error, Result};

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
    /// Another run holds the output lock.
    #[error("{url}: {message}")]
    Locked {
        /// The lock object.
        url: String,
        /// Who holds it and what to do.
        message: String,
    },
    /// `retry` found nothing to retry.
    #[error("{0}")]
    NothingToRetry(String),
    /// The tokio task running a model panicked or was cancelled.
    #[error("model task failed: {0}")]
    Join(String),
}

/// A project: configuration, object stores, output location and model files.
#[derive(Debug, Clone)]
pub struct Project {
    /// The loaded configuration.
    pub loaded: LoadedConfig,
    /// Object stores by URL.
    pub stores: Stores,
    /// The events location.
    pub events: Location,
    /// The output location and store.
    pub output: Output,
    /// Discovered model files (not yet rendered).
    pub models: Vec<Model>,
}

impl Project {
    /// Loads config and models from `project_dir`.
    pub fn open(config_path: &FsPath, project_dir: &FsPath, overrides: &[String]) -> Result<Self> {
        let loaded = config::load_config(config_path, project_dir, overrides)?;
        let stores = Stores::new(loaded.config.storage.clone());
        Self::with_stores(loaded, stores)
    }

    /// A project with given stores (tests wrap stores to inject faults).
    pub fn with_stores(loaded: LoadedConfig, stores: Stores) -> Result<Self> {
        let c = &loaded.config;
        let events = Location::parse(&c.sources.events.location, &loaded.project_dir)?;
        let root = Location::parse(&c.output.location, &loaded.project_dir)?;
        let store = stores.store_for(&root)?;
        let models_dir: PathBuf = loaded.project_dir.join(&c.models_dir);
        let models = models::discover_models(&loaded.project_dir, &models_dir)?;
        Ok(Self {
            output: Output { root, store },
            events,
            stores,
            loaded,
            models,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &config::Config {
        &self.loaded.config
    }

    /// Whether models run on a Ballista cluster (`engine: ballista://HOST:PORT`).
    pub fn is_distributed(&self) -> bool {
        self.config().engine != "local"
    }

    /// Resolves `run.ds` (or an override) to a day; `latest` lists the events partitions.
    pub async fn resolve_ds(&self, ds: Option<&str>) -> Result<NaiveDate> {
        let text = ds.unwrap_or(&self.config().run.ds);
        match DsSpec::parse(text).map_err(models::ModelError::Ds)? {
            DsSpec::Day(d) => Ok(d),
            DsSpec::Yesterday => Ok(Utc::now().date_naive() - Duration::days(1)),
            DsSpec::Latest => {
                let store = self.stores.store_for(&self.events)?;
                let parts = catalog::list_partitions(store.as_ref(), &self.events).await?;
                parts.last().map(|p| p.day).ok_or_else(|| {
                    EngineError::NoData {
                        url: self.events.to_string(),
                        message: "no dt=YYYY-MM-DD partitions, so ds `latest` has no day; check sources.events.location or pass --ds".into(),
                    }
                    .into()
                })
            }
        }
    }

    /// Renders every model for `ds` and builds the DAG.
    pub fn dag(
        &self,
        ds: NaiveDate,
        full_refresh: bool,
        first_partition: Option<NaiveDate>,
    ) -> Result<Dag> {
        let ctx = TemplateContext::new(self.config(), ds, full_refresh, first_partition);
        Ok(Dag::build(self.models.clone(), &ctx)?)
    }

    /// A session with shoal's functions, the memory pool and the stores registered.
    pub fn session(&self) -> Result<SessionContext> {
        let run = &self.config().run;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let target_partitions = if run.target_partitions == 0 {
            cores
        } else {
            run.target_partitions
        };
        let mut cfg = SessionConfig::new()
            .with_target_partitions(target_partitions)
            .with_information_schema(true);
        cfg.options_mut().sql_parser.collect_spans = true;
        let limit = config::parse_size(&run.memory_limit).unwrap_or(4 << 30);
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(pool_share(limit)),
            NonZeroUsize::new(5).expect("5 > 0"),
        );
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(DiskManagerBuilder::default())
            .build_arc()
            .map_err(EngineError::from)?;
        let ctx = if self.is_distributed() {
            let ctx = self.remote_session(cfg, runtime)?;
            crate::functions::register_all(&ctx);
            ctx
        } else {
            crate::functions::local_session(cfg, runtime)
        };
        self.stores.register(&ctx, &self.events)?;
        self.stores.register(&ctx, &self.output.root)?;
        Ok(ctx)
    }

    /// A Ballista client session: queries are planned and executed by the
    /// cluster at `engine`, results stream back here.
    #[cfg(feature = "ballista")]
    fn remote_session(
        &self,
        cfg: SessionConfig,
        runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    ) -> Result<SessionContext> {
        use crate::distributed::{self, DistributedError};
        let engine = &self.config().engine;
        distributed::scheduler_url(engine).map_err(|e| Error::Usage(e.to_string()))?;
        let mut locations = vec![self.events.clone(), self.output.root.clone()];
        let s = &self.config().sources;
        for src in [s.users.as_ref(), s.deletions.as_ref()]
            .into_iter()
            .flatten()
        {
            locations.push(Location::parse(&src.location, &self.loaded.project_dir)?);
        }
        for l in &locations {
            distributed::check_shared(l)
                .map_err(|e: DistributedError| Error::Usage(e.to_string()))?;
        }
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(cfg)
            .with_runtime_env(runtime)
            .with_default_features()
            .build();
        let state = distributed::remote_session_state(state, engine).map_err(EngineError::from)?;
        Ok(SessionContext::new_with_state(state))
    }

    /// Without the `ballista` feature there is no remote engine.
    #[cfg(not(feature = "ballista"))]
    fn remote_session(
        &self,
        _cfg: SessionConfig,
        _runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    ) -> Result<SessionContext> {
        Err(Error::Usage(format!(
            "engine {:?}: this shoal was built without the `ballista` feature; use --engine local or rebuild with --features ballista",
            self.config().engine
        )))
    }

    /// Registers `events`, `users` and `deletions`. The events table has the
    /// schema of SPEC §1 and a `dt` DATE partition column; nothing is read.
    pub async fn register_sources(&self, ctx: &SessionContext) -> Result<()> {
        catalog::register_listing(ctx, "events", &self.events, catalog::events_schema(), true)?;
        let dir = &self.loaded.project_dir;
        let s = &self.config().sources;
        // In-memory tables do not travel to a Ballista scheduler; empty listing tables do.
        let empty_dir = self
            .is_distributed()
            .then(|| self.output.meta_dir().join("empty"));
        catalog::register_side_source(
            ctx,
            &self.stores,
            "users",
            s.users.as_ref(),
            dir,
            catalog::users_schema(),
            empty_dir.as_ref(),
        )
        .await?;
        catalog::register_side_source(
            ctx,
            &self.stores,
            "deletions",
            s.deletions.as_ref(),
            dir,
            catalog::deletions_schema(),
            empty_dir.as_ref(),
        )
        .await?;
        let key = self
            .config()
            .privacy
            .hash_key()
            .map_err(|m| Error::Usage(format!("privacy.hash_key_env: {m}")))?;
        if let Some(key) = key {
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::from(
                crate::functions::Pseudonymize::new(&key),
            ));
            for (name, cols) in [
                ("events", &["user_id", "referrer_id"][..]),
                ("users", &["user_id"][..]),
                ("deletions", &["user_id"][..]),
            ] {
                pseudonymize_source(ctx, name, cols).await?;
            }
        }
        Ok(())
    }

    /// Registers the committed output of a materialized model, if it has any
    /// files. Returns whether it did.
    pub async fn register_committed(&self, ctx: &SessionContext, model: &Model) -> Result<bool> {
        let dir = self.output.model_dir(&model.name);
        let files = catalog::list_files(self.output.store.as_ref(), &dir, &dir.prefix()).await?;
        if !files
            .iter()
            .any(|f| f.location.as_ref().ends_with(".parquet"))
        {
            return Ok(false);
        }
        let daily = model.header.materialized == Materialization::Daily;
        let url = ListingTableUrl::parse(dir.url().as_str()).map_err(EngineError::from)?;
        let config = ListingTableConfig::new(url)
            .with_listing_options(catalog::parquet_listing_options(daily))
            .infer_schema(&ctx.state())
            .await
            .map_err(EngineError::from)?;
        let table = ListingTable::try_new(config).map_err(EngineError::from)?;
        ctx.deregister_table(model.name.as_str())
            .map_err(EngineError::from)?;
        ctx.register_table(model.name.as_str(), Arc::new(table))
            .map_err(EngineError::from)?;
        Ok(true)
    }
}

/// Replaces source table `name` by a view of it whose `id_columns` are
/// pseudonymised (`privacy.hash_user_ids`); the raw table stays registered
/// as `__shoal_raw_<name>`, which no model can name (models only read
/// sources and models). Filters on `dt` still prune partitions through the view.
async fn pseudonymize_source(ctx: &SessionContext, name: &str, id_columns: &[&str]) -> Result<()> {
    let raw = format!("__shoal_raw_{name}");
    let Some(provider) = ctx.deregister_table(name).map_err(EngineError::from)? else {
        return Ok(());
    };
    let fields: Vec<String> = provider
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let n = f.name();
            if id_columns.contains(&n.as_str()) {
                format!("{}(\"{n}\") as \"{n}\"", crate::functions::PSEUDONYMIZE)
            } else {
                format!("\"{n}\"")
            }
        })
        .collect();
    ctx.register_table(raw.as_str(), provider)
        .map_err(EngineError::from)?;
    let view = ctx
        .sql(&format!("select {} from \"{raw}\"", fields.join(", ")))
        .await
        .map_err(EngineError::from)?
        .into_view();
    ctx.register_table(name, view).map_err(EngineError::from)?;
    Ok(())
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
    /// Show a progress bar.
    pub progress: bool,
}

/// Places a DataFusion error in a model file: `file:line:col: message`.
pub fn locate_error(file: &str, err: &DataFusionError) -> String {
    let root = err.find_root();
    let diag = err.diagnostic().or_else(|| root.diagnostic());
    let text = root.strip_backtrace();
    let text = text
        .trim_start_matches("Error during planning: ")
        .to_string();
    match diag.and_then(|d| d.span) {
        Some(span) => format!("{file}:{}:{}: {text}", span.start.line, span.start.column),
        None => format!("{file}: {text}"),
    }
}

/// Whether some DataFusion error in the chain of `err` (its sources,
/// through wrappers) satisfies `pred`.
fn any_in_chain(err: &DataFusionError, pred: impl Fn(&DataFusionError) -> bool) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<DataFusionError>().is_some_and(&pred) {
            return true;
        }
        next = e.source();
    }
    false
}

/// Whether a DataFusion error comes from reading input (exit 3).
fn is_input_error(err: &DataFusionError) -> bool {
    any_in_chain(err, |df| match df {
        DataFusionError::ParquetError(_) | DataFusionError::ObjectStore(_) => true,
        DataFusionError::ArrowError(a, _) => matches!(
            a.as_ref(),
            datafusion::arrow::error::ArrowError::ParquetError(_)
                | datafusion::arrow::error::ArrowError::IoError(..)
        ),
        _ => false,
    })
}

/// The hint of a model that ran out of the memory pool even alone.
const MEMORY_HINT: &str = "\n  (an operator that cannot spill needed more than run.memory_limit allows: raise it with --memory-limit, or keep the larger input of each join off the left, build side)";

/// The failure class and message of an error while planning or executing a
/// model: input errors (exit 3) say whether storage or the file is at fault.
fn classify(file: &str, err: &DataFusionError) -> (FailKind, String) {
    let message = locate_error(file, err);
    if any_in_chain(err, |df| {
        matches!(df, DataFusionError::ResourcesExhausted(_))
    }) {
        return (FailKind::Memory, format!("{message}{MEMORY_HINT}"));
    }
    if !is_input_error(err) {
        return (FailKind::Model, message);
    }
    let hint = if catalog::storage_cause(err).is_some() {
        STORAGE_HINT
    } else {
        " (an input file is unreadable: replace or remove it, then `shoal retry`)"
    };
    (FailKind::Input, format!("{message}{hint}"))
}

/// The hint of an input error caused by storage (not by a file's content).
const STORAGE_HINT: &str = " (reading from storage failed after retries: check the endpoint, credentials and storage.retry, then `shoal retry`)";

/// The part of `run.memory_limit` given to DataFusion's memory pool: three
/// quarters. The rest is kept for what the pool does not count (Parquet
/// decode and encode buffers, batches between operators), so that the
/// process stays near the limit instead of the pool alone filling it.
fn pool_share(memory_limit: usize) -> usize {
    memory_limit / 4 * 3
}

/// Every file a physical plan scans (after partition pruning), as URLs.
pub fn scanned_files(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![Arc::clone(plan)];
    while let Some(p) = stack.pop() {
        if let Some(ds) = p.downcast_ref::<DataSourceExec>()
            && let Some(fsc) = ds.data_source().downcast_ref::<FileScanConfig>()
        {
            let base = fsc
                .object_store_url
                .as_str()
                .trim_end_matches('/')
                .to_string();
            for g in &fsc.file_groups {
                for f in g.iter() {
                    out.push(format!("{base}/{}", f.object_meta.location));
                }
            }
        }
        stack.extend(p.children().into_iter().cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// The files a DataFrame scans, from a local physical plan (used when the
/// real plan runs on a Ballista cluster and is opaque here). Lists files, reads nothing.
async fn local_scanned_files(
    ctx: &SessionContext,
    df: &datafusion::dataframe::DataFrame,
) -> Result<Vec<String>, DataFusionError> {
    use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
    let state = ctx.state();
    let optimized = state.optimize(df.logical_plan())?;
    let plan = DefaultPhysicalPlanner::default()
        .create_physical_plan(&optimized, &state)
        .await?;
    Ok(scanned_files(&plan))
}

/// The state one run shares with its model tasks.
struct RunShared {
    project: Project,
    ctx: SessionContext,
    /// Where `temp` models are written for the run; removed when the run ends.
    scratch: Scratch,
    run_id: String,
    ds: NaiveDate,
    full_refresh: bool,
    late_days: u32,
    events_prefix: String,
    /// The events store and the input files of the run (footers checked).
    events_store: Arc<dyn object_store::ObjectStore>,
    input_files: Vec<object_store::ObjectMeta>,
    /// The first input file that does not decode, found once after a model
    /// failed on input: `(url, message)`.
    undecodable: tokio::sync::OnceCell<Option<(String, String)>>,
    /// Models execute holding a read guard (so `run.concurrency` of them
    /// share the memory pool); a model that ran out of the pool next to
    /// others runs again holding the write guard, alone.
    turns: tokio::sync::RwLock<()>,
}

/// A run's local scratch directory, removed (with everything in it) on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `<temp dir>/shoal-<pid>-<run_id>`. Scratch directories of processes
    /// that no longer run (killed before they could clean up) are removed
    /// first, where the OS lists processes under /proc.
    fn new(run_id: &str) -> Self {
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

/// Failure class of a model, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailKind {
    Model,
    /// The memory pool could not grant an allocation that cannot spill
    /// (exit 1, as a model error; run again alone once, see `run_model`).
    Memory,
    Input,
    Output,
}

/// Runs the selected models for one day and returns the run record.
///
/// Errors before any model runs (bad selection, missing input, lock) are
/// returned as `Err`; model failures are in the record.
pub async fn run(project: &Project, opts: &RunOptions) -> Result<RunRecord> {
    let started = Utc::now();
    #[cfg(feature = "ballista")]
    if project.is_distributed() {
        crate::distributed::check_scheduler(&project.config().engine)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
    }
    let ds = project.resolve_ds(opts.ds.as_deref()).await?;
    let run_id = crate::runlog::new_run_id();
    let lock = acquire_lock(&project.output, &run_id).await?;
    let result = run_locked(project, opts, ds, &run_id, started).await;
    release_lock(&project.output, &lock).await;
    result
}

async fn run_locked(
    project: &Project,
    opts: &RunOptions,
    ds: NaiveDate,
    run_id: &str,
    started: chrono::DateTime<Utc>,
) -> Result<RunRecord> {
    let config = project.config();
    let mut warnings: Vec<String> = project.output.recover().await?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let events_store = project.stores.store_for(&project.events)?;
    let partitions = catalog::list_partitions(events_store.as_ref(), &project.events).await?;
    let first_partition = partitions.first().map(|p| p.day);
    let mut full_refresh = opts.full_refresh;
    let mut dag = project.dag(ds, full_refresh, first_partition)?;
    let selected = dag.select(&opts.select, &opts.exclude)?;
    // Like a dbt incremental model's first build: a model that rewrites a
    // window of days and has no committed output yet is built from all history.
    if !full_refresh {
        for m in dag.models.iter().filter(|m| selected.contains(&m.name)) {
            if m.header.materialized == Materialization::Daily
                && m.header.rewrites_days.days(config.run.late_days) > 0
                && !has_output(&project.output, &m.name).await?
            {
                tracing::info!(model = %m.name, "no committed output yet: this run is a full refresh");
                warnings.push(format!(
                    "{} had no committed output: the run was a full refresh",
                    m.name
                ));
                full_refresh = true;
                dag = project.dag(ds, full_refresh, first_partition)?;
                break;
            }
        }
    }
    // Views and temp tables that selected models read run too: they are not published.
    let mut run_set: BTreeSet<String> = selected.clone();
    for name in &selected {
        for up in dag.upstream(name) {
            if dag
                .get(&up)
                .is_some_and(|m| !m.header.materialized.is_published())
            {
                run_set.insert(up);
            }
        }
    }
    let tctx = TemplateContext::new(config, ds, full_refresh, first_partition);
    let scan_from =
        NaiveDate::parse_from_str(&tctx.run.scan_from, "%Y-%m-%d").expect("formatted day");
    let needed: Vec<&catalog::Partition> = partitions
        .iter()
        .filter(|p| p.day >= scan_from && p.day <= ds)
        .collect();
    // The files of every partition the run reads (listing only).
    let mut files = Vec::new();
    let mut run_day_files = 0usize;
    for p in &needed {
        let listed = catalog::list_files(events_store.as_ref(), &project.events, &p.prefix).await?;
        if p.day == ds {
            run_day_files = listed.len();
        }
        files.extend(listed);
    }
    // An empty run-day directory is a missing partition (an object store has
    // no empty directories: on S3 it would not be listed at all).
    let run_day_problem = if !partitions.iter().any(|p| p.day == ds) {
        Some("the events partition of the run day is missing")
    } else if run_day_files == 0 {
        Some("the events partition of the run day is empty (no data files)")
    } else {
        None
    };
    if let Some(problem) = run_day_problem {
        let msg = format!("{}dt={ds}/: {problem}", project.events);
        match config.run.missing_partition {
            MissingPartition::Fail => {
                return Err(catalog::CatalogError::Missing {
                    url: format!("{}dt={ds}/", project.events),
                    message: format!(
                        "{problem}; load it, pick another --ds, or set run.missing_partition: warn"
                    ),
                }
                .into());
            }
            MissingPartition::Warn => {
                tracing::warn!("{msg}; running with the partitions that exist");
                warnings.push(msg);
            }
        }
    }
    let ctx = project.session()?;
    // Check the schema of every file the run will read (footers only).
    let schema = catalog::events_schema();
    catalog::check_parquet_schemas(
        &ctx.state(),
        Arc::clone(&events_store),
        &project.events,
        &files,
        &schema,
        &[], // every column of SPEC §1 must be present
    )
    .await?;

    project.register_sources(&ctx).await?;
    // Users added to `deletions` leave every committed table before any
    // model reads history (SPEC §1: excluded from every output).
    for note in purge_deleted_users(project, &ctx, run_id).await? {
        tracing::warn!("{note}");
        warnings.push(note);
    }
    for m in &dag.models {
        if !run_set.contains(&m.name) && m.header.materialized.is_published() {
            project.register_committed(&ctx, m).await?;
        }
    }
    plan_all(&ctx, &dag, &run_set, ds).await?;

    let mut record = RunRecord {
        run_id: run_id.to_string(),
        project: config.project.clone(),
        command: if opts.command.is_empty() {
            "run".into()
        } else {
            opts.command.clone()
        },
        ds,
        full_refresh,
        select: opts.select.clone(),
        exclude: opts.exclude.clone(),
        config_fingerprint: project.loaded.fingerprint.clone(),
        shoal_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started,
        finished_at: None,
        status: "running".into(),
        exit_code: None,
        input_partitions: needed.iter().map(|p| format!("dt={}", p.day)).collect(),
        warnings,
        models: vec![],
    };
    let runlog = RunLog::new(project.output.clone());
    if let Err(e) = runlog.checkpoint(&record).await {
        tracing::warn!("cannot write the run record: {e}");
    }
    tracing::info!(run_id, %ds, models = run_set.len(), full_refresh, "run started");

    let shared = Arc::new(RunShared {
        project: project.clone(),
        ctx,
        scratch: Scratch::new(run_id),
        run_id: run_id.to_string(),
        ds,
        full_refresh,
        late_days: config.run.late_days,
        events_prefix: project.events.prefix().to_string(),
        events_store: Arc::clone(&events_store),
        input_files: files,
        undecodable: tokio::sync::OnceCell::new(),
        turns: tokio::sync::RwLock::new(()),
    });
    let progress = opts.progress.then(|| {
        let pb = indicatif::ProgressBar::new(run_set.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .expect("valid template"),
        );
        pb
    });

    let openlineage = crate::openlineage::Emitter::from_project(project, run_id);
    let order: Vec<Model> = dag
        .models
        .iter()
        .filter(|m| run_set.contains(&m.name))
        .cloned()
        .collect();
    let mut done: HashMap<String, Status> = HashMap::new();
    let mut fail_kinds: Vec<FailKind> = Vec::new();
    let mut started_set: BTreeSet<String> = BTreeSet::new();
    let mut tasks: JoinSet<(ModelRun, Option<FailKind>)> = JoinSet::new();
    let concurrency = config.run.concurrency.max(1);
    loop {
        // Start what is ready, skip what cannot run.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for m in &order {
                if started_set.contains(&m.name) {
                    continue;
                }
                let deps_in_run: Vec<&String> =
                    m.deps.iter().filter(|d| run_set.contains(*d)).collect();
                if deps_in_run.iter().any(|d| !done.contains_key(*d)) {
                    continue;
                }
                if let Some(bad) = deps_in_run
                    .iter()
                    .find(|d| matches!(done.get(**d), Some(Status::Failed | Status::Skipped)))
                {
                    let mr = ModelRun::not_run(
                        &m.name,
                        m.header.materialized.as_str(),
                        Status::Skipped,
                        format!("upstream model {bad} did not succeed"),
                    );
                    tracing::warn!(model = %m.name, "skipped: upstream model {bad} did not succeed");
                    started_set.insert(m.name.clone());
                    done.insert(m.name.clone(), Status::Skipped);
                    record.models.push(mr);
                    if let Some(pb) = &progress {
                        pb.inc(1);
                    }
                    progressed = true;
                    continue;
                }
                if tasks.len() >= concurrency {
                    continue;
                }
                // An upstream model outside the run must have committed output.
                let missing = m.deps.iter().find(|d| {
                    !run_set.contains(*d)
                        && shared
                            .ctx
                            .table_exist(d.as_str())
                            .map(|e| !e)
                            .unwrap_or(true)
                });
                if let Some(missing) = missing {
                    let mr = ModelRun::not_run(
                        &m.name,
                        m.header.materialized.as_str(),
                        Status::Failed,
                        format!(
                            "{}: upstream model {missing} has no committed output; run it first (shoal run --select +{})",
                            m.file, m.name
                        ),
                    );
                    tracing::error!(model = %m.name, "{}", mr.error.as_deref().unwrap_or(""));
                    if let Some(ol) = &openlineage {
                        ol.emit("FAIL", m, Some(&mr)).await;
                    }
                    started_set.insert(m.name.clone());
                    done.insert(m.name.clone(), Status::Failed);
                    fail_kinds.push(FailKind::Model);
                    record.models.push(mr);
                    progressed = true;
                    continue;
                }
                started_set.insert(m.name.clone());
                let shared = Arc::clone(&shared);
                let model = m.clone();
                if let Some(pb) = &progress {
                    pb.set_message(m.name.clone());
                }
                if let Some(ol) = &openlineage {
                    ol.emit("START", m, None).await;
                }
                tasks.spawn(async move { run_model(&shared, &model).await });
                progressed = true;
            }
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (mr, kind) = joined.map_err(|e| EngineError::Join(e.to_string()))?;
        if let Some(k) = kind {
            fail_kinds.push(k);
        }
        done.insert(mr.name.clone(), mr.status);
        if let (Some(ol), Some(m)) = (&openlineage, order.iter().find(|m| m.name == mr.name)) {
            let kind = if mr.status == Status::Success {
                "COMPLETE"
            } else {
                "FAIL"
            };
            ol.emit(kind, m, Some(&mr)).await;
        }
        match mr.status {
            Status::Success if mr.rows.is_none() => {
                tracing::info!(model = %mr.name, ms = mr.duration_ms, "ok (view)")
            }
            Status::Success if mr.materialized == "temp" => tracing::info!(
                model = %mr.name,
                rows = mr.rows.unwrap_or(0),
                ms = mr.duration_ms,
                "ok (temp, this run only)"
            ),
            Status::Success => tracing::info!(
                model = %mr.name,
                rows = mr.rows.unwrap_or(0),
                ms = mr.duration_ms,
                partitions = %summarize_partitions(&mr.partitions_written),
                "ok"
            ),
            _ => tracing::error!(model = %mr.name, "failed: {}", mr.error.as_deref().unwrap_or("")),
        }
        record.models.push(mr);
        if let Some(pb) = &progress {
            pb.inc(1);
        }
        if let Err(e) = runlog.checkpoint(&record).await {
            tracing::warn!("cannot write the run record: {e}");
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
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
    let code = if fail_kinds.contains(&FailKind::Output) {
        4
    } else if fail_kinds.contains(&FailKind::Input) {
        3
    } else if fail_kinds.is_empty() {
        0
    } else {
        1
    };
    record.finished_at = Some(Utc::now());
    record.status = if code == 0 {
        "success".into()
    } else {
        "failed".into()
    };
    record.exit_code = Some(code);
    // Lineage is about the models, not the data: a failure to plan or write
    // it is a warning, never the run's result.
    match crate::lineage::for_project(project, ds).await {
        Ok(l) => {
            if let Err(e) = crate::lineage::write(project, &l).await {
                tracing::warn!("cannot write lineage.json: {e}");
            }
        }
        Err(e) => tracing::warn!("cannot compute the lineage: {e}"),
    }
    runlog.finish(&record).await?;
    if code == 0 {
        runlog
            .mark_day(ds, &selected.iter().cloned().collect::<Vec<_>>(), run_id)
            .await?;
    }
    let (ok, failed, skipped, _) = record.counts();
    tracing::info!(run_id, %ds, ok, failed, skipped, exit_code = code, "run finished");
    Ok(record)
}

/// Writes a `temp` model's result as Parquet under `scratch/name/` (one file
/// per output partition, streamed, so memory stays bounded; LZ4 for speed)
/// and registers it under its name for the rest of the run. Records the rows
/// and the files its plan read.
async fn write_temp(
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
async fn write_temp_shared(
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
    let staged = sink::write_staged(Arc::clone(&output.store), dir.clone(), stream, None, &props)
        .await
        .map_err(|e| sink_failure(model, e))?;
    mr.rows = Some(staged.rows());
    mr.files_read = local_scanned_files(ctx, &df)
        .await
        .map_err(|e| (FailKind::Model, locate_error(&model.file, &e)))?;
    mr.partitions_read = events_partitions(&mr.files_read, &shared.events_prefix);
    let _ = ctx.deregister_table(model.name.as_str());
    catalog::register_listing(ctx, &model.name, &dir, staged.file_schema, false)
        .map_err(|e| (FailKind::Model, e.to_string()))
}

/// Why writing a model's result failed: its plan (or input) while
/// executing, the output store, or the result itself.
fn sink_failure(model: &Model, e: sink::SinkError) -> (FailKind, String) {
    match e {
        sink::SinkError::Execute(df) => classify(&model.file, &df),
        e if e.is_storage() => (FailKind::Output, e.to_string()),
        e => (FailKind::Model, format!("{}: {e}", model.file)),
    }
}

/// The `dt=` partitions of the events source among scanned files.
fn events_partitions(files: &[String], events_prefix: &str) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.contains(events_prefix))
        .filter_map(|f| {
            f.split('/')
                .find(|s| s.starts_with("dt="))
                .map(str::to_string)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Runs one model: plan, execute into staging, audit, commit, register.
async fn run_model(shared: &RunShared, model: &Model) -> (ModelRun, Option<FailKind>) {
    let start = Instant::now();
    let started_at = Utc::now();
    let fresh = || {
        let mut mr = ModelRun::not_run(
            &model.name,
            model.header.materialized.as_str(),
            Status::Success,
            String::new(),
        );
        mr.error = None;
        mr.started_at = Some(started_at);
        mr
    };
    let mut mr = fresh();
    let result = {
        let _turn = shared.turns.read().await;
        execute_model(shared, model, &mut mr).await
    };
    let result = match result {
        Err((FailKind::Memory, _))
            if shared.project.config().run.concurrency > 1 && !shared.project.is_distributed() =>
        {
            // The memory pool is shared by the models running at once, and
            // an operator that cannot spill (a hash join's build side, an
            // aggregate's next batch of groups) can find it taken by the
            // other model. Nothing was committed: run it again with the
            // pool to itself, once the others have finished.
            tracing::warn!(model = %model.name, "ran out of the memory pool next to other models; running it again alone");
            let staging = shared
                .project
                .output
                .staging_dir(&shared.run_id, &model.name);
            let _ = shared.project.output.remove_prefix(&staging).await;
            let _alone = shared.turns.write().await;
            mr = fresh();
            execute_model(shared, model, &mut mr).await
        }
        other => other,
    };
    mr.duration_ms = start.elapsed().as_millis() as u64;
    match result {
        Ok(()) => (mr, None),
        Err((kind, mut message)) => {
            // DataFusion's decoding errors do not say which file: read the
            // run's input files one by one to name it (only on failure).
            if kind == FailKind::Input && !message.contains(STORAGE_HINT) {
                let found = shared
                    .undecodable
                    .get_or_init(|| {
                        catalog::find_undecodable(
                            Arc::clone(&shared.events_store),
                            &shared.project.events,
                            &shared.input_files,
                        )
                    })
                    .await;
                if let Some((url, why)) = found {
                    message = format!(
                        "{message}\n  the unreadable file is {url}: {why} (replace or remove it, then `shoal retry`)"
                    );
                }
            }
            mr.status = Status::Failed;
            mr.error = Some(message);
            let staging = shared
                .project
                .output
                .staging_dir(&shared.run_id, &model.name);
            let _ = shared.project.output.remove_prefix(&staging).await;
            (mr, Some(kind))
        }
    }
}

async fn execute_model(
    shared: &RunShared,
    model: &Model,
    mr: &mut ModelRun,
) -> Result<(), (FailKind, String)> {
    let ctx = &shared.ctx;
    let plan_err = |e: DataFusionError| (FailKind::Model, locate_error(&model.file, &e));
    let df = ctx.sql(&model.sql).await.map_err(plan_err)?;
    let materialized = model.header.materialized;
    if materialized == Materialization::View {
        ctx.deregister_table(model.name.as_str())
            .map_err(plan_err)?;
        ctx.register_table(model.name.as_str(), df.into_view())
            .map_err(plan_err)?;
        return Ok(());
    }
    if materialized == Materialization::Temp && shared.project.is_distributed() {
        // The executors cannot read the client's disk: the temp table goes
        // to the output store, which they share.
        return write_temp_shared(shared, model, df, mr).await;
    }
    if materialized == Materialization::Temp {
        return write_temp(shared, &model.name, df, mr)
            .await
            .map_err(|e| classify(&model.file, &e));
    }
    let range = match materialized {
        Materialization::Daily => {
            let back = model.header.rewrites_days.days(shared.late_days);
            Some(if shared.full_refresh && back > 0 {
                DayRange {
                    from: None,
                    to: shared.ds,
                }
            } else {
                DayRange {
                    from: Some(shared.ds - Duration::days(i64::from(back))),
                    to: shared.ds,
                }
            })
        }
        _ => None,
    };
    let mut df = df;
    let mut sort = Vec::new();
    if range.is_some() {
        let Ok(dt_field) = df.schema().field_with_unqualified_name(DT) else {
            return Err((
                FailKind::Model,
                format!(
                    "{}: a daily model needs a `dt` column (the partition day); add e.g. `date '{}' as dt`",
                    model.file, shared.ds
                ),
            ));
        };
        if dt_field.data_type() != &DataType::Date32 {
            df = df
                .with_column(DT, cast(col(DT), DataType::Date32))
                .map_err(plan_err)?;
        }
        if range.is_some_and(|r| r.from != Some(r.to)) {
            sort.push(col(DT).sort(true, false));
        }
    }
    for c in &model.header.sort_by {
        if df.schema().field_with_unqualified_name(c).is_err() {
            return Err((
                FailKind::Model,
                format!(
                    "{}: header sort_by names column {c:?}, which the model does not produce",
                    model.file
                ),
            ));
        }
        sort.push(col(format!("\"{c}\"")).sort(true, true));
    }
    if !sort.is_empty() {
        df = df.sort(sort).map_err(plan_err)?;
    }
    let start_exec = Instant::now();
    // Planning a listing table reads file footers (statistics), so storage
    // and Parquet errors can surface here as well as while executing.
    let exec_err = |e: DataFusionError| classify(&model.file, &e);
    let plan = df.clone().create_physical_plan().await.map_err(exec_err)?;
    let output = &shared.project.output;
    let staging = output.staging_dir(&shared.run_id, &model.name);
    let props = sink::writer_properties(&shared.project.config().output.compression);
    let stream = execute_stream(Arc::clone(&plan), ctx.task_ctx()).map_err(exec_err)?;
    let staged = sink::write_staged(
        Arc::clone(&output.store),
        staging.clone(),
        stream,
        range,
        &props,
    )
    .await
    .map_err(|e| sink_failure(model, e))?;
    tracing::debug!(model = %model.name, ms = start_exec.elapsed().as_millis() as u64, "executed and staged");
    mr.files_read = if shared.project.is_distributed() {
        // The plan is one Ballista job node; plan it locally to see what it scans.
        local_scanned_files(ctx, &df).await.map_err(plan_err)?
    } else {
        scanned_files(&plan)
    };
    mr.partitions_read = events_partitions(&mr.files_read, &shared.events_prefix);
    mr.rows = Some(staged.rows());
    mr.bytes = Some(staged.bytes());
    mr.files = Some(staged.files.len() as u64);

    // Audit the staged result before anything becomes visible.
    if !model.header.tests.is_empty() {
        let audit_name =
            format!("__audit_{}_{}", model.name, shared.run_id.replace('-', "_")).to_lowercase();
        catalog::register_listing(
            ctx,
            &audit_name,
            &staging,
            Arc::clone(&staged.file_schema),
            range.is_some(),
        )
        .map_err(|e| (FailKind::Model, e.to_string()))?;
        let outcomes = sink::run_tests(ctx, &audit_name, &model.header.tests).await;
        let _ = ctx.deregister_table(audit_name.as_str());
        let outcomes = outcomes.map_err(|e| {
            // Out of memory while auditing is retried like any other step.
            let (kind, message) = classify(&model.file, &e);
            let kind = if kind == FailKind::Memory {
                kind
            } else {
                FailKind::Model
            };
            (
                kind,
                format!("{}: data tests do not run: {message}", model.file),
            )
        })?;
        for o in outcomes.iter().filter(|o| o.failures > 0) {
            tracing::warn!(model = %model.name, test = %o.name, failures = o.failures, severity = ?o.severity, "data test failed");
        }
        let blocking: Vec<String> = outcomes
            .iter()
            .filter(|o| o.blocks())
            .map(|o| format!("{} ({} rows)", o.name, o.failures))
            .collect();
        mr.tests = outcomes;
        if !blocking.is_empty() {
            return Err((
                FailKind::Model,
                format!(
                    "{}: data tests failed, nothing committed (the previous output stays visible): {}",
                    model.file,
                    blocking.join("; ")
                ),
            ));
        }
    }
    tracing::debug!(model = %model.name, ms = start_exec.elapsed().as_millis() as u64, "audited");
    mr.partitions_written = output
        .commit(&shared.run_id, &model.name, &staged, range)
        .await
        .map_err(|e| (FailKind::Output, e.to_string()))?;
    let _ = output.remove_prefix(&staging).await;
    let dir = output.model_dir(&model.name);
    ctx.deregister_table(model.name.as_str())
        .map_err(plan_err)?;
    catalog::register_listing(
        ctx,
        &model.name,
        &dir,
        Arc::clone(&staged.file_schema),
        range.is_some(),
    )
    .map_err(|e| (FailKind::Model, e.to_string()))?;
    Ok(())
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

/// Whether a model has any committed Parquet file.
async fn has_output(output: &Output, model: &str) -> Result<bool> {
    let dir = output.model_dir(model);
    let files = catalog::list_files(output.store.as_ref(), &dir, &dir.prefix()).await?;
    Ok(files
        .iter()
        .any(|f| f.location.as_ref().ends_with(".parquet")))
}

/// The lock object that keeps two runs from writing one output at once.
#[derive(Debug, Clone)]
pub struct Lock {
    path: object_store::path::Path,
    taken: bool,
}

async fn acquire_lock(output: &Output, run_id: &str) -> Result<Lock> {
    use object_store::{PutMode, PutOptions, PutPayload};
    let path = output.meta_dir().prefix().join("lock");
    let host = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = serde_json::json!({
        "run_id": run_id, "pid": std::process::id(), "host": host, "started_at": Utc::now(),
    })
    .to_string();
    for _ in 0..2 {
        let put = output
            .store
            .put_opts(
                &path,
                PutPayload::from(body.clone().into_bytes()),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await;
        match put {
            Ok(_) => return Ok(Lock { path, taken: true }),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let holder = match output.store.get(&path).await {
                    Ok(r) => r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
                    Err(_) => None,
                };
                // A lock left by a dead process on this host is taken over.
                let stale = holder.as_ref().is_some_and(|h| {
                    h["host"].as_str() == Some(host.as_str())
                        && h["pid"]
                            .as_u64()
                            .is_some_and(|pid| !FsPath::new(&format!("/proc/{pid}")).exists())
                });
                if stale {
                    let _ = output.store.delete(&path).await;
                    continue;
                }
                return Err(EngineError::Locked {
                    url: output.root.object_url(&path),
                    message: format!(
                        "another shoal run holds the output lock ({}); wait for it to finish, or delete the lock object if that run is dead",
                        holder.map(|h| h.to_string()).unwrap_or_else(|| "unreadable lock".into())
                    ),
                }
                .into());
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                tracing::warn!(
                    "the output store does not support conditional writes: running without a lock"
                );
                return Ok(Lock { path, taken: false });
            }
            Err(e) => {
                return Err(crate::sink::SinkError::Storage {
                    url: output.root.object_url(&path),
                    message: e.to_string(),
                }
                .into());
            }
        }
    }
    Err(EngineError::Locked {
        url: output.root.object_url(&path),
        message: "could not take the output lock".into(),
    }
    .into())
}

async fn release_lock(output: &Output, lock: &Lock) {
    if lock.taken
        && let Err(e) = output.store.delete(&lock.path).await
    {
        tracing::warn!("cannot remove the lock {}: {e}", lock.path);
    }
}

/// Plans every model of the run before any runs, as dbt compiles first: a
/// model that does not plan (unknown column or table, bad types, a daily
/// model without `dt`) is a usage error (exit 2) with its file:line:col and
/// nothing is written. Each planned model stands in as a view for the
/// planning of the models after it, and is removed again.
async fn plan_all(
    ctx: &SessionContext,
    dag: &Dag,
    run_set: &BTreeSet<String>,
    ds: NaiveDate,
) -> Result<()> {
    let mut errors = Vec::new();
    let mut broken: BTreeSet<String> = BTreeSet::new();
    for m in dag.models.iter().filter(|m| run_set.contains(&m.name)) {
        if m.deps.iter().any(|d| broken.contains(d)) {
            broken.insert(m.name.clone());
            continue;
        }
        if let Err(e) = plan_one(ctx, m, ds).await {
            errors.push(locate_error(&m.file, &e));
            broken.insert(m.name.clone());
        }
    }
    for name in run_set {
        let _ = ctx.deregister_table(name.as_str());
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(EngineError::Plan(errors.remove(0)).into()),
        _ => Err(EngineError::PlanMany(errors).into()),
    }
}

/// Plans one model and registers it as a view under its name.
async fn plan_one(
    ctx: &SessionContext,
    m: &Model,
    ds: NaiveDate,
) -> std::result::Result<(), DataFusionError> {
    let df = ctx.sql(&m.sql).await?;
    if m.header.materialized == Materialization::Daily
        && df.schema().field_with_unqualified_name(DT).is_err()
    {
        return Err(DataFusionError::Plan(format!(
            "a daily model needs a `dt` column (the partition day); add e.g. `date '{ds}' as dt`"
        )));
    }
    ctx.deregister_table(m.name.as_str())?;
    ctx.register_table(m.name.as_str(), df.into_view())?;
    Ok(())
}

/// Plans every model against the source schemas without reading event data.
/// Returns the DAG; errors list every model that does not plan.
pub async fn validate(project: &Project, ds: NaiveDate) -> Result<Dag> {
    let dag = project.dag(ds, false, None)?;
    let ctx = project.session()?;
    project.register_sources(&ctx).await?;
    let mut errors = Vec::new();
    let mut broken: BTreeSet<String> = BTreeSet::new();
    for m in &dag.models {
        if m.deps.iter().any(|d| broken.contains(d)) {
            broken.insert(m.name.clone());
            continue;
        }
        if let Err(e) = plan_one(&ctx, m, ds).await {
            errors.push(locate_error(&m.file, &e));
            broken.insert(m.name.clone());
        }
    }
    match errors.len() {
        0 => Ok(dag),
        1 => Err(EngineError::Plan(errors.remove(0)).into()),
        _ => Err(EngineError::PlanMany(errors).into()),
    }
}

/// A session with sources and every committed output registered, for
/// `query` and `test`.
pub async fn query_session(project: &Project, ds: NaiveDate) -> Result<(SessionContext, Dag)> {
    let dag = project.dag(ds, false, None)?;
    let ctx = project.session()?;
    project.register_sources(&ctx).await?;
    for m in &dag.models {
        match m.header.materialized {
            Materialization::View | Materialization::Temp => {
                if let Ok(df) = ctx.sql(&m.sql).await {
                    let _ = ctx.register_table(m.name.as_str(), df.into_view());
                }
            }
            _ => {
                project.register_committed(&ctx, m).await?;
            }
        }
    }
    Ok((ctx, dag))
}

/// Runs the data tests of the selected models on their committed outputs.
pub async fn test_models(
    project: &Project,
    ds: NaiveDate,
    select: &[String],
) -> Result<Vec<(String, Vec<sink::TestOutcome>)>> {
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
                vec![sink::TestOutcome {
                    name: "has committed output".into(),
                    severity: models::Severity::Error,
                    failures: 1,
                }],
            ));
            continue;
        }
        let outcomes = sink::run_tests(&ctx, &m.name, &m.header.tests)
            .await
            .map_err(|e| EngineError::Plan(locate_error(&m.file, &e)))?;
        out.push((m.name.clone(), outcomes));
    }
    Ok(out)
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Engine(e)
    }
}

/// Whether an output column holds user ids (the ones `deletions` and
/// `privacy.hash_user_ids` are about): `user_id`, `*_user_id`, and the
/// invitation columns `referrer_id`, `inviter_id`, `invitee_id`.
pub fn is_user_id_column(name: &str) -> bool {
    name == "user_id"
        || name.ends_with("_user_id")
        || matches!(name, "referrer_id" | "inviter_id" | "invitee_id")
}

/// Removes the users of `deletions` from every committed table: each
/// partition (or whole `table` output) holding one of them in a user-id
/// column is rewritten without those rows and committed like a model's
/// output (staged, then swapped in; never half-visible). Runs when the set of
/// deleted users differs from the one last applied (`_shoal/deletions.json`),
/// so a nightly run with unchanged deletions reads nothing. Returns a note per
/// rewritten partition.
async fn purge_deleted_users(
    project: &Project,
    ctx: &SessionContext,
    run_id: &str,
) -> Result<Vec<String>> {
    use datafusion::arrow::array::{Array, BooleanArray, StringArray};
    use datafusion::arrow::compute::{cast as cast_array, filter_record_batch};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use sha2::Digest;

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
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let output = &project.output;
    let store = Arc::clone(&output.store);
    let mut hasher = sha2::Sha256::new();
    for id in &ids {
        hasher.update(id.as_bytes());
        hasher.update([0u8]);
    }
    let fingerprint: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let marker = output.meta_dir().prefix().join("deletions.json");
    if let Ok(got) = store.get(&marker).await
        && let Ok(bytes) = got.bytes().await
        && serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v["fingerprint"] == fingerprint.as_str())
    {
        return Ok(vec![]);
    }
    let storage = |url: String, e: &dyn std::fmt::Display| {
        Error::Sink(sink::SinkError::Storage {
            url,
            message: format!("removing deleted users: {e}"),
        })
    };
    let decode = |url: &String,
                  builder: ParquetRecordBatchReaderBuilder<bytes::Bytes>|
     -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
        builder
            .build()
            .map_err(|e| storage(url.clone(), &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| storage(url.clone(), &e))
    };
    let props = sink::writer_properties(&project.config().output.compression);
    let mut notes = Vec::new();
    for m in project
        .models
        .iter()
        .filter(|m| m.header.materialized.is_published())
    {
        let dir = output.model_dir(&m.name);
        let files = catalog::list_files(store.as_ref(), &dir, &dir.prefix()).await?;
        // Files by partition: Some(day) for dt=DAY/, None for a table's root.
        let mut parts: std::collections::BTreeMap<
            Option<NaiveDate>,
            Vec<object_store::ObjectMeta>,
        > = Default::default();
        for f in files {
            if !f.location.as_ref().ends_with(".parquet") {
                continue;
            }
            let parent: Vec<_> = f.location.parts().collect();
            let day = parent
                .iter()
                .rev()
                .nth(1)
                .and_then(|p| p.as_ref().strip_prefix("dt=").map(str::to_string))
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
            parts.entry(day).or_default().push(f);
        }
        for (day, metas) in parts {
            // Read each file, drop the deleted users' rows.
            let mut kept_files = Vec::new();
            let mut untouched = Vec::new();
            let mut removed = 0usize;
            for meta in &metas {
                let url = output.root.object_url(&meta.location);
                // Output partitions are small (one model, one day): read whole.
                let bytes = store
                    .get(&meta.location)
                    .await
                    .map_err(|e| storage(url.clone(), &e))?
                    .bytes()
                    .await
                    .map_err(|e| storage(url.clone(), &e))?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .map_err(|e| storage(url.clone(), &e))?;
                let schema = Arc::clone(builder.schema());
                let id_cols: Vec<usize> = schema
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| is_user_id_column(f.name()))
                    .map(|(i, _)| i)
                    .collect();
                if id_cols.is_empty() {
                    // No user ids in this file: decoded only if the
                    // partition is rewritten for its other files.
                    untouched.push((url, builder));
                    continue;
                }
                let batches = decode(&url, builder)?;
                let mut kept = Vec::with_capacity(batches.len());
                for b in batches {
                    let mut keep = vec![true; b.num_rows()];
                    for &i in &id_cols {
                        let Ok(col) = cast_array(b.column(i), &DataType::Utf8) else {
                            continue;
                        };
                        let col = col
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .expect("cast to Utf8");
                        for (r, v) in col.iter().enumerate() {
                            if v.is_some_and(|v| ids.contains(v)) {
                                keep[r] = false;
                            }
                        }
                    }
                    let dropped = keep.iter().filter(|k| !**k).count();
                    removed += dropped;
                    kept.push(if dropped == 0 {
                        b
                    } else {
                        filter_record_batch(&b, &BooleanArray::from(keep))
                            .map_err(|e| storage(url.clone(), &e))?
                    });
                }
                kept_files.push((schema, kept));
            }
            if removed == 0 {
                continue;
            }
            for (url, builder) in untouched {
                let schema = Arc::clone(builder.schema());
                kept_files.push((schema, decode(&url, builder)?));
            }
            // Stage the cleaned files and swap them in like a model's commit.
            let staging = output.staging_dir(run_id, &m.name);
            let mut staged: Option<sink::Staged> = None;
            for (i, (schema, batches)) in kept_files.into_iter().enumerate() {
                let stream = RecordBatchStreamAdapter::new(
                    Arc::clone(&schema),
                    futures::stream::iter(batches.into_iter().map(Ok)),
                );
                let mut one = sink::write_staged(
                    Arc::clone(&store),
                    staging.join(&format!("purge-{i}")),
                    Box::pin(stream),
                    None,
                    &props,
                )
                .await?;
                for f in &mut one.files {
                    f.day = day;
                }
                match staged.as_mut() {
                    Some(s) => s.files.extend(one.files),
                    None => staged = Some(one),
                }
            }
            let staged = staged.expect("a partition has at least one file");
            let range = day.map(|d| sink::DayRange {
                from: Some(d),
                to: d,
            });
            output.commit(run_id, &m.name, &staged, range).await?;
            let _ = output.remove_prefix(&staging).await;
            let part = day
                .map(|d| format!("dt={d}"))
                .unwrap_or_else(|| "the table".into());
            notes.push(format!(
                "{}: {part}: removed {removed} rows of users in deletions",
                m.name
            ));
        }
    }
    output
        .put(
            &marker,
            serde_json::to_vec_pretty(&serde_json::json!({
                "fingerprint": fingerprint,
                "users": ids.len(),
                "applied_by_run": run_id,
            }))
            .expect("json"),
        )
        .await?;
    Ok(notes)
}

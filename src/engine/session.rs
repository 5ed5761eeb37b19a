//! The one session builder: every `SessionContext` shoal plans or runs SQL
//! in comes from here, so `run`, `query`, `test`, `catalog`, the report,
//! lineage and doctor see the same functions, stores and sources.
//!
//! - [`run_session`]: shoal's functions, the memory pool (three quarters of
//!   `run.memory_limit`) with spilling, the stores; a Ballista client
//!   session when `engine` names a cluster.
//! - [`sql_session`]: the same, with no store or source (SQL tests).
//! - [`planning_session`]: a local session for planning only (lineage,
//!   doctor's schema check), also when models run on a cluster.
//! - [`register_sources`], [`register_committed`], [`query_session`]: what
//!   a session reads.

use std::num::NonZeroUsize;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::EngineError;
use crate::catalog;
use crate::config;
use crate::models::{Dag, Materialization, Model};
use crate::project::Project;
use crate::sink::AsOf;
use crate::{Error, Result};

/// The part of `run.memory_limit` given to DataFusion's memory pool: three
/// quarters. The rest is kept for what the pool does not count (Parquet
/// decode and encode buffers, batches between operators), so that the
/// process stays near the limit instead of the pool alone filling it.
fn pool_share(memory_limit: usize) -> usize {
    memory_limit / 4 * 3
}

/// The session options and runtime of `run:`: target partitions, spans
/// for error positions, the memory pool with spilling.
fn session_parts(run: &config::RunConfig) -> Result<(SessionConfig, Arc<RuntimeEnv>)> {
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
    Ok((cfg, runtime))
}

/// A local session exactly as a model gets it from `run:` (shoal's
/// functions and optimizer rule, the memory pool, spilling), with no store
/// or source registered: for SQL tests of the functions and models
/// (`tests/slt/`).
pub fn sql_session(run: &config::RunConfig) -> Result<SessionContext> {
    let (cfg, runtime) = session_parts(run)?;
    Ok(crate::functions::local_session(cfg, runtime))
}

/// The session models run in: [`sql_session`] with the events and output
/// stores registered; a Ballista client session when `engine` is
/// `ballista://HOST:PORT`.
pub fn run_session(project: &Project) -> Result<SessionContext> {
    let ctx = if project.is_distributed() {
        let (cfg, runtime) = session_parts(&project.config().run)?;
        let ctx = remote_session(project, cfg, runtime)?;
        crate::functions::register_all(&ctx);
        ctx
    } else {
        sql_session(&project.config().run)?
    };
    register_stores(project, &ctx)?;
    Ok(ctx)
}

/// Registers the events and output stores in `ctx` (the sources and the
/// committed tables are read through them).
fn register_stores(project: &Project, ctx: &SessionContext) -> Result<()> {
    project.stores.register(ctx, &project.events)?;
    project.stores.register(ctx, &project.output.root)?;
    Ok(())
}

/// A local session for planning and footer reads only: shoal's functions
/// and the stores, default memory settings. Lineage plans every model in
/// it (also when models run on a cluster); doctor reads footers with it.
pub fn planning_session(project: &Project) -> Result<SessionContext> {
    let mut cfg = SessionConfig::new();
    cfg.options_mut().sql_parser.collect_spans = true;
    let ctx = crate::functions::local_session(cfg, Arc::new(RuntimeEnv::default()));
    register_stores(project, &ctx)?;
    Ok(ctx)
}

/// A Ballista client session: queries are planned and executed by the
/// cluster at `engine`, results stream back here.
#[cfg(feature = "ballista")]
fn remote_session(
    project: &Project,
    cfg: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext> {
    use crate::distributed::{self, DistributedError};
    let engine = &project.config().engine;
    distributed::scheduler_url(engine).map_err(|e| Error::Usage(e.to_string()))?;
    let mut locations = vec![project.output.root.clone()];
    locations.extend(project.source_locations()?.into_iter().map(|(_, l)| l));
    for l in &locations {
        distributed::check_shared(l).map_err(|e: DistributedError| Error::Usage(e.to_string()))?;
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
    project: &Project,
    _cfg: SessionConfig,
    _runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext> {
    Err(Error::Usage(format!(
        "engine {:?}: this shoal was built without the `ballista` feature; use --engine local or rebuild with --features ballista",
        project.config().engine
    )))
}

/// Registers `events`, `users` and `deletions`. The events table has the
/// schema of docs/events.md#events and a `dt` DATE partition column;
/// nothing is read.
pub async fn register_sources(project: &Project, ctx: &SessionContext) -> Result<()> {
    catalog::register_listing(
        ctx,
        "events",
        &project.events,
        catalog::events_schema(),
        true,
    )?;
    let dir = &project.loaded.project_dir;
    let s = &project.config().sources;
    // In-memory tables do not travel to a Ballista scheduler; empty listing tables do.
    let empty_dir = project
        .is_distributed()
        .then(|| project.output.meta_dir().join("empty"));
    catalog::register_side_source(
        ctx,
        &project.stores,
        "users",
        s.users.as_ref(),
        dir,
        catalog::users_schema(),
        empty_dir.as_ref(),
    )
    .await?;
    catalog::register_side_source(
        ctx,
        &project.stores,
        "deletions",
        s.deletions.as_ref(),
        dir,
        catalog::deletions_schema(),
        empty_dir.as_ref(),
    )
    .await?;
    let key = project
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

/// Registers the committed output of a materialized model, if it has any
/// (the newest Delta version). Returns whether it did.
pub async fn register_committed(
    project: &Project,
    ctx: &SessionContext,
    model: &Model,
) -> Result<bool> {
    register_committed_at(project, ctx, model, AsOf::Latest).await
}

/// [`register_committed`] at a chosen Delta version (`shoal query --as-of`):
/// the table is the files that version names, read with partition pruning
/// on `dt` ([`catalog::FileListTable`]).
pub async fn register_committed_at(
    project: &Project,
    ctx: &SessionContext,
    model: &Model,
    as_of: AsOf,
) -> Result<bool> {
    if project.output.is_delta_format() {
        let Some(snapshot) = project.output.snapshot(&model.name, as_of).await? else {
            return Ok(false);
        };
        ctx.deregister_table(model.name.as_str())
            .map_err(EngineError::from)?;
        ctx.register_table(
            model.name.as_str(),
            Arc::new(snapshot.table(&project.output)),
        )
        .map_err(EngineError::from)?;
        return Ok(true);
    }
    let dir = project.output.model_dir(&model.name);
    let files = catalog::list_files(project.output.store.as_ref(), &dir, &dir.prefix()).await?;
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

/// A session with sources and every committed output registered (views and
/// temp models as views over them), for `query`, `test`, `catalog` and the
/// report.
pub async fn query_session(project: &Project, ds: NaiveDate) -> Result<(SessionContext, Dag)> {
    query_session_at(project, ds, AsOf::Latest).await
}

/// [`query_session`] with every committed table at `as_of`.
pub async fn query_session_at(
    project: &Project,
    ds: NaiveDate,
    as_of: AsOf,
) -> Result<(SessionContext, Dag)> {
    let dag = project.dag(ds, false, None)?;
    let ctx = run_session(project)?;
    register_sources(project, &ctx).await?;
    for m in &dag.models {
        match m.header.materialized {
            Materialization::View | Materialization::Temp => {
                if let Ok(df) = ctx.sql(&m.sql).await {
                    let _ = ctx.register_table(m.name.as_str(), df.into_view());
                }
            }
            _ => {
                register_committed_at(project, &ctx, m, as_of).await?;
            }
        }
    }
    Ok((ctx, dag))
}

//! Planning a run, with no side effects: which models run, from which
//! events partitions and files, and whether the run is a full refresh.
//!
//! Takes the [`Project`] and [`RunOptions`]; hands on a [`RunPlan`]. `run`
//! executes it; `run --dry-run` prints it. [`check_models_plan`] plans every
//! model's SQL against the registered tables before anything runs, as dbt
//! compiles first; `validate` does the same against the source schemas.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use super::{EngineError, RunOptions, failure::locate_error};
use crate::Result;
use crate::catalog::{self, DT, Partition};
use crate::config::MissingPartition;
use crate::models::{Dag, Materialization, Model, TemplateContext};
use crate::project::Project;

/// What a run will do, decided before it does anything.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The run day.
    pub ds: NaiveDate,
    /// Whether models rebuild from all history (asked for, or because a
    /// model that rewrites a window of days has no committed output yet).
    pub full_refresh: bool,
    /// Every model, rendered for the run.
    pub dag: Dag,
    /// The models asked for (`--select` / `--exclude`).
    pub selected: BTreeSet<String>,
    /// Models of a full refresh that run as a nightly run would (rendered
    /// and written for their late window only): their history up to
    /// `ds − 1` was built by this invocation's previous-day run.
    pub nightly: BTreeSet<String>,
    /// The models that run: the selected ones and the views and temp
    /// models they read (not published, so always rebuilt).
    pub run_set: BTreeSet<String>,
    /// The first events partition there is (full refreshes start there).
    pub first_partition: Option<NaiveDate>,
    /// The events partitions the run reads.
    pub partitions: Vec<Partition>,
    /// Their files (listed, not read).
    pub input_files: Vec<object_store::ObjectMeta>,
    /// What the run record will carry as warnings.
    pub warnings: Vec<String>,
}

impl RunPlan {
    /// The models of the run, in dependency order.
    pub fn models(&self) -> impl Iterator<Item = &Model> {
        self.dag
            .models
            .iter()
            .filter(|m| self.run_set.contains(&m.name))
    }
}

/// Plans a run for `ds`: lists the events partitions and their files,
/// renders and selects the models. Reads no data; fails like the run would
/// on a missing run-day partition (unless `run.missing_partition: warn`).
pub async fn plan_run(project: &Project, opts: &RunOptions, ds: NaiveDate) -> Result<RunPlan> {
    let config = project.config();
    let mut warnings = Vec::new();
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
                && !project.output.has_output(&m.name).await?
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
    // A full refresh whose previous-day run has just built some models up
    // to ds - 1: those run as that night's run would (the answer is the
    // same, docs/models.md#materializations), so history is built once.
    let mut nightly = BTreeSet::new();
    if full_refresh && !opts.built_to_day_before.is_empty() {
        let rendered = project.dag(ds, false, first_partition)?;
        for m in dag.models.iter_mut() {
            if opts.built_to_day_before.contains(&m.name)
                && let Some(n) = rendered.get(&m.name)
            {
                *m = n.clone();
                nightly.insert(m.name.clone());
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
    let needed: Vec<Partition> = partitions
        .iter()
        .filter(|p| p.day >= scan_from && p.day <= ds)
        .cloned()
        .collect();
    // The files of every partition the run reads (listing only).
    let mut input_files = Vec::new();
    let mut run_day_files = 0usize;
    for p in &needed {
        let listed = catalog::list_files(events_store.as_ref(), &project.events, &p.prefix).await?;
        if p.day == ds {
            run_day_files = listed.len();
        }
        input_files.extend(listed);
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
    Ok(RunPlan {
        ds,
        full_refresh,
        dag,
        selected,
        nightly,
        run_set,
        first_partition,
        partitions: needed,
        input_files,
        warnings,
    })
}

/// Plans the SQL of every model in `names` (in DAG order) against what
/// `ctx` has registered, before any model runs: a model that does not plan
/// (unknown column or table, bad types, a daily model without `dt`) is a
/// usage error (exit 2) with its file:line:col and nothing is written. A
/// model downstream of a broken one is not planned (its error would only
/// repeat). Each planned model stands in as a view for the planning of the
/// models after it, and is removed again.
pub async fn check_models_plan(
    ctx: &SessionContext,
    dag: &Dag,
    names: &BTreeSet<String>,
    ds: NaiveDate,
) -> Result<()> {
    let mut errors = Vec::new();
    let mut broken: BTreeSet<String> = BTreeSet::new();
    for m in dag.models.iter().filter(|m| names.contains(&m.name)) {
        if m.deps.iter().any(|d| broken.contains(d)) {
            broken.insert(m.name.clone());
            continue;
        }
        if let Err(e) = plan_one(ctx, m, ds).await {
            errors.push(locate_error(&m.file, &e));
            broken.insert(m.name.clone());
        }
    }
    for name in names {
        let _ = ctx.deregister_table(name.as_str());
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(EngineError::Plan(errors.remove(0)).into()),
        _ => Err(EngineError::PlanMany(errors).into()),
    }
}

/// Plans one model and registers an empty table of its schema under its
/// name, for the models after it.
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
    // Later models need only the schema to plan against. Registered as a
    // view, every later model would inline this one's whole plan, and its
    // upstream models' plans in turn: planning the pack took 8 s of every
    // run that way, against well under one as empty tables.
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    ctx.deregister_table(m.name.as_str())?;
    ctx.register_table(
        m.name.as_str(),
        std::sync::Arc::new(datafusion::datasource::empty::EmptyTable::new(schema)),
    )?;
    Ok(())
}

/// Plans every model against the source schemas without reading event data.
/// Returns the DAG; errors list every model that does not plan.
pub async fn validate(project: &Project, ds: NaiveDate) -> Result<Dag> {
    let dag = project.dag(ds, false, None)?;
    let ctx = super::session::run_session(project)?;
    super::session::register_sources(project, &ctx).await?;
    let all: BTreeSet<String> = dag.models.iter().map(|m| m.name.clone()).collect();
    check_models_plan(&ctx, &dag, &all, ds).await?;
    Ok(dag)
}

//! One model of a run: plan its SQL, execute it into staging, audit the
//! staged files with its data tests, commit, and register the committed
//! table for the models after it. Views are registered, temp models
//! written to scratch ([`super::temp`]).
//!
//! A model that runs out of the memory pool next to others runs again once,
//! alone; an input error names the unreadable file. What happened is the
//! returned [`ModelRun`].

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{cast, col};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;

use super::RunPlan;
use super::failure::{FailKind, STORAGE_HINT, classify, locate_error, sink_failure};
use super::scan::{events_partitions, local_scanned_files, scanned_files};
use super::temp::{Scratch, write_temp, write_temp_shared};
use crate::catalog::{self, DT};
use crate::models::{Materialization, Model};
use crate::project::Project;
use crate::runlog::{ModelRun, Status};
use crate::sink::{self, DayRange};

/// The state one run shares with its model tasks.
pub(super) struct RunShared {
    pub(super) project: Project,
    pub(super) ctx: SessionContext,
    /// Where `temp` models are written for the run; removed when the run ends.
    pub(super) scratch: Scratch,
    pub(super) run_id: String,
    /// What the run does: the day, full refresh or not, the input files.
    pub(super) plan: RunPlan,
    pub(super) events_prefix: String,
    /// The events store (the plan's input files had their footers checked).
    pub(super) events_store: Arc<dyn object_store::ObjectStore>,
    /// The first input file that does not decode, found once after a model
    /// failed on input: `(url, message)`.
    pub(super) undecodable: tokio::sync::OnceCell<Option<(String, String)>>,
    /// Models execute holding a read guard (so `run.concurrency` of them
    /// share the memory pool); a model that ran out of the pool next to
    /// others runs again holding the write guard, alone.
    pub(super) turns: tokio::sync::RwLock<()>,
    /// Whether the run still holds the output lease; asked before each commit.
    pub(super) lease: sink::LeaseGuard,
    /// When `run.timeout` ends the run (models that have not finished fail).
    pub(super) run_deadline: Option<tokio::time::Instant>,
}

impl RunShared {
    /// When a model that starts executing now must have staged and audited
    /// its result: the earlier of `run.model_timeout` from now and the run's
    /// deadline. `None`: no limit.
    fn model_deadline(&self) -> Option<tokio::time::Instant> {
        let model = self
            .project
            .config()
            .run
            .model_limit()
            .map(|limit| tokio::time::Instant::now() + limit);
        match (model, self.run_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Awaits `step` of `model` unless `deadline` passes first; then the
    /// step is dropped (cancelling its DataFusion or Ballista stream) and
    /// the model fails with a message that names the limit.
    async fn before<T>(
        &self,
        model: &Model,
        deadline: Option<tokio::time::Instant>,
        step: impl Future<Output = Result<T, (FailKind, String)>>,
    ) -> Result<T, (FailKind, String)> {
        let Some(deadline) = deadline else {
            return step.await;
        };
        match tokio::time::timeout_at(deadline, step).await {
            Ok(result) => result,
            Err(_) => Err((FailKind::Model, self.timeout_message(model))),
        }
    }

    fn timeout_message(&self, model: &Model) -> String {
        let run = &self.project.config().run;
        let ended_run = self
            .run_deadline
            .is_some_and(|d| d <= tokio::time::Instant::now());
        let limit = if ended_run {
            format!("run.timeout ({}) ended the run", run.timeout)
        } else {
            format!(
                "it ran longer than run.model_timeout ({})",
                run.model_timeout
            )
        };
        let hint = cluster_hint(&self.project);
        format!(
            "{}: stopped, {limit}; nothing of it was committed (the previous output stays visible). Raise the limit if the model is legitimately slow{hint}",
            model.file
        )
    }
}

/// What to look at when a deadline passes on a Ballista cluster (empty for
/// a local run): a job nobody runs waits without an error.
pub(super) fn cluster_hint(project: &Project) -> String {
    if project.is_distributed() {
        format!(
            "; on a Ballista cluster, check that executors are registered with the scheduler of {} and alive (their logs say \"Finished task\")",
            project.config().engine
        )
    } else {
        String::new()
    }
}

/// The `dt` partitions a daily model's run of `ds` replaces: `ds`, or the
/// `rewrites_days` before it too (every day up to `ds` on a full refresh);
/// `None` for other materializations (the whole table).
pub(super) fn written_days(
    model: &Model,
    late_days: u32,
    ds: chrono::NaiveDate,
    full_refresh: bool,
) -> Option<DayRange> {
    if model.header.materialized != Materialization::Daily {
        return None;
    }
    let back = model.header.rewrites_days.days(late_days);
    Some(DayRange {
        from: (!(full_refresh && back > 0)).then(|| ds - Duration::days(i64::from(back))),
        to: ds,
    })
}

/// Runs one model: plan, execute into staging, audit, commit, register.
pub(super) async fn run_model(shared: &RunShared, model: &Model) -> (ModelRun, Option<FailKind>) {
    let start = Instant::now();
    let started_at = Utc::now();
    let fresh = || {
        let mut mr = ModelRun::not_run(
            &model.name,
            model.header.materialized,
            Status::Success,
            String::new(),
        );
        mr.error = None;
        mr.started_at = Some(started_at);
        mr
    };
    let mut mr = fresh();
    let attempts = async {
        let result = {
            let _turn = shared.turns.read().await;
            execute_model(shared, model, &mut mr, 1).await
        };
        match result {
            Err((FailKind::Memory, _))
                if shared.project.config().run.concurrency > 1
                    && !shared.project.is_distributed() =>
            {
                // The memory pool is shared by the models running at once, and
                // an operator that cannot spill (a hash join's build side, an
                // aggregate's next batch of groups) can find it taken by the
                // other model. Nothing was committed: run it again with the
                // pool to itself, once the others have finished.
                tracing::warn!(model = %model.name, "ran out of the memory pool next to other models; running it again alone");
                let _ = shared
                    .project
                    .output
                    .discard(&shared.run_id, &model.name)
                    .await;
                let _alone = shared.turns.write().await;
                mr = fresh();
                execute_model(shared, model, &mut mr, 2).await
            }
            other => other,
        }
    };
    let (result, largest_rss) = super::rss::largest_while(attempts).await;
    mr.rss_bytes = largest_rss;
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
                            &shared.plan.input_files,
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
            // Nothing of a failed model stays: not its staged files, nor
            // (Delta) the uncommitted files in its table directory.
            if let Err(e) = shared
                .project
                .output
                .discard(&shared.run_id, &model.name)
                .await
            {
                tracing::warn!(model = %model.name, "cannot remove the files of the failed model ({e}); vacuum removes them later");
            }
            (mr, Some(kind))
        }
    }
}

/// Runs one attempt of a model (1, or 2 for the memory retry) and stages
/// its files.
async fn execute_model(
    shared: &RunShared,
    model: &Model,
    mr: &mut ModelRun,
    attempt: u32,
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
    let deadline = shared.model_deadline();
    if materialized == Materialization::Temp && shared.project.is_distributed() {
        // The executors cannot read the client's disk: the temp table goes
        // to the output store, which they share.
        return shared
            .before(model, deadline, write_temp_shared(shared, model, df, mr))
            .await;
    }
    if materialized == Materialization::Temp {
        let write = async {
            write_temp(shared, &model.name, df, mr)
                .await
                .map_err(|e| classify(&model.file, &e))
        };
        return shared.before(model, deadline, write).await;
    }
    let range = written_days(
        model,
        shared.project.config().run.late_days,
        shared.plan.ds,
        shared.plan.full_refresh && !shared.plan.nightly.contains(&model.name),
    );
    let mut df = df;
    let mut sort = Vec::new();
    if range.is_some() {
        let Ok(dt_field) = df.schema().field_with_unqualified_name(DT) else {
            return Err((
                FailKind::Model,
                format!(
                    "{}: a daily model needs a `dt` column (the partition day); add e.g. `date '{}' as dt`",
                    model.file, shared.plan.ds
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
    let plan = shared
        .before(model, deadline, async {
            df.clone().create_physical_plan().await.map_err(exec_err)
        })
        .await?;
    let output = &shared.project.output;
    let (staging, mut stem) = output.staging(&shared.run_id, &model.name);
    if attempt > 1 {
        // The retry never writes a name the first attempt used: nothing
        // the abandoned attempt's store requests may still finish can land
        // on, or be taken for, the retry's files.
        stem = format!("{stem}-r{attempt}");
    }
    let props = sink::writer_properties(&shared.project.config().output.compression);
    let stream = execute_stream(Arc::clone(&plan), ctx.task_ctx()).map_err(exec_err)?;
    // The writer stops at the deadline itself: it returns only once
    // nothing is writing any more, so the failed model's files can all be
    // removed.
    let staged = sink::write_staged(
        Arc::clone(&output.store),
        staging.clone(),
        &stem,
        stream,
        range,
        &props,
        deadline,
    )
    .await
    .map_err(|e| match e {
        sink::SinkError::Deadline => (FailKind::Model, shared.timeout_message(model)),
        e => sink_failure(model, e),
    })?;
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
        // Exactly the files this run wrote (with Delta they sit among the
        // table's committed files).
        let files = staged
            .files
            .iter()
            .map(|f| catalog::TableFile {
                path: f.path.clone(),
                size: f.bytes,
                day: f.day,
                rows: Some(f.rows),
            })
            .collect();
        ctx.register_table(
            audit_name.as_str(),
            Arc::new(catalog::FileListTable::new(
                output.root.object_store_url(),
                Arc::clone(&staged.file_schema),
                range.is_some(),
                files,
            )),
        )
        .map_err(|e| (FailKind::Model, e.to_string()))?;
        let audit =
            async { Ok(crate::quality::run_tests(ctx, &audit_name, &model.header.tests).await) };
        let outcomes = shared.before(model, deadline, audit).await;
        let outcomes = match outcomes {
            Ok(outcomes) => outcomes,
            Err(stopped) => {
                let _ = ctx.deregister_table(audit_name.as_str());
                return Err(stopped);
            }
        };
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
    shared
        .lease
        .check()
        .map_err(|e| (FailKind::Output, e.to_string()))?;
    let committed = output
        .publish(&shared.run_id, &model.name, &staged, range)
        .await
        .map_err(|e| match e {
            // The model's result does not fit its table: a model error.
            e @ sink::SinkError::TypeChange(_) => (FailKind::Model, format!("{}: {e}", model.file)),
            e => (FailKind::Output, e.to_string()),
        })?;
    mr.partitions_written = committed.partitions;
    mr.delta_version = committed.version;
    ctx.deregister_table(model.name.as_str())
        .map_err(plan_err)?;
    super::session::register_committed(&shared.project, ctx, model)
        .await
        .map_err(|e| (FailKind::Output, e.to_string()))?;
    Ok(())
}

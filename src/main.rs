//! The `shoal` binary: parses the command line, calls the library, turns the
//! result into an exit code (SPEC §4).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shoal::engine::{self, Project, RunOptions};
use shoal::runlog::{LogFormat, RunLog, RunRecord, Status};
use shoal::{Error, ExitStatus, Result};

/// shoal — nightly SQL models over community event data, in Apache DataFusion.
///
/// Reads day-partitioned Parquet events from object storage, runs the SQL
/// models in `sql/` in dependency order and commits each result as Parquet.
///
/// Examples:
///   shoal run                         # the whole pack for run.ds from config
///   shoal run --ds 2026-11-21 --select user_daily+
///   shoal retry                       # rerun what failed last time, same ds
///   shoal backfill --from 2026-10-01 --to 2026-10-31
///   shoal query "select * from dq_daily order by dt desc limit 5"
#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    about,
    long_about,
    propagate_version = true,
    verbatim_doc_comment
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(Debug, Args)]
struct Global {
    /// Configuration file (relative paths are taken from --project-dir).
    #[arg(
        long,
        global = true,
        env = "SHOAL_CONFIG",
        default_value = "config/shoal.yaml",
        help_heading = "Global"
    )]
    config: PathBuf,
    /// Project directory: `sql/` and relative locations are resolved against it.
    #[arg(
        long,
        global = true,
        env = "SHOAL_PROJECT_DIR",
        default_value = ".",
        help_heading = "Global"
    )]
    project_dir: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, env = "SHOAL_LOG_FORMAT", value_enum, default_value_t = LogArg::Auto, help_heading = "Global")]
    log_format: LogArg,
    /// Worker threads (default: number of cores).
    #[arg(long, global = true, env = "SHOAL_THREADS", help_heading = "Global")]
    threads: Option<usize>,
    /// Memory pool size, e.g. 2GiB; operators spill to disk beyond it.
    #[arg(
        long,
        global = true,
        env = "SHOAL_MEMORY_LIMIT",
        help_heading = "Global"
    )]
    memory_limit: Option<String>,
    /// Engine: `local` or `ballista://HOST:PORT`.
    #[arg(long, global = true, env = "SHOAL_ENGINE", help_heading = "Global")]
    engine: Option<String>,
    /// Override any config value: --set run.lookback_days=30 (repeatable).
    /// Environment variables SHOAL__RUN__LOOKBACK_DAYS=30 do the same.
    #[arg(
        long = "set",
        global = true,
        value_name = "KEY=VALUE",
        help_heading = "Global"
    )]
    set: Vec<String>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global")]
    verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, help_heading = "Global")]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogArg {
    /// Text on a terminal, JSON lines otherwise.
    Auto,
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Args, Clone, Default)]
struct Selection {
    /// Models to run: NAME, NAME+ (and downstream), +NAME (and upstream), tag:TAG; comma-separated or repeated.
    #[arg(long, short = 's')]
    select: Vec<String>,
    /// Models to leave out (same syntax as --select).
    #[arg(long)]
    exclude: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the model DAG for one day.
    ///
    /// Example: shoal run --ds 2026-11-21 --select +uvi_scores
    Run {
        /// Run day: YYYY-MM-DD, yesterday or latest (default: run.ds from config).
        #[arg(long, env = "SHOAL_DS")]
        ds: Option<String>,
        #[command(flatten)]
        selection: Selection,
        /// Recompute from every events partition up to the day, not only the late window.
        #[arg(long)]
        full_refresh: bool,
    },
    /// Rerun the failed and skipped models of the last run, with that run's ds.
    Retry,
    /// Run every day from --from to --to in order; days already committed are skipped.
    ///
    /// Example: shoal backfill --from 2026-10-01 --to 2026-10-31
    Backfill {
        /// First day.
        #[arg(long)]
        from: NaiveDate,
        /// Last day.
        #[arg(long)]
        to: NaiveDate,
        #[command(flatten)]
        selection: Selection,
        /// Rerun days already committed, with full refresh on the first day.
        #[arg(long)]
        full_refresh: bool,
    },
    /// List the models, their materialization, dependencies and tags (reads no data).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        output: ListFormat,
    },
    /// Print a model's rendered SQL.
    Compile {
        /// The model.
        model: String,
        /// Run day (default: run.ds from config).
        #[arg(long)]
        ds: Option<String>,
    },
    /// Parse, resolve and plan every model against the source schemas (reads no event data).
    Validate,
    /// Run the data tests of the models on their committed outputs.
    Test {
        #[command(flatten)]
        selection: Selection,
    },
    /// Print DDL that exposes the committed outputs to a BI engine, with the
    /// model docs as comments.
    ///
    /// Example: shoal catalog --emit duckdb > shoal.sql && duckdb bi.db < shoal.sql
    Catalog {
        /// The engine.
        #[arg(long, value_enum)]
        emit: EmitDialect,
        /// Schema (database) to create the tables in; Trino: `catalog.schema`.
        #[arg(long)]
        schema: Option<String>,
    },
    /// Create a new project: config, the model pack in sql/, and sample data.
    ///
    /// Example: shoal init my-community && cd my-community && shoal run
    Init {
        /// Directory to create (or fill, if it has no config/shoal.yaml yet).
        dir: PathBuf,
        /// Users of the generated sample data (0: no data).
        #[arg(long, default_value_t = 500)]
        users: u32,
        /// Days of sample data.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Write a self-contained HTML report with charts of a day's committed outputs.
    ///
    /// One file, inline SVG and CSS, nothing fetched to view it: funnels,
    /// retention, segments, UVI tiers, community health and data quality.
    ///
    /// Example: shoal report --ds 2026-11-21 --out report.html
    Report {
        /// The day: YYYY-MM-DD, yesterday or latest (default: run.ds from config).
        #[arg(long, env = "SHOAL_DS")]
        ds: Option<String>,
        /// The HTML file to write.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
    },
    /// Print a model's upstream models, sources and column-level lineage
    ///
    /// Which input columns each output column is computed from, planned from
    /// the current sql/ (reads no data). `shoal run` writes the same for
    /// every model to <output>/_shoal/lineage.json.
    ///
    /// Examples:
    ///   shoal lineage uvi_scores
    ///   shoal lineage uvi_tiers.revenue      # the column, back to the sources
    ///   shoal lineage --json > lineage.json  # every model
    #[command(verbatim_doc_comment)]
    Lineage {
        /// MODEL or MODEL.COLUMN (default: every model).
        target: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Day to render the models for (default: run.ds from config, else today).
        #[arg(long)]
        ds: Option<String>,
    },
    /// Check config, models, storage and sources without running anything.
    ///
    /// Config, models (planned against the sources), storage credentials and
    /// reachability of every source and the output, and the events schema.
    /// One ✓/✗ line per check with what to do; exits 0 when all pass, else 2
    /// (config/model), 3 (source) or 4 (output).
    ///
    /// Example: shoal doctor --project-dir my-community
    Doctor,
    /// Print a shell completion script.
    ///
    /// Example: shoal completions bash > /etc/bash_completion.d/shoal
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run ad-hoc SQL over the sources and the committed outputs.
    ///
    /// Example: shoal query "select dt, rows_valid from dq_daily order by dt" --format csv
    Query {
        /// The SQL.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
    },
    /// Start a Ballista scheduler with shoal's functions and object stores.
    ///
    /// Clients run models on it with `shoal run --engine ballista://HOST:PORT`;
    /// executors register with `shoal executor --scheduler HOST:PORT`.
    /// Only the `storage:` section of --config is used.
    ///
    /// Example: shoal scheduler --bind 0.0.0.0:50050
    #[cfg(feature = "ballista")]
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: std::net::SocketAddr,
        /// Host name executors and clients reach this scheduler by.
        #[arg(long, default_value = "localhost")]
        external_host: String,
    },
    /// Start a Ballista executor with shoal's functions and object stores.
    ///
    /// Registers with the scheduler and runs its tasks; shuffle files go to
    /// --work-dir. --memory-limit is the whole executor's memory pool (split
    /// across --vcores). Only the `storage:` section of --config is used.
    ///
    /// Example: shoal executor --scheduler sched-host:50050 --external-host worker-1
    #[cfg(feature = "ballista")]
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Address to bind the executor's ports to.
        #[arg(long, default_value = "0.0.0.0")]
        bind_host: String,
        /// Host name the scheduler and other executors reach this one by (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port (shuffle data and results).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port (tasks from the scheduler).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Concurrent tasks (default: number of cores).
        #[arg(long, default_value_t = 0)]
        vcores: usize,
        /// Directory for shuffle files and spills (default: a new temp dir).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Write a synthetic event set (events/ and users/) in the events schema.
    ///
    /// Example: shoal generate --out data --users 3000 --days 60 --seed 7
    Generate {
        /// Where to write: a path or URL; events go to OUT/events, users to OUT/users.
        #[arg(long)]
        out: String,
        /// Number of users.
        #[arg(long, default_value_t = 5_000)]
        users: u64,
        /// Number of days.
        #[arg(long, default_value_t = 60)]
        days: u32,
        /// First day (default 2026-09-01).
        #[arg(long)]
        start: Option<NaiveDate>,
        /// Random seed; the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// One line per model.
    Text,
    /// A JSON array, for schedulers.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EmitDialect {
    /// DuckDB views over read_parquet.
    Duckdb,
    /// Trino (Hive connector) external tables.
    Trino,
    /// Amazon Athena external tables.
    Athena,
    /// Spark SQL tables over Parquet.
    Spark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum QueryFormat {
    /// An aligned table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// mimalloc, as datafusion-cli uses (see Cargo.toml and BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = match cli.global.log_format {
        LogArg::Json => LogFormat::Json,
        LogArg::Text => LogFormat::Text,
        LogArg::Auto if stderr_tty => LogFormat::Text,
        LogArg::Auto => LogFormat::Json,
    };
    let verbosity = if cli.global.quiet {
        -1
    } else {
        cli.global.verbose.min(2) as i8
    };
    shoal::runlog::init_logging(format, verbosity);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = cli.global.threads.filter(|n| *n > 0) {
        builder.worker_threads(n);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = stderr_tty && format == LogFormat::Text && !cli.global.quiet;
    match runtime.block_on(dispatch(cli, progress, format == LogFormat::Json)) {
        Ok(status) => ExitCode::from(status as u8),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            match format {
                LogFormat::Json => tracing::error!(exit_code = e.exit_status() as u8, "{e}"),
                LogFormat::Text => eprintln!("error: {e}"),
            }
            ExitCode::from(e.exit_status() as u8)
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Usage(m) if m.contains("Broken pipe"))
}

fn open_project(g: &Global) -> Result<Project> {
    let mut overrides = g.set.clone();
    if let Some(m) = &g.memory_limit {
        overrides.push(format!("run.memory_limit={m}"));
    }
    if let Some(t) = g.threads {
        overrides.push(format!("run.threads={t}"));
    }
    if let Some(e) = &g.engine {
        overrides.push(format!("engine={e}"));
    }
    // A relative --config is taken from the project directory, like dbt's profiles.
    let config = g.project_dir.join(&g.config);
    Project::open(&config, &g.project_dir, &overrides)
}

/// The object stores a Ballista scheduler or executor opens, from the
/// `storage:` section of the config (every other section is the client's).
/// Without a config file, object_store's defaults and the environment.
#[cfg(feature = "ballista")]
fn cluster_stores(g: &Global) -> Result<shoal::catalog::Stores> {
    let path = g.project_dir.join(&g.config);
    let storage = if path.exists() {
        shoal::config::load_config(&path, &g.project_dir, &g.set)?
            .config
            .storage
    } else {
        tracing::warn!(
            "{}: no config file; object stores use their defaults and the environment (AWS_*, GOOGLE_*, AZURE_*)",
            path.display()
        );
        Default::default()
    };
    Ok(shoal::catalog::Stores::new(storage))
}

async fn dispatch(cli: Cli, progress: bool, json: bool) -> Result<ExitStatus> {
    let g = &cli.global;
    match cli.command {
        #[cfg(feature = "ballista")]
        Command::Scheduler {
            bind,
            external_host,
        } => {
            let stores = cluster_stores(g)?;
            let opts = shoal::distributed::SchedulerOptions {
                bind,
                external_host,
            };
            shoal::distributed::start_scheduler(stores, opts)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            Ok(ExitStatus::Success)
        }
        #[cfg(feature = "ballista")]
        Command::Executor {
            scheduler,
            bind_host,
            external_host,
            port,
            grpc_port,
            vcores,
            work_dir,
        } => {
            let (host, sched_port) = scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| {
                    Error::Usage(format!("--scheduler {scheduler:?}: expected HOST:PORT"))
                })?;
            let memory_pool_bytes = match &g.memory_limit {
                Some(m) => Some(shoal::config::parse_size(m).ok_or_else(|| {
                    Error::Usage(format!("--memory-limit {m:?}: expected a size like 8GiB"))
                })? as u64),
                None => None,
            };
            let stores = cluster_stores(g)?;
            let opts = shoal::distributed::ExecutorOptions {
                scheduler_host: host,
                scheduler_port: sched_port,
                bind_host,
                external_host,
                port,
                grpc_port,
                vcores,
                work_dir,
                memory_pool_bytes,
            };
            shoal::distributed::start_executor(stores, opts)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            Ok(ExitStatus::Success)
        }
        Command::Run {
            ds,
            selection,
            full_refresh,
        } => {
            let project = open_project(g)?;
            let opts = RunOptions {
                ds,
                select: selection.select,
                exclude: selection.exclude,
                full_refresh,
                command: "run".into(),
                progress,
            };
            let record = engine::run(&project, &opts).await?;
            Ok(summarize(&record, json))
        }
        Command::Retry => {
            let project = open_project(g)?;
            let log = RunLog::new(project.output.clone());
            let Some(last) = log.latest().await? else {
                return Err(engine::EngineError::NothingToRetry(format!(
                    "{}_shoal/latest.json: no earlier run to retry",
                    project.output.root
                ))
                .into());
            };
            let names: Vec<String> = last
                .models
                .iter()
                .filter(|m| matches!(m.status, Status::Failed | Status::Skipped))
                .map(|m| m.name.clone())
                .collect();
            if names.is_empty() {
                eprintln!(
                    "nothing to retry: run {} for {} had no failed or skipped model",
                    last.run_id, last.ds
                );
                return Ok(ExitStatus::Success);
            }
            eprintln!(
                "retrying {} model(s) of run {} for ds {}: {}",
                names.len(),
                last.run_id,
                last.ds,
                names.join(", ")
            );
            let opts = RunOptions {
                ds: Some(last.ds.to_string()),
                select: vec![names.join(",")],
                exclude: vec![],
                full_refresh: last.full_refresh,
                command: "retry".into(),
                progress,
            };
            let record = engine::run(&project, &opts).await?;
            Ok(summarize(&record, json))
        }
        Command::Backfill {
            from,
            to,
            selection,
            full_refresh,
        } => {
            if from > to {
                return Err(Error::Usage(format!("--from {from} is after --to {to}")));
            }
            let project = open_project(g)?;
            let log = RunLog::new(project.output.clone());
            let dag = project.dag(to, false, None)?;
            let wanted = dag.select(&selection.select, &selection.exclude)?;
            let mut day = from;
            let mut first = true;
            while day <= to {
                let covered = log
                    .day_mark(day)
                    .await
                    .is_some_and(|done| wanted.iter().all(|w| done.contains(w)));
                if covered && !full_refresh {
                    tracing::info!(%day, "already committed, skipped");
                } else {
                    let opts = RunOptions {
                        ds: Some(day.to_string()),
                        select: selection.select.clone(),
                        exclude: selection.exclude.clone(),
                        full_refresh: full_refresh && first,
                        command: "backfill".into(),
                        progress,
                    };
                    let record = engine::run(&project, &opts).await?;
                    let status = summarize(&record, json);
                    if status != ExitStatus::Success {
                        eprintln!(
                            "backfill stopped at {day}; rerun the same command to resume from there"
                        );
                        return Ok(status);
                    }
                    first = false;
                }
                day = day.succ_opt().expect("date in range");
            }
            Ok(ExitStatus::Success)
        }
        Command::List { output } => {
            let project = open_project(g)?;
            let ds = chrono::Utc::now().date_naive();
            let dag = project.dag(ds, false, None)?;
            let mut out = std::io::stdout().lock();
            match output {
                ListFormat::Json => {
                    let items: Vec<serde_json::Value> = dag
                        .models
                        .iter()
                        .map(|m| {
                            serde_json::json!({
                                "name": m.name, "file": m.file,
                                "materialized": m.header.materialized.as_str(),
                                "depends_on": m.deps, "sources": m.sources,
                                "tags": m.header.tags, "description": m.header.description,
                            })
                        })
                        .collect();
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&items).expect("json")
                    )
                    .map_err(io_err)?;
                }
                ListFormat::Text => {
                    for m in &dag.models {
                        let mut deps: Vec<String> = m.deps.clone();
                        deps.extend(m.sources.iter().map(|s| format!("source:{s}")));
                        writeln!(
                            out,
                            "{:<28} {:<6} <- {}{}",
                            m.name,
                            m.header.materialized.as_str(),
                            if deps.is_empty() {
                                "-".into()
                            } else {
                                deps.join(", ")
                            },
                            if m.header.tags.is_empty() {
                                String::new()
                            } else {
                                format!("  [{}]", m.header.tags.join(", "))
                            }
                        )
                        .map_err(io_err)?;
                    }
                }
            }
            Ok(ExitStatus::Success)
        }
        Command::Compile { model, ds } => {
            let project = open_project(g)?;
            let ds = project.resolve_ds(ds.as_deref()).await?;
            let dag = project.dag(ds, false, None)?;
            let Some(m) = dag.get(&model) else {
                let hint =
                    shoal::models::suggest(&model, dag.models.iter().map(|m| m.name.as_str()))
                        .map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default();
                return Err(Error::Usage(format!("no model named {model:?}{hint}")));
            };
            print!("{}", m.sql);
            Ok(ExitStatus::Success)
        }
        Command::Validate => {
            let project = open_project(g)?;
            let ds = chrono::Utc::now().date_naive();
            let dag = engine::validate(&project, ds).await?;
            eprintln!("{} models parse, resolve and plan", dag.models.len());
            Ok(ExitStatus::Success)
        }
        Command::Test { selection } => {
            let project = open_project(g)?;
            let ds = project
                .resolve_ds(None)
                .await
                .unwrap_or_else(|_| chrono::Utc::now().date_naive());
            let results = engine::test_models(&project, ds, &selection.select).await?;
            let mut failed = 0;
            let mut total = 0;
            for (model, outcomes) in &results {
                for o in outcomes {
                    total += 1;
                    let verdict = if o.failures == 0 {
                        "pass"
                    } else if o.blocks() {
                        failed += 1;
                        "FAIL"
                    } else {
                        "warn"
                    };
                    println!("{verdict:<4} {model}: {} ({} rows)", o.name, o.failures);
                }
            }
            println!("{} passed, {} failed", total - failed, failed);
            Ok(if failed > 0 {
                ExitStatus::ModelFailed
            } else {
                ExitStatus::Success
            })
        }
        Command::Catalog { emit, schema } => {
            let project = open_project(g)?;
            let ds = project
                .resolve_ds(None)
                .await
                .unwrap_or_else(|_| chrono::Utc::now().date_naive());
            let (ctx, dag) = engine::query_session(&project, ds).await?;
            let mut schemas = Vec::new();
            for m in dag
                .models
                .iter()
                .filter(|m| m.header.materialized.is_published())
            {
                match ctx.table_provider(m.name.as_str()).await {
                    Ok(t) => schemas.push((m, t.schema())),
                    Err(_) => tracing::warn!(model = %m.name, "no committed output yet: left out"),
                }
            }
            let tables: Vec<shoal::bi::Table> = schemas
                .iter()
                .map(|(m, s)| shoal::bi::Table {
                    model: m,
                    schema: s.as_ref(),
                    location: project.output.model_dir(&m.name).url().to_string(),
                })
                .collect();
            let dialect = match emit {
                EmitDialect::Duckdb => shoal::bi::Dialect::Duckdb,
                EmitDialect::Trino => shoal::bi::Dialect::Trino,
                EmitDialect::Athena => shoal::bi::Dialect::Athena,
                EmitDialect::Spark => shoal::bi::Dialect::Spark,
            };
            print!("{}", shoal::bi::emit(dialect, &tables, schema.as_deref()));
            Ok(ExitStatus::Success)
        }
        Command::Query { sql, format } => {
            let project = open_project(g)?;
            let ds = project
                .resolve_ds(None)
                .await
                .unwrap_or_else(|_| chrono::Utc::now().date_naive());
            let (ctx, _) = engine::query_session(&project, ds).await?;
            let batches = ctx
                .sql(&sql)
                .await
                .map_err(|e| Error::Usage(engine::locate_error("query", &e)))?
                .collect()
                .await
                .map_err(|e| Error::Usage(engine::locate_error("query", &e)))?;
            print_batches(&batches, format)?;
            Ok(ExitStatus::Success)
        }
        Command::Report { ds, out } => {
            let project = open_project(g)?;
            let ds = project.resolve_ds(ds.as_deref()).await?;
            let html = shoal::report::build(&project, ds).await?;
            std::fs::write(&out, html).map_err(|e| shoal::report::write_error(&out, &e))?;
            eprintln!("wrote the report for {ds} to {}", out.display());
            Ok(ExitStatus::Success)
        }
        Command::Lineage { target, json, ds } => {
            let project = open_project(g)?;
            let ds = match project.resolve_ds(ds.as_deref()).await {
                Ok(d) => d,
                Err(_) => chrono::Utc::now().date_naive(),
            };
            let lineage = shoal::lineage::for_project(&project, ds).await?;
            let mut out = std::io::stdout().lock();
            let text = match (&target, json) {
                (None, true) => serde_json::to_string_pretty(&lineage).expect("json"),
                (Some(t), true) => {
                    let (model, column) = match t.split_once('.') {
                        Some((m, c)) => (m, Some(c)),
                        None => (t.as_str(), None),
                    };
                    // the same checks and suggestions as the text form
                    lineage.describe(t).map_err(Error::Usage)?;
                    let m = &lineage.models[model];
                    match column {
                        None => serde_json::to_string_pretty(m).expect("json"),
                        Some(c) => serde_json::to_string_pretty(
                            m.columns.iter().find(|x| x.name == c).expect("checked"),
                        )
                        .expect("json"),
                    }
                }
                (Some(t), false) => lineage.describe(t).map_err(Error::Usage)?,
                (None, false) => {
                    let mut s = String::new();
                    for name in lineage.models.keys() {
                        s.push_str(&lineage.describe(name).map_err(Error::Usage)?);
                    }
                    s
                }
            };
            write!(
                out,
                "{}{}",
                text,
                if text.ends_with('\n') { "" } else { "\n" }
            )
            .map_err(io_err)?;
            Ok(ExitStatus::Success)
        }
        Command::Doctor => {
            let mut overrides = g.set.clone();
            if let Some(e) = &g.engine {
                overrides.push(format!("engine={e}"));
            }
            let config = g.project_dir.join(&g.config);
            let report = shoal::doctor::diagnose(&config, &g.project_dir, &overrides).await;
            print!("{}", report.render());
            Ok(report.status())
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "shoal", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
        Command::Init { dir, users, days } => {
            if dir.join("config/shoal.yaml").exists() {
                return Err(Error::Usage(format!(
                    "{}: already a shoal project (config/shoal.yaml exists); pick a new directory",
                    dir.display()
                )));
            }
            for (rel, text) in PACK {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io_err)?;
                }
                std::fs::write(&path, text).map_err(io_err)?;
            }
            if users > 0 {
                let data = std::fs::canonicalize(&dir).map_err(io_err)?.join("data");
                let location = shoal::catalog::Location::parse(
                    data.to_str().unwrap_or("data"),
                    &std::env::current_dir().map_err(io_err)?,
                )?;
                let stores = shoal::catalog::Stores::new(Default::default());
                let store = stores.store_for(&location)?;
                let opts = shoal::generate::GenerateOptions {
                    users: users.into(),
                    days,
                    seed: 7,
                    ..Default::default()
                };
                let report = shoal::generate::generate(store, &location.prefix(), &opts).await?;
                eprintln!(
                    "sample data: {} events of {} users, {} to {}",
                    report.events, report.users, report.first_day, report.last_day
                );
            }
            eprintln!(
                "created {} ({} models). Next:\n  cd {}\n  shoal run          # the whole pack for the newest day\n  shoal query \"select * from community_daily\"",
                dir.display(),
                PACK.len() - 1,
                dir.display()
            );
            Ok(ExitStatus::Success)
        }
        Command::Generate {
            out,
            users,
            days,
            start,
            seed,
        } => {
            let dir = std::env::current_dir().map_err(|e| Error::Usage(e.to_string()))?;
            let location = shoal::catalog::Location::parse(&out, &dir)?;
            let storage = match open_project(g) {
                Ok(p) => p.config().storage.clone(),
                Err(_) => Default::default(),
            };
            let stores = shoal::catalog::Stores::new(storage);
            let store = stores.store_for(&location)?;
            let mut opts = shoal::generate::GenerateOptions {
                users,
                days,
                seed,
                ..Default::default()
            };
            if let Some(s) = start {
                opts.start = s;
            }
            let t = std::time::Instant::now();
            let report = shoal::generate::generate(store, &location.prefix(), &opts).await?;
            eprintln!(
                "wrote {} events of {} users over {} days ({} to {}) in {} files, {:.1} MB, to {} in {:.1}s",
                report.events,
                report.users,
                report.days,
                report.first_day,
                report.last_day,
                report.files,
                report.bytes as f64 / 1e6,
                location,
                t.elapsed().as_secs_f64()
            );
            Ok(ExitStatus::Success)
        }
    }
}

/// The shipped config and model pack, embedded by build.rs for `shoal init`.
const PACK: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/pack.rs"));

fn io_err(e: std::io::Error) -> Error {
    Error::Usage(format!("writing output: {e}"))
}

fn print_batches(
    batches: &[datafusion::arrow::array::RecordBatch],
    format: QueryFormat,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        QueryFormat::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)
                .map_err(|e| Error::Usage(e.to_string()))?;
            writeln!(out, "{table}").map_err(io_err)?;
        }
        QueryFormat::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in batches {
                w.write(b).map_err(|e| Error::Usage(e.to_string()))?;
            }
        }
        QueryFormat::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut out);
            let refs: Vec<&datafusion::arrow::array::RecordBatch> = batches.iter().collect();
            w.write_batches(&refs)
                .map_err(|e| Error::Usage(e.to_string()))?;
            w.finish().map_err(|e| Error::Usage(e.to_string()))?;
            writeln!(out).map_err(io_err)?;
        }
    }
    Ok(())
}

fn summarize(record: &RunRecord, json: bool) -> ExitStatus {
    let status = ExitStatus::from_code(record.exit_code.unwrap_or(1));
    if json {
        // The run-finished event was already logged as JSON; keep stderr machine-readable.
        return status;
    }
    let (ok, failed, skipped, _) = record.counts();
    let secs = record
        .finished_at
        .map(|f| (f - record.started_at).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0);
    eprintln!(
        "run {} for {}: {ok} ok, {failed} failed, {skipped} skipped in {secs:.1}s",
        record.run_id, record.ds
    );
    for m in record.models.iter().filter(|m| m.status == Status::Failed) {
        eprintln!("  failed {}: {}", m.name, m.error.as_deref().unwrap_or(""));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

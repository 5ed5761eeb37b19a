//! The command line: every subcommand, option and value, as clap derive
//! structs. The `///` doc comments are the `--help` text; docs/cli.md is
//! the reference.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (relative paths are taken from --project-dir).
    #[arg(
        long,
        global = true,
        env = "SHOAL_CONFIG",
        default_value = "config/shoal.yaml",
        help_heading = "Global"
    )]
    pub config: PathBuf,
    /// Project directory: `sql/` and relative locations are resolved against it.
    #[arg(
        long,
        global = true,
        env = "SHOAL_PROJECT_DIR",
        default_value = ".",
        help_heading = "Global"
    )]
    pub project_dir: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, env = "SHOAL_LOG_FORMAT", value_enum, default_value_t = LogArg::Auto, help_heading = "Global")]
    pub log_format: LogArg,
    /// Worker threads (default: number of cores).
    #[arg(long, global = true, env = "SHOAL_THREADS", help_heading = "Global")]
    pub threads: Option<usize>,
    /// Memory pool size, e.g. 2GiB; operators spill to disk beyond it.
    #[arg(
        long,
        global = true,
        env = "SHOAL_MEMORY_LIMIT",
        help_heading = "Global"
    )]
    pub memory_limit: Option<String>,
    /// Engine: `local` or `ballista://HOST:PORT`.
    #[arg(long, global = true, env = "SHOAL_ENGINE", help_heading = "Global")]
    pub engine: Option<String>,
    /// Override any config value: --set run.lookback_days=30 (repeatable).
    /// Environment variables SHOAL__RUN__LOOKBACK_DAYS=30 do the same.
    #[arg(
        long = "set",
        global = true,
        value_name = "KEY=VALUE",
        help_heading = "Global"
    )]
    pub set: Vec<String>,
    /// More log output (-v shoal's debug lines, -vv debug lines of every library).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global")]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, help_heading = "Global")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogArg {
    /// Text on a terminal, JSON lines otherwise.
    Auto,
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Models to run: NAME, NAME+ (and downstream), +NAME (and upstream), tag:TAG; comma-separated or repeated.
    #[arg(long, short = 's')]
    pub select: Vec<String>,
    /// Models to leave out (same syntax as --select).
    #[arg(long)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// Print what would run and which partitions it would read, after
        /// planning every model's SQL; run nothing, write nothing.
        #[arg(long)]
        dry_run: bool,
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
    /// Turn a plain-Parquet output of an earlier shoal into Delta tables now
    /// (each table's current files become its first version); a run does
    /// the same on its own the first time it meets such an output.
    Migrate,
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
    ///
    /// With Delta outputs, --as-of reads every table as it was at a version
    /// (`--as-of 12`) or a time (`--as-of 2026-12-01T06:00:00Z`).
    Query {
        /// The SQL.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
        /// Read the Delta tables at this version number or time.
        #[arg(long, value_name = "VERSION|TIMESTAMP")]
        as_of: Option<crate::sink::AsOf>,
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
    Executor(ExecutorArgs),
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
pub enum ListFormat {
    /// One line per model.
    Text,
    /// A JSON array, for schedulers.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitDialect {
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
pub enum QueryFormat {
    /// An aligned table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// The options of `shoal executor`.
#[cfg(feature = "ballista")]
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// Address to bind the executor's ports to.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_host: String,
    /// Host name the scheduler and other executors reach this one by (set it on a cluster of several machines).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle data and results).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Concurrent tasks (default: number of cores).
    #[arg(long, default_value_t = 0)]
    pub vcores: usize,
    /// Directory for shuffle files and spills (default: a new temp dir).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

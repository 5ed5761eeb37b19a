//! The command line: arguments, what is printed, the progress bar, logging
//! and one file per subcommand in [`commands`]. Only this module prints or
//! knows clap and indicatif; everything below it returns values.
//!
//! `main` parses the arguments, calls [`init`] (logging), builds the tokio
//! runtime and calls [`run`], which hands back the exit status.

// The `///` comments of these types are the `--help` text, which says
// what each option is; doc comments on the container types would change it.
#[allow(missing_docs)]
pub mod args;
mod commands;
mod logging;
mod printer;
mod progress;

pub use args::Cli;
pub use logging::LogFormat;
pub use printer::Printer;

use args::{Command, Global, LogArg};

use crate::project::Project;
use crate::{ExitStatus, Result};

/// How this process talks to its caller, decided once from the arguments
/// and the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Text or JSON logs on stderr.
    pub log_format: LogFormat,
    /// Where results, summaries and errors go.
    pub printer: Printer,
}

/// Installs logging for `cli` and returns the setup the commands use.
pub fn init(cli: &Cli) -> Setup {
    let g = &cli.global;
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log_format = match g.log_format {
        LogArg::Json => LogFormat::Json,
        LogArg::Text => LogFormat::Text,
        LogArg::Auto if stderr_tty => LogFormat::Text,
        LogArg::Auto => LogFormat::Json,
    };
    let verbosity = if g.quiet { -1 } else { g.verbose.min(2) as i8 };
    logging::init(log_format, verbosity);
    Setup {
        log_format,
        printer: Printer {
            json: log_format == LogFormat::Json,
            progress: stderr_tty && log_format == LogFormat::Text && !g.quiet,
        },
    }
}

/// Runs the subcommand and returns the exit status; an error is printed
/// here and turned into its status.
pub async fn run(cli: Cli, setup: Setup) -> ExitStatus {
    let p = setup.printer;
    match dispatch(cli, p).await {
        Ok(status) => status,
        Err(e) => p.error(&e),
    }
}

async fn dispatch(cli: Cli, p: Printer) -> Result<ExitStatus> {
    let g = &cli.global;
    match cli.command {
        Command::Run {
            ds,
            selection,
            full_refresh,
            dry_run,
        } => commands::run::run(g, p, ds, selection, full_refresh, dry_run).await,
        Command::Retry => commands::retry::run(g, p).await,
        Command::Backfill {
            from,
            to,
            selection,
            full_refresh,
        } => commands::backfill::run(g, p, from, to, selection, full_refresh).await,
        Command::List { output } => commands::list::run(g, p, output),
        Command::Compile { model, ds } => commands::compile::run(g, p, &model, ds).await,
        Command::Validate => commands::validate::run(g, p).await,
        Command::Migrate => commands::migrate::run(g, p).await,
        Command::Test { selection } => commands::test::run(g, p, selection).await,
        Command::Catalog { emit, schema } => commands::catalog::run(g, p, emit, schema).await,
        Command::Init { dir, users, days } => commands::init::run(p, &dir, users, days).await,
        Command::Report { ds, out } => commands::report::run(g, p, ds, &out).await,
        Command::Lineage { target, json, ds } => {
            commands::lineage::run(g, p, target, json, ds).await
        }
        Command::Doctor => commands::doctor::run(g, p).await,
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Query { sql, format, as_of } => {
            commands::query::run(g, p, &sql, format, as_of).await
        }
        #[cfg(feature = "ballista")]
        Command::Scheduler {
            bind,
            external_host,
        } => commands::cluster::scheduler(g, bind, external_host).await,
        #[cfg(feature = "ballista")]
        Command::Executor(args) => commands::cluster::executor(g, args).await,
        Command::Generate {
            out,
            users,
            days,
            start,
            seed,
        } => commands::generate::run(g, p, &out, users, days, start, seed).await,
    }
}

/// The project of the global options: `--config` (taken from
/// `--project-dir` when relative, like dbt's profiles), with `--set`,
/// `--memory-limit`, `--threads` and `--engine` as overrides.
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
    Project::open(&g.project_dir.join(&g.config), &g.project_dir, &overrides)
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

//! The `shoal` binary: parses the command line, sets up logging and the
//! runtime, runs the command ([`shoal::cli::run`]) and exits with its status
//! (docs/cli.md#exit-codes).

use std::process::ExitCode;

use clap::Parser;
use shoal::cli::{self, Cli};

/// mimalloc, as datafusion-cli uses (see Cargo.toml and BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let setup = cli::init(&cli);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = cli.global.threads.filter(|n| *n > 0) {
        runtime.worker_threads(n);
    }
    let status = match runtime.build() {
        Ok(runtime) => runtime.block_on(cli::run(cli, setup)),
        Err(e) => setup.printer.error(&shoal::Error::Usage(format!(
            "cannot start the runtime: {e}"
        ))),
    };
    ExitCode::from(status as u8)
}

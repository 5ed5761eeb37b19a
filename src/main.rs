//! The `shoal` binary: parses the command line, sets up logging and the
//! runtime, runs the command ([`shoal::cli::run`]) and exits with its status
//! (docs/cli.md#exit-codes).

use std::process::ExitCode;

use clap::Parser;
use shoal::cli::{self, Cli};

/// mimalloc, as datafusion-cli uses (see Cargo.toml and BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3 keeps freed pages for a second (`purge_delay`) and commits
/// its arenas eagerly on Linux. A query engine frees hundreds of MiB a
/// second, and the retained pages pushed the process's RSS past
/// `run.memory_limit` (BENCHMARKS.md#memory). shoal returns them at once;
/// the price is system time (page faults on reuse). An operator who sets
/// `MIMALLOC_PURGE_DELAY` or `MIMALLOC_ARENA_EAGER_COMMIT` keeps their
/// value (docs/operations.md#memory-limit-and-spilling).
mod allocator {
    // The positions of the two options in mimalloc 3's `mi_option_e`
    // (c_src/mimalloc/v3/include/mimalloc.h of libmimalloc-sys); the
    // assertion below fails the build when another layout is linked.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const _: () = assert!(
        libmimalloc_sys::_mi_option_last == 47,
        "not mimalloc 3's option layout"
    );

    /// Sets the options before the runtime starts any thread.
    #[allow(unsafe_code)]
    pub(super) fn return_freed_memory_at_once() {
        for (option, env, value) in [
            (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
            (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
        ] {
            if std::env::var_os(env).is_none() {
                // SAFETY: mi_option_set stores a value in mimalloc's option
                // table; any option number below _mi_option_last is valid,
                // and it is called before other threads exist.
                unsafe { libmimalloc_sys::mi_option_set(option, value) };
            }
        }
    }
}

fn main() -> ExitCode {
    allocator::return_freed_memory_at_once();
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

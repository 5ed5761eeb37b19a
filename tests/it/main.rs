//! Integration tests: one binary driving the real `shoal` executable (and the
//! library) in a fresh temporary project per test.
//!
//! Modules:
//! - `common`   — temp projects, hand-built event fixtures, running the binary, reading outputs
//! - `cli`      — run, rerun, failures, write–audit–publish, retry, validate, config errors, exit codes
//! - `staging`  — stg_events, dq_daily and user_daily on hand-built fixtures (expected values by hand)
//! - `stores`   — the same run on memory:// and file:// gives identical outputs
//! - `pack_*`   — the model pack (SPEC §5.3–5.11) on hand-built fixtures; `pack_util` holds their helpers
//! - `crosscheck` — the pack recomputed independently by DuckDB (`tests/py/crosscheck.py`) on generated data
//! - `realdata` — the pack on the real UCI Online Retail transactions: every model, data test and invariant
//! - `ballista` — the pack on a scheduler and two executors (child processes) equals a local run

#[cfg(feature = "ballista")]
mod ballista;
mod cli;
mod common;
mod crosscheck;
mod pack_community;
mod pack_experiments;
mod pack_funnels;
mod pack_growth;
mod pack_health;
mod pack_retention;
mod pack_segments;
mod pack_signals;
mod pack_util;
mod pack_uvi;
mod realdata;
mod staging;
mod stores;

//! Integration tests: one binary driving the real `shoal` executable (and the
//! library) in a fresh temporary project per test.
//!
//! Modules:
//! - `common`   — temp projects, hand-built event fixtures, running the binary, reading outputs
//! - `cli`      — run, rerun, failures, write–audit–publish, retry, validate, config errors, exit codes
//! - `staging`  — stg_events, dq_daily and user_daily on hand-built fixtures (expected values by hand)
//! - `stores`   — the same run on memory:// and file:// gives identical outputs

mod cli;
mod common;
mod staging;
mod stores;

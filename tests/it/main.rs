//! Integration tests: one binary driving the real `shoal` executable (and the
//! library) in a fresh temporary project per test.
//!
//! Modules:
//! - `common`   — temp projects, hand-built event fixtures, running the binary, reading outputs
//! - `cli`      — run, rerun, failures, write–audit–publish, retry, validate, config errors, exit codes
//! - `staging`  — stg_events, dq_daily and user_daily on hand-built fixtures (expected values by hand)
//! - `stores`   — the same run on memory:// and file:// gives identical outputs
//! - `s3_support` — moto's S3 server, a fault-injecting HTTP proxy, bucket mirroring, table comparison
//! - `s3`       — the pack on s3:// equals file://; transient faults retried, permanent ones keep partitions intact
//! - `secrets`  — credentials never appear in logs, errors, help, run records or outputs
//! - `reliability` — bad files, empty/missing partitions, schema drift, bad rows, bad models, path tricks, deletions on every table, hashed user ids
//! - `nightly`  — thirty nightly runs equal one full refresh, table by table; the one documented divergence
//! - `crash`    — SIGKILL at many moments of a run, then a rerun: the clean run's tables, no staging visible
//! - `pack_*`   — the model pack (docs/metrics.md) on hand-built fixtures; `pack_util` holds their helpers
//! - `crosscheck` — the pack recomputed independently by DuckDB (`tests/py/crosscheck.py`) on generated data
//! - `ecosystem` — `shoal catalog` DDL in DuckDB vs pyarrow vs shoal query; the Airflow example in a real DagBag
//! - `lineage`  — lineage.json and `shoal lineage` on a hand-made pack, OpenLineage file events, `shoal doctor`
//! - `report`   — `shoal report` in headless Chromium: every chart, Chinese text, no console errors, screenshot
//! - `realdata` — the pack on the real UCI Online Retail transactions: every model, data test and invariant
//! - `ballista` — the pack on a scheduler and two executors (child processes) equals a local run

// Tests report what they saw (child logs on failure, counts of cases
// tried) on stderr; the lint that keeps printing out of the library does
// not apply here.
#![allow(clippy::print_stderr, clippy::print_stdout)]

#[cfg(feature = "ballista")]
mod ballista;
mod cli;
mod common;
mod crash;
mod crosscheck;
mod delta;
mod ecosystem;
mod lineage;
mod nightly;
mod pack_campaigns;
mod pack_community;
mod pack_experiments;
mod pack_funnels;
mod pack_growth;
mod pack_health;
mod pack_orders;
mod pack_people;
mod pack_platform;
mod pack_pyramid;
mod pack_retention;
mod pack_segments;
mod pack_sentiment;
mod pack_signals;
mod pack_tags;
mod pack_util;
mod pack_uvi;
mod realdata;
mod reliability;
mod report;
mod s3;
mod s3_support;
mod secrets;
mod staging;
mod stores;

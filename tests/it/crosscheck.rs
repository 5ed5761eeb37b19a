//! The model pack against an independent engine: ~220 k generated events
//! (plus the edge cases `generate` does not produce), shoal's outputs
//! recomputed by DuckDB from shoal's metric reference (docs/metrics.md) in
//! `tests/py/crosscheck.py` and compared row by row; and shoal's
//! event-sequence aggregates against ClickHouse itself (chDB) on random
//! event sets in `tests/py/funnel_diff.py`. The Python environment comes
//! from `.ci/pyenv`.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{TempProject, repo_root};

/// The interpreter of the project's Python environment (created on first use).
pub fn python() -> PathBuf {
    interpreter(".ci/pyenv")
}

/// Runs an environment script of `.ci/` and returns the interpreter it prints.
pub fn interpreter(script: &str) -> PathBuf {
    let out = Command::new(repo_root().join(script))
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs a script of `tests/py` with `args`; panics with its output unless it exits 0.
pub fn py(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(repo_root().join("tests/py").join(script))
        .args(args)
        .env("SHOAL_BIN", env!("CARGO_BIN_EXE_shoal"))
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} {args:?} failed:\n{text}");
    text
}

#[test]
fn pack_agrees_with_duckdb_on_generated_data() {
    let p = TempProject::with_repo_project();
    let dir = p.path().to_str().unwrap();
    p.generate(&["--users", "1500", "--days", "60", "--seed", "11"]);
    py(
        "inject_edge_cases.py",
        &["--project", dir, "--ds", "2026-10-30"],
    );
    // a full refresh for the day before, then the nightly incremental run
    p.shoal(&["run", "--ds", "2026-10-29", "--full-refresh"])
        .expect_code(0);
    p.shoal(&["run", "--ds", "2026-10-30"]).expect_code(0);
    for ds in ["2026-10-29", "2026-10-30"] {
        let report = py("crosscheck.py", &["--project", dir, "--ds", ds]);
        for table in [
            "community_daily",
            "retention_cohorts",
            "uvi_scores",
            "user_segments",
            "funnel_steps",
        ] {
            assert!(
                report
                    .lines()
                    .any(|l| l.starts_with(&format!("{table}:")) && l.ends_with("OK")),
                "{ds}: no OK line for {table} in\n{report}"
            );
        }
    }
}

/// 900 random event sets, with NULL times and NULL conditions:
/// window_funnel in every mode, retention and sequence_match/count, through
/// shoal and through ClickHouse (chDB), NULL results included, also with 1
/// and 8 partitions and a memory limit that makes aggregation spill. The
/// script fails on any difference other than those it documents (chDB
/// 25.5's strict_deduplication bug, shoal's exact strict_increase, and
/// strict_once with strict_deduplication where ClickHouse's answer depends
/// on input order); allow_reentry, which chDB 25.5 lacks, is compared with
/// an emulation of upstream ClickHouse's algorithm.
#[test]
fn sequence_functions_agree_with_clickhouse() {
    let report = py("funnel_diff.py", &["--seed", "1", "--batches", "3"]);
    assert!(report.contains("MISMATCH 0"), "{report}");
}

//! `shoal run`: the model DAG for one day, or with `--dry-run` what it would do.

use std::fmt::Write as _;

use crate::cli::args::{Global, Selection};
use crate::cli::{Printer, open_project};
use crate::engine::{self, RunOptions, RunPlan};
use crate::{ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    ds: Option<String>,
    selection: Selection,
    full_refresh: bool,
    dry_run: bool,
) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let opts = RunOptions {
        ds,
        select: selection.select,
        exclude: selection.exclude,
        full_refresh,
        command: "run".into(),
        built_to_day_before: Default::default(),
    };
    if dry_run {
        let plan = engine::dry_run(&project, &opts).await?;
        p.out(&describe(&plan))?;
        return Ok(ExitStatus::Success);
    }
    let record = engine::run(&project, &opts, &super::observers(&project, p)).await?;
    Ok(p.summary(&record))
}

/// The text of `run --dry-run`: the day, the models in order with how each
/// is kept, and the events partitions and files the run would read.
fn describe(plan: &RunPlan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ds {}{}: {} models would run",
        plan.ds,
        if plan.full_refresh {
            " (full refresh)"
        } else {
            ""
        },
        plan.run_set.len()
    );
    for m in plan.models() {
        let _ = writeln!(
            s,
            "  {:<28} {:<6} {}",
            m.name,
            m.header.materialized.as_str(),
            m.file
        );
    }
    let bytes: u64 = plan.input_files.iter().map(|f| f.size).sum();
    let days = match (plan.partitions.first(), plan.partitions.last()) {
        (Some(a), Some(b)) if a.day != b.day => format!("dt={}..dt={}", a.day, b.day),
        (Some(a), _) => format!("dt={}", a.day),
        _ => "no partition".into(),
    };
    let _ = writeln!(
        s,
        "reads {days}: {} events partitions, {} files, {:.1} MB",
        plan.partitions.len(),
        plan.input_files.len(),
        bytes as f64 / 1e6
    );
    for w in &plan.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

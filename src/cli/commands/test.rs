//! `shoal test`: the models' data tests on their committed outputs.

use std::fmt::Write as _;

use crate::cli::args::{Global, Selection};
use crate::cli::{Printer, open_project};
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer, selection: Selection) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let ds = project.resolve_ds_or_today(None).await;
    let results = crate::engine::test_models(&project, ds, &selection.select).await?;
    let mut failed = 0;
    let mut total = 0;
    let mut s = String::new();
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
            let _ = writeln!(s, "{verdict:<4} {model}: {} ({} rows)", o.name, o.failures);
        }
    }
    let _ = writeln!(s, "{} passed, {} failed", total - failed, failed);
    p.out(&s)?;
    Ok(if failed > 0 {
        ExitStatus::ModelFailed
    } else {
        ExitStatus::Success
    })
}

//! `shoal retry`: rerun the failed and skipped models of the last run, with its day.

use crate::cli::{Printer, args::Global, open_project};
use crate::engine::{self, EngineError, RunOptions};
use crate::runlog::RunLog;
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let log = RunLog::new(project.output.clone());
    let Some(last) = log.latest().await? else {
        return Err(EngineError::NothingToRetry(format!(
            "{}_shoal/latest.json: no earlier run to retry",
            project.output.root
        ))
        .into());
    };
    let names = last.unfinished_models();
    if names.is_empty() {
        p.note(&format!(
            "nothing to retry: run {} for {} had no failed or skipped model",
            last.run_id, last.ds
        ));
        return Ok(ExitStatus::Success);
    }
    p.note(&format!(
        "retrying {} model(s) of run {} for ds {}: {}",
        names.len(),
        last.run_id,
        last.ds,
        names.join(", ")
    ));
    let opts = RunOptions {
        ds: Some(last.ds.to_string()),
        select: vec![names.join(",")],
        exclude: vec![],
        full_refresh: last.full_refresh,
        command: "retry".into(),
        built_to_day_before: Default::default(),
    };
    let record = engine::run(&project, &opts, &super::observers(&project, p)).await?;
    Ok(p.summary(&record))
}

//! Backfills: one run per day from `from` to `to`, in order. A day whose
//! selected models are all committed already (its day mark in
//! `_shoal/days/`) is skipped unless `full_refresh`; the first day that does
//! not succeed stops the backfill, so rerunning the same command resumes
//! there.

use std::sync::Arc;

use chrono::NaiveDate;

use super::{RunObserver, RunOptions, run};
use crate::project::Project;
use crate::runlog::{RunLog, RunRecord};
use crate::{Error, ExitStatus, Result};

/// What to backfill.
#[derive(Debug, Clone)]
pub struct Backfill {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// `--select` selectors.
    pub select: Vec<String>,
    /// `--exclude` selectors.
    pub exclude: Vec<String>,
    /// Rerun committed days too, with a full refresh on the first day.
    pub full_refresh: bool,
}

/// Runs the days of `b`, calling `on_day` with the record of each day that
/// ran. Returns the day it stopped at, if one did not succeed.
pub async fn backfill(
    project: &Project,
    b: &Backfill,
    observers: &[Arc<dyn RunObserver>],
    mut on_day: impl FnMut(&RunRecord),
) -> Result<Option<NaiveDate>> {
    if b.from > b.to {
        return Err(Error::Usage(format!(
            "--from {} is after --to {}",
            b.from, b.to
        )));
    }
    let log = RunLog::new(project.output.clone());
    let dag = project.dag(b.to, false, None)?;
    let wanted = dag.select(&b.select, &b.exclude)?;
    let mut first = true;
    for day in b.from.iter_days().take_while(|d| *d <= b.to) {
        let covered = log
            .day_mark(day)
            .await
            .is_some_and(|done| wanted.iter().all(|w| done.contains(w)));
        if covered && !b.full_refresh {
            tracing::info!(%day, "already committed, skipped");
            continue;
        }
        let opts = RunOptions {
            ds: Some(day.to_string()),
            select: b.select.clone(),
            exclude: b.exclude.clone(),
            full_refresh: b.full_refresh && first,
            command: "backfill".into(),
            built_to_day_before: Default::default(),
        };
        let record = run(project, &opts, observers).await?;
        on_day(&record);
        if record.exit_code != Some(ExitStatus::Success) {
            return Ok(Some(day));
        }
        first = false;
    }
    Ok(None)
}

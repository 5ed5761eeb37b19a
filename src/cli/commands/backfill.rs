//! `shoal backfill`: every day from `--from` to `--to`, skipping committed days.

use chrono::NaiveDate;

use crate::cli::args::{Global, Selection};
use crate::cli::{Printer, open_project};
use crate::engine::{self, Backfill};
use crate::{ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    from: NaiveDate,
    to: NaiveDate,
    selection: Selection,
    full_refresh: bool,
) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let backfill = Backfill {
        from,
        to,
        select: selection.select,
        exclude: selection.exclude,
        full_refresh,
    };
    let observers = super::observers(&project, p);
    let mut status = ExitStatus::Success;
    let stopped = engine::backfill(&project, &backfill, &observers, |record| {
        status = p.summary(record);
    })
    .await?;
    if let Some(day) = stopped {
        p.note(&format!(
            "backfill stopped at {day}; rerun the same command to resume from there"
        ));
    }
    Ok(status)
}

//! `shoal migrate`: turn a plain-Parquet output of an earlier shoal into
//! Delta tables, under the output lease.

use crate::cli::{Printer, args::Global, open_project};
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let notes = crate::engine::migrate(&project).await?;
    for n in &notes {
        p.note(n);
    }
    if notes.is_empty() {
        p.note(&format!(
            "{}: nothing to migrate (its tables are Delta tables already, or it has none)",
            project.output.root
        ));
    }
    Ok(ExitStatus::Success)
}

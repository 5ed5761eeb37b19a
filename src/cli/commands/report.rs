//! `shoal report`: the self-contained HTML report of a day's committed outputs.

use std::path::Path;

use crate::cli::{Printer, args::Global, open_project};
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer, ds: Option<String>, out: &Path) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let ds = project.resolve_ds(ds.as_deref()).await?;
    let html = crate::report::build(&project, ds).await?;
    std::fs::write(out, html).map_err(|e| crate::report::write_error(out, &e))?;
    p.note(&format!("wrote the report for {ds} to {}", out.display()));
    Ok(ExitStatus::Success)
}

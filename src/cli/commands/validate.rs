//! `shoal validate`: every model parses, resolves and plans against the source schemas.

use crate::cli::{Printer, args::Global, open_project};
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let dag = crate::engine::validate(&project, chrono::Utc::now().date_naive()).await?;
    p.note(&format!(
        "{} models parse, resolve and plan",
        dag.models.len()
    ));
    Ok(ExitStatus::Success)
}

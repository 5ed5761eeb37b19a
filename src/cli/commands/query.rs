//! `shoal query SQL`: ad-hoc SQL over the sources and the committed outputs.

use crate::cli::args::{Global, QueryFormat};
use crate::cli::{Printer, open_project};
use crate::engine::{locate_error, query_session};
use crate::{Error, ExitStatus, Result};

pub async fn run(g: &Global, p: Printer, sql: &str, format: QueryFormat) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let ds = project.resolve_ds_or_today(None).await;
    let (ctx, _) = query_session(&project, ds).await?;
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|e| Error::Usage(locate_error("query", &e)))?
        .collect()
        .await
        .map_err(|e| Error::Usage(locate_error("query", &e)))?;
    p.batches(&batches, format)?;
    Ok(ExitStatus::Success)
}

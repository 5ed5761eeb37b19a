//! `shoal query SQL`: ad-hoc SQL over the sources and the committed outputs.

use crate::cli::args::{Global, QueryFormat};
use crate::cli::{Printer, open_project};
use crate::engine::{locate_error, query_session_at};
use crate::sink::AsOf;
use crate::{Error, ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    sql: &str,
    format: QueryFormat,
    as_of: Option<AsOf>,
) -> Result<ExitStatus> {
    let project = open_project(g)?;
    if as_of.is_some() && !project.output.is_delta_format() {
        return Err(Error::Usage(
            "--as-of reads older versions of Delta tables; this project writes plain Parquet (output.format: parquet)".into(),
        ));
    }
    let ds = project.resolve_ds_or_today(None).await;
    let (ctx, _) = query_session_at(&project, ds, as_of.unwrap_or(AsOf::Latest)).await?;
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

//! `shoal catalog --emit ENGINE`: DDL exposing the committed outputs to a BI engine.

use crate::bi::{self, Dialect};
use crate::cli::args::{EmitDialect, Global};
use crate::cli::{Printer, open_project};
use crate::{ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    emit: EmitDialect,
    schema: Option<String>,
) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let ds = project.resolve_ds_or_today(None).await;
    let dialect = match emit {
        EmitDialect::Duckdb => Dialect::Duckdb,
        EmitDialect::Trino => Dialect::Trino,
        EmitDialect::Athena => Dialect::Athena,
        EmitDialect::Spark => Dialect::Spark,
    };
    let ddl = bi::emit_for_project(&project, ds, dialect, schema.as_deref()).await?;
    p.out(&ddl)?;
    Ok(ExitStatus::Success)
}

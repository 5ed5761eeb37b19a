//! `shoal compile MODEL`: the model's rendered SQL.

use crate::cli::{Printer, args::Global, open_project};
use crate::{Error, ExitStatus, Result};

pub async fn run(g: &Global, p: Printer, model: &str, ds: Option<String>) -> Result<ExitStatus> {
    if !crate::names::valid_name(model) {
        return Err(Error::Usage(format!(
            "{model:?} is not a model name: {}",
            crate::names::NOT_A_PATH
        )));
    }
    let project = open_project(g)?;
    let ds = project.resolve_ds(ds.as_deref()).await?;
    let dag = project.dag(ds, false, None)?;
    let Some(m) = dag.get(model) else {
        let hint = crate::names::suggest(model, dag.models.iter().map(|m| m.name.as_str()))
            .map(|s| format!(" (did you mean {s:?}?)"))
            .unwrap_or_default();
        return Err(Error::Usage(format!("no model named {model:?}{hint}")));
    };
    p.out(&m.sql)?;
    Ok(ExitStatus::Success)
}

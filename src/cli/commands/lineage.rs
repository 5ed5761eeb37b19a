//! `shoal lineage [MODEL[.COLUMN]]`: upstream models, sources and column lineage.

use crate::cli::{Printer, args::Global, open_project};
use crate::{Error, ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    target: Option<String>,
    json: bool,
    ds: Option<String>,
) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let ds = project.resolve_ds_or_today(ds.as_deref()).await;
    let lineage = crate::lineage::for_project(&project, ds).await?;
    let text = match (&target, json) {
        (None, true) => serde_json::to_string_pretty(&lineage).expect("json"),
        (Some(t), true) => {
            // the same checks and suggestions as the text form
            lineage.describe(t).map_err(Error::Usage)?;
            let (model, column) = match t.split_once('.') {
                Some((m, c)) => (m, Some(c)),
                None => (t.as_str(), None),
            };
            let m = &lineage.models[model];
            match column {
                None => serde_json::to_string_pretty(m).expect("json"),
                Some(c) => serde_json::to_string_pretty(
                    m.columns.iter().find(|x| x.name == c).expect("checked"),
                )
                .expect("json"),
            }
        }
        (Some(t), false) => lineage.describe(t).map_err(Error::Usage)?,
        (None, false) => {
            let mut s = String::new();
            for name in lineage.models.keys() {
                s.push_str(&lineage.describe(name).map_err(Error::Usage)?);
            }
            s
        }
    };
    p.out(&text)?;
    Ok(ExitStatus::Success)
}

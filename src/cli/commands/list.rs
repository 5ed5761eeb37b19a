//! `shoal list`: the models, their materialization, dependencies and tags.

use std::fmt::Write as _;

use crate::cli::args::{Global, ListFormat};
use crate::cli::{Printer, open_project};
use crate::{ExitStatus, Result};

pub fn run(g: &Global, p: Printer, format: ListFormat) -> Result<ExitStatus> {
    let project = open_project(g)?;
    let dag = project.dag(chrono::Utc::now().date_naive(), false, None)?;
    let text = match format {
        ListFormat::Json => {
            let items: Vec<serde_json::Value> = dag
                .models
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name, "file": m.file,
                        "materialized": m.header.materialized.as_str(),
                        "depends_on": m.deps, "sources": m.sources,
                        "tags": m.header.tags, "description": m.header.description,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&items).expect("json")
        }
        ListFormat::Text => {
            let mut s = String::new();
            for m in &dag.models {
                let mut deps: Vec<String> = m.deps.clone();
                deps.extend(m.sources.iter().map(|s| format!("source:{s}")));
                let _ = writeln!(
                    s,
                    "{:<28} {:<6} <- {}{}",
                    m.name,
                    m.header.materialized.as_str(),
                    if deps.is_empty() {
                        "-".into()
                    } else {
                        deps.join(", ")
                    },
                    if m.header.tags.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", m.header.tags.join(", "))
                    }
                );
            }
            s
        }
    };
    p.out(&text)?;
    Ok(ExitStatus::Success)
}

//! `shoal doctor`: config, models, storage and sources checked, with what to fix.

use crate::cli::{Printer, args::Global};
use crate::{ExitStatus, Result};

pub async fn run(g: &Global, p: Printer) -> Result<ExitStatus> {
    let mut overrides = g.set.clone();
    if let Some(e) = &g.engine {
        overrides.push(format!("engine={e}"));
    }
    let config = g.project_dir.join(&g.config);
    let report = crate::doctor::diagnose(&config, &g.project_dir, &overrides).await;
    p.out(&report.render())?;
    Ok(report.status())
}

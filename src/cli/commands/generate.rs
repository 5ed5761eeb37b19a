//! `shoal generate`: a synthetic event set in the events schema.

use chrono::NaiveDate;

use crate::catalog::{Location, Stores};
use crate::cli::{Printer, args::Global, open_project};
use crate::generate::{GenerateOptions, generate};
use crate::{Error, ExitStatus, Result};

pub async fn run(
    g: &Global,
    p: Printer,
    out: &str,
    users: u64,
    days: u32,
    start: Option<NaiveDate>,
    seed: u64,
) -> Result<ExitStatus> {
    let dir = std::env::current_dir().map_err(|e| Error::Usage(e.to_string()))?;
    let location = Location::parse(out, &dir)?;
    // The project's storage options when there is a project, else the defaults.
    let storage = match open_project(g) {
        Ok(project) => project.config().storage.clone(),
        Err(_) => Default::default(),
    };
    let store = Stores::new(storage).store_for(&location)?;
    let mut opts = GenerateOptions {
        users,
        days,
        seed,
        ..Default::default()
    };
    if let Some(s) = start {
        opts.start = s;
    }
    let t = std::time::Instant::now();
    let report = generate(store, &location.prefix(), &opts).await?;
    p.note(&format!(
        "wrote {} events of {} users over {} days ({} to {}) in {} files, {:.1} MB, to {} in {:.1}s",
        report.events,
        report.users,
        report.days,
        report.first_day,
        report.last_day,
        report.files,
        report.bytes as f64 / 1e6,
        location,
        t.elapsed().as_secs_f64()
    ));
    Ok(ExitStatus::Success)
}

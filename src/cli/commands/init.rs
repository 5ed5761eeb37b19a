//! `shoal init DIR`: a new project with the model pack and sample data.

use std::path::Path;

use crate::cli::Printer;
use crate::{ExitStatus, Result};

pub async fn run(p: Printer, dir: &Path, users: u32, days: u32) -> Result<ExitStatus> {
    let created = crate::project::create(dir, users, days).await?;
    if let Some(r) = &created.sample {
        p.note(&format!(
            "sample data: {} events of {} users, {} to {}",
            r.events, r.users, r.first_day, r.last_day
        ));
    }
    p.note(&format!(
        "created {} ({} models). Next:\n  cd {}\n  shoal run          # the whole pack for the newest day\n  shoal query \"select * from community_daily\"",
        dir.display(),
        created.models,
        dir.display()
    ));
    Ok(ExitStatus::Success)
}

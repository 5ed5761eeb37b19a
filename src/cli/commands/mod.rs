//! One file per subcommand: each turns its arguments into calls of the
//! library and prints what they return.

pub mod backfill;
pub mod catalog;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod compile;
pub mod completions;
pub mod doctor;
pub mod generate;
pub mod init;
pub mod lineage;
pub mod list;
pub mod migrate;
pub mod query;
pub mod report;
pub mod retry;
pub mod run;
pub mod test;
pub mod validate;

use std::sync::Arc;

use crate::cli::Printer;
use crate::engine::RunObserver;
use crate::project::Project;

/// The observers of a run: lineage.json always, OpenLineage events when
/// configured, the progress bar on a terminal.
pub(crate) fn observers(project: &Project, p: Printer) -> Vec<Arc<dyn RunObserver>> {
    let mut out: Vec<Arc<dyn RunObserver>> =
        vec![Arc::new(crate::lineage::LineageWriter::new(project))];
    if let Some(ol) = crate::openlineage::Emitter::from_project(project) {
        out.push(Arc::new(ol));
    }
    if p.progress {
        out.push(Arc::new(crate::cli::progress::ProgressBar::default()));
    }
    out
}

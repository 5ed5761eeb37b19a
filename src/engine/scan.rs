//! What a model's plan reads: the files a physical plan scans after
//! partition pruning, and the events `dt=` partitions among them, for the
//! run record (`files_read`, `partitions_read`).

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

/// Every file a physical plan scans (after partition pruning), as URLs.
pub fn scanned_files(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![Arc::clone(plan)];
    while let Some(p) = stack.pop() {
        if let Some(ds) = p.downcast_ref::<DataSourceExec>()
            && let Some(fsc) = ds.data_source().downcast_ref::<FileScanConfig>()
        {
            let base = fsc
                .object_store_url
                .as_str()
                .trim_end_matches('/')
                .to_string();
            for g in &fsc.file_groups {
                for f in g.iter() {
                    out.push(format!("{base}/{}", f.object_meta.location));
                }
            }
        }
        stack.extend(p.children().into_iter().cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// The files a DataFrame scans, from a local physical plan (used when the
/// real plan runs on a Ballista cluster and is opaque here). Lists files, reads nothing.
pub(super) async fn local_scanned_files(
    ctx: &SessionContext,
    df: &datafusion::dataframe::DataFrame,
) -> Result<Vec<String>, DataFusionError> {
    use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
    let state = ctx.state();
    let optimized = state.optimize(df.logical_plan())?;
    let plan = DefaultPhysicalPlanner::default()
        .create_physical_plan(&optimized, &state)
        .await?;
    Ok(scanned_files(&plan))
}

/// The `dt=` partitions of the events source among scanned files.
pub(super) fn events_partitions(files: &[String], events_prefix: &str) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.contains(events_prefix))
        .filter_map(|f| {
            f.split('/')
                .find(|s| s.starts_with("dt="))
                .map(str::to_string)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

//! A physical optimizer rule that compacts the batches a sort keeps.
//!
//! An aggregate emits all its groups as one batch and hands it on in slices
//! of `batch_size` rows; a hash join or a repartition takes rows out of
//! such batches, and for `Utf8View` columns (how DataFusion reads Parquet
//! text) a taken row still points into the original data buffers. Each
//! small batch downstream therefore holds on to — and DataFusion's memory
//! accounting charges it for — whole buffers of its source. A sort keeps
//! its input batches until it has them all, so it reserves (and keeps
//! alive) those buffers batch after batch: at 640,000 users one sort of
//! user_features asked the memory pool for 53.5 MB for its first batch of
//! 8,192 rows, more than its share under a 2 GiB limit, and the model
//! failed.
//!
//! Some operators also emit one batch of a whole partition: an anti join
//! (`not in`, `not exists`) emits the rows of its first input that found no
//! match all at once when it ends, and stg_users' sort got 320,000 users in
//! one 43 MB batch.
//!
//! This rule puts a [`CompactExec`] under every `SortExec`. It cuts
//! batches longer than the session's batch size into slices of that size,
//! and passes each on unchanged except columns whose buffers are much
//! larger than the rows need: those are copied (`Utf8View`/`BinaryView` by garbage
//! collecting their data buffers, other types by taking their rows), so
//! the sort holds and is charged for its rows only. Rows, columns and their
//! order are unchanged.
//!
//! Only local sessions use it: a Ballista executor would have to decode the
//! new operator.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

/// A column is copied when its buffers exceed what its rows need by more
/// than this factor (and [`SLACK`] bytes).
const FACTOR: usize = 2;
const SLACK: usize = 64 * 1024;

/// Bytes the rows of `col` need: for view types the views and the strings
/// longer than 12 bytes they point to, else Arrow's slice size.
fn needed(col: &ArrayRef) -> usize {
    let long = |views: &[u128]| -> usize {
        views
            .iter()
            .map(|v| *v as u32 as usize)
            .filter(|len| *len > 12)
            .sum()
    };
    match col.data_type() {
        DataType::Utf8View => col.len() * 16 + long(col.as_string_view().views()),
        DataType::BinaryView => col.len() * 16 + long(col.as_binary_view().views()),
        _ => col
            .to_data()
            .get_slice_memory_size()
            .unwrap_or_else(|_| col.get_array_memory_size()),
    }
}

/// `col` itself, or a copy holding only its rows' bytes.
fn compact_column(col: &ArrayRef) -> Result<ArrayRef> {
    if col.get_array_memory_size() <= FACTOR * needed(col) + SLACK {
        return Ok(Arc::clone(col));
    }
    Ok(match col.data_type() {
        DataType::Utf8View => Arc::new(col.as_string_view().gc()),
        DataType::BinaryView => Arc::new(col.as_binary_view().gc()),
        _ => {
            let rows = UInt32Array::from_iter_values(0..col.len() as u32);
            take(col.as_ref(), &rows, None)?
        }
    })
}

/// The batch with every oversized column copied (see the module docs).
pub fn compact_batch(batch: RecordBatch) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(compact_column)
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// `batch` in slices of at most `rows` rows (itself when it is no longer).
fn split(batch: &RecordBatch, rows: usize) -> Vec<RecordBatch> {
    (0..batch.num_rows())
        .step_by(rows)
        .map(|at| batch.slice(at, rows.min(batch.num_rows() - at)))
        .collect()
}

/// Passes its input's batches on, compacted and no longer than the
/// session's batch size (see the module docs).
#[derive(Debug)]
pub struct CompactExec {
    input: Arc<dyn ExecutionPlan>,
    cache: Arc<PlanProperties>,
}

impl CompactExec {
    /// Compacts the batches of `input`.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        let cache = Arc::clone(input.properties());
        Self { input, cache }
    }
}

impl DisplayAs for CompactExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "CompactExec")
    }
}

#[allow(deprecated)]
impl ExecutionPlan for CompactExec {
    fn name(&self) -> &'static str {
        "CompactExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.cache
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(CompactExec::new(children.swap_remove(0))))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let rows = context.session_config().batch_size().max(1);
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            input.flat_map(move |batch| {
                futures::stream::iter(match batch {
                    Ok(batch) => split(&batch, rows)
                        .into_iter()
                        .map(compact_batch)
                        .collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            }),
        )))
    }
}

/// The rule (see the module documentation).
#[derive(Debug, Default)]
pub struct CompactBeforeSort;

impl CompactBeforeSort {
    /// The rule, ready to add to a session state.
    pub fn new() -> Self {
        Self
    }
}

impl PhysicalOptimizerRule for CompactBeforeSort {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|plan| {
            let Some(sort) = plan.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(plan));
            };
            let input = sort.input();
            if input.downcast_ref::<CompactExec>().is_some() {
                return Ok(Transformed::no(plan));
            }
            let compact: Arc<dyn ExecutionPlan> = Arc::new(CompactExec::new(Arc::clone(input)));
            Ok(Transformed::yes(replace_children_if_necessary(
                plan,
                vec![compact],
            )?))
        })
        .data()
    }

    fn name(&self) -> &str {
        "shoal_compact_before_sort"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringViewArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_plan::spill::get_record_batch_memory_size;

    /// 100,000 rows: an id and a 20-byte text (longer than a view's 12
    /// inline bytes, so it lives in the data buffers).
    fn big() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8View, false),
        ]));
        let n = Int64Array::from_iter_values(0..100_000);
        let s = StringViewArray::from_iter_values((0..100_000).map(|i| format!("user-{i:015}")));
        RecordBatch::try_new(schema, vec![Arc::new(n), Arc::new(s)]).unwrap()
    }

    #[test]
    fn a_slice_is_charged_for_its_rows_only_after_compaction() {
        let whole = big();
        // A slice of 8,192 rows keeps the whole batch's buffers:
        // 100,000 x (8 + 16 + 20) bytes = 4.4 MB, the slice needs 8,192 x 44
        // = 360 KB.
        let slice = whole.slice(50_000, 8_192);
        assert!(get_record_batch_memory_size(&slice) > 4_000_000);
        let compact = compact_batch(slice.clone()).unwrap();
        let size = get_record_batch_memory_size(&compact);
        assert!(size < 2 * 8_192 * 44, "{size} bytes after compaction");
        // Same rows, same values.
        assert_eq!(compact, slice);
    }

    #[test]
    fn a_long_batch_is_cut_into_batch_size_slices() {
        let parts = split(&big(), 8_192);
        // 100,000 = 12 x 8,192 + 1,696
        assert_eq!(parts.len(), 13);
        assert!(parts[..12].iter().all(|p| p.num_rows() == 8_192));
        assert_eq!(parts[12].num_rows(), 1_696);
        assert_eq!(
            datafusion::arrow::compute::concat_batches(&parts[0].schema(), &parts).unwrap(),
            big()
        );
    }
}

//! A physical optimizer rule that runs the events aggregates
//! (`window_funnel`, `sequence_match`, `sequence_count`) in one phase.
//!
//! DataFusion plans a grouped aggregate over several partitions in two
//! phases: a `Partial` aggregate per input partition, a hash repartition on
//! the group keys, and a `FinalPartitioned` aggregate that merges the
//! partial states. That pays off when the partial phase shrinks the data
//! (a `count(*)` per user turns millions of rows into one number per user).
//! The events aggregates keep every matching event in their state, so their
//! partial phase shrinks nothing: it stores the events, writes them out as
//! list state, and the final phase stores them all again. This rule
//! rewrites
//!
//! ```text
//! AggregateExec: mode=FinalPartitioned          AggregateExec: mode=SinglePartitioned
//!   RepartitionExec: Hash(keys, n)        =>      RepartitionExec: Hash(keys, n)
//!     AggregateExec: mode=Partial                   input
//!       input
//! ```
//!
//! when every aggregate of the pair is an events aggregate: the raw rows are
//! repartitioned by the group keys and each event is stored once. The
//! answer is the same (the single-phase aggregate is DataFusion's own
//! `SinglePartitioned` mode, and it spills through the same `state` and
//! `merge_batch` as the two-phase plan).
//!
//! Any other shape (grouping sets, a limit, a mix with other aggregates, no
//! GROUP BY) is left as DataFusion planned it.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_expr::physical_exprs_equal;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::Partitioning;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::repartition::RepartitionExec;

use super::SequenceKind;

/// Whether the aggregate named `name` keeps every event in its state.
fn keeps_every_event(name: &str) -> bool {
    name == super::window_funnel::NAME
        || [SequenceKind::Match, SequenceKind::Count]
            .iter()
            .any(|k| k.name() == name)
}

/// The rule (see the module documentation).
#[derive(Debug, Default)]
pub struct SinglePhaseEventsAggregate;

impl SinglePhaseEventsAggregate {
    /// The rule, ready to add to a session state.
    pub fn new() -> Self {
        Self
    }
}

/// The single-phase replacement of `plan`, if it is a `FinalPartitioned`
/// aggregate of events aggregates over a hash repartition of their partial
/// aggregate.
fn single_phase(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(fin) = plan.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *fin.mode() != AggregateMode::FinalPartitioned || fin.limit_options().is_some() {
        return Ok(None);
    }
    let Some(repartition) = fin.input().downcast_ref::<RepartitionExec>() else {
        return Ok(None);
    };
    let Partitioning::Hash(_, partitions) = repartition.partitioning() else {
        return Ok(None);
    };
    if repartition.preserve_order() {
        return Ok(None);
    }
    let Some(partial) = repartition.input().downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let group_by = partial.group_expr();
    // The two halves of one aggregation, grouped by plain keys, computing
    // only events aggregates.
    let same_pair = physical_exprs_equal(&group_by.output_exprs(), &fin.group_expr().input_exprs())
        && partial.aggr_expr() == fin.aggr_expr()
        && partial.filter_expr() == fin.filter_expr();
    if *partial.mode() != AggregateMode::Partial
        || partial.limit_options().is_some()
        || !same_pair
        || !group_by.is_single()
        || group_by.expr().is_empty()
        || partial.aggr_expr().is_empty()
        || !partial
            .aggr_expr()
            .iter()
            .all(|a| keeps_every_event(a.fun().name()))
    {
        return Ok(None);
    }
    let keys = group_by.input_exprs();
    let shuffled = Arc::new(RepartitionExec::try_new(
        Arc::clone(partial.input()),
        Partitioning::Hash(keys, *partitions),
    )?);
    let single = AggregateExec::try_new(
        AggregateMode::SinglePartitioned,
        group_by.clone(),
        partial.aggr_expr().to_vec(),
        partial.filter_expr().to_vec(),
        shuffled,
        partial.input_schema(),
    )?;
    // Same columns as the plan it replaces, or no rewrite.
    if single.schema() != fin.schema() {
        return Ok(None);
    }
    Ok(Some(Arc::new(single)))
}

impl PhysicalOptimizerRule for SinglePhaseEventsAggregate {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|plan| {
            Ok(match single_phase(&plan)? {
                Some(new) => Transformed::yes(new),
                None => Transformed::no(plan),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "shoal_single_phase_events_aggregate"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

//! shoal's SQL functions: event-sequence aggregates (`window_funnel`,
//! `retention`, `sequence_match`, `sequence_count`) and JSON helpers
//! (`json_get_str`, `json_get_float`, `json_get_bool`), `hash64` and
//! `sentiment`, all registered by
//! [`register_all`] in every session shoal creates (CLI, tests and Ballista
//! executors alike).
//!
//! The aggregates follow ClickHouse's `windowFunnel`, `retention`,
//! `sequenceMatch` and `sequenceCount`; each module documents the semantics
//! and any deliberate difference. They implement both `Accumulator` and
//! `GroupsAccumulator`, so `GROUP BY user_id` over many groups is vectorised,
//! and their intermediate state round-trips exactly through `state` and
//! `merge_batch` (spilling, repartitioning and Ballista shuffles give the same
//! answers).

mod args;
mod compact;
mod cross_join;
mod events;
mod hash64;
mod json;
mod pseudonym;
mod retention;
mod sentiment;
mod sequence;
mod single_phase;
mod window_funnel;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::{SessionConfig, SessionContext};

pub use compact::{CompactBeforeSort, CompactExec, compact_batch};
pub use cross_join::SmallSideFirstCrossJoin;
pub use hash64::Hash64;
pub use json::{JsonGet, JsonGetKind};
pub use pseudonym::{PSEUDONYMIZE, Pseudonymize};
pub use retention::Retention;
pub use sentiment::{DEFAULT_LEXICON, Lexicon, Sentiment};
pub use sequence::{Sequence, SequenceKind};
pub use single_phase::SinglePhaseEventsAggregate;
pub use window_funnel::WindowFunnel;

/// Every shoal aggregate function: `window_funnel`, `retention`,
/// `sequence_match` and `sequence_count` (for a Ballista function registry).
pub fn all_udafs() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(WindowFunnel::new()),
        AggregateUDF::from(Retention::new()),
        AggregateUDF::from(Sequence::new(SequenceKind::Match)),
        AggregateUDF::from(Sequence::new(SequenceKind::Count)),
    ]
}

/// Every shoal scalar function: `json_get_str`, `json_get_float`,
/// `json_get_bool`, `hash64` and `sentiment` (for a Ballista function
/// registry).
pub fn all_udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(JsonGet::new(JsonGetKind::Str)),
        ScalarUDF::from(JsonGet::new(JsonGetKind::Float)),
        ScalarUDF::from(JsonGet::new(JsonGetKind::Bool)),
        ScalarUDF::from(Hash64::new()),
        ScalarUDF::from(Sentiment::new()),
    ]
}

/// A local session with `config` and `runtime`, shoal's functions and its
/// physical optimizer rules: the events aggregates run in one phase (see
/// [`SinglePhaseEventsAggregate`]) and a cross join is built on its small
/// side ([`SmallSideFirstCrossJoin`]); a sort keeps compacted batches
/// ([`CompactBeforeSort`]).
pub fn local_session(config: SessionConfig, runtime: Arc<RuntimeEnv>) -> SessionContext {
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(SinglePhaseEventsAggregate::new()))
        .with_physical_optimizer_rule(Arc::new(SmallSideFirstCrossJoin::new()))
        .with_physical_optimizer_rule(Arc::new(CompactBeforeSort::new()))
        .build();
    let ctx = SessionContext::new_with_state(state);
    register_all(&ctx);
    ctx
}

/// Registers every shoal function in `ctx`; the one place the CLI, the tests
/// and Ballista executors get their functions from.
pub fn register_all(ctx: &SessionContext) {
    for udaf in all_udafs() {
        ctx.register_udaf(udaf);
    }
    for udf in all_udfs() {
        ctx.register_udf(udf);
    }
}

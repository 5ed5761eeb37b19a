//! A physical optimizer rule that builds a cross join (or an inner nested
//! loop join, a cross join with a filter) on its small side.
//!
//! DataFusion's `CrossJoinExec` collects its left input and streams the
//! right one, and it pairs them one *left row* at a time: for each left row
//! it turns every column value into a scalar and repeats it as long as the
//! right batch. With a big left side and a small right side (the pack's
//! favourite shape: every user once per breakdown, segment column or tag
//! rule, `users cross join (values …)`) that is one tiny batch per user, and
//! on 513,000 × 11 rows it took 9 of segment_summary's 11 seconds. With the
//! sides the other way round it is one batch per VALUES row and input batch.
//! `NestedLoopJoinExec` probes the same way: user_tags, whose `where v is not
//! null` made its cross join with the tag rules a nested loop join, spent 9
//! of its 10 seconds there.
//!
//! DataFusion's `JoinSelection` swaps the sides only when the statistics of
//! both are known; a join or an aggregate above a scan usually has none. This
//! rule swaps a cross join or inner nested loop join whose right side is known to hold at most
//! [`SMALL_ROWS`] rows (coalesced into one partition first if it has more)
//! and whose left side is not known to hold fewer. The output is the same rows with the same columns (a
//! projection restores their order); only the row order within the join's
//! output changes, and SQL promises none.

use std::sync::Arc;

use datafusion::common::JoinType;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::joins::{CrossJoinExec, NestedLoopJoinExec};
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

/// The most rows a right side may be known to hold for the swap.
pub const SMALL_ROWS: usize = 10_000;

/// The rule (see the module documentation).
#[derive(Debug, Default)]
pub struct SmallSideFirstCrossJoin;

impl SmallSideFirstCrossJoin {
    /// The rule, ready to add to a session state.
    pub fn new() -> Self {
        Self
    }
}

/// The swapped join when `plan` is a cross join or an inner nested loop
/// join with a big or unknown left side and a small right side.
fn swapped(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let (left, right) = if let Some(join) = plan.downcast_ref::<CrossJoinExec>() {
        (join.left(), join.right())
    } else if let Some(join) = plan.downcast_ref::<NestedLoopJoinExec>() {
        if *join.join_type() != JoinType::Inner {
            return Ok(None);
        }
        (join.left(), join.right())
    } else {
        return Ok(None);
    };
    let stats = |plan: &Arc<dyn ExecutionPlan>| {
        StatisticsContext::new().compute(plan.as_ref(), &StatisticsArgs::new())
    };
    let Some(&right_rows) = stats(right)?.num_rows.get_value() else {
        return Ok(None);
    };
    if right_rows > SMALL_ROWS {
        return Ok(None);
    }
    if stats(left)?
        .num_rows
        .get_value()
        .is_some_and(|&l| l <= right_rows)
    {
        return Ok(None);
    }
    // The new left side is collected from one partition (a small UNION ALL
    // has one per branch); the old left side, now streamed, may stay the
    // coalesced single partition it was.
    let plan = if right.output_partitioning().partition_count() > 1 {
        let one: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(Arc::clone(right)));
        replace_children_if_necessary(Arc::clone(plan), vec![Arc::clone(left), one])?
    } else {
        Arc::clone(plan)
    };
    if let Some(join) = plan.downcast_ref::<CrossJoinExec>() {
        join.swap_inputs().map(Some)
    } else if let Some(join) = plan.downcast_ref::<NestedLoopJoinExec>() {
        join.swap_inputs().map(Some)
    } else {
        Ok(None)
    }
}

impl PhysicalOptimizerRule for SmallSideFirstCrossJoin {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|plan| {
            Ok(match swapped(&plan)? {
                Some(new) => Transformed::yes(new),
                None => Transformed::no(plan),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "shoal_small_side_first_cross_join"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::runtime_env::RuntimeEnv;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{CsvReadOptions, SessionConfig, SessionContext};

    /// Users (a CSV file: no statistics, like a join or an aggregate above
    /// a scan) once per segment of a three-row list: a VALUES list (one
    /// partition), and a UNION ALL (one partition per branch).
    const SQL: [&str; 2] = [
        "select u.user_id, s.segment \
         from users u cross join (values ('a'), ('b'), ('c')) as s(segment) \
         order by u.user_id, s.segment",
        "select u.user_id, s.segment \
         from users u cross join (select 'a' as segment union all select 'b' union all select 'c') s \
         order by u.user_id, s.segment",
    ];

    async fn with_users(ctx: &SessionContext, dir: &std::path::Path) {
        let csv = dir.join("users.csv");
        let rows: String = (1..=500).map(|i| format!("u{i:03}\n")).collect();
        std::fs::write(&csv, format!("user_id\n{rows}")).expect("write the CSV");
        ctx.register_csv(
            "users",
            csv.to_str().expect("utf-8 path"),
            CsvReadOptions::new(),
        )
        .await
        .expect("register the CSV");
    }

    /// The physical plan's text and the query's rows.
    async fn plan_and_rows(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.expect("plan");
        let plan = df
            .clone()
            .create_physical_plan()
            .await
            .expect("physical plan");
        let text = displayable(plan.as_ref()).indent(true).to_string();
        let rows = pretty_format_batches(&df.collect().await.expect("run"))
            .expect("format")
            .to_string();
        (text, rows)
    }

    /// The first child of the `CrossJoinExec`, the collected side, with
    /// everything below it.
    fn collected_side(plan: &str) -> String {
        let indent = |l: &str| l.len() - l.trim_start().len();
        let lines: Vec<&str> = plan.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("CrossJoinExec"))
            .unwrap_or_else(|| panic!("no CrossJoinExec in\n{plan}"));
        let child = indent(lines[at + 1]);
        let mut side = vec![lines[at + 1]];
        side.extend(lines[at + 2..].iter().take_while(|l| indent(l) > child));
        side.join("\n")
    }

    #[tokio::test]
    async fn the_small_list_is_collected_and_the_rows_are_the_same() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = SessionConfig::new().with_target_partitions(2);
        let plain = SessionContext::new_with_config(cfg.clone());
        with_users(&plain, dir.path()).await;
        let shoal = super::super::local_session(cfg, Arc::new(RuntimeEnv::default()));
        with_users(&shoal, dir.path()).await;
        for sql in SQL {
            // DataFusion alone collects the users: their number is unknown,
            // so its join selection cannot compare the sides.
            let (plain_plan, plain_rows) = plan_and_rows(&plain, sql).await;
            assert!(
                collected_side(&plain_plan).contains("users.csv"),
                "DataFusion already collects the small list; the rule is not needed:\n{plain_plan}"
            );
            let (plan, rows) = plan_and_rows(&shoal, sql).await;
            assert!(
                !collected_side(&plan).contains("users.csv"),
                "the cross join should collect the three-row list, not the users:\n{plan}"
            );
            // 500 users x 3 segments, in the same order after the ORDER BY
            assert_eq!(rows.lines().count(), 500 * 3 + 4, "{rows}");
            assert_eq!(rows, plain_rows);
        }
    }
}

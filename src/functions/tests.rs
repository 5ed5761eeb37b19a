//! Tests for the shoal functions, run through a real `SessionContext` with
//! SQL: table-driven cases written from ClickHouse's documented semantics,
//! and a differential test of `window_funnel` against a brute-force
//! reference, across partitionings, batch splits and both accumulator kinds.

#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit, UInt8Type};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::events::{EventsConfig, EventsGroupsAccumulator};
use super::window_funnel::{FunnelFinalizer, FunnelMode, FunnelParams};

/// Condition `k` (1-based) holds on a row when its `ev` string contains
/// `STEP_CHARS[k - 1]`; so `"AB"` satisfies conditions 1 and 2, `"z"` none.
const STEP_CHARS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// `ev LIKE '%A%', ev LIKE '%B%', …` for `n` conditions.
fn conds(n: usize) -> String {
    (0..n)
        .map(|k| format!("ev LIKE '%{}%'", STEP_CHARS[k] as char))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One input row: group, time in microseconds (None = NULL), event string
/// (`"~"` = NULL).
type Row = (i64, Option<i64>, String);

/// Session with shoal's functions and `target_partitions`. With
/// `skip_partial`, DataFusion's plain session (two-phase aggregation) that
/// skips partial aggregation from the first row (state made by
/// `convert_to_state`); otherwise shoal's session, whose optimizer rule
/// runs the events aggregates in one phase.
fn session(target_partitions: usize, skip_partial: bool) -> SessionContext {
    let mut cfg = SessionConfig::new().with_target_partitions(target_partitions);
    if !skip_partial {
        return super::local_session(cfg, Arc::new(RuntimeEnv::default()));
    }
    let opts = &mut cfg.options_mut().execution;
    opts.skip_partial_aggregation_probe_rows_threshold = 1;
    opts.skip_partial_aggregation_probe_ratio_threshold = 0.0;
    let ctx = SessionContext::new_with_config(cfg);
    super::register_all(&ctx);
    ctx
}

/// How to lay the rows out: number of partitions (rows dealt round-robin,
/// order reversed when > 1) and rows per batch.
#[derive(Debug, Clone, Copy)]
struct Layout {
    target_partitions: usize,
    partitions: usize,
    batch_rows: usize,
    skip_partial: bool,
}

/// One partition; several with shoal's single-phase plan; several with
/// DataFusion's two phases and skipped partial aggregation.
const LAYOUTS: [Layout; 3] = [
    Layout {
        target_partitions: 1,
        partitions: 1,
        batch_rows: 1000,
        skip_partial: false,
    },
    Layout {
        target_partitions: 4,
        partitions: 3,
        batch_rows: 2,
        skip_partial: false,
    },
    Layout {
        target_partitions: 8,
        partitions: 5,
        batch_rows: 3,
        skip_partial: true,
    },
];

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("ev", DataType::Utf8, true),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let g: Int64Array = rows.iter().map(|r| Some(r.0)).collect();
    let ts = TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .with_timezone("UTC");
    let ev: StringArray = rows
        .iter()
        .map(|r| (r.2 != "~").then_some(r.2.as_str()))
        .collect();
    RecordBatch::try_new(schema(), vec![Arc::new(g), Arc::new(ts), Arc::new(ev)]).unwrap()
}

/// Registers `rows` as table `t` in a new session laid out per `layout`.
fn table(rows: &[Row], layout: Layout) -> SessionContext {
    let ctx = session(layout.target_partitions, layout.skip_partial);
    let mut parts: Vec<Vec<Row>> = vec![Vec::new(); layout.partitions];
    let ordered: Vec<&Row> = if layout.partitions > 1 {
        rows.iter().rev().collect()
    } else {
        rows.iter().collect()
    };
    for (i, r) in ordered.into_iter().enumerate() {
        parts[i % layout.partitions].push(r.clone());
    }
    let parts: Vec<Vec<RecordBatch>> = parts
        .iter()
        .map(|p| {
            if p.is_empty() {
                vec![batch(&[])]
            } else {
                p.chunks(layout.batch_rows).map(batch).collect()
            }
        })
        .collect();
    let mem = MemTable::try_new(schema(), parts).unwrap();
    ctx.register_table("t", Arc::new(mem)).unwrap();
    ctx
}

/// Runs `sql` (first column g, second an integer-castable value) and
/// returns g → value; a NULL value fails the test.
async fn by_group(ctx: &SessionContext, sql: &str) -> HashMap<i64, i64> {
    by_group_opt(ctx, sql)
        .await
        .into_iter()
        .map(|(g, v)| {
            (
                g,
                v.unwrap_or_else(|| panic!("{sql}: NULL result for group {g}")),
            )
        })
        .collect()
}

/// Runs `sql` (first column g, second an integer-castable value) and
/// returns g → value, None for NULL.
async fn by_group_opt(ctx: &SessionContext, sql: &str) -> HashMap<i64, Option<i64>> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = HashMap::new();
    for b in batches {
        let g = b.column(0).as_primitive::<Int64Type>();
        let v = datafusion::arrow::compute::cast(b.column(1), &DataType::Int64).unwrap();
        let v = v.as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.insert(g.value(i), v.is_valid(i).then(|| v.value(i)));
        }
    }
    out
}

/// Runs a query returning one row, one integer-castable column; NULL
/// fails the test.
async fn scalar(ctx: &SessionContext, sql: &str) -> i64 {
    scalar_opt(ctx, sql)
        .await
        .unwrap_or_else(|| panic!("{sql}: NULL result"))
}

/// Runs a query returning one row, one integer-castable column (None for
/// NULL).
async fn scalar_opt(ctx: &SessionContext, sql: &str) -> Option<i64> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1, "{sql}");
    let b = batches.iter().find(|b| b.num_rows() == 1).unwrap();
    let v = datafusion::arrow::compute::cast(b.column(0), &DataType::Int64).unwrap();
    let v = v.as_primitive::<Int64Type>();
    v.is_valid(0).then(|| v.value(0))
}

/// Seconds → microseconds.
const S: i64 = 1_000_000;

/// A hand-written `window_funnel` case.
struct FunnelCase {
    name: &'static str,
    window: i64,
    mode: &'static str,
    steps: usize,
    /// (seconds, None = NULL time; event letters, "~" = NULL, "z" = none)
    events: &'static [(Option<i64>, &'static str)],
    expected: i64,
}

/// Cases from ClickHouse's `windowFunnel` documentation and source
/// semantics; each comment says why the answer is what it is.
const FUNNEL_CASES: &[FunnelCase] = &[
    // A→B→C in order within the window: full funnel.
    FunnelCase {
        name: "basic_chain",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(0), "A"), (Some(1), "B"), (Some(2), "C")],
        expected: 3,
    },
    // No cond1 event: a chain can only start at step 1.
    FunnelCase {
        name: "no_first_step",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(1), "B"), (Some(2), "C")],
        expected: 0,
    },
    // Only the first step happened.
    FunnelCase {
        name: "only_first",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(5), "A")],
        expected: 1,
    },
    // Rows matching no condition contribute nothing.
    FunnelCase {
        name: "no_matching_rows",
        window: 10,
        mode: "",
        steps: 2,
        events: &[(Some(1), "z"), (Some(2), "z")],
        expected: 0,
    },
    // time_k <= time_1 + window: the boundary is inclusive.
    FunnelCase {
        name: "window_boundary_inclusive",
        window: 10,
        mode: "",
        steps: 2,
        events: &[(Some(0), "A"), (Some(10), "B")],
        expected: 2,
    },
    // One second past the window: step 2 does not count.
    FunnelCase {
        name: "window_boundary_exceeded",
        window: 10,
        mode: "",
        steps: 2,
        events: &[(Some(0), "A"), (Some(11), "B")],
        expected: 1,
    },
    // The window runs from the chain's first event, not the previous step:
    // C at 12 is 6 s after B but 12 s after A.
    FunnelCase {
        name: "window_from_first_event",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(0), "A"), (Some(6), "B"), (Some(12), "C")],
        expected: 2,
    },
    // A later start rescues the chain: A@7 B@8 C@15 fits in 7 + 10.
    FunnelCase {
        name: "later_start_rescues",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(6), "B"),
            (Some(7), "A"),
            (Some(8), "B"),
            (Some(15), "C"),
        ],
        expected: 3,
    },
    // B@0 precedes every A; C@2 comes before the only usable B@3.
    FunnelCase {
        name: "step_before_previous_ignored",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "B"),
            (Some(1), "A"),
            (Some(2), "C"),
            (Some(3), "B"),
        ],
        expected: 2,
    },
    // Input order does not matter: rows are sorted by time.
    FunnelCase {
        name: "out_of_order_input",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(2), "C"), (Some(0), "A"), (Some(1), "B")],
        expected: 3,
    },
    // Equal timestamps chain in step order (ClickHouse sorts (time, step)).
    FunnelCase {
        name: "equal_timestamps_chain",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(5), "C"), (Some(5), "B"), (Some(5), "A")],
        expected: 3,
    },
    // strict_increase: equal timestamps cannot chain.
    FunnelCase {
        name: "equal_timestamps_strict_increase",
        window: 10,
        mode: "strict_increase",
        steps: 3,
        events: &[(Some(5), "A"), (Some(5), "B"), (Some(5), "C")],
        expected: 1,
    },
    // One row satisfying every condition advances every step (one entry
    // per condition, as in ClickHouse).
    FunnelCase {
        name: "one_row_all_conditions",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(5), "ABC")],
        expected: 3,
    },
    // …but not with strict_increase (all at the same time).
    FunnelCase {
        name: "one_row_all_conditions_strict_increase",
        window: 10,
        mode: "strict_increase",
        steps: 3,
        events: &[(Some(5), "ABC")],
        expected: 1,
    },
    // The only A has a NULL time: ignored, so no chain starts.
    FunnelCase {
        name: "null_time_first_step",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(None, "A"), (Some(3), "B"), (Some(4), "C")],
        expected: 0,
    },
    // A NULL-time B is ignored; the real B@3 comes after C@2.
    FunnelCase {
        name: "null_time_middle",
        window: 10,
        mode: "",
        steps: 3,
        events: &[(Some(0), "A"), (None, "B"), (Some(2), "C"), (Some(3), "B")],
        expected: 2,
    },
    // A row with NULL conditions is skipped; without strict_order it would
    // be harmless anyway.
    FunnelCase {
        name: "null_condition_default",
        window: 10,
        mode: "",
        steps: 2,
        events: &[(Some(0), "A"), (Some(1), "~"), (Some(2), "B")],
        expected: 2,
    },
    // A@0 NULL@1 B@2 strict_order: the NULL row is skipped (ClickHouse's
    // Null combinator), so it does not intervene and A→B = 2.
    FunnelCase {
        name: "null_condition_strict_order",
        window: 10,
        mode: "strict_order",
        steps: 2,
        events: &[(Some(0), "A"), (Some(1), "~"), (Some(2), "B")],
        expected: 2,
    },
    // …whereas a row matching no condition (not NULL) does intervene:
    // A@0 z@1 B@2 strict_order = 1.
    FunnelCase {
        name: "unmatched_row_strict_order",
        window: 10,
        mode: "strict_order",
        steps: 2,
        events: &[(Some(0), "A"), (Some(1), "z"), (Some(2), "B")],
        expected: 1,
    },
    // A NULL-time row matching nothing is skipped too: A@0 z@NULL B@2
    // strict_order = 2 (without the skip, z would sort nowhere).
    FunnelCase {
        name: "null_time_unmatched_strict_order",
        window: 10,
        mode: "strict_order",
        steps: 2,
        events: &[(Some(0), "A"), (None, "z"), (Some(2), "B")],
        expected: 2,
    },
    // strict_once: one row "AB"@0 is step 1 or step 2 of a chain, not both:
    // level 1 (without strict_once the row reaches 2, see
    // one_row_all_conditions).
    FunnelCase {
        name: "strict_once_one_row_two_steps",
        window: 10,
        mode: "strict_once",
        steps: 2,
        events: &[(Some(0), "AB")],
        expected: 1,
    },
    // strict_once: A@0 then one row "BC"@5: B and C would need the same
    // row, so A→B = 2; without strict_once 3.
    FunnelCase {
        name: "strict_once_later_row_two_steps",
        window: 10,
        mode: "strict_once",
        steps: 3,
        events: &[(Some(0), "A"), (Some(5), "BC")],
        expected: 2,
    },
    // strict_once: two rows at the same second, "AB" and "B": A from the
    // first, B from the second, so 2.
    FunnelCase {
        name: "strict_once_two_rows_same_second",
        window: 10,
        mode: "strict_once",
        steps: 2,
        events: &[(Some(0), "AB"), (Some(0), "B")],
        expected: 2,
    },
    // strict_once, rows "AB", "AD", "C" all at 0 (4 steps): B only on
    // "AB", so A must come from "AD" — the first A row in mask order is
    // "AB", which a greedy choice would take — then C from "C": level 3;
    // D would need a fourth row.
    FunnelCase {
        name: "strict_once_matching_reassigns_a_row",
        window: 10,
        mode: "strict_once",
        steps: 4,
        events: &[(Some(0), "AB"), (Some(0), "AD"), (Some(0), "C")],
        expected: 3,
    },
    // strict_once, A@0, then at 5 rows "BC" and "B": B from either, C from
    // "BC" only, so B must come from "B": 3.
    FunnelCase {
        name: "strict_once_earlier_head_and_same_second_tail",
        window: 10,
        mode: "strict_once",
        steps: 3,
        events: &[(Some(0), "A"), (Some(5), "BC"), (Some(5), "B")],
        expected: 3,
    },
    // strict_once,strict_deduplication: A@0 "AB"@1 B@2. At 1 the row "AB"
    // is A (a new chain) or B of the chain from 0 (reaching 2); B@2 then
    // repeats step 2: the scan stops at level 2.
    FunnelCase {
        name: "strict_once_deduplication",
        window: 10,
        mode: "strict_once,strict_deduplication",
        steps: 3,
        events: &[(Some(0), "A"), (Some(1), "AB"), (Some(2), "B")],
        expected: 2,
    },
    // strict_order A@0 C@1 B@2 C@3: C@1 comes before B, the scan stops: 1.
    FunnelCase {
        name: "strict_order_step_too_early",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 1,
    },
    // …with allow_reentry C@1 is passed over: A@0 B@2 C@3 = 3.
    FunnelCase {
        name: "allow_reentry_passes_over_early_step",
        window: 10,
        mode: "strict_order,allow_reentry",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // allow_reentry does not pass over a row matching no condition:
    // A@0 z@1 B@2 = 1.
    FunnelCase {
        name: "allow_reentry_unmatched_row_still_stops",
        window: 10,
        mode: "strict_order,allow_reentry",
        steps: 2,
        events: &[(Some(0), "A"), (Some(1), "z"), (Some(2), "B")],
        expected: 1,
    },
    // allow_reentry with strict_once: A@0 C@1 (passed over) "BC"@2 (one
    // row: B, not C too) C@3: A B C = 3.
    FunnelCase {
        name: "allow_reentry_strict_once",
        window: 10,
        mode: "strict_order,allow_reentry,strict_once",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "BC"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // ClickHouse doc: A->B->D->C stops at D with strict_order: level 2.
    FunnelCase {
        name: "strict_order_doc_example",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "z"),
            (Some(3), "C"),
        ],
        expected: 2,
    },
    // Same events without strict_order: D is ignored, level 3.
    FunnelCase {
        name: "default_ignores_other_events",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "z"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // strict_order: C arrives before B was reached: stop at level 1.
    FunnelCase {
        name: "strict_order_step_out_of_order",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 1,
    },
    // Same without strict_order: C@1 is skipped, A B C@3 = 3.
    FunnelCase {
        name: "default_step_out_of_order",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // strict_order only bites after the first A: earlier noise is fine.
    FunnelCase {
        name: "strict_order_noise_before_first",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(0), "z"),
            (Some(1), "B"),
            (Some(2), "A"),
            (Some(3), "B"),
            (Some(4), "C"),
        ],
        expected: 3,
    },
    // strict_order: a repeated step-1 event is not a violation.
    FunnelCase {
        name: "strict_order_first_step_again",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "A"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // strict_order, a row satisfying A and B then C: no foreign event.
    FunnelCase {
        name: "strict_order_multi_condition_row",
        window: 10,
        mode: "strict_order",
        steps: 3,
        events: &[(Some(0), "AB"), (Some(1), "C")],
        expected: 3,
    },
    // strict_order: nothing after the interruption counts.
    FunnelCase {
        name: "strict_order_interrupted_early",
        window: 10,
        mode: "strict_order",
        steps: 2,
        events: &[
            (Some(0), "A"),
            (Some(1), "z"),
            (Some(2), "B"),
            (Some(3), "A"),
            (Some(4), "B"),
        ],
        expected: 1,
    },
    // strict_deduplication: B repeats after being reached: stop at 2.
    FunnelCase {
        name: "dedup_repeated_step",
        window: 10,
        mode: "strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 2,
    },
    // Same events without the mode: the repeat is harmless.
    FunnelCase {
        name: "default_repeated_step",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // ClickHouse doc: A-B-C-B-D with strict_deduplication → 3.
    FunnelCase {
        name: "dedup_doc_example",
        window: 10,
        mode: "strict_deduplication",
        steps: 4,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "C"),
            (Some(3), "B"),
            (Some(4), "D"),
        ],
        expected: 3,
    },
    // strict_deduplication does not apply to step 1 (it restarts chains).
    FunnelCase {
        name: "dedup_first_step_repeats",
        window: 10,
        mode: "strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "A"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 3,
    },
    // A repeat stops even when it is outside the first chain's window, so
    // the later full chain A@10 B@11 C@12 is never seen.
    FunnelCase {
        name: "dedup_stops_before_later_chain",
        window: 5,
        mode: "strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(10), "A"),
            (Some(11), "B"),
            (Some(12), "C"),
        ],
        expected: 2,
    },
    // Repeats of a step not yet reached are not duplicates.
    FunnelCase {
        name: "dedup_unreached_step_repeats",
        window: 10,
        mode: "strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "C"),
            (Some(2), "C"),
            (Some(3), "B"),
            (Some(4), "C"),
        ],
        expected: 3,
    },
    // Identical B rows at the same time are a repeat.
    FunnelCase {
        name: "dedup_identical_rows",
        window: 10,
        mode: "strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(1), "B"),
            (Some(2), "C"),
        ],
        expected: 2,
    },
    // strict_increase skips same-time steps and uses strictly later ones.
    FunnelCase {
        name: "strict_increase_skips_ties",
        window: 10,
        mode: "strict_increase",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(0), "B"),
            (Some(1), "B"),
            (Some(1), "C"),
            (Some(2), "C"),
        ],
        expected: 3,
    },
    // Deliberate difference from ClickHouse (which answers 2 here, see the
    // window_funnel docs): A@0 B@5 C@9 is a strictly increasing chain.
    FunnelCase {
        name: "strict_increase_exact_longest_chain",
        window: 10,
        mode: "strict_increase",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(5), "B"),
            (Some(7), "A"),
            (Some(9), "B"),
            (Some(9), "C"),
        ],
        expected: 3,
    },
    // A@0 → B@5 is strictly increasing even though another A is at 5.
    FunnelCase {
        name: "strict_increase_earlier_start",
        window: 10,
        mode: "strict_increase",
        steps: 2,
        events: &[(Some(0), "A"), (Some(5), "A"), (Some(5), "B")],
        expected: 2,
    },
    // strict_increase: a multi-condition row cannot chain itself, later rows do.
    FunnelCase {
        name: "strict_increase_multi_condition_row",
        window: 10,
        mode: "strict_increase",
        steps: 3,
        events: &[(Some(0), "AB"), (Some(1), "B"), (Some(2), "C")],
        expected: 3,
    },
    // More than 8 steps (bitmask wider than a byte).
    FunnelCase {
        name: "ten_steps",
        window: 100,
        mode: "",
        steps: 10,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "C"),
            (Some(3), "D"),
            (Some(4), "E"),
            (Some(5), "F"),
            (Some(6), "G"),
            (Some(7), "H"),
            (Some(8), "I"),
            (Some(9), "J"),
        ],
        expected: 10,
    },
    // 12 steps, J missing: K and L cannot count.
    FunnelCase {
        name: "twelve_steps_gap",
        window: 100,
        mode: "",
        steps: 12,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "C"),
            (Some(3), "D"),
            (Some(4), "E"),
            (Some(5), "F"),
            (Some(6), "G"),
            (Some(7), "H"),
            (Some(8), "I"),
            (Some(9), "K"),
            (Some(10), "L"),
        ],
        expected: 9,
    },
    // Window 0: only same-timestamp steps chain.
    FunnelCase {
        name: "window_zero_same_time",
        window: 0,
        mode: "",
        steps: 2,
        events: &[(Some(5), "A"), (Some(5), "B")],
        expected: 2,
    },
    FunnelCase {
        name: "window_zero_next_second",
        window: 0,
        mode: "",
        steps: 2,
        events: &[(Some(5), "A"), (Some(6), "B")],
        expected: 1,
    },
    // The longest chain wins over a later, shorter one.
    FunnelCase {
        name: "longest_chain_first",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "C"),
            (Some(20), "A"),
            (Some(21), "B"),
        ],
        expected: 3,
    },
    // …and over an earlier, shorter one.
    FunnelCase {
        name: "longest_chain_later",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(20), "A"),
            (Some(21), "B"),
            (Some(22), "C"),
        ],
        expected: 3,
    },
    // Repeated steps in default mode are harmless.
    FunnelCase {
        name: "repeated_steps_default",
        window: 10,
        mode: "",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "A"),
            (Some(2), "B"),
            (Some(3), "B"),
            (Some(4), "C"),
        ],
        expected: 3,
    },
    // strict_order + strict_deduplication: the repeat of B stops first.
    FunnelCase {
        name: "order_and_dedup_repeat",
        window: 10,
        mode: "strict_order, strict_deduplication",
        steps: 3,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "B"),
            (Some(3), "C"),
        ],
        expected: 2,
    },
    // strict_order + strict_increase: the foreign event still interrupts.
    FunnelCase {
        name: "order_and_increase_foreign",
        window: 10,
        mode: "strict_increase,strict_order",
        steps: 2,
        events: &[(Some(0), "A"), (Some(1), "z"), (Some(2), "B")],
        expected: 1,
    },
    // Window measured in seconds against microsecond timestamps: 1 h.
    FunnelCase {
        name: "one_hour_window",
        window: 3600,
        mode: "",
        steps: 2,
        events: &[(Some(0), "A"), (Some(3600), "B")],
        expected: 2,
    },
    // From ClickHouse's 00632 test: overlapping conditions (event <= 1007,
    // >= 1002, <= 1006, >= 1004 over events 1001..1008 at 1..8 s), window 4:
    // the rows at 4 s satisfy all four, reaching level 4.
    FunnelCase {
        name: "ch_overlapping_conditions",
        window: 4,
        mode: "",
        steps: 4,
        events: &[
            (Some(1), "AC"),
            (Some(2), "ABC"),
            (Some(3), "ABC"),
            (Some(4), "ABCD"),
            (Some(5), "ABCD"),
            (Some(6), "ABCD"),
            (Some(7), "ABD"),
            (Some(8), "BD"),
        ],
        expected: 4,
    },
    // 00632: steps at 0, 1, 1, 1, 2: default mode chains all five …
    FunnelCase {
        name: "ch_strict_increase_default",
        window: 10000,
        mode: "",
        steps: 5,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(1), "C"),
            (Some(1), "D"),
            (Some(2), "E"),
        ],
        expected: 5,
    },
    // … strict_increase stops at 2 (C and D share B's second).
    FunnelCase {
        name: "ch_strict_increase",
        window: 10000,
        mode: "strict_increase",
        steps: 5,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(1), "C"),
            (Some(1), "D"),
            (Some(2), "E"),
        ],
        expected: 2,
    },
    // 00632 strict_order user 2: a d b c — d interrupts after a.
    FunnelCase {
        name: "ch_strict_order_user2",
        window: 86400,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(1), "A"),
            (Some(2), "z"),
            (Some(3), "B"),
            (Some(4), "C"),
        ],
        expected: 1,
    },
    // 00632 strict_order user 5: a a b b d c c — d interrupts after b.
    FunnelCase {
        name: "ch_strict_order_user5",
        window: 86400,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(1), "A"),
            (Some(2), "A"),
            (Some(3), "B"),
            (Some(4), "B"),
            (Some(5), "z"),
            (Some(6), "C"),
            (Some(7), "C"),
        ],
        expected: 2,
    },
    // 00632 strict_deduplication + strict_order user 3: a a b b c c — the
    // second b is a repeat.
    FunnelCase {
        name: "ch_dedup_order_user3",
        window: 86400,
        mode: "strict_deduplication,strict_order",
        steps: 3,
        events: &[
            (Some(1), "A"),
            (Some(2), "A"),
            (Some(3), "B"),
            (Some(4), "B"),
            (Some(5), "C"),
            (Some(6), "C"),
        ],
        expected: 2,
    },
    // 00632 user 6: c c b b a a — everything before the first a is useless.
    FunnelCase {
        name: "ch_reverse_order_user6",
        window: 86400,
        mode: "strict_order",
        steps: 3,
        events: &[
            (Some(1), "C"),
            (Some(2), "C"),
            (Some(3), "B"),
            (Some(4), "B"),
            (Some(5), "A"),
            (Some(6), "A"),
        ],
        expected: 1,
    },
];

/// The 32-step funnel: window 31 fits exactly, window 30 misses the last.
#[tokio::test]
async fn window_funnel_32_steps() {
    let events: Vec<(Option<i64>, String)> = (0..32)
        .map(|i| (Some(i as i64), (STEP_CHARS[i] as char).to_string()))
        .collect();
    for (window, expected) in [(31, 32), (30, 31)] {
        let rows: Vec<Row> = events
            .iter()
            .map(|(t, e)| (1, t.map(|t| t * S), e.clone()))
            .collect();
        let ctx = table(&rows, LAYOUTS[1]);
        let sql = format!(
            "select window_funnel({window}, '', ts, {}) from t",
            conds(32)
        );
        assert_eq!(scalar(&ctx, &sql).await, expected, "window {window}");
    }
}

#[tokio::test]
async fn window_funnel_cases() {
    let mut failures = Vec::new();
    for case in FUNNEL_CASES {
        let rows: Vec<Row> = case
            .events
            .iter()
            .map(|(t, e)| (1, t.map(|t| t * S), e.to_string()))
            .collect();
        let call = format!(
            "window_funnel({}, '{}', ts, {})",
            case.window,
            case.mode,
            conds(case.steps)
        );
        for layout in LAYOUTS {
            let ctx = table(&rows, layout);
            // No GROUP BY: the plain Accumulator.
            let got = scalar(&ctx, &format!("select {call} from t")).await;
            if got != case.expected {
                failures.push(format!(
                    "{} (no group, {layout:?}): got {got}, want {}",
                    case.name, case.expected
                ));
            }
            // GROUP BY: the GroupsAccumulator.
            let got = by_group(&ctx, &format!("select g, {call} from t group by g")).await;
            if got.get(&1) != Some(&case.expected) {
                failures.push(format!(
                    "{} (group by, {layout:?}): got {got:?}, want {}",
                    case.name, case.expected
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn window_funnel_other_time_types() {
    let ctx = session(2, false);
    // Int64 seconds, and Timestamp(Millisecond) from a cast.
    ctx.sql("create table s as values (0, 'A'), (10, 'B'), (21, 'C')")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let int_sql =
        "select window_funnel(20, '', column1, column2 = 'A', column2 = 'B', column2 = 'C') from s";
    // C@21 is past 0 + 20.
    assert_eq!(scalar(&ctx, int_sql).await, 2);
    let ms_sql = "select window_funnel(21, '', to_timestamp_millis(column1 * 1000), \
                  column2 = 'A', column2 = 'B', column2 = 'C') from s";
    // C@21 s = 21000 ms, exactly at the boundary.
    assert_eq!(scalar(&ctx, ms_sql).await, 3);
    // The window may be a constant expression.
    let expr_sql = "select window_funnel(7 * 3, '', column1, column2 = 'A', column2 = 'B', column2 = 'C') from s";
    assert_eq!(scalar(&ctx, expr_sql).await, 3);
    // Dates (midnight UTC): days 0, 2 and 4 with a 2-day window; C is 4
    // days after A.
    let date_sql = "select window_funnel(2 * 86400, '', \
                    arrow_cast(arrow_cast(column1 / 10 * 2, 'Int32'), 'Date32'), \
                    column2 = 'A', column2 = 'B', column2 = 'C') from s";
    assert_eq!(scalar(&ctx, date_sql).await, 2);
}

#[tokio::test]
async fn window_funnel_errors() {
    let ctx = table(&[(1, Some(0), "A".into())], LAYOUTS[0]);
    for (sql, needle) in [
        (
            "select window_funnel(10, 'strict', ts, ev = 'A') from t",
            "strict_deduplication",
        ),
        (
            "select window_funnel(10, 'bogus', ts, ev = 'A') from t",
            "unknown mode",
        ),
        (
            "select window_funnel(10, 'allow_reentry', ts, ev = 'A') from t",
            "needs it; add strict_order",
        ),
        (
            "select window_funnel(g, '', ts, ev = 'A') from t",
            "constant",
        ),
        (
            "select window_funnel(-1, '', ts, ev = 'A') from t",
            "non-negative",
        ),
        (
            "select window_funnel(10, '', ev, ev = 'A') from t",
            "timestamp",
        ),
        ("select window_funnel(10, '', ts) from t", "at least 4"),
    ] {
        let res = match ctx.sql(sql).await {
            Ok(df) => df.collect().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = res.expect_err(sql).to_string();
        assert!(err.contains(needle), "{sql}: {err}");
    }
}

/// Drives the GroupsAccumulator by hand: `state(EmitTo::First(n))` then
/// merging the state elsewhere must give the same levels as evaluating
/// directly, and the remaining groups must shift down.
#[test]
fn groups_accumulator_emit_first_and_state_round_trip() {
    use datafusion::arrow::array::BooleanArray;
    let params = FunnelParams {
        window: 10,
        steps: 2,
        mode: FunnelMode::default(),
    };
    let cfg = EventsConfig {
        fname: "window_funnel",
        time_idx: 0,
        keep_unmatched: false,
    };
    // One group per bucket, two, four, and the default 4,096: emitting the
    // first n groups cuts between buckets or through one.
    for shift in [0, 1, 2, 12] {
        let new_acc = || {
            EventsGroupsAccumulator::new(
                cfg.clone(),
                FunnelFinalizer {
                    params,
                    nullable: false,
                },
            )
            .with_group_shift(shift)
        };
        // Group 0: A@0 B@5 → 2; group 1: A@0 B@50 → 1; group 2: B only → 0;
        // group 3: A@1 B@1 → 2.
        let times: ArrayRef = Arc::new(Int64Array::from(vec![0, 5, 0, 50, 3, 1, 1]));
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![
            true, false, true, false, false, true, false,
        ]));
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![
            false, true, false, true, true, false, true,
        ]));
        let groups = [0, 0, 1, 1, 2, 3, 3];
        let values = [times, a, b];

        let mut direct = new_acc();
        direct.update_batch(&values, &groups, None, 4).unwrap();
        let levels = direct.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            levels.as_primitive::<UInt8Type>().values().to_vec(),
            vec![2, 1, 0, 2]
        );

        let mut partial = new_acc();
        partial.update_batch(&values, &groups, None, 4).unwrap();
        let first_two = partial.state(EmitTo::First(2)).unwrap();
        let last_two = partial.state(EmitTo::All).unwrap();
        let mut merged = new_acc();
        // Merge in reverse order and into swapped group ids.
        merged.merge_batch(&last_two, &[0, 1], 2).unwrap();
        merged.merge_batch(&first_two, &[3, 2], 4).unwrap();
        let got = merged.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(got.as_primitive::<UInt8Type>().values().to_vec(), vec![0]);
        let got = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            got.as_primitive::<UInt8Type>().values().to_vec(),
            vec![2, 1, 2]
        );

        // convert_to_state then merge equals direct evaluation.
        let conv = direct.convert_to_state(&values, None).unwrap();
        let mut merged = new_acc();
        merged.merge_batch(&conv, &groups, 4).unwrap();
        assert!(merged.size() >= 7 * 16, "size {}", merged.size());
        let got = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            got.as_primitive::<UInt8Type>().values().to_vec(),
            vec![2, 1, 0, 2]
        );
        // Everything emitted: the memory accounting is back to zero.
        assert_eq!(merged.size(), 0, "shift {shift}");
    }
}

// ---------------------------------------------------------------------------
// Differential test against a brute-force reference.

/// Small deterministic PRNG (splitmix64) so the test needs no RNG crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One row for [`reference_level`]: time and condition mask (None = NULL).
type RefRow = (Option<i64>, Option<u32>);

/// Reference `windowFunnel`, written from the definition rather than the
/// implementation: the level is the longest chain of entries (one per true
/// condition per row, sorted by (time, step)) e1 < … < ek with ei
/// satisfying step i, time(ek) <= time(e1) + window and, with
/// strict_increase, strictly increasing times; with strict_once, entries of
/// distinct rows (rows at one time taken in mask order). strict_order
/// (passing over an early step with allow_reentry) and
/// strict_deduplication stop a left-to-right scan as ClickHouse documents;
/// the level "so far" is recomputed from scratch over the prefix each time.
/// Rows with a NULL time or NULL conditions (mask None) are skipped; None
/// when every row is.
fn reference_level(rows: &[RefRow], window: i64, steps: usize, mode: FunnelMode) -> Option<i64> {
    let mut counted: Vec<(i64, u32)> = rows.iter().filter_map(|&(t, m)| Some((t?, m?))).collect();
    if counted.is_empty() {
        return None;
    }
    counted.sort();
    // (time, step, row)
    let mut entries: Vec<(i64, usize, usize)> = Vec::new();
    for (row, &(t, mask)) in counted.iter().enumerate() {
        if mask == 0 {
            if mode.strict_order {
                entries.push((t, 0, row));
            }
            continue;
        }
        for k in 1..=steps {
            if mask & (1 << (k - 1)) != 0 {
                entries.push((t, k, row));
            }
        }
    }
    entries.sort();
    // strict_once: depth-first over every chain from entry `i` (its rows
    // `used`, its first time `t1`), rows distinct.
    fn deepest_from(
        es: &[(i64, usize, usize)],
        i: usize,
        t1: i64,
        used: &mut Vec<usize>,
        window: i64,
        strict_increase: bool,
    ) -> i64 {
        let (ti, ki, _) = es[i];
        let mut best = ki as i64;
        for j in i + 1..es.len() {
            let (t, k, row) = es[j];
            if k == ki + 1
                && t <= t1 + window
                && (!strict_increase || t > ti)
                && !used.contains(&row)
            {
                used.push(row);
                best = best.max(deepest_from(es, j, t1, used, window, strict_increase));
                used.pop();
            }
        }
        best
    }
    let longest = |end: usize| -> i64 {
        let es = &entries[..end];
        if mode.strict_once {
            return (0..es.len())
                .filter(|&s| es[s].1 == 1)
                .map(|s| {
                    let mut used = vec![es[s].2];
                    deepest_from(es, s, es[s].0, &mut used, window, mode.strict_increase)
                })
                .max()
                .unwrap_or(0);
        }
        let mut best = 0;
        for s in 0..es.len() {
            if es[s].1 != 1 {
                continue;
            }
            // level[i]: step reached by a chain from s ending at entry i.
            let mut level = vec![0usize; es.len()];
            level[s] = 1;
            best = best.max(1);
            for i in s + 1..es.len() {
                let (t, k, _) = es[i];
                if k < 2 || t > es[s].0 + window {
                    continue;
                }
                for j in s..i {
                    if es[j].1 == k - 1
                        && level[j] == k - 1
                        && (!mode.strict_increase || es[j].0 < t)
                    {
                        level[i] = k;
                    }
                }
                best = best.max(level[i] as i64);
            }
        }
        best
    };
    if !mode.strict_order && !mode.strict_deduplication {
        return Some(longest(entries.len()));
    }
    let mut seen_first = false;
    for i in 0..entries.len() {
        let k = entries[i].1;
        if k == 0 {
            if seen_first {
                return Some(longest(i));
            }
            continue;
        }
        if k == 1 {
            seen_first = true;
            continue;
        }
        let so_far = longest(i);
        if mode.strict_deduplication && so_far >= k as i64 {
            return Some(so_far);
        }
        if mode.strict_order && seen_first && so_far < (k - 1) as i64 && !mode.allow_reentry {
            return Some(so_far);
        }
    }
    Some(longest(entries.len()))
}

/// Random event sets: few distinct seconds (many ties), some NULL times,
/// some NULL conditions (mask None), rows matching no, one or several
/// conditions.
fn random_rows(rng: &mut Rng, users: i64, steps: usize) -> Vec<(i64, Option<i64>, Option<u32>)> {
    let mut rows = Vec::new();
    for user in 0..users {
        let n = rng.below(11);
        for _ in 0..n {
            let t = if rng.below(20) == 0 {
                None
            } else {
                Some(rng.below(25) as i64)
            };
            let mask = match rng.below(20) {
                0 => None,
                1 | 2 => Some(0),
                3..=6 => Some(rng.below(1 << steps) as u32),
                _ => Some(1 << rng.below(steps as u64)),
            };
            rows.push((user, t, mask));
        }
    }
    rows
}

/// The `ev` string of a row matching `mask` ("~", NULL, for None).
fn mask_to_ev(mask: Option<u32>) -> String {
    let Some(mask) = mask else {
        return "~".into();
    };
    (0..32)
        .filter(|k| mask & (1 << k) != 0)
        .map(|k| STEP_CHARS[k] as char)
        .collect::<String>()
}

#[tokio::test]
async fn window_funnel_matches_reference() {
    let steps = 4;
    let mut rng = Rng(0x5EED_F00D);
    let users = 400;
    let raw = random_rows(&mut rng, users, steps);
    let rows: Vec<Row> = raw
        .iter()
        .map(|&(u, t, m)| (u, t.map(|t| t * S), mask_to_ev(m)))
        .collect();
    let mut per_user: HashMap<i64, Vec<RefRow>> = HashMap::new();
    for &(u, t, m) in &raw {
        per_user.entry(u).or_default().push((t, m));
    }
    // Every combination of the flags; allow_reentry only with strict_order.
    let flags = [
        "strict_order",
        "strict_deduplication",
        "strict_increase",
        "strict_once",
        "allow_reentry",
    ];
    let modes: Vec<String> = (0..1u32 << flags.len())
        .filter(|bits| bits & 0b10000 == 0 || bits & 1 != 0)
        .map(|bits| {
            (0..flags.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| flags[i])
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(modes.len(), 24);
    let mut failures = Vec::new();
    let mut checked = 0;
    for layout in LAYOUTS {
        let ctx = table(&rows, layout);
        for mode_s in &modes {
            let mode = FunnelMode::parse(mode_s).unwrap();
            for window in [0, 4, 9, 1000] {
                let sql = format!(
                    "select g, window_funnel({window}, '{mode_s}', ts, {}) from t group by g",
                    conds(steps)
                );
                let got = by_group_opt(&ctx, &sql).await;
                for (&user, events) in &per_user {
                    let want = reference_level(events, window, steps, mode);
                    let have = got.get(&user).copied().flatten();
                    checked += 1;
                    if have != want {
                        failures.push(format!(
                            "user {user} window {window} mode '{mode_s}' {layout:?}: got {have:?}, want {want:?}, events {events:?}"
                        ));
                    }
                }
            }
        }
        // The plain Accumulator (no GROUP BY) on a few users.
        for user in [0, 1, 2, 3, 5, 8, 13] {
            let Some(events) = per_user.get(&user) else {
                continue;
            };
            for mode_s in [
                "",
                "strict_order",
                "strict_deduplication,strict_increase",
                "strict_order,allow_reentry,strict_once",
            ] {
                let mode = FunnelMode::parse(mode_s).unwrap();
                let sql = format!(
                    "select window_funnel(9, '{mode_s}', ts, {}) from t where g = {user}",
                    conds(steps)
                );
                let have = scalar_opt(&ctx, &sql).await;
                let want = reference_level(events, 9, steps, mode);
                if have != want {
                    failures.push(format!(
                        "no-group user {user} mode '{mode_s}' {layout:?}: got {have:?}, want {want:?}"
                    ));
                }
            }
        }
    }
    assert!(checked > 100_000, "checked only {checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The reference itself on the documented examples, so a wrong reference
/// cannot hide a wrong implementation.
#[test]
fn reference_agrees_with_hand_cases() {
    for case in FUNNEL_CASES {
        let rows: Vec<RefRow> = case
            .events
            .iter()
            .map(|(t, e)| {
                let mask = e
                    .bytes()
                    .filter_map(|c| STEP_CHARS.iter().position(|&s| s == c))
                    .filter(|&k| k < case.steps)
                    .fold(0u32, |m, k| m | (1 << k));
                (*t, (*e != "~").then_some(mask))
            })
            .collect();
        let mode = FunnelMode::parse(case.mode).unwrap();
        assert_eq!(
            reference_level(&rows, case.window, case.steps, mode),
            Some(case.expected),
            "{}",
            case.name
        );
    }
}

// ---------------------------------------------------------------------------
// sequence_match / sequence_count

/// A hand-written sequence case: pattern, number of conditions, events,
/// expected match and count.
struct SeqCase {
    name: &'static str,
    pattern: &'static str,
    conds: usize,
    events: &'static [(Option<i64>, &'static str)],
    matches: bool,
    count: i64,
}

const SEQ_CASES: &[SeqCase] = &[
    // ClickHouse doc: 1 then 2 with an event matching no condition between
    // (invisible to the pattern).
    SeqCase {
        name: "doc_adjacent_ignoring_other_rows",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[(Some(1), "A"), (Some(2), "z"), (Some(3), "B")],
        matches: true,
        count: 1,
    },
    // ClickHouse doc: the middle row matches condition 3, so 1 and 2 are no
    // longer adjacent.
    SeqCase {
        name: "doc_not_adjacent",
        pattern: "(?1)(?2)",
        conds: 3,
        events: &[(Some(1), "A"), (Some(2), "C"), (Some(3), "B")],
        matches: false,
        count: 0,
    },
    // `.*` allows anything between.
    SeqCase {
        name: "star_between",
        pattern: "(?1).*(?2)",
        conds: 3,
        events: &[(Some(1), "A"), (Some(2), "C"), (Some(3), "B")],
        matches: true,
        count: 1,
    },
    // ClickHouse doc (sequenceCount): two non-overlapping 1 .* 2 matches.
    SeqCase {
        name: "doc_count_two",
        pattern: "(?1).*(?2)",
        conds: 3,
        events: &[
            (Some(1), "A"),
            (Some(2), "C"),
            (Some(3), "B"),
            (Some(4), "A"),
            (Some(5), "C"),
            (Some(6), "B"),
        ],
        matches: true,
        count: 2,
    },
    // Order is by time, not input order.
    SeqCase {
        name: "sorted_by_time",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[(Some(3), "B"), (Some(1), "A")],
        matches: true,
        count: 1,
    },
    // 2 before 1 does not match 1 then 2.
    SeqCase {
        name: "wrong_order",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[(Some(1), "B"), (Some(3), "A")],
        matches: false,
        count: 0,
    },
    // `.` is exactly one event.
    SeqCase {
        name: "dot_one_event",
        pattern: "(?1).(?2)",
        conds: 3,
        events: &[(Some(1), "A"), (Some(2), "C"), (Some(3), "B")],
        matches: true,
        count: 1,
    },
    SeqCase {
        name: "dot_needs_an_event",
        pattern: "(?1).(?2)",
        conds: 2,
        events: &[(Some(1), "A"), (Some(3), "B")],
        matches: false,
        count: 0,
    },
    // A condition that never holds cannot match.
    SeqCase {
        name: "condition_never_true",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[(Some(1), "A"), (Some(2), "A")],
        matches: false,
        count: 0,
    },
    // Time: B more than 1 s after A (events between allowed).
    SeqCase {
        name: "time_gt_satisfied",
        pattern: "(?1)(?t>1)(?2)",
        conds: 2,
        events: &[(Some(0), "A"), (Some(2), "B")],
        matches: true,
        count: 1,
    },
    SeqCase {
        name: "time_gt_not_satisfied",
        pattern: "(?1)(?t>1)(?2)",
        conds: 2,
        events: &[(Some(0), "A"), (Some(1), "B")],
        matches: false,
        count: 0,
    },
    // Time <= 3: B at 3 after A, with another event between.
    SeqCase {
        name: "time_le_with_event_between",
        pattern: "(?1)(?t<=3)(?2)",
        conds: 3,
        events: &[(Some(0), "A"), (Some(1), "C"), (Some(3), "B")],
        matches: true,
        count: 1,
    },
    SeqCase {
        name: "time_le_too_late",
        pattern: "(?1)(?t<=3)(?2)",
        conds: 3,
        events: &[(Some(0), "A"), (Some(1), "C"), (Some(4), "B")],
        matches: false,
        count: 0,
    },
    // Time == 2 finds the B exactly 2 s later.
    SeqCase {
        name: "time_eq",
        pattern: "(?1)(?t==2)(?2)",
        conds: 2,
        events: &[(Some(0), "A"), (Some(1), "B"), (Some(2), "B")],
        matches: true,
        count: 1,
    },
    // Non-overlapping count: A A B B has one A-B adjacency… and A B A B two.
    SeqCase {
        name: "count_non_overlapping_adjacent",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[
            (Some(0), "A"),
            (Some(1), "A"),
            (Some(2), "B"),
            (Some(3), "B"),
        ],
        matches: true,
        count: 1,
    },
    SeqCase {
        name: "count_alternating",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[
            (Some(0), "A"),
            (Some(1), "B"),
            (Some(2), "A"),
            (Some(3), "B"),
        ],
        matches: true,
        count: 2,
    },
    // NULL times are ignored.
    SeqCase {
        name: "null_time_ignored",
        pattern: "(?1)(?2)",
        conds: 2,
        events: &[(Some(0), "A"), (None, "B")],
        matches: false,
        count: 0,
    },
    // A single condition pattern counts every occurrence.
    SeqCase {
        name: "single_condition_count",
        pattern: "(?1)",
        conds: 1,
        events: &[(Some(0), "A"), (Some(1), "A"), (Some(2), "A")],
        matches: true,
        count: 3,
    },
];

#[tokio::test]
async fn sequence_cases() {
    let mut failures = Vec::new();
    for case in SEQ_CASES {
        let rows: Vec<Row> = case
            .events
            .iter()
            .map(|(t, e)| (1, t.map(|t| t * S), e.to_string()))
            .collect();
        for layout in LAYOUTS {
            let ctx = table(&rows, layout);
            let c = conds(case.conds);
            let m = scalar(
                &ctx,
                &format!("select sequence_match('{}', ts, {c}) from t", case.pattern),
            )
            .await;
            let n = scalar(
                &ctx,
                &format!("select sequence_count('{}', ts, {c}) from t", case.pattern),
            )
            .await;
            let gm = by_group(
                &ctx,
                &format!(
                    "select g, sequence_match('{}', ts, {c}) from t group by g",
                    case.pattern
                ),
            )
            .await;
            let gn = by_group(
                &ctx,
                &format!(
                    "select g, sequence_count('{}', ts, {c}) from t group by g",
                    case.pattern
                ),
            )
            .await;
            let want_m = i64::from(case.matches);
            if m != want_m || gm.get(&1) != Some(&want_m) {
                failures.push(format!(
                    "{} match {layout:?}: got {m} / {gm:?}, want {want_m}",
                    case.name
                ));
            }
            if n != case.count || gn.get(&1) != Some(&case.count) {
                failures.push(format!(
                    "{} count {layout:?}: got {n} / {gn:?}, want {}",
                    case.name, case.count
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn sequence_pattern_errors() {
    let ctx = table(&[(1, Some(0), "A".into())], LAYOUTS[0]);
    for (sql, needle) in [
        (
            "select sequence_match('(?3)', ts, ev = 'A', ev = 'B') from t",
            "out of range",
        ),
        (
            "select sequence_match('(?1', ts, ev = 'A') from t",
            "expected ')'",
        ),
        (
            "select sequence_match('x', ts, ev = 'A') from t",
            "unexpected character",
        ),
        (
            "select sequence_count('(?1)(?t<5)(?t<3)(?1)', ts, ev = 'A') from t",
            "must follow",
        ),
    ] {
        let res = match ctx.sql(sql).await {
            Ok(df) => df.collect().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = res.expect_err(sql).to_string();
        assert!(err.contains(needle), "{sql}: {err}");
    }
}

// ---------------------------------------------------------------------------
// retention

#[tokio::test]
async fn retention_cases() {
    // g1: A, B on different rows, no C → [1,1,0].
    // g2: B and C but never A → [0,0,0].
    // g3: one row with A and C, B only on a NULL-time row (times are not
    //     used) → [1,1,1].
    // g4: only NULL conditions: every row skipped, and still [0,0,0]
    //     (ClickHouse keeps retention non-nullable), not NULL.
    // g5: A only → [1,0,0].
    let rows: Vec<Row> = vec![
        (1, Some(0), "A".into()),
        (1, Some(S), "B".into()),
        (2, Some(0), "B".into()),
        (2, Some(S), "C".into()),
        (3, Some(0), "AC".into()),
        (3, None, "B".into()),
        (4, Some(0), "~".into()),
        (5, Some(0), "A".into()),
        (5, Some(0), "z".into()),
    ];
    let want: HashMap<i64, Vec<u8>> = HashMap::from([
        (1, vec![1, 1, 0]),
        (2, vec![0, 0, 0]),
        (3, vec![1, 1, 1]),
        (4, vec![0, 0, 0]),
        (5, vec![1, 0, 0]),
    ]);
    for layout in LAYOUTS {
        let ctx = table(&rows, layout);
        let sql = format!("select g, retention({}) from t group by g", conds(3));
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut got = HashMap::new();
        for b in &batches {
            let g = b.column(0).as_primitive::<Int64Type>();
            let l = b.column(1).as_list::<i32>();
            for i in 0..b.num_rows() {
                let v = l.value(i);
                got.insert(g.value(i), v.as_primitive::<UInt8Type>().values().to_vec());
            }
        }
        assert_eq!(got, want, "{layout:?}");
        // Without GROUP BY over g in (2, 5): A (from 5), B and C (from 2).
        let sql = format!("select retention({}) from t where g in (2, 5)", conds(3));
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let b = batches.iter().find(|b| b.num_rows() == 1).unwrap();
        let v = b.column(0).as_list::<i32>().value(0);
        assert_eq!(
            v.as_primitive::<UInt8Type>().values().to_vec(),
            vec![1, 1, 1],
            "{layout:?}"
        );
    }
}

/// ClickHouse's `Null` combinator: a row on which any argument is NULL is
/// skipped, and a group whose rows were all skipped is NULL for
/// window_funnel and sequence_*, all zeros for retention.
#[tokio::test]
async fn all_skipped_group_is_null() {
    // g1: A with a NULL time, and a row whose conditions are NULL (ev NULL):
    //     both skipped, no row counts → NULL.
    // g2: one row matching nothing: it counts, no step reached → 0.
    let rows: Vec<Row> = vec![
        (1, None, "A".into()),
        (1, Some(0), "~".into()),
        (2, Some(0), "z".into()),
    ];
    for layout in LAYOUTS {
        let ctx = table(&rows, layout);
        for call in [
            format!("window_funnel(10, '', ts, {})", conds(2)),
            format!("window_funnel(10, 'strict_order', ts, {})", conds(2)),
            format!("window_funnel(10, 'strict_once', ts, {})", conds(2)),
            format!("sequence_match('(?1)', ts, {})", conds(2)),
            format!("sequence_count('(?1)', ts, {})", conds(2)),
        ] {
            let sql = format!("select g, cast({call} as bigint) from t group by g");
            let got = by_group_opt(&ctx, &sql).await;
            let want = HashMap::from([(1, None), (2, Some(0))]);
            assert_eq!(got, want, "{sql} {layout:?}");
            // The plain Accumulator (no GROUP BY) over g1 alone, and over
            // no row at all.
            for filter in ["g = 1", "g > 2"] {
                let sql = format!("select cast({call} as bigint) from t where {filter}");
                assert_eq!(scalar_opt(&ctx, &sql).await, None, "{sql} {layout:?}");
            }
        }
        // retention takes no time, so g1's A counts: [1, 0]; g2 [0, 0].
        // Its result is never NULL (retention_cases: a group of NULL
        // conditions only gives zeros).
        let sql = format!("select g, retention({}) from t group by g", conds(2));
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut got = HashMap::new();
        for b in &batches {
            let g = b.column(0).as_primitive::<Int64Type>();
            let l = b.column(1).as_list::<i32>();
            assert_eq!(l.null_count(), 0, "{sql}");
            for i in 0..b.num_rows() {
                let v = l.value(i);
                got.insert(g.value(i), v.as_primitive::<UInt8Type>().values().to_vec());
            }
        }
        assert_eq!(
            got,
            HashMap::from([(1, vec![1, 0]), (2, vec![0, 0])]),
            "{layout:?}"
        );
    }
}

/// Non-nullable arguments (literals here): no row can be skipped, so the
/// result is not nullable and an empty input gives 0, as ClickHouse gives
/// for non-Nullable columns; a nullable argument makes it NULL.
#[tokio::test]
async fn empty_input_without_nullable_arguments_is_zero() {
    let ctx = table(&[(1, Some(0), "A".into())], LAYOUTS[0]);
    for (call, nullable) in [
        ("window_funnel(10, '', 5, true)", false),
        ("sequence_count('(?1)', 5, true)", false),
        ("sequence_match('(?1)', 5, true)", false),
        ("window_funnel(10, '', ts, true)", true),
        ("window_funnel(10, '', 5, ev = 'A')", true),
        ("sequence_count('(?1)', ts, true)", true),
    ] {
        let sql = format!("select {call} as r from t where g > 1");
        let df = ctx.sql(&sql).await.unwrap();
        assert_eq!(df.schema().field(0).is_nullable(), nullable, "{sql}");
        let sql = format!("select cast({call} as bigint) from t where g > 1");
        let want = (!nullable).then_some(0);
        assert_eq!(scalar_opt(&ctx, &sql).await, want, "{sql}");
    }
}

/// A row with one NULL condition is skipped whole, even where the other
/// conditions hold or the pattern does not name the NULL one.
#[tokio::test]
async fn row_with_one_null_condition_is_skipped() {
    // Condition 3 is NULL on rows containing C, false elsewhere.
    let c3 = "case when ev like '%C%' then null else false end";
    let c = format!("{}, {c3}", conds(2));
    // g1: A@0 "AC"@1 B@2. "AC" is skipped, so the events are A@0 B@2:
    //     '(?1).(?2)' (one event between A and B) does not match, count 0
    //     (counting "AC" as an A event would match: A . B).
    // g2: "AC"@0 B@1: the only A is skipped. retention → [0, 0, 0]
    //     (counting it would give [1, 1, 0]); window_funnel (2 steps) → 0
    //     (counting it would give 2).
    let rows: Vec<Row> = vec![
        (1, Some(0), "A".into()),
        (1, Some(S), "AC".into()),
        (1, Some(2 * S), "B".into()),
        (2, Some(0), "AC".into()),
        (2, Some(S), "B".into()),
    ];
    for layout in LAYOUTS {
        let ctx = table(&rows, layout);
        let m = by_group(
            &ctx,
            &format!("select g, sequence_match('(?1).(?2)', ts, {c}) from t group by g"),
        )
        .await;
        assert_eq!(m.get(&1), Some(&0), "{layout:?}");
        let n = by_group(
            &ctx,
            &format!("select g, sequence_count('(?1).(?2)', ts, {c}) from t group by g"),
        )
        .await;
        assert_eq!(n.get(&1), Some(&0), "{layout:?}");
        let f = by_group(
            &ctx,
            &format!(
                "select g, window_funnel(10, '', ts, {}, {c3}) from t group by g",
                conds(2)
            ),
        )
        .await;
        assert_eq!(f.get(&2), Some(&0), "{layout:?}");
        let sql = format!("select retention({c}) from t where g = 2");
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let b = batches.iter().find(|b| b.num_rows() == 1).unwrap();
        let v = b.column(0).as_list::<i32>().value(0);
        assert_eq!(
            v.as_primitive::<UInt8Type>().values().to_vec(),
            vec![0, 0, 0],
            "{layout:?}"
        );
    }
}

// The JSON helpers are tested in tests/slt/json.slt.

/// Many groups through the GroupsAccumulator, and the same query under a
/// memory limit small enough that the aggregation spills (state → disk →
/// merge_batch, emitting with `EmitTo::First`): both must equal the
/// reference.
#[tokio::test]
async fn window_funnel_many_groups_and_spill() {
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;

    let steps = 4;
    let mut rng = Rng(0xB16_5EED);
    let raw = random_rows(&mut rng, 20_000, steps);
    let rows: Vec<Row> = raw
        .iter()
        .map(|&(u, t, m)| (u, t.map(|t| t * S), mask_to_ev(m)))
        .collect();
    let mut per_user: HashMap<i64, Vec<RefRow>> = HashMap::new();
    for &(u, t, m) in &raw {
        per_user.entry(u).or_default().push((t, m));
    }
    let parts: Vec<Vec<RecordBatch>> = (0..4)
        .map(|p| {
            let mine: Vec<Row> = rows
                .iter()
                .enumerate()
                .filter(|(i, _)| (i / 997) % 4 == p)
                .map(|(_, r)| r.clone())
                .collect();
            mine.chunks(1024).map(batch).collect()
        })
        .collect();
    let limited = {
        let cfg = SessionConfig::new()
            .with_target_partitions(2)
            .with_batch_size(1024);
        let rt = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(1 << 20)))
            .build_arc()
            .unwrap();
        super::local_session(cfg, rt)
    };
    // DataFusion's two-phase plan against shoal's spilling single phase.
    let unlimited = session(4, true);
    for ctx in [&unlimited, &limited] {
        let mem = MemTable::try_new(schema(), parts.clone()).unwrap();
        ctx.register_table("t", Arc::new(mem)).unwrap();
    }
    for mode_s in [
        "",
        "strict_order,strict_increase",
        "strict_deduplication",
        "strict_once",
    ] {
        let mode = FunnelMode::parse(mode_s).unwrap();
        let sql = format!(
            "select g, window_funnel(6, '{mode_s}', ts, {}) from t group by g",
            conds(steps)
        );
        for (name, ctx) in [("unlimited", &unlimited), ("limited", &limited)] {
            let got = by_group_opt(ctx, &sql).await;
            assert_eq!(got.len(), per_user.len(), "{name} '{mode_s}'");
            // A user whose rows are all skipped (NULL time or conditions)
            // is NULL, and the state keeps that through spilling.
            assert!(got.values().any(Option::is_none), "{name} '{mode_s}'");
            let bad = per_user
                .iter()
                .filter(|(u, ev)| got.get(u) != Some(&reference_level(ev, 6, steps, mode)))
                .count();
            assert_eq!(bad, 0, "{name} '{mode_s}': {bad} users differ");
        }
    }
    // The limited run really spilled.
    let plan = ctx_text(
        &limited,
        &format!(
            "explain analyze select g, window_funnel(6, '', ts, {}) from t group by g",
            conds(steps)
        ),
    )
    .await;
    let spills: usize = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert!(spills > 0, "no spill happened:\n{plan}");
    assert!(plan.contains("mode=SinglePartitioned"), "{plan}");
}

/// shoal's optimizer rule: a GROUP BY over several partitions whose
/// aggregates all keep every event runs in one phase over the repartitioned
/// rows; next to any other aggregate, or without GROUP BY, DataFusion's
/// plan stays. Every plan gives the same answer.
#[tokio::test]
async fn events_aggregates_run_in_one_phase() {
    // g=1: A@0 B@5 → 2 (and 2 rows); g=2: A@0 → 1 (1 row).
    let rows: Vec<Row> = vec![
        (1, Some(0), "A".into()),
        (1, Some(5 * S), "B".into()),
        (2, Some(0), "A".into()),
    ];
    let layout = Layout {
        target_partitions: 4,
        partitions: 3,
        batch_rows: 1,
        skip_partial: false,
    };
    let ctx = table(&rows, layout);
    let funnel = format!("window_funnel(10, '', ts, {})", conds(2));
    let cases = [
        (
            format!("select g, {funnel} from t group by g"),
            true,
            vec![(1, 2), (2, 1)],
        ),
        (
            format!(
                "select g, sequence_count('(?1)(?2)', ts, {}) from t group by g",
                conds(2)
            ),
            true,
            vec![(1, 1), (2, 0)],
        ),
        (
            format!("select g, {funnel} + count(*) from t group by g"),
            false,
            vec![(1, 4), (2, 2)],
        ),
        (
            format!("select 1, {funnel} from t where g = 1"),
            false,
            vec![(1, 2)],
        ),
    ];
    for (sql, single, want) in cases {
        let plan = ctx_text(&ctx, &format!("explain {sql}")).await;
        assert_eq!(
            plan.contains("mode=SinglePartitioned"),
            single,
            "{sql}\n{plan}"
        );
        assert_eq!(plan.contains("mode=Partial"), !single, "{sql}\n{plan}");
        assert_eq!(
            by_group(&ctx, &sql).await,
            want.into_iter().collect(),
            "{sql}"
        );
    }
}

/// All string cells of a query's result, joined.
async fn ctx_text(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

/// Throughput of `GROUP BY user` over a few million synthetic events;
/// run with `cargo test --release --lib functions::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run by hand"]
#[allow(clippy::print_stderr)]
async fn throughput() {
    let users = 500_000i64;
    let per_user = 8;
    let mut rng = Rng(42);
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("step", DataType::Int64, false),
    ]));
    let n = (users * per_user) as usize;
    let mut parts = Vec::new();
    let chunk = 8192;
    let mut batches = Vec::new();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let g: Int64Array = (start..start + len).map(|i| (i as i64) % users).collect();
        let ts = TimestampMicrosecondArray::from_iter_values(
            (0..len).map(|_| rng.below(7 * 86400) as i64 * S),
        )
        .with_timezone("UTC");
        let step: Int64Array = (0..len).map(|_| rng.below(6) as i64).collect();
        batches.push(
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(g), Arc::new(ts), Arc::new(step)],
            )
            .unwrap(),
        );
        start += len;
    }
    let per_part = batches.len().div_ceil(2);
    for c in batches.chunks(per_part) {
        parts.push(c.to_vec());
    }
    let ctx = session(2, false);
    ctx.register_table("e", Arc::new(MemTable::try_new(schema, parts).unwrap()))
        .unwrap();
    for (name, sql) in [
        (
            "count(*)",
            "select g, count(*) from e group by g".to_string(),
        ),
        (
            "window_funnel",
            "select g, window_funnel(86400, '', ts, step = 1, step = 2, step = 3, step = 4) \
             from e group by g"
                .to_string(),
        ),
        (
            "sequence_count",
            "select g, sequence_count('(?1).*(?2)', ts, step = 1, step = 2) from e group by g"
                .to_string(),
        ),
        (
            "retention",
            "select g, retention(step = 1, step = 2, step = 3) from e group by g".to_string(),
        ),
    ] {
        let t0 = std::time::Instant::now();
        let out = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let rows: usize = out.iter().map(|b| b.num_rows()).sum();
        eprintln!(
            "{name}: {n} events, {rows} groups in {:.2?} ({:.1} M events/s)",
            t0.elapsed(),
            n as f64 / t0.elapsed().as_secs_f64() / 1e6
        );
    }
}

/// Brute-force matcher for time-free patterns (tokens: `Some(k)` for
/// `(?k+1)`, `None` for `.`, and `.*` as `Err(())`), anchored at `events[0]`.
fn brute_match(tokens: &[Result<Option<u32>, ()>], events: &[u32]) -> bool {
    match tokens.split_first() {
        None => true,
        Some((Err(()), rest)) => (0..=events.len()).any(|skip| brute_match(rest, &events[skip..])),
        Some((Ok(tok), rest)) => match events.split_first() {
            None => false,
            Some((&mask, more)) => {
                tok.is_none_or(|k| mask & (1 << k) != 0) && brute_match(rest, more)
            }
        },
    }
}

/// `sequence_match` with random time-free patterns against a brute-force
/// regex over the time-ordered events (rows matching some condition), and
/// `sequence_count(…) > 0` must agree with it.
#[tokio::test]
async fn sequence_match_matches_reference() {
    let conds_n = 3;
    let mut rng = Rng(0xC0FFEE);
    // Distinct times per user so the event order is unambiguous.
    let mut raw: Vec<(i64, i64, u32)> = Vec::new();
    for user in 0..300 {
        let n = rng.below(9) as i64;
        for i in 0..n {
            let mask = if rng.below(6) == 0 {
                0
            } else {
                rng.below(1 << conds_n) as u32
            };
            raw.push((user, (n - i) * 7 % (n + 3) + 100 * i, mask));
        }
    }
    let rows: Vec<Row> = raw
        .iter()
        .map(|&(u, t, m)| (u, Some(t * S), mask_to_ev(Some(m))))
        .collect();
    let mut per_user: HashMap<i64, Vec<(i64, u32)>> = HashMap::new();
    for &(u, t, m) in &raw {
        if m != 0 {
            per_user.entry(u).or_default().push((t, m));
        }
    }
    for evs in per_user.values_mut() {
        evs.sort();
    }
    let mut failures = Vec::new();
    for layout in [LAYOUTS[0], LAYOUTS[1]] {
        let ctx = table(&rows, layout);
        for _ in 0..25 {
            let len = 1 + rng.below(4);
            let mut text = String::new();
            let mut tokens = vec![Err(())]; // the implicit leading `.*`
            for _ in 0..len {
                match rng.below(5) {
                    0 => {
                        text.push('.');
                        tokens.push(Ok(None));
                    }
                    1 => {
                        text.push_str(".*");
                        tokens.push(Err(()));
                    }
                    _ => {
                        let k = rng.below(conds_n as u64) as u32;
                        text.push_str(&format!("(?{})", k + 1));
                        tokens.push(Ok(Some(k)));
                    }
                }
            }
            let c = conds(conds_n);
            let got = by_group(
                &ctx,
                &format!("select g, sequence_match('{text}', ts, {c}) from t group by g"),
            )
            .await;
            let counts = by_group(
                &ctx,
                &format!("select g, sequence_count('{text}', ts, {c}) from t group by g"),
            )
            .await;
            for (user, evs) in &per_user {
                let masks: Vec<u32> = evs.iter().map(|e| e.1).collect();
                let want = i64::from(brute_match(&tokens, &masks));
                let have = got.get(user).copied();
                let count = counts.get(user).copied().unwrap_or(-1);
                if have != Some(want) || (count > 0) != (want == 1) {
                    failures.push(format!(
                        "pattern {text} user {user} {layout:?}: match {have:?} count {count}, want {want}, events {masks:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

//! `window_funnel(window_seconds, mode, event_time, cond1, cond2, …)`:
//! ClickHouse's `windowFunnel(window, mode…)(timestamp, cond1, …)`.
//!
//! Returns the deepest funnel step reached, as `UInt8` (0 when no row
//! satisfies `cond1`), like ClickHouse.
//!
//! # Semantics
//! Every row contributes one *entry* `(time, k)` per condition `k` that is
//! true on it (a row matching `cond1` and `cond2` gives two entries); with
//! `strict_order` a row matching no condition contributes `(time, 0)`. Rows
//! with a NULL time are ignored; a NULL condition is false. Entries are
//! sorted by `(time, k)` — exactly ClickHouse's sort of its
//! `(timestamp, event)` pairs — so the input order never matters and the
//! result is deterministic. Consequences (all as in ClickHouse):
//! * steps with equal timestamps chain (`A` and `B` at the same second
//!   reach level 2) unless `strict_increase` is set;
//! * a single row matching several conditions can advance several steps;
//! * `window` is measured from the chain's first (`cond1`) event:
//!   step `k` counts when `time_k <= time_1 + window` (the boundary is
//!   inclusive); `window` is in seconds and scaled to the time column's unit.
//!
//! The level is the longest chain `e1, e2, …, ek` of entries in that order,
//! entry `ei` satisfying `cond_i`, with `time(ek) <= time(e1) + window`.
//! Modes (comma-separated, spaces ignored, `''` for none):
//! * `strict_increase`: the chain's times must strictly increase.
//! * `strict_deduplication`: scanning the entries in order, an entry for
//!   step `k >= 2` when level `k` has already been reached stops the scan;
//!   the result is the level reached before it.
//! * `strict_order`: once a `cond1` entry has been seen, a row matching no
//!   condition, or an entry for step `k >= 2` while level `k - 1` has not
//!   been reached, stops the scan; the result is the level reached before it.
//!
//! # Deliberate difference from ClickHouse
//! ClickHouse's single pass keeps only the latest chain per level, which
//! with `strict_increase` can lose a chain when a level is re-reached at the
//! same timestamp as the next step (its source says "this algorithm is not
//! exact"; e.g. `A@0 B@5 A@7 B@9 C@9`, window 10: ClickHouse returns 2, the
//! chain `A@0 B@5 C@9` is 3). shoal returns the true longest chain: for
//! `strict_increase` the predecessor is taken as it stood before the current
//! timestamp. Without `strict_increase` the single pass is exact and the
//! results are ClickHouse's. ClickHouse's `strict_once` and `allow_reentry`
//! modes are not supported (an error says so).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, UInt8Array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};

use super::args::{
    check_condition_count, coerce_condition, coerce_time, constant_seconds, constant_str,
    units_per_second,
};
use super::events::{
    EventsAccumulator, EventsConfig, EventsGroupsAccumulator, Finalizer, GroupedEvents,
    state_fields,
};

/// The SQL name of the function.
pub(crate) const NAME: &str = "window_funnel";

/// The `window_funnel` aggregate function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowFunnel {
    signature: Signature,
}

impl Default for WindowFunnel {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowFunnel {
    /// The function, ready to wrap in an `AggregateUDF`.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The funnel's mode flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FunnelMode {
    /// `strict_order`: no other events may intervene.
    pub strict_order: bool,
    /// `strict_deduplication`: a repeated step stops the scan.
    pub strict_deduplication: bool,
    /// `strict_increase`: chain times strictly increase.
    pub strict_increase: bool,
}

impl FunnelMode {
    /// Parses a comma-separated mode string.
    pub(crate) fn parse(s: &str) -> Result<Self> {
        let mut mode = Self::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "strict_order" => mode.strict_order = true,
                "strict_deduplication" => mode.strict_deduplication = true,
                "strict_increase" => mode.strict_increase = true,
                "strict" => {
                    return plan_err!(
                        "{NAME}: mode \"strict\" was renamed; use \"strict_deduplication\""
                    );
                }
                "strict_once" | "allow_reentry" => {
                    return plan_err!(
                        "{NAME}: ClickHouse mode \"{part}\" is not supported; use strict_order, \
                         strict_deduplication and/or strict_increase"
                    );
                }
                other => {
                    return plan_err!(
                        "{NAME}: unknown mode \"{other}\"; expected a comma-separated list of \
                         strict_order, strict_deduplication, strict_increase (or '' for none)"
                    );
                }
            }
        }
        Ok(mode)
    }
}

/// Everything `funnel_level` needs besides the events.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FunnelParams {
    /// The window in the time column's unit.
    pub window: i64,
    /// Number of steps (conditions), 1..=32.
    pub steps: usize,
    /// Mode flags.
    pub mode: FunnelMode,
}

/// The chain kept for one level: the latest-starting chain that reached
/// it, which is the best one to extend (its window ends last).
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    /// Time of the chain's first (`cond1`) event.
    first: i64,
    /// Time of the step that reached this level.
    last: i64,
    /// For `strict_increase`: `first` as it stood before the updates made
    /// at time `last` (None when the level was not reached before).
    first_before_last: Option<i64>,
}

/// The deepest level reached by the events `times[i]`, `masks[i]` (see
/// the module documentation). `entries` is scratch space, reused across
/// groups.
pub(crate) fn funnel_level(
    times: &[i64],
    masks: &[u32],
    p: &FunnelParams,
    entries: &mut Vec<(i64, u8)>,
) -> u8 {
    entries.clear();
    for (&t, &mask) in times.iter().zip(masks) {
        if mask == 0 {
            if p.mode.strict_order {
                entries.push((t, 0));
            }
            continue;
        }
        let mut m = mask;
        while m != 0 {
            let j = m.trailing_zeros();
            if (j as usize) < p.steps {
                entries.push((t, j as u8 + 1));
            }
            m &= m - 1;
        }
    }
    if entries.is_empty() {
        return 0;
    }
    // Events mostly arrive in time order (day partitions are read in
    // order): checking is a fraction of the cost of sorting.
    if !entries.is_sorted() {
        entries.sort_unstable();
    }

    let n = p.steps;
    let mut levels = [Level::default(); 32];
    // Bit k set: level k + 1 reached.
    let mut reached: u32 = 0;
    let has = |reached: u32, k: usize| reached & (1u32 << k) != 0;
    let deepest = |reached: u32| (32 - reached.leading_zeros()) as u8;
    let mut first_event = false;

    for &(t, step) in entries.iter() {
        if step == 0 {
            // Only present with strict_order: another event intervenes.
            if first_event {
                break;
            }
            continue;
        }
        let k = usize::from(step - 1);
        let start = if k == 0 {
            Some(t)
        } else if (p.mode.strict_deduplication && has(reached, k))
            || (p.mode.strict_order && first_event && !has(reached, k - 1))
        {
            // A repeated step (strict_deduplication) or a step whose
            // predecessor was not reached (strict_order) ends the scan.
            return deepest(reached);
        } else if has(reached, k - 1) {
            let prev = &levels[k - 1];
            let base = if !p.mode.strict_increase || prev.last < t {
                Some(prev.first)
            } else {
                // prev was (re)reached at time t; a strictly increasing
                // chain must use the chain it had before time t.
                prev.first_before_last
            };
            base.filter(|&f| t <= f.saturating_add(p.window))
        } else {
            None
        };
        let Some(first) = start else { continue };
        let lvl = &mut levels[k];
        if !(has(reached, k) && lvl.last == t) {
            lvl.first_before_last = has(reached, k).then_some(lvl.first);
        }
        lvl.first = first;
        lvl.last = t;
        reached |= 1u32 << k;
        if k == 0 {
            first_event = true;
        } else if k + 1 == n {
            return n as u8;
        }
    }
    deepest(reached)
}

/// Finalizer producing the funnel level per group.
pub(crate) struct FunnelFinalizer {
    /// Window, steps and mode.
    pub params: FunnelParams,
}

impl Finalizer for FunnelFinalizer {
    fn finalize(&self, groups: &GroupedEvents) -> Result<ArrayRef> {
        let mut scratch = Vec::new();
        let out: UInt8Array = groups
            .iter()
            .map(|(t, m)| Some(funnel_level(t, m, &self.params, &mut scratch)))
            .collect();
        Ok(Arc::new(out))
    }
}

impl WindowFunnel {
    /// Reads the constant parameters and builds the accumulator pieces.
    fn parts(&self, args: &AccumulatorArgs) -> Result<(EventsConfig, FunnelFinalizer)> {
        let steps = args.exprs.len().saturating_sub(3);
        check_condition_count(NAME, steps)?;
        let window_s = constant_seconds(NAME, args.exprs, args.schema, 0, "window in seconds")?;
        let mode = FunnelMode::parse(&constant_str(NAME, args.exprs, args.schema, 1, "mode")?)?;
        let time_type = args.expr_fields[2].data_type();
        let unit = units_per_second(NAME, time_type)?;
        let params = FunnelParams {
            window: window_s.saturating_mul(unit),
            steps,
            mode,
        };
        let cfg = EventsConfig {
            fname: NAME,
            time_idx: 2,
            keep_unmatched: mode.strict_order,
        };
        Ok((cfg, FunnelFinalizer { params }))
    }
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 4 {
            return plan_err!(
                "{NAME}(window_seconds, mode, event_time, cond1, …) needs at least 4 arguments, got {}",
                arg_types.len()
            );
        }
        check_condition_count(NAME, arg_types.len() - 3)?;
        let mut out = vec![
            DataType::Int64,
            DataType::Utf8,
            coerce_time(NAME, &arg_types[2])?,
        ];
        for (i, dt) in arg_types.iter().enumerate().skip(3) {
            out.push(coerce_condition(NAME, i + 1, dt)?);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt8)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (cfg, fin) = self.parts(&args)?;
        Ok(Box::new(EventsAccumulator::new(cfg, fin)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (cfg, fin) = self.parts(&args)?;
        Ok(Box::new(EventsGroupsAccumulator::new(cfg, fin)))
    }
}

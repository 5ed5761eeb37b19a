//! `window_funnel(window_seconds, mode, event_time, cond1, cond2, …)`:
//! ClickHouse's `windowFunnel(window, mode…)(timestamp, cond1, …)`.
//!
//! Returns the deepest funnel step reached, as `UInt8` (0 when no row
//! satisfies `cond1`), like ClickHouse.
//!
//! # NULLs
//! As ClickHouse's `Null` combinator does for Nullable arguments, a row on
//! which the time or any condition is NULL is skipped entirely: it is no
//! event, and under `strict_order` it does not intervene. A group in which
//! no row counted (all skipped) gives NULL. The result is nullable when an
//! argument is (a Parquet column always is); with non-nullable arguments an
//! empty input gives 0, as in ClickHouse.
//!
//! # Semantics
//! Every row contributes one *entry* `(time, k)` per condition `k` that is
//! true on it (a row matching `cond1` and `cond2` gives two entries); with
//! `strict_order` a row matching no condition contributes `(time, 0)`.
//! Entries are sorted by `(time, k)` — exactly ClickHouse's sort of its
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
//! * `allow_reentry` (only with `strict_order`, as ClickHouse requires): an
//!   entry for a step whose predecessor has not been reached is passed over
//!   instead of stopping the scan; a row matching no condition still stops
//!   it.
//! * `strict_once`: a chain uses each row at most once, so a row matching
//!   several conditions advances one step of a chain, not several (`A` and
//!   `B` on one row reach level 1; on two rows at the same second, 2).
//!   Since a row has one time, only entries at equal times can share a row:
//!   with `strict_increase` the mode changes nothing. ClickHouse keeps every
//!   chain (with the rows it used) for this mode; shoal keeps, per level,
//!   the latest-starting chain completed before the current second, and for
//!   the rows at the current second asks whether the steps of the chain's
//!   tail can be given to distinct rows (a bipartite matching, steps to
//!   rows): the same levels, without ClickHouse's growth in the number of
//!   chains when many rows share a second.
//!   Rows at the same second are taken in the order of their condition
//!   bitmask; only with `strict_deduplication` can that order matter
//!   (ClickHouse takes them in input order, so its answer then depends on
//!   it).
//!
//! # Deliberate difference from ClickHouse
//! ClickHouse's single pass keeps only the latest chain per level, which
//! with `strict_increase` can lose a chain when a level is re-reached at the
//! same timestamp as the next step (its source says "this algorithm is not
//! exact"; e.g. `A@0 B@5 A@7 B@9 C@9`, window 10: ClickHouse returns 2, the
//! chain `A@0 B@5 C@9` is 3). shoal returns the true longest chain: for
//! `strict_increase` the predecessor is taken as it stood before the current
//! timestamp. Without `strict_increase` the single pass is exact and the
//! results are ClickHouse's. With `strict_once` ClickHouse tracks every
//! chain, so its answer is the longest chain there too.
//!
//! On a repeated step under `strict_deduplication`, ClickHouse up to 25.x
//! returns the step number of the entry before it instead of the level
//! reached; upstream ClickHouse fixed it, and shoal returns the level
//! reached, in every mode.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, UInt8Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};

use super::args::{
    any_nullable, check_condition_count, coerce_condition, coerce_time, constant_seconds,
    constant_str, units_per_second,
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
    /// `strict_once`: a chain uses each row at most once.
    pub strict_once: bool,
    /// `allow_reentry` (with `strict_order`): a step out of order is passed
    /// over instead of stopping the scan.
    pub allow_reentry: bool,
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
                "strict_once" => mode.strict_once = true,
                "allow_reentry" => mode.allow_reentry = true,
                "strict" => {
                    return plan_err!(
                        "{NAME}: mode \"strict\" was renamed; use \"strict_deduplication\""
                    );
                }
                other => {
                    return plan_err!(
                        "{NAME}: unknown mode \"{other}\"; expected a comma-separated list of \
                         strict_order, strict_deduplication, strict_increase, strict_once, \
                         allow_reentry (or '' for none)"
                    );
                }
            }
        }
        if mode.allow_reentry && !mode.strict_order {
            return plan_err!(
                "{NAME}: mode \"{s}\": allow_reentry relaxes strict_order and needs it; \
                 add strict_order to the mode"
            );
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

/// Scratch space for [`funnel_level`], reused across groups.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// `(time, step)` entries.
    entries: Vec<(i64, u8)>,
    /// `(time, mask)` rows, for `strict_once`.
    rows: Vec<(i64, u32)>,
}

/// Whether level `k + 1` is set in `reached`.
#[inline]
fn has(reached: u32, k: usize) -> bool {
    reached & (1u32 << k) != 0
}

/// The deepest level set in `reached` (bit `k`: level `k + 1`).
#[inline]
fn deepest(reached: u32) -> u8 {
    (32 - reached.leading_zeros()) as u8
}

/// The deepest level reached by the events `times[i]`, `masks[i]` (one per
/// row; see the module documentation).
pub(crate) fn funnel_level(
    times: &[i64],
    masks: &[u32],
    p: &FunnelParams,
    scratch: &mut Scratch,
) -> u8 {
    if p.mode.strict_once {
        return funnel_level_once(times, masks, p, &mut scratch.rows);
    }
    let entries = &mut scratch.entries;
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
        } else if p.mode.strict_deduplication && has(reached, k) {
            // A repeated step ends the scan.
            return deepest(reached);
        } else if p.mode.strict_order && first_event && !has(reached, k - 1) {
            // A step whose predecessor was not reached ends the scan, or
            // with allow_reentry is passed over.
            if p.mode.allow_reentry {
                continue;
            }
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

/// `funnel_level` for `strict_once`: chains use each row at most once.
///
/// Rows are taken a second at a time. `best[k]` is the latest first time of
/// the chains that reached level `k + 1` at an earlier second: the best one
/// to extend (its window ends last), and it holds no row of the current
/// second, so any row may extend it. A chain may also take several steps at
/// the current second: its head is an earlier chain (`best[s - 1]`, or none
/// when the step-1 event is at this second) and steps `s ..` at this second
/// go to distinct rows of this second, which [`distinct_rows`] decides.
/// Without `strict_increase` that is the only way a row could be used twice
/// (ClickHouse's `strict_once` forbids exactly that); with it, a chain has
/// at most one entry per second.
fn funnel_level_once(
    times: &[i64],
    masks: &[u32],
    p: &FunnelParams,
    rows: &mut Vec<(i64, u32)>,
) -> u8 {
    let n = p.steps;
    let steps_mask = u32::MAX >> (32 - n);
    rows.clear();
    for (&t, &m) in times.iter().zip(masks) {
        let m = m & steps_mask;
        if m != 0 || p.mode.strict_order {
            rows.push((t, m));
        }
    }
    if rows.is_empty() {
        return 0;
    }
    // Rows at one second in the order of their masks: deterministic,
    // whatever the input order.
    if !rows.is_sorted() {
        rows.sort_unstable();
    }
    let mut best: [Option<i64>; 32] = [None; 32];
    let mut reached: u32 = 0;
    let mut first_event = false;
    let mut start = 0;
    while start < rows.len() {
        let t = rows[start].0;
        let len = rows[start..].iter().take_while(|r| r.0 == t).count();
        let at = &rows[start..start + len];
        start += len;
        // A row matching no condition sorts before the steps of its second.
        if p.mode.strict_order && at[0].1 == 0 && first_event {
            return deepest(reached);
        }
        // Chains reaching each level at this second: the latest first time.
        let mut fresh: [Option<i64>; 32] = [None; 32];
        for k in 0..n {
            // Rows with equal masks are interchangeable: the answer of the
            // previous row holds for the next one with the same mask.
            let mut last: Option<(u32, Option<i64>)> = None;
            for (r, &(_, m)) in at.iter().enumerate() {
                if m & (1 << k) == 0 {
                    continue;
                }
                if k == 0 {
                    fresh[0] = Some(t);
                    reached |= 1;
                    first_event = true;
                    continue;
                }
                if p.mode.strict_deduplication && has(reached, k) {
                    return deepest(reached);
                }
                if p.mode.strict_order && first_event && !has(reached, k - 1) {
                    if p.mode.allow_reentry {
                        continue;
                    }
                    return deepest(reached);
                }
                if !has(reached, k - 1) {
                    continue;
                }
                let first = match last {
                    Some((lm, f)) if lm == m => f,
                    _ => extend_once(k, r, at, t, &best, p),
                };
                last = Some((m, first));
                let Some(first) = first else { continue };
                fresh[k] = fresh[k].max(Some(first));
                reached |= 1 << k;
                if k + 1 == n {
                    return n as u8;
                }
            }
        }
        for (b, f) in best.iter_mut().zip(fresh).take(n) {
            *b = (*b).max(f);
        }
    }
    deepest(reached)
}

/// For `strict_once`: the latest first time of a chain reaching level
/// `k + 1` (`k >= 1`) whose step `k + 1` is row `r` of `at` (the rows at
/// second `t`), or None. The chain is an earlier chain up to level `s`
/// (none when `s == 0`: the chain starts at `t`) followed by steps
/// `s + 1 ..= k` at `t` on distinct rows other than `r`.
fn extend_once(
    k: usize,
    r: usize,
    at: &[(i64, u32)],
    t: i64,
    best: &[Option<i64>; 32],
    p: &FunnelParams,
) -> Option<i64> {
    let in_window = |f: i64| t <= f.saturating_add(p.window);
    // With strict_increase only an earlier chain can be extended.
    let lowest = if p.mode.strict_increase { k } else { 0 };
    let mut found = None;
    for s in lowest..=k {
        let first = if s == 0 {
            t
        } else {
            match best[s - 1] {
                Some(f) if in_window(f) => f,
                _ => continue,
            }
        };
        if found.is_some_and(|b| b >= first) {
            continue;
        }
        if s == k || distinct_rows(at, r, s..k) {
            found = Some(first);
        }
    }
    found
}

/// Whether every step (bit index) in `steps` can be given its own row of
/// `at`, other than row `skip`, matching it: a bipartite matching of steps
/// to rows (augmenting paths; at most 32 steps).
fn distinct_rows(at: &[(i64, u32)], skip: usize, steps: std::ops::Range<usize>) -> bool {
    if at.len() <= steps.len() {
        return false;
    }
    // owner[i]: the step row i serves, if any.
    let mut owner = vec![usize::MAX; at.len()];
    let mut visited = vec![false; at.len()];
    fn augment(
        step: usize,
        at: &[(i64, u32)],
        skip: usize,
        owner: &mut [usize],
        visited: &mut [bool],
    ) -> bool {
        for (i, &(_, m)) in at.iter().enumerate() {
            if i == skip || visited[i] || m & (1 << step) == 0 {
                continue;
            }
            visited[i] = true;
            if owner[i] == usize::MAX || augment(owner[i], at, skip, owner, visited) {
                owner[i] = step;
                return true;
            }
        }
        false
    }
    for step in steps {
        visited.fill(false);
        if !augment(step, at, skip, &mut owner, &mut visited) {
            return false;
        }
    }
    true
}

/// Finalizer producing the funnel level per group.
pub(crate) struct FunnelFinalizer {
    /// Window, steps and mode.
    pub params: FunnelParams,
    /// Whether the result is nullable: then a group where no row counted
    /// is NULL (otherwise 0).
    pub nullable: bool,
}

impl Finalizer for FunnelFinalizer {
    fn finalize(&self, groups: &GroupedEvents) -> Result<ArrayRef> {
        let mut scratch = Scratch::default();
        let out: UInt8Array = groups
            .iter()
            .map(|(t, m, counted)| {
                (counted || !self.nullable).then(|| funnel_level(t, m, &self.params, &mut scratch))
            })
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
        let nullable = args.return_field.is_nullable();
        Ok((cfg, FunnelFinalizer { params, nullable }))
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

    /// Nullable when the time or a condition is (see the module
    /// documentation); window and mode are constants.
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let nullable = any_nullable(arg_fields.get(2..).unwrap_or_default());
        Ok(Arc::new(Field::new(NAME, DataType::UInt8, nullable)))
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

//! `sequence_match(pattern, event_time, cond1, …)` → Boolean and
//! `sequence_count(pattern, event_time, cond1, …)` → UInt64: ClickHouse's
//! `sequenceMatch(pattern)(timestamp, cond1, …)` and `sequenceCount`.
//!
//! # Semantics (ClickHouse's)
//! The events are the rows on which at least one condition is true (other
//! rows are invisible to the pattern), ordered by time. The pattern is matched against
//! that sequence, anywhere in it (an implicit leading `.*`):
//! * `(?N)` — the next event satisfies condition `N` (1-based);
//! * `.` — any one event; `.*` — any number of events;
//! * `(?t OP S)` with `OP` one of `<=`, `<`, `>=`, `>`, `==` — the time
//!   between the event matched before it and the event matched after it
//!   (any number of events may lie between them) compares to `S` seconds
//!   (scaled to the time column's unit). As in ClickHouse, a time condition
//!   right after `.*` measures from the event the star stopped at.
//!
//! `sequence_match` is true when the pattern matches; `sequence_count`
//! counts non-overlapping matches, scanning left to right. Patterns without
//! time conditions are matched by an NFA (no backtracking limit); with time
//! conditions by ClickHouse's backtracking algorithm, which gives up with an
//! error after 1,000,000 steps, as ClickHouse does.
//!
//! # NULLs
//! As ClickHouse's `Null` combinator does for Nullable arguments, a row on
//! which the time or any condition is NULL is skipped entirely (even when
//! the pattern does not name that condition). A group in which no row
//! counted gives NULL; the result is nullable when an argument is, and with
//! non-nullable arguments an empty input gives false / 0, as in ClickHouse.
//!
//! # Deliberate difference from ClickHouse
//! ClickHouse sorts events by time only, so events with equal timestamps
//! keep an arbitrary order. shoal orders equal timestamps by their condition
//! bitmask (condition 1 before condition 2 …), so results are deterministic.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanBuilder, UInt64Builder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};

use super::args::{
    any_nullable, check_condition_count, coerce_condition, coerce_time, constant_str,
    units_per_second,
};
use super::events::{
    Event, EventsAccumulator, EventsConfig, EventsGroupsAccumulator, Finalizer, GroupedEvents,
    state_fields,
};

/// Most backtracking steps before giving up (ClickHouse's limit).
const MAX_ITERATIONS: usize = 1_000_000;

/// Which of the two sequence functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SequenceKind {
    /// `sequence_match` → Boolean.
    Match,
    /// `sequence_count` → UInt64.
    Count,
}

impl SequenceKind {
    /// The SQL name of the function.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Match => "sequence_match",
            Self::Count => "sequence_count",
        }
    }
}

/// The `sequence_match` / `sequence_count` aggregate functions (see the
/// module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sequence {
    kind: SequenceKind,
    signature: Signature,
}

impl Sequence {
    /// The function of the given kind, ready to wrap in an `AggregateUDF`.
    pub fn new(kind: SequenceKind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// A time comparison in a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeOp {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
}

/// One element of a parsed pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `(?N)`: condition index `N - 1`.
    Event(u32),
    /// `.`
    Any,
    /// `.*`
    Star,
    /// `(?t OP S)`, with `S` already in time-column units.
    Time(TimeOp, i64),
}

/// A transition out of an NFA state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    None,
    Any,
    Event(u32),
}

/// One NFA state (for patterns without time conditions).
#[derive(Debug, Clone, Copy)]
struct State {
    has_star: bool,
    transition: Transition,
}

/// A parsed pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    actions: Vec<Action>,
    states: Vec<State>,
    has_time: bool,
    /// Conditions the pattern names: all must hold somewhere to match.
    needed: u32,
}

impl Pattern {
    /// Parses `pattern` for `conds` conditions; durations are multiplied by
    /// `unit` (time units per second).
    pub(crate) fn parse(fname: &str, pattern: &str, conds: usize, unit: i64) -> Result<Self> {
        let mut p = Pattern {
            actions: vec![Action::Star],
            states: vec![State {
                has_star: true,
                transition: Transition::None,
            }],
            has_time: false,
            needed: 0,
        };
        let b = pattern.as_bytes();
        let mut i = 0;
        let err = |i: usize, msg: &str| {
            plan_err!("{fname}: pattern \"{pattern}\": {msg} at position {i}")
        };
        let number = |i: &mut usize| -> Option<u64> {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            pattern[start..*i].parse().ok()
        };
        while i < b.len() {
            if b[i..].starts_with(b"(?") {
                i += 2;
                if b.get(i) == Some(&b't') {
                    i += 1;
                    let (op, len) = if b[i..].starts_with(b"<=") {
                        (TimeOp::Le, 2)
                    } else if b[i..].starts_with(b"<") {
                        (TimeOp::Lt, 1)
                    } else if b[i..].starts_with(b">=") {
                        (TimeOp::Ge, 2)
                    } else if b[i..].starts_with(b">") {
                        (TimeOp::Gt, 1)
                    } else if b[i..].starts_with(b"==") {
                        (TimeOp::Eq, 2)
                    } else {
                        return err(i, "unknown time condition (expected <=, <, >=, > or ==)");
                    };
                    i += len;
                    let Some(secs) = number(&mut i) else {
                        return err(i, "expected a number of seconds");
                    };
                    if !matches!(
                        p.actions.last(),
                        Some(Action::Event(_) | Action::Any | Action::Star)
                    ) {
                        return err(i, "a time condition must follow an event, '.' or '.*'");
                    }
                    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
                    p.actions.push(Action::Time(op, secs.saturating_mul(unit)));
                    p.has_time = true;
                } else {
                    let Some(n) = number(&mut i) else {
                        return err(i, "expected a condition number");
                    };
                    if n == 0 || n > conds as u64 {
                        return err(
                            i,
                            &format!("condition number {n} is out of range 1..={conds}"),
                        );
                    }
                    let k = (n - 1) as u32;
                    p.actions.push(Action::Event(k));
                    if let Some(s) = p.states.last_mut() {
                        s.transition = Transition::Event(k);
                    }
                    p.states.push(State {
                        has_star: false,
                        transition: Transition::None,
                    });
                    p.needed |= 1 << k;
                }
                if b.get(i) != Some(&b')') {
                    return err(i, "expected ')'");
                }
                i += 1;
            } else if b[i..].starts_with(b".*") {
                i += 2;
                p.actions.push(Action::Star);
                if let Some(s) = p.states.last_mut() {
                    s.has_star = true;
                }
            } else if b[i] == b'.' {
                i += 1;
                p.actions.push(Action::Any);
                if let Some(s) = p.states.last_mut() {
                    s.transition = Transition::Any;
                }
                p.states.push(State {
                    has_star: false,
                    transition: Transition::None,
                });
            } else {
                return err(
                    i,
                    "unexpected character (expected '(?N)', '(?t…)', '.' or '.*')",
                );
            }
        }
        Ok(p)
    }

    /// NFA match of the whole (time-free) pattern anywhere in `events`.
    fn nfa_match(&self, events: &[Event]) -> bool {
        let n = self.states.len();
        let mut active = vec![false; n];
        let mut next = vec![false; n];
        active[0] = true;
        let mut n_active = 1;
        for &(_, mask) in events {
            if n_active == 0 || active[n - 1] {
                break;
            }
            n_active = 0;
            next.iter_mut().for_each(|x| *x = false);
            for s in 0..n {
                if !active[s] {
                    continue;
                }
                let st = self.states[s];
                match st.transition {
                    Transition::None => {}
                    Transition::Any => {
                        next[s + 1] = true;
                        n_active += 1;
                    }
                    Transition::Event(k) => {
                        if mask & (1 << k) != 0 {
                            next[s + 1] = true;
                            n_active += 1;
                        }
                    }
                }
                if st.has_star {
                    next[s] = true;
                    n_active += 1;
                }
            }
            std::mem::swap(&mut active, &mut next);
        }
        active[n - 1]
    }

    /// ClickHouse's backtracking matcher: tries to match starting at
    /// `*pos`, and leaves `*pos` after the match (or where the search
    /// stopped) so `sequence_count` can continue from there.
    fn backtracking_match(&self, fname: &str, events: &[Event], pos: &mut usize) -> Result<bool> {
        let actions = &self.actions;
        let end = events.len();
        let begin = *pos;
        let mut a = 0usize;
        let mut e = *pos;
        let mut base = *pos;
        // (action, event, base) to resume from.
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        let backtrack = |stack: &mut Vec<(usize, usize, usize)>,
                         a: &mut usize,
                         e: &mut usize,
                         base: &mut usize| {
            while let Some((sa, se, sb)) = stack.pop() {
                *a = sa;
                *e = se + 1;
                *base = sb;
                if *e != end {
                    return true;
                }
            }
            false
        };
        let mut iterations = 0usize;
        while a < actions.len() && e < end {
            match actions[a] {
                Action::Event(k) => {
                    if events[e].1 & (1 << k) != 0 {
                        base = e;
                        a += 1;
                        e += 1;
                    } else if !backtrack(&mut stack, &mut a, &mut e, &mut base) {
                        break;
                    }
                }
                Action::Any => {
                    base = e;
                    a += 1;
                    e += 1;
                }
                Action::Star => {
                    stack.push((a, e, base));
                    base = e;
                    a += 1;
                }
                Action::Time(op, d) => {
                    let t = events[e].0;
                    let limit = events[base].0.saturating_add(d);
                    let ok = match op {
                        TimeOp::Le => t <= limit,
                        TimeOp::Lt => t < limit,
                        TimeOp::Ge => t >= limit,
                        TimeOp::Gt => t > limit,
                        TimeOp::Eq => t == limit,
                    };
                    if ok {
                        stack.push((a, e, base));
                        base = e;
                        a += 1;
                    } else if matches!(op, TimeOp::Le | TimeOp::Lt) {
                        if !backtrack(&mut stack, &mut a, &mut e, &mut base) {
                            break;
                        }
                    } else {
                        e += 1;
                        if e == end && !backtrack(&mut stack, &mut a, &mut e, &mut base) {
                            break;
                        }
                    }
                }
            }
            iterations += 1;
            if iterations > MAX_ITERATIONS {
                return exec_err!(
                    "{fname}: pattern too costly to match (over {MAX_ITERATIONS} steps); \
                     simplify it or filter the events first"
                );
            }
        }
        // Trailing elements that can match nothing.
        while a < actions.len()
            && matches!(
                actions[a],
                Action::Star
                    | Action::Time(TimeOp::Le | TimeOp::Lt, _)
                    | Action::Time(TimeOp::Ge, 0)
            )
        {
            a += 1;
        }
        if e == begin {
            e += 1;
        }
        *pos = e;
        Ok(a == actions.len())
    }

    /// Whether the pattern matches `events` (sorted).
    pub(crate) fn matches(&self, fname: &str, events: &[Event], seen: u32) -> Result<bool> {
        if seen & self.needed != self.needed {
            return Ok(false);
        }
        if self.has_time {
            let mut pos = 0;
            self.backtracking_match(fname, events, &mut pos)
        } else {
            Ok(self.nfa_match(events))
        }
    }

    /// Number of non-overlapping matches in `events` (sorted).
    pub(crate) fn count(&self, fname: &str, events: &[Event], seen: u32) -> Result<u64> {
        if seen & self.needed != self.needed {
            return Ok(0);
        }
        let mut pos = 0;
        let mut count = 0;
        while pos < events.len() && self.backtracking_match(fname, events, &mut pos)? {
            count += 1;
        }
        Ok(count)
    }
}

/// Finalizer producing the match flag or count per group.
struct SequenceFinalizer {
    kind: SequenceKind,
    pattern: Pattern,
    /// Whether the result is nullable: then a group where no row counted
    /// is NULL (otherwise false / 0).
    nullable: bool,
}

impl Finalizer for SequenceFinalizer {
    fn finalize(&self, groups: &GroupedEvents) -> Result<ArrayRef> {
        let fname = self.kind.name();
        Ok(match self.kind {
            SequenceKind::Match => {
                let mut out = BooleanBuilder::with_capacity(groups.len());
                for_each_sorted(groups, |g, seen, counted| {
                    if counted || !self.nullable {
                        out.append_value(self.pattern.matches(fname, g, seen)?);
                    } else {
                        out.append_null();
                    }
                    Ok(())
                })?;
                Arc::new(out.finish())
            }
            SequenceKind::Count => {
                let mut out = UInt64Builder::with_capacity(groups.len());
                for_each_sorted(groups, |g, seen, counted| {
                    if counted || !self.nullable {
                        out.append_value(self.pattern.count(fname, g, seen)?);
                    } else {
                        out.append_null();
                    }
                    Ok(())
                })?;
                Arc::new(out.finish())
            }
        })
    }
}

/// Calls `f(events, seen, counted)` for each group in order, with the
/// group's events sorted by `(time, mask)`, the union of their masks and
/// whether any of its rows counted.
fn for_each_sorted(
    groups: &GroupedEvents,
    mut f: impl FnMut(&[Event], u32, bool) -> Result<()>,
) -> Result<()> {
    // One buffer, reused across groups.
    let mut events: Vec<Event> = Vec::new();
    for (times, masks, counted) in groups.iter() {
        events.clear();
        events.extend(times.iter().copied().zip(masks.iter().copied()));
        if !events.is_sorted() {
            events.sort_unstable();
        }
        f(&events, masks.iter().fold(0u32, |acc, m| acc | m), counted)?;
    }
    Ok(())
}

impl Sequence {
    /// Reads the pattern and builds the accumulator pieces.
    fn parts(&self, args: &AccumulatorArgs) -> Result<(EventsConfig, SequenceFinalizer)> {
        let fname = self.kind.name();
        let conds = args.exprs.len().saturating_sub(2);
        check_condition_count(fname, conds)?;
        let unit = units_per_second(fname, args.expr_fields[1].data_type())?;
        let text = constant_str(fname, args.exprs, args.schema, 0, "pattern")?;
        let pattern = Pattern::parse(fname, &text, conds, unit)?;
        let cfg = EventsConfig {
            fname,
            time_idx: 1,
            keep_unmatched: false,
        };
        Ok((
            cfg,
            SequenceFinalizer {
                kind: self.kind,
                pattern,
                nullable: args.return_field.is_nullable(),
            },
        ))
    }
}

impl AggregateUDFImpl for Sequence {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let fname = self.kind.name();
        if arg_types.len() < 3 {
            return plan_err!(
                "{fname}(pattern, event_time, cond1, …) needs at least 3 arguments, got {}",
                arg_types.len()
            );
        }
        check_condition_count(fname, arg_types.len() - 2)?;
        let mut out = vec![DataType::Utf8, coerce_time(fname, &arg_types[1])?];
        for (i, dt) in arg_types.iter().enumerate().skip(2) {
            out.push(coerce_condition(fname, i + 1, dt)?);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            SequenceKind::Match => DataType::Boolean,
            SequenceKind::Count => DataType::UInt64,
        })
    }

    /// Nullable when the time or a condition is (see the module
    /// documentation); the pattern is a constant.
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let arg_types: Vec<DataType> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let nullable = any_nullable(arg_fields.get(1..).unwrap_or_default());
        Ok(Arc::new(Field::new(
            self.kind.name(),
            self.return_type(&arg_types)?,
            nullable,
        )))
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

//! The state shared by `window_funnel`, `sequence_match` and
//! `sequence_count`: per group, the list of `(time, condition bitmask)`
//! events, kept only for rows that matter (some condition holds, or every
//! row when the function needs to see the others too). A [`Finalizer`]
//! turns a group's events into the result.
//!
//! A row on which any argument is NULL is skipped entirely, as ClickHouse's
//! `Null` combinator does: it is no event, not even an unmatched one. Each
//! group also records whether any row counted at all; a group with none
//! (every row skipped) has a NULL result when the result is nullable.
//!
//! The intermediate state is two list columns, `times: List<Int64>` and
//! `masks: List<UInt32>`, one row per group, NULL lists for a group where no
//! row counted (an empty list: rows counted, none kept); `merge_batch` appends, so
//! state → merge round-trips exactly and the result never depends on how
//! rows were split into batches, partitions or spill files (finalizers sort
//! the events by value before use).
//!
//! The groups accumulator keeps every event of every group as 16-byte
//! records (group index, mask, time) in arrival order, in buckets of 4,096
//! consecutive groups, each a list of chunks of fixed size, not one vector
//! per group: appending a batch is then a few sequential writes whatever
//! the number of groups, with no per-group allocation, and growing never
//! copies (a doubling vector of hundreds of MB would, and the kernel would
//! zero fresh pages for each copy). When groups are emitted a counting sort
//! by group index (stable, so each group keeps its arrival order) lays them
//! out contiguously: one bucket at a time for results, so the sorted copy
//! is one bucket's and its memory is reused from bucket to bucket; all at
//! once for the list state columns, whose layout it is.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt32Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

use super::args::{condition_masks, counted, counted_rows, passes, time_values};

/// One event of a group: raw time (in the time column's unit) and the
/// bitmask of the conditions that hold (bit `j` = condition `j + 1`).
pub(crate) type Event = (i64, u32);

/// Turns each group's events into one result value.
pub(crate) trait Finalizer: Send + Sync + 'static {
    /// One output row per group, in order. Within a group the events are
    /// in no particular order. A group where no row counted
    /// ([`GroupedEvents::counted`] false) has no events.
    fn finalize(&self, groups: &GroupedEvents) -> Result<ArrayRef>;
}

/// The events of consecutive groups, laid out contiguously: group `g`'s
/// times are `times[offsets[g]..offsets[g + 1]]`, its masks likewise;
/// `counted[g]` says whether any of its rows counted.
#[derive(Debug, Default)]
pub(crate) struct GroupedEvents {
    offsets: Vec<usize>,
    times: Vec<i64>,
    masks: Vec<u32>,
    counted: Vec<bool>,
}

impl GroupedEvents {
    /// One group holding `events`; `counted`: whether any row counted.
    pub(crate) fn single(events: &[Event], counted: bool) -> Self {
        Self {
            offsets: vec![0, events.len()],
            times: events.iter().map(|e| e.0).collect(),
            masks: events.iter().map(|e| e.1).collect(),
            counted: vec![counted],
        }
    }

    /// Whether any row of group `g` counted (no argument NULL); false for a
    /// group whose result ClickHouse gives as NULL.
    pub(crate) fn counted(&self, g: usize) -> bool {
        self.counted[g]
    }

    /// Number of groups.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Group `g`'s times and masks (equal lengths).
    pub(crate) fn group(&self, g: usize) -> (&[i64], &[u32]) {
        let (s, e) = (self.offsets[g], self.offsets[g + 1]);
        (&self.times[s..e], &self.masks[s..e])
    }

    /// Every group's times, masks and counted flag, in group order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[i64], &[u32], bool)> {
        (0..self.len()).map(|g| {
            let (t, m) = self.group(g);
            (t, m, self.counted(g))
        })
    }

    /// The two state columns (`List<Int64>`, `List<UInt32>`), without
    /// copying the values; a group where no row counted is a NULL list.
    fn into_state(self) -> Vec<ArrayRef> {
        let offsets = OffsetBuffer::from_lengths(self.offsets.windows(2).map(|w| w[1] - w[0]));
        let times = Int64Array::from(self.times);
        let masks = UInt32Array::from(self.masks);
        let nulls = Some(NullBuffer::from(self.counted)).filter(|n| n.null_count() > 0);
        let times = ListArray::new(
            times_item(),
            offsets.clone(),
            Arc::new(times),
            nulls.clone(),
        );
        let masks = ListArray::new(masks_item(), offsets, Arc::new(masks), nulls);
        vec![Arc::new(times), Arc::new(masks)]
    }
}

/// Where the inputs are and which rows to keep.
#[derive(Debug, Clone)]
pub(crate) struct EventsConfig {
    /// Function name, for messages.
    pub fname: &'static str,
    /// Index of the event-time column among the arguments; the conditions
    /// are all the arguments after it.
    pub time_idx: usize,
    /// Keep rows where no condition holds (mask 0); otherwise drop them.
    pub keep_unmatched: bool,
}

/// The item field of the `times` state list.
fn times_item() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Int64, false))
}

/// The item field of the `masks` state list.
fn masks_item() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::UInt32, false))
}

/// The state fields of an events aggregate named `name`.
pub(crate) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(
            format!("{name}[times]"),
            DataType::List(times_item()),
            true,
        )),
        Arc::new(Field::new(
            format!("{name}[masks]"),
            DataType::List(masks_item()),
            true,
        )),
    ]
}

/// Reads the state columns back: calls `f(row, events)` for every
/// non-NULL state row (a NULL row: a group where no row counted).
fn read_state(
    fname: &str,
    values: &[ArrayRef],
    mut f: impl FnMut(usize, &[i64], &[u32]),
) -> Result<()> {
    let (Some(times), Some(masks)) = (
        values.first().and_then(|a| a.as_list_opt::<i32>()),
        values.get(1).and_then(|a| a.as_list_opt::<i32>()),
    ) else {
        return exec_err!("{fname}: intermediate state is not two list columns");
    };
    let (Some(tv), Some(mv)) = (
        times.values().as_primitive_opt::<Int64Type>(),
        masks.values().as_primitive_opt::<UInt32Type>(),
    ) else {
        return exec_err!("{fname}: intermediate state lists have the wrong item types");
    };
    let (tv, mv) = (tv.values(), mv.values());
    let (to, mo) = (times.value_offsets(), masks.value_offsets());
    for row in 0..times.len() {
        if times.is_null(row) || masks.is_null(row) {
            continue;
        }
        let (ts, te) = (to[row] as usize, to[row + 1] as usize);
        let (ms, me) = (mo[row] as usize, mo[row + 1] as usize);
        if te - ts != me - ms {
            return exec_err!("{fname}: intermediate state lists differ in length");
        }
        f(row, &tv[ts..te], &mv[ms..me]);
    }
    Ok(())
}

/// Calls `f(row, event)` for every input row that counts (passes the
/// filter, no argument NULL): with `Some(event)` when the row is kept as an
/// event, `None` when it only counts (no condition holds and the function
/// does not keep such rows).
fn for_each_event(
    cfg: &EventsConfig,
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, Option<Event>),
) -> Result<()> {
    let Some(time_arr) = values.get(cfg.time_idx) else {
        return exec_err!("{}: missing event time argument", cfg.fname);
    };
    let times = time_values(cfg.fname, time_arr)?;
    let masks = condition_masks(cfg.fname, &values[cfg.time_idx + 1..], times.len())?;
    // The constant arguments before the time are never NULL (checked when
    // the accumulator is built).
    let rows = counted_rows(&values[cfg.time_idx..]);
    let tv = times.values();
    for (i, &mask) in masks.iter().enumerate() {
        if !counted(rows.as_ref(), i) || !passes(filter, i) {
            continue;
        }
        let keep = mask != 0 || cfg.keep_unmatched;
        f(i, keep.then_some((tv[i], mask)));
    }
    Ok(())
}

/// One stored event: group index, condition mask, time.
#[derive(Debug, Clone, Copy)]
struct Record {
    group: u32,
    mask: u32,
    time: i64,
}

/// Records per chunk: 64 KiB, small enough to be reused by the allocator
/// from chunk to chunk and to fit tight memory limits, large enough that
/// the chunk list stays short.
const CHUNK: usize = 1 << 12;

/// Groups per bucket, as a shift: bucket `b` holds the events of groups
/// `b << GROUP_SHIFT .. (b + 1) << GROUP_SHIFT`.
const GROUP_SHIFT: u32 = 12;

/// The events of a range of groups, in arrival order, in chunks of at most
/// [`CHUNK`] records (the last one partly filled, its capacity growing as a
/// vector's does, so a bucket with a few events costs a few records).
#[derive(Debug, Default)]
struct Bucket {
    chunks: Vec<Vec<Record>>,
}

impl Bucket {
    /// Appends one event.
    #[inline]
    fn push(&mut self, r: Record) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(r),
            _ => self.chunks.push(vec![r]),
        }
    }

    /// Every event, in arrival order.
    fn records(&self) -> impl Iterator<Item = &Record> {
        self.chunks.iter().flatten()
    }

    /// Bytes held.
    fn size(&self) -> usize {
        let full = self.chunks.len().saturating_sub(1) * CHUNK;
        let last = self.chunks.last().map_or(0, Vec::capacity);
        (full + last) * size_of::<Record>()
    }
}

/// Lays out the events of `buckets` for the `groups` groups starting at
/// `first_group` (every record's group is in that range) group by group,
/// each group keeping its arrival order (a stable counting sort), into
/// `out`, reusing its vectors; `counted` holds the groups' counted flags.
fn lay_out(buckets: &[Bucket], first_group: usize, counted: &[bool], out: &mut GroupedEvents) {
    let groups = counted.len();
    out.counted.clear();
    out.counted.extend_from_slice(counted);
    let offsets = &mut out.offsets;
    offsets.clear();
    offsets.resize(groups + 1, 0);
    for r in buckets.iter().flat_map(Bucket::records) {
        offsets[r.group as usize - first_group + 1] += 1;
    }
    for g in 0..groups {
        offsets[g + 1] += offsets[g];
    }
    let total = offsets[groups];
    out.times.clear();
    out.times.resize(total, 0);
    out.masks.clear();
    out.masks.resize(total, 0);
    let mut cursor = offsets[..groups].to_vec();
    for r in buckets.iter().flat_map(Bucket::records) {
        let at = &mut cursor[r.group as usize - first_group];
        out.times[*at] = r.time;
        out.masks[*at] = r.mask;
        *at += 1;
    }
}

/// [`GroupsAccumulator`] for the events aggregates: every group's events
/// as [`Record`]s in arrival order, in buckets of consecutive groups (see
/// the module documentation).
pub(crate) struct EventsGroupsAccumulator<F> {
    cfg: EventsConfig,
    finalizer: F,
    /// Number of groups DataFusion has assigned so far.
    num_groups: usize,
    /// Bucket `b` holds groups `b << shift ..`; as many buckets as the
    /// groups need.
    buckets: Vec<Bucket>,
    /// Per group: whether any row counted (no argument NULL).
    counted: Vec<bool>,
    /// [`GROUP_SHIFT`], smaller in tests.
    shift: u32,
}

impl<F: Finalizer> EventsGroupsAccumulator<F> {
    /// A new accumulator with no groups.
    pub(crate) fn new(cfg: EventsConfig, finalizer: F) -> Self {
        Self {
            cfg,
            finalizer,
            num_groups: 0,
            buckets: Vec::new(),
            counted: Vec::new(),
            shift: GROUP_SHIFT,
        }
    }

    /// The same with `1 << shift` groups per bucket, so that tests cross
    /// bucket boundaries with a handful of groups.
    #[cfg(test)]
    pub(crate) fn with_group_shift(mut self, shift: u32) -> Self {
        self.shift = shift;
        self
    }

    /// Records that DataFusion now has `total_num_groups` groups.
    fn grow(&mut self, total_num_groups: usize) -> Result<()> {
        if total_num_groups > u32::MAX as usize {
            return exec_err!(
                "{}: more than {} groups in one aggregation",
                self.cfg.fname,
                u32::MAX
            );
        }
        self.num_groups = self.num_groups.max(total_num_groups);
        self.counted.resize(self.num_groups, false);
        self.add_buckets();
        Ok(())
    }

    /// Adds the buckets the groups need.
    fn add_buckets(&mut self) {
        let want = self.num_groups.div_ceil(1 << self.shift);
        if self.buckets.len() < want {
            self.buckets.resize_with(want, Bucket::default);
        }
    }

    /// Removes the groups `emit_to` asks for and returns their counted
    /// flags and buckets (bucket `i` holding groups `i << shift ..`); the
    /// groups left are renumbered from 0, as `EmitTo::First` requires.
    fn take(&mut self, emit_to: EmitTo) -> (Vec<bool>, Vec<Bucket>) {
        let n = match emit_to {
            EmitTo::All => self.num_groups,
            EmitTo::First(n) => n.min(self.num_groups),
        };
        self.num_groups -= n;
        let counted = EmitTo::First(n).take_needed(&mut self.counted);
        let size = 1usize << self.shift;
        let mut rest = std::mem::take(&mut self.buckets);
        let mut taken: Vec<Bucket> = rest.drain(..(n / size).min(rest.len())).collect();
        if n % size == 0 {
            // The groups left start a bucket: renumber them in place.
            for r in rest.iter_mut().flat_map(|b| b.chunks.iter_mut().flatten()) {
                r.group -= n as u32;
            }
            self.buckets = rest;
        } else {
            // A bucket straddles the cut: its groups below `n` are taken, and
            // every group left moves to the bucket of its new number.
            let mut boundary = Bucket::default();
            self.add_buckets();
            for r in rest.into_iter().flat_map(|b| b.chunks).flatten() {
                let g = r.group as usize;
                if g < n {
                    boundary.push(r);
                } else {
                    let group = (g - n) as u32;
                    self.buckets[(group >> self.shift) as usize].push(Record { group, ..r });
                }
            }
            taken.push(boundary);
        }
        (counted, taken)
    }
}

impl<F: Finalizer> GroupsAccumulator for EventsGroupsAccumulator<F> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups)?;
        let (buckets, counted, shift) = (&mut self.buckets, &mut self.counted, self.shift);
        for_each_event(&self.cfg, values, opt_filter, |i, event| {
            counted[group_indices[i]] = true;
            if let Some((time, mask)) = event {
                let group = group_indices[i] as u32;
                buckets[(group >> shift) as usize].push(Record { group, mask, time });
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        // One bucket at a time: the laid-out copy of the events is one
        // bucket's, its vectors reused, never all groups' at once.
        let (counted, buckets) = self.take(emit_to);
        let size = 1usize << self.shift;
        let mut laid = GroupedEvents::default();
        let mut parts = Vec::with_capacity(buckets.len());
        for (i, bucket) in buckets.into_iter().enumerate() {
            let first = i * size;
            let last = (first + size).min(counted.len());
            lay_out(
                std::slice::from_ref(&bucket),
                first,
                &counted[first..last],
                &mut laid,
            );
            drop(bucket);
            parts.push(self.finalizer.finalize(&laid)?);
        }
        match parts.len() {
            0 => self.finalizer.finalize(&GroupedEvents::default()),
            1 => Ok(parts.swap_remove(0)),
            _ => {
                let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                Ok(concat(&parts)?)
            }
        }
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (counted, buckets) = self.take(emit_to);
        let mut laid = GroupedEvents::default();
        lay_out(&buckets, 0, &counted, &mut laid);
        Ok(laid.into_state())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups)?;
        let (buckets, counted, shift) = (&mut self.buckets, &mut self.counted, self.shift);
        read_state(self.cfg.fname, values, |row, t, m| {
            counted[group_indices[row]] = true;
            let group = group_indices[row] as u32;
            let bucket = &mut buckets[(group >> shift) as usize];
            for (&time, &mask) in t.iter().zip(m) {
                bucket.push(Record { group, mask, time });
            }
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |a| a.len());
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let (mut times, mut masks) = (Vec::new(), Vec::new());
        // Rows that count without being kept become empty lists; rows that
        // do not count, NULL lists.
        let mut counted = vec![false; rows];
        for_each_event(&self.cfg, values, opt_filter, |i, event| {
            counted[i] = true;
            if let Some((t, m)) = event {
                offsets.resize(i + 1, times.len());
                times.push(t);
                masks.push(m);
            }
        })?;
        offsets.resize(rows + 1, times.len());
        Ok(GroupedEvents {
            offsets,
            times,
            masks,
            counted,
        }
        .into_state())
    }

    fn size(&self) -> usize {
        self.buckets.iter().map(Bucket::size).sum::<usize>() + self.counted.capacity()
    }
}

/// [`Accumulator`] for the events aggregates (a single group: no GROUP BY,
/// window functions).
pub(crate) struct EventsAccumulator<F> {
    cfg: EventsConfig,
    finalizer: F,
    events: Vec<Event>,
    /// Whether any row counted (no argument NULL).
    counted: bool,
}

impl<F: Finalizer> EventsAccumulator<F> {
    /// A new, empty accumulator.
    pub(crate) fn new(cfg: EventsConfig, finalizer: F) -> Self {
        Self {
            cfg,
            finalizer,
            events: Vec::new(),
            counted: false,
        }
    }
}

impl<F: Finalizer> std::fmt::Debug for EventsAccumulator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsAccumulator")
            .field("fname", &self.cfg.fname)
            .field("events", &self.events.len())
            .finish()
    }
}

impl<F: Finalizer> Accumulator for EventsAccumulator<F> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (events, counted) = (&mut self.events, &mut self.counted);
        for_each_event(&self.cfg, values, None, |_, e| {
            *counted = true;
            events.extend(e);
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let arr = self
            .finalizer
            .finalize(&GroupedEvents::single(&self.events, self.counted))?;
        ScalarValue::try_from_array(&arr, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.events.capacity() * size_of::<Event>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let cols = GroupedEvents::single(&self.events, self.counted).into_state();
        Ok(cols
            .into_iter()
            .map(|c| ScalarValue::List(Arc::new(c.as_list::<i32>().clone())))
            .collect())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (events, counted) = (&mut self.events, &mut self.counted);
        read_state(self.cfg.fname, states, |_, times, masks| {
            *counted = true;
            events.extend(times.iter().copied().zip(masks.iter().copied()))
        })
    }
}

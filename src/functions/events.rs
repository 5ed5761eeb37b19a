//! The state shared by `window_funnel`, `sequence_match` and
//! `sequence_count`: per group, the list of `(time, condition bitmask)`
//! events, kept only for rows that matter (some condition holds, or every
//! row when the function needs to see the others too). A [`Finalizer`]
//! turns a group's events into the result.
//!
//! The intermediate state is two list columns, `times: List<Int64>` and
//! `masks: List<UInt32>`, one row per group; `merge_batch` appends, so
//! state → merge round-trips exactly and the result never depends on how
//! rows were split into batches, partitions or spill files (finalizers sort
//! the events by value before use).

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt32Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

use super::args::{condition_masks, passes, time_values};

/// One event of a group: raw time (in the time column's unit) and the
/// bitmask of the conditions that hold (bit `j` = condition `j + 1`).
pub(crate) type Event = (i64, u32);

/// Turns each group's events into one result value.
pub(crate) trait Finalizer: Send + Sync + 'static {
    /// One output row per group, in order. The events are in no
    /// particular order.
    fn finalize(&self, groups: Vec<Vec<Event>>) -> Result<ArrayRef>;
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

/// Builds the two state columns from per-group event lists.
fn build_state<'a>(groups: impl Iterator<Item = &'a [Event]> + Clone) -> Vec<ArrayRef> {
    let offsets = OffsetBuffer::from_lengths(groups.clone().map(|g| g.len()));
    let times = Int64Array::from_iter_values(groups.clone().flatten().map(|e| e.0));
    let masks = UInt32Array::from_iter_values(groups.flatten().map(|e| e.1));
    let times = ListArray::new(times_item(), offsets.clone(), Arc::new(times), None);
    let masks = ListArray::new(masks_item(), offsets, Arc::new(masks), None);
    vec![Arc::new(times), Arc::new(masks)]
}

/// Reads the state columns back: calls `f(row, events)` for every
/// non-NULL state row.
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

/// Calls `f(row, event)` for every input row that becomes an event.
fn for_each_event(
    cfg: &EventsConfig,
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, Event),
) -> Result<()> {
    let Some(time_arr) = values.get(cfg.time_idx) else {
        return exec_err!("{}: missing event time argument", cfg.fname);
    };
    let times = time_values(cfg.fname, time_arr)?;
    let masks = condition_masks(cfg.fname, &values[cfg.time_idx + 1..], times.len())?;
    let tv = times.values();
    let has_nulls = times.null_count() > 0;
    for (i, &mask) in masks.iter().enumerate() {
        if mask == 0 && !cfg.keep_unmatched {
            continue;
        }
        if (has_nulls && times.is_null(i)) || !passes(filter, i) {
            continue;
        }
        f(i, (tv[i], mask));
    }
    Ok(())
}

/// [`GroupsAccumulator`] for the events aggregates: one `Vec<Event>` per
/// group.
pub(crate) struct EventsGroupsAccumulator<F> {
    cfg: EventsConfig,
    finalizer: F,
    groups: Vec<Vec<Event>>,
    /// Bytes allocated by the groups' vectors, kept up to date so `size()`
    /// is O(1).
    heap_bytes: usize,
}

impl<F: Finalizer> EventsGroupsAccumulator<F> {
    /// A new accumulator with no groups.
    pub(crate) fn new(cfg: EventsConfig, finalizer: F) -> Self {
        Self {
            cfg,
            finalizer,
            groups: Vec::new(),
            heap_bytes: 0,
        }
    }

    /// Appends `event` to group `g`, tracking allocation growth.
    #[inline]
    fn push(groups: &mut [Vec<Event>], heap_bytes: &mut usize, g: usize, event: Event) {
        let v = &mut groups[g];
        let before = v.capacity();
        v.push(event);
        let after = v.capacity();
        if after != before {
            *heap_bytes += (after - before) * size_of::<Event>();
        }
    }

    /// Removes the groups `emit_to` asks for.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<Event>> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken
            .iter()
            .map(|g| g.capacity() * size_of::<Event>())
            .sum();
        self.heap_bytes = self.heap_bytes.saturating_sub(freed);
        taken
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
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        let (groups, heap) = (&mut self.groups, &mut self.heap_bytes);
        for_each_event(&self.cfg, values, opt_filter, |i, e| {
            Self::push(groups, heap, group_indices[i], e)
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let taken = self.take(emit_to);
        self.finalizer.finalize(taken)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = self.take(emit_to);
        Ok(build_state(taken.iter().map(|g| g.as_slice())))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        let (groups, heap) = (&mut self.groups, &mut self.heap_bytes);
        read_state(self.cfg.fname, values, |row, times, masks| {
            let g = &mut groups[group_indices[row]];
            let before = g.capacity();
            g.extend(times.iter().copied().zip(masks.iter().copied()));
            *heap += (g.capacity() - before) * size_of::<Event>();
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |a| a.len());
        let mut per_row: Vec<Option<Event>> = vec![None; rows];
        for_each_event(&self.cfg, values, opt_filter, |i, e| per_row[i] = Some(e))?;
        let offsets = OffsetBuffer::from_lengths(per_row.iter().map(|e| usize::from(e.is_some())));
        let times = Int64Array::from_iter_values(per_row.iter().flatten().map(|e| e.0));
        let masks = UInt32Array::from_iter_values(per_row.iter().flatten().map(|e| e.1));
        Ok(vec![
            Arc::new(ListArray::new(
                times_item(),
                offsets.clone(),
                Arc::new(times),
                None,
            )),
            Arc::new(ListArray::new(masks_item(), offsets, Arc::new(masks), None)),
        ])
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<Vec<Event>>() + self.heap_bytes
    }
}

/// [`Accumulator`] for the events aggregates (a single group: no GROUP BY,
/// window functions).
pub(crate) struct EventsAccumulator<F> {
    cfg: EventsConfig,
    finalizer: F,
    events: Vec<Event>,
}

impl<F: Finalizer> EventsAccumulator<F> {
    /// A new, empty accumulator.
    pub(crate) fn new(cfg: EventsConfig, finalizer: F) -> Self {
        Self {
            cfg,
            finalizer,
            events: Vec::new(),
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
        let events = &mut self.events;
        for_each_event(&self.cfg, values, None, |_, e| events.push(e))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let arr = self.finalizer.finalize(vec![self.events.clone()])?;
        ScalarValue::try_from_array(&arr, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.events.capacity() * size_of::<Event>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let cols = build_state(std::iter::once(self.events.as_slice()));
        Ok(cols
            .into_iter()
            .map(|c| ScalarValue::List(Arc::new(c.as_list::<i32>().clone())))
            .collect())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let events = &mut self.events;
        read_state(self.cfg.fname, states, |_, times, masks| {
            events.extend(times.iter().copied().zip(masks.iter().copied()))
        })
    }
}

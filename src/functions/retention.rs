//! `retention(cond1, cond2, …)` → `List<UInt8>`: ClickHouse's `retention`.
//!
//! Element 1 is 1 when `cond1` held on some row of the group; element `k`
//! (k ≥ 2) is 1 when `cond1` held on some row and `condk` held on some
//! (possibly other) row. A group with no rows where `cond1` holds gives all
//! zeros.
//!
//! A row on which any condition is NULL is skipped entirely, as ClickHouse's
//! `Null` combinator does for Nullable arguments (`A` on a row whose other
//! condition is NULL does not count). Unlike the other event aggregates,
//! ClickHouse's `retention` keeps its non-nullable result then: a group
//! whose rows were all skipped gives all zeros, not NULL. State: one `UInt32` bitmask of the
//! conditions seen per group (bitwise OR on merge).

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, UInt8Array, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt32Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::args::{check_condition_count, coerce_condition, condition_masks, counted_rows, passes};

const NAME: &str = "retention";

/// The `retention` aggregate function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Retention {
    signature: Signature,
}

impl Default for Retention {
    fn default() -> Self {
        Self::new()
    }
}

impl Retention {
    /// The function, ready to wrap in an `AggregateUDF`.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The list item field of the result.
fn item_field() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::UInt8, false))
}

/// Builds the result lists from the seen-condition bitmasks.
fn build_result(masks: &[u32], conds: usize) -> ArrayRef {
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(conds, masks.len()));
    let mut values = Vec::with_capacity(masks.len() * conds);
    for &m in masks {
        let first = m & 1;
        values.push(first as u8);
        for k in 1..conds {
            values.push((first & (m >> k)) as u8);
        }
    }
    Arc::new(ListArray::new(
        item_field(),
        offsets,
        Arc::new(UInt8Array::from(values)),
        None,
    ))
}

/// The bitmask of the conditions that hold on each row, 0 for a row on
/// which some condition is NULL (skipped, see the module documentation).
fn row_masks(values: &[ArrayRef], rows: usize) -> Result<Vec<u32>> {
    let mut masks = condition_masks(NAME, values, rows)?;
    if let Some(rows) = counted_rows(values) {
        for (i, m) in masks.iter_mut().enumerate() {
            if rows.is_null(i) {
                *m = 0;
            }
        }
    }
    Ok(masks)
}

/// ORs the state column's masks into `f(row, mask)`.
fn read_state(values: &[ArrayRef], mut f: impl FnMut(usize, u32)) -> Result<()> {
    let Some(arr) = values
        .first()
        .and_then(|a| a.as_primitive_opt::<UInt32Type>())
    else {
        return exec_err!("{NAME}: intermediate state is not a UInt32 column");
    };
    for (row, v) in arr.iter().enumerate() {
        if let Some(v) = v {
            f(row, v);
        }
    }
    Ok(())
}

/// [`GroupsAccumulator`] for `retention`: one bitmask per group.
struct RetentionGroups {
    conds: usize,
    masks: Vec<u32>,
}

impl GroupsAccumulator for RetentionGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.masks.resize(total_num_groups.max(self.masks.len()), 0);
        let rows = group_indices.len();
        let m = row_masks(values, rows)?;
        for (i, (&g, &mask)) in group_indices.iter().zip(&m).enumerate() {
            if mask != 0 && passes(opt_filter, i) {
                self.masks[g] |= mask;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let taken = emit_to.take_needed(&mut self.masks);
        Ok(build_result(&taken, self.conds))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = emit_to.take_needed(&mut self.masks);
        Ok(vec![Arc::new(UInt32Array::from(taken))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.masks.resize(total_num_groups.max(self.masks.len()), 0);
        let masks = &mut self.masks;
        read_state(values, |row, v| masks[group_indices[row]] |= v)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |a| a.len());
        let mut m = row_masks(values, rows)?;
        for (i, v) in m.iter_mut().enumerate() {
            if !passes(opt_filter, i) {
                *v = 0;
            }
        }
        Ok(vec![Arc::new(UInt32Array::from(m))])
    }

    fn size(&self) -> usize {
        self.masks.capacity() * size_of::<u32>()
    }
}

/// [`Accumulator`] for `retention` (a single group).
#[derive(Debug)]
struct RetentionAccumulator {
    conds: usize,
    mask: u32,
}

impl Accumulator for RetentionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |a| a.len());
        self.mask |= row_masks(values, rows)?.iter().fold(0, |a, m| a | m);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let arr = build_result(&[self.mask], self.conds);
        Ok(ScalarValue::List(Arc::new(arr.as_list::<i32>().clone())))
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::UInt32(Some(self.mask))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let mask = &mut self.mask;
        read_state(states, |_, v| *mask |= v)
    }
}

impl AggregateUDFImpl for Retention {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_condition_count(NAME, arg_types.len())?;
        arg_types
            .iter()
            .enumerate()
            .map(|(i, dt)| coerce_condition(NAME, i + 1, dt))
            .collect()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() {
            return plan_err!("{NAME}: needs at least one condition");
        }
        Ok(DataType::List(item_field()))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[seen]", args.name),
            DataType::UInt32,
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        check_condition_count(NAME, args.exprs.len())?;
        Ok(Box::new(RetentionAccumulator {
            conds: args.exprs.len(),
            mask: 0,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        check_condition_count(NAME, args.exprs.len())?;
        Ok(Box::new(RetentionGroups {
            conds: args.exprs.len(),
            masks: Vec::new(),
        }))
    }
}

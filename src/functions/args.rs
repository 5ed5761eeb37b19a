//! Argument handling shared by the event-sequence aggregates: constant
//! parameters (window, mode, pattern), the event-time column and the
//! per-row bitmask of the conditions that hold.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;

/// Most conditions an event-sequence aggregate accepts (ClickHouse's limit;
/// one bit of a `u32` each).
pub(crate) const MAX_CONDITIONS: usize = 32;

/// Evaluates argument `idx` as a constant: a literal, or an expression
/// over literals only (e.g. `7 * 86400`, or a cast the planner added).
pub(crate) fn constant_arg(
    fname: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    schema: &Schema,
    idx: usize,
    what: &str,
) -> Result<ScalarValue> {
    let Some(expr) = exprs.get(idx) else {
        return plan_err!("{fname}: missing argument {} ({what})", idx + 1);
    };
    let empty = RecordBatch::new_empty(Arc::new(schema.clone()));
    match expr.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(v)) => Ok(v),
        _ => plan_err!(
            "{fname}: argument {} ({what}) must be a constant, got `{expr}`",
            idx + 1
        ),
    }
}

/// A constant string argument (mode or pattern); NULL is an error.
pub(crate) fn constant_str(
    fname: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    schema: &Schema,
    idx: usize,
    what: &str,
) -> Result<String> {
    let v = constant_arg(fname, exprs, schema, idx, what)?;
    match v.try_as_str() {
        Some(Some(s)) => Ok(s.to_string()),
        _ => plan_err!(
            "{fname}: argument {} ({what}) must be a non-NULL string, got {v:?}",
            idx + 1
        ),
    }
}

/// A constant non-negative integer argument (a window or duration in
/// seconds); NULL and negative values are errors.
pub(crate) fn constant_seconds(
    fname: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    schema: &Schema,
    idx: usize,
    what: &str,
) -> Result<i64> {
    let v = constant_arg(fname, exprs, schema, idx, what)?;
    match v.cast_to(&DataType::Int64) {
        Ok(ScalarValue::Int64(Some(s))) if s >= 0 => Ok(s),
        _ => plan_err!(
            "{fname}: argument {} ({what}) must be a non-negative whole number of seconds, got {v}",
            idx + 1
        ),
    }
}

/// How many time units of `dt` make one second: the event time may be a
/// timestamp of any unit (any time zone) or an integer number of seconds.
pub(crate) fn units_per_second(fname: &str, dt: &DataType) -> Result<i64> {
    Ok(match dt {
        DataType::Timestamp(TimeUnit::Second, _) => 1,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000_000,
        dt if dt.is_integer() || dt == &DataType::Null => 1,
        other => {
            return plan_err!(
                "{fname}: the event time must be a timestamp or an integer number of seconds, got {other}"
            );
        }
    })
}

/// The type the event-time argument is coerced to: timestamps stay as they
/// are, dates become second timestamps (midnight UTC), integers and NULL
/// become Int64 seconds.
pub(crate) fn coerce_time(fname: &str, dt: &DataType) -> Result<DataType> {
    match dt {
        DataType::Timestamp(_, _) => Ok(dt.clone()),
        DataType::Date32 | DataType::Date64 => Ok(DataType::Timestamp(TimeUnit::Second, None)),
        dt if dt.is_integer() || dt == &DataType::Null => Ok(DataType::Int64),
        other => plan_err!(
            "{fname}: the event time must be a timestamp or an integer number of seconds, got {other}"
        ),
    }
}

/// The type a condition argument is coerced to: Boolean (integers are true
/// when non-zero, as ClickHouse's UInt8 conditions).
pub(crate) fn coerce_condition(fname: &str, pos: usize, dt: &DataType) -> Result<DataType> {
    match dt {
        DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
        dt if dt.is_integer() => Ok(DataType::Boolean),
        other => {
            plan_err!("{fname}: argument {pos} is a condition and must be boolean, got {other}")
        }
    }
}

/// Checks the number of conditions is between 1 and [`MAX_CONDITIONS`].
pub(crate) fn check_condition_count(fname: &str, n: usize) -> Result<()> {
    if n == 0 {
        return plan_err!("{fname}: needs at least one condition");
    }
    if n > MAX_CONDITIONS {
        return plan_err!("{fname}: at most {MAX_CONDITIONS} conditions are supported, got {n}");
    }
    Ok(())
}

/// The event-time column as raw Int64 values in the column's own unit.
pub(crate) fn time_values(fname: &str, arr: &ArrayRef) -> Result<Int64Array> {
    let arr = match arr.data_type() {
        DataType::Int64 => Arc::clone(arr),
        DataType::Timestamp(_, _) | DataType::Null => cast(arr, &DataType::Int64)?,
        dt if dt.is_integer() => cast(arr, &DataType::Int64)?,
        other => return exec_err!("{fname}: unexpected event time type {other}"),
    };
    Ok(arr
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .clone())
}

/// For each row, the bitmask of the conditions that are true (bit `j` for
/// condition `j + 1`). A NULL condition sets no bit; callers skip such rows
/// altogether (see [`counted_rows`]).
pub(crate) fn condition_masks(fname: &str, conds: &[ArrayRef], rows: usize) -> Result<Vec<u32>> {
    let mut masks = vec![0u32; rows];
    for (j, c) in conds.iter().enumerate() {
        let Some(b) = c.as_boolean_opt() else {
            if c.data_type() == &DataType::Null {
                continue;
            }
            return exec_err!("{fname}: condition {} is not boolean", j + 1);
        };
        let bits = match b.nulls() {
            Some(nulls) => b.values() & nulls.inner(),
            None => b.values().clone(),
        };
        let bit = 1u32 << j;
        for i in bits.set_indices() {
            masks[i] |= bit;
        }
    }
    Ok(masks)
}

/// Whether row `i` passes an aggregate `FILTER (WHERE …)` (NULL fails).
#[inline]
pub(crate) fn passes(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

/// The rows that count: valid where none of `args` is NULL (`None`: every
/// row counts). ClickHouse wraps an aggregate given Nullable arguments in its `Null`
/// combinator, which skips a row when any argument is NULL: the row is not an
/// event at all (under `strict_order` it does not intervene), and a group
/// whose rows were all skipped has no value. A NULL-typed argument skips
/// every row.
pub(crate) fn counted_rows(args: &[ArrayRef]) -> Option<NullBuffer> {
    args.iter().fold(None, |acc, a| {
        NullBuffer::union(acc.as_ref(), a.logical_nulls().as_ref())
    })
}

/// Whether row `i` is valid in `nulls` (from [`counted_rows`]).
#[inline]
pub(crate) fn counted(nulls: Option<&NullBuffer>, i: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(i))
}

/// Whether the aggregate's result is nullable: as in ClickHouse, only when
/// some argument is (its `Null` combinator applies only then), so that
/// non-nullable inputs keep a plain 0 for an empty input.
pub(crate) fn any_nullable(fields: &[datafusion::arrow::datatypes::FieldRef]) -> bool {
    fields.iter().any(|f| f.is_nullable())
}

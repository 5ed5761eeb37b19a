//! `hash64(value, …)` → UInt64: a fast 64-bit hash of a value or of a tuple
//! of values; NULL when every value is NULL (a NULL inside a tuple is hashed
//! as a value of its own).
//!
//! It is DataFusion's own vectorised row hashing (`create_hashes`, the hash
//! its joins and aggregations use) with a fixed seed, so the same value gives
//! the same hash in every process of one shoal version — a Ballista executor
//! and the scheduler agree. It is not a stable identifier across versions and
//! not a cryptographic hash: use it to narrow a search, then compare the
//! values themselves. `stg_duplicate_events` finds duplicated `event_id`s by
//! grouping on `hash64(event_id)` (grouping 10 M 64-bit keys is about 4×
//! cheaper than grouping 10 M strings) and ranks only the rows of the
//! colliding hashes by their real `event_id`, so a hash collision costs a
//! few more rows ranked, never a wrong answer. `unique` data tests count
//! distinct hashes first and count distinct values only when that finds a
//! repeat.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, UInt64Array};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::hash_utils::{HLL_RANDOM_STATE, create_hashes};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The `hash64` scalar function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Hash64 {
    signature: Signature,
}

impl Hash64 {
    /// The function, ready to wrap in a `ScalarUDF`.
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for Hash64 {
    fn default() -> Self {
        Self::new()
    }
}

/// The hash of every row of the columns `values` (all of one length), NULL
/// where every column is NULL. The seed is fixed (the one DataFusion keeps
/// fixed for mergeable sketches), so the hashes do not depend on the process.
pub fn hash_rows(values: &[ArrayRef]) -> Result<UInt64Array> {
    let len = values.first().map_or(0, |v| v.len());
    let mut hashes = vec![0u64; len];
    create_hashes(values, &HLL_RANDOM_STATE, &mut hashes)?;
    // Valid where any column is valid: the union of the validity masks.
    let mut nulls: Option<NullBuffer> = None;
    for v in values {
        let Some(n) = v.logical_nulls() else {
            nulls = None;
            break;
        };
        nulls = Some(match nulls {
            None => n,
            Some(acc) => NullBuffer::new(acc.inner() | n.inner()),
        });
    }
    Ok(UInt64Array::new(ScalarBuffer::from(hashes), nulls))
}

impl ScalarUDFImpl for Hash64 {
    fn name(&self) -> &str {
        "hash64"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.is_empty() {
            return exec_err!("hash64(value, ...) takes at least 1 argument");
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let columns = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let hashes = hash_rows(&columns)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &hashes, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(Arc::new(hashes)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    #[test]
    fn equal_values_equal_hashes_nulls_stay_null() {
        let hash_array = |a: &ArrayRef| hash_rows(std::slice::from_ref(a));
        let ids: ArrayRef = Arc::new(StringArray::from(vec![
            Some("e1"),
            Some("e2"),
            None,
            Some("e1"),
        ]));
        let h = hash_array(&ids).unwrap();
        assert_eq!(h.value(0), h.value(3), "the same id, the same hash");
        assert_ne!(h.value(0), h.value(1), "two ids, two hashes");
        assert!(h.is_null(2) && !h.is_null(0));
        // A second call gives the same hashes (no state between calls).
        // That the seed is the same in every process is what the Ballista
        // test relies on: executors hash the same ids for the group-by and
        // the join of stg_duplicate_events, and its tables equal a local run's.
        assert_eq!(hash_array(&ids).unwrap(), h);
        let n: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 7]));
        let h = hash_array(&n).unwrap();
        assert_eq!(h.value(0), h.value(2));
        assert_ne!(h.value(0), h.value(1));
    }

    #[test]
    fn tuples_hash_as_a_whole_and_null_only_when_all_null() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("c1"),
            Some("c1"),
            None,
            None,
            Some("c2"),
        ]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            Some(1),
            Some(1),
            None,
            Some(1),
        ]));
        let h = hash_rows(&[a, b]).unwrap();
        assert_eq!(h.value(0), h.value(1), "(c1, 1) twice");
        assert_ne!(h.value(0), h.value(4), "(c1, 1) and (c2, 1)");
        assert_ne!(h.value(0), h.value(2), "(c1, 1) and (NULL, 1)");
        assert!(!h.is_null(2), "one NULL in the tuple: still a value");
        assert!(h.is_null(3), "every value NULL: NULL");
    }
}

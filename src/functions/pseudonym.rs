//! `shoal_pseudonymize(id)`: a keyed hash of a user id (BLAKE3 in keyed
//! mode, the key derived from `privacy.hash_key_env`'s value), as 32 hex
//! digits (128 bits). Deterministic for one key, unrelated across keys;
//! NULL stays NULL. Registered only when `privacy.hash_user_ids` is on, by
//! the session that wraps the sources (see `engine::session::register_sources`).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The SQL name of the function.
pub const PSEUDONYMIZE: &str = "shoal_pseudonymize";

/// The keyed user-id hash (see the module documentation). `Debug` never
/// shows the key.
#[derive(PartialEq, Eq, Hash)]
pub struct Pseudonymize {
    key: [u8; 32],
    signature: Signature,
}

impl fmt::Debug for Pseudonymize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymize").finish_non_exhaustive()
    }
}

impl Pseudonymize {
    /// The function for a secret key (any length; a 32-byte key is derived).
    pub fn new(secret: &str) -> Self {
        Self {
            key: blake3::derive_key("shoal 2026-11 user id pseudonymisation", secret.as_bytes()),
            signature: Signature::string(1, Volatility::Immutable),
        }
    }

    /// The pseudonym of one id.
    pub fn hash(&self, id: &str) -> String {
        let h = blake3::keyed_hash(&self.key, id.as_bytes());
        h.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl ScalarUDFImpl for Pseudonymize {
    fn name(&self) -> &str {
        PSEUDONYMIZE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("{PSEUDONYMIZE}(id) takes 1 argument");
        };
        match arg {
            ColumnarValue::Scalar(s) => {
                let text = match s {
                    ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                        v.as_deref().map(|v| self.hash(v))
                    }
                    other if other.is_null() => None,
                    other => return exec_err!("{PSEUDONYMIZE}: expected a string, got {other}"),
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(text)))
            }
            ColumnarValue::Array(a) => {
                let a = cast(a, &DataType::Utf8)?;
                let out: StringArray = a
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(|v| self.hash(v)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_pseudonym_other_key_other_pseudonym() {
        let a = Pseudonymize::new("key-one-0123456789");
        let b = Pseudonymize::new("key-two-0123456789");
        assert_eq!(a.hash("u1"), a.hash("u1"));
        assert_ne!(a.hash("u1"), a.hash("u2"));
        assert_ne!(a.hash("u1"), b.hash("u1"));
        assert_eq!(a.hash("u1").len(), 32);
        assert!(!format!("{a:?}").contains("key"), "Debug hides the key");
    }
}

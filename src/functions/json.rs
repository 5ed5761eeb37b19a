//! JSON helpers for the `properties` column (a JSON object as text):
//! `json_get_str(json, key)` → Utf8, `json_get_float(json, key)` → Float64,
//! `json_get_bool(json, key)` → Boolean.
//!
//! Only top-level keys are looked up; if a key repeats, the last one wins
//! (as `serde_json` does). The document is scanned without building it: only
//! the requested value is materialised. Never an error: NULL when the JSON
//! is NULL or invalid, is not an object, lacks the key, or the value does
//! not convert:
//! * `json_get_str`: strings as they are; numbers and booleans as text
//!   (`42`, `1.5`, `true`); objects and arrays as compact JSON; `null` → NULL.
//! * `json_get_float`: numbers; strings holding a finite number (`" 3.5 "`).
//! * `json_get_bool`: `true`/`false`; the strings `"true"`/`"false"` (any
//!   case); the numbers `1`/`0`.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, LargeStringArray, StringArray,
    StringViewArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Which JSON helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonGetKind {
    /// `json_get_str` → Utf8.
    Str,
    /// `json_get_float` → Float64.
    Float,
    /// `json_get_bool` → Boolean.
    Bool,
}

/// The `json_get_*` scalar functions (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonGet {
    kind: JsonGetKind,
    signature: Signature,
}

impl JsonGet {
    /// The function of the given kind, ready to wrap in a `ScalarUDF`.
    pub fn new(kind: JsonGetKind) -> Self {
        Self {
            kind,
            signature: Signature::string(2, Volatility::Immutable),
        }
    }
}

/// Looks up top-level `key` in the JSON object `json`.
pub(crate) fn lookup(json: &str, key: &str) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(json);
    let found = FindKey { key }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    found
}

/// Deserializes a JSON object, keeping only the value under `key`.
struct FindKey<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for FindKey<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FindKey<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(KeyIs { key: self.key })? {
            if is_key {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a map key into "is it the key we want".
struct KeyIs<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.key)
    }
}

/// Text of a JSON value for `json_get_str`.
fn to_str(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Number of a JSON value for `json_get_float`.
fn to_float(v: Value) -> Option<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// Boolean of a JSON value for `json_get_bool`.
fn to_bool(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Row access to any of the string array types.
enum Strs<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Scalar(Option<&'a str>),
}

impl<'a> Strs<'a> {
    fn new(fname: &str, v: &'a ColumnarValue) -> Result<Self> {
        Ok(match v {
            ColumnarValue::Scalar(s) => match s.try_as_str() {
                Some(s) => Strs::Scalar(s),
                None if s.is_null() => Strs::Scalar(None),
                None => return exec_err!("{fname}: expected string arguments, got {s:?}"),
            },
            ColumnarValue::Array(a) => match a.data_type() {
                DataType::Utf8 => Strs::Utf8(a.as_string::<i32>()),
                DataType::LargeUtf8 => Strs::Large(a.as_string::<i64>()),
                DataType::Utf8View => Strs::View(a.as_string_view()),
                other => return exec_err!("{fname}: expected string arguments, got {other}"),
            },
        })
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strs::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::View(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Scalar(s) => *s,
        }
    }
}

impl JsonGet {
    fn fname(&self) -> &'static str {
        match self.kind {
            JsonGetKind::Str => "json_get_str",
            JsonGetKind::Float => "json_get_float",
            JsonGetKind::Bool => "json_get_bool",
        }
    }
}

impl ScalarUDFImpl for JsonGet {
    fn name(&self) -> &str {
        self.fname()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            JsonGetKind::Str => DataType::Utf8,
            JsonGetKind::Float => DataType::Float64,
            JsonGetKind::Bool => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let fname = self.fname();
        let [json, key] = args.args.as_slice() else {
            return exec_err!("{fname}(json, key) takes 2 arguments");
        };
        let all_scalar = matches!(
            (json, key),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let rows = if all_scalar { 1 } else { args.number_rows };
        let (js, ks) = (Strs::new(fname, json)?, Strs::new(fname, key)?);
        let get = |i: usize| match (js.get(i), ks.get(i)) {
            (Some(j), Some(k)) => lookup(j, k),
            _ => None,
        };
        let out: ArrayRef = match self.kind {
            JsonGetKind::Str => Arc::new(
                (0..rows)
                    .map(|i| get(i).and_then(to_str))
                    .collect::<StringArray>(),
            ),
            JsonGetKind::Float => Arc::new(
                (0..rows)
                    .map(|i| get(i).and_then(to_float))
                    .collect::<Float64Array>(),
            ),
            JsonGetKind::Bool => Arc::new(
                (0..rows)
                    .map(|i| get(i).and_then(to_bool))
                    .collect::<BooleanArray>(),
            ),
        };
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

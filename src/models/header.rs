//! The model header: the YAML block between `/*---` and `---*/` at the top
//! of a model file (materialization, rewrite window, sort order, column
//! docs, data tests). Errors name the file and the header line.

use serde::Deserialize;

use super::ModelError;

/// How a model's result is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Materialization {
    /// `dt` partitions replaced for the run day (and `rewrites_days` before it).
    #[default]
    Daily,
    /// The whole table replaced each run.
    Table,
    /// Not written; available to later models in the same run.
    View,
    /// Computed once per run into a local scratch directory and read by the
    /// later models of that run, then deleted; never published. For a view
    /// that many models read (`stg_events`), so its work is done once.
    Temp,
}

impl Materialization {
    /// `daily`, `table`, `view` or `temp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::Daily => "daily",
            Materialization::Table => "table",
            Materialization::View => "view",
            Materialization::Temp => "temp",
        }
    }

    /// Whether the model's result is published to the output (daily, table).
    pub fn is_published(self) -> bool {
        matches!(self, Materialization::Daily | Materialization::Table)
    }
}

/// How many days before `ds` a daily model also replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(untagged)]
pub enum RewritesDays {
    /// Only the run day.
    #[default]
    #[serde(skip)]
    None,
    /// A fixed number of days.
    Days(u32),
    /// `late_days`: as many days as `run.late_days`.
    Named(LateDays),
}

/// The literal `late_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateDays {
    /// `run.late_days`.
    LateDays,
}

impl RewritesDays {
    /// Days before `ds` replaced too, given `run.late_days`.
    pub fn days(self, late_days: u32) -> u32 {
        match self {
            RewritesDays::None => 0,
            RewritesDays::Days(n) => n,
            RewritesDays::Named(_) => late_days,
        }
    }
}

/// Severity of a data test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A failure blocks the commit (default).
    #[default]
    Error,
    /// A failure is logged and recorded; the commit goes ahead.
    Warn,
}

/// One data test from a model header.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTest {
    /// What is checked.
    pub kind: TestKind,
    /// Whether a failure blocks the commit.
    pub severity: Severity,
}

/// The checks a header can declare.
#[derive(Debug, Clone, PartialEq)]
pub enum TestKind {
    /// The combination of these columns is unique.
    Unique(Vec<String>),
    /// None of these columns is NULL.
    NotNull(Vec<String>),
    /// A non-NULL column value is one of these.
    AcceptedValues {
        /// The column.
        column: String,
        /// Allowed values (compared as text).
        values: Vec<String>,
    },
    /// A boolean SQL expression that holds (or is NULL) on every row.
    Expression(String),
    /// Every non-NULL value of `column` appears in `to.field`.
    Relationships {
        /// The column.
        column: String,
        /// The referenced table (model or source).
        to: String,
        /// The referenced column.
        field: String,
    },
}

impl DataTest {
    /// A short name used in logs and run records, e.g. `not_null(user_id)`.
    pub fn name(&self) -> String {
        match &self.kind {
            TestKind::Unique(c) => format!("unique({})", c.join(", ")),
            TestKind::NotNull(c) => format!("not_null({})", c.join(", ")),
            TestKind::AcceptedValues { column, .. } => format!("accepted_values({column})"),
            TestKind::Expression(e) => format!("expression({e})"),
            TestKind::Relationships { column, to, field } => {
                format!("relationships({column} -> {to}.{field})")
            }
        }
    }
}

/// The YAML header of a model, in a leading `/*--- … ---*/` comment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHeader {
    /// `daily` (default), `table` or `view`.
    #[serde(default)]
    pub materialized: Materialization,
    /// What one row is.
    #[serde(default)]
    pub description: String,
    /// Column docs, in order.
    #[serde(default)]
    pub columns: serde_yaml::Mapping,
    /// Data tests.
    #[serde(default, rename = "tests")]
    pub raw_tests: Vec<serde_yaml::Value>,
    /// Tags for `tag:x` selection.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Days before `ds` a daily model replaces too (a number or `late_days`).
    #[serde(default)]
    pub rewrites_days: RewritesDays,
    /// Columns the output is sorted by (the first is the model's key).
    #[serde(default)]
    pub sort_by: Vec<String>,
    /// Daily upstream models whose `ds − 1` partition this model reads (a
    /// day-over-day comparison). When that partition is not committed — a
    /// first run, a full refresh into a new output, a night that failed —
    /// the run builds it first: the upstream models and their ancestors for
    /// `ds − 1`, as that night's run would have.
    #[serde(default)]
    pub reads_previous_day: Vec<String>,
    /// Parsed from `raw_tests`.
    #[serde(skip)]
    pub tests: Vec<DataTest>,
}

/// Splits a leading `/*--- … ---*/` header off; returns (yaml, first yaml line).
pub(super) fn split_header(text: &str) -> Option<(&str, usize)> {
    let trimmed = text.trim_start();
    let skipped = &text[..text.len() - trimmed.len()];
    let rest = trimmed.strip_prefix("/*---")?;
    let end = rest.find("---*/")?;
    let yaml = &rest[..end];
    let line = skipped.matches('\n').count() + 1;
    Some((yaml, line))
}

/// Parses a model header (YAML) found in `file` at `line`.
pub fn parse_header(file: &str, text: &str) -> Result<ModelHeader, ModelError> {
    let Some((yaml, first_line)) = split_header(text) else {
        return Ok(ModelHeader::default());
    };
    let at = |line: usize, column: usize, message: String| ModelError::At {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let mut header: ModelHeader = if yaml.trim().is_empty() {
        ModelHeader::default()
    } else {
        let de = serde_yaml::Deserializer::from_str(yaml);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (l, c) = inner
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let msg = inner.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            at(first_line + l - 1, c, format!("header: {key}: {msg}"))
        })?
    };
    header.tests = header
        .raw_tests
        .iter()
        .enumerate()
        .map(|(i, v)| {
            parse_test(v).map_err(|m| at(first_line, 1, format!("header: tests[{i}]: {m}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(header)
}

pub(super) fn string_list(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| scalar_text(i).ok_or_else(|| "expected a list of column names".to_string()))
            .collect(),
        _ => Err("expected a column name or a list of them".into()),
    }
}

pub(super) fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses one test: a mapping with one test key and an optional `severity`.
pub fn parse_test(v: &serde_yaml::Value) -> Result<DataTest, String> {
    let map = v
        .as_mapping()
        .ok_or("expected a mapping such as { not_null: [user_id] }")?;
    let mut severity = Severity::Error;
    let mut kind = None;
    for (k, val) in map {
        let key = k.as_str().ok_or("test keys are strings")?;
        let get = |name: &str| -> Result<String, String> {
            val.get(name)
                .and_then(scalar_text)
                .ok_or_else(|| format!("{key} needs `{name}`"))
        };
        let parsed = match key {
            "severity" => {
                severity = match val.as_str() {
                    Some("error") => Severity::Error,
                    Some("warn") => Severity::Warn,
                    _ => return Err("severity is `error` or `warn`".into()),
                };
                continue;
            }
            "unique" => TestKind::Unique(string_list(val)?),
            "not_null" => TestKind::NotNull(string_list(val)?),
            "accepted_values" => TestKind::AcceptedValues {
                column: get("column")?,
                values: string_list(val.get("values").ok_or("accepted_values needs `values`")?)?,
            },
            "expression" => TestKind::Expression(
                val.as_str()
                    .ok_or("expression is a SQL boolean expression string")?
                    .to_string(),
            ),
            "relationships" => TestKind::Relationships {
                column: get("column")?,
                to: get("to")?,
                field: get("field")?,
            },
            other => {
                return Err(format!(
                    "unknown test {other:?}; use unique, not_null, accepted_values, expression or relationships"
                ));
            }
        };
        if kind.replace(parsed).is_some() {
            return Err("one test per list item".into());
        }
    }
    let kind = kind.ok_or("no test in this item")?;
    Ok(DataTest { kind, severity })
}

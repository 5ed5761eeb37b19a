//! Data tests: the checks a model's header declares (`not_null`, `unique`,
//! `accepted_values`, `relationships`, `expression`), run as SQL against a
//! table — the staged result before it is committed (write–audit–publish),
//! or the committed output for `shoal test`.
//!
//! Takes a session and the model's [`DataTest`]s; hands on one
//! [`TestOutcome`] per test. The spec of a test stays with the model
//! ([`crate::models`]); running it is this module's.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::models::{DataTest, Severity, TestKind};

/// Result of one data test on a staged result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The test's name, e.g. `not_null(user_id)`.
    pub name: String,
    /// `error` or `warn`.
    pub severity: Severity,
    /// Offending rows (or duplicate keys).
    pub failures: u64,
}

impl TestOutcome {
    /// Whether this outcome blocks the commit.
    pub fn blocks(&self) -> bool {
        self.failures > 0 && self.severity == Severity::Error
    }
}

fn quote_ident(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs `tests` against `table`: every row-level check fused into one scan,
/// `relationships` as one anti-join each.
pub async fn run_tests(
    ctx: &SessionContext,
    table: &str,
    tests: &[DataTest],
) -> Result<Vec<TestOutcome>, datafusion::error::DataFusionError> {
    let mut exprs = Vec::new();
    let mut outcomes = Vec::new();
    let mut fused_index = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let e = match &t.kind {
            TestKind::NotNull(cols) => Some(format!(
                "sum(case when {} then 1 else 0 end)",
                cols.iter()
                    .map(|c| format!("{} is null", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
            // Distinct 64-bit hashes first (a primitive set, several times
            // cheaper than a set of strings): equal keys have equal hashes, so
            // when this finds no repeat the key is unique; when it does, the
            // exact count below decides.
            TestKind::Unique(cols) if cols.len() == 1 => {
                let c = quote_ident(&cols[0]);
                Some(format!("count({c}) - count(distinct hash64({c}))"))
            }
            TestKind::Unique(cols) => Some(format!(
                "count(*) - count(distinct hash64({}))",
                cols.iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            TestKind::AcceptedValues { column, values } => Some(format!(
                "sum(case when {c} is not null and cast({c} as varchar) not in ({v}) then 1 else 0 end)",
                c = quote_ident(column),
                v = values
                    .iter()
                    .map(|v| quote_str(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            TestKind::Expression(e) => Some(format!("sum(case when not ({e}) then 1 else 0 end)")),
            TestKind::Relationships { .. } => None,
        };
        if let Some(e) = e {
            exprs.push(format!("coalesce(cast({e} as bigint), 0) as t{i}"));
            fused_index.push(i);
        }
        outcomes.push(TestOutcome {
            name: t.name(),
            severity: t.severity,
            failures: 0,
        });
    }
    if !exprs.is_empty() {
        let sql = format!("select {} from {}", exprs.join(", "), quote_ident(table));
        let batches = ctx.sql(&sql).await?.collect().await?;
        if let Some(b) = batches.first() {
            for (col, &i) in fused_index.iter().enumerate() {
                let v = b
                    .column(col)
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                outcomes[i].failures = if v.is_null(0) {
                    0
                } else {
                    v.value(0).max(0) as u64
                };
            }
        }
    }
    for (i, t) in tests.iter().enumerate() {
        if let TestKind::Unique(cols) = &t.kind
            && outcomes[i].failures > 0
        {
            // A repeated hash: the exact count of repeated keys.
            let sql = if let [c] = cols.as_slice() {
                let c = quote_ident(c);
                format!(
                    "select count({c}) - count(distinct {c}) from {}",
                    quote_ident(table)
                )
            } else {
                let key = cols
                    .iter()
                    .map(|c| format!("coalesce(cast({} as varchar), '\u{1}')", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "select count(*) - count(distinct concat_ws('\u{1f}', {key})) from {}",
                    quote_ident(table)
                )
            };
            outcomes[i].failures = count_of(ctx, &sql).await?;
        }
        if let TestKind::Relationships { column, to, field } = &t.kind {
            let sql = format!(
                "select count(*) as n from {t} s where s.{c} is not null and not exists \
                 (select 1 from {to} r where r.{f} = s.{c})",
                t = quote_ident(table),
                c = quote_ident(column),
                to = quote_ident(to),
                f = quote_ident(field)
            );
            outcomes[i].failures = count_of(ctx, &sql).await?;
        }
    }
    Ok(outcomes)
}

/// The single count a test query returns (0 when it returns no row).
async fn count_of(
    ctx: &SessionContext,
    sql: &str,
) -> Result<u64, datafusion::error::DataFusionError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let n = batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}

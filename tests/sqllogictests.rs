//! Runs the sqllogictest files in `tests/slt/` — SQL-shaped tests of shoal's
//! SQL functions (`window_funnel`, `sequence_match`, `sequence_count`,
//! `retention`, the JSON helpers, `hash64`) — each in a fresh session built
//! exactly as production builds one:
//! `shoal::engine::session::sql_session(&RunConfig::default())`.
//!
//! Cells are printed as Arrow displays them (`NULL` for nulls, `(empty)` for
//! empty strings, lists as `[1, 0, 1]`, floats as `42.0`); the column types
//! on a `query` line must match: `I` integers, `R` floats and decimals, `B`
//! booleans, `T` anything else. Run every file, or only those whose name
//! contains a word:
//!
//! ```text
//! cargo test --release --test sqllogictests
//! cargo test --release --test sqllogictests -- window_funnel
//! ```

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{ColumnType, DBOutput, Runner, strict_column_validator};

/// How cells are printed: Arrow's display, nulls as `NULL`.
const FORMAT: FormatOptions<'static> = FormatOptions::new().with_null("NULL");

/// A column type letter of a `query` line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Col {
    Int,
    Float,
    Bool,
    Text,
}

impl ColumnType for Col {
    fn from_char(c: char) -> Option<Self> {
        match c {
            'I' => Some(Col::Int),
            'R' => Some(Col::Float),
            'B' => Some(Col::Bool),
            'T' => Some(Col::Text),
            _ => None,
        }
    }

    fn to_char(&self) -> char {
        match self {
            Col::Int => 'I',
            Col::Float => 'R',
            Col::Bool => 'B',
            Col::Text => 'T',
        }
    }
}

fn col_type(dt: &DataType) -> Col {
    match dt {
        dt if dt.is_integer() => Col::Int,
        dt if dt.is_floating() || dt.is_decimal() => Col::Float,
        DataType::Boolean => Col::Bool,
        _ => Col::Text,
    }
}

/// One sqllogictest connection: a shoal session.
struct Shoal {
    ctx: SessionContext,
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Shoal {
    type Error = DataFusionError;
    type ColumnType = Col;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Col>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let types: Vec<Col> = df
            .schema()
            .fields()
            .iter()
            .map(|f| col_type(f.data_type()))
            .collect();
        let batches = df.collect().await?;
        if types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        for batch in &batches {
            let columns = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FORMAT))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                rows.push(
                    columns
                        .iter()
                        .map(|f| match f.value(row).to_string() {
                            s if s.is_empty() => "(empty)".to_string(),
                            s => s,
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "shoal"
    }
}

/// Runs one file in a fresh session; the failure as text.
async fn run_file(path: &Path) -> Result<(), String> {
    let ctx = shoal::engine::session::sql_session(&shoal::config::RunConfig::default())
        .map_err(|e| format!("session: {e}"))?;
    let mut runner = Runner::new(move || {
        let ctx = ctx.clone();
        async move { Ok::<_, DataFusionError>(Shoal { ctx }) }
    });
    runner.with_column_validator(strict_column_validator);
    runner
        .run_file_async(path)
        .await
        .map_err(|e| e.display(false).to_string())
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    // `cargo test` may pass flags such as `--nocapture`: only words filter.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        // A run that checks nothing must not look like a pass.
        println!("no .slt file in {} matches {filters:?}", dir.display());
        std::process::exit(1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match rt.block_on(run_file(path)) {
            Ok(()) => {
                passed += 1;
                println!("{name}: ok");
            }
            Err(e) => {
                failed += 1;
                println!("{name}: FAILED\n{e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

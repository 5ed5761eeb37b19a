//! SQL parsing: a model is exactly one query; the tables it reads (CTE
//! names excluded) become its dependencies, each with the position of its
//! first mention for error messages.

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::{Spanned, visit_relations};

use super::ModelError;

/// `(line, column)` of "Line: L, Column: C" in a parser message.
pub(super) fn parser_position(msg: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(r"Line: (\d+), Column: (\d+)").ok()?;
    let caps = re.captures(msg)?;
    Some((caps[1].parse().ok()?, caps[2].parse().ok()?))
}

/// Parses rendered SQL: exactly one query; returns the tables it reads
/// (CTE names excluded) with the position of their first mention.
pub fn table_references(file: &str, sql: &str) -> Result<Vec<(String, usize, usize)>, ModelError> {
    let at = |line: usize, column: usize, message: String| ModelError::At {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let mut statements = DFParser::parse_sql(sql).map_err(|e| {
        let msg = e.to_string();
        let (l, c) = parser_position(&msg).unwrap_or((1, 1));
        let clean = msg
            .trim_start_matches("SQL error: ")
            .trim_start_matches("ParserError(\"")
            .split(" at Line:")
            .next()
            .unwrap_or(&msg)
            .to_string();
        at(l, c, format!("SQL syntax error: {clean}"))
    })?;
    if statements.len() != 1 {
        return Err(at(
            1,
            1,
            format!(
                "a model is exactly one SELECT statement; found {}",
                statements.len()
            ),
        ));
    }
    let stmt = statements.pop_front().expect("one statement");
    let DfStatement::Statement(inner) = &stmt else {
        return Err(at(1, 1, "a model is a SELECT statement".into()));
    };
    if !matches!(
        inner.as_ref(),
        datafusion::sql::sqlparser::ast::Statement::Query(_)
    ) {
        return Err(at(
            1,
            1,
            "a model is a single SELECT (CTEs allowed), not DDL or DML".into(),
        ));
    }
    let (tables, _ctes) = resolve_table_references(&stmt, true)
        .map_err(|e| at(1, 1, format!("cannot resolve tables: {e}")))?;
    let mut positions: HashMap<String, (usize, usize)> = HashMap::new();
    let _ = visit_relations(inner.as_ref(), |name| {
        let last = name.0.last().map(|p| p.to_string()).unwrap_or_default();
        let key = last.trim_matches('"').to_lowercase();
        let span = name.span();
        positions
            .entry(key)
            .or_insert((span.start.line as usize, span.start.column as usize));
        ControlFlow::<()>::Continue(())
    });
    let mut out: Vec<(String, usize, usize)> = tables
        .iter()
        .map(|t| {
            let n = t.table().to_string();
            let (l, c) = positions.get(&n.to_lowercase()).copied().unwrap_or((1, 1));
            (n, l, c)
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

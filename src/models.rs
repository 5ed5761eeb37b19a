//! Models: discover `sql/**/*.sql`, parse each header, render the template,
//! infer dependencies, order the DAG and apply selections.
//!
//! Takes the project's `sql/` folder and a [`TemplateContext`]; hands on a
//! [`Dag`] of [`Model`]s in dependency order, each with its rendered SQL and
//! the models and sources it reads. Every error names `file:line:col`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use datafusion::common::utils::datafusion_strsim::levenshtein;
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::{Spanned, visit_relations};
use serde::Deserialize;

/// The tables every project has besides its models.
pub const SOURCES: [&str; 3] = ["events", "users", "deletions"];

/// What is wrong with a model or the DAG. All of these exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The models folder or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File or folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Something is wrong at a place in a model file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// File, relative to the project.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// Two files define the same model name.
    #[error(
        "{second}: model {name:?} is already defined by {first}; model names (file stems) must be unique"
    )]
    Duplicate {
        /// The name.
        name: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A selector is malformed or names no model.
    #[error("selector {selector:?}: {message}")]
    Selector {
        /// The selector as given.
        selector: String,
        /// What is wrong.
        message: String,
    },
    /// `run.ds` / `--ds` is not a day.
    #[error("{0}")]
    Ds(String),
}

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
    /// Parsed from `raw_tests`.
    #[serde(skip)]
    pub tests: Vec<DataTest>,
}

impl ModelHeader {
    /// Column docs as (name, text) pairs, in header order.
    pub fn column_docs(&self) -> Vec<(String, String)> {
        self.columns
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_string(),
                    v.as_str().unwrap_or("").to_string(),
                ))
            })
            .collect()
    }
}

/// A model file.
#[derive(Debug, Clone)]
pub struct Model {
    /// Output table name (the file stem).
    pub name: String,
    /// The file, relative to the project directory (for messages).
    pub file: String,
    /// The file's text (header included, so rendered line numbers match).
    pub text: String,
    /// The parsed header.
    pub header: ModelHeader,
    /// Rendered SQL for the current context.
    pub sql: String,
    /// Models this one reads.
    pub deps: Vec<String>,
    /// Sources this one reads.
    pub sources: Vec<String>,
}

/// The run day as configured: a date, `yesterday` or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsSpec {
    /// A fixed day.
    Day(NaiveDate),
    /// UTC yesterday.
    Yesterday,
    /// The newest `dt` partition of the events.
    Latest,
}

impl DsSpec {
    /// Parses `YYYY-MM-DD`, `yesterday`, `today` or `latest`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "yesterday" => Ok(DsSpec::Yesterday),
            "latest" => Ok(DsSpec::Latest),
            "today" => Ok(DsSpec::Day(Utc::now().date_naive())),
            d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(DsSpec::Day)
                .map_err(|_| format!("{s:?} is not a day: use YYYY-MM-DD, yesterday or latest")),
        }
    }
}

/// Values the templates see.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TemplateContext {
    /// Run day, `YYYY-MM-DD`.
    pub ds: String,
    /// Run day, `YYYYMMDD`.
    pub ds_nodash: String,
    /// `vars:` from config.
    pub var: serde_yaml::Mapping,
    /// `run.*` values and flags.
    pub run: RunContext,
    /// `funnels:` from config.
    pub funnels: Vec<crate::config::FunnelConfig>,
    /// `segments:` from config.
    pub segments: serde_yaml::Mapping,
}

/// `{{ run.* }}` in templates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunContext {
    /// `run.late_days`.
    pub late_days: u32,
    /// `run.lookback_days`.
    pub lookback_days: u32,
    /// Whether this is a `--full-refresh` run.
    pub full_refresh: bool,
    /// First events partition the run reads (`ds - late_days`, or the first present on full refresh).
    pub scan_from: String,
}

impl TemplateContext {
    /// A context for day `ds` from the configuration.
    pub fn new(
        config: &crate::config::Config,
        ds: NaiveDate,
        full_refresh: bool,
        first_partition: Option<NaiveDate>,
    ) -> Self {
        let late_from = ds - Duration::days(i64::from(config.run.late_days));
        let scan_from = if full_refresh {
            first_partition.unwrap_or(late_from).min(late_from)
        } else {
            late_from
        };
        Self {
            ds: ds.format("%Y-%m-%d").to_string(),
            ds_nodash: ds.format("%Y%m%d").to_string(),
            var: config.vars.clone(),
            run: RunContext {
                late_days: config.run.late_days,
                lookback_days: config.run.lookback_days,
                full_refresh,
                scan_from: scan_from.format("%Y-%m-%d").to_string(),
            },
            funnels: config.funnels.clone(),
            segments: config.segments.clone(),
        }
    }
}

fn parse_day(func: &str, day: &str) -> Result<NaiveDate, minijinja::Error> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| template_err(format!("{func}: {day:?} is not a YYYY-MM-DD day")))
}

/// An error of a template helper, with its message.
fn template_err(message: String) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message)
}

fn fmt_day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `{{ days_before(ds, n) }}`: the day `n` days before `day`, as `YYYY-MM-DD`.
fn days_before(day: String, n: i64) -> Result<String, minijinja::Error> {
    let d = parse_day("days_before", &day)?;
    // checked: a template can ask for any n (found by the fuzz test)
    Duration::try_days(n)
        .and_then(|delta| d.checked_sub_signed(delta))
        .map(fmt_day)
        .ok_or_else(|| {
            template_err(format!(
                "days_before: {n} days before {day} is not a representable day"
            ))
        })
}

/// `{{ days_after(ds, n) }}`: the day `n` days after `day`.
fn days_after(day: String, n: i64) -> Result<String, minijinja::Error> {
    let back = n
        .checked_neg()
        .ok_or_else(|| template_err(format!("days_after: {n} days is out of range")))?;
    days_before(day, back)
}

/// `{{ week_start(ds) }}`: the Monday of the ISO week of `day`.
fn week_start(day: String) -> Result<String, minijinja::Error> {
    let d = parse_day("week_start", &day)?;
    d.checked_sub_signed(Duration::days(i64::from(
        d.weekday().num_days_from_monday(),
    )))
    .map(fmt_day)
    .ok_or_else(|| {
        template_err(format!(
            "week_start: the week of {day} starts before the first representable day"
        ))
    })
}

/// `{{ quarter_start(ds, n) }}`: the first day of the calendar quarter of
/// `day`, or of the quarter `n` quarters earlier.
fn quarter_start(day: String, n: Option<i64>) -> Result<String, minijinja::Error> {
    let d = parse_day("quarter_start", &day)?;
    let q = i64::from(d.year()) * 4 + i64::from(d.month0() / 3) - n.unwrap_or(0);
    let (y, m) = (q.div_euclid(4), q.rem_euclid(4) * 3 + 1);
    i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, m as u32, 1))
        .map(fmt_day)
        .ok_or_else(|| template_err(format!("quarter_start: no quarter {n:?} before {day}")))
}

/// `{{ days_between(a, b) }}`: b - a in days.
fn days_between(a: String, b: String) -> Result<i64, minijinja::Error> {
    Ok((parse_day("days_between", &b)? - parse_day("days_between", &a)?).num_days())
}

fn template_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_function("days_before", days_before);
    env.add_function("days_after", days_after);
    env.add_function("week_start", week_start);
    env.add_function("quarter_start", quarter_start);
    env.add_function("days_between", days_between);
    env
}

/// Renders a template text as the file `file` with `ctx`.
pub fn render(file: &str, text: &str, ctx: &TemplateContext) -> Result<String, ModelError> {
    let env = template_env();
    env.render_named_str(file, text, ctx).map_err(|e| {
        let line = e.line().unwrap_or(1);
        let mut message = format!("template error: {}", e.kind());
        if let Some(detail) = e.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        ModelError::At {
            file: file.to_string(),
            line,
            column: 1,
            message,
        }
    })
}

/// Splits a leading `/*--- … ---*/` header off; returns (yaml, first yaml line).
fn split_header(text: &str) -> Option<(&str, usize)> {
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

fn string_list(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| scalar_text(i).ok_or_else(|| "expected a list of column names".to_string()))
            .collect(),
        _ => Err("expected a column name or a list of them".into()),
    }
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
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

/// Whether `name` is a plain model name (`[A-Za-z_][A-Za-z0-9_]*`): no
/// separators, dots, schemes or escapes, so an output path built from it
/// stays under the output location.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads every `*.sql` file under `dir` (sorted), parsing headers.
pub fn discover_models(project_dir: &Path, dir: &Path) -> Result<Vec<Model>, ModelError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| ModelError::Io {
            path: dir.display().to_string(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "sql") {
            files.push(entry.path().to_path_buf());
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut models = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(project_dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if !valid_name(&name) {
            return Err(ModelError::At {
                file,
                line: 1,
                column: 1,
                message: format!(
                    "model name {name:?} (the file stem) must start with a letter or _ and contain only letters, digits and _"
                ),
            });
        }
        if SOURCES.contains(&name.as_str()) {
            return Err(ModelError::At {
                file,
                line: 1,
                column: 1,
                message: format!("model name {name:?} is the name of a source; rename the file"),
            });
        }
        if let Some(first) = seen.get(&name) {
            return Err(ModelError::Duplicate {
                name,
                first: first.clone(),
                second: file,
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: file.clone(),
            source,
        })?;
        let header = parse_header(&file, &text)?;
        seen.insert(name.clone(), file.clone());
        models.push(Model {
            name,
            file,
            text,
            header,
            sql: String::new(),
            deps: vec![],
            sources: vec![],
        });
    }
    Ok(models)
}

/// The closest of `candidates` to `name`, if close enough to suggest.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

/// `(line, column)` of "Line: L, Column: C" in a parser message.
fn parser_position(msg: &str) -> Option<(usize, usize)> {
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

/// Models in dependency order.
#[derive(Debug, Clone)]
pub struct Dag {
    /// Topologically sorted (ties by name).
    pub models: Vec<Model>,
}

impl Dag {
    /// Renders every model with `ctx`, infers edges, checks names and cycles.
    pub fn build(mut models: Vec<Model>, ctx: &TemplateContext) -> Result<Dag, ModelError> {
        let names: BTreeSet<String> = models.iter().map(|m| m.name.clone()).collect();
        let mut positions: HashMap<(String, String), (usize, usize)> = HashMap::new();
        for m in &mut models {
            m.sql = render(&m.file, &m.text, ctx)?;
            // The header is templated too (e.g. a test threshold from a var).
            m.header = parse_header(&m.file, &m.sql)?;
            let refs = table_references(&m.file, &m.sql)?;
            m.deps.clear();
            m.sources.clear();
            for (t, line, column) in refs {
                positions.insert((m.name.clone(), t.clone()), (line, column));
                if names.contains(&t) {
                    if t == m.name {
                        return Err(ModelError::At {
                            file: m.file.clone(),
                            line,
                            column,
                            message: format!("model {t:?} reads itself"),
                        });
                    }
                    m.deps.push(t);
                } else if SOURCES.contains(&t.as_str()) {
                    m.sources.push(t);
                } else {
                    let all = names.iter().map(String::as_str).chain(SOURCES);
                    let hint = suggest(&t, all)
                        .map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default();
                    return Err(ModelError::At {
                        file: m.file.clone(),
                        line,
                        column,
                        message: format!(
                            "unknown table {t:?}{hint}; tables are models in sql/ and the sources events, users, deletions"
                        ),
                    });
                }
            }
        }
        // Kahn's algorithm, smallest name first for a stable order.
        let by_name: BTreeMap<String, Model> =
            models.into_iter().map(|m| (m.name.clone(), m)).collect();
        let mut indegree: BTreeMap<&str, usize> = by_name
            .values()
            .map(|m| (m.name.as_str(), m.deps.len()))
            .collect();
        let mut ready: BTreeSet<&str> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        let mut order: Vec<String> = Vec::new();
        while let Some(n) = ready.pop_first() {
            order.push(n.to_string());
            for m in by_name.values() {
                if m.deps.iter().any(|d| d == n) {
                    let d = indegree.get_mut(m.name.as_str()).expect("known model");
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(m.name.as_str());
                    }
                }
            }
        }
        if order.len() < by_name.len() {
            let done: BTreeSet<&str> = order.iter().map(String::as_str).collect();
            let cycle = find_cycle(&by_name, &done);
            let first = &by_name[&cycle[0]];
            let (line, column) = positions
                .get(&(cycle[0].clone(), cycle[1].clone()))
                .copied()
                .unwrap_or((1, 1));
            return Err(ModelError::At {
                file: first.file.clone(),
                line,
                column,
                message: format!("dependency cycle: {}", cycle.join(" -> ")),
            });
        }
        let mut by_name = by_name;
        let models = order
            .into_iter()
            .map(|n| by_name.remove(&n).expect("ordered model exists"))
            .collect();
        Ok(Dag { models })
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Names of models that `name` depends on, transitively.
    pub fn upstream(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(n) = stack.pop() {
            if let Some(m) = self.get(&n) {
                for d in &m.deps {
                    if out.insert(d.clone()) {
                        stack.push(d.clone());
                    }
                }
            }
        }
        out
    }

    /// Names of models that depend on `name`, transitively.
    pub fn downstream(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(n) = stack.pop() {
            for m in &self.models {
                if m.deps.contains(&n) && out.insert(m.name.clone()) {
                    stack.push(m.name.clone());
                }
            }
        }
        out
    }

    /// The models chosen by `select` (all when empty) minus `exclude`.
    pub fn select(
        &self,
        select: &[String],
        exclude: &[String],
    ) -> Result<BTreeSet<String>, ModelError> {
        let mut chosen: BTreeSet<String> = if select.is_empty() {
            self.models.iter().map(|m| m.name.clone()).collect()
        } else {
            let mut s = BTreeSet::new();
            for sel in select.iter().flat_map(|s| split_selectors(s)) {
                s.extend(self.resolve_selector(&sel)?);
            }
            s
        };
        for sel in exclude.iter().flat_map(|s| split_selectors(s)) {
            for n in self.resolve_selector(&sel)? {
                chosen.remove(&n);
            }
        }
        Ok(chosen)
    }

    fn resolve_selector(&self, sel: &str) -> Result<BTreeSet<String>, ModelError> {
        let err = |message: String| ModelError::Selector {
            selector: sel.to_string(),
            message,
        };
        if let Some(tag) = sel.strip_prefix("tag:") {
            if tag.is_empty() {
                return Err(err("empty tag".into()));
            }
            let s: BTreeSet<String> = self
                .models
                .iter()
                .filter(|m| m.header.tags.iter().any(|t| t == tag))
                .map(|m| m.name.clone())
                .collect();
            if s.is_empty() {
                return Err(err(format!("no model has tag {tag:?}")));
            }
            return Ok(s);
        }
        let up = sel.starts_with('+');
        let down = sel.ends_with('+');
        let name = sel.trim_start_matches('+').trim_end_matches('+');
        if !valid_name(name) {
            return Err(err("expected NAME, NAME+, +NAME, +NAME+ or tag:TAG".into()));
        }
        if self.get(name).is_none() {
            let hint = suggest(name, self.models.iter().map(|m| m.name.as_str()))
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            return Err(err(format!("no model named {name:?}{hint}")));
        }
        let mut s = BTreeSet::from([name.to_string()]);
        if up {
            s.extend(self.upstream(name));
        }
        if down {
            s.extend(self.downstream(name));
        }
        Ok(s)
    }
}

fn split_selectors(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn find_cycle(by_name: &BTreeMap<String, Model>, done: &BTreeSet<&str>) -> Vec<String> {
    // Walk deps among the unfinished models until a name repeats.
    let start = by_name
        .keys()
        .find(|n| !done.contains(n.as_str()))
        .expect("a model in the cycle");
    let mut path = vec![start.clone()];
    loop {
        let cur = &by_name[path.last().expect("non-empty")];
        let next = cur
            .deps
            .iter()
            .find(|d| !done.contains(d.as_str()))
            .expect("an unfinished model has an unfinished dependency")
            .clone();
        if let Some(i) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<String> = path[i..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TemplateContext {
        let config: crate::config::Config = serde_yaml::from_str(
            "project: p\nsources:\n  events: { location: e, partitioning: hive_dt }\nvars:\n  min_views: 3\n",
        )
        .unwrap();
        TemplateContext::new(
            &config,
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            false,
            None,
        )
    }

    fn model(name: &str, text: &str) -> Model {
        Model {
            name: name.into(),
            file: format!("sql/{name}.sql"),
            text: text.into(),
            header: parse_header(&format!("sql/{name}.sql"), text).unwrap(),
            sql: String::new(),
            deps: vec![],
            sources: vec![],
        }
    }

    fn names(dag: &Dag) -> Vec<&str> {
        dag.models.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn calendar_helpers_find_iso_weeks_and_quarters() {
        // 2026-10-30 is a Friday: its ISO week starts Monday 2026-10-26.
        assert_eq!(week_start("2026-10-30".into()).unwrap(), "2026-10-26");
        assert_eq!(week_start("2026-10-26".into()).unwrap(), "2026-10-26");
        // a Sunday belongs to the week that started six days earlier
        assert_eq!(week_start("2026-11-01".into()).unwrap(), "2026-10-26");
        assert_eq!(
            quarter_start("2026-10-30".into(), None).unwrap(),
            "2026-10-01"
        );
        assert_eq!(
            quarter_start("2026-09-30".into(), None).unwrap(),
            "2026-07-01"
        );
        // one quarter back from Q1 wraps into the previous year
        assert_eq!(
            quarter_start("2026-02-10".into(), Some(1)).unwrap(),
            "2025-10-01"
        );
        assert_eq!(
            days_between("2026-10-01".into(), "2026-10-30".into()).unwrap(),
            29
        );
        assert!(week_start("30/10/2026".into()).is_err());
    }

    #[test]
    fn calendar_helpers_reject_days_out_of_range() {
        // once panics (chrono overflow), found by fuzz::templating_never_panics
        assert!(days_before("2026-11-21".into(), i64::MAX).is_err());
        assert!(days_before("2026-11-21".into(), 400_000_000).is_err());
        assert!(days_after("2026-11-21".into(), i64::MIN).is_err());
        assert!(days_after("2026-11-21".into(), 400_000_000).is_err());
        assert_eq!(days_after("2026-11-21".into(), 10).unwrap(), "2026-12-01");
    }

    #[test]
    fn templating_renders_ds_vars_and_days_before() {
        let out = render(
            "m.sql",
            "{{ ds }} {{ ds_nodash }} {{ var.min_views }} {{ days_before(ds, 3) }} {{ run.late_days }} {{ run.scan_from }}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, "2026-11-21 20261121 3 2026-11-18 3 2026-11-18");
    }

    #[test]
    fn templating_rejects_unknown_vars_with_line() {
        let err = render(
            "sql/m.sql",
            "select 1\nfrom t where x = {{ var.nope }}",
            &ctx(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("sql/m.sql:2:"), "{msg}");
    }

    #[test]
    fn ctes_subqueries_quoted_names_and_joins() {
        let sql = "with a as (select * from events), b as (select * from a join \"user_daily\" u on true)\n\
                   select * from b, (select * from users) s left join stg_events x on true";
        let refs: Vec<String> = table_references("m.sql", sql)
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(refs, ["events", "stg_events", "user_daily", "users"]);
    }

    #[test]
    fn cte_shadowing_a_model_is_not_a_dependency() {
        let refs = table_references(
            "m.sql",
            "with user_daily as (select 1 as x) select * from user_daily",
        )
        .unwrap();
        assert!(refs.is_empty(), "{refs:?}");
    }

    #[test]
    fn dag_orders_and_infers_edges() {
        let dag = Dag::build(
            vec![
                model("c", "select * from b join a using (x)"),
                model("b", "select * from a"),
                model("a", "select * from events"),
            ],
            &ctx(),
        )
        .unwrap();
        assert_eq!(names(&dag), ["a", "b", "c"]);
        assert_eq!(dag.get("c").unwrap().deps, ["a", "b"]);
        assert_eq!(dag.get("a").unwrap().sources, ["events"]);
    }

    #[test]
    fn unknown_table_suggests_closest_name_with_position() {
        let err = Dag::build(
            vec![
                model("user_daily", "select 1"),
                model("m", "select *\n  from user_dayly"),
            ],
            &ctx(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("sql/m.sql:2:8:"), "{err}");
        assert!(err.contains("did you mean \"user_daily\""), "{err}");
    }

    #[test]
    fn cycles_are_reported() {
        let err = Dag::build(
            vec![model("a", "select * from b"), model("b", "select * from a")],
            &ctx(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("dependency cycle: a -> b -> a"), "{err}");
        assert!(err.starts_with("sql/a.sql:1:15:"), "{err}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = table_references("sql/m.sql", "select a\nfrom events wher x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("sql/m.sql:2:18:"), "{err}");
        assert!(table_references("m.sql", "drop table x").is_err());
        assert!(table_references("m.sql", "select 1; select 2").is_err());
    }

    #[test]
    fn selectors() {
        let dag = Dag::build(
            vec![
                model("a", "/*---\ntags: [core]\n---*/\nselect * from events"),
                model("b", "select * from a"),
                model("c", "select * from b"),
                model("d", "select * from events"),
            ],
            &ctx(),
        )
        .unwrap();
        let sel = |s: &[&str], e: &[&str]| -> Vec<String> {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let e: Vec<String> = e.iter().map(|x| x.to_string()).collect();
            dag.select(&s, &e).unwrap().into_iter().collect()
        };
        assert_eq!(sel(&["b"], &[]), ["b"]);
        assert_eq!(sel(&["b+"], &[]), ["b", "c"]);
        assert_eq!(sel(&["+b"], &[]), ["a", "b"]);
        assert_eq!(sel(&["+b+"], &[]), ["a", "b", "c"]);
        assert_eq!(sel(&["tag:core"], &[]), ["a"]);
        assert_eq!(sel(&[], &["a+"]), ["d"]);
        assert_eq!(sel(&["a+,d"], &["c"]), ["a", "b", "d"]);
        let err = dag.select(&["bb".into()], &[]).unwrap_err().to_string();
        assert!(err.contains("did you mean \"b\""), "{err}");
        assert!(dag.select(&["../x".into()], &[]).is_err());
        assert!(dag.select(&["tag:none".into()], &[]).is_err());
    }

    /// Fuzz targets (proptest, in the normal test run): the header parser,
    /// the selector parser and the templating layer take arbitrary text and
    /// return a value or a typed error — never a panic. Case counts are modest
    /// so `cargo test --release --lib` stays fast.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Header-ish text: YAML fragments, keys, brackets, quotes, tabs, unicode.
        fn header_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("materialized: ".to_string()),
                Just("daily".to_string()),
                Just("table".to_string()),
                Just("tests: [".to_string()),
                Just("{ unique: [a, b] }".to_string()),
                Just("{ not_null: ".to_string()),
                Just("{ accepted_values: { column: x, values: [1, 2] } }".to_string()),
                Just("severity: warn".to_string()),
                Just("rewrites_days: ".to_string()),
                Just("columns: { a: \"b\" }".to_string()),
                Just("tags: [x]".to_string()),
                Just("\n".to_string()),
                Just("  ".to_string()),
                Just("\t".to_string()),
                Just("- ".to_string()),
                Just("]".to_string()),
                Just("}".to_string()),
                Just("---*/".to_string()),
                Just("&a *a !!binary |".to_string()),
                "[a-z_0-9:{}\\[\\], '\"#-]{0,12}".prop_map(|s| s),
                any::<String>(),
            ];
            proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            #[test]
            fn header_parser_never_panics(body in header_text(), sql in any::<String>()) {
                let text = format!("/*---\n{body}\n---*/\n{sql}");
                match parse_header("sql/f.sql", &text) {
                    Ok(_) => {}
                    Err(ModelError::At { file, line, .. }) => {
                        prop_assert_eq!(file, "sql/f.sql");
                        prop_assert!(line >= 1);
                    }
                    Err(other) => prop_assert!(false, "untyped header error: {other}"),
                }
                // and without a header at all
                let _ = parse_header("sql/f.sql", &sql);
            }

            #[test]
            fn selectors_never_panic_and_never_name_paths(sel in prop_oneof![
                any::<String>(),
                "[+]{0,2}(\\.\\./|/|s3://|%2e%2e|tag:)?[a-d./%]{0,8}[+]{0,2}",
            ]) {
                let dag = Dag::build(
                    vec![
                        model("a", "/*---\ntags: [core]\n---*/\nselect * from events"),
                        model("b", "select * from a"),
                    ],
                    &ctx(),
                )
                .unwrap();
                match dag.select(std::slice::from_ref(&sel), &[]) {
                    Ok(names) => {
                        // whatever matched is a model of the DAG: a valid name
                        for n in names {
                            prop_assert!(valid_name(&n), "{n}");
                            prop_assert!(dag.get(&n).is_some());
                        }
                    }
                    Err(ModelError::Selector { .. }) => {}
                    Err(other) => prop_assert!(false, "untyped selector error: {other}"),
                }
                let excluded = dag.select(&[], std::slice::from_ref(&sel));
                let typed = matches!(excluded, Ok(_) | Err(ModelError::Selector { .. }));
                prop_assert!(typed, "untyped exclude error for {:?}", sel);
            }

            #[test]
            fn templating_never_panics(
                pieces in proptest::collection::vec(prop_oneof![
                    Just("{{ ds }}".to_string()),
                    Just("{{ ds_nodash }}".to_string()),
                    Just("{{ var.min_views }}".to_string()),
                    Just("{{ var.nope }}".to_string()),
                    Just("{{ days_before(ds, ".to_string()),
                    Just(") }}".to_string()),
                    Just("{{ week_start(".to_string()),
                    Just("{{ quarter_start(ds, -3) }}".to_string()),
                    Just("{{ days_between(ds, '2026-02-30') }}".to_string()),
                    Just("{% for t in var.min_views %}".to_string()),
                    Just("{% endfor %}".to_string()),
                    Just("{% if ".to_string()),
                    Just("{{ 1/0 }}".to_string()),
                    Just("{{ range(100000000) | length }}".to_string()),
                    Just("}}".to_string()),
                    Just("{%".to_string()),
                    Just("{#".to_string()),
                    any::<i64>().prop_map(|n| n.to_string()),
                    "[a-z '\"(),{}%#]{0,10}".prop_map(|s| s),
                    any::<String>(),
                ], 0..10),
                var_value in prop_oneof![
                    any::<i64>().prop_map(|n| n.to_string()),
                    any::<f64>().prop_map(|f| format!("{f:?}")),
                    "[a-z]{0,8}".prop_map(|s| format!("\"{s}\"")),
                    Just("[1, 2, 3]".to_string()),
                    Just("{ a: 1 }".to_string()),
                    Just("~".to_string()),
                ],
                day in 1i32..=3_000_000,
            ) {
                let yaml = format!(
                    "project: p\nsources:\n  events: {{ location: e, partitioning: hive_dt }}\nvars:\n  min_views: {var_value}\n"
                );
                let Ok(config) = serde_yaml::from_str::<crate::config::Config>(&yaml) else {
                    return Ok(());
                };
                let ds = NaiveDate::from_num_days_from_ce_opt(day).unwrap();
                let tctx = TemplateContext::new(&config, ds, false, None);
                match render("sql/f.sql", &pieces.concat(), &tctx) {
                    Ok(_) => {}
                    Err(ModelError::At { file, line, .. }) => {
                        prop_assert_eq!(file, "sql/f.sql");
                        prop_assert!(line >= 1);
                    }
                    Err(other) => prop_assert!(false, "untyped template error: {other}"),
                }
            }
        }
    }

    #[test]
    fn headers_parse_with_tests_and_errors_have_lines() {
        let text = "/*---\nmaterialized: table\nrewrites_days: late_days\ntests:\n  - { unique: [a, b] }\n  - { not_null: a, severity: warn }\n  - { accepted_values: { column: t, values: [x, 1] } }\n  - { expression: \"a >= 0\" }\n---*/\nselect 1";
        let h = parse_header("m.sql", text).unwrap();
        assert_eq!(h.materialized, Materialization::Table);
        assert_eq!(h.rewrites_days.days(3), 3);
        assert_eq!(h.tests.len(), 4);
        assert_eq!(h.tests[1].severity, Severity::Warn);
        assert_eq!(
            h.tests[2].kind,
            TestKind::AcceptedValues {
                column: "t".into(),
                values: vec!["x".into(), "1".into()]
            }
        );
        let bad = "/*---\ndescription: x\nmaterialised: daily\n---*/\nselect 1";
        let err = parse_header("m.sql", bad).unwrap_err().to_string();
        assert!(err.starts_with("m.sql:3:"), "{err}");
        assert!(err.contains("materialised"), "{err}");
        assert!(parse_header("m.sql", "/*---\ntests: [ { nope: 1 } ]\n---*/").is_err());
    }

    #[test]
    fn ds_spec() {
        assert_eq!(DsSpec::parse("latest").unwrap(), DsSpec::Latest);
        assert_eq!(
            DsSpec::parse("2026-01-02").unwrap(),
            DsSpec::Day(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap())
        );
        assert!(DsSpec::parse("2026-13-02").is_err());
    }
}

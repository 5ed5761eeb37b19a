//! Templating: the minijinja context a model renders with (`ds`, `run.*`,
//! `var.*`, `funnels`) and the calendar helpers (`days_before`,
//! `week_start`, …), which refuse days out of range instead of panicking.

use chrono::{Datelike, Duration, NaiveDate};

use super::ModelError;

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

pub(super) fn parse_day(func: &str, day: &str) -> Result<NaiveDate, minijinja::Error> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| template_err(format!("{func}: {day:?} is not a YYYY-MM-DD day")))
}

/// An error of a template helper, with its message.
pub(super) fn template_err(message: String) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message)
}

pub(super) fn fmt_day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `{{ days_before(ds, n) }}`: the day `n` days before `day`, as `YYYY-MM-DD`.
pub(super) fn days_before(day: String, n: i64) -> Result<String, minijinja::Error> {
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
pub(super) fn days_after(day: String, n: i64) -> Result<String, minijinja::Error> {
    let back = n
        .checked_neg()
        .ok_or_else(|| template_err(format!("days_after: {n} days is out of range")))?;
    days_before(day, back)
}

/// `{{ week_start(ds) }}`: the Monday of the ISO week of `day`.
pub(super) fn week_start(day: String) -> Result<String, minijinja::Error> {
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
pub(super) fn quarter_start(day: String, n: Option<i64>) -> Result<String, minijinja::Error> {
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
pub(super) fn days_between(a: String, b: String) -> Result<i64, minijinja::Error> {
    Ok((parse_day("days_between", &b)? - parse_day("days_between", &a)?).num_days())
}

pub(super) fn template_env() -> minijinja::Environment<'static> {
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

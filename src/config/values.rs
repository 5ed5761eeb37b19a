//! Configuration values with a syntax of their own: memory sizes
//! (`4GiB`), durations (`7d`) and the run day (`2026-11-21`, `yesterday`,
//! `latest`).

use chrono::{NaiveDate, Utc};

/// Parses `7d`, `24h`, `90m`, `3600s` or a bare number of seconds.
pub fn parse_duration_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parses a memory size such as `4GiB`, `512MiB`, `2G`, `1000000`.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 1.0).then_some(v as usize)
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

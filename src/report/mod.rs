//! `shoal report`: one self-contained HTML file with SVG charts of a day's
//! committed outputs.
//!
//! Takes a [`Project`] and a day, reads the committed tables the same way
//! `shoal query` does ([`engine::query_session`]), and hands back the HTML
//! text: inline CSS, inline SVG, no scripts and nothing fetched from the
//! network. A table without rows for the day gives its section a "no data
//! for DAY" line instead of failing the report.
//!
//! The SVG is written by hand with a few helpers ([`Svg`]) rather than a
//! plotting crate: every label is an SVG `<text>` element, so the browser's
//! fonts (with CJK fallbacks from the page's `font-family`) render Chinese
//! community names, and every string is escaped on the way in.

use std::fmt::Write as _;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::prelude::SessionContext;

use crate::engine::{self, EngineError};
use crate::models::Materialization;
use crate::project::Project;
use crate::{Error, Result};

mod operations;

/// The page's font stack: Latin first, then CJK fallbacks so Chinese text
/// renders on Linux (Noto), macOS (PingFang) and Windows (YaHei).
pub const FONT_STACK: &str = r#"system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif"#;

/// The section titles, in page order (each one an `<h2>`).
pub const TITLES: [&str; 13] = [
    "KPI scorecard",
    "Campaigns",
    "Comment sentiment",
    "Top tags",
    "Four dimensions",
    "Funnels",
    "Retention cohorts",
    "Segment pyramid",
    "Segment transitions",
    "UVI tiers vs GMV share",
    "Community health",
    "Money and customers",
    "Data quality",
];

/// The parts of the "Money and customers" section, in page order (each one
/// an `<h3>`).
pub const MONEY_PARTS: [&str; 4] = [
    "GMV and orders, last 30 days",
    "Repurchase by UVI tier",
    "LTV per first-order cohort",
    "Customer profile",
];

/// The parts of the "Comment sentiment" section (each one an `<h3>`).
pub const SENTIMENT_PARTS: [&str; 2] = [
    "Positive and negative shares, last 30 days",
    "Negative spikes today",
];

/// Most cohorts drawn in the LTV chart (the newest ones with a point).
const LTV_COHORTS: usize = 8;

/// Escapes text for HTML and SVG element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The rows of one table for the day, read as columns of text or numbers.
#[derive(Debug, Clone)]
pub struct Rows {
    batch: Option<RecordBatch>,
}

impl Rows {
    /// Rows from collected batches (none: no rows).
    pub fn from_batches(batches: &[RecordBatch]) -> std::result::Result<Self, String> {
        let Some(first) = batches.first() else {
            return Ok(Rows { batch: None });
        };
        let batch = concat_batches(&first.schema(), batches).map_err(|e| e.to_string())?;
        Ok(Rows {
            batch: (batch.num_rows() > 0).then_some(batch),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.batch.as_ref().map_or(0, |b| b.num_rows())
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A column as text (NULL as `None`); a missing column is all `None`.
    pub fn text(&self, name: &str) -> Vec<Option<String>> {
        let n = self.len();
        let Some(col) = self.batch.as_ref().and_then(|b| b.column_by_name(name)) else {
            return vec![None; n];
        };
        match cast(col, &DataType::Utf8) {
            Ok(a) => {
                let a = a.as_string::<i32>();
                (0..n)
                    .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                    .collect()
            }
            Err(_) => vec![None; n],
        }
    }

    /// A column as numbers (NULL, NaN or not numeric as `None`).
    pub fn num(&self, name: &str) -> Vec<Option<f64>> {
        let n = self.len();
        let Some(col) = self.batch.as_ref().and_then(|b| b.column_by_name(name)) else {
            return vec![None; n];
        };
        match cast(col, &DataType::Float64) {
            Ok(a) => {
                let a = a.as_primitive::<Float64Type>();
                (0..n)
                    .map(|i| (!a.is_null(i) && a.value(i).is_finite()).then(|| a.value(i)))
                    .collect()
            }
            Err(_) => vec![None; n],
        }
    }
}

/// What the report found for one table.
#[derive(Debug, Clone)]
pub enum Found {
    /// Rows for the day.
    Rows(Rows),
    /// The table has no committed output or no rows for the day.
    Missing,
    /// The table exists but could not be read (e.g. a changed model); the message.
    Unreadable(String),
}

/// Everything the report shows, read from the warehouse.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The project name from config.
    pub project: String,
    /// The report day.
    pub ds: NaiveDate,
    /// `funnel_steps`, breakdown total.
    pub funnel_steps: Found,
    /// `retention_cohorts` of the day.
    pub retention: Found,
    /// `segment_summary` of the day.
    pub segments: Found,
    /// `segment_transitions` of the day.
    pub transitions: Found,
    /// `uvi_tiers` of the day (the `breakdown = 'all'` rows when the table
    /// has that column).
    pub uvi_tiers: Found,
    /// `community_health_weekly` of the day: the 20 communities with the
    /// most active users, by health score.
    pub health: Found,
    /// `orders_daily`, platform rows of the 30 days ending the day.
    pub gmv: Found,
    /// `repurchase` of the day, scope `uvi_tier`.
    pub repurchase: Found,
    /// `ltv_cohorts` of the day: first-order cohorts, scope `all`, points
    /// with an LTV.
    pub ltv: Found,
    /// `user_profile_summary` of the day.
    pub profile: Found,
    /// `dq_daily` of the 14 days ending the day.
    pub dq: Found,
    /// kpi_scorecard of the day.
    pub kpi: Found,
    /// campaign_results of the day, most participants first.
    pub campaigns: Found,
    /// comment_sentiment summed over communities, per day, last 30 days.
    pub sentiment_trend: Found,
    /// sentiment_daily of the day.
    pub sentiment_today: Found,
    /// tag_summary of the day, most users first.
    pub tags: Found,
    /// segment_summary of the day: the four dimensions' bands.
    pub four_d: Found,
}

async fn fetch(ctx: &SessionContext, table: &str, sql: &str) -> Found {
    match ctx.table_exist(table) {
        Ok(true) => {}
        _ => return Found::Missing,
    }
    let batches = match ctx.sql(sql).await {
        Ok(df) => df.collect().await,
        Err(e) => Err(e),
    };
    match batches
        .map_err(|e| e.to_string())
        .and_then(|b| Rows::from_batches(&b))
    {
        Ok(rows) if rows.is_empty() => Found::Missing,
        Ok(rows) => Found::Rows(rows),
        Err(e) => Found::Unreadable(e),
    }
}

/// Whether `table` exists and has a column named `column`.
async fn has_column(ctx: &SessionContext, table: &str, column: &str) -> bool {
    match ctx.table(table).await {
        Ok(df) => df.schema().has_column_with_unqualified_name(column),
        Err(_) => false,
    }
}

/// Reads the report's tables for `ds` from the committed outputs.
///
/// Fails only when the warehouse has no committed output at all (nothing
/// has run yet); a single missing table becomes [`Found::Missing`].
pub async fn load(project: &Project, ds: NaiveDate) -> Result<ReportData> {
    let (ctx, dag) = engine::query_session(project, ds).await?;
    let mut any = false;
    for m in dag.models.iter().filter(|m| {
        matches!(
            m.header.materialized,
            Materialization::Daily | Materialization::Table
        )
    }) {
        if ctx.table_exist(m.name.as_str()).unwrap_or(false) {
            any = true;
            break;
        }
    }
    if !any {
        return Err(EngineError::NoData {
            url: project.output.root.url().to_string(),
            message: "no committed outputs to report on; run `shoal run` first (is output.location the warehouse you meant?)".into(),
        }
        .into());
    }
    let day = format!("date '{ds}'");
    // uvi_tiers with demographic breakdowns: only the overall rows
    let uvi_overall = if has_column(&ctx, "uvi_tiers", "breakdown").await {
        " and breakdown = 'all'"
    } else {
        ""
    };
    let segments_overall = if has_column(&ctx, "segment_summary", "breakdown").await {
        " and breakdown = 'all'"
    } else {
        ""
    };
    Ok(ReportData {
        kpi: fetch(
            &ctx,
            "kpi_scorecard",
            &format!(
                "select scope, community_id, period, kpi, actual, target, target_high, direction, met \
                 from kpi_scorecard where dt = {day} order by scope desc, community_id, kpi, period"
            ),
        )
        .await,
        campaigns: fetch(
            &ctx,
            "campaign_results",
            &format!(
                "select * from campaign_results where dt = {day} \
                 order by participants desc nulls last, campaign_id limit 10"
            ),
        )
        .await,
        sentiment_trend: fetch(
            &ctx,
            "comment_sentiment",
            &format!(
                "select cast(dt as varchar) as dt, sum(scored) as scored, sum(positive) as positive, \
                 sum(negative) as negative from comment_sentiment \
                 where dt between {day} - interval '29' day and {day} group by dt order by dt"
            ),
        )
        .await,
        sentiment_today: fetch(
            &ctx,
            "sentiment_daily",
            &format!(
                "select community_id, scored, negative_share, baseline_negative_share, z_score, \
                 negative_spike from sentiment_daily where dt = {day} \
                 order by z_score desc nulls last, community_id"
            ),
        )
        .await,
        tags: fetch(
            &ctx,
            "tag_summary",
            &format!(
                "select tag, value, users, share_of_users from tag_summary where dt = {day} \
                 order by users desc, tag, value nulls first limit 15"
            ),
        )
        .await,
        four_d: fetch(
            &ctx,
            "segment_summary",
            &format!(
                "select segment, value, users, share_of_users from segment_summary where dt = {day} \
                 and segment in ('spending_power', 'social_power', 'decision_power', \
                 'demand_sensitivity', 'four_d_score'){segments_overall}"
            ),
        )
        .await,
        project: project.config().project.clone(),
        ds,
        funnel_steps: fetch(
            &ctx,
            "funnel_steps",
            &format!(
                "select funnel, step, step_name, users, conversion_from_start, conversion_from_previous \
                 from funnel_steps where dt = {day} and breakdown = 'total' order by funnel, step"
            ),
        )
        .await,
        retention: fetch(
            &ctx,
            "retention_cohorts",
            &format!(
                "select cast(cohort_day as varchar) as cohort_day, n, cohort_size, retention_day_n \
                 from retention_cohorts where dt = {day} and cohort_size > 0 \
                 and cohort_day > {day} - interval '31' day \
                 order by cohort_day, n"
            ),
        )
        .await,
        segments: fetch(
            &ctx,
            "segment_summary",
            &format!(
                "select segment, value, users, share_of_users, share_of_revenue \
                 from segment_summary where dt = {day}{segments_overall} order by segment, value"
            ),
        )
        .await,
        transitions: fetch(
            &ctx,
            "segment_transitions",
            &format!(
                "select from_value, to_value, users from segment_transitions \
                 where dt = {day} and segment = 'activity_layer' order by from_value, to_value"
            ),
        )
        .await,
        uvi_tiers: fetch(
            &ctx,
            "uvi_tiers",
            &format!(
                "select uvi_tier, users, share_of_users, share_of_revenue from uvi_tiers \
                 where dt = {day}{uvi_overall} order by case uvi_tier when 'high' then 1 when 'medium' then 2 else 3 end"
            ),
        )
        .await,
        health: fetch(
            &ctx,
            "community_health_weekly",
            &format!(
                "select * from (select coalesce(community_id, '(no community)') as community_id, \
                 health_score, weakest_indicator, suggested_action, active_users \
                 from community_health_weekly where dt = {day} \
                 order by active_users desc nulls last, community_id limit 20) \
                 order by health_score desc nulls last, community_id"
            ),
        )
        .await,
        gmv: fetch(
            &ctx,
            "orders_daily",
            &format!(
                "select cast(dt as varchar) as dt, gmv, orders from orders_daily \
                 where scope = 'platform' and dt between {day} - interval '29' day and {day} \
                 order by dt"
            ),
        )
        .await,
        repurchase: fetch(
            &ctx,
            "repurchase",
            &format!(
                "select window_days, value, buyers, repeat_buyers, repurchase_rate from repurchase \
                 where dt = {day} and scope = 'uvi_tier' order by window_days, \
                 case value when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end"
            ),
        )
        .await,
        ltv: fetch(
            &ctx,
            "ltv_cohorts",
            &format!(
                "select cast(cohort_week as varchar) as cohort_week, window_days, cohort_users, ltv \
                 from ltv_cohorts where dt = {day} and cohort_kind = 'first_order' \
                 and scope = 'all' and ltv is not null order by cohort_week desc, window_days"
            ),
        )
        .await,
        profile: fetch(
            &ctx,
            "user_profile_summary",
            &format!(
                "select attribute, value, users, share_of_users, active_share_30, conversion_90, \
                 arpu_90, share_of_revenue from user_profile_summary where dt = {day} \
                 order by case attribute when 'gender' then 1 when 'generation' then 2 \
                 when 'gen_z' then 3 when 'region' then 4 when 'city_tier' then 5 \
                 when 'occupation' then 6 else 7 end, attribute, users desc, value"
            ),
        )
        .await,
        dq: fetch(
            &ctx,
            "dq_daily",
            &format!(
                "select cast(dt as varchar) as dt, rows_read, rows_valid, duplicate_rows, null_key_rows, \
                 future_rows, too_late_rows, late_rows, unknown_type_rows, error_rate from dq_daily \
                 where dt between {day} - interval '13' day and {day} order by dt"
            ),
        )
        .await,
    })
}

/// Reads the day's tables and renders the report.
pub async fn build(project: &Project, ds: NaiveDate) -> Result<String> {
    let data = load(project, ds).await?;
    Ok(render(&data))
}

/// A small SVG writer: every text goes through [`escape`].
struct Svg {
    w: f64,
    h: f64,
    body: String,
}

impl Svg {
    fn new(w: f64, h: f64) -> Self {
        Svg {
            w,
            h,
            body: String::new(),
        }
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            escape(s)
        );
    }

    fn text_rot(&mut self, x: f64, y: f64, class: &str, s: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" class="{class}" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"#,
            escape(s)
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"#,
            w.max(0.0),
            h.max(0.0),
            escape(title)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" class="{class}"/>"#
        );
    }

    fn polyline(&mut self, points: &[(f64, f64)], color: &str) {
        let mut pts = String::new();
        for (x, y) in points {
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            pts.trim_end()
        );
    }

    fn dot(&mut self, x: f64, y: f64, color: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{color}"><title>{}</title></circle>"#,
            escape(title)
        );
    }

    fn finish(self, label: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{}</svg>"#,
            escape(label),
            self.body,
            w = self.w,
            h = self.h
        )
    }
}

const BLUE: &str = "#3b6fb6";
const ORANGE: &str = "#e08a2c";
const GREY: &str = "#9aa5b1";

/// Line colours of the LTV chart, one per cohort.
const PALETTE: [&str; LTV_COHORTS] = [
    "#3b6fb6", "#e08a2c", "#3f9f5f", "#c8463d", "#7c5cb5", "#2a9d9d", "#b5618f", "#7b8794",
];

/// Money with two decimals and thousands separators.
fn money(v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    let cents = (v.abs() * 100.0).round();
    let whole = count(Some((cents / 100.0).trunc()));
    let sign = if v < 0.0 && cents > 0.0 { "-" } else { "" };
    format!("{sign}{whole}.{:02}", (cents % 100.0) as i64)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
}

fn count(v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    let n = v.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Blue scale for a 0..1 value (white at 0).
fn heat(v: f64) -> String {
    let t = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(247.0, 33.0),
        mix(251.0, 102.0),
        mix(255.0, 172.0)
    )
}

fn funnels_svg(rows: &Rows) -> String {
    let funnel = rows.text("funnel");
    let step = rows.num("step");
    let name = rows.text("step_name");
    let users = rows.num("users");
    let from_start = rows.num("conversion_from_start");
    let from_prev = rows.num("conversion_from_previous");
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, f) in funnel.iter().enumerate() {
        let f = f.clone().unwrap_or_default();
        match groups.last_mut() {
            Some((g, v)) if *g == f => v.push(i),
            _ => groups.push((f, vec![i])),
        }
    }
    let (left, bar_w, row_h) = (190.0, 520.0, 30.0);
    let height: f64 = groups
        .iter()
        .map(|(_, v)| 34.0 + v.len() as f64 * row_h)
        .sum::<f64>()
        + 40.0;
    let mut svg = Svg::new(1000.0, height);
    let mut y = 10.0;
    for (g, idx) in &groups {
        svg.text(10.0, y + 16.0, "start", "sub", &format!("funnel: {g}"));
        y += 28.0;
        let max = idx
            .iter()
            .filter_map(|&i| users[i])
            .fold(0.0_f64, f64::max)
            .max(1.0);
        for &i in idx {
            let label = format!(
                "{}. {}",
                step[i].map_or("?".into(), |s| format!("{s:.0}")),
                name[i].as_deref().unwrap_or("")
            );
            svg.text(left - 8.0, y + 18.0, "end", "label", &label);
            let w = bar_w * users[i].unwrap_or(0.0) / max;
            svg.rect(
                left,
                y + 4.0,
                w,
                row_h - 8.0,
                BLUE,
                &format!("{label}: {} users", count(users[i])),
            );
            svg.text(
                left + w + 6.0,
                y + 18.0,
                "start",
                "value",
                &format!(
                    "{} users · {} of step 1 · {} of previous",
                    count(users[i]),
                    pct(from_start[i]),
                    pct(from_prev[i])
                ),
            );
            y += row_h;
        }
        y += 6.0;
    }
    svg.line(left, 10.0, left, y, "axis");
    svg.text(
        left + bar_w / 2.0,
        y + 24.0,
        "middle",
        "axis-title",
        "users reaching the step (total, window ending the day)",
    );
    svg.finish("funnel bars")
}

fn retention_svg(rows: &Rows) -> String {
    let cohort = rows.text("cohort_day");
    let n = rows.num("n");
    let size = rows.num("cohort_size");
    let rate = rows.num("retention_day_n");
    let mut days: Vec<String> = cohort.iter().flatten().cloned().collect();
    days.dedup();
    let mut ns: Vec<i64> = n.iter().flatten().map(|v| *v as i64).collect();
    ns.sort_unstable();
    ns.dedup();
    let (left, top, cw, ch) = (150.0, 40.0, 70.0, 20.0);
    let width = (left + cw * ns.len() as f64 + 30.0).max(500.0);
    let height = top + ch * days.len() as f64 + 16.0;
    let mut svg = Svg::new(width, height);
    svg.text(
        left + cw * ns.len() as f64 / 2.0,
        14.0,
        "middle",
        "axis-title",
        "days after the cohort day (N) — cell: day-N retention",
    );
    for (j, v) in ns.iter().enumerate() {
        svg.text(
            left + cw * (j as f64 + 0.5),
            top - 6.0,
            "middle",
            "label",
            &format!("day {v}"),
        );
    }
    let mut sizes = std::collections::BTreeMap::new();
    for i in 0..rows.len() {
        let (Some(c), Some(k)) = (&cohort[i], n[i]) else {
            continue;
        };
        let (Some(r), Some(j)) = (
            days.iter().position(|d| d == c),
            ns.iter().position(|v| *v == k as i64),
        ) else {
            continue;
        };
        sizes.insert(r, size[i]);
        let (x, y) = (left + cw * j as f64, top + ch * r as f64);
        let fill = rate[i].map_or("#eeeeee".to_string(), heat);
        svg.rect(
            x,
            y,
            cw - 2.0,
            ch - 2.0,
            &fill,
            &format!("cohort {c}, day {k:.0}: {}", pct(rate[i])),
        );
        let class = if rate[i].unwrap_or(0.0) > 0.55 {
            "cell-dark"
        } else {
            "cell"
        };
        svg.text(
            x + cw / 2.0 - 1.0,
            y + ch - 6.0,
            "middle",
            class,
            &pct(rate[i]),
        );
    }
    for (r, d) in days.iter().enumerate() {
        let s = sizes.get(&r).copied().flatten();
        svg.text(
            left - 8.0,
            top + ch * r as f64 + ch - 6.0,
            "end",
            "label",
            &format!("{d} ({})", count(s)),
        );
    }
    svg.text_rot(
        14.0,
        top + ch * days.len() as f64 / 2.0,
        "axis-title",
        "cohort day (cohort size)",
    );
    svg.finish("retention heatmap")
}

const PYRAMID: [&str; 5] = [
    "potential",
    "member",
    "active member",
    "contributor",
    "core KOC",
];

/// A pyramid level: level, users, share of users, share of revenue.
type Level = (i64, Option<f64>, Option<f64>, Option<f64>);

fn pyramid_svg(rows: &Rows) -> Option<String> {
    let seg = rows.text("segment");
    let value = rows.text("value");
    let users = rows.num("users");
    let share = rows.num("share_of_users");
    let rev = rows.num("share_of_revenue");
    let mut levels: Vec<Level> = (0..rows.len())
        .filter(|&i| seg[i].as_deref() == Some("pyramid_level"))
        .filter_map(|i| {
            let l = value[i].as_deref()?.trim().parse::<i64>().ok()?;
            Some((l, users[i], share[i], rev[i]))
        })
        .collect();
    if levels.is_empty() {
        return None;
    }
    levels.sort_by_key(|l| -l.0);
    let (cx, top, row_h, max_w) = (290.0, 30.0, 34.0, 440.0);
    let max = levels
        .iter()
        .filter_map(|l| l.1)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut svg = Svg::new(1000.0, top + row_h * levels.len() as f64 + 40.0);
    svg.text(
        cx,
        16.0,
        "middle",
        "axis-title",
        "users per pyramid level (bar width)",
    );
    for (r, (l, u, s, rv)) in levels.iter().enumerate() {
        let w = (max_w * u.unwrap_or(0.0) / max).max(2.0);
        let y = top + row_h * r as f64;
        let name = PYRAMID
            .get((*l as usize).wrapping_sub(1))
            .copied()
            .unwrap_or("level");
        svg.rect(
            cx - w / 2.0,
            y + 4.0,
            w,
            row_h - 8.0,
            BLUE,
            &format!("level {l} {name}: {} users", count(*u)),
        );
        svg.text(
            cx + max_w / 2.0 + 16.0,
            y + row_h / 2.0 + 5.0,
            "start",
            "label",
            &format!(
                "{l} {name}: {} users ({}), {} of revenue",
                count(*u),
                pct(*s),
                pct(*rv)
            ),
        );
    }
    Some(svg.finish("segment pyramid"))
}

fn transitions_svg(rows: &Rows) -> String {
    let from = rows.text("from_value");
    let to = rows.text("to_value");
    let users = rows.num("users");
    let label = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not scored)".into());
    let mut values: Vec<String> = from.iter().chain(to.iter()).map(label).collect();
    values.sort();
    values.dedup();
    let (left, top, cw, ch) = (170.0, 60.0, 120.0, 30.0);
    let k = values.len() as f64;
    let mut svg = Svg::new((left + cw * k + 20.0).max(600.0), top + ch * k + 30.0);
    svg.text(
        left + cw * k / 2.0,
        14.0,
        "middle",
        "axis-title",
        "activity layer today →",
    );
    for (j, v) in values.iter().enumerate() {
        svg.text(
            left + cw * (j as f64 + 0.5),
            top - 8.0,
            "middle",
            "label",
            v,
        );
    }
    let max = users
        .iter()
        .flatten()
        .fold(0.0_f64, |a, b| a.max(*b))
        .max(1.0);
    for i in 0..rows.len() {
        let (Some(r), Some(c)) = (
            values.iter().position(|v| *v == label(&from[i])),
            values.iter().position(|v| *v == label(&to[i])),
        ) else {
            continue;
        };
        let (x, y) = (left + cw * c as f64, top + ch * r as f64);
        let t = users[i].unwrap_or(0.0) / max;
        svg.rect(
            x,
            y,
            cw - 2.0,
            ch - 2.0,
            &heat(t.sqrt()),
            &format!(
                "{} → {}: {} users",
                label(&from[i]),
                label(&to[i]),
                count(users[i])
            ),
        );
        let class = if t.sqrt() > 0.55 { "cell-dark" } else { "cell" };
        svg.text(
            x + cw / 2.0,
            y + ch - 10.0,
            "middle",
            class,
            &count(users[i]),
        );
    }
    for (r, v) in values.iter().enumerate() {
        svg.text(
            left - 8.0,
            top + ch * r as f64 + ch - 10.0,
            "end",
            "label",
            v,
        );
    }
    svg.text_rot(14.0, top + ch * k / 2.0, "axis-title", "yesterday");
    svg.finish("segment transitions")
}

fn uvi_svg(rows: &Rows) -> String {
    let tier = rows.text("uvi_tier");
    let users = rows.num("users");
    let su = rows.num("share_of_users");
    let sr = rows.num("share_of_revenue");
    let (left, top, plot_h, group_w) = (70.0, 30.0, 220.0, 200.0);
    let mut svg = Svg::new(1000.0, top + plot_h + 70.0);
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = top + plot_h * (1.0 - t);
        svg.line(left, y, left + group_w * rows.len() as f64, y, "grid");
        svg.text(
            left - 6.0,
            y + 4.0,
            "end",
            "tick",
            &format!("{:.0}%", t * 100.0),
        );
    }
    svg.text_rot(18.0, top + plot_h / 2.0, "axis-title", "share of total");
    for i in 0..rows.len() {
        let x0 = left + group_w * i as f64 + 30.0;
        for (k, (v, color, what)) in [(su[i], GREY, "users"), (sr[i], ORANGE, "GMV")]
            .into_iter()
            .enumerate()
        {
            let h = plot_h * v.unwrap_or(0.0).clamp(0.0, 1.0);
            let x = x0 + k as f64 * 66.0;
            svg.rect(
                x,
                top + plot_h - h,
                60.0,
                h,
                color,
                &format!("{}: {} of {what}", tier[i].as_deref().unwrap_or(""), pct(v)),
            );
            svg.text(x + 30.0, top + plot_h - h - 5.0, "middle", "value", &pct(v));
        }
        svg.text(
            x0 + 63.0,
            top + plot_h + 20.0,
            "middle",
            "label",
            &format!(
                "{} ({} users)",
                tier[i].as_deref().unwrap_or("?"),
                count(users[i])
            ),
        );
    }
    svg.line(
        left,
        top + plot_h,
        left + group_w * rows.len() as f64,
        top + plot_h,
        "axis",
    );
    let lx = left + group_w * rows.len() as f64 + 30.0;
    svg.rect(lx, top + 10.0, 14.0, 14.0, GREY, "share of users");
    svg.text(
        lx + 20.0,
        top + 22.0,
        "start",
        "label",
        "share of scored users",
    );
    svg.rect(lx, top + 34.0, 14.0, 14.0, ORANGE, "share of GMV");
    svg.text(
        lx + 20.0,
        top + 46.0,
        "start",
        "label",
        "share of GMV (90 days)",
    );
    svg.text(
        left + group_w * rows.len() as f64 / 2.0,
        top + plot_h + 48.0,
        "middle",
        "axis-title",
        "UVI tier",
    );
    svg.finish("UVI tiers vs GMV share")
}

fn health_svg(rows: &Rows) -> String {
    let community = rows.text("community_id");
    let score = rows.num("health_score");
    let weakest = rows.text("weakest_indicator");
    let action = rows.text("suggested_action");
    let (left, top, bar_w, row_h) = (200.0, 30.0, 360.0, 26.0);
    let ind_x = left + bar_w + 50.0;
    let mut svg = Svg::new(1000.0, top + row_h * rows.len() as f64 + 50.0);
    svg.text(
        ind_x,
        top - 10.0,
        "start",
        "axis-title",
        "weakest indicator (hover: suggested action)",
    );
    for t in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let x = left + bar_w * t / 100.0;
        svg.line(x, top, x, top + row_h * rows.len() as f64, "grid");
        svg.text(
            x,
            top + row_h * rows.len() as f64 + 16.0,
            "middle",
            "tick",
            &format!("{t:.0}"),
        );
    }
    for i in 0..rows.len() {
        let y = top + row_h * i as f64;
        let name = community[i].as_deref().unwrap_or("(no community)");
        svg.text(left - 8.0, y + row_h / 2.0 + 5.0, "end", "label", name);
        let s = score[i].unwrap_or(0.0).clamp(0.0, 100.0);
        let color = if s >= 70.0 {
            "#3f9f5f"
        } else if s >= 40.0 {
            ORANGE
        } else {
            "#c8463d"
        };
        svg.rect(
            left,
            y + 3.0,
            bar_w * s / 100.0,
            row_h - 6.0,
            color,
            &format!(
                "{name}: health score {}",
                score[i].map_or("–".into(), |v| format!("{v:.1}"))
            ),
        );
        svg.text(
            left + bar_w * s / 100.0 + 4.0,
            y + row_h / 2.0 + 5.0,
            "start",
            "value",
            &score[i].map_or("–".into(), |v| format!("{v:.0}")),
        );
        let _ = write!(
            svg.body,
            r#"<text x="{ind_x:.1}" y="{:.1}" text-anchor="start" class="label">{}<title>{}</title></text>"#,
            y + row_h / 2.0 + 5.0,
            escape(weakest[i].as_deref().unwrap_or("–")),
            escape(action[i].as_deref().unwrap_or("")),
        );
    }
    svg.text(
        left + bar_w / 2.0,
        top + row_h * rows.len() as f64 + 38.0,
        "middle",
        "axis-title",
        "health score (0–100, ISO week to date)",
    );
    svg.finish("community health scores")
}

fn dq_svg(rows: &Rows) -> String {
    let dt = rows.text("dt");
    let read = rows.num("rows_read");
    let valid = rows.num("rows_valid");
    let err = rows.num("error_rate");
    let (left, top, plot_h) = (80.0, 30.0, 200.0);
    let col_w = (840.0 / rows.len().max(1) as f64).min(60.0);
    let max = read
        .iter()
        .flatten()
        .fold(0.0_f64, |a, b| a.max(*b))
        .max(1.0);
    let mut svg = Svg::new(1000.0, top + plot_h + 90.0);
    for t in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - t);
        svg.line(left, y, left + col_w * rows.len() as f64, y, "grid");
        svg.text(left - 6.0, y + 4.0, "end", "tick", &count(Some(max * t)));
    }
    svg.text_rot(18.0, top + plot_h / 2.0, "axis-title", "rows");
    for i in 0..rows.len() {
        let x = left + col_w * i as f64 + 4.0;
        let hr = plot_h * read[i].unwrap_or(0.0) / max;
        let hv = plot_h * valid[i].unwrap_or(0.0) / max;
        let day = dt[i].as_deref().unwrap_or("?");
        svg.rect(
            x,
            top + plot_h - hr,
            col_w - 8.0,
            hr,
            "#c8463d",
            &format!("{day}: {} rows read", count(read[i])),
        );
        svg.rect(
            x,
            top + plot_h - hv,
            col_w - 8.0,
            hv,
            BLUE,
            &format!("{day}: {} rows valid", count(valid[i])),
        );
        svg.text(
            x + (col_w - 8.0) / 2.0,
            top + plot_h + 16.0,
            "middle",
            "tick",
            day.get(5..).unwrap_or(day),
        );
        svg.text(
            x + (col_w - 8.0) / 2.0,
            top + plot_h + 32.0,
            "middle",
            "tick",
            &pct(err[i]),
        );
    }
    svg.text(
        left,
        top + plot_h + 56.0,
        "start",
        "axis-title",
        "events partition (dt), below it the error rate — blue: valid rows, red: dropped",
    );
    svg.finish("data quality")
}

fn dq_table(rows: &Rows, ds: NaiveDate) -> String {
    let dt = rows.text("dt");
    let Some(i) = dt
        .iter()
        .position(|d| d.as_deref() == Some(&ds.to_string()))
    else {
        return format!("<p class=\"empty\">no dq_daily row for {ds}</p>");
    };
    let mut out = String::from("<table><tr><th>measure</th><th>rows</th></tr>");
    for c in [
        "rows_read",
        "rows_valid",
        "duplicate_rows",
        "null_key_rows",
        "future_rows",
        "too_late_rows",
        "late_rows",
        "unknown_type_rows",
    ] {
        let _ = write!(
            out,
            "<tr><td>{c}</td><td class=\"num\">{}</td></tr>",
            count(rows.num(c)[i])
        );
    }
    let _ = write!(
        out,
        "<tr><td>error_rate</td><td class=\"num\">{}</td></tr></table>",
        pct(rows.num("error_rate")[i])
    );
    out
}

fn gmv_svg(rows: &Rows) -> String {
    let dt = rows.text("dt");
    let gmv = rows.num("gmv");
    let orders = rows.num("orders");
    let (left, top, plot_w, plot_h) = (90.0, 30.0, 800.0, 200.0);
    let n = rows.len().max(1);
    let col_w = plot_w / n as f64;
    let max_of = |v: &[Option<f64>]| v.iter().flatten().fold(0.0_f64, |a, b| a.max(*b)).max(1.0);
    let (max_gmv, max_orders) = (max_of(&gmv), max_of(&orders));
    let mut svg = Svg::new(1000.0, top + plot_h + 80.0);
    for t in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - t);
        svg.line(left, y, left + plot_w, y, "grid");
        svg.text(
            left - 6.0,
            y + 4.0,
            "end",
            "tick",
            &count(Some(max_gmv * t)),
        );
        svg.text(
            left + plot_w + 6.0,
            y + 4.0,
            "start",
            "tick",
            &count(Some(max_orders * t)),
        );
    }
    svg.text_rot(18.0, top + plot_h / 2.0, "axis-title", "GMV");
    svg.text_rot(
        left + plot_w + 60.0,
        top + plot_h / 2.0,
        "axis-title",
        "orders",
    );
    let mut points = Vec::with_capacity(rows.len());
    let every = n.div_ceil(10);
    for i in 0..rows.len() {
        let x = left + col_w * i as f64;
        let day = dt[i].as_deref().unwrap_or("?");
        let title = format!("{day}: GMV {}, {} orders", money(gmv[i]), count(orders[i]));
        let h = plot_h * gmv[i].unwrap_or(0.0).max(0.0) / max_gmv;
        svg.rect(x + 2.0, top + plot_h - h, col_w - 4.0, h, BLUE, &title);
        if let Some(o) = orders[i] {
            points.push((x + col_w / 2.0, top + plot_h * (1.0 - o / max_orders)));
        }
        if i % every == 0 || i + 1 == rows.len() {
            svg.text(
                x + col_w / 2.0,
                top + plot_h + 16.0,
                "middle",
                "tick",
                day.get(5..).unwrap_or(day),
            );
        }
    }
    svg.polyline(&points, ORANGE);
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, "axis");
    svg.rect(left, top + plot_h + 40.0, 14.0, 14.0, BLUE, "GMV");
    svg.text(
        left + 20.0,
        top + plot_h + 52.0,
        "start",
        "label",
        "GMV per day (left axis)",
    );
    svg.rect(
        left + 220.0,
        top + plot_h + 40.0,
        14.0,
        14.0,
        ORANGE,
        "orders",
    );
    svg.text(
        left + 240.0,
        top + plot_h + 52.0,
        "start",
        "label",
        "orders per day (right axis)",
    );
    svg.finish("GMV and orders")
}

fn repurchase_table(rows: &Rows) -> String {
    let window = rows.num("window_days");
    let tier = rows.text("value");
    let buyers = rows.num("buyers");
    let repeat = rows.num("repeat_buyers");
    let rate = rows.num("repurchase_rate");
    let mut out = String::from(
        "<table class=\"repurchase\"><tr><th>window</th><th>UVI tier</th><th>buyers</th>\
         <th>repeat buyers</th><th>repurchase rate</th></tr>",
    );
    for i in 0..rows.len() {
        let _ = write!(
            out,
            "<tr><td>{} days</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            window[i].map_or("?".into(), |w| format!("{w:.0}")),
            escape(tier[i].as_deref().unwrap_or("(not scored)")),
            count(buyers[i]),
            count(repeat[i]),
            pct(rate[i])
        );
    }
    out.push_str("</table>");
    out
}

fn ltv_svg(rows: &Rows) -> String {
    let week = rows.text("cohort_week");
    let window = rows.num("window_days");
    let users = rows.num("cohort_users");
    let ltv = rows.num("ltv");
    // the newest cohorts first (the query sorts by cohort_week desc)
    let mut cohorts: Vec<String> = Vec::new();
    for w in week.iter().flatten() {
        if !cohorts.contains(w) {
            cohorts.push(w.clone());
        }
    }
    cohorts.truncate(LTV_COHORTS);
    let keep = |i: usize| {
        week[i]
            .as_ref()
            .and_then(|w| cohorts.iter().position(|c| c == w))
            .filter(|_| window[i].is_some() && ltv[i].is_some())
    };
    let mut windows: Vec<i64> = (0..rows.len())
        .filter(|&i| keep(i).is_some())
        .filter_map(|i| window[i].map(|w| w as i64))
        .collect();
    windows.sort_unstable();
    windows.dedup();
    let max = (0..rows.len())
        .filter(|&i| keep(i).is_some())
        .filter_map(|i| ltv[i])
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let (left, top, plot_w, plot_h) = (90.0, 30.0, 560.0, 220.0);
    let x_of = |w: i64| {
        let j = windows.iter().position(|v| *v == w).unwrap_or(0) as f64;
        left + plot_w * (j + 0.5) / windows.len().max(1) as f64
    };
    let y_of = |v: f64| top + plot_h * (1.0 - v / max);
    let mut svg = Svg::new(1000.0, top + plot_h + 60.0);
    for t in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - t);
        svg.line(left, y, left + plot_w, y, "grid");
        svg.text(left - 6.0, y + 4.0, "end", "tick", &money(Some(max * t)));
    }
    for w in &windows {
        svg.text(
            x_of(*w),
            top + plot_h + 16.0,
            "middle",
            "tick",
            &format!("{w} days"),
        );
    }
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, "axis");
    svg.text_rot(
        18.0,
        top + plot_h / 2.0,
        "axis-title",
        "LTV (revenue per user)",
    );
    svg.text(
        left + plot_w / 2.0,
        top + plot_h + 40.0,
        "middle",
        "axis-title",
        "days since the cohort's first order (window)",
    );
    let lx = left + plot_w + 40.0;
    svg.text(lx, top - 10.0, "start", "axis-title", "cohort week (users)");
    for (k, c) in cohorts.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut points = Vec::new();
        let mut size = None;
        for i in (0..rows.len()).filter(|&i| keep(i) == Some(k)) {
            let (Some(w), Some(v)) = (window[i], ltv[i]) else {
                continue;
            };
            let (x, y) = (x_of(w as i64), y_of(v));
            points.push((x, y));
            size = size.or(users[i]);
            svg.dot(
                x,
                y,
                color,
                &format!(
                    "cohort {c}, {w:.0} days: LTV {} ({} users)",
                    money(Some(v)),
                    count(users[i])
                ),
            );
        }
        if points.len() > 1 {
            svg.polyline(&points, color);
        }
        let y = top + 22.0 * k as f64;
        svg.rect(lx, y, 14.0, 14.0, color, c);
        svg.text(
            lx + 20.0,
            y + 12.0,
            "start",
            "label",
            &format!("{c} ({})", count(size)),
        );
    }
    svg.finish("LTV per cohort")
}

fn profile_tables(rows: &Rows) -> String {
    let attribute = rows.text("attribute");
    let value = rows.text("value");
    let nums = [
        ("users", "users"),
        ("share_of_users", "share of users"),
        ("active_share_30", "active (30 days)"),
        ("conversion_90", "conversion (90 days)"),
        ("arpu_90", "ARPU (90 days)"),
        ("share_of_revenue", "share of revenue"),
    ];
    let cols: Vec<Vec<Option<f64>>> = nums.iter().map(|(c, _)| rows.num(c)).collect();
    let mut out = String::from("<div class=\"profile\">");
    let mut i = 0;
    while i < rows.len() {
        let attr = attribute[i].clone();
        let _ = write!(
            out,
            "<table><tr><th>{}</th>",
            escape(attr.as_deref().unwrap_or("unknown"))
        );
        for (_, head) in &nums {
            let _ = write!(out, "<th>{head}</th>");
        }
        out.push_str("</tr>");
        while i < rows.len() && attribute[i] == attr {
            let _ = write!(
                out,
                "<tr><td>{}</td>",
                escape(value[i].as_deref().unwrap_or("unknown"))
            );
            for (k, (c, _)) in nums.iter().enumerate() {
                let v = cols[k][i];
                let text = match *c {
                    "users" => count(v),
                    "arpu_90" => money(v),
                    _ => pct(v),
                };
                let _ = write!(out, "<td class=\"num\">{text}</td>");
            }
            out.push_str("</tr>");
            i += 1;
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
    out
}

/// One part of a section: an `<h3>` and its chart or table, or "no data".
fn part(
    html: &mut String,
    title: &str,
    table: &str,
    ds: NaiveDate,
    found: &Found,
    body: impl FnOnce(&Rows) -> String,
) {
    let _ = write!(html, "<h3>{}</h3>", escape(title));
    match found {
        Found::Rows(rows) => html.push_str(&body(rows)),
        Found::Missing => {
            let _ = write!(
                html,
                "<p class=\"empty\">no data for {ds} (table {})</p>",
                escape(table)
            );
        }
        Found::Unreadable(e) => {
            let _ = write!(
                html,
                "<p class=\"empty\">cannot read {}: {}</p>",
                escape(table),
                escape(e)
            );
        }
    }
}

fn money_section(html: &mut String, d: &ReportData) {
    let ds = d.ds;
    let _ = write!(html, "<section><h2>{}</h2>", escape(TITLES[11]));
    part(html, MONEY_PARTS[0], "orders_daily", ds, &d.gmv, gmv_svg);
    part(
        html,
        MONEY_PARTS[1],
        "repurchase",
        ds,
        &d.repurchase,
        repurchase_table,
    );
    part(html, MONEY_PARTS[2], "ltv_cohorts", ds, &d.ltv, ltv_svg);
    part(
        html,
        MONEY_PARTS[3],
        "user_profile_summary",
        ds,
        &d.profile,
        profile_tables,
    );
    html.push_str("</section>\n");
}

fn section(
    html: &mut String,
    title: &str,
    table: &str,
    ds: NaiveDate,
    found: &Found,
    body: impl FnOnce(&Rows) -> String,
) {
    let _ = write!(html, "<section><h2>{}</h2>", escape(title));
    match found {
        Found::Rows(rows) => html.push_str(&body(rows)),
        Found::Missing => {
            let _ = write!(
                html,
                "<p class=\"empty\">no data for {ds} (table {})</p>",
                escape(table)
            );
        }
        Found::Unreadable(e) => {
            let _ = write!(
                html,
                "<p class=\"empty\">cannot read {}: {}</p>",
                escape(table),
                escape(e)
            );
        }
    }
    html.push_str("</section>\n");
}

/// Renders the report's HTML from data already read.
pub fn render(d: &ReportData) -> String {
    let ds = d.ds;
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{project} — shoal report {ds}</title>
<style>
body {{ font-family: {font}; margin: 24px auto; max-width: 1040px; color: #1f2933; background: #fff; }}
h1 {{ font-size: 24px; margin-bottom: 4px; }}
h3 {{ font-size: 16px; margin: 18px 0 6px; }}
h2 {{ font-size: 19px; border-bottom: 1px solid #d9e2ec; padding-bottom: 4px; margin-top: 28px; }}
.meta {{ color: #52606d; font-size: 14px; }}
.empty {{ color: #7b8794; font-style: italic; }}
svg {{ display: block; max-width: 100%; height: auto; }}
svg text {{ font-family: {font}; fill: #1f2933; }}
svg .label {{ font-size: 13px; }}
svg .sub {{ font-size: 14px; font-weight: 600; }}
svg .value {{ font-size: 12px; fill: #323f4b; }}
svg .tick {{ font-size: 11px; fill: #52606d; }}
svg .axis-title {{ font-size: 13px; fill: #52606d; font-style: italic; }}
svg .cell {{ font-size: 11px; fill: #1f2933; }}
svg .cell-dark {{ font-size: 11px; fill: #ffffff; }}
svg .axis {{ stroke: #7b8794; stroke-width: 1; }}
svg .grid {{ stroke: #e4e7eb; stroke-width: 1; }}
table {{ border-collapse: collapse; font-size: 13px; margin-top: 8px; }}
td, th {{ border: 1px solid #d9e2ec; padding: 3px 10px; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.met {{ color: #2f7d4a; font-weight: 600; }}
td.missed {{ color: #b83b30; font-weight: 600; }}
.profile {{ display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: flex-start; }}
</style>
</head>
<body>
<h1>{project} — {ds}</h1>
<p class="meta">shoal report of the committed outputs for {ds}. Hover a bar or cell for its value.</p>
"#,
        project = escape(&d.project),
        font = FONT_STACK,
    );
    section(
        &mut html,
        TITLES[0],
        "kpi_scorecard",
        ds,
        &d.kpi,
        operations::scorecard,
    );
    section(
        &mut html,
        TITLES[1],
        "campaign_results",
        ds,
        &d.campaigns,
        operations::campaigns,
    );
    let _ = write!(html, "<section><h2>{}</h2>", escape(TITLES[2]));
    part(
        &mut html,
        SENTIMENT_PARTS[0],
        "comment_sentiment",
        ds,
        &d.sentiment_trend,
        operations::sentiment_svg,
    );
    part(
        &mut html,
        SENTIMENT_PARTS[1],
        "sentiment_daily",
        ds,
        &d.sentiment_today,
        operations::sentiment_spikes,
    );
    html.push_str("</section>\n");
    section(
        &mut html,
        TITLES[3],
        "tag_summary",
        ds,
        &d.tags,
        operations::tags_svg,
    );
    section(
        &mut html,
        TITLES[4],
        "segment_summary",
        ds,
        &d.four_d,
        operations::four_d_svg,
    );
    section(
        &mut html,
        TITLES[5],
        "funnel_steps",
        ds,
        &d.funnel_steps,
        funnels_svg,
    );
    section(
        &mut html,
        TITLES[6],
        "retention_cohorts",
        ds,
        &d.retention,
        retention_svg,
    );
    // the pyramid is the pyramid_level rows of segment_summary
    let (pyramid, pyramid_svg) = match &d.segments {
        Found::Rows(r) => match pyramid_svg(r) {
            Some(svg) => (d.segments.clone(), svg),
            None => (Found::Missing, String::new()),
        },
        other => (other.clone(), String::new()),
    };
    section(
        &mut html,
        TITLES[7],
        "segment_summary",
        ds,
        &pyramid,
        |_| pyramid_svg,
    );
    section(
        &mut html,
        TITLES[8],
        "segment_transitions",
        ds,
        &d.transitions,
        transitions_svg,
    );
    section(&mut html, TITLES[9], "uvi_tiers", ds, &d.uvi_tiers, uvi_svg);
    section(
        &mut html,
        TITLES[10],
        "community_health_weekly",
        ds,
        &d.health,
        health_svg,
    );
    money_section(&mut html, d);
    section(&mut html, TITLES[12], "dq_daily", ds, &d.dq, |rows| {
        format!("{}{}", dq_svg(rows), dq_table(rows, ds))
    });
    html.push_str("</body>\n</html>\n");
    html
}

/// A failure to write the report file, as an output error (exit 4).
pub fn write_error(path: &std::path::Path, e: &std::io::Error) -> Error {
    Error::Sink(crate::sink::SinkError::Storage {
        url: path.display().to_string(),
        message: format!(
            "cannot write the report: {e}; check that the directory exists and is writable"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn rows(cols: &[(&str, Vec<Option<&str>>)], nums: &[(&str, Vec<Option<f64>>)]) -> Rows {
        let mut fields = vec![];
        let mut arrays: Vec<Arc<dyn Array>> = vec![];
        for (n, v) in cols {
            fields.push(Field::new(*n, DataType::Utf8, true));
            arrays.push(Arc::new(StringArray::from(v.clone())));
        }
        for (n, v) in nums {
            fields.push(Field::new(*n, DataType::Float64, true));
            arrays.push(Arc::new(Float64Array::from(v.clone())));
        }
        let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
        Rows::from_batches(&[b]).unwrap()
    }

    #[test]
    fn escapes_markup_and_keeps_chinese() {
        assert_eq!(
            escape(r#"<b>"宝妈群" & 'x'</b>"#),
            "&lt;b&gt;&quot;宝妈群&quot; &amp; &#39;x&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn missing_tables_say_no_data_and_text_is_escaped() {
        let health = rows(
            &[
                (
                    "community_id",
                    vec![Some("深圳宝妈群"), Some("<script>x</script>")],
                ),
                ("weakest_indicator", vec![Some("nps"), None]),
            ],
            &[("health_score", vec![Some(72.5), None])],
        );
        let d = ReportData {
            project: "p & q".into(),
            ds: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            funnel_steps: Found::Missing,
            retention: Found::Missing,
            segments: Found::Missing,
            transitions: Found::Unreadable("bad <col>".into()),
            uvi_tiers: Found::Missing,
            health: Found::Rows(health),
            gmv: Found::Missing,
            repurchase: Found::Missing,
            ltv: Found::Missing,
            profile: Found::Missing,
            dq: Found::Missing,
            kpi: Found::Missing,
            campaigns: Found::Missing,
            sentiment_trend: Found::Missing,
            sentiment_today: Found::Missing,
            tags: Found::Missing,
            four_d: Found::Missing,
        };
        let html = render(&d);
        for t in TITLES {
            assert!(html.contains(&format!("<h2>{t}</h2>")), "{t}");
        }
        for t in MONEY_PARTS {
            assert!(html.contains(&format!("<h3>{t}</h3>")), "{t}");
        }
        // 5 sections of the first pack (all but health, which has rows, and
        // transitions, unreadable), the 4 new sections without parts, the 4
        // parts of "Money and customers" and the 2 of "Comment sentiment"
        assert_eq!(html.matches("no data for 2026-11-21").count(), 15, "{html}");
        for table in [
            "orders_daily",
            "repurchase",
            "ltv_cohorts",
            "user_profile_summary",
        ] {
            assert!(
                html.contains(&format!("no data for 2026-11-21 (table {table})")),
                "{table}"
            );
        }
        assert!(html.contains("cannot read segment_transitions: bad &lt;col&gt;"));
        assert!(html.contains(">深圳宝妈群</text>"));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script"));
        assert!(html.contains("p &amp; q — 2026-11-21"));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains("Noto Sans CJK SC"));
    }

    fn money_data(gmv: Found, repurchase: Found, ltv: Found, profile: Found) -> ReportData {
        ReportData {
            project: "p".into(),
            ds: NaiveDate::from_ymd_opt(2026, 10, 30).unwrap(),
            funnel_steps: Found::Missing,
            retention: Found::Missing,
            segments: Found::Missing,
            transitions: Found::Missing,
            uvi_tiers: Found::Missing,
            health: Found::Missing,
            gmv,
            repurchase,
            ltv,
            profile,
            dq: Found::Missing,
            kpi: Found::Missing,
            campaigns: Found::Missing,
            sentiment_trend: Found::Missing,
            sentiment_today: Found::Missing,
            tags: Found::Missing,
            four_d: Found::Missing,
        }
    }

    /// The HTML of the "Money and customers" section alone.
    fn money_html(d: &ReportData) -> String {
        let html = render(d);
        let start = html.find("<h2>Money and customers</h2>").expect("section");
        let end = start + html[start..].find("</section>").expect("end");
        html[start..end].to_string()
    }

    #[test]
    fn money_section_draws_gmv_repurchase_ltv_and_profile() {
        let gmv = rows(
            &[("dt", vec![Some("2026-10-29"), Some("2026-10-30")])],
            &[
                ("gmv", vec![Some(1234.5), Some(99.0)]),
                ("orders", vec![Some(12.0), Some(3.0)]),
            ],
        );
        let repurchase = rows(
            &[("value", vec![Some("high"), None])],
            &[
                ("window_days", vec![Some(30.0), Some(30.0)]),
                ("buyers", vec![Some(40.0), Some(5.0)]),
                ("repeat_buyers", vec![Some(10.0), Some(0.0)]),
                ("repurchase_rate", vec![Some(0.25), Some(0.0)]),
            ],
        );
        // 10 cohorts, newest first: only the 8 newest are drawn
        let weeks: Vec<String> = (0..10)
            .map(|k| format!("2026-{:02}-{:02}", 10 - k / 4, 26 - 7 * (k % 4)))
            .collect();
        let mut week_col = vec![];
        let (mut window, mut users, mut ltv) = (vec![], vec![], vec![]);
        for (k, w) in weeks.iter().enumerate() {
            for days in [7.0, 30.0] {
                week_col.push(Some(w.as_str()));
                window.push(Some(days));
                users.push(Some(100.0 + k as f64));
                ltv.push(Some(days / 7.0 + k as f64));
            }
        }
        let ltv = rows(
            &[("cohort_week", week_col)],
            &[
                ("window_days", window),
                ("cohort_users", users),
                ("ltv", ltv),
            ],
        );
        let profile = rows(
            &[
                (
                    "attribute",
                    vec![Some("generation"), Some("generation"), Some("region")],
                ),
                ("value", vec![Some("00后"), None, Some("<Overseas>")]),
            ],
            &[
                ("users", vec![Some(1500.0), Some(20.0), Some(30.0)]),
                ("share_of_users", vec![Some(0.5), Some(0.01), Some(0.02)]),
                ("conversion_90", vec![Some(0.1), None, Some(0.2)]),
                ("arpu_90", vec![Some(12.346), None, Some(1234.5)]),
                ("share_of_revenue", vec![Some(0.4), None, Some(0.03)]),
            ],
        );
        let d = money_data(
            Found::Rows(gmv),
            Found::Rows(repurchase),
            Found::Rows(ltv),
            Found::Rows(profile),
        );
        let html = money_html(&d);
        assert!(!html.contains("no data for"), "{html}");
        assert_eq!(html.matches("<svg ").count(), 2, "GMV and LTV charts");
        assert!(
            html.contains("2026-10-29: GMV 1,234.50, 12 orders"),
            "{html}"
        );
        assert!(html.contains("<polyline"), "{html}");
        assert!(html.contains("<td>(not scored)</td>"), "{html}");
        assert!(html.contains("<td class=\"num\">25.0%</td>"), "{html}");
        // the 8 newest cohorts in the legend, not the 2 oldest
        for w in &weeks[..LTV_COHORTS] {
            assert!(html.contains(&format!(">{w} (")), "{w} missing");
        }
        for w in &weeks[LTV_COHORTS..] {
            assert!(!html.contains(w.as_str()), "{w} drawn");
        }
        assert!(html.contains("30 days: LTV 4.29 (100 users)"), "{html}");
        // profile: Chinese values as text, NULL as unknown, markup escaped
        assert!(html.contains("<th>generation</th>") && html.contains("<th>region</th>"));
        assert!(html.contains("<td>00后</td>"), "{html}");
        assert!(html.contains("<td>unknown</td>"), "{html}");
        assert!(html.contains("<td>&lt;Overseas&gt;</td>"), "{html}");
        assert!(!html.contains("<Overseas>"));
        assert!(html.contains("<td class=\"num\">1,234.50</td>"), "{html}");
        assert!(html.contains("<td class=\"num\">12.35</td>"), "{html}");
    }

    #[test]
    fn money_section_parts_without_rows_say_no_data() {
        let gmv = rows(
            &[("dt", vec![Some("2026-10-30")])],
            &[("gmv", vec![Some(5.0)]), ("orders", vec![Some(1.0)])],
        );
        let d = money_data(
            Found::Rows(gmv),
            Found::Missing,
            Found::Missing,
            Found::Unreadable("no column <ltv>".into()),
        );
        let html = money_html(&d);
        assert_eq!(html.matches("<svg ").count(), 1, "{html}");
        assert!(html.contains("no data for 2026-10-30 (table repurchase)"));
        assert!(html.contains("no data for 2026-10-30 (table ltv_cohorts)"));
        assert!(html.contains("cannot read user_profile_summary: no column &lt;ltv&gt;"));
    }

    #[tokio::test]
    async fn has_column_looks_at_the_table_schema() {
        let ctx = SessionContext::new();
        ctx.sql("create table uvi_tiers as values ('all', 'high')")
            .await
            .unwrap();
        ctx.sql(
            "create table uvi_tiers_b as select column1 as breakdown, column2 as uvi_tier \
             from uvi_tiers",
        )
        .await
        .unwrap();
        assert!(has_column(&ctx, "uvi_tiers_b", "breakdown").await);
        assert!(!has_column(&ctx, "uvi_tiers", "breakdown").await);
        assert!(!has_column(&ctx, "no_such_table", "breakdown").await);
    }

    #[test]
    fn money_has_cents_and_separators() {
        assert_eq!(money(Some(1234567.891)), "1,234,567.89");
        assert_eq!(money(Some(-12.5)), "-12.50");
        assert_eq!(money(Some(0.004)), "0.00");
        assert_eq!(money(None), "–");
    }

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(Some(1234567.0)), "1,234,567");
        assert_eq!(count(Some(12.0)), "12");
        assert_eq!(count(None), "–");
    }

    #[test]
    fn the_report_opens_with_the_kpi_scorecard() {
        // platform: interaction_rate met over 7 days, missed over the
        // quarter; c1 misses 2 of its 2 KPIs, c2 1 of 2, c3 none
        let kpi = rows(
            &[
                (
                    "scope",
                    vec![
                        Some("platform"),
                        Some("platform"),
                        Some("community"),
                        Some("community"),
                        Some("community"),
                        Some("community"),
                        Some("community"),
                        Some("community"),
                    ],
                ),
                (
                    "community_id",
                    vec![
                        None,
                        None,
                        Some("c1"),
                        Some("c1"),
                        Some("c2"),
                        Some("c2"),
                        Some("c3"),
                        Some("c3"),
                    ],
                ),
                (
                    "period",
                    vec![
                        Some("7d"),
                        Some("qtd"),
                        Some("7d"),
                        Some("7d"),
                        Some("7d"),
                        Some("7d"),
                        Some("7d"),
                        Some("qtd"),
                    ],
                ),
                (
                    "kpi",
                    vec![
                        Some("interaction_rate"),
                        Some("interaction_rate"),
                        Some("bounce_rate"),
                        Some("interaction_rate"),
                        Some("bounce_rate"),
                        Some("interaction_rate"),
                        Some("interaction_rate"),
                        Some("interaction_rate"),
                    ],
                ),
                (
                    "direction",
                    vec![
                        Some(">="),
                        Some(">="),
                        Some("<="),
                        Some(">="),
                        Some("<="),
                        Some(">="),
                        Some(">="),
                        Some(">="),
                    ],
                ),
            ],
            &[
                (
                    "actual",
                    vec![
                        Some(0.2),
                        Some(0.1),
                        Some(0.5),
                        Some(0.1),
                        Some(0.5),
                        Some(0.3),
                        Some(0.3),
                        Some(0.01),
                    ],
                ),
                ("target", vec![Some(0.15); 8]),
                ("target_high", vec![None; 8]),
                (
                    "met",
                    vec![
                        Some(1.0),
                        Some(0.0),
                        Some(0.0),
                        Some(0.0),
                        Some(0.0),
                        Some(1.0),
                        Some(1.0),
                        Some(0.0),
                    ],
                ),
            ],
        );
        let mut d = money_data(
            Found::Missing,
            Found::Missing,
            Found::Missing,
            Found::Missing,
        );
        d.kpi = Found::Rows(kpi);
        let html = render(&d);
        let first_h2 = html.find("<h2>").unwrap();
        assert!(
            html[first_h2..].starts_with("<h2>KPI scorecard</h2>"),
            "{html}"
        );
        assert!(html.find("<h2>KPI scorecard</h2>") < html.find("<h2>Funnels</h2>"));
        assert!(html.contains(
            "<tr><td>interaction_rate</td><td class=\"num\">20.0%</td><td class=\"num\">≥ 15.0%</td>\
             <td class=\"met\">met</td><td class=\"num\">10.0%</td><td class=\"num\">≥ 15.0%</td>\
             <td class=\"missed\">missed</td></tr>"
        ), "{html}");
        // c1 (2 missed) before c2 (1); c3 misses only over the quarter: not listed
        let c1 = html.find(
            "<tr><td>c1</td><td class=\"num\">2 of 2</td><td>bounce_rate, interaction_rate</td>",
        );
        let c2 = html.find("<tr><td>c2</td><td class=\"num\">1 of 2</td><td>bounce_rate</td>");
        assert!(c1.is_some() && c2.is_some() && c1 < c2, "{html}");
        assert!(!html.contains("<td>c3</td>"), "{html}");
    }
}

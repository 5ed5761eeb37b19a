//! The sections the report opens with, what an operator reads first: the KPI
//! scorecard against its targets, then campaigns, the sentiment of
//! comments, the most common tags and the four-dimension distribution.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{BLUE, ORANGE, Rows, Svg, count, escape, pct};

/// A KPI's value as its target is written: shares as percentages, the
/// K-factor as a plain number.
fn kpi_value(kpi: &str, v: Option<f64>) -> String {
    match (kpi, v) {
        ("k_factor", Some(v)) => format!("{v:.2}"),
        _ => pct(v),
    }
}

/// `≥ 15.0%`, `≤ 12.0%`, `12.0%–20.0%`.
fn kpi_target(kpi: &str, direction: &str, target: Option<f64>, high: Option<f64>) -> String {
    match direction {
        "between" => format!("{}–{}", kpi_value(kpi, target), kpi_value(kpi, high)),
        ">=" => format!("≥ {}", kpi_value(kpi, target)),
        "<=" => format!("≤ {}", kpi_value(kpi, target)),
        other => format!("{other} {}", kpi_value(kpi, target)),
    }
}

fn met_cell(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "<td class=\"met\">met</td>",
        Some(false) => "<td class=\"missed\">missed</td>",
        None => "<td>–</td>",
    }
}

/// A platform KPI over one period: the actual and the target as shown,
/// and whether it is met.
type KpiCell = (String, String, Option<bool>);

/// The platform's KPIs for 7 days and the quarter to date, then the
/// communities that miss the most KPIs over 7 days (at most 10).
pub(super) fn scorecard(rows: &Rows) -> String {
    let scope = rows.text("scope");
    let community = rows.text("community_id");
    let period = rows.text("period");
    let kpi = rows.text("kpi");
    let actual = rows.num("actual");
    let target = rows.num("target");
    let high = rows.num("target_high");
    let direction = rows.text("direction");
    let met = rows.num("met");
    // kpi -> period -> (actual, target text, met)
    let mut platform: BTreeMap<String, BTreeMap<String, KpiCell>> = BTreeMap::new();
    let mut order: Vec<String> = vec![];
    // community -> (missed KPIs, KPIs with a value)
    let mut communities: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for i in 0..rows.len() {
        let k = kpi[i].clone().unwrap_or_default();
        let m = met[i].map(|m| m != 0.0);
        let p = period[i].clone().unwrap_or_default();
        if scope[i].as_deref() == Some("platform") {
            if !order.contains(&k) {
                order.push(k.clone());
            }
            let t = kpi_target(
                &k,
                direction[i].as_deref().unwrap_or(""),
                target[i],
                high[i],
            );
            platform
                .entry(k.clone())
                .or_default()
                .insert(p, (kpi_value(&k, actual[i]), t, m));
        } else if p == "7d" {
            let name = community[i]
                .clone()
                .unwrap_or_else(|| "(no community)".into());
            let e = communities.entry(name).or_default();
            if m.is_some() {
                e.1 += 1;
            }
            if m == Some(false) {
                e.0.push(k);
            }
        }
    }
    let mut out = String::from(
        "<table class=\"kpi\"><tr><th>KPI</th><th>7 days</th><th>target</th><th></th>\
         <th>quarter to date</th><th>target</th><th></th></tr>",
    );
    for k in &order {
        let _ = write!(out, "<tr><td>{}</td>", escape(k));
        for p in ["7d", "qtd"] {
            match platform.get(k).and_then(|m| m.get(p)) {
                Some((a, t, m)) => {
                    let _ = write!(
                        out,
                        "<td class=\"num\">{}</td><td class=\"num\">{}</td>{}",
                        escape(a),
                        escape(t),
                        met_cell(*m)
                    );
                }
                None => out.push_str("<td>–</td><td>–</td><td>–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    let mut worst: Vec<(&String, &(Vec<String>, usize))> = communities
        .iter()
        .filter(|(_, (missed, _))| !missed.is_empty())
        .collect();
    // most KPIs missed first, then by name
    worst.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(b.0)));
    let _ = write!(out, "<h3>Communities that miss the most, last 7 days</h3>");
    if worst.is_empty() {
        out.push_str("<p class=\"empty\">no community misses a KPI</p>");
        return out;
    }
    out.push_str(
        "<table class=\"kpi-communities\"><tr><th>community</th><th>missed</th><th>KPIs missed</th></tr>",
    );
    for (name, (missed, scored)) in worst.into_iter().take(10) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{} of {}</td><td>{}</td></tr>",
            escape(name),
            missed.len(),
            scored,
            escape(&missed.join(", "))
        );
    }
    out.push_str("</table>");
    out
}

/// The campaigns with the most participants (at most 10).
pub(super) fn campaigns(rows: &Rows) -> String {
    let id = rows.text("campaign_id");
    let nums = [
        "exposed_users",
        "participants",
        "first_day_participation_rate",
        "retention_d1",
        "control_retention_d1",
        "retention_d3",
        "conversion_7d",
        "revenue_per_participant_7d",
        "streak_7_share",
    ]
    .map(|c| rows.num(c));
    let mut out = String::from(
        "<table class=\"campaigns\"><tr><th>campaign</th><th>exposed</th><th>participants</th>\
         <th>first-day participation</th><th>day-1 retention</th><th>(non-participants)</th>\
         <th>day-3 retention</th><th>7-day conversion</th><th>revenue per participant</th>\
         <th>reached a 7-day streak</th></tr>",
    );
    for i in 0..rows.len() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(id[i].as_deref().unwrap_or("?")),
            count(nums[0][i]),
            count(nums[1][i]),
            pct(nums[2][i]),
            pct(nums[3][i]),
            pct(nums[4][i]),
            pct(nums[5][i]),
            pct(nums[6][i]),
            super::money(nums[7][i]),
            pct(nums[8][i]),
        );
    }
    out.push_str("</table>");
    out
}

/// Positive and negative shares of scored comments per day (the whole
/// platform), the last 30 days.
pub(super) fn sentiment_svg(rows: &Rows) -> String {
    let dt = rows.text("dt");
    let scored = rows.num("scored");
    let positive = rows.num("positive");
    let negative = rows.num("negative");
    let (left, top, plot_w, plot_h) = (70.0, 20.0, 820.0, 180.0);
    let n = rows.len().max(1);
    let step = plot_w / n as f64;
    let mut svg = Svg::new(1000.0, top + plot_h + 70.0);
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = top + plot_h * (1.0 - t);
        svg.line(left, y, left + plot_w, y, "grid");
        svg.text(left - 6.0, y + 4.0, "end", "tick", &pct(Some(t)));
    }
    let (mut pos, mut neg) = (vec![], vec![]);
    let every = n.div_ceil(10);
    for i in 0..rows.len() {
        let x = left + step * (i as f64 + 0.5);
        let day = dt[i].as_deref().unwrap_or("?");
        if let Some(s) = scored[i].filter(|s| *s > 0.0) {
            let p = positive[i].unwrap_or(0.0) / s;
            let q = negative[i].unwrap_or(0.0) / s;
            pos.push((x, top + plot_h * (1.0 - p)));
            neg.push((x, top + plot_h * (1.0 - q)));
            svg.dot(
                x,
                top + plot_h * (1.0 - q),
                ORANGE,
                &format!(
                    "{day}: {} negative of {} scored",
                    pct(Some(q)),
                    count(Some(s))
                ),
            );
        }
        if i % every == 0 || i + 1 == rows.len() {
            svg.text(
                x,
                top + plot_h + 16.0,
                "middle",
                "tick",
                day.get(5..).unwrap_or(day),
            );
        }
    }
    svg.polyline(&pos, BLUE);
    svg.polyline(&neg, ORANGE);
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, "axis");
    let y = top + plot_h + 36.0;
    svg.rect(left, y, 14.0, 14.0, BLUE, "positive");
    svg.text(left + 20.0, y + 12.0, "start", "label", "positive share");
    svg.rect(left + 180.0, y, 14.0, 14.0, ORANGE, "negative");
    svg.text(left + 200.0, y + 12.0, "start", "label", "negative share");
    svg.finish("Comment sentiment")
}

/// The communities whose negative share spiked on the day (rows of
/// sentiment_daily with `negative_spike`), or a line saying there is none.
pub(super) fn sentiment_spikes(rows: &Rows) -> String {
    let spike = rows.num("negative_spike");
    if !spike.contains(&Some(1.0)) {
        return "<p class=\"empty\">no community's negative share spiked (z ≥ 3 against its 28 days before)</p>".into();
    }
    let community = rows.text("community_id");
    let share = rows.num("negative_share");
    let baseline = rows.num("baseline_negative_share");
    let z = rows.num("z_score");
    let scored = rows.num("scored");
    let mut out = String::from(
        "<table class=\"spikes\"><tr><th>community</th><th>scored comments</th>\
         <th>negative share</th><th>28-day baseline</th><th>z</th></tr>",
    );
    for i in (0..rows.len()).filter(|&i| spike[i] == Some(1.0)) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(community[i].as_deref().unwrap_or("(no community)")),
            count(scored[i]),
            pct(share[i]),
            pct(baseline[i]),
            z[i].map_or("–".into(), |z| format!("{z:.1}")),
        );
    }
    out.push_str("</table>");
    out
}

/// The most common tags: a bar per tag (and value), share of scored users.
pub(super) fn tags_svg(rows: &Rows) -> String {
    let tag = rows.text("tag");
    let value = rows.text("value");
    let users = rows.num("users");
    let share = rows.num("share_of_users");
    let (left, top, bar_h, plot_w) = (260.0, 10.0, 20.0, 560.0);
    let mut svg = Svg::new(1000.0, top + bar_h * rows.len() as f64 + 20.0);
    for i in 0..rows.len() {
        let y = top + bar_h * i as f64;
        let name = match &value[i] {
            Some(v) => format!("{} = {v}", tag[i].as_deref().unwrap_or("?")),
            None => tag[i].clone().unwrap_or_default(),
        };
        let s = share[i].unwrap_or(0.0).clamp(0.0, 1.0);
        svg.text(left - 8.0, y + 14.0, "end", "label", &name);
        svg.rect(
            left,
            y + 3.0,
            plot_w * s,
            bar_h - 6.0,
            BLUE,
            &format!("{name}: {} users", count(users[i])),
        );
        svg.text(
            left + plot_w * s + 6.0,
            y + 14.0,
            "start",
            "value",
            &format!("{} ({})", pct(share[i]), count(users[i])),
        );
    }
    svg.finish("Top tags")
}

/// The share of users per band of 20 of each dimension and the composite:
/// one row of five cells per dimension, darker for a larger share.
pub(super) fn four_d_svg(rows: &Rows) -> String {
    const DIMENSIONS: [(&str, &str); 5] = [
        ("spending_power", "spending power 消费力"),
        ("social_power", "social power 社交力"),
        ("decision_power", "decision power 决策力"),
        ("demand_sensitivity", "demand sensitivity 需求敏感度"),
        ("four_d_score", "four-dimension score"),
    ];
    const BANDS: [&str; 5] = ["[0,20)", "[20,40)", "[40,60)", "[60,80)", "[80,100]"];
    let segment = rows.text("segment");
    let value = rows.text("value");
    let share = rows.num("share_of_users");
    let users = rows.num("users");
    let (left, top, cell_w, cell_h) = (260.0, 30.0, 110.0, 30.0);
    let mut svg = Svg::new(1000.0, top + cell_h * DIMENSIONS.len() as f64 + 20.0);
    for (b, band) in BANDS.iter().enumerate() {
        svg.text(
            left + cell_w * (b as f64 + 0.5),
            top - 10.0,
            "middle",
            "tick",
            band,
        );
    }
    for (d, (key, label)) in DIMENSIONS.iter().enumerate() {
        let y = top + cell_h * d as f64;
        svg.text(left - 8.0, y + 20.0, "end", "label", label);
        for (b, band) in BANDS.iter().enumerate() {
            let i = (0..rows.len())
                .find(|&i| segment[i].as_deref() == Some(key) && value[i].as_deref() == Some(band));
            let s = i.and_then(|i| share[i]).unwrap_or(0.0);
            let x = left + cell_w * b as f64;
            let title = format!(
                "{label} {band}: {} users, {}",
                count(i.and_then(|i| users[i]).or(Some(0.0))),
                pct(Some(s))
            );
            svg.rect(
                x + 1.0,
                y + 1.0,
                cell_w - 2.0,
                cell_h - 2.0,
                &super::heat(s),
                &title,
            );
            svg.text(
                x + cell_w / 2.0,
                y + 20.0,
                "middle",
                if s > 0.5 { "cell-dark" } else { "cell" },
                &pct(Some(s)),
            );
        }
    }
    svg.finish("Four dimensions")
}

//! The model pack on real data: the UCI Online Retail transactions (406,829
//! purchase lines of a UK web shop, `tests/realdata/`), converted by its
//! script and run as a full refresh. Checks that every model and data test
//! passes and that the invariants shoal's metric reference (docs/metrics.md)
//! implies hold on real, messy input (refunds as negative amounts, minute
//! timestamps, 37 skewed communities).

use crate::common::{TempProject, repo_root};
use crate::crosscheck::python;

/// One number from `shoal query`.
fn scalar(p: &TempProject, sql: &str) -> f64 {
    let run = p.shoal(&["query", sql, "--format", "json"]);
    run.expect_code(0);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let row = rows[0].as_object().unwrap();
    let v = row.values().next().unwrap();
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{sql}: not a number: {v}"))
}

#[test]
fn pack_invariants_hold_on_real_retail_data() {
    let p = TempProject::with_repo_project();
    let events = p.path().join("data/events");
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/realdata/convert.py"))
        .arg(&events)
        .arg("--input")
        .arg(repo_root().join("tests/realdata/onlineretail.rda"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "convert.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the last five months (every 90-day window and cohort of the run day) keep the test short
    for entry in std::fs::read_dir(&events).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "dt=2011-07-01" {
            std::fs::remove_dir_all(path).unwrap();
        }
    }
    // refunds are negative purchase lines here: they are real money, not
    // absurd amounts, so the quarantine's lower bound is lowered
    p.shoal(&[
        "run",
        "--ds",
        "2011-12-09",
        "--full-refresh",
        "--set",
        "vars.min_amount=-1000000000",
    ])
    .expect_code(0);
    p.shoal(&["test"]).expect_code(0);

    let zero = |what: &str, sql: &str| {
        let n = scalar(&p, sql);
        assert_eq!(n, 0.0, "{what}: {n} violations ({sql})");
    };
    let unit = |c: &str| format!("({c} is not null and not ({c} between 0 and 1))");
    zero(
        "community_daily rates in [0, 1]",
        &format!(
            "select count(*) from community_daily where {} or {} or {} or {} or {}",
            unit("stickiness"),
            unit("click_conversion"),
            unit("purchase_conversion"),
            unit("activity_conversion"),
            unit("bounce_rate")
        ),
    );
    zero(
        "retention never above the cohort",
        &format!(
            "select count(*) from retention_cohorts where retained_day_n > retained_within_n \
             or retained_within_n > cohort_size or {} or {}",
            unit("retention_day_n"),
            unit("retention_within_n")
        ),
    );
    zero(
        "funnel steps never increase",
        "select count(*) from (select users, lag(users) over (partition by funnel, breakdown, \
         breakdown_value order by step) as prev from funnel_steps) where users > prev",
    );
    zero(
        "uvi tiers follow the percentile (ties to the higher tier)",
        "select count(*) from uvi_scores where (uvi_percentile >= 80) <> (uvi_tier = 'high') \
         or (uvi_percentile >= 50 and uvi_percentile < 80) <> (uvi_tier = 'medium')",
    );
    let shares = scalar(&p, "select sum(share_of_users) from uvi_tiers");
    assert!((shares - 1.0).abs() < 1e-9, "tier shares sum to {shares}");
    zero(
        "kpi rates in [0, 1]",
        &format!(
            "select count(*) from kpi_scorecard where kpi in ('retention_7d', 'bounce_rate') \
             and {}",
            unit("actual")
        ),
    );
    // every purchase line lands in user_daily: counts and money add up to the source
    let lines = scalar(&p, "select count(*) from events");
    let purchases = scalar(&p, "select sum(purchases) from user_daily");
    assert_eq!(purchases, lines, "purchases in user_daily vs source lines");
    let source_money = scalar(&p, "select sum(amount) from events");
    let daily_money = scalar(&p, "select sum(revenue) from user_daily");
    assert!(
        (source_money - daily_money).abs() < 1e-6 * source_money.abs(),
        "revenue {daily_money} vs source {source_money}"
    );
    // purchase-only data has no likes, comments or shares: every interaction
    // coefficient, hence every uvi, is 0, and all users tie in the low tier
    let scored = scalar(&p, "select count(*) from uvi_scores");
    assert!(scored > 1000.0, "{scored} users scored");
    zero(
        "uvi is 0 without interactions",
        "select count(*) from uvi_scores where uvi <> 0 or uvi_tier <> 'low'",
    );
}

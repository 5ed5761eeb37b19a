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
    let shares = scalar(
        &p,
        "select sum(share_of_users) from uvi_tiers where breakdown = 'all'",
    );
    assert!((shares - 1.0).abs() < 1e-9, "tier shares sum to {shares}");
    zero(
        "kpi rates in [0, 1]",
        &format!(
            "select count(*) from kpi_scorecard where kpi in ('retention_7d', 'retention_day_7', \
             'bounce_rate', 'community_activity') and {}",
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

    // Orders are invoices (order_id = InvoiceNo): many lines each. A
    // cancellation invoice ('C…', negative lines) is a refund, not an order:
    // orders + refunds = the day's invoices, and refunds = its invoices
    // with a negative total.
    let day_lines = scalar(
        &p,
        "select sum(purchases) from user_daily where dt = date '2011-12-09'",
    );
    let day_orders = scalar(
        &p,
        "select orders from orders_daily where scope = 'platform' and dt = date '2011-12-09'",
    );
    let day_refunds = scalar(
        &p,
        "select refunds from orders_daily where scope = 'platform' and dt = date '2011-12-09'",
    );
    let invoices = scalar(
        &p,
        "select count(distinct order_id) from events where dt = '2011-12-09' and event_type = 'purchase'",
    );
    let negative = scalar(
        &p,
        "select count(*) from (select order_id from events where dt = '2011-12-09' \
         and event_type = 'purchase' group by order_id having sum(amount) < 0)",
    );
    assert!(
        day_orders >= 1.0
            && day_orders < day_lines
            && day_orders + day_refunds == invoices
            && day_refunds == negative,
        "orders on 2011-12-09: {day_orders}, refunds {day_refunds}, purchase lines {day_lines}, \
         invoices {invoices} ({negative} with a negative total)"
    );
    // net GMV of the day is the sum of its purchase amounts
    let gmv = scalar(
        &p,
        "select net_gmv from orders_daily where scope = 'platform' and dt = date '2011-12-09'",
    );
    let day_money = scalar(
        &p,
        "select sum(revenue) from user_daily where dt = date '2011-12-09'",
    );
    assert!(
        (gmv - day_money).abs() < 1e-6 * day_money.abs(),
        "orders_daily net_gmv {gmv} vs purchase amounts of the day {day_money}"
    );
    zero(
        "repurchase rates in [0, 1]",
        &format!(
            "select count(*) from repurchase where repurchase_rate is null or {}",
            unit("repurchase_rate")
        ),
    );
    let repeat = scalar(
        &p,
        "select repurchase_rate from repurchase where scope = 'platform' and window_days = 90",
    );
    assert!(
        repeat > 0.0,
        "real customers reorder within 90 days: {repeat}"
    );
    // cumulative revenue per user of a cohort never falls as the window grows
    zero(
        "ltv never decreases with the day count",
        "select count(*) from (select ltv, lag(ltv) over (partition by cohort_kind, cohort_week, \
         scope, value order by window_days) as prev from ltv_cohorts where ltv is not null) \
         where ltv < prev",
    );
    let closed = scalar(
        &p,
        "select count(*) from ltv_cohorts where window_days = 90 and ltv > 0 and scope = 'all'",
    );
    assert!(closed >= 1.0, "no cohort with a 90-day ltv: {closed}");
    zero(
        "churn rates in [0, 1]",
        &format!(
            "select count(*) from churn_daily where {}",
            unit("churn_rate")
        ),
    );
    zero(
        "platform_daily: dau <= wau <= mau",
        "select count(*) from platform_daily where not (dau <= wau and wau <= mau)",
    );
}

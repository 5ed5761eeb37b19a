//! orders, orders_daily, repurchase and the order features of user_features
//! (docs/metrics.md#orders, docs/metrics.md#orders_daily,
//! docs/metrics.md#repurchase, docs/metrics.md#user_features) on a
//! hand-built history; one --full-refresh run for 2026-11-21 builds every day.

use crate::common::{Ev, TempProject};
use crate::pack_util::{assert_rows, evc, project, run_full_refresh_in, with_referrer};

/// A purchase line: community, channel, order_id and amount.
fn buy(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    c: &'static str,
    channel: &'static str,
    order: Option<&'static str>,
    amount: Option<f64>,
) -> Ev {
    Ev {
        channel: Some(channel),
        order,
        amount,
        ..evc(id, t, u, "purchase", Some(c), None)
    }
}

/// D = 2026-11-21 (late_days 3); u5 is deleted.
///
/// | day   | user | order          | lines (community, channel, amount)           |
/// |-------|------|----------------|----------------------------------------------|
/// | 11-01 | uA   | o1             | c1 app 20                                    |
/// | 11-05 | uE   | (own, e1)      | c1 app 6                                     |
/// | 11-10 | uE   | o6             | c1 app 6                                     |
/// | 11-14 | uB   | o2             | c1 wechat 8, c1 wechat 12 (arrives on 11-15) |
/// | 11-18 | uA   | (own, a2)      | c2 app 30                                    |
/// | 11-20 | uA   | o3             | c1 app 10                                    |
/// | 11-21 | uA   | o4             | c1 app 10.5 (10:00), c2 web 4.5 (10:05)      |
/// | 11-21 | uB   | (own, b2)      | c2 wechat 5                                  |
/// | 11-21 | uB   | (own, b3)      | c2 wechat NULL                               |
/// | 11-21 | uC   | o5             | c1 web 40                                    |
/// | 11-21 | u5   | o9 (deleted)   | c1 app 100                                   |
///
/// uD only likes on 11-21.
fn fixture() -> TempProject {
    let p = project();
    let o = Some;
    p.events(
        "2026-11-01",
        "a",
        &[buy(
            "a1",
            "2026-11-01 09:00:00",
            "uA",
            "c1",
            "app",
            o("o1"),
            Some(20.0),
        )],
    );
    p.events(
        "2026-11-05",
        "a",
        &[buy(
            "e1",
            "2026-11-05 09:00:00",
            "uE",
            "c1",
            "app",
            None,
            Some(6.0),
        )],
    );
    p.events(
        "2026-11-10",
        "a",
        &[buy(
            "e2",
            "2026-11-10 09:00:00",
            "uE",
            "c1",
            "app",
            o("o6"),
            Some(6.0),
        )],
    );
    p.events(
        "2026-11-14",
        "a",
        &[buy(
            "b1",
            "2026-11-14 20:00:00",
            "uB",
            "c1",
            "wechat",
            o("o2"),
            Some(8.0),
        )],
    );
    // the second line of o2 arrives a day late: still one order on 11-14
    p.events(
        "2026-11-15",
        "a",
        &[buy(
            "b1b",
            "2026-11-14 20:01:00",
            "uB",
            "c1",
            "wechat",
            o("o2"),
            Some(12.0),
        )],
    );
    p.events(
        "2026-11-18",
        "a",
        &[buy(
            "a2",
            "2026-11-18 09:00:00",
            "uA",
            "c2",
            "app",
            None,
            Some(30.0),
        )],
    );
    p.events(
        "2026-11-20",
        "a",
        &[buy(
            "a3",
            "2026-11-20 09:00:00",
            "uA",
            "c1",
            "app",
            o("o3"),
            Some(10.0),
        )],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            buy(
                "a4",
                "2026-11-21 10:00:00",
                "uA",
                "c1",
                "app",
                o("o4"),
                Some(10.5),
            ),
            buy(
                "a5",
                "2026-11-21 10:05:00",
                "uA",
                "c2",
                "web",
                o("o4"),
                Some(4.5),
            ),
            buy(
                "b2",
                "2026-11-21 11:00:00",
                "uB",
                "c2",
                "wechat",
                None,
                Some(5.0),
            ),
            buy(
                "b3",
                "2026-11-21 11:30:00",
                "uB",
                "c2",
                "wechat",
                None,
                None,
            ),
            buy(
                "c1",
                "2026-11-21 12:00:00",
                "uC",
                "c1",
                "web",
                o("o5"),
                Some(40.0),
            ),
            buy(
                "x1",
                "2026-11-21 12:00:00",
                "u5",
                "c1",
                "app",
                o("o9"),
                Some(100.0),
            ),
            evc("d1", "2026-11-21 13:00:00", "uD", "like", Some("c1"), None),
        ],
    );
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    p
}

#[test]
fn orders_group_purchase_lines_by_order_id() {
    let p = fixture();
    let rows: Vec<String> = p
        .table("orders", "dt, user_id, order_key")
        .into_iter()
        .filter(|r| r.contains("dt=2026-11-14") || r.contains("dt=2026-11-21"))
        .collect();
    assert_rows(
        &rows,
        &[
            // o2: 8 + 12 = 20, the late line folded in; first line b1 (20:00)
            "user_id=uB order_key=o2 order_id=o2 dt=2026-11-14 order_time=2026-11-14T20:00:00Z community_id=c1 \
             channel=wechat lines=2 amount=20.0",
            // o4: 10.5 + 4.5 = 15; community and channel of the first line (a4, 10:00)
            "user_id=uA order_key=o4 order_id=o4 dt=2026-11-21 order_time=2026-11-21T10:00:00Z community_id=c1 \
             channel=app lines=2 amount=15.0",
            // purchases without order_id: one order each, keyed by event_id;
            // b3 has no amount: an order worth 0
            "user_id=uB order_key=b2 order_id=NULL community_id=c2 channel=wechat lines=1 amount=5.0",
            "user_id=uB order_key=b3 order_id=NULL community_id=c2 channel=wechat lines=1 amount=0.0",
            "user_id=uC order_key=o5 order_id=o5 community_id=c1 channel=web lines=1 amount=40.0",
            // u5 (deleted): nowhere
        ]
        .map(|s| s.to_string()),
    );
}

#[test]
fn orders_daily_counts_orders_buyers_and_growth() {
    let p = fixture();
    let rows = p.table_on("orders_daily", "2026-11-21", "scope, value");
    assert_rows(
        &rows,
        &[
            // channel app on D: o4 (first line app) = 15, 1 order, uA (returning)
            // 7 days before (11-14..11-20): a2 30 + o3 10 = 40 -> mean 40/7; 15 / (40/7) - 1 = 1.625
            // orders 2 -> 2/7; 1 / (2/7) - 1 = 2.5; 11-14 had no app order: week-ago growth NULL
            format!(
                "scope=channel value=app gmv=15.0 orders=1 buyers=1 aov=15.0 new_buyers=0 returning_buyers=1 \
                 gmv_prev_7d_avg={} gmv_growth_7d=1.625 orders_prev_7d_avg={} orders_growth_7d=2.5 \
                 gmv_week_ago=0.0 gmv_growth_wow=NULL orders_week_ago=0 orders_growth_wow=NULL",
                40.0 / 7.0,
                2.0 / 7.0
            ),
            // web: o5 40 (a5 is o4's second line: o4 is app); uC's first order: new
            // nothing before: means 0, growth NULL
            "scope=channel value=web gmv=40.0 orders=1 buyers=1 aov=40.0 new_buyers=1 returning_buyers=0 \
             gmv_prev_7d_avg=0.0 gmv_growth_7d=NULL orders_prev_7d_avg=0.0 orders_growth_7d=NULL \
             gmv_week_ago=0.0 gmv_growth_wow=NULL"
                .to_string(),
            // wechat: b2 5 + b3 0 = 5, 2 orders, 1 buyer (uB, first order 11-14: returning)
            // before: o2 20 on 11-14 -> 20/7; 5 / (20/7) - 1 = 0.75; orders 2 / (1/7) - 1 = 13
            // week ago (11-14) 20 and 1: 5/20 - 1 = -0.75; 2/1 - 1 = 1
            format!(
                "scope=channel value=wechat gmv=5.0 orders=2 buyers=1 aov=2.5 new_buyers=0 returning_buyers=1 \
                 gmv_prev_7d_avg={} gmv_growth_7d=0.75 orders_growth_7d=13.0 gmv_week_ago=20.0 \
                 gmv_growth_wow=-0.75 orders_week_ago=1 orders_growth_wow=1.0",
                20.0 / 7.0
            ),
            // c1: o4 15 + o5 40 = 55, 2 orders, uA returning + uC new
            // before: o2 20 (11-14) + o3 10 (11-20) = 30 -> 30/7; 55 / (30/7) - 1 = 385/30 - 1
            // orders 2 / (2/7) - 1 = 6; week ago 20 and 1: 55/20 - 1 = 1.75, 2/1 - 1 = 1
            format!(
                "scope=community value=c1 gmv=55.0 orders=2 buyers=2 aov=27.5 new_buyers=1 returning_buyers=1 \
                 gmv_prev_7d_avg={} gmv_growth_7d={} orders_prev_7d_avg={} orders_growth_7d=6.0 \
                 gmv_week_ago=20.0 gmv_growth_wow=1.75 orders_week_ago=1 orders_growth_wow=1.0",
                30.0 / 7.0,
                385.0 / 30.0 - 1.0,
                2.0 / 7.0
            ),
            // c2: uB's b2 5 + b3 0; before: a2 30 (11-18) -> 30/7; 5 / (30/7) - 1 = 35/30 - 1
            // orders 2 / (1/7) - 1 = 13; 11-14 had no c2 order
            format!(
                "scope=community value=c2 gmv=5.0 orders=2 buyers=1 aov=2.5 new_buyers=0 returning_buyers=1 \
                 gmv_prev_7d_avg={} gmv_growth_7d={} orders_growth_7d=13.0 gmv_week_ago=0.0 gmv_growth_wow=NULL",
                30.0 / 7.0,
                35.0 / 30.0 - 1.0
            ),
            // platform: 15 + 5 + 0 + 40 = 60 over 4 orders (5 purchase events): aov 15, not 12
            // buyers uA, uB, uC; new: uC only
            // before: 20 + 30 + 10 = 60 -> 60/7; 60 / (60/7) - 1 = 6; orders 3 -> 4 / (3/7) - 1 = 25/3
            // week ago 20 and 1: 60/20 - 1 = 2; 4/1 - 1 = 3
            format!(
                "scope=platform value=NULL gmv=60.0 orders=4 buyers=3 aov=15.0 new_buyers=1 returning_buyers=2 \
                 gmv_prev_7d_avg={} gmv_growth_7d=6.0 orders_prev_7d_avg={} orders_growth_7d={} \
                 gmv_week_ago=20.0 gmv_growth_wow=2.0 orders_week_ago=1 orders_growth_wow=3.0 dt=2026-11-21",
                60.0 / 7.0,
                3.0 / 7.0,
                25.0 / 3.0
            ),
        ],
    );
}

#[test]
fn repurchase_rates_and_median_intervals() {
    let p = fixture();
    let rows = p.table_on("repurchase", "2026-11-21", "window_days, scope, value");
    let of = |scope: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.contains(&format!(" scope={scope} ")))
            .cloned()
            .collect()
    };
    // Every order is in the 30 days ending D (10-23 .. 11-21), so the two
    // windows agree. Orders per buyer (all communities):
    //   uA: 11-01, 11-18, 11-20, 11-21 -> 4, intervals 17, 2, 1
    //   uB: 11-14, 11-21, 11-21         -> 3, intervals 7, 0
    //   uC: 11-21                       -> 1
    //   uE: 11-05, 11-10                -> 2, interval 5
    // platform: 4 buyers, 3 repeat -> 0.75; 10 orders; intervals 0 1 2 5 7 17 -> (2 + 5) / 2
    let platform = |w: u32| {
        format!(
            "window_days={w} scope=platform value=NULL buyers=4 repeat_buyers=3 repurchase_rate=0.75 orders=10 \
         intervals=6 median_interval_days=3.5"
        )
    };
    assert_rows(&of("platform"), &[platform(30), platform(90)]);
    // per community (the order's community is its first line's):
    //   c1: uA 11-01, 11-20, 11-21 (19, 1); uB 11-14; uC 11-21; uE 11-05, 11-10 (5)
    //       -> 4 buyers, 2 repeat, 7 orders, intervals 1 5 19 -> 5
    //   c2: uA 11-18; uB 11-21, 11-21 (0) -> 2 buyers, 1 repeat, 3 orders, median 0
    let community = |w: u32| {
        [
            format!(
                "window_days={w} scope=community value=c1 buyers=4 repeat_buyers=2 repurchase_rate=0.5 \
                 orders=7 intervals=3 median_interval_days=5.0"
            ),
            format!(
                "window_days={w} scope=community value=c2 buyers=2 repeat_buyers=1 repurchase_rate=0.5 \
                 orders=3 intervals=1 median_interval_days=0.0"
            ),
        ]
    };
    assert_rows(&of("community"), &[community(30), community(90)].concat());
    // activity_layer on D: uA has 3 active days in 11-15..11-21 -> high_active;
    // uB (1), uC (1), uE (recency 11, no earlier history) -> normal
    //   high_active: uA -> 1 buyer, 1 repeat, 4 orders, intervals 1 2 17 -> 2
    //   normal: uB, uC, uE -> 3 buyers, 2 repeat, 6 orders, intervals 0 5 7 -> 5
    let layer = |w: u32| {
        [
            format!(
                "window_days={w} scope=activity_layer value=high_active buyers=1 repeat_buyers=1 \
                 repurchase_rate=1.0 orders=4 intervals=3 median_interval_days=2.0"
            ),
            format!(
                "window_days={w} scope=activity_layer value=normal buyers=3 repeat_buyers=2 \
                 repurchase_rate={} orders=6 intervals=3 median_interval_days=5.0",
                2.0 / 3.0
            ),
        ]
    };
    assert_rows(&of("activity_layer"), &[layer(30), layer(90)].concat());
    // uvi_tier and rfm_segment split the same 4 buyers and 10 orders
    for scope in ["uvi_tier", "rfm_segment"] {
        for w in ["30", "90"] {
            let (buyers, orders) = of(scope)
                .iter()
                .filter(|r| r.starts_with(&format!("window_days={w} ")))
                .map(|r| {
                    let n = |k: &str| -> i64 {
                        let v = r.split(&format!(" {k}=")).nth(1).unwrap();
                        v.split(' ').next().unwrap().parse().unwrap()
                    };
                    (n("buyers"), n("orders"))
                })
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert_eq!((buyers, orders), (4, 10), "{scope} {w}: {rows:?}");
        }
    }
}

#[test]
fn user_order_features_and_avg_order_value_per_order() {
    let p = fixture();
    let rows = p.table_on("user_features", "2026-11-21", "user_id");
    assert_rows(
        &rows,
        &[
            // uA: 4 orders (5 purchase events), last on D; intervals 17, 2, 1 -> median 2; 0 >= 2 is false
            "user_id=uA purchases_90=5 orders_90=4 days_since_last_order=0 median_order_interval_days=2.0 \
             purchase_cycle_due=false",
            // uB: 3 orders (4 events); intervals 7, 0 -> (0 + 7) / 2
            "user_id=uB purchases_90=4 orders_90=3 days_since_last_order=0 median_order_interval_days=3.5 \
             purchase_cycle_due=false",
            // uC: one order: no interval, so no median and no due flag
            "user_id=uC orders_90=1 days_since_last_order=0 median_order_interval_days=NULL purchase_cycle_due=NULL",
            // uD: no order at all
            "user_id=uD orders_90=0 days_since_last_order=NULL median_order_interval_days=NULL \
             purchase_cycle_due=NULL",
            // uE: 11-05, 11-10 -> median 5; last order 11 days ago: 11 >= 5, due
            "user_id=uE orders_90=2 days_since_last_order=11 median_order_interval_days=5.0 purchase_cycle_due=true",
        ]
        .map(|s| s.to_string()),
    );
    // avg_order_value = revenue / orders: uA 20 + 30 + 10 + 15 = 75 over 4
    // orders = 18.75 (75 over its 5 purchase events would be 15); uB 20 + 5
    // over 3 orders; conversion_rate stays purchase events / active days
    // (uA: 5 / 4 days 11-01, 11-18, 11-20, 11-21)
    let uvi = p.table_on("uvi_scores", "2026-11-21", "user_id");
    let get = |u: &str| {
        uvi.iter()
            .find(|r| r.starts_with(&format!("user_id={u} ")))
            .cloned()
            .unwrap_or_else(|| panic!("no uvi_scores row for {u}: {uvi:?}"))
    };
    assert_rows(
        &[get("uA"), get("uB")],
        &[
            "user_id=uA purchases=5 orders=4 revenue=75.0 avg_order_value=18.75 conversion_rate=1.25".to_string(),
            format!(
                "user_id=uB purchases=4 orders=3 revenue=25.0 avg_order_value={} conversion_rate=2.0",
                25.0 / 3.0
            ),
        ],
    );
}

/// A purchase line in c1 with a channel: `order` is the order_id (a refund
/// has its own, like a cancellation invoice) and a negative amount.
fn line(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    channel: &'static str,
    order: &'static str,
    amount: f64,
) -> Ev {
    buy(id, t, u, "c1", channel, Some(order), Some(amount))
}

/// Refunds and weekly LTV cohorts. D = 2026-11-21 (a Saturday; the ISO
/// weeks start on 11-02, 11-09 and 11-16), `vars.ltv_windows: [1, 7, 14]`,
/// and `vars.min_amount` lowered so that refunds (negative purchases with
/// their own order_id) pass through:
///
/// | day   | user | event                                           |
/// |-------|------|-------------------------------------------------|
/// | 11-02 | uA   | view (app), order o1 10                         |
/// | 11-03 | uB   | signup (wechat) invited by uA                   |
/// | 11-05 | uA   | order o2 20                                     |
/// | 11-06 | uA   | refund r1 −5                                    |
/// | 11-09 | uB   | order o4 30                                     |
/// | 11-16 | uC   | view (app), order o5 8                          |
/// | 11-20 | uA   | order o3 7                                      |
/// | 11-20 | uD   | view (web), refund r3 −4 (of nothing we saw)    |
/// | 11-21 | uC   | order o6 12                                     |
/// | 11-21 | uA   | refund r2 −3                                    |
fn refunds_fixture() -> TempProject {
    let p = project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!("{config}  ltv_windows: [1, 7, 14]\n  min_amount: -1000000000\n"),
    );
    let view = |id, t, u, channel| Ev {
        channel: Some(channel),
        ..evc(id, t, u, "view", Some("c1"), None)
    };
    run_full_refresh_in(
        p,
        "2026-11-21",
        vec![
            ("2026-11-02", view("v1", "2026-11-02 08:00:00", "uA", "app")),
            (
                "2026-11-02",
                line("p1", "2026-11-02 09:00:00", "uA", "app", "o1", 10.0),
            ),
            (
                "2026-11-03",
                with_referrer(
                    Ev {
                        channel: Some("wechat"),
                        ..evc(
                            "s1",
                            "2026-11-03 08:00:00",
                            "uB",
                            "signup",
                            Some("c1"),
                            None,
                        )
                    },
                    "uA",
                ),
            ),
            (
                "2026-11-05",
                line("p2", "2026-11-05 09:00:00", "uA", "app", "o2", 20.0),
            ),
            (
                "2026-11-06",
                line("p3", "2026-11-06 09:00:00", "uA", "app", "r1", -5.0),
            ),
            (
                "2026-11-09",
                line("p4", "2026-11-09 09:00:00", "uB", "wechat", "o4", 30.0),
            ),
            ("2026-11-16", view("v2", "2026-11-16 08:00:00", "uC", "app")),
            (
                "2026-11-16",
                line("p5", "2026-11-16 09:00:00", "uC", "app", "o5", 8.0),
            ),
            (
                "2026-11-20",
                line("p6", "2026-11-20 09:00:00", "uA", "app", "o3", 7.0),
            ),
            ("2026-11-20", view("v3", "2026-11-20 08:00:00", "uD", "web")),
            (
                "2026-11-20",
                line("p7", "2026-11-20 09:00:00", "uD", "web", "r3", -4.0),
            ),
            (
                "2026-11-21",
                line("p8", "2026-11-21 09:00:00", "uC", "app", "o6", 12.0),
            ),
            (
                "2026-11-21",
                line("p9", "2026-11-21 10:00:00", "uA", "app", "r2", -3.0),
            ),
        ],
    )
}

#[test]
fn refunds_are_counted_apart_from_orders() {
    let p = refunds_fixture();
    // D: order o6 (uC, 12) and refund r2 (uA, -3): one order, one buyer (uA
    // refunded but bought nothing), gmv 12, refund_amount 3, net 12 - 3 = 9;
    // uC's first order was 11-16, so no new buyer. The 7 days before
    // (11-14 .. 11-20) hold o5 (8) and o3 (7), not the refund r3:
    // orders_prev_7d_avg 2 / 7, gmv_prev_7d_avg (8 + 7) / 7
    let daily = p.table_on("orders_daily", "2026-11-21", "scope, value");
    let platform: Vec<String> = daily
        .into_iter()
        .filter(|r| r.starts_with("scope=platform "))
        .collect();
    assert_rows(
        &platform,
        &[format!(
            "scope=platform gmv=12.0 orders=1 buyers=1 aov=12.0 new_buyers=0 returning_buyers=1 \
             refunds=1 refund_amount=3.0 net_gmv=9.0 gmv_prev_7d_avg={} orders_prev_7d_avg={}",
            15.0 / 7.0,
            2.0 / 7.0
        )],
    );
    // repurchase over 30 days (10-23 .. 11-21): uA o1 o2 o3, uB o4, uC o5 o6;
    // uD has only a refund and is no buyer: 3 buyers, 2 repeat, 6 orders
    let rep: Vec<String> = p
        .table_on("repurchase", "2026-11-21", "window_days, scope, value")
        .into_iter()
        .filter(|r| r.starts_with("window_days=30 scope=platform "))
        .collect();
    assert_rows(
        &rep,
        &[format!(
            "window_days=30 scope=platform buyers=3 repeat_buyers=2 repurchase_rate={} orders=6",
            2.0 / 3.0
        )],
    );
    // user_features: uA has 5 purchase events, 3 of them orders (2 refunds); uD one event, no order
    let features = p.table_on("user_features", "2026-11-21", "user_id");
    let get = |u: &str| {
        features
            .iter()
            .find(|r| r.starts_with(&format!("user_id={u} ")))
            .cloned()
            .unwrap_or_else(|| panic!("no user_features row for {u}: {features:?}"))
    };
    assert_rows(
        &[get("uA"), get("uD")],
        &[
            // uA: revenue is net: 10 + 20 - 5 + 7 - 3 = 29
            "user_id=uA purchases_90=5 orders_90=3 revenue_90=29.0 days_since_last_order=1"
                .to_string(),
            "user_id=uD purchases_90=1 orders_90=0 revenue_90=-4.0 days_since_last_order=NULL"
                .to_string(),
        ],
    );
}

#[test]
fn ltv_cohorts_close_their_windows_and_split_by_channel_and_referral() {
    let p = refunds_fixture();
    let rows = p.table_on(
        "ltv_cohorts",
        "2026-11-21",
        "cohort_kind, cohort_week, scope, value, window_days",
    );
    // A window w of the week starting W has closed for every member when
    // D - W >= 6 + w - 1. D - 11-02 = 19: w 1, 7, 14 closed (19 >= 19).
    // D - 11-09 = 12: w 1 and 7 (12 >= 12), not 14. D - 11-16 = 5: none.
    //
    // first_active, week 11-02: uA (first day 11-02, app, organic) and uB
    // (11-03, wechat, referred by uA on that day); refunds are not orders:
    //   uA: w1 = 11-02: 10; w7 = 11-02 .. 11-08: 10 + 20 = 30; w14 .. 11-15: 30
    //   uB: w1 = 11-03: 0; w7 = 11-03 .. 11-09: 30; w14: 30
    //   all: revenue 10 / 60 / 60 over 2 users -> ltv 5 / 30 / 30
    // first_active, week 11-16: uC (app), uD (web): too young, all NULL.
    // first_order, week 11-02: uA (first order 11-02): 10 / 30 / 30.
    // first_order, week 11-09: uB (11-09): w1 = 30, w7 = 11-09 .. 11-15: 30, w14 NULL.
    // first_order, week 11-16: uC (11-16): NULL. uD never ordered.
    let expected = [
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=organic window_days=1 cohort_users=1 revenue=10.0 ltv=10.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=organic window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=organic window_days=14 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=referred window_days=1 cohort_users=1 revenue=0.0 ltv=0.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=referred window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=acquisition value=referred window_days=14 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=all value=NULL window_days=1 cohort_users=2 revenue=10.0 ltv=5.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=all value=NULL window_days=7 cohort_users=2 revenue=60.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=all value=NULL window_days=14 cohort_users=2 revenue=60.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=app window_days=1 cohort_users=1 revenue=10.0 ltv=10.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=app window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=app window_days=14 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=wechat window_days=1 cohort_users=1 revenue=0.0 ltv=0.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=wechat window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-02 scope=channel value=wechat window_days=14 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=acquisition value=organic window_days=1 cohort_users=2 revenue=NULL ltv=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=acquisition value=organic window_days=7 cohort_users=2 revenue=NULL ltv=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=acquisition value=organic window_days=14 cohort_users=2 revenue=NULL ltv=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=all value=NULL window_days=1 cohort_users=2 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=all value=NULL window_days=7 cohort_users=2 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=all value=NULL window_days=14 cohort_users=2 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=app window_days=1 cohort_users=1 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=app window_days=7 cohort_users=1 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=app window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=web window_days=1 cohort_users=1 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=web window_days=7 cohort_users=1 revenue=NULL",
        "cohort_kind=first_active cohort_week=2026-11-16 scope=channel value=web window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=acquisition value=organic window_days=1 cohort_users=1 revenue=10.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=acquisition value=organic window_days=7 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=acquisition value=organic window_days=14 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=all value=NULL window_days=1 cohort_users=1 revenue=10.0 ltv=10.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=all value=NULL window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=all value=NULL window_days=14 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=channel value=app window_days=1 cohort_users=1 revenue=10.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=channel value=app window_days=7 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-02 scope=channel value=app window_days=14 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=acquisition value=referred window_days=1 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=acquisition value=referred window_days=7 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=acquisition value=referred window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=all value=NULL window_days=1 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=all value=NULL window_days=7 cohort_users=1 revenue=30.0 ltv=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=all value=NULL window_days=14 cohort_users=1 revenue=NULL ltv=NULL",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=channel value=wechat window_days=1 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=channel value=wechat window_days=7 cohort_users=1 revenue=30.0",
        "cohort_kind=first_order cohort_week=2026-11-09 scope=channel value=wechat window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=acquisition value=organic window_days=1 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=acquisition value=organic window_days=7 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=acquisition value=organic window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=all value=NULL window_days=1 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=all value=NULL window_days=7 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=all value=NULL window_days=14 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=channel value=app window_days=1 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=channel value=app window_days=7 cohort_users=1 revenue=NULL",
        "cohort_kind=first_order cohort_week=2026-11-16 scope=channel value=app window_days=14 cohort_users=1 revenue=NULL",
    ];
    assert_rows(&rows, &expected.map(|s| s.to_string()));
}

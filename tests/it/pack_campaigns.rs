//! campaign_results and coupon_effect (docs/metrics.md#campaign_results,
//! docs/metrics.md#coupon_effect) on hand-built histories; each test is one
//! --full-refresh run for D = 2026-11-21.

use crate::common::{Ev, TempProject};
use crate::pack_util::{assert_rows, evc, project, run_full_refresh_in, with_amount, with_order};

const D: &str = "2026-11-21";

/// An event in c1 with `properties` (None: no properties); the partition is its own day.
fn at(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    k: &'static str,
    props: Option<&'static str>,
) -> (&'static str, Ev) {
    (
        &t[..10],
        Ev {
            properties: props,
            ..evc(id, t, u, k, Some("c1"), None)
        },
    )
}

/// A purchase line of order `o` worth `amount`.
fn line(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    o: &'static str,
    amount: f64,
    props: Option<&'static str>,
) -> (&'static str, Ev) {
    let (d, e) = at(id, t, u, "purchase", props);
    (d, with_order(with_amount(e, Some(amount)), o))
}

/// The project with refunds let through (`vars.min_amount` lowered).
fn project_with_refunds() -> TempProject {
    let p = project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!("{config}  min_amount: -1000000000\n"),
    );
    p
}

const ACT: Option<&str> = Some(r#"{"campaign_id":"act-1"}"#);

/// Campaign act-1 (exposures and activity_joins) and the check-in campaign
/// chk (checkins with streaks); e = first day with the campaign, p = first
/// participation:
///
/// | user | act-1                           | chk               | other activity      | orders      |
/// |------|---------------------------------|-------------------|---------------------|-------------|
/// | uA   | exposure + join 11-10 (e = p)   | 11-10, 11-11, 11-12 (streaks 1, 2, 3) | view 11-13 | o1 20 on 11-12 |
/// | uB   | exposure 11-10, join 11-12      | 11-12 (streak 1)  | views 11-14, 11-15  |             |
/// | uC   | exposure 11-10, never joins     |                   | view 11-11          |             |
/// | uD   | exposure 11-20, never joins     |                   | view 11-21          |             |
/// | uE   | join 11-19 (e = p)              |                   | view 11-20          | o2 10 on 11-21 |
///
/// Campaign `old` (uC, 10-01) has no event in the 30 days ending D.
#[test]
fn campaign_results_participation_retention_conversion_and_streaks() {
    let chk = |n: u8| -> Option<&'static str> {
        Some(match n {
            1 => r#"{"campaign_id":"chk","streak":1}"#,
            2 => r#"{"campaign_id":"chk","streak":2}"#,
            _ => r#"{"campaign_id":"chk","streak":3}"#,
        })
    };
    let p = run_full_refresh_in(
        project(),
        D,
        vec![
            at(
                "o0",
                "2026-10-01 09:00:00",
                "uC",
                "exposure",
                Some(r#"{"campaign_id":"old"}"#),
            ),
            at("a0", "2026-11-10 09:00:00", "uA", "exposure", ACT),
            at("a1", "2026-11-10 09:01:00", "uA", "activity_join", ACT),
            at("a2", "2026-11-10 10:00:00", "uA", "checkin", chk(1)),
            at("a3", "2026-11-11 10:00:00", "uA", "checkin", chk(2)),
            at("a4", "2026-11-11 11:00:00", "uA", "view", None),
            at("a5", "2026-11-12 10:00:00", "uA", "checkin", chk(3)),
            line("a6", "2026-11-12 11:00:00", "uA", "o1", 20.0, None),
            at("a7", "2026-11-13 10:00:00", "uA", "view", None),
            at("b0", "2026-11-10 09:00:00", "uB", "exposure", ACT),
            at("b1", "2026-11-12 09:00:00", "uB", "activity_join", ACT),
            at("b2", "2026-11-12 10:00:00", "uB", "checkin", chk(1)),
            at("b3", "2026-11-14 10:00:00", "uB", "view", None),
            at("b4", "2026-11-15 10:00:00", "uB", "view", None),
            at("c0", "2026-11-10 09:00:00", "uC", "exposure", ACT),
            at("c1", "2026-11-11 09:00:00", "uC", "view", None),
            at("d0", "2026-11-20 09:00:00", "uD", "exposure", ACT),
            at("d1", "2026-11-21 09:00:00", "uD", "view", None),
            at("e0", "2026-11-19 09:00:00", "uE", "activity_join", ACT),
            at("e1", "2026-11-20 09:00:00", "uE", "view", None),
            line("e2", "2026-11-21 11:00:00", "uE", "o2", 10.0, None),
        ],
    );
    let rows = p.table_on("campaign_results", D, "campaign_id");
    assert_rows(
        &rows,
        &[
            // act-1: exposed uA uB uC uD uE (5), participants uA uB uE (3),
            // first-day participants uA (11-10), uE (11-19).
            // Participants, day n after p: uA p 11-10: 11-11 yes, 11-13 yes,
            // 11-17 no; uB p 11-12: 11-13 no, 11-15 yes, 11-19 no; uE p 11-19:
            // 11-20 yes, days 3 and 7 not yet (D - p = 2):
            //   d1 2 / 3, d3 2 / 2, d7 0 / 2.
            // Non-participants from e: uC e 11-10: 11-11 yes, 11-13 no, 11-17
            // no; uD e 11-20: 11-21 yes, days 3 and 7 not yet:
            //   d1 2 / 2, d3 0 / 1, d7 0 / 1.
            // 7 days passed (p + 6 <= D): uA (o1 on 11-12, in 11-10 .. 11-16), uB
            // (none); uE's o2 is outside (p + 6 = 11-25): conversion 1 / 2,
            // revenue 20, per participant 10. No streaks.
            format!(
                "campaign_id=act-1 start_day=2026-11-10 last_day=2026-11-20 exposed_users=5 participants=3 \
                 participation_rate=0.6 first_day_participants=2 first_day_participation_rate=0.4 \
                 retention_d1={} retention_d3=1.0 retention_d7=0.0 control_retention_d1=1.0 \
                 control_retention_d3=0.0 control_retention_d7=0.0 participants_7d=2 buyers_7d=1 \
                 conversion_7d=0.5 revenue_7d=20.0 revenue_per_participant_7d=10.0 streak_users=0 \
                 streak_3_share=NULL streak_5_share=NULL streak_7_share=NULL",
                2.0 / 3.0
            ),
            // chk: uA (p = e = 11-10) and uB (p = e = 11-12), both on their
            // first day: d1 uA yes, uB no (11-13) -> 1 / 2; d3 uA 11-13 yes,
            // uB 11-15 yes -> 1; d7 -> 0; nobody else is exposed: control NULL.
            // 7 days: both; uA bought -> 1 / 2, 20. Streaks: uA 3, uB 1 -> 3+: 1 / 2
            "campaign_id=chk start_day=2026-11-10 last_day=2026-11-12 exposed_users=2 participants=2 \
             participation_rate=1.0 first_day_participants=2 first_day_participation_rate=1.0 \
             retention_d1=0.5 retention_d3=1.0 retention_d7=0.0 control_retention_d1=NULL \
             control_retention_d3=NULL control_retention_d7=NULL participants_7d=2 buyers_7d=1 \
             conversion_7d=0.5 revenue_7d=20.0 streak_users=2 streak_3_share=0.5 streak_5_share=0.0 \
             streak_7_share=0.0"
                .to_string(),
        ],
    );
}

const COUPON: Option<&str> = Some(r#"{"coupon":true}"#);

/// Orders in c1 (D = 11-21; recent = 10-23 .. 11-21, base = 09-23 .. 10-22):
///
/// | day   | user | order | lines                          |
/// |-------|------|-------|--------------------------------|
/// | 09-20 | uD   | o0    | 99 (before both windows)       |
/// | 10-01 | uA   | o1    | 10, coupon                     |
/// | 10-05 | uB   | o4    | 20                             |
/// | 10-20 | uA   | o2    | 30                             |
/// | 11-05 | uA   | o3    | 50, coupon                     |
/// | 11-20 | uB   | o5    | 15 and 5 (coupon): one coupon order of 20 |
/// | 11-21 | uC   | o6    | 40                             |
/// | 11-21 | uC   | r1    | −5, a refund: no order         |
#[test]
fn coupon_effect_redemption_aov_and_repurchase_after() {
    let p = run_full_refresh_in(
        project_with_refunds(),
        D,
        vec![
            line("p0", "2026-09-20 09:00:00", "uD", "o0", 99.0, None),
            line("p1", "2026-10-01 09:00:00", "uA", "o1", 10.0, COUPON),
            line("p2", "2026-10-05 09:00:00", "uB", "o4", 20.0, None),
            line("p3", "2026-10-20 09:00:00", "uA", "o2", 30.0, None),
            line("p4", "2026-11-05 09:00:00", "uA", "o3", 50.0, COUPON),
            line("p5", "2026-11-20 09:00:00", "uB", "o5", 15.0, None),
            line("p6", "2026-11-20 09:01:00", "uB", "o5", 5.0, COUPON),
            line("p7", "2026-11-21 09:00:00", "uC", "o6", 40.0, None),
            line("p8", "2026-11-21 10:00:00", "uC", "r1", -5.0, None),
        ],
    );
    // recent: o3 (coupon 50), o5 (coupon 20), o6 (40): 3 orders, 2 with a
    // coupon; aov 70 / 2 = 35 against 40.
    // base: o1 (coupon) is followed by o2 19 days later; o2 (full price) by
    // o3 16 days later; o4 (full price) by nothing: after a coupon 1 / 1,
    // after full price 1 / 2.
    let expected = |scope: &str, c: &str| {
        format!(
            "scope={scope} community_id={c} orders=3 coupon_orders=2 redemption_share={} aov_coupon=35.0 \
             aov_full_price=40.0 base_coupon_orders=1 repurchase_after_coupon=1.0 \
             base_full_price_orders=2 repurchase_after_full_price=0.5",
            2.0 / 3.0
        )
    };
    let rows = p.table_on("coupon_effect", D, "scope, community_id");
    assert_rows(
        &rows,
        &[expected("community", "c1"), expected("platform", "NULL")],
    );
    // orders carry the flag: o5 is a coupon order though its first line is not
    let orders = p.table("orders", "dt, order_key");
    let flag = |o: &str| {
        orders
            .iter()
            .find(|r| r.contains(&format!(" order_key={o} ")))
            .map(|r| r.contains(" coupon=true"))
            .unwrap_or_else(|| panic!("no order {o}: {orders:#?}"))
    };
    assert_eq!(
        [flag("o1"), flag("o2"), flag("o5"), flag("o6")],
        [true, false, true, false]
    );
}

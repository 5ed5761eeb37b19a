//! user_features, uvi_scores and uvi_tiers (docs/metrics.md#user_features,
//! docs/metrics.md#uvi_scores, docs/metrics.md#uvi_tiers) on a hand-built
//! history; one --full-refresh run for 2026-11-21 builds every day.

use crate::common::TempProject;
use crate::pack_util::{assert_rows, evc, project, with_amount, with_referrer};

/// D = 2026-11-21, late_days 3, lookback 90 (window 08-24 .. 11-21), u5 deleted.
pub fn fixture() -> TempProject {
    let p = events();
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    p
}

/// The events of [`fixture`], not run yet.
pub fn events() -> TempProject {
    let p = project();
    let c1 = Some("c1");
    let e = |id, t, u, k| evc(id, t, u, k, c1, None);
    // uE: last active 08-23 = D - 90: outside the lookback, not scored
    p.events(
        "2026-08-23",
        "a",
        &[e("e1", "2026-08-23 23:59:59", "uE", "view")],
    );
    // uD: active once on 08-24 = D - 89, the first day of the lookback
    p.events(
        "2026-08-24",
        "a",
        &[e("d1", "2026-08-24 00:00:00", "uD", "invite")],
    );
    p.events(
        "2026-09-30",
        "a",
        &[e("a1", "2026-09-30 10:00:00", "uA", "comment")],
    );
    p.events(
        "2026-11-01",
        "a",
        &[e("a2", "2026-11-01 10:00:00", "uA", "join")],
    );
    p.events(
        "2026-11-10",
        "a",
        &[e("c1", "2026-11-10 10:00:00", "uC", "view")],
    );
    p.events(
        "2026-11-15",
        "a",
        &[e("f1", "2026-11-15 09:00:00", "uF", "share")],
    );
    // uF's purchase arrives a day late
    p.events(
        "2026-11-16",
        "a",
        &[with_amount(
            e("f2", "2026-11-15 23:59:59", "uF", "purchase"),
            Some(5.0),
        )],
    );
    p.events(
        "2026-11-19",
        "a",
        &[
            with_amount(e("a3", "2026-11-19 10:00:00", "uA", "purchase"), Some(10.0)),
            e("a4", "2026-11-19 11:00:00", "uA", "invite"),
        ],
    );
    p.events(
        "2026-11-20",
        "a",
        &[
            e("a5", "2026-11-20 10:00:00", "uA", "view"),
            // uG joins c1 invited by uA, its only event
            with_referrer(e("g1", "2026-11-20 10:00:00", "uG", "join"), "uA"),
        ],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            e("a6", "2026-11-21 10:00:00", "uA", "like"),
            e("a7", "2026-11-21 10:01:00", "uA", "comment"),
            e("a8", "2026-11-21 10:02:00", "uA", "share"),
            with_amount(e("a9", "2026-11-21 10:03:00", "uA", "purchase"), Some(30.0)),
            // uB: active once, a like and a purchase without amount
            e("b1", "2026-11-21 12:00:00", "uB", "like"),
            with_amount(e("b2", "2026-11-21 12:01:00", "uB", "purchase"), None),
            // deleted user: nowhere
            with_amount(
                e("x1", "2026-11-21 12:00:00", "u5", "purchase"),
                Some(100.0),
            ),
            // uB puts something in the cart after its purchase
            e("b3", "2026-11-21 12:02:00", "uB", "add_to_cart"),
        ],
    );
    p
}

#[test]
fn user_features_windows_membership_and_referrals() {
    let p = fixture();
    // The full refresh built the day before too (segment_transitions
    // reads it): the run day's partition.
    let rows = p.table_on("user_features", "2026-11-21", "user_id");
    let r = |s: &str| format!("{s} dt=2026-11-21");
    assert_rows(
        &rows,
        &[
            // uA: active 09-30, 11-01, 11-19, 11-20, 11-21
            // 7 days (11-15..): 19, 20, 21 = 3; 30 days (10-23..): + 11-01 = 4; 90: + 09-30 = 5
            // prev 30 (09-23..10-22): 09-30 = 1; events_30: 4 (21) + 1 (20) + 2 (19) + 1 (11-01) = 8
            // interactions_30 = like + comment + share on 21 = 3 (the 09-30 comment is older)
            // core_actions_90: like, comment, share, purchase, purchase, comment (09-30) = 6
            // purchases 2, revenue 10 + 30; invite on 19; uG's join names uA; member since 11-01
            // first_seen 09-30: age 52 days
            // cadence: (11-21 - 09-30) / (5 - 1) = 52 / 4 = 13 days; active on D: churn_risk 0
            r("user_id=uA last_active_day=2026-11-21 recency_days=0 cadence_days=13 churn_risk=0 active_days_7=3 active_days_30=4 active_days_90=5 \
               active_days_prev_30=1 events_30=8 likes_90=1 comments_90=2 shares_90=1 comments_30=1 shares_30=1 \
               interactions_30=3 core_actions_90=6 purchases_90=2 revenue_90=40.0 invites_30=1 referred_joins_30=1 \
               first_seen=2026-09-30 age_days=52 is_member=true"),
            // uB: one day (like, purchase without amount -> revenue 0, add_to_cart after it)
            // one active day: no cadence; active on D: churn_risk 0
            r("user_id=uB recency_days=0 cadence_days=NULL churn_risk=0 active_days_7=1 active_days_30=1 active_days_90=1 active_days_prev_30=0 \
               events_30=3 interactions_30=1 core_actions_90=3 purchases_90=1 revenue_90=0.0 referred_joins_30=0 \
               first_seen=2026-11-21 age_days=0 is_member=false last_add_to_cart_time_7=2026-11-21T12:02:00Z \
               last_purchase_time=2026-11-21T12:01:00Z"),
            // uC: a view on 11-10: outside the 7 days; churn_risk 100 x 11 / (11 + 7) = 61.11 -> 61.1
            r("user_id=uC recency_days=11 cadence_days=NULL churn_risk=61.1 active_days_7=0 active_days_30=1 active_days_90=1 events_30=1 \
               interactions_30=0 core_actions_90=0 age_days=11 is_member=false"),
            // uD: 08-24, first day of the lookback; its invite is outside 30 days
            // churn_risk 100 x 89 / (89 + 7) = 92.708 -> 92.7
            r("user_id=uD recency_days=89 churn_risk=92.7 active_days_7=0 active_days_30=0 active_days_90=1 events_30=0 \
               invites_30=0 first_seen=2026-08-24 age_days=89 is_member=false"),
            // uF: share 11-15 and the late purchase, both on 11-15 = D - 6 (inside 7 days)
            // churn_risk 100 x 6 / (6 + 7) = 46.15 -> 46.2
            r("user_id=uF recency_days=6 churn_risk=46.2 active_days_7=1 active_days_30=1 active_days_90=1 events_30=2 \
               interactions_30=1 shares_30=1 purchases_90=1 revenue_90=5.0 is_member=false"),
            // uG: joined c1 on 11-20, nothing else
            // churn_risk 100 x 1 / (1 + 7) = 12.5
            r("user_id=uG recency_days=1 churn_risk=12.5 active_days_7=1 events_30=1 core_actions_90=0 age_days=1 is_member=true \
               last_add_to_cart_time_7=NULL last_purchase_time=NULL"),
        ]
        .map(|s| s.to_string()),
    );
}

#[test]
fn uvi_scores_and_tiers_follow_the_seed_formula() {
    let p = fixture();
    let ret = |r7: f64, r30: f64, r90: f64| {
        (r7.powf(0.3) + r30.powf(0.4) + r90.powf(0.3)).powf(0.3333333333333333)
    };
    // uA: interaction (0.3·1 + 0.4·2 + 0.3·1) / 4 = 0.35; r = 3/7, 4/30, 5/90
    // conversion_rate 2 / 5 = 0.4, aov 40 / 2 = 20, coef 0.4 / 20 = 0.02
    let ret_a = ret(3.0 / 7.0, 4.0 / 30.0, 5.0 / 90.0);
    let uvi_a = 0.35 * ret_a * 0.02;
    // uF: interaction 0.3 (one share); r = 1/7, 1/30, 1/90; rate 1, aov 5, coef 0.2
    let ret_f = ret(1.0 / 7.0, 1.0 / 30.0, 1.0 / 90.0);
    let uvi_f = 0.3 * ret_f * 0.2;
    // uvi_a ≈ 0.0083 < uvi_f ≈ 0.0614; the other four users have uvi 0.
    // ranks: 0,0,0,0 -> 1; uA 5; uF 6; n = 6; percentile = 100 (rank - 1) / 5
    // uA = 80 exactly: a tie with the boundary goes to the higher tier -> high
    assert!(uvi_a > 0.0 && uvi_a < uvi_f);
    let rows = p.table_on("uvi_scores", "2026-11-21", "user_id");
    assert_rows(
        &rows,
        &[
            format!(
                "user_id=uA likes=1 comments=2 shares=1 interaction_coef=0.35 r7={} r30={} r90={} retention_coef={ret_a} \
                 active_days=5 purchases=2 revenue=40.0 conversion_rate=0.4 avg_order_value=20.0 conversion_coef=0.02 \
                 uvi={uvi_a} uvi_percentile=80.0 uvi_tier=high",
                3.0 / 7.0,
                4.0 / 30.0,
                5.0 / 90.0
            ),
            // uB: like -> 0.3; a purchase with no amount: revenue 0 -> conversion_coef 0
            format!(
                "user_id=uB interaction_coef=0.3 retention_coef={} purchases=1 revenue=0.0 conversion_rate=1.0 \
                 avg_order_value=0.0 conversion_coef=0.0 uvi=0.0 uvi_percentile=0.0 uvi_tier=low",
                ret(1.0 / 7.0, 1.0 / 30.0, 1.0 / 90.0)
            ),
            // uC: no likes/comments/shares -> 0; r7 = 0
            format!(
                "user_id=uC interaction_coef=0.0 r7=0.0 retention_coef={} purchases=0 avg_order_value=NULL \
                 conversion_rate=0.0 conversion_coef=0.0 uvi=0.0 uvi_percentile=0.0 uvi_tier=low",
                ret(0.0, 1.0 / 30.0, 1.0 / 90.0)
            ),
            format!(
                "user_id=uD retention_coef={} uvi=0.0 uvi_tier=low",
                ret(0.0, 0.0, 1.0 / 90.0)
            ),
            format!(
                "user_id=uF interaction_coef=0.3 retention_coef={ret_f} conversion_rate=1.0 avg_order_value=5.0 \
                 conversion_coef=0.2 uvi={uvi_f} uvi_percentile=100.0 uvi_tier=high"
            ),
            "user_id=uG interaction_coef=0.0 uvi=0.0 uvi_percentile=0.0 uvi_tier=low".to_string(),
        ],
    );
    // tiers: high {uA, uF} revenue 40 + 5 = 45 of 45; low {uB, uC, uD, uG} revenue 0; medium empty
    let tiers: Vec<String> = p
        .table("uvi_tiers", "uvi_tier")
        .into_iter()
        .filter(|r| r.contains(" breakdown=all "))
        .collect();
    assert_rows(
        &tiers,
        &[
            "uvi_tier=high users=2 share_of_users=0.3333333333333333 revenue=45.0 share_of_revenue=1.0 dt=2026-11-21",
            "uvi_tier=low users=4 share_of_users=0.6666666666666666 revenue=0.0 share_of_revenue=0.0",
            "uvi_tier=medium users=0 share_of_users=0.0 revenue=0.0 share_of_revenue=0.0",
        ]
        .map(|s| s.to_string()),
    );
}

//! user_segments, segment_summary and segment_transitions
//! (docs/metrics.md#user_segments, docs/metrics.md#segment_summary,
//! docs/metrics.md#segment_transitions) on the user_features/uvi fixture of
//! `pack_uvi` (six scored users on 11-21).

use crate::pack_util::assert_rows;
use crate::pack_uvi::{events, fixture};

#[test]
fn user_segments_layers_lifecycle_rfm_pyramid_value() {
    let p = fixture();
    // features (see pack_uvi): recency / active_days_7 / active_days_90 / revenue_90 / age / member
    //   uA 0/3/5/40/52/yes  uB 0/1/1/0/0/no  uC 11/0/1/0/11/no  uD 89/0/1/0/89/no
    //   uF 6/1/1/5/6/no     uG 1/1/1/0/1/yes ; uvi tier high: uA, uF
    // n = 6, so score = least(5, 1 + floor(5 (rank - 1) / 5)) = least(5, rank):
    //   R by recency desc: uD 89 -> 1, uC 11 -> 2, uF 6 -> 3, uG 1 -> 4, uA, uB 0 -> rank 5 -> 5
    //   F by active_days_90: five users with 1 -> 1, uA 5 -> rank 6 -> 5
    //   M by revenue_90: four with 0 -> 1, uF 5 -> 5, uA 40 -> 5
    // fm = (F + M) / 2: uA 5, uF 3, others 1
    //   uA r5 fm5 Champions; uB r5 fm1 New Customers; uC r2 fm1 Hibernating; uD r1 fm1 Lost;
    //   uF r3 fm3 Loyal; uG r4 fm1 Promising
    // pyramid: interactions_30 uA 3 is the top (rank 6: 5·100 >= 99·5) -> 5;
    //   uG member -> 2; the rest are no members -> 1
    // value_group: uA, uF high tier; uB add_to_cart at 12:02 after its 12:01 purchase -> high_intent
    // The run day (the full refresh built 11-20 too, for segment_transitions).
    let rows = p.table_on("user_segments", "2026-11-21", "user_id");
    let push = "recommended_action=regular content push";
    assert_rows(
        &rows,
        &[
            // active_days_7 = 3 -> high_active; purchases_90 = 2 -> growth
            "user_id=uA activity_layer=high_active lifecycle_stage=growth rfm_r=5 rfm_f=5 rfm_m=5 \
             rfm_segment=Champions pyramid_level=5 value_group=high_value \
             recommended_action=VIP early access / KOL collaboration dt=2026-11-21"
                .to_string(),
            // age 0 but has core actions -> activation
            format!(
                "user_id=uB activity_layer=normal lifecycle_stage=activation rfm_r=5 rfm_f=1 rfm_m=1 \
                 rfm_segment=New Customers pyramid_level=1 value_group=high_intent {push}"
            ),
            // recency 11, active_days_prev_30 0: not churn_warning, not silent; age 11 -> retention
            format!(
                "user_id=uC activity_layer=normal lifecycle_stage=retention rfm_r=2 rfm_f=1 rfm_m=1 \
                 rfm_segment=Hibernating pyramid_level=1 value_group=other {push}"
            ),
            // recency 89 >= 14 -> silent; >= 30 -> churn
            "user_id=uD activity_layer=silent lifecycle_stage=churn rfm_r=1 rfm_f=1 rfm_m=1 rfm_segment=Lost \
             pyramid_level=1 value_group=other recommended_action=personalised push + coupon + activity recall"
                .to_string(),
            format!(
                "user_id=uF activity_layer=normal lifecycle_stage=activation rfm_r=3 rfm_f=1 rfm_m=5 \
                 rfm_segment=Loyal pyramid_level=1 value_group=high_value {push}"
            ),
            // age 1, only a join (no core action) -> acquisition
            format!(
                "user_id=uG activity_layer=normal lifecycle_stage=acquisition rfm_r=4 rfm_f=1 rfm_m=1 \
                 rfm_segment=Promising pyramid_level=2 value_group=other {push}"
            ),
        ],
    );
    // summary of activity_layer: high_active {uA} 40; normal {uB, uC, uF, uG} 5; silent {uD} 0; total 45
    let summary: Vec<String> = p
        .table("segment_summary", "segment, value")
        .into_iter()
        .filter(|r| r.starts_with("segment=activity_layer ") && r.contains(" breakdown=all "))
        .collect();
    assert_rows(
        &summary,
        &[
            "segment=activity_layer value=high_active users=1 share_of_users=0.16666666666666666 revenue_90=40.0 share_of_revenue=0.8888888888888888",
            "segment=activity_layer value=normal users=4 share_of_users=0.6666666666666666 revenue_90=5.0 share_of_revenue=0.1111111111111111",
            "segment=activity_layer value=silent users=1 share_of_users=0.16666666666666666 revenue_90=0.0 share_of_revenue=0.0",
        ]
        .map(|s| s.to_string()),
    );
}

#[test]
fn segment_transitions_from_yesterday() {
    let p = events();
    p.shoal(&["run", "--ds", "2026-11-20", "--full-refresh"])
        .expect_code(0);
    p.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    // on 11-20 (lookback 08-23 .. 11-20): uE (08-23, recency 89) silent; uD (88) silent;
    // uA active 19, 20 in the 7 days -> 2 < 3, recency 0 -> normal; uC (10), uF (5), uG (0) normal;
    // uB not yet seen. On 11-21: uE drops out, uA becomes high_active, uB arrives normal.
    let rows: Vec<String> = p
        .table(
            "segment_transitions",
            "segment, from_value nulls first, to_value nulls first",
        )
        .into_iter()
        .filter(|r| r.starts_with("segment=activity_layer ") && r.ends_with("dt=2026-11-21"))
        .collect();
    let t = |s: &str| format!("segment=activity_layer {s} dt=2026-11-21");
    assert_rows(
        &rows,
        &[
            t("from_value=NULL to_value=normal users=1"),
            t("from_value=normal to_value=high_active users=1"),
            t("from_value=normal to_value=normal users=3"),
            t("from_value=silent to_value=NULL users=1"),
            t("from_value=silent to_value=silent users=1"),
        ],
    );
}

/// The four dimensions (docs/metrics.md#user_segments) of three users on
/// D = 2026-11-21, with `vars.four_dimensions` 0.4 / 0.2 / 0.2 / 0.2:
///
/// | user | orders (amount, minutes from the day's first cart) | social on D        | campaign |
/// |------|----------------------------------------------------|--------------------|----------|
/// | uA   | o1 100 with a coupon, 10 min                        | 2 shares           | 1 day    |
/// | uB   | o2 25 (11-20), o3 25 (11-21), 30 min each           | 1 invite, 5 messages |        |
/// | uC   | none                                                | 1 like             |          |
#[test]
fn four_dimension_scores_and_their_weighted_sum() {
    use crate::common::Ev;
    use crate::pack_util::{evc, with_amount, with_order};
    let at = |id: &'static str,
              t: &'static str,
              u: &'static str,
              k: &'static str|
     -> (&'static str, Ev) { (&t[..10], evc(id, t, u, k, Some("c1"), None)) };
    let order = |id, t, u, o, amount, props: Option<&'static str>| {
        let (d, e) = at(id, t, u, "purchase");
        (
            d,
            with_order(
                with_amount(
                    Ev {
                        properties: props,
                        ..e
                    },
                    Some(amount),
                ),
                o,
            ),
        )
    };
    let p = crate::pack_util::project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!(
            "{config}  four_dimensions: {{ spending: 0.4, social: 0.2, decision: 0.2, demand: 0.2 }}\n"
        ),
    );
    let p = crate::pack_util::run_full_refresh_in(
        p,
        "2026-11-21",
        vec![
            at("a1", "2026-11-21 10:00:00", "uA", "add_to_cart"),
            order(
                "a2",
                "2026-11-21 10:10:00",
                "uA",
                "o1",
                100.0,
                Some(r#"{"coupon":true}"#),
            ),
            at("a3", "2026-11-21 11:00:00", "uA", "share"),
            at("a4", "2026-11-21 11:01:00", "uA", "share"),
            (
                "2026-11-21",
                Ev {
                    properties: Some(r#"{"campaign_id":"act-1"}"#),
                    ..evc(
                        "a5",
                        "2026-11-21 11:02:00",
                        "uA",
                        "activity_join",
                        Some("c1"),
                        None,
                    )
                },
            ),
            at("b1", "2026-11-20 12:00:00", "uB", "add_to_cart"),
            order("b2", "2026-11-20 12:30:00", "uB", "o2", 25.0, None),
            at("b3", "2026-11-21 12:00:00", "uB", "add_to_cart"),
            order("b4", "2026-11-21 12:30:00", "uB", "o3", 25.0, None),
            at("b5", "2026-11-21 13:00:00", "uB", "invite"),
            at("b6", "2026-11-21 13:01:00", "uB", "message"),
            at("b7", "2026-11-21 13:02:00", "uB", "message"),
            at("b8", "2026-11-21 13:03:00", "uB", "message"),
            at("b9", "2026-11-21 13:04:00", "uB", "message"),
            at("b10", "2026-11-21 13:05:00", "uB", "message"),
            at("c1", "2026-11-21 14:00:00", "uC", "like"),
        ],
    );
    let features = p.table_on("user_features", "2026-11-21", "user_id");
    assert_rows(
        &features,
        &[
            "user_id=uA messages_30=0 coupon_orders_90=1 decision_minutes_90=10.0 campaign_days_90=1",
            "user_id=uB messages_30=5 coupon_orders_90=0 decision_minutes_90=30.0 campaign_days_90=0",
            "user_id=uC messages_30=0 coupon_orders_90=0 decision_minutes_90=NULL campaign_days_90=0",
        ]
        .map(|s| s.to_string()),
    );
    // percent_rank among 3 users = (rank - 1) / 2, ties equal:
    //   revenue uC 0 -> 0, uB 50 -> 0.5, uA 100 -> 1; AOV uC 0, uB 25, uA 100: the same
    //   -> spending uA 100, uB 50, uC 0
    //   shares uA 1 (others tie at 0); invites uB 1; referred joins all 0; messages uB 1
    //   -> social uA (1 + 0 + 0 + 0) / 4 = 25, uB (0 + 1 + 0 + 1) / 4 = 50, uC 0
    //   decision, cume_dist slowest first among uA (10 min) and uB (30): uB 1/2,
    //   uA 2/2 -> uA 100, uB 50; uC has none: 0
    //   demand uA 50 x 1/1 coupon share + 50 x 1/4 campaign days = 62.5; uB, uC 0
    //   four_d = 0.4 spending + 0.2 (social + decision + demand):
    //   uA 40 + 5 + 20 + 12.5 = 77.5; uB 20 + 10 + 10 + 0 = 40; uC 0
    let segments = p.table_on("user_segments", "2026-11-21", "user_id");
    assert_rows(
        &segments,
        &[
            "user_id=uA spending_power=100.0 social_power=25.0 decision_power=100.0 demand_sensitivity=62.5 four_d_score=77.5",
            "user_id=uB spending_power=50.0 social_power=50.0 decision_power=50.0 demand_sensitivity=0.0 four_d_score=40.0",
            "user_id=uC spending_power=0.0 social_power=0.0 decision_power=0.0 demand_sensitivity=0.0 four_d_score=0.0",
        ]
        .map(|s| s.to_string()),
    );
    // the distribution in segment_summary: bands of 20
    let bands: Vec<String> = p
        .table_on("segment_summary", "2026-11-21", "segment, value")
        .into_iter()
        .filter(|r| r.starts_with("segment=four_d_score ") && r.contains(" breakdown=all "))
        .collect();
    assert_rows(
        &bands,
        &[
            "segment=four_d_score value=[0,20) users=1",
            "segment=four_d_score value=[40,60) users=1",
            "segment=four_d_score value=[60,80) users=1",
        ]
        .map(|s| s.to_string()),
    );
}

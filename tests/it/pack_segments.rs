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

//! activation_daily, member_comparison and user_segments.lifecycle_band
//! (docs/metrics.md#activation_daily, docs/metrics.md#member_comparison,
//! docs/metrics.md#user_segments) on hand-built histories; each test is one
//! --full-refresh run for D = 2026-11-21, so the backbones hold every day.

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, run_full_refresh, with_amount, with_order};

const D: &str = "2026-11-21";

/// An event in community c1; the partition is the event's own day.
fn at(id: &'static str, t: &'static str, u: &'static str, k: &'static str) -> (&'static str, Ev) {
    (&t[..10], evc(id, t, u, k, Some("c1"), None))
}

#[test]
fn activation_daily_cohort_windows_close_in_turn() {
    let evs = vec![
        // x1: first active 08-01 (D - 112), before the lookback: in no cohort,
        // and not a new user of 10-20 although active that day
        at("x0", "2026-08-01 09:00:00", "x1", "view"),
        at("x2", "2026-10-20 09:00:00", "x1", "purchase"),
        // y1: first active 08-23 = D - 90, the oldest cohort of the grid;
        // a purchase (a core action) on day 0, never back
        at("y0", "2026-08-23 09:00:00", "y1", "purchase"),
        // cohort 10-20 (age 32, every window closed): a1, a2, a3; u5 is deleted
        //   a1: view day 0, like (core) day 1, purchase day 7 -> core, d7, d30, active 7-30
        at("a10", "2026-10-20 10:00:00", "a1", "view"),
        at("a11", "2026-10-21 10:00:00", "a1", "like"),
        at("a12", "2026-10-27 10:00:00", "a1", "purchase"),
        //   a2: exposure day 0, click (core) only on day 2, purchase day 8
        //       -> no core on 0-1, not d7, d30, active 7-30 (day 8)
        at("a20", "2026-10-20 11:00:00", "a2", "exposure"),
        at("a21", "2026-10-22 11:00:00", "a2", "click"),
        at("a22", "2026-10-28 11:00:00", "a2", "purchase"),
        //   a3: signup + comment (core) on day 0 at the last second, back on
        //       day 6 (before the 7-30 window) and day 31 with a purchase
        //       (after both windows) -> core only
        at("a30", "2026-10-20 23:59:58", "a3", "signup"),
        at("a31", "2026-10-20 23:59:59", "a3", "comment"),
        at("a32", "2026-10-26 08:00:00", "a3", "view"),
        at("a33", "2026-11-20 08:00:00", "a3", "purchase"),
        at("a50", "2026-10-20 12:00:00", "u5", "like"),
        at("a51", "2026-10-21 12:00:00", "u5", "purchase"),
        // cohort 11-12 (age 9: the 7-day window is closed, the 30-day one is not)
        //   b1: purchase on day 1 -> core and d7
        at("b10", "2026-11-12 10:00:00", "b1", "view"),
        at("b11", "2026-11-13 10:00:00", "b1", "purchase"),
        //   b2: purchase on day 8 -> neither (d30 not yet closed)
        at("b20", "2026-11-12 10:00:00", "b2", "view"),
        at("b21", "2026-11-20 10:00:00", "b2", "purchase"),
        // cohort 11-20 (age 1: only day 0-1 closed): c1 shares on day 1 = D
        at("c10", "2026-11-20 22:00:00", "c1", "view"),
        at("c11", "2026-11-21 01:00:00", "c1", "share"),
        // d1: first active on D, cohort age 0: no row yet
        at("d10", "2026-11-21 10:00:00", "d1", "purchase"),
    ];
    let p = run_full_refresh(evs);
    let all = p.table("activation_daily", "cohort_day");
    // one row per cohort day D - 90 .. D - 1
    assert_eq!(all.len(), 90);
    let picked: Vec<String> = all
        .into_iter()
        .filter(|r| {
            [
                "2026-08-23",
                "2026-10-20",
                "2026-11-11",
                "2026-11-12",
                "2026-11-20",
            ]
            .iter()
            .any(|d| r.contains(&format!("cohort_day={d}")))
        })
        .collect();
    let r = |s: &str| format!("dt={D} {s}");
    assert_rows(
        &picked,
        &[
            // cohort 08-23 = {y1}: age 90; purchase day 0 -> core 1/1, d7 1/1,
            // d30 1/1; not active on days 7-30 -> 0/1
            r("cohort_day=2026-08-23 age_days=90 new_users=1 core_users_d1=1 core_rate_d1=1.0 \
               buyers_d7=1 first_purchase_rate_d7=1.0 buyers_d30=1 first_purchase_rate_d30=1.0 \
               active_d7_d30=0 active_rate_d7_d30=0.0"),
            // cohort 10-20 = {a1, a2, a3}: core {a1, a3} = 2/3; d7 {a1} = 1/3;
            // d30 {a1, a2} = 2/3; active 7-30 {a1 (day 7), a2 (day 8)} = 2/3
            r("cohort_day=2026-10-20 age_days=32 new_users=3 core_users_d1=2 core_rate_d1=0.6666666666666666 \
               buyers_d7=1 first_purchase_rate_d7=0.3333333333333333 buyers_d30=2 \
               first_purchase_rate_d30=0.6666666666666666 active_d7_d30=2 active_rate_d7_d30=0.6666666666666666"),
            // cohort 11-11 is empty: counts 0 where the window closed (age 10 >= 7), rates NULL
            r("cohort_day=2026-11-11 age_days=10 new_users=0 core_users_d1=0 core_rate_d1=NULL \
               buyers_d7=0 first_purchase_rate_d7=NULL buyers_d30=NULL first_purchase_rate_d30=NULL \
               active_d7_d30=NULL active_rate_d7_d30=NULL"),
            // cohort 11-12 = {b1, b2}: core {b1} = 1/2; d7 {b1} = 1/2 (b2 bought on day 8);
            // 11-12 + 30 > D -> NULL
            r("cohort_day=2026-11-12 age_days=9 new_users=2 core_users_d1=1 core_rate_d1=0.5 \
               buyers_d7=1 first_purchase_rate_d7=0.5 buyers_d30=NULL first_purchase_rate_d30=NULL \
               active_d7_d30=NULL active_rate_d7_d30=NULL"),
            // cohort 11-20 = {c1}: share on day 1 = D -> 1/1; 11-20 + 7 > D -> NULL
            r("cohort_day=2026-11-20 age_days=1 new_users=1 core_users_d1=1 core_rate_d1=1.0 \
               buyers_d7=NULL first_purchase_rate_d7=NULL buyers_d30=NULL first_purchase_rate_d30=NULL \
               active_d7_d30=NULL active_rate_d7_d30=NULL"),
        ]
        .map(|s| s.to_string()),
    );
    p.shoal(&["test", "--select", "activation_daily"])
        .expect_code(0);
}

/// An event in community `c`; the partition is the event's own day.
fn inc(
    c: &'static str,
    id: &'static str,
    t: &'static str,
    u: &'static str,
    k: &'static str,
) -> (&'static str, Ev) {
    (&t[..10], evc(id, t, u, k, Some(c), None))
}

/// A purchase of `amount` in c1.
fn buy(id: &'static str, t: &'static str, u: &'static str, amount: f64) -> (&'static str, Ev) {
    let (d, e) = at(id, t, u, "purchase");
    (d, with_amount(e, Some(amount)))
}

#[test]
fn member_comparison_groups_windows_and_ratios() {
    // D = 11-21: the 30 days are [10-23, 11-21]; the 7-day base [11-08, 11-14]
    // returns in [11-15, 11-21] (membership on 11-14); the 30-day base
    // [09-23, 10-22] returns in [10-23, 11-21] (membership on 10-22)
    let evs = vec![
        // m1: joined 09-25; 30 days: 10-25 view + like, 11-10 view + comment +
        // purchase 30.5, 11-16 view -> 3 days, 3 views, 2 interactions
        at("m10", "2026-09-25 10:00:00", "m1", "join"),
        at("m11", "2026-10-25 10:00:00", "m1", "view"),
        at("m12", "2026-10-25 10:01:00", "m1", "like"),
        at("m13", "2026-11-10 10:00:00", "m1", "view"),
        at("m14", "2026-11-10 10:01:00", "m1", "comment"),
        buy("m15", "2026-11-10 10:02:00", "m1", 30.5),
        at("m16", "2026-11-16 10:00:00", "m1", "view"),
        // ... and a view in c2, where m1 never joined: a non-member there
        inc("c2", "m17", "2026-11-20 10:00:00", "m1", "view"),
        // m2: joined 11-09, view + share 11-12, then gone -> 2 days, 1 view, 1 interaction
        at("m20", "2026-11-09 10:00:00", "m2", "join"),
        at("m21", "2026-11-12 10:00:00", "m2", "view"),
        at("m22", "2026-11-12 10:01:00", "m2", "share"),
        // j1: a view on 11-10 as a non-member, joined on 11-18 -> a member on D
        // (2 days, 1 view), a non-member of the 7-day base who came back
        at("j10", "2026-11-10 12:00:00", "j1", "view"),
        at("j11", "2026-11-18 12:00:00", "j1", "join"),
        // q1: joined 09-24, quit 11-02 -> a member of the 30-day base (on
        // 10-22) who came back (the quit, 11-02), a non-member on D (1 day)
        at("q10", "2026-09-24 10:00:00", "q1", "join"),
        at("q11", "2026-11-02 10:00:00", "q1", "quit"),
        // t1: a join and a quit at the same instant: the quit wins -> non-member (1 day, 1 view)
        at("t10", "2026-11-05 10:00:00", "t1", "join"),
        at("t11", "2026-11-05 10:00:00", "t1", "quit"),
        at("t12", "2026-11-05 10:01:00", "t1", "view"),
        // n1: never joined; 11-20 view + purchase 12.25, 11-21 view -> 2 days, 2 views
        at("n10", "2026-11-20 10:00:00", "n1", "view"),
        buy("n11", "2026-11-20 10:01:00", "n1", 12.25),
        at("n12", "2026-11-21 10:00:00", "n1", "view"),
        // n2: never joined; 11-08 view + like (7-day base), 11-15 view (back)
        // -> 2 days, 2 views, 1 interaction
        at("n20", "2026-11-08 10:00:00", "n2", "view"),
        at("n21", "2026-11-08 10:01:00", "n2", "like"),
        at("n22", "2026-11-15 10:00:00", "n2", "view"),
        // n3: never joined; only 10-01 (30-day base), never back
        at("n30", "2026-10-01 10:00:00", "n3", "view"),
        // u5 is deleted: a member with a purchase who counts nowhere
        at("u50", "2026-11-10 10:00:00", "u5", "join"),
        buy("u51", "2026-11-20 10:00:00", "u5", 99.0),
    ];
    let p = run_full_refresh(evs);
    let rows = p.table("member_comparison", "community_id");
    assert_rows(
        &rows,
        &[
            // c1, 30 days: members {m1, m2, j1}, non-members {q1, t1, n1, n2}
            //   active days: (3 + 2 + 2) / 3 = 7/3 against (1 + 1 + 2 + 2) / 4 = 1.5 -> ratio 1.5555…
            //   interaction: (2 + 1 + 0) / (3 + 1 + 1) = 0.6 against (0 + 0 + 0 + 1) / (0 + 1 + 2 + 2) = 0.2 -> 3
            //   7-day base: members on 11-14 {m1 back 11-16, m2 not} = 1/2;
            //     non-members {j1 back 11-18, n2 back 11-15} = 2/2 -> ratio 0.5
            //   30-day base: members on 10-22 {m1, q1 both back} = 2/2; non-members {n3 not} = 0/1
            //     -> ratio NULL (the non-member figure is 0)
            //   buyers: {m1} 1/3 against {n1} 1/4 -> 4/3
            //   arpu: 30.5 / 3 = 10.1666… against 12.25 / 4 = 3.0625 -> 3.3197…
            "community_id=c1 members=3 non_members=4 \
             member_active_days=2.3333333333333335 non_member_active_days=1.5 active_days_ratio=1.5555555555555556 \
             member_interaction_rate=0.6 non_member_interaction_rate=0.2 interaction_rate_ratio=3.0 \
             member_retention_7d=0.5 non_member_retention_7d=1.0 retention_7d_ratio=0.5 \
             member_retention_30d=1.0 non_member_retention_30d=0.0 retention_30d_ratio=NULL \
             member_purchase_conversion=0.3333333333333333 non_member_purchase_conversion=0.25 \
             purchase_conversion_ratio=1.3333333333333333 \
             member_arpu=10.166666666666666 non_member_arpu=3.0625 arpu_ratio=3.3197278911564623 dt=2026-11-21",
            // c2: m1's view only, a non-member there: no members, so every
            // member figure and ratio is NULL; no retention base -> NULL
            "community_id=c2 members=0 non_members=1 \
             member_active_days=NULL non_member_active_days=1.0 active_days_ratio=NULL \
             member_interaction_rate=NULL non_member_interaction_rate=0.0 interaction_rate_ratio=NULL \
             member_retention_7d=NULL non_member_retention_7d=NULL retention_7d_ratio=NULL \
             member_retention_30d=NULL non_member_retention_30d=NULL retention_30d_ratio=NULL \
             member_purchase_conversion=NULL non_member_purchase_conversion=0.0 purchase_conversion_ratio=NULL \
             member_arpu=NULL non_member_arpu=0.0 arpu_ratio=NULL dt=2026-11-21",
        ]
        .map(|s| s.to_string()),
    );
    p.shoal(&["test", "--select", "member_comparison"])
        .expect_code(0);
}

#[test]
fn user_segments_lifecycle_band_boundaries() {
    // first active days at ages 0, 1 | 2, 7 | 8, 30 | 31 on D = 11-21: one view each
    let evs = vec![
        at("e0", "2026-11-21 10:00:00", "age00", "view"),
        at("e1", "2026-11-20 10:00:00", "age01", "view"),
        at("e2", "2026-11-19 10:00:00", "age02", "view"),
        at("e7", "2026-11-14 10:00:00", "age07", "view"),
        at("e8", "2026-11-13 10:00:00", "age08", "view"),
        at("e30", "2026-10-22 10:00:00", "age30", "view"),
        at("e31", "2026-10-21 10:00:00", "age31", "view"),
    ];
    let p = run_full_refresh(evs);
    let rows = p.table_on("user_segments", D, "user_id");
    // lifecycle_stage is the first pack's column, unchanged: age <= 1 without
    // core actions -> acquisition; age <= 7 -> activation; recency >= 30 -> churn
    assert_rows(
        &rows,
        &[
            "user_id=age00 lifecycle_stage=acquisition lifecycle_band=曝光期",
            "user_id=age01 lifecycle_stage=acquisition lifecycle_band=曝光期",
            "user_id=age02 lifecycle_stage=activation lifecycle_band=探索期",
            "user_id=age07 lifecycle_stage=activation lifecycle_band=探索期",
            "user_id=age08 lifecycle_stage=retention lifecycle_band=转化期",
            "user_id=age30 lifecycle_stage=churn lifecycle_band=转化期",
            "user_id=age31 lifecycle_stage=churn lifecycle_band=成熟期",
        ]
        .map(|s| s.to_string()),
    );
    // the new column comes after the first pack's columns
    assert!(
        rows[0].contains("recommended_action=regular content push lifecycle_band="),
        "{}",
        rows[0]
    );
    p.shoal(&["test", "--select", "user_segments"])
        .expect_code(0);
}

/// The users source (CSV here) as read by stg_users: uC is listed twice (the
/// later signup wins, its gender trimmed and lower-cased, its empty region
/// and out-of-range tier NULL); uD is not listed; u5 is deleted; uE is listed
/// but never active, so never scored.
const USERS_CSV: &str = "\
user_id,signup_time,gender,birth_year,region,city_tier,occupation
uA,2026-01-01T00:00:00Z,female,1998,广东,1,student
uB,2026-01-01T00:00:00Z,male,1988,四川,3,engineer
uC,2026-01-01T00:00:00Z,male,1970,江苏,2,teacher
uC,2026-02-01T00:00:00Z, Female ,2003,,7,
u5,2026-01-01T00:00:00Z,female,1999,广东,1,student
uE,2026-01-01T00:00:00Z,male,1990,广东,1,student
";

/// Users with attributes, D = 2026-11-21:
///
/// | user | active days          | orders on D | gender | generation | tier | region | occupation |
/// |------|----------------------|-------------|--------|------------|------|--------|------------|
/// | uA   | 11-11 (view), D      | oA 30       | female | 95后 (gen_z) | 1  | 广东   | student    |
/// | uB   | 10-12 (view)         |             | male   | 85后       | 3    | 四川   | engineer   |
/// | uC   | D                    | oC 10       | female | 00后 (gen_z) | NULL | NULL | NULL       |
/// | uD   | D (view)             |             | NULL   | NULL       | NULL | NULL   | NULL       |
fn profiled() -> crate::common::TempProject {
    let p = crate::pack_util::project();
    p.write("data/users/users.csv", USERS_CSV);
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &config.replace(
            "users: { location: data/users, optional: true }",
            "users: { location: data/users, optional: true, format: csv }",
        ),
    );
    crate::pack_util::run_full_refresh_in(
        p,
        D,
        vec![
            at("a0", "2026-11-11 09:00:00", "uA", "view"),
            at("a1", "2026-11-21 09:00:00", "uA", "like"),
            (
                D,
                with_order(
                    with_amount(
                        evc(
                            "a2",
                            "2026-11-21 09:05:00",
                            "uA",
                            "purchase",
                            Some("c1"),
                            None,
                        ),
                        Some(30.0),
                    ),
                    "oA",
                ),
            ),
            at("b0", "2026-10-12 09:00:00", "uB", "view"),
            (
                D,
                with_order(
                    with_amount(
                        evc(
                            "c0",
                            "2026-11-21 10:00:00",
                            "uC",
                            "purchase",
                            Some("c1"),
                            None,
                        ),
                        Some(10.0),
                    ),
                    "oC",
                ),
            ),
            at("d0", "2026-11-21 11:00:00", "uD", "view"),
            at("x0", "2026-11-21 11:00:00", "u5", "view"),
        ],
    )
}

#[test]
fn user_attributes_from_the_users_source_and_the_profile_summary() {
    let p = profiled();
    let features = p.table_on("user_features", D, "user_id");
    assert_rows(
        &features,
        &[
            "user_id=uA gender=female birth_year=1998 generation=95后 gen_z=true region=广东 city_tier=1 occupation=student",
            "user_id=uB gender=male birth_year=1988 generation=85后 gen_z=false region=四川 city_tier=3 occupation=engineer",
            // the 02-01 row of uC: " Female " -> female, region "" -> NULL, tier 7 -> NULL
            "user_id=uC gender=female birth_year=2003 generation=00后 gen_z=true region=NULL city_tier=NULL occupation=NULL",
            "user_id=uD gender=NULL birth_year=NULL generation=NULL gen_z=NULL region=NULL city_tier=NULL occupation=NULL",
        ]
        .map(|s| s.to_string()),
    );
    // 4 scored users, revenue_90: uA 30, uC 10 (total 40); active in 30 days:
    // uA, uC, uD (uB's only day is 10-12, D - 40); buyers: uA, uC
    let summary = p.table_on("user_profile_summary", D, "attribute, value");
    let quarter = 0.25;
    let row = |a: &str, v: &str, users: i64, active: i64, buyers: i64, revenue: f64| {
        let n = users as f64;
        format!(
            "attribute={a} value={v} users={users} share_of_users={} active_users_30={active} \
             active_share_30={} buyers_90={buyers} conversion_90={} revenue_90={revenue} arpu_90={} \
             share_of_revenue={}",
            n * quarter,
            active as f64 / n,
            buyers as f64 / n,
            revenue / n,
            revenue / 40.0
        )
    };
    assert_rows(
        &summary,
        &[
            // city_tier: 1 {uA}, 3 {uB}, missing {uC, uD}
            row("city_tier", "1", 1, 1, 1, 30.0),
            row("city_tier", "3", 1, 0, 0, 0.0),
            row("city_tier", "NULL", 2, 2, 1, 10.0),
            // gen_z: false {uB}, true {uA, uC}, missing {uD}
            row("gen_z", "false", 1, 0, 0, 0.0),
            row("gen_z", "true", 2, 2, 2, 40.0),
            row("gen_z", "NULL", 1, 1, 0, 0.0),
            // gender: female {uA, uC}, male {uB}, missing {uD}
            row("gender", "female", 2, 2, 2, 40.0),
            row("gender", "male", 1, 0, 0, 0.0),
            row("gender", "NULL", 1, 1, 0, 0.0),
            // generation: 00后 {uC}, 85后 {uB}, 95后 {uA}, missing {uD}
            row("generation", "00后", 1, 1, 1, 10.0),
            row("generation", "85后", 1, 0, 0, 0.0),
            row("generation", "95后", 1, 1, 1, 30.0),
            row("generation", "NULL", 1, 1, 0, 0.0),
            // occupation: engineer {uB}, student {uA}, missing {uC, uD}
            row("occupation", "engineer", 1, 0, 0, 0.0),
            row("occupation", "student", 1, 1, 1, 30.0),
            row("occupation", "NULL", 2, 2, 1, 10.0),
            // region: 四川 {uB}, 广东 {uA}, missing {uC, uD}
            row("region", "四川", 1, 0, 0, 0.0),
            row("region", "广东", 1, 1, 1, 30.0),
            row("region", "NULL", 2, 2, 1, 10.0),
        ],
    );
    // segment_summary within gen_z = true ({uA, uC}): lifecycle_band of uA
    // (first active 11-11, age 10) is 转化期, of uC (age 0) 曝光期; shares of
    // the group's 2 users and 40 of revenue
    let bands: Vec<String> = p
        .table_on(
            "segment_summary",
            D,
            "breakdown, breakdown_value, segment, value",
        )
        .into_iter()
        .filter(|r| {
            r.contains("segment=lifecycle_band ")
                && r.contains(" breakdown=gen_z breakdown_value=true")
        })
        .collect();
    assert_rows(
        &bands,
        &[
            "segment=lifecycle_band value=曝光期 users=1 share_of_users=0.5 revenue_90=10.0 share_of_revenue=0.25",
            "segment=lifecycle_band value=转化期 users=1 share_of_users=0.5 revenue_90=30.0 share_of_revenue=0.75",
        ]
        .map(|s| s.to_string()),
    );
    // uvi_tiers: three rows per group; the tiers of a group add up to its users
    // and revenue (gender: female 2 users / 40, male 1 / 0, missing 1 / 0)
    let tiers = p.table_on("uvi_tiers", D, "breakdown, breakdown_value, uvi_tier");
    let group = |v: &str| -> (usize, i64, f64) {
        let rows: Vec<&String> = tiers
            .iter()
            .filter(|r| r.contains(&format!(" breakdown=gender breakdown_value={v}")))
            .collect();
        let num = |r: &str, k: &str| -> f64 {
            r.split(&format!(" {k}="))
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        (
            rows.len(),
            rows.iter().map(|r| num(r, "users") as i64).sum(),
            rows.iter().map(|r| num(r, "revenue")).sum(),
        )
    };
    assert_eq!(group("female"), (3, 2, 40.0), "{tiers:#?}");
    assert_eq!(group("male"), (3, 1, 0.0), "{tiers:#?}");
    assert_eq!(group("NULL"), (3, 1, 0.0), "{tiers:#?}");
    assert_eq!(
        tiers
            .iter()
            .filter(|r| r.contains(" breakdown=all "))
            .count(),
        3
    );
}

#[test]
fn without_a_users_source_the_attributes_are_null_and_the_run_succeeds() {
    // no data/users at all: stg_users is empty, every attribute NULL, and
    // each attribute has one group (NULL) holding every scored user
    let p = run_full_refresh(vec![
        at("a0", "2026-11-21 09:00:00", "uA", "view"),
        at("b0", "2026-11-21 09:00:00", "uB", "like"),
    ]);
    let summary = p.table_on("user_profile_summary", D, "attribute, value");
    assert_eq!(summary.len(), 6, "{summary:#?}");
    for r in &summary {
        assert!(r.contains(" value=NULL users=2 share_of_users=1.0 "), "{r}");
    }
    let features = p.table_on("user_features", D, "user_id");
    assert!(
        features
            .iter()
            .all(|r| r.contains(" gender=NULL ") && r.contains(" generation=NULL ")),
        "{features:#?}"
    );
}

//! activation_daily, member_comparison and user_segments.lifecycle_band
//! (docs/metrics.md#activation_daily, docs/metrics.md#member_comparison,
//! docs/metrics.md#user_segments) on hand-built histories; each test is one
//! --full-refresh run for D = 2026-11-21, so the backbones hold every day.

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, run_full_refresh};

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
            ["2026-08-23", "2026-10-20", "2026-11-11", "2026-11-12", "2026-11-20"]
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

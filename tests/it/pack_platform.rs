//! platform_daily and churn_daily (docs/metrics.md#platform_daily,
//! docs/metrics.md#churn_daily) on one hand-built history; one full-refresh
//! run for D = 2026-11-21.
//!
//! Windows ending D: 7 days = 11-15 .. 11-21; 30 days = 10-23 .. 11-21; the
//! 30 days before = 09-23 .. 10-22; 09-22 is D - 60, outside both.

use crate::common::{Ev, TempProject};
use crate::pack_util::{assert_rows, evc, run_full_refresh};

fn fixture() -> TempProject {
    let e = |id, t, u, k, c| evc(id, t, u, k, c, None);
    let (c1, c2, c3) = (Some("c1"), Some("c2"), Some("c3"));
    let evs: Vec<(&'static str, Ev)> = vec![
        // uE: only on 09-22 = D - 60, in neither window
        (
            "2026-09-22",
            e("e1", "2026-09-22 10:00:00", "uE", "view", c1),
        ),
        // uD: 09-23 (first day of the previous 30, in c2), 11-15 (first day of the 7, in c1)
        (
            "2026-09-23",
            e("d1", "2026-09-23 10:00:00", "uD", "view", c2),
        ),
        (
            "2026-09-25",
            e("a1", "2026-09-25 10:00:00", "uA", "view", c1),
        ),
        // uG: the NULL community, in both windows
        (
            "2026-10-01",
            e("g1", "2026-10-01 10:00:00", "uG", "view", None),
        ),
        // u5 is deleted: in no count
        (
            "2026-10-01",
            e("x1", "2026-10-01 10:00:00", "u5", "view", c1),
        ),
        // uB: 10-22 = D - 30, the last day of the previous 30 days; never again
        (
            "2026-10-22",
            e("b1", "2026-10-22 10:00:00", "uB", "join", c1),
        ),
        // uC: 10-23 = D - 29, the first day of the last 30 (not in the 7)
        (
            "2026-10-23",
            e("c1", "2026-10-23 10:00:00", "uC", "view", c2),
        ),
        (
            "2026-11-15",
            e("d2", "2026-11-15 10:00:00", "uD", "quit", c1),
        ),
        // uH: only in c3, on 11-20
        (
            "2026-11-20",
            e("h1", "2026-11-20 10:00:00", "uH", "view", c3),
        ),
        (
            "2026-11-21",
            e("a2", "2026-11-21 10:00:00", "uA", "message", c1),
        ),
        (
            "2026-11-21",
            e("a3", "2026-11-21 10:05:00", "uA", "quit", c1),
        ),
        // uF: new on D
        (
            "2026-11-21",
            e("f1", "2026-11-21 11:00:00", "uF", "signup", c2),
        ),
        (
            "2026-11-21",
            e("f2", "2026-11-21 11:01:00", "uF", "join", c2),
        ),
        (
            "2026-11-21",
            e("g2", "2026-11-21 12:00:00", "uG", "view", None),
        ),
        (
            "2026-11-21",
            e("x2", "2026-11-21 12:00:00", "u5", "message", c1),
        ),
    ];
    run_full_refresh(evs)
}

#[test]
fn platform_daily_active_users_growth_and_events() {
    let p = fixture();
    let rows = p.table_on("platform_daily", "2026-11-21", "dt");
    assert_rows(
        &rows,
        &[
            // dau: uA, uF, uG = 3 (u5 deleted)
            // wau (11-15 ..): uA, uD (11-15), uF, uG, uH (11-20) = 5
            // mau (10-23 ..): those + uC (10-23) = 6 -> dau_mau 3 / 6 = 0.5
            // mau_prev (09-23 .. 10-22): uD (09-23), uA (09-25), uG (10-01), uB (10-22) = 4
            //   (uE's 09-22 is outside) -> mau_growth 6 / 4 - 1 = 0.5
            // new_users: first active day D: uF = 1 (uA's first day is 09-25)
            // messages: uA's (u5's is not counted) = 1; joins: uF = 1; quits: uA = 1
            "dau=3 wau=5 mau=6 dau_mau=0.5 mau_prev=4 mau_growth=0.5 new_users=1 \
             messages=1 joins=1 quits=1 dt=2026-11-21",
        ]
        .map(|s| s.to_string()),
    );
}

#[test]
fn churn_daily_per_platform_and_community() {
    let p = fixture();
    let rows = p.table_on(
        "churn_daily",
        "2026-11-21",
        "scope desc, community_id nulls last",
    );
    assert_rows(
        &rows,
        &[
            // platform: previous uA, uB, uD, uG = 4; current uA, uC, uD, uF, uG, uH = 6;
            // both: uA, uD, uG = 3; churned uB = 1 -> 1 / 4
            "scope=platform community_id=NULL previous_active=4 current_active=6 retained=3 \
             churned=1 churn_rate=0.25 dt=2026-11-21",
            // c1: previous uA (09-25), uB (10-22) = 2 (uE's 09-22 is outside);
            // current uA (11-21), uD (11-15) = 2; both uA -> churned uB: 1 / 2
            "scope=community community_id=c1 previous_active=2 current_active=2 retained=1 \
             churned=1 churn_rate=0.5 dt=2026-11-21",
            // c2: previous uD (09-23); current uC, uF; uD left c2 (it is active in c1): 1 / 1
            "scope=community community_id=c2 previous_active=1 current_active=2 retained=0 \
             churned=1 churn_rate=1.0 dt=2026-11-21",
            // c3: nobody before -> churn_rate NULL
            "scope=community community_id=c3 previous_active=0 current_active=1 retained=0 \
             churned=0 churn_rate=NULL dt=2026-11-21",
            // the NULL community: uG in both -> 0 / 1
            "scope=community community_id=NULL previous_active=1 current_active=1 retained=1 \
             churned=0 churn_rate=0.0 dt=2026-11-21",
        ]
        .map(|s| s.to_string()),
    );
}

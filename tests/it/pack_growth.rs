//! referral_daily, checkin_curve and path_edges (docs/metrics.md#referral_daily,
//! docs/metrics.md#checkin_curve, docs/metrics.md#path_edges),
//! each on its own hand-built fixture, run day 2026-11-21 (full refresh).

use crate::common::Ev;
use crate::pack_util::{assert_rows, c1_event as e, run_full_refresh as run, with_referrer};

#[test]
fn referral_daily_k_factor_and_first_purchases() {
    let d = "2026-11-21";
    let p = run(vec![
        // invites on D: i1 twice, i2 once -> inviters 2, invites 3
        (d, e("a1", "2026-11-21 08:00:00", "i1", "invite")),
        (d, e("a2", "2026-11-21 08:01:00", "i1", "invite")),
        (d, e("a3", "2026-11-21 08:00:00", "i2", "invite")),
        // invited joins on D: j1, j5 (i1), j2 (i2) = 3; j3 has no referrer; j4's referrer is deleted
        (
            d,
            with_referrer(e("b1", "2026-11-21 10:00:00", "j1", "join"), "i1"),
        ),
        (
            d,
            with_referrer(e("b2", "2026-11-21 11:00:00", "j2", "join"), "i2"),
        ),
        (d, e("b3", "2026-11-21 11:00:00", "j3", "join")),
        (
            d,
            with_referrer(e("b4", "2026-11-21 11:00:00", "j4", "join"), "u5"),
        ),
        (
            d,
            with_referrer(e("b5", "2026-11-21 11:00:00", "j5", "join"), "i1"),
        ),
        // j1 buys 2 h after its invited join: counts
        (d, e("c1", "2026-11-21 12:00:00", "j1", "purchase")),
        // m1 joined invited exactly 7 days before its first purchase: counts
        (
            "2026-11-14",
            with_referrer(e("c2", "2026-11-14 10:00:00", "m1", "join"), "i1"),
        ),
        (d, e("c3", "2026-11-21 10:00:00", "m1", "purchase")),
        // m2: 7 days and 1 s: does not count
        (
            "2026-11-14",
            with_referrer(e("c4", "2026-11-14 09:59:59", "m2", "join"), "i1"),
        ),
        (d, e("c5", "2026-11-21 10:00:00", "m2", "purchase")),
        // m3 bought already on 11-19: D's purchase is not its first
        (
            "2026-11-18",
            with_referrer(e("c6", "2026-11-18 10:00:00", "m3", "join"), "i2"),
        ),
        (
            "2026-11-19",
            e("c7", "2026-11-19 10:00:00", "m3", "purchase"),
        ),
        (d, e("c8", "2026-11-21 10:00:00", "m3", "purchase")),
        // n1 was never invited
        (d, e("c9", "2026-11-21 10:00:00", "n1", "purchase")),
    ]);
    // k_factor = 3 invited joins / 2 inviters; first purchases within 7 days: j1, m1
    assert_rows(
        &p.table("referral_daily", "dt"),
        &["inviters=2 invites=3 invited_joins=3 invited_first_purchases=2 k_factor=1.5 dt=2026-11-21".to_string()],
    );
}

#[test]
fn checkin_curve_shares_and_streaks() {
    let p = run(vec![
        // k1: 15, 16, 17 (arrives late, in dt=18), 19 -> cohort 15, streak 15..17 = 3
        (
            "2026-11-15",
            e("a1", "2026-11-15 08:00:00", "k1", "checkin"),
        ),
        (
            "2026-11-16",
            e("a2", "2026-11-16 08:00:00", "k1", "checkin"),
        ),
        (
            "2026-11-18",
            e("a3", "2026-11-17 23:59:59", "k1", "checkin"),
        ),
        (
            "2026-11-19",
            e("a4", "2026-11-19 08:00:00", "k1", "checkin"),
        ),
        // k2: 15 only -> streak 1; a view on 16 is no checkin
        (
            "2026-11-15",
            e("b1", "2026-11-15 00:00:00", "k2", "checkin"),
        ),
        ("2026-11-16", e("b2", "2026-11-16 08:00:00", "k2", "view")),
        // k3: 20, 21 -> cohort 20, streak 2
        (
            "2026-11-20",
            e("c1", "2026-11-20 08:00:00", "k3", "checkin"),
        ),
        (
            "2026-11-21",
            e("c2", "2026-11-21 08:00:00", "k3", "checkin"),
        ),
        // deleted user
        (
            "2026-11-21",
            e("d1", "2026-11-21 08:00:00", "u5", "checkin"),
        ),
    ]);
    assert_rows(
        &p.table("checkin_curve", "cohort_day"),
        &[
            // cohort 15 = {k1, k2}: day 1 (16) k1; 2 (17) k1; 3 (18) none; 4 (19) k1; 5, 6 none
            // mean streak (3 + 1) / 2
            "cohort_day=2026-11-15 users=2 share_day_1=0.5 share_day_2=0.5 share_day_3=0.0 share_day_4=0.5 \
             share_day_5=0.0 share_day_6=0.0 mean_streak_days=2.0"
                .to_string(),
            // cohort 20 = {k3}: day 1 = 21 observed; days 22.. after the run day -> NULL
            "cohort_day=2026-11-20 users=1 share_day_1=1.0 share_day_2=NULL share_day_3=NULL share_day_4=NULL \
             share_day_5=NULL share_day_6=NULL mean_streak_days=2.0"
                .to_string(),
        ],
    );
}

#[test]
fn path_edges_pairs_inside_sessions() {
    let d = "2026-11-21";
    let s = |e: Ev, sess: &'static str| Ev {
        session: Some(sess),
        ..e
    };
    let p = run(vec![
        // a1, session S: view -30 s-> click -60 s-> view -120 s-> click
        (d, s(e("a1", "2026-11-21 10:00:00", "a1", "view"), "S")),
        (d, s(e("a2", "2026-11-21 10:00:30", "a1", "click"), "S")),
        (d, s(e("a3", "2026-11-21 10:01:30", "a1", "view"), "S")),
        (d, s(e("a4", "2026-11-21 10:03:30", "a1", "click"), "S")),
        // a2, session T: view -10 s-> click; a late view of T on 11-20 is not part of D
        (d, s(e("b0", "2026-11-20 23:59:00", "a2", "view"), "T")),
        (d, s(e("b1", "2026-11-21 09:00:00", "a2", "view"), "T")),
        (d, s(e("b2", "2026-11-21 09:00:10", "a2", "click"), "T")),
        // a2 without session id: like then share 599 s later (one derived session)
        (d, e("b3", "2026-11-21 23:50:00", "a2", "like")),
        (d, e("b4", "2026-11-21 23:59:59", "a2", "share")),
        // a3: a single event makes no pair
        (d, e("c1", "2026-11-21 12:00:00", "a3", "view")),
    ]);
    assert_rows(
        &p.table("path_edges", "from_type, to_type"),
        &[
            "from_type=click to_type=view transitions=1 users=1 median_seconds=60.0 dt=2026-11-21",
            "from_type=like to_type=share transitions=1 users=1 median_seconds=599.0",
            // view -> click: 30 s, 120 s (a1) and 10 s (a2): median 30
            "from_type=view to_type=click transitions=3 users=2 median_seconds=30.0",
        ]
        .map(|s| s.to_string()),
    );
}

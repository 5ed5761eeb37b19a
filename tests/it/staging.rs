//! stg_events, dq_daily and user_daily (docs/metrics.md#stg_events,
//! docs/metrics.md#dq_daily, docs/metrics.md#user_daily) on a hand-built
//! fixture; every expected number is worked out in the comments.

use crate::common::{Ev, TempProject, ev};

/// late_days = 3, run day 2026-11-21, u5 in deletions.
fn fixture() -> TempProject {
    let p = TempProject::with_repo_models();
    let s = |mut e: Ev, sess: &'static str| {
        e.session = Some(sess);
        e
    };
    let amt = |mut e: Ev, a: Option<f64>| {
        e.amount = a;
        e
    };
    p.events(
        "2026-11-20",
        "a",
        &[
            s(ev("a1", "2026-11-20 10:00:00", "u1", "view"), "s1"),
            s(ev("a2", "2026-11-20 10:10:00", "u1", "like"), "s1"),
            amt(
                ev("a3", "2026-11-20 23:50:00", "u2", "purchase"),
                Some(10.0),
            ),
        ],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            amt(ev("b1", "2026-11-21 00:10:00", "u2", "purchase"), None), // no amount
            ev("b2", "2026-11-21 00:20:00", "u2", "view"), // 10 min later: same derived session
            ev("b3", "2026-11-21 01:00:00", "u2", "click"), // 40 min gap: new derived session
            s(ev("a2", "2026-11-20 10:10:00", "u1", "like"), "s1"), // duplicate of a2 (tie: partition 20 wins)
            Ev {
                id: None,
                ..ev("x", "2026-11-21 02:00:00", "u1", "view")
            }, // null key
            ev("b6", "2026-11-22 01:00:00", "u1", "view"),          // future
            ev("b7", "2026-11-10 01:00:00", "u1", "view"),          // too late (< 11-18)
            ev("b8", "2026-11-19 05:00:00", "u3", "badge"),         // late, unknown type
            s(
                amt(ev("b9", "2026-11-21 12:00:00", "u4", "purchase"), Some(5.5)),
                "s9",
            ),
            s(
                amt(
                    ev("b10", "2026-11-21 12:01:00", "u4", "purchase"),
                    Some(4.5),
                ),
                "s9",
            ),
            s(ev("b11", "2026-11-21 13:00:00", "u5", "view"), "s11"), // deleted user
        ],
    );
    p.write(
        "data/deletions/deletions.csv",
        "user_id,requested_at\nu5,2026-11-01T00:00:00Z\n",
    );
    p.write(
        "config/shoal.yaml",
        &crate::common::CONFIG.replace(
            "deletions: { location: data/deletions, optional: true }",
            "deletions: { location: data/deletions, optional: true, format: csv }",
        ),
    );
    p
}

#[test]
fn dq_daily_counts_every_kind_of_row() {
    let p = fixture();
    p.shoal(&["run"]).expect_code(0);
    let rows = p.table("dq_daily", "dt");
    // rows_read 11 (b1..b11); null key 1 (x); future 1 (b6); too late 1 (b7)
    // valid before dedup = 11 - 3 = 8; a2 again is a duplicate -> rows_valid 7, duplicate_rows 1
    // late rows (valid, date < 21): the a2 copy (20) and b8 (19) = 2; unknown type: b8 = 1
    // deleted (kept, user in deletions): b11 = 1; error_rate = (11 - 7) / 11
    assert_eq!(
        rows,
        [format!(
            "rows_read=11 rows_valid=7 duplicate_rows=1 null_key_rows=1 future_rows=1 too_late_rows=1 \
             late_rows=2 unknown_type_rows=1 deleted_rows=1 bad_amount_rows=0 error_rate={} dt=2026-11-21",
            4.0_f64 / 11.0
        )]
    );
}

#[test]
fn user_daily_folds_late_events_and_excludes_deleted_users() {
    let p = fixture();
    p.shoal(&["run"]).expect_code(0);
    let sql_cols = "dt, user_id";
    let rows: Vec<String> = p
        .table("user_daily", sql_cols)
        .into_iter()
        .map(|r| {
            // keep the columns this test is about
            let keep = [
                "user_id",
                "dt",
                "views",
                "clicks",
                "likes",
                "purchases",
                "events",
                "revenue",
                "sessions",
            ];
            r.split(' ')
                .filter(|c| keep.iter().any(|k| c.starts_with(&format!("{k}="))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        rows,
        [
            // b8 arrived late in dt=21 and lands on its own day, 19 (one derived session)
            "user_id=u3 views=0 clicks=0 likes=0 purchases=0 events=1 revenue=0.0 sessions=1 dt=2026-11-19",
            // a1 + a2 (its duplicate in dt=21 dropped): one session s1
            "user_id=u1 views=1 clicks=0 likes=1 purchases=0 events=2 revenue=0.0 sessions=1 dt=2026-11-20",
            "user_id=u2 views=0 clicks=0 likes=0 purchases=1 events=1 revenue=10.0 sessions=1 dt=2026-11-20",
            // b1 (no amount -> revenue 0), b2 same session, b3 after a 40-minute gap: 2 sessions
            "user_id=u2 views=1 clicks=1 likes=0 purchases=1 events=3 revenue=0.0 sessions=2 dt=2026-11-21",
            // b9 + b10: 5.5 + 4.5 = 10.0 in one session; u5 (deleted) has no row
            "user_id=u4 views=0 clicks=0 likes=0 purchases=2 events=2 revenue=10.0 sessions=1 dt=2026-11-21",
        ]
    );
}

#[test]
fn incremental_and_full_refresh_give_the_same_user_daily() {
    let a = fixture();
    a.shoal(&["run", "--ds", "2026-11-20"]).expect_code(0);
    a.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    let b = fixture();
    b.shoal(&["run", "--full-refresh"]).expect_code(0);
    let order = "dt, user_id";
    assert_eq!(a.table("user_daily", order), b.table("user_daily", order));
    assert_eq!(a.table("user_daily", order).len(), 5);
}

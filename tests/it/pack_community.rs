//! community_user_daily and community_daily
//! (docs/metrics.md#community_user_daily, docs/metrics.md#community_daily) on
//! a hand-built fixture over three run days; every expected number is worked
//! out below.

use crate::pack_util::{assert_rows, evc, project, run_days, with_amount};

/// Runs 2026-10-20, 2026-11-01 and 2026-11-21 (late_days = 3, u5 deleted).
fn fixture() -> crate::common::TempProject {
    let p = project();
    let c1 = Some("c1");
    let c2 = Some("c2");
    p.events(
        "2026-10-20",
        "a",
        &[
            evc("j1", "2026-10-20 10:00:00", "u1", "join", c1, Some("x1")),
            evc("v2", "2026-10-20 11:00:00", "u2", "view", c1, Some("x2")),
            evc("j3", "2026-10-20 12:00:00", "u3", "join", c2, Some("x3")),
            evc("j5", "2026-10-20 12:00:00", "u5", "join", c1, Some("x5")), // deleted user
        ],
    );
    p.events(
        "2026-11-01",
        "a",
        &[
            evc("v3", "2026-11-01 09:00:00", "u3", "view", c1, Some("y3")),
            // join and quit at the same instant: the quit wins, u2 is no member
            evc("j2", "2026-11-01 10:00:00", "u2", "join", c1, Some("y2")),
            evc("q2", "2026-11-01 10:00:00", "u2", "quit", c1, Some("y2")),
        ],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            // c1, u1: session s1 has core actions, s2 only a view (bounce)
            evc(
                "e1",
                "2026-11-21 09:00:00",
                "u1",
                "exposure",
                c1,
                Some("s1"),
            ),
            evc("e2", "2026-11-21 09:01:00", "u1", "click", c1, Some("s1")),
            evc("e3", "2026-11-21 09:02:00", "u1", "view", c1, Some("s1")),
            evc("e4", "2026-11-21 09:03:00", "u1", "like", c1, Some("s1")),
            evc("e5", "2026-11-21 12:00:00", "u1", "view", c1, Some("s2")),
            // c1, u4: s3 = view + signup + join (no core action: bounce), s4 = checkin
            evc("f1", "2026-11-21 10:00:00", "u4", "view", c1, Some("s3")),
            evc("f2", "2026-11-21 10:01:00", "u4", "signup", c1, Some("s3")),
            evc("f3", "2026-11-21 10:02:00", "u4", "join", c1, Some("s3")),
            evc("f4", "2026-11-21 11:00:00", "u4", "checkin", c1, Some("s4")),
            // deleted user: nowhere
            evc("g1", "2026-11-21 10:00:00", "u5", "view", c1, Some("s5")),
            // late event received on 21, happened 1 s before midnight of 20: mau, not dau
            evc("h1", "2026-11-20 23:59:59", "u6", "view", c1, Some("s6")),
            // purchase without amount at the first instant of 21
            with_amount(
                evc(
                    "k1",
                    "2026-11-21 00:00:00",
                    "u7",
                    "purchase",
                    c1,
                    Some("s7"),
                ),
                None,
            ),
            // c2: u3 quits, then a message 10 min later (one derived session, no core action)
            evc("m1", "2026-11-21 08:00:00", "u3", "quit", c2, None),
            evc("m2", "2026-11-21 08:10:00", "u3", "message", c2, None),
            // the NULL community: a share in u1's session s1
            evc("n1", "2026-11-21 09:04:00", "u1", "share", None, Some("s1")),
        ],
    );
    run_days(&p, &["2026-10-20", "2026-11-01", "2026-11-21"]);
    p
}

#[test]
fn community_daily_counts_rates_and_nulls() {
    let p = fixture();
    let rows = p.table("community_daily", "dt, community_id nulls last");
    let day1021 = |s: &str| format!("{s} dt=2026-10-20");
    let day1101 = |s: &str| format!("{s} dt=2026-11-01");
    let day = |s: &str| format!("{s} dt=2026-11-21");
    assert_rows(
        &rows,
        &[
            // 10-20: c1 = u1 (join), u2 (view); u5 deleted (its join is not counted). members: u1 -> 1
            day1021("community_id=c1 dau=2 mau=2 stickiness=1.0 members=1 views=1 joins=1 quits=0"),
            // c2: u3 joins -> member 1
            day1021("community_id=c2 dau=1 mau=1 stickiness=1.0 members=1 views=0 joins=1 interaction_rate=NULL"),
            // 11-01: c1 = u3, u2; mau over 10-03..11-01 = u1, u2, u3 -> 3; stickiness 2/3
            // members: u1 (join 10-20); u2 join/quit tie -> quit -> 1; u2's join and quit both count
            day1101("community_id=c1 dau=2 mau=3 stickiness=0.6666666666666666 members=1 views=1 joins=1 quits=1"),
            // 11-21, c1: dau u1, u4, u7 = 3 (u6's event is on 20, u5 deleted)
            // mau over 10-23..11-21: u3, u2 (11-01), u6 (11-20), u1, u4, u7 = 6 -> stickiness 0.5
            // members: u1 (join 10-20), u4 (join today); u2 quit on the tie -> 2
            // views: u1 2 + u4 1 = 3; likes 1; u4's join (f3); interaction (1 + 0 + 0) / 3
            // click_conversion 1 click / 1 exposure; registration: signup users {u4} / view users {u1, u4}
            // purchase: buyers {u7} / view users 2; activity: checkin users {u4} / members 2
            // sessions (u1,s1) core, (u1,s2) bounce, (u4,s3) bounce, (u4,s4) core, (u7,s7) core -> 2/5
            day(
                "community_id=c1 dau=3 mau=6 stickiness=0.5 members=2 views=3 likes=1 comments=0 shares=0 \
                 messages=0 joins=1 quits=0 \
                 interaction_rate=0.3333333333333333 click_conversion=1.0 registration_conversion=0.5 \
                 purchase_conversion=0.5 activity_conversion=0.5 sessions=5 bounced_sessions=2 bounce_rate=0.4",
            ),
            // c2: u3 only (its 10-20 join is outside the 30 days); u3 quit today -> 0 members, 1 quit,
            // and its message;
            // every ratio has a zero denominator -> NULL; the derived session bounced: 1/1
            day(
                "community_id=c2 dau=1 mau=1 stickiness=1.0 members=0 views=0 likes=0 comments=0 shares=0 \
                 messages=1 joins=0 quits=1 \
                 interaction_rate=NULL click_conversion=NULL registration_conversion=NULL \
                 purchase_conversion=NULL activity_conversion=NULL sessions=1 bounced_sessions=1 bounce_rate=1.0",
            ),
            // the NULL community: u1's share in s1 (a core action) -> bounce 0/1; no views -> NULL
            day(
                "community_id=NULL dau=1 mau=1 stickiness=1.0 members=0 views=0 likes=0 comments=0 shares=1 \
                 messages=0 joins=0 quits=0 \
                 interaction_rate=NULL click_conversion=NULL sessions=1 bounced_sessions=0 bounce_rate=0.0",
            ),
        ]
        .map(|s| s.to_string()),
    );
}

#[test]
fn community_user_daily_keeps_late_events_on_their_day() {
    let p = fixture();
    let rows = p.table(
        "community_user_daily",
        "dt, community_id nulls last, user_id",
    );
    let got: Vec<String> = rows
        .into_iter()
        .filter(|r| r.contains("dt=2026-11-20") || r.contains("user_id=u2"))
        .collect();
    assert_rows(
        &got,
        &[
            "community_id=c1 user_id=u2 views=1 events=1 last_membership_event=NULL dt=2026-10-20",
            // join and quit at 10:00: the quit wins the tie
            "community_id=c1 user_id=u2 joins=1 quits=1 events=2 last_membership_event=quit dt=2026-11-01",
            // h1 arrived in dt=21 but happened on 20
            "community_id=c1 user_id=u6 views=1 events=1 revenue=0.0 dt=2026-11-20",
        ]
        .map(|s| s.to_string()),
    );
}

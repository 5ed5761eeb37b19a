//! funnel_users and funnel_steps (docs/metrics.md#funnel_users,
//! docs/metrics.md#funnel_steps) on a hand-built week, with the
//! two default funnels and a test funnel `quick` (view -> click, 1h,
//! strict_increase) for the window boundary.

use std::collections::BTreeMap;

use crate::common::{CONFIG, Ev};
use crate::pack_util::{assert_rows, evc, project, with_referrer};

fn fixture() -> crate::common::TempProject {
    let p = project();
    let referral = "  - { name: referral, steps: [invite, join, purchase], window: 7d, mode: [], match_by: invitee }\n";
    assert!(CONFIG.contains(referral));
    p.write(
        "config/shoal.yaml",
        &CONFIG
            .replace(
                referral,
                &format!(
                    "{referral}  - {{ name: quick, steps: [view, click], window: 1h, mode: [strict_increase] }}\n"
                ),
            )
            .replace(
                "deletions: { location: data/deletions, optional: true }",
                "deletions: { location: data/deletions, optional: true, format: csv }",
            ),
    );
    let ch = |e: Ev, c: Option<&'static str>, channel: &'static str| Ev {
        community: c,
        channel: Some(channel),
        ..e
    };
    let e = |id, t, u, k| evc(id, t, u, k, Some("c1"), None);
    let mut days: BTreeMap<&str, Vec<Ev>> = BTreeMap::new();
    let mut add = |d: &'static str, ev: Ev| days.entry(d).or_default().push(ev);
    // purchase funnel, range 11-15 .. 11-21
    // p1: every step in order -> 4 (first exposure c1 / wechat), purchase without amount
    add(
        "2026-11-15",
        ch(
            e("p1a", "2026-11-15 00:00:00", "p1", "exposure"),
            Some("c1"),
            "wechat",
        ),
    );
    add("2026-11-15", e("p1b", "2026-11-15 10:05:00", "p1", "click"));
    add(
        "2026-11-18",
        e("p1c", "2026-11-18 10:00:00", "p1", "add_to_cart"),
    );
    add(
        "2026-11-21",
        e("p1d", "2026-11-21 23:59:59", "p1", "purchase"),
    );
    // p2: exposure 1 s before the range starts -> no step 1 in range -> no row
    add(
        "2026-11-15",
        e("p2a", "2026-11-14 23:59:59", "p2", "exposure"),
    );
    add("2026-11-15", e("p2b", "2026-11-15 00:00:01", "p2", "click"));
    // p3: cart before the click -> exposure, click = 2 (c2 / app)
    add(
        "2026-11-16",
        ch(
            e("p3a", "2026-11-16 09:00:00", "p3", "exposure"),
            Some("c2"),
            "app",
        ),
    );
    add(
        "2026-11-16",
        e("p3b", "2026-11-16 09:10:00", "p3", "add_to_cart"),
    );
    add("2026-11-17", e("p3c", "2026-11-17 09:00:00", "p3", "click"));
    // p4: first exposure 11-19 in the NULL community / web; click 11-20 11:00 -> 2
    add(
        "2026-11-19",
        ch(
            e("p4a", "2026-11-19 09:00:00", "p4", "exposure"),
            None,
            "web",
        ),
    );
    add("2026-11-20", e("p4b", "2026-11-20 11:00:00", "p4", "click"));
    add(
        "2026-11-20",
        ch(
            e("p4c", "2026-11-20 12:00:00", "p4", "exposure"),
            Some("c2"),
            "app",
        ),
    );
    // p5 is deleted
    add(
        "2026-11-20",
        e("p5a", "2026-11-20 12:00:00", "u5", "exposure"),
    );
    // p6: exposure and click at the same instant: default mode -> 2 (c1 / wechat)
    add(
        "2026-11-21",
        ch(
            e("p6a", "2026-11-21 08:00:00", "p6", "exposure"),
            Some("c1"),
            "wechat",
        ),
    );
    add("2026-11-21", e("p6b", "2026-11-21 08:00:00", "p6", "click"));
    // referral funnel: r1 invites; r3 joins first but never buys, r2 joins and buys -> 3
    add(
        "2026-11-16",
        e("r1a", "2026-11-16 10:00:00", "r1", "invite"),
    );
    add(
        "2026-11-16",
        with_referrer(e("r3a", "2026-11-16 10:30:00", "r3", "join"), "r1"),
    );
    add(
        "2026-11-16",
        with_referrer(e("r2a", "2026-11-16 11:00:00", "r2", "join"), "r1"),
    );
    add(
        "2026-11-17",
        e("r2b", "2026-11-17 11:00:00", "r2", "purchase"),
    );
    // r4 invites, nobody joins -> 1
    add(
        "2026-11-18",
        e("r4a", "2026-11-18 10:00:00", "r4", "invite"),
    );
    // r7 invites after r8 already joined naming r7 -> 1
    add(
        "2026-11-19",
        with_referrer(e("r8a", "2026-11-19 11:00:00", "r8", "join"), "r7"),
    );
    add(
        "2026-11-19",
        e("r7a", "2026-11-19 12:00:00", "r7", "invite"),
    );
    add(
        "2026-11-20",
        e("r8b", "2026-11-20 12:00:00", "r8", "purchase"),
    );
    // quick funnel (1h, strict_increase), range 11-21 only
    add("2026-11-21", e("q1a", "2026-11-21 09:00:00", "q1", "view"));
    add("2026-11-21", e("q1b", "2026-11-21 10:00:00", "q1", "click")); // exactly 1 h: inside
    add("2026-11-21", e("q2a", "2026-11-21 09:00:00", "q2", "view"));
    add("2026-11-21", e("q2b", "2026-11-21 10:00:01", "q2", "click")); // 1 h 1 s: outside
    add("2026-11-21", e("q3a", "2026-11-21 12:00:00", "q3", "view"));
    add("2026-11-21", e("q3b", "2026-11-21 12:00:00", "q3", "click")); // same instant: not strictly after
    add("2026-11-20", e("q4a", "2026-11-20 23:30:00", "q4", "view")); // before the range
    add("2026-11-21", e("q4b", "2026-11-21 00:10:00", "q4", "click"));
    for (d, evs) in &days {
        p.events(d, "a", evs);
    }
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    p
}

#[test]
fn funnel_levels_and_steps() {
    let p = fixture();
    let users = p.table("funnel_users", "funnel, user_id");
    let u = |s: &str| format!("{s} dt=2026-11-21");
    assert_rows(
        &users,
        &[
            u("funnel=purchase user_id=p1 level=4 first_community_id=c1 first_channel=wechat"),
            u("funnel=purchase user_id=p3 level=2 first_community_id=c2 first_channel=app"),
            u("funnel=purchase user_id=p4 level=2 first_community_id=NULL first_channel=web"),
            u("funnel=purchase user_id=p6 level=2 first_community_id=c1 first_channel=wechat"),
            u("funnel=quick user_id=q1 level=2"),
            u("funnel=quick user_id=q2 level=1"),
            u("funnel=quick user_id=q3 level=1"),
            u("funnel=referral user_id=r1 level=3"),
            u("funnel=referral user_id=r4 level=1"),
            u("funnel=referral user_id=r7 level=1"),
        ],
    );
    let steps: Vec<String> = p
        .table(
            "funnel_steps",
            "funnel, breakdown, breakdown_value nulls first, step",
        )
        .into_iter()
        .filter(|r| r.starts_with("funnel=purchase "))
        .collect();
    let s = |b: &str, v: &str, rest: &str| {
        format!("funnel=purchase breakdown={b} breakdown_value={v} {rest}")
    };
    assert_rows(
        &steps,
        &[
            // by channel: app {p3: 2}; web {p4: 2}; wechat {p1: 4, p6: 2}
            s(
                "channel",
                "app",
                "step=1 step_name=exposure users=1 conversion_from_start=1.0 conversion_from_previous=NULL",
            ),
            s(
                "channel",
                "app",
                "step=2 step_name=click users=1 conversion_from_start=1.0 conversion_from_previous=1.0",
            ),
            s(
                "channel",
                "app",
                "step=3 users=0 conversion_from_start=0.0 conversion_from_previous=0.0",
            ),
            // previous step empty -> NULL
            s(
                "channel",
                "app",
                "step=4 users=0 conversion_from_start=0.0 conversion_from_previous=NULL",
            ),
            s("channel", "web", "step=1 users=1"),
            s("channel", "web", "step=2 users=1"),
            s("channel", "web", "step=3 users=0"),
            s("channel", "web", "step=4 users=0"),
            s(
                "channel",
                "wechat",
                "step=1 users=2 conversion_from_start=1.0",
            ),
            s(
                "channel",
                "wechat",
                "step=2 users=2 conversion_from_start=1.0 conversion_from_previous=1.0",
            ),
            s(
                "channel",
                "wechat",
                "step=3 users=1 conversion_from_start=0.5 conversion_from_previous=0.5",
            ),
            s(
                "channel",
                "wechat",
                "step=4 step_name=purchase users=1 conversion_from_start=0.5 conversion_from_previous=1.0",
            ),
            // by community: NULL {p4}; c1 {p1, p6}; c2 {p3}
            s("community_id", "NULL", "step=1 users=1"),
            s("community_id", "NULL", "step=2 users=1"),
            s("community_id", "NULL", "step=3 users=0"),
            s("community_id", "NULL", "step=4 users=0"),
            s("community_id", "c1", "step=1 users=2"),
            s("community_id", "c1", "step=2 users=2"),
            s("community_id", "c1", "step=3 users=1"),
            s("community_id", "c1", "step=4 users=1"),
            s("community_id", "c2", "step=1 users=1"),
            s("community_id", "c2", "step=2 users=1"),
            s("community_id", "c2", "step=3 users=0"),
            s("community_id", "c2", "step=4 users=0"),
            // total: levels 4, 2, 2, 2 -> 4, 4, 1, 1
            s(
                "total",
                "NULL",
                "step=1 users=4 conversion_from_start=1.0 conversion_from_previous=NULL",
            ),
            s(
                "total",
                "NULL",
                "step=2 users=4 conversion_from_start=1.0 conversion_from_previous=1.0",
            ),
            s(
                "total",
                "NULL",
                "step=3 users=1 conversion_from_start=0.25 conversion_from_previous=0.25",
            ),
            s(
                "total",
                "NULL",
                "step=4 users=1 conversion_from_start=0.25 conversion_from_previous=1.0",
            ),
        ],
    );
}

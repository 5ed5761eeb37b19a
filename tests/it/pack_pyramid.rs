//! pyramid_evaluation and the community breakdown of segment_summary
//! (docs/metrics.md#pyramid_evaluation, docs/metrics.md#segment_summary) on
//! a hand-built two-day history; one --full-refresh run for D = 2026-11-21,
//! which builds user_segments for D − 1 first (reads_previous_day).

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, project, run_full_refresh_in, with_amount, with_order};

const D: &str = "2026-11-21";

fn e(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    k: &'static str,
    c: &'static str,
) -> (&'static str, Ev) {
    (&t[..10], evc(id, t, u, k, Some(c), None))
}

fn order(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    c: &'static str,
    o: &'static str,
    amount: f64,
) -> (&'static str, Ev) {
    (
        &t[..10],
        with_order(
            with_amount(evc(id, t, u, "purchase", Some(c), None), Some(amount)),
            o,
        ),
    )
}

/// | user | member of c1 | D − 1 (11-20)                    | D (11-21)                 | level D − 1 → D |
/// |------|--------------|----------------------------------|---------------------------|-----------------|
/// | uA   | yes          | join, 5 comments, order 10 in c1 | view, order 30 in c1      | 4 → 4           |
/// | uB   | yes          | join, view                       | 5 shares                  | 2 → 4 (up)      |
/// | uC   | yes          | join, view                       | order 10 in c1, 99 in c2  | 2 → 2           |
/// | uD   | no           | 10 likes in c1                   | view                      | 5 → 5           |
///
/// Levels: 4 contributor = comments_30 + shares_30 ≥ 5; 2 member; uD has
/// the most interactions_30 (10 likes) of the four scored users: the top
/// 1 % ((rank − 1) · 100 ≥ 99 · (n − 1): 3 · 100 ≥ 99 · 3), level 5 — but
/// not a member of c1.
#[test]
fn pyramid_evaluation_per_community() {
    let p = project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    let config = config.replacen(
        "  recommended_action:\n",
        "  maturity_grades: { C: 1, A: 85, B: 70 }\n  recommended_action:\n",
        1,
    );
    assert!(config.contains("maturity_grades: { C: 1, A: 85, B: 70 }"));
    p.write("config/shoal.yaml", &config);
    let mut evs = vec![
        e("a0", "2026-11-20 08:00:00", "uA", "join", "c1"),
        e("b0", "2026-11-20 08:00:00", "uB", "join", "c1"),
        e("b1", "2026-11-20 08:05:00", "uB", "view", "c1"),
        e("c0", "2026-11-20 08:00:00", "uC", "join", "c1"),
        e("c1", "2026-11-20 08:05:00", "uC", "view", "c1"),
        order("ao1", "2026-11-20 09:00:00", "uA", "c1", "o1", 10.0),
        e("a9", "2026-11-21 08:00:00", "uA", "view", "c1"),
        order("ao2", "2026-11-21 09:00:00", "uA", "c1", "o2", 30.0),
        order("co1", "2026-11-21 09:00:00", "uC", "c1", "o3", 10.0),
        order("co2", "2026-11-21 10:00:00", "uC", "c2", "o4", 99.0),
        e("d9", "2026-11-21 08:00:00", "uD", "view", "c1"),
    ];
    for (i, id) in ["a1", "a2", "a3", "a4", "a5"].into_iter().enumerate() {
        let t: &'static str = Box::leak(format!("2026-11-20 10:0{i}:00").into_boxed_str());
        evs.push(e(id, t, "uA", "comment", "c1"));
    }
    for (i, id) in ["b2", "b3", "b4", "b5", "b6"].into_iter().enumerate() {
        let t: &'static str = Box::leak(format!("2026-11-21 10:0{i}:00").into_boxed_str());
        evs.push(e(id, t, "uB", "share", "c1"));
    }
    for (i, id) in ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "dx"]
        .into_iter()
        .enumerate()
    {
        let t: &'static str = Box::leak(format!("2026-11-20 11:0{i}:00").into_boxed_str());
        evs.push(e(id, t, "uD", "like", "c1"));
    }
    let p = run_full_refresh_in(p, D, evs);
    assert_rows(
        &p.table_on("user_segments", D, "user_id"),
        &[
            "user_id=uA pyramid_level=4",
            "user_id=uB pyramid_level=4",
            "user_id=uC pyramid_level=2",
            "user_id=uD pyramid_level=5",
        ]
        .map(String::from),
    );

    // c1's scored members on D: uA (4), uB (4), uC (2): shares 1/3 and 2/3.
    // On D − 1: uA on 4 (stays), uB and uC on 2 (uB moves up): level 2
    // 1 of 2 up, level 4 0 of 1.
    // Revenue in c1 over 30 days: level 4 = uA 10 + 30 = 40, level 2 = uC 10
    // (its 99 is in c2); shares 40 / 50 and 10 / 50.
    let health = p.table_on("community_health_weekly", D, "community_id");
    let score: f64 = health
        .iter()
        .find(|r| r.starts_with("community_id=c1 "))
        .and_then(|r| r.split(' ').find_map(|c| c.strip_prefix("health_score=")))
        .expect("c1's health score")
        .parse()
        .unwrap();
    // grades {C: 1, A: 85, B: 70} written out of order: the grade is the one
    // whose minimum the score reaches and no higher minimum does
    let grade = if score >= 85.0 {
        "A"
    } else if score >= 70.0 {
        "B"
    } else if score >= 1.0 {
        "C"
    } else {
        "D"
    };
    let row = |level: u8,
               members: u8,
               share: f64,
               prev: u8,
               up: u8,
               rate: &str,
               revenue: f64,
               rshare: &str| {
        format!(
            "community_id=c1 pyramid_level={level} members={members} share_of_members={share} members_prev={prev} \
             moved_up={up} upward_rate={rate} revenue_30={revenue} share_of_revenue={rshare} health_score={score} \
             maturity_grade={grade}"
        )
    };
    assert_rows(
        &p.table_on("pyramid_evaluation", D, "community_id, pyramid_level"),
        &[
            row(1, 0, 0.0, 0, 0, "NULL", 0.0, "0.0"),
            row(2, 1, 1.0 / 3.0, 2, 1, "0.5", 10.0, "0.2"),
            row(3, 0, 0.0, 0, 0, "NULL", 0.0, "0.0"),
            row(4, 2, 2.0 / 3.0, 1, 0, "0.0", 40.0, "0.8"),
            row(5, 0, 0.0, 0, 0, "NULL", 0.0, "0.0"),
        ],
    );

    // segment_summary's community breakdown: c1's three members by level
    let summary: Vec<String> = p
        .table_on(
            "segment_summary",
            D,
            "breakdown, breakdown_value, segment, value",
        )
        .into_iter()
        .filter(|r| r.contains("breakdown=community ") && r.contains("segment=pyramid_level "))
        .collect();
    assert_rows(
        &summary,
        &[
            format!(
                "segment=pyramid_level value=2 users=1 share_of_users={} breakdown=community breakdown_value=c1",
                1.0 / 3.0
            ),
            format!(
                "segment=pyramid_level value=4 users=2 share_of_users={} breakdown=community breakdown_value=c1",
                2.0 / 3.0
            ),
        ],
    );
}

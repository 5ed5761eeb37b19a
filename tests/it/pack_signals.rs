//! event_anomalies and content_scores (docs/metrics.md#event_anomalies,
//! docs/metrics.md#content_scores) on
//! hand-built fixtures, run day 2026-11-21 (full refresh).

use crate::common::Ev;
use crate::pack_util::{assert_rows, c1_event as e, run_full_refresh as run};

#[test]
fn event_anomalies_against_28_day_baseline() {
    let d = "2026-11-21";
    let mut evs = vec![
        // baseline of (c1, view, hour 10): 10-24: 1; 11-20: 1 + 1 arriving late in dt=21
        ("2026-10-23", e("z0", "2026-10-23 10:00:00", "a", "view")), // D - 29: outside
        ("2026-10-24", e("z1", "2026-10-24 10:15:00", "a", "view")),
        ("2026-11-20", e("z2", "2026-11-20 10:15:00", "a", "view")),
        (d, e("z3", "2026-11-20 10:30:00", "a", "view")),
        // D: 3 in hour 10 (10:59:59 still hour 10)
        (d, e("y1", "2026-11-21 10:00:00", "a", "view")),
        (d, e("y2", "2026-11-21 10:30:00", "b", "view")),
        (d, e("y3", "2026-11-21 10:59:59", "b", "view")),
        // (c1, view, hour 11): 1 on 10-24, 11-01, 11-20; 1 on D -> z about 2.83: not reported
        ("2026-10-24", e("x1", "2026-10-24 11:00:00", "a", "view")),
        ("2026-11-01", e("x2", "2026-11-01 11:00:00", "a", "view")),
        ("2026-11-20", e("x3", "2026-11-20 11:00:00", "a", "view")),
        (d, e("x4", "2026-11-21 11:00:00", "a", "view")),
    ];
    // (c1, click, hour 10): 5 on D and no baseline (stddev 0): no z-score, not reported
    for id in ["w1", "w2", "w3", "w4", "w5"] {
        evs.push((d, e(id, "2026-11-21 10:10:00", "a", "click")));
    }
    // the deleted user's burst is not counted
    for id in ["v1", "v2", "v3", "v4", "v5", "v6"] {
        evs.push((d, e(id, "2026-11-21 10:20:00", "u5", "view")));
    }
    let p = run(evs);
    // hour 10 baseline over 10-24 .. 11-20 (28 days): counts 1, 2 and 26 zeros
    // sum 3, sum of squares 1 + 4 = 5; mean 3/28; sample variance (5 - 3²/28) / 27
    let mean = 3.0 / 28.0;
    let sd = ((5.0 - 9.0 / 28.0) / 27.0_f64).sqrt();
    let z = (3.0 - mean) / sd; // about 6.95
    // hour 11: mean 3/28, variance (3 - 9/28) / 27, z = (1 - 3/28) / sd about 2.83 < 3
    let z11 = (1.0 - 3.0 / 28.0) / ((3.0 - 9.0 / 28.0) / 27.0_f64).sqrt();
    assert!(z >= 3.0 && z11 < 3.0);
    assert_rows(
        &p.table("event_anomalies", "community_id, event_type, hour"),
        &[format!(
            "community_id=c1 event_type=view hour=10 dt=2026-11-21 events=3 baseline_mean={mean} \
             baseline_stddev={sd} z_score={z}"
        )],
    );
}

#[test]
fn content_scores_rates_and_rank_product() {
    let d = "2026-11-21";
    let c = |id: &'static str,
             t: &'static str,
             u: &'static str,
             k: &'static str,
             content: Option<&'static str>,
             s: &'static str| Ev {
        content,
        session: Some(s),
        ..e(id, t, u, k)
    };
    let (a, b, cc, dd, ee) = (Some("A"), Some("B"), Some("C"), Some("D"), Some("E"));
    let p = run(vec![
        // A: 4 views, a like, a comment; x1 buys after viewing in S; x2 bought before viewing in T
        (d, c("a1", "2026-11-21 10:00:00", "x1", "view", a, "S")),
        (
            d,
            c(
                "a2",
                "2026-11-21 10:05:00",
                "x1",
                "purchase",
                Some("P"),
                "S",
            ),
        ),
        (
            d,
            c(
                "a3",
                "2026-11-21 09:00:00",
                "x2",
                "purchase",
                Some("P"),
                "T",
            ),
        ),
        (d, c("a4", "2026-11-21 09:30:00", "x2", "view", a, "T")),
        (d, c("a5", "2026-11-21 09:31:00", "x2", "view", a, "T")),
        (d, c("a6", "2026-11-21 09:32:00", "x2", "view", a, "T")),
        (d, c("a7", "2026-11-21 09:33:00", "x2", "like", a, "T")),
        (d, c("a8", "2026-11-21 09:34:00", "x2", "comment", a, "T")),
        // B: 2 views, 2 shares
        (d, c("b1", "2026-11-21 11:00:00", "x3", "view", b, "U")),
        (d, c("b2", "2026-11-21 11:00:01", "x3", "view", b, "U")),
        (d, c("b3", "2026-11-21 11:00:02", "x3", "share", b, "U")),
        (d, c("b4", "2026-11-21 11:00:03", "x3", "share", b, "U")),
        // C: a view on 10-22 (outside the 30 days), one on 10-23 (inside), a like on D
        (
            "2026-10-22",
            c("c1", "2026-10-22 10:00:00", "x4", "view", cc, "V"),
        ),
        (
            "2026-10-23",
            c("c2", "2026-10-23 00:00:00", "x4", "view", cc, "W"),
        ),
        (d, c("c3", "2026-11-21 10:00:00", "x4", "like", cc, "X")),
        // D: liked, never viewed -> no row
        (d, c("d1", "2026-11-21 10:00:00", "x4", "like", dd, "X")),
        // E: 2 views, a like, a share, one purchase after a view in Y
        (d, c("e1", "2026-11-21 12:00:00", "x5", "view", ee, "Y")),
        (d, c("e2", "2026-11-21 12:01:00", "x5", "like", ee, "Y")),
        (d, c("e3", "2026-11-21 12:02:00", "x5", "share", ee, "Y")),
        (
            d,
            c(
                "e4",
                "2026-11-21 12:03:00",
                "x5",
                "purchase",
                Some("P"),
                "Y",
            ),
        ),
        (d, c("e5", "2026-11-21 13:00:00", "x6", "view", ee, "Z")),
    ]);
    // resonance A 2/4, B 0, C 1/1, E 1/2 -> ranks B 0, A = E 1/3, C 1
    // spread A 0, B 2/2, C 0, E 1/2 -> A = C 0, E 2/3, B 1
    // conversion A 1/4, B 0, C 0, E 1/2 -> B = C 0, A 2/3, E 1
    // score: A 1/3·0·2/3 = 0; B 0; C 0; E 1/3·2/3·1 = 2/9
    let third = 1.0 / 3.0;
    let two_thirds = 2.0 / 3.0;
    assert_rows(
        &p.table("content_scores", "content_id"),
        &[
            format!(
                "content_id=A views=4 resonance=0.5 spread=0.0 conversion=0.25 resonance_rank={third} \
                 spread_rank=0.0 conversion_rank={two_thirds} score=0.0 dt=2026-11-21"
            ),
            "content_id=B views=2 resonance=0.0 spread=1.0 conversion=0.0 resonance_rank=0.0 spread_rank=1.0 \
             conversion_rank=0.0 score=0.0"
                .to_string(),
            "content_id=C views=1 resonance=1.0 spread=0.0 conversion=0.0 resonance_rank=1.0 score=0.0"
                .to_string(),
            format!(
                "content_id=E views=2 resonance=0.5 spread=0.5 conversion=0.5 resonance_rank={third} \
                 spread_rank={two_thirds} conversion_rank=1.0 score={}",
                2.0 / 9.0
            ),
        ],
    );
}

/// An event on content `content` in community `c`; the partition is the event's day.
fn on(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    k: &'static str,
    c: &'static str,
    content: &'static str,
) -> (&'static str, Ev) {
    (
        &t[..10],
        Ev {
            content: Some(content),
            ..crate::pack_util::evc(id, t, u, k, Some(c), None)
        },
    )
}

/// content_daily's exposures, clicks and reach, content_scores' CTR and the
/// content_calendar (docs/metrics.md#content_calendar) with
/// `interactive_post_min_interactions: 2` and `interactive_posts_target: 2`.
/// On D = 11-21:
///
/// | content | community | events on D                                              | interactions | users |
/// |---------|-----------|----------------------------------------------------------|--------------|-------|
/// | P1      | c1        | view uA, like uA, like uB, comment uC, exposure + click uD | 3          | 4     |
/// | P2      | c1        | like uA, share uB                                        | 2            | 2     |
/// | P3      | c1        | exposure uA twice, view uB                               | 0            | 2     |
/// | P4      | c2        | like uA                                                  | 1            | 1     |
///
/// and a like of P1 by uA on 11-20, which is not D.
#[test]
fn content_calendar_counts_interactive_posts_against_the_target() {
    let p = crate::pack_util::project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!("{config}  interactive_post_min_interactions: 2\n  interactive_posts_target: 2\n"),
    );
    let p = crate::pack_util::run_full_refresh_in(
        p,
        "2026-11-21",
        vec![
            on("y1", "2026-11-20 09:00:00", "uA", "like", "c1", "P1"),
            on("a1", "2026-11-21 09:00:00", "uA", "view", "c1", "P1"),
            on("a2", "2026-11-21 09:01:00", "uA", "like", "c1", "P1"),
            on("a3", "2026-11-21 09:02:00", "uB", "like", "c1", "P1"),
            on("a4", "2026-11-21 09:03:00", "uC", "comment", "c1", "P1"),
            on("a5", "2026-11-21 09:04:00", "uD", "exposure", "c1", "P1"),
            on("a6", "2026-11-21 09:05:00", "uD", "click", "c1", "P1"),
            on("b1", "2026-11-21 10:00:00", "uA", "like", "c1", "P2"),
            on("b2", "2026-11-21 10:01:00", "uB", "share", "c1", "P2"),
            on("c1", "2026-11-21 11:00:00", "uA", "exposure", "c1", "P3"),
            on("c2", "2026-11-21 11:01:00", "uA", "exposure", "c1", "P3"),
            on("c3", "2026-11-21 11:02:00", "uB", "view", "c1", "P3"),
            on("d1", "2026-11-21 12:00:00", "uA", "like", "c2", "P4"),
        ],
    );
    let daily = p.table_on("content_daily", "2026-11-21", "content_id, community_id");
    assert_rows(
        &daily,
        &[
            "content_id=P1 community_id=c1 views=1 likes=2 comments=1 exposures=1 clicks=1 users_reached=4",
            "content_id=P2 community_id=c1 likes=1 shares=1 exposures=0 clicks=0 users_reached=2",
            "content_id=P3 community_id=c1 views=1 exposures=2 clicks=0 users_reached=2",
            "content_id=P4 community_id=c2 likes=1 users_reached=1",
        ]
        .map(|s| s.to_string()),
    );
    // c1: P1 (3) and P2 (2) reach 2 interactions, P3 (0) does not: 2 of 3,
    // target 2 met, gap 0; 3 + 2 + 0 = 5 interactions; reach 4 + 2 + 2 = 8;
    // top P1. c2: P4 alone with 1: 0 posts, gap -2.
    let calendar = p.table_on("content_calendar", "2026-11-21", "community_id");
    assert_rows(
        &calendar,
        &[
            "community_id=c1 contents=3 interactive_posts=2 interactions=5 users_reached=8 target=2 met=true gap=0 \
             top_content_id=P1 top_content_interactions=3",
            "community_id=c2 contents=1 interactive_posts=0 interactions=1 users_reached=1 target=2 met=false gap=-2 \
             top_content_id=P4 top_content_interactions=1",
        ]
        .map(|s| s.to_string()),
    );
    // CTR over 30 days, contents with a view: P1 1 click / 1 exposure, P3 0 / 2
    let scores: Vec<String> = p
        .table("content_scores", "content_id")
        .into_iter()
        .filter(|r| r.starts_with("content_id=P1 ") || r.starts_with("content_id=P3 "))
        .collect();
    assert_rows(
        &scores,
        &[
            "content_id=P1 exposures=1 clicks=1 ctr=1.0",
            "content_id=P3 exposures=2 clicks=0 ctr=0.0",
        ]
        .map(|s| s.to_string()),
    );
}

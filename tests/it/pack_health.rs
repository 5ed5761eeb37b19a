//! community_health_weekly and kpi_scorecard
//! (docs/metrics.md#community_health_weekly, docs/metrics.md#kpi_scorecard) on
//! hand-built fixtures; every expected number is worked out below. Targets
//! are those of `vars.health` / `vars.kpi_targets` in the test config.

use crate::common::Ev;
use crate::pack_util::{
    assert_rows, evc, project, run_full_refresh_at, run_full_refresh_in, with_amount, with_order,
    with_referrer,
};

fn with_props(e: Ev, p: &'static str) -> Ev {
    Ev {
        properties: Some(p),
        ..e
    }
}

fn with_content(e: Ev, c: &'static str) -> Ev {
    Ev {
        content: Some(c),
        ..e
    }
}

/// Run day Wednesday 2026-11-18: the ISO week 2026-W47 from Monday 11-16,
/// three days covered.
#[test]
fn community_health_weekly_scores_the_week_to_date() {
    let c1 = Some("c1");
    let c2 = Some("c2");
    let p = run_full_refresh_at(
        "2026-11-18",
        vec![
            // before the week: a1, a2, a3 join c1; a4 joins and quits again
            (
                "2026-11-10",
                evc("b1", "2026-11-10 09:00:00", "a1", "join", c1, None),
            ),
            (
                "2026-11-10",
                evc("b2", "2026-11-10 09:00:00", "a2", "join", c1, None),
            ),
            (
                "2026-11-10",
                evc("b3", "2026-11-10 09:00:00", "a3", "join", c1, None),
            ),
            (
                "2026-11-10",
                evc("b4", "2026-11-10 09:00:00", "a4", "join", c1, None),
            ),
            (
                "2026-11-12",
                evc("b5", "2026-11-12 09:00:00", "a4", "quit", c1, None),
            ),
            // Sunday 23:59:59, the second before the week: not counted in the week
            (
                "2026-11-15",
                evc("b6", "2026-11-15 23:59:59", "a3", "message", c1, None),
            ),
            // Monday 11-16
            (
                "2026-11-16",
                evc("w1", "2026-11-16 10:00:00", "a1", "message", c1, Some("s1")),
            ),
            (
                "2026-11-16",
                evc("w2", "2026-11-16 10:30:00", "a1", "message", c1, Some("s1")),
            ),
            (
                "2026-11-16",
                with_content(
                    evc("w3", "2026-11-16 11:00:00", "a2", "view", c1, Some("s2")),
                    "p1",
                ),
            ),
            (
                "2026-11-16",
                with_content(
                    evc("w4", "2026-11-16 11:01:00", "a2", "like", c1, Some("s2")),
                    "p1",
                ),
            ),
            // Tuesday 11-17
            (
                "2026-11-17",
                evc("w5", "2026-11-17 09:00:00", "a2", "quit", c1, Some("s3")),
            ),
            (
                "2026-11-17",
                evc("w6", "2026-11-17 09:00:00", "a5", "join", c1, Some("s4")),
            ),
            (
                "2026-11-17",
                with_content(
                    evc("w7", "2026-11-17 10:00:00", "a5", "comment", c1, Some("s4")),
                    "p2",
                ),
            ),
            (
                "2026-11-17",
                with_content(
                    evc("w8", "2026-11-17 10:01:00", "a5", "share", c1, Some("s4")),
                    "p2",
                ),
            ),
            (
                "2026-11-17",
                evc("w9", "2026-11-17 12:00:00", "a1", "checkin", c1, Some("s8")),
            ),
            // the deleted user u5 is nowhere
            (
                "2026-11-17",
                evc("wx", "2026-11-17 12:00:00", "u5", "message", c1, Some("s9")),
            ),
            // Wednesday 11-18
            (
                "2026-11-18",
                evc("x1", "2026-11-18 20:00:00", "a1", "message", c1, Some("s5")),
            ),
            (
                "2026-11-18",
                with_props(
                    evc("x2", "2026-11-18 20:05:00", "a1", "nps", c1, Some("s5")),
                    r#"{"nps_score":3}"#,
                ),
            ),
            (
                "2026-11-18",
                with_props(
                    evc("x3", "2026-11-18 08:00:00", "a5", "nps", c1, Some("s6")),
                    r#"{"nps_score":9}"#,
                ),
            ),
            (
                "2026-11-18",
                with_content(
                    evc("x4", "2026-11-18 13:00:00", "a6", "view", c1, Some("s7")),
                    "p1",
                ),
            ),
            (
                "2026-11-18",
                with_amount(
                    evc(
                        "x5",
                        "2026-11-18 13:05:00",
                        "a6",
                        "purchase",
                        c1,
                        Some("s7"),
                    ),
                    Some(30.0),
                ),
            ),
            // c2: one view by a7 and nothing else
            (
                "2026-11-18",
                with_content(
                    evc("y1", "2026-11-18 15:00:00", "a7", "view", c2, Some("t1")),
                    "p9",
                ),
            ),
        ],
    );
    let rows = p.table("community_health_weekly", "community_id");
    assert_rows(
        &rows,
        &[
            // c1. Members before the week: a1, a2, a3 (a4 quit) = 3; at the end a1, a3, a5
            // (a2 quit, a5 joined) = 3. Joins 1 (a5), quits 1 (a2): quit_rate 1/3,
            // member_growth (3 - 3) / 3 = 0.
            // Daily active: 16th a1 a2, 17th a1 a2 a5, 18th a1 a5 a6: 8 user-days / 3 days.
            // mau (10-20..11-18): a1 a2 a3 a4 a5 a6 = 6; stickiness 8/3 / 6 = 4/9.
            // Active users a1 a2 a5 a6 = 4; active members {a1, a3, a5} ∩ that = a1, a5 = 2;
            // activity_rate 2/3. Messages 3 (w1 w2 x1; b6 is before the week): 1.5 per
            // active member, peak hour 10 (two of them). Content: p2 2 interactions (comment,
            // share), p1 1 (like). Views 2 (w3, x4), interactions 3: rate 1.5.
            // nps: 9 promoter, 3 detractor of 2 answers: 100 x (1 - 1) / 2 = 0.
            // revenue 30 / 4 active users = 7.5. activity users a1 (checkin) / 3 members.
            // Sessions s1 s2 (16th), s3 s4 s8 (17th), s5 s6 s7 (18th) = 8; without a core action:
            // s1 (messages), s3 (quit), s5 (message, nps), s6 (nps) = 4: bounce 4/8 = 0.5.
            // Scores: member_growth 0 -> 0; quit_rate 10 x 0.02 / (1/3) = 0.6;
            // stickiness 10; activity_rate 10; messages 10 x 1.5 / 3 = 5; interaction 10;
            // nps 0 -> 0; arpu 10; activity_conversion 1/3 >= 0.2 -> 10;
            // bounce 10 x 0.12 / 0.5 = 2.4. Sum 58.0 over 10 -> health 58.0.
            // Weakest: 0, member_growth first in config order.
            "community_id=c1 dt=2026-11-18 iso_week=2026-W47 week_start=2026-11-16 days_covered=3 \
             members_start=3 members_end=3 joins=1 quits=1 quit_rate=0.3333333333333333 \
             member_growth=0 avg_dau=2.6666666666666665 mau=6 stickiness=0.4444444444444444 \
             active_users=4 active_members=2 activity_rate=0.6666666666666666 messages=3 \
             messages_per_active_member=1.5 peak_hour=10 top_content_1=p2 top_content_2=p1 \
             top_content_3=NULL views=2 interactions=3 interaction_rate=1.5 nps_responses=2 nps=0 \
             revenue=30 arpu=7.5 activity_users=1 activity_conversion=0.3333333333333333 \
             sessions=8 bounce_rate=0.5 score_member_growth=0 score_quit_rate=0.6 \
             score_stickiness=10 score_activity_rate=10 score_messages_per_active_member=5 \
             score_interaction_rate=10 score_nps=0 score_arpu=10 score_activity_conversion=10 \
             score_bounce_rate=2.4 health_score=58 weakest_indicator=member_growth \
             suggested_action=grow"
                .into(),
            // c2: one view by a7 on the 18th, no members ever. Ratios over members are NULL.
            // avg_dau 1/3, mau 1: stickiness 1/3 -> 10; interaction 0 / 1 -> 0; arpu 0 -> 0;
            // bounce 1 / 1 -> 10 x 0.12 = 1.2. Health (10 + 0 + 0 + 1.2) / 4 x 10 = 28.
            // Weakest 0: interaction_rate comes before arpu in config order.
            "community_id=c2 days_covered=3 members_start=0 members_end=0 joins=0 quits=0 \
             quit_rate=NULL member_growth=NULL avg_dau=0.3333333333333333 mau=1 \
             stickiness=0.3333333333333333 active_users=1 active_members=0 activity_rate=NULL \
             messages=0 messages_per_active_member=NULL peak_hour=NULL top_content_1=NULL \
             views=1 interactions=0 interaction_rate=0 nps_responses=0 nps=NULL revenue=0 arpu=0 \
             activity_conversion=NULL sessions=1 bounce_rate=1 score_quit_rate=NULL \
             score_interaction_rate=0 score_bounce_rate=1.2 health_score=28 \
             weakest_indicator=interaction_rate suggested_action=engage"
                .into(),
        ],
    );
}

/// Run day 2026-11-18. 7d = 11-12..11-18 (previous: 11-05..11-11); qtd =
/// 10-01..11-18, 49 days (previous: 07-01..08-18).
#[test]
fn kpi_scorecard_checks_targets_per_period_and_scope() {
    let c1 = Some("c1");
    let c2 = Some("c2");
    let p = run_full_refresh_at(
        "2026-11-18",
        vec![
            // the previous quarter's first 49 days: k1
            (
                "2026-08-10",
                evc("a", "2026-08-10 10:00:00", "k1", "view", c1, Some("s0")),
            ),
            // the previous 7 days: k1, k2 (first day of k2), k3 (first day), k4 in c2 (first day)
            (
                "2026-11-05",
                evc("b", "2026-11-05 10:00:00", "k1", "view", c1, Some("s1")),
            ),
            (
                "2026-11-05",
                evc("c", "2026-11-05 10:00:00", "k2", "view", c1, Some("s2")),
            ),
            (
                "2026-11-10",
                evc("d", "2026-11-10 10:00:00", "k3", "view", c1, Some("s3")),
            ),
            (
                "2026-11-11",
                evc("e", "2026-11-11 10:00:00", "k4", "view", c2, Some("s4")),
            ),
            // k3 back on day 7 of its cohort, likes and buys in one session
            (
                "2026-11-17",
                evc("f", "2026-11-17 10:00:00", "k3", "like", c1, Some("s5")),
            ),
            (
                "2026-11-17",
                with_amount(
                    evc("g", "2026-11-17 10:05:00", "k3", "purchase", c1, Some("s5")),
                    Some(10.0),
                ),
            ),
            // k1 views and clicks on the run day
            (
                "2026-11-18",
                evc("h", "2026-11-18 10:00:00", "k1", "view", c1, Some("s6")),
            ),
            (
                "2026-11-18",
                evc("i", "2026-11-18 10:01:00", "k1", "click", c1, Some("s6")),
            ),
        ],
    );
    let rows = p.table(
        "kpi_scorecard",
        "scope, community_id nulls first, period, kpi",
    );
    let r = |s: &str| s.to_string();
    assert_rows(
        &rows,
        &[
            // community c1, 7d: rows of 11-17 (k3 like + purchase, session s5) and 11-18
            // (k1 view + click, s6). Active {k1, k3} = 2, previous 7 days {k1, k2, k3} = 3:
            // growth 2/3 - 1. Both sessions have a core action: bounce 0. Views 1,
            // interactions 1. Buyers {k3} / viewers {k1}. Cohorts with day 7 in the period
            // (first day 11-05..11-11, first day in c1): k2 (11-05, not back on 11-12) and
            // k3 (11-10, back on 11-17): 1/2. mau of c1 {k1, k2, k3}: 2 user-days / 7 / 3.
            r(
                "scope=community community_id=c1 period=7d period_start=2026-11-12 kpi=active_user_growth actual=-0.33333333333333337 met=false",
            ),
            r(
                "scope=community community_id=c1 period=7d kpi=bounce_rate actual=0 target=0.12 direction=<= met=true gap=0.12",
            ),
            r(
                "scope=community community_id=c1 period=7d kpi=interaction_rate actual=1 met=true gap=0.85",
            ),
            r(
                "scope=community community_id=c1 period=7d kpi=purchase_conversion actual=1 met=true",
            ),
            r("scope=community community_id=c1 period=7d kpi=retention_7d actual=0.5 met=true"),
            r(
                "scope=community community_id=c1 period=7d kpi=stickiness actual=0.09523809523809523 met=false",
            ),
            // c1, qtd (10-01..11-18): views 4 (b c d h), interactions 1: 0.25. Buyers 1 /
            // viewers {k1, k2, k3}. Sessions s1 s2 s3 s5 s6 = 5, bounced s1 s2 s3 = 3: 0.6.
            // Active 3, previous quarter's first 49 days {k1}: 3/1 - 1 = 2.
            // Cohorts with day 7 in 10-01..11-18: k2, k3 again: 1/2. 5 user-days / 49 / 3.
            r(
                "scope=community community_id=c1 period=qtd period_start=2026-10-01 kpi=active_user_growth actual=2 met=true",
            ),
            r(
                "scope=community community_id=c1 period=qtd kpi=bounce_rate actual=0.6 met=false gap=-0.48",
            ),
            r(
                "scope=community community_id=c1 period=qtd kpi=interaction_rate actual=0.25 met=true",
            ),
            r(
                "scope=community community_id=c1 period=qtd kpi=purchase_conversion actual=0.3333333333333333 met=true",
            ),
            r("scope=community community_id=c1 period=qtd kpi=retention_7d actual=0.5 met=true"),
            r(
                "scope=community community_id=c1 period=qtd kpi=stickiness actual=0.034013605442176874 met=false",
            ),
            // c2 has no event in the last 7 days: only qtd. k4's view on 11-11: interaction
            // 0/1, buyers 0/1, bounce 1/1, no one in the previous period (growth NULL),
            // its cohort (11-11) not back on 11-18: 0/1. 1 user-day / 49 / mau 1.
            r(
                "scope=community community_id=c2 period=qtd kpi=active_user_growth actual=NULL met=NULL gap=NULL",
            ),
            r("scope=community community_id=c2 period=qtd kpi=bounce_rate actual=1 met=false"),
            r(
                "scope=community community_id=c2 period=qtd kpi=interaction_rate actual=0 met=false gap=-0.15",
            ),
            r(
                "scope=community community_id=c2 period=qtd kpi=purchase_conversion actual=0 met=false",
            ),
            r("scope=community community_id=c2 period=qtd kpi=retention_7d actual=0 met=false"),
            r(
                "scope=community community_id=c2 period=qtd kpi=stickiness actual=0.02040816326530612 met=false",
            ),
            // platform, 7d: as c1, but the previous 7 days also have k4: 2/4 - 1 = -0.5;
            // cohorts k2, k3, k4 (k4's day 7 is 11-18, not back): 1/3 >= 0.3;
            // mau {k1, k2, k3, k4} = 4: 2 / 7 / 4.
            r(
                "scope=platform community_id=NULL period=7d kpi=active_user_growth actual=-0.5 met=false",
            ),
            r("scope=platform community_id=NULL period=7d kpi=bounce_rate actual=0 met=true"),
            r("scope=platform community_id=NULL period=7d kpi=interaction_rate actual=1 met=true"),
            r(
                "scope=platform community_id=NULL period=7d kpi=purchase_conversion actual=1 met=true",
            ),
            r(
                "scope=platform community_id=NULL period=7d kpi=retention_7d actual=0.3333333333333333 met=true",
            ),
            r(
                "scope=platform community_id=NULL period=7d kpi=stickiness actual=0.07142857142857142 met=false",
            ),
            // platform, qtd: views 5, interactions 1: 0.2. Buyers 1 / viewers 4. Sessions 6,
            // bounced s1 s2 s3 s4 = 4: 2/3. Active 4 vs {k1}: 3. Cohorts k2 k3 k4: 1/3.
            // 6 user-days / 49 / 4.
            r(
                "scope=platform community_id=NULL period=qtd kpi=active_user_growth actual=3 met=true gap=3",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=bounce_rate actual=0.6666666666666666 met=false",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=interaction_rate actual=0.2 met=true",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=purchase_conversion actual=0.25 met=true",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=retention_7d actual=0.3333333333333333 met=true",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=stickiness actual=0.030612244897959183 met=false",
            ),
        ],
    );
}

/// The KPIs beyond the test config's six, with the shipped targets of
/// config/shoal.yaml: retention_7d (within 7 days) beside retention_day_7,
/// community_activity against the 12-20 % band, k_factor, repurchase_rate,
/// and a target per period. Run day 2026-11-18: 7d = 11-12..11-18, qtd = 10-01..11-18.
#[test]
fn kpi_scorecard_bands_per_period_targets_retention_within_7_days_and_k_factor() {
    let p = project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/shoal.yaml"),
    )
    .unwrap();
    let targets = |text: &str| {
        let start = text.find("  kpi_targets:\n").expect("kpi_targets");
        let end = text[start..]
            .find("\n\n")
            .map_or(text.len(), |e| start + e + 1);
        text[start..end].to_string()
    };
    p.write(
        "config/shoal.yaml",
        &config.replace(&targets(&config), &targets(&shipped)),
    );
    let (c1, c2, c3) = (Some("c1"), Some("c2"), Some("c3"));
    let e = |id, t, u, k, c| evc(id, t, u, k, c, None);
    let p = run_full_refresh_in(
        p,
        "2026-11-18",
        vec![
            // members of c1: m3 (joined last quarter, idle since), m1, m2
            (
                "2026-09-20",
                e("a", "2026-09-20 10:00:00", "m3", "join", c1),
            ),
            (
                "2026-10-05",
                e("b", "2026-10-05 10:00:00", "m1", "join", c1),
            ),
            (
                "2026-10-06",
                e("c", "2026-10-06 10:00:00", "m2", "join", c1),
            ),
            (
                "2026-11-15",
                e("d", "2026-11-15 10:00:00", "m1", "view", c1),
            ),
            // orders in c1: b1 twice (o1, o2), b2 once in two lines sharing o3
            (
                "2026-11-15",
                with_order(e("t", "2026-11-15 10:00:00", "b1", "purchase", c1), "o1"),
            ),
            (
                "2026-11-17",
                with_order(e("u", "2026-11-17 10:00:00", "b1", "purchase", c1), "o2"),
            ),
            (
                "2026-11-16",
                with_order(e("v", "2026-11-16 10:00:00", "b2", "purchase", c1), "o3"),
            ),
            (
                "2026-11-16",
                with_order(e("w", "2026-11-16 10:01:00", "b2", "purchase", c1), "o3"),
            ),
            // n1: no member, active on the run day too
            (
                "2026-11-16",
                e("f", "2026-11-16 10:00:00", "n1", "view", c1),
            ),
            (
                "2026-11-18",
                e("s", "2026-11-18 10:00:00", "n1", "view", c1),
            ),
            // cohorts in c1: r1 back on day 3, r2 back on day 7, r3 never
            (
                "2026-11-05",
                e("g", "2026-11-05 10:00:00", "r1", "view", c1),
            ),
            (
                "2026-11-08",
                e("h", "2026-11-08 10:00:00", "r1", "view", c1),
            ),
            (
                "2026-11-06",
                e("i", "2026-11-06 10:00:00", "r2", "view", c1),
            ),
            (
                "2026-11-13",
                e("j", "2026-11-13 10:00:00", "r2", "view", c1),
            ),
            (
                "2026-11-10",
                e("k", "2026-11-10 10:00:00", "r3", "view", c1),
            ),
            // invites (in c3): i2 on 10-20, i1 twice on 11-14
            (
                "2026-10-20",
                e("l", "2026-10-20 10:00:00", "i2", "invite", c3),
            ),
            (
                "2026-11-14",
                e("m", "2026-11-14 10:00:00", "i1", "invite", c3),
            ),
            (
                "2026-11-14",
                e("n", "2026-11-14 10:01:00", "i1", "invite", c3),
            ),
            // invited joins into c2: j3 (by i2) on 10-21, j1 and j2 (by i1) on 11-15 and 11-16
            (
                "2026-10-21",
                with_referrer(e("o", "2026-10-21 10:00:00", "j3", "join", c2), "i2"),
            ),
            (
                "2026-11-15",
                with_referrer(e("p", "2026-11-15 10:00:00", "j1", "join", c2), "i1"),
            ),
            (
                "2026-11-16",
                with_referrer(e("q", "2026-11-16 10:00:00", "j2", "join", c2), "i1"),
            ),
        ],
    );
    let kpis = [
        "active_user_growth",
        "community_activity",
        "k_factor",
        "repurchase_rate",
        "retention_7d",
        "retention_day_7",
    ];
    let rows: Vec<String> = p
        .table(
            "kpi_scorecard",
            "scope, community_id nulls first, period, kpi",
        )
        .into_iter()
        .filter(|r| kpis.iter().any(|k| r.contains(&format!(" kpi={k} "))))
        .filter(|r| !r.contains("kpi=active_user_growth") || r.starts_with("scope=platform"))
        .collect();
    let r = |s: &str| s.to_string();
    assert_rows(
        &rows,
        &[
            // c1, 7d: members on D m1, m2, m3; active in the 7 days: m1 -> 1/3, outside the
            // band [0.12, 0.20]: gap = least(1/3 - 0.12, 0.20 - 1/3) = -0.1333..
            r(
                "scope=community community_id=c1 period=7d kpi=community_activity actual=0.3333333333333333 \
                 target=0.12 target_high=0.2 direction=between met=false gap=-0.13333333333333336",
            ),
            // k_factor is a platform KPI
            r(
                "scope=community community_id=c1 period=7d kpi=k_factor actual=NULL target=1.8 met=NULL",
            ),
            // buyers b1 (orders o1, o2), b2 (one order o3 of two lines): 1/2
            r(
                "scope=community community_id=c1 period=7d kpi=repurchase_rate actual=0.5 target=0.25 met=true gap=0.25",
            ),
            // cohorts with day 7 in 11-12..11-18 (first days 11-05..11-11): r1, r2, r3.
            // within days 1-7: r1 (day 3), r2 (day 7) = 2/3; exactly day 7: r2 = 1/3
            r(
                "scope=community community_id=c1 period=7d kpi=retention_7d actual=0.6666666666666666 met=true",
            ),
            r(
                "scope=community community_id=c1 period=7d kpi=retention_day_7 actual=0.3333333333333333 met=true",
            ),
            // c1, qtd: active members m1 (11-15), m2 (10-06) = 2/3: gap 0.2 - 2/3
            r(
                "scope=community community_id=c1 period=qtd kpi=community_activity actual=0.6666666666666666 \
                 met=false gap=-0.46666666666666656",
            ),
            r("scope=community community_id=c1 period=qtd kpi=k_factor actual=NULL"),
            r("scope=community community_id=c1 period=qtd kpi=repurchase_rate actual=0.5"),
            // cohorts with day 7 in 10-01..11-18 (first days 09-24..11-11): m1 (10-05), m2
            // (10-06), r1, r2, r3 (m3's first day is 09-20); m1 and m2 never back within 7 days:
            // within 2/5, day 7 1/5
            r("scope=community community_id=c1 period=qtd kpi=retention_7d actual=0.4"),
            r("scope=community community_id=c1 period=qtd kpi=retention_day_7 actual=0.2"),
            // c2, 7d: members j1, j2, j3; active j1, j2 -> 2/3; no cohort has its day 7 here
            r(
                "scope=community community_id=c2 period=7d kpi=community_activity actual=0.6666666666666666",
            ),
            r("scope=community community_id=c2 period=7d kpi=k_factor actual=NULL"),
            r("scope=community community_id=c2 period=7d kpi=repurchase_rate actual=NULL"),
            r("scope=community community_id=c2 period=7d kpi=retention_7d actual=NULL met=NULL"),
            r("scope=community community_id=c2 period=7d kpi=retention_day_7 actual=NULL"),
            // c2, qtd: all three active -> 1, above the band: gap 0.2 - 1; cohort j3 (10-21), not back
            r(
                "scope=community community_id=c2 period=qtd kpi=community_activity actual=1 met=false gap=-0.8",
            ),
            r("scope=community community_id=c2 period=qtd kpi=k_factor actual=NULL"),
            r("scope=community community_id=c2 period=qtd kpi=repurchase_rate actual=NULL"),
            r("scope=community community_id=c2 period=qtd kpi=retention_7d actual=0"),
            r("scope=community community_id=c2 period=qtd kpi=retention_day_7 actual=0"),
            // c3: no members -> NULL; 7d: i1 (first day 11-14) has no day 7 yet
            r("scope=community community_id=c3 period=7d kpi=community_activity actual=NULL"),
            r("scope=community community_id=c3 period=7d kpi=k_factor actual=NULL"),
            r("scope=community community_id=c3 period=7d kpi=repurchase_rate actual=NULL"),
            r("scope=community community_id=c3 period=7d kpi=retention_7d actual=NULL"),
            r("scope=community community_id=c3 period=7d kpi=retention_day_7 actual=NULL"),
            // qtd: cohort i2 (10-20), not back
            r("scope=community community_id=c3 period=qtd kpi=community_activity actual=NULL"),
            r("scope=community community_id=c3 period=qtd kpi=k_factor actual=NULL"),
            r("scope=community community_id=c3 period=qtd kpi=repurchase_rate actual=NULL"),
            r("scope=community community_id=c3 period=qtd kpi=retention_7d actual=0"),
            r("scope=community community_id=c3 period=qtd kpi=retention_day_7 actual=0"),
            // platform, 7d: the 7d target of active_user_growth is 0
            r(
                "scope=platform community_id=NULL period=7d kpi=active_user_growth target=0 direction=>=",
            ),
            // members of any community: m1, m2, m3, j1, j2, j3 = 6; active in 7d: m1, j1, j2 = 1/2
            r("scope=platform community_id=NULL period=7d kpi=community_activity actual=0.5"),
            // invited joins in 7d: j1, j2 = 2 / inviters {i1} = 2: met, gap 0.2
            r(
                "scope=platform community_id=NULL period=7d kpi=k_factor actual=2 target=1.8 met=true \
                 gap=0.19999999999999996",
            ),
            r("scope=platform community_id=NULL period=7d kpi=repurchase_rate actual=0.5"),
            // cohorts: r1, r2, r3 as in c1 (i1's first day 11-14 is too late)
            r(
                "scope=platform community_id=NULL period=7d kpi=retention_7d actual=0.6666666666666666",
            ),
            r(
                "scope=platform community_id=NULL period=7d kpi=retention_day_7 actual=0.3333333333333333",
            ),
            // qtd: the quarter target of active_user_growth is 0.15
            r("scope=platform community_id=NULL period=qtd kpi=active_user_growth target=0.15"),
            // active members in the quarter: m1, m2, j1, j2, j3 = 5/6
            r(
                "scope=platform community_id=NULL period=qtd kpi=community_activity actual=0.8333333333333334",
            ),
            // invited joins j3, j1, j2 = 3 / inviters {i1, i2} = 1.5: missed by 0.3
            r(
                "scope=platform community_id=NULL period=qtd kpi=k_factor actual=1.5 met=false gap=-0.30000000000000004",
            ),
            r("scope=platform community_id=NULL period=qtd kpi=repurchase_rate actual=0.5"),
            // cohorts: m1, m2, r1, r2, r3, i2 (10-20), j3 (10-21): within r1, r2 = 2/7; day 7 r2 = 1/7
            r(
                "scope=platform community_id=NULL period=qtd kpi=retention_7d actual=0.2857142857142857",
            ),
            r(
                "scope=platform community_id=NULL period=qtd kpi=retention_day_7 actual=0.14285714285714285",
            ),
        ],
    );
}

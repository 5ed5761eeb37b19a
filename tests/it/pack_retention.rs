//! retention_cohorts (docs/metrics.md#retention_cohorts) on a hand-built history; one --full-refresh run for
//! 2026-11-21, so user_daily holds every day.

use crate::pack_util::{assert_rows, evc, project};

#[test]
fn retention_cohorts_day_n_and_within_n() {
    let p = project();
    let day = |d: &'static str, rows: &[(&'static str, &'static str, &'static str)]| {
        let evs: Vec<_> = rows
            .iter()
            .map(|(id, t, u)| evc(id, t, u, "view", Some("c1"), None))
            .collect();
        p.events(d, "a", &evs);
    };
    // u7: first active 08-20 = D - 93, outside the cohort grid; active on D too
    day("2026-08-20", &[("a1", "2026-08-20 10:00:00", "u7")]);
    // u8: first active 08-23 = D - 90, the oldest cohort of the grid; back only on D
    day("2026-08-23", &[("b1", "2026-08-23 10:00:00", "u8")]);
    // cohort 11-10: u1, u2, u3 (u3 active once); u5 is deleted
    day(
        "2026-11-10",
        &[
            ("c1", "2026-11-10 00:00:00", "u1"),
            ("c2", "2026-11-10 23:59:59", "u2"),
            ("c3", "2026-11-10 12:00:00", "u3"),
            ("c5", "2026-11-10 12:00:00", "u5"),
        ],
    );
    day(
        "2026-11-11",
        &[
            ("d1", "2026-11-11 08:00:00", "u1"),
            ("d5", "2026-11-11 08:00:00", "u5"),
        ],
    );
    day("2026-11-13", &[("e1", "2026-11-13 08:00:00", "u1")]);
    day(
        "2026-11-17",
        &[
            ("f1", "2026-11-17 08:00:00", "u1"),
            ("f2", "2026-11-17 00:00:00", "u2"),
        ],
    );
    day("2026-11-20", &[("g4", "2026-11-20 08:00:00", "u4")]);
    day(
        "2026-11-21",
        &[
            ("h4", "2026-11-21 08:00:00", "u4"),
            // late: happened 1 s before midnight of 20 -> u6's cohort is 11-20, not back on 21
            ("h6", "2026-11-20 23:59:59", "u6"),
            ("h7", "2026-11-21 08:00:00", "u7"),
            ("h8", "2026-11-21 08:00:00", "u8"),
            ("h5", "2026-11-21 08:00:00", "u5"),
        ],
    );
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    let all = p.table("retention_cohorts", "cohort_day, n");
    // grid: cohort days D-1 .. D-90 (lookback 90) x N with N <= days since cohort:
    // N=1: 90, 3: 88, 7: 84, 14: 77, 30: 61, 60: 31, 90: 1 -> 432 rows
    assert_eq!(all.len(), 432);
    let picked: Vec<String> = all
        .into_iter()
        .filter(|r| {
            ["2026-08-23", "2026-11-10", "2026-11-11", "2026-11-20"]
                .iter()
                .any(|d| r.contains(&format!("cohort_day={d}")))
        })
        .collect();
    let r = |s: &str| format!("dt=2026-11-21 {s}");
    assert_rows(
        &picked,
        &[
            // cohort 08-23 = {u8}, back only on 11-21 = 08-23 + 90
            r("cohort_day=2026-08-23 n=1 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=3 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=7 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=14 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=30 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=60 cohort_size=1 retained_day_n=0 retained_within_n=0 retention_day_n=0.0 retention_within_n=0.0"),
            r("cohort_day=2026-08-23 n=90 cohort_size=1 retained_day_n=1 retained_within_n=1 retention_day_n=1.0 retention_within_n=1.0"),
            // cohort 11-10 = {u1, u2, u3}: 11-11 u1; 11-13 u1; 11-17 u1, u2; N=14 is after D
            r("cohort_day=2026-11-10 n=1 cohort_size=3 retained_day_n=1 retained_within_n=1 retention_day_n=0.3333333333333333 retention_within_n=0.3333333333333333"),
            r("cohort_day=2026-11-10 n=3 cohort_size=3 retained_day_n=1 retained_within_n=1 retention_day_n=0.3333333333333333 retention_within_n=0.3333333333333333"),
            r("cohort_day=2026-11-10 n=7 cohort_size=3 retained_day_n=2 retained_within_n=2 retention_day_n=0.6666666666666666 retention_within_n=0.6666666666666666"),
            // cohort 11-11 is empty (u1 was first seen on 10, u5 deleted): rates NULL
            r("cohort_day=2026-11-11 n=1 cohort_size=0 retained_day_n=0 retained_within_n=0 retention_day_n=NULL retention_within_n=NULL"),
            r("cohort_day=2026-11-11 n=3 cohort_size=0 retained_day_n=0 retained_within_n=0 retention_day_n=NULL retention_within_n=NULL"),
            r("cohort_day=2026-11-11 n=7 cohort_size=0 retained_day_n=0 retained_within_n=0 retention_day_n=NULL retention_within_n=NULL"),
            // cohort 11-20 = {u4, u6}: u4 back on 21 -> 1/2
            r("cohort_day=2026-11-20 n=1 cohort_size=2 retained_day_n=1 retained_within_n=1 retention_day_n=0.5 retention_within_n=0.5"),
        ]
        .map(|s| s.to_string()),
    );
}

//! experiment_results (docs/metrics.md#experiment_results) on a hand-built A/B test, run day
//! 2026-11-21 (full refresh).

use std::collections::BTreeMap;

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, project};

const CONTROL: &str = r#"{"experiment": "exp1", "variant": "control"}"#;
const TREATMENT: &str = r#"{"experiment":"exp1","variant":"treatment","coupon":true}"#;

#[test]
fn experiment_results_rate_lift_and_p_value() {
    let e = |id: &'static str, t: &'static str, u: &'static str, k: &'static str| {
        evc(id, t, u, k, Some("c1"), None)
    };
    let x = |id, t, u, props: &'static str| Ev {
        properties: Some(props),
        ..e(id, t, u, "view")
    };
    let evs = vec![
        // control: e1 buys after exposure; e2 bought before only; e3 never; x first control, later treatment
        ("2026-11-19", x("a1", "2026-11-19 10:00:00", "e1", CONTROL)),
        (
            "2026-11-20",
            e("a2", "2026-11-20 10:00:00", "e1", "purchase"),
        ),
        (
            "2026-11-19",
            e("b1", "2026-11-19 09:00:00", "e2", "purchase"),
        ),
        ("2026-11-19", x("b2", "2026-11-19 10:00:00", "e2", CONTROL)),
        ("2026-11-19", x("c1", "2026-11-19 10:00:00", "e3", CONTROL)),
        ("2026-11-19", x("d1", "2026-11-19 10:00:00", "x", CONTROL)),
        ("2026-11-20", x("d2", "2026-11-20 10:00:00", "x", TREATMENT)),
        // treatment: t1, t2, t3 buy after exposure (t3 without amount, on D), t4 never
        (
            "2026-11-20",
            x("f1", "2026-11-20 10:00:00", "t1", TREATMENT),
        ),
        (
            "2026-11-20",
            e("f2", "2026-11-20 10:00:01", "t1", "purchase"),
        ),
        (
            "2026-11-20",
            x("g1", "2026-11-20 10:00:00", "t2", TREATMENT),
        ),
        (
            "2026-11-21",
            e("g2", "2026-11-21 10:00:00", "t2", "purchase"),
        ),
        (
            "2026-11-20",
            x("h1", "2026-11-20 10:00:00", "t3", TREATMENT),
        ),
        (
            "2026-11-21",
            e("h2", "2026-11-21 23:59:59", "t3", "purchase"),
        ),
        (
            "2026-11-20",
            x("i1", "2026-11-20 10:00:00", "t4", TREATMENT),
        ),
        // properties without an experiment; the deleted user's conversion
        (
            "2026-11-21",
            x("j1", "2026-11-21 10:00:00", "n1", r#"{"nps_score": 9}"#),
        ),
        (
            "2026-11-21",
            x("k1", "2026-11-21 10:00:00", "u5", TREATMENT),
        ),
        (
            "2026-11-21",
            e("k2", "2026-11-21 11:00:00", "u5", "purchase"),
        ),
    ];
    let p = project();
    let mut days: BTreeMap<&str, Vec<Ev>> = BTreeMap::new();
    for (d, ev) in evs {
        days.entry(d).or_default().push(ev);
    }
    for (d, evs) in &days {
        p.events(d, "a", evs);
    }
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    let rows = p.table("experiment_results", "experiment, variant");
    // control 1/4 = 0.25; treatment 3/4 = 0.75; lift 0.75 / 0.25 - 1 = 2
    // pooled p = 4/8 = 0.5; se = sqrt(0.5 · 0.5 · (1/4 + 1/4)) = sqrt(0.125); z = 0.5 / se = sqrt(2)
    // two-sided p = 2 (1 - Φ(sqrt 2)) = erfc(1) = 0.157299207050285 (checked to 1e-6: the
    // model's erf approximation is good to 1.5e-7)
    assert_rows(
        &rows,
        &[
            "experiment=exp1 variant=control users=4 converters=1 rate=0.25 lift=NULL p_value=NULL dt=2026-11-21"
                .to_string(),
            "experiment=exp1 variant=treatment users=4 converters=3 rate=0.75 lift=2.0".to_string(),
        ],
    );
    let p_value: f64 = rows[1]
        .split(' ')
        .find_map(|c| c.strip_prefix("p_value="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (p_value - 0.157299207050285).abs() < 1e-6,
        "p_value {p_value}"
    );
}

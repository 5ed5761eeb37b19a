//! comment_sentiment and sentiment_daily (docs/metrics.md#comment_sentiment,
//! docs/metrics.md#sentiment_daily) on a hand-built history of comments; one
//! --full-refresh run for D = 2026-11-21.

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, project, run_full_refresh_in};

const D: &str = "2026-11-21";

/// A comment in `community` with `properties`; the partition is its own day.
fn comment(
    id: String,
    t: String,
    community: &'static str,
    props: Option<&'static str>,
) -> (&'static str, Ev) {
    let id: &'static str = Box::leak(id.into_boxed_str());
    let t: &'static str = Box::leak(t.into_boxed_str());
    (
        &t[..10],
        Ev {
            properties: props,
            ..evc(id, t, "uA", "comment", Some(community), None)
        },
    )
}

const POS: Option<&str> = Some(r#"{"sentiment":"positive"}"#);
const NEG: Option<&str> = Some(r#"{"sentiment":"NEGATIVE"}"#);

/// The history of c1:
///
/// | day              | comments                                  | scored | negative share |
/// |------------------|-------------------------------------------|--------|----------------|
/// | 10-23 (D − 29)   | 1 labelled negative: outside the baseline |        |                |
/// | 11-12            | 1 without text or label: not scored       | 0      | (no share)     |
/// | 11-13 … 11-18    | 4 labelled positive each                  | 4      | 0              |
/// | 11-19, 11-20     | 1 labelled negative + 3 positive each     | 4      | 0.25           |
/// | D                | the 7 below                               | 6      | 0.5            |
///
/// On D: `negative` label (any case), upstream score −0.8, the text
/// 质量太差，再也不买了 (lexicon −0.867), the text 这个活动太棒了 (+0.758),
/// a `neutral` label on a positive text (the label wins), an upstream score
/// 0.02 (neutral: under 0.05), and a comment with nothing to read.
/// c2 has one comment on D, "I love this community" (+0.612), and no
/// history.
#[test]
fn sentiment_shares_and_negative_spike() {
    let mut evs = vec![
        comment("old".into(), "2026-10-23 10:00:00".into(), "c1", NEG),
        comment("blank".into(), "2026-11-12 10:00:00".into(), "c1", None),
    ];
    for day in 13..=20 {
        for k in 0..4 {
            let negative = day >= 19 && k == 0;
            evs.push(comment(
                format!("h{day}-{k}"),
                format!("2026-11-{day} 1{k}:00:00"),
                "c1",
                if negative { NEG } else { POS },
            ));
        }
    }
    let today: [Option<&'static str>; 7] = [
        NEG,
        Some(r#"{"sentiment":-0.8}"#),
        Some(r#"{"text":"质量太差，再也不买了"}"#),
        Some(r#"{"text":"这个活动太棒了"}"#),
        Some(r#"{"text":"这个活动太棒了","sentiment":"neutral"}"#),
        Some(r#"{"sentiment":"0.02"}"#),
        Some(r#"{"campaign_id":"act-001"}"#),
    ];
    for (k, props) in today.into_iter().enumerate() {
        evs.push(comment(
            format!("d{k}"),
            format!("{D} 0{k}:00:00"),
            "c1",
            props,
        ));
    }
    evs.push(comment(
        "e0".into(),
        format!("{D} 09:00:00"),
        "c2",
        Some(r#"{"text":"I love this community"}"#),
    ));
    let p = run_full_refresh_in(project(), D, evs);

    // The history: 11-12 has a comment but nothing scored; 11-19 has 1 of 4
    // negative.
    let history: Vec<String> = p
        .table("comment_sentiment", "community_id, dt")
        .into_iter()
        .filter(|r| r.contains("dt=2026-11-12") || r.contains("dt=2026-11-19"))
        .collect();
    assert_rows(
        &history,
        &[
            "community_id=c1 dt=2026-11-12 comments=1 scored=0 from_upstream=0 from_lexicon=0",
            "community_id=c1 dt=2026-11-19 comments=4 scored=4 from_upstream=4 positive=3 negative=1 neutral=0",
        ]
        .map(String::from),
    );

    // c1 on D: negative = label, −0.8, 质量太差 → 3; positive = 太棒 → 1;
    // neutral = the neutral label, 0.02 → 2; scored 6 of 7 comments;
    // upstream 4 (NEGATIVE, −0.8, neutral, 0.02), lexicon 2.
    // Shares 1/6, 3/6, 2/6; net (1 − 3) / 6 = −1/3.
    // Baseline: 8 days (11-13 … 11-20; 11-12 has nothing scored, 10-23 is
    // D − 29) with shares 0 ×6 and 0.25 ×2: mean 0.5 / 8 = 0.0625; sample
    // variance (Σx² − (Σx)²/n) / (n − 1) = (0.125 − 0.25 / 8) / 7.
    let mean = 0.0625;
    let sd = ((0.125_f64 - 0.25 / 8.0) / 7.0).sqrt(); // 0.1157
    let z = (0.5 - mean) / sd; // 3.78: a spike
    assert!(z >= 3.0);
    // c2: 1 comment, positive by the lexicon; no baseline days.
    assert_rows(
        &p.table_on("sentiment_daily", D, "community_id"),
        &[
            format!(
                "community_id=c1 comments=7 scored=6 from_upstream=4 from_lexicon=2 positive=1 negative=3 \
                 neutral=2 positive_share={} negative_share=0.5 neutral_share={} net_sentiment={} \
                 baseline_days=8 baseline_negative_share={mean} baseline_stddev={sd} z_score={z} \
                 negative_spike=true",
                1.0 / 6.0,
                2.0 / 6.0,
                -1.0 / 3.0
            ),
            "community_id=c2 comments=1 scored=1 from_upstream=0 from_lexicon=1 positive=1 negative=0 \
             neutral=0 positive_share=1.0 net_sentiment=1.0 baseline_days=0 baseline_negative_share=NULL \
             z_score=NULL negative_spike=false"
                .to_string(),
        ],
    );
}

/// `vars.sentiment_lexicon` replaces the shipped lexicon: with a file that
/// calls "meh" positive, "meh" (−1 shipped) reads positive.
#[test]
fn a_lexicon_file_from_vars_replaces_the_shipped_one() {
    let p = project();
    let lexicon = p.path().join("my-lexicon.tsv");
    std::fs::write(&lexicon, "# mine\nmeh\t2\n").unwrap();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!("{config}  sentiment_lexicon: {}\n", lexicon.display()),
    );
    let p = run_full_refresh_in(
        p,
        D,
        vec![comment(
            "m1".into(),
            format!("{D} 09:00:00"),
            "c1",
            Some(r#"{"text":"meh"}"#),
        )],
    );
    assert_rows(
        &p.table_on("sentiment_daily", D, "community_id"),
        &["community_id=c1 comments=1 scored=1 from_lexicon=1 positive=1 negative=0".to_string()],
    );
}

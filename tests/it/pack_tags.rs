//! user_tags and tag_summary (docs/metrics.md#user_tags,
//! docs/metrics.md#tag_summary): rules from vars.tags, evaluated in one pass,
//! on a hand-built history; one --full-refresh run for D = 2026-11-21.

use crate::common::Ev;
use crate::pack_util::{assert_rows, evc, project, run_full_refresh_in, with_amount, with_order};

const D: &str = "2026-11-21";

/// An event in c1 on `channel` (None: no channel); the partition is its own day.
fn at(
    id: &'static str,
    t: &'static str,
    u: &'static str,
    k: &'static str,
    channel: Option<&'static str>,
) -> (&'static str, Ev) {
    (
        &t[..10],
        Ev {
            channel,
            ..evc(id, t, u, k, Some("c1"), None)
        },
    )
}

/// Each day's first event gives the day's channel and, in China time
/// (UTC+8), its part of the day (night 0-5, morning 6-11, afternoon 12-17,
/// evening 18-23):
///
/// | user | day   | first event (UTC) | China time | channel |
/// |------|-------|-------------------|------------|---------|
/// | uA   | 11-19 | 01:00             | 09 morning | wechat  |
/// | uA   | 11-20 | 09:00             | 17 afternoon | app   |
/// | uA   | 11-21 | 23:00 (purchase)  | 07 morning | wechat  |
/// | uB   | 11-21 | 16:00             | 00 night   | NULL    |
/// | uC   | 11-20 | 02:00             | 10 morning | app     |
/// | uC   | 11-21 | 06:00             | 14 afternoon | web   |
#[test]
fn user_tags_evaluate_when_and_value_rules_and_tag_summary_counts_them() {
    let p = project();
    let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
    p.write(
        "config/shoal.yaml",
        &format!(
            "{config}  tags:\n\
             \x20   - {{ name: buyer, when: \"orders_90 >= 1\" }}\n\
             \x20   - {{ name: active, value: \"active_days_7\" }}\n\
             \x20   - {{ name: channel, value: \"main_channel\" }}\n\
             \x20   - {{ name: daypart, value: \"main_daypart\" }}\n"
        ),
    );
    let buy = at(
        "a3",
        "2026-11-21 23:00:00",
        "uA",
        "purchase",
        Some("wechat"),
    );
    let p = run_full_refresh_in(
        p,
        D,
        vec![
            at("a1", "2026-11-19 01:00:00", "uA", "view", Some("wechat")),
            at("a2", "2026-11-20 09:00:00", "uA", "view", Some("app")),
            (buy.0, with_order(with_amount(buy.1, Some(9.0)), "o1")),
            at("b1", "2026-11-21 16:00:00", "uB", "view", None),
            at("c1", "2026-11-20 02:00:00", "uC", "view", Some("app")),
            at("c2", "2026-11-21 06:00:00", "uC", "view", Some("web")),
        ],
    );
    // uA: 3 active days; wechat on 2 of them; morning on 2 (09, 07).
    // uB: no channel at all, so no channel tag; 00 -> night.
    // uC: ties, 1 day each: app before web, morning before afternoon.
    let tags = p.table_on("user_tags", D, "user_id, tag");
    assert_rows(
        &tags,
        &[
            "user_id=uA tag=active value=3",
            "user_id=uA tag=buyer value=NULL",
            "user_id=uA tag=channel value=wechat",
            "user_id=uA tag=daypart value=morning",
            "user_id=uB tag=active value=1",
            "user_id=uB tag=daypart value=night",
            "user_id=uC tag=active value=2",
            "user_id=uC tag=channel value=app",
            "user_id=uC tag=daypart value=morning",
        ]
        .map(|s| s.to_string()),
    );
    // 3 scored users: shares are users / 3
    let third = 1.0 / 3.0;
    let summary = p.table_on("tag_summary", D, "tag, value");
    assert_rows(
        &summary,
        &[
            format!("tag=active value=1 users=1 share_of_users={third}"),
            format!("tag=active value=2 users=1 share_of_users={third}"),
            format!("tag=active value=3 users=1 share_of_users={third}"),
            format!("tag=buyer value=NULL users=1 share_of_users={third}"),
            format!("tag=channel value=app users=1 share_of_users={third}"),
            format!("tag=channel value=wechat users=1 share_of_users={third}"),
            format!(
                "tag=daypart value=morning users=2 share_of_users={}",
                2.0 * third
            ),
            format!("tag=daypart value=night users=1 share_of_users={third}"),
        ],
    );
}

#[test]
fn the_shipped_config_has_at_least_forty_tags_across_the_families() {
    let config: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(crate::common::repo_root().join("config/shoal.yaml")).unwrap(),
    )
    .unwrap();
    let tags = config["vars"]["tags"].as_sequence().expect("vars.tags");
    let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.len() >= 40, "{} tags: {names:?}", names.len());
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "duplicate tag names: {names:?}");
    // one of each family: activity, spending, social, content, time of
    // day, channel, demographics, lifecycle, value
    for name in [
        "active_today",
        "repeat_buyer",
        "sharer",
        "lurker",
        "daypart",
        "channel",
        "gen_z",
        "lifecycle_band",
        "uvi_tier",
    ] {
        assert!(names.contains(&name), "no tag {name}: {names:?}");
    }
}

//! Unit tests of configuration loading, overrides and validation.

use super::*;
use chrono::NaiveDate;

const MINIMAL: &str =
    "project: p\nsources:\n  events: { location: data/events, partitioning: hive_dt }\n";

#[test]
fn parses_minimal_config_with_defaults() {
    let c = parse_config(MINIMAL, "c.yaml", &[]).unwrap();
    assert_eq!(c.run.late_days, 3);
    assert_eq!(c.run.lookback_days, 90);
    assert_eq!(c.output.location, "warehouse");
    assert_eq!(c.engine, "local");
}

#[test]
fn unknown_key_names_path_and_line() {
    let text = format!("{MINIMAL}run:\n  lookback_dayz: 3\n");
    let err = parse_config(&text, "c.yaml", &[]).unwrap_err().to_string();
    assert!(err.starts_with("c.yaml:5:"), "{err}");
    assert!(err.contains("run"), "{err}");
    assert!(err.contains("lookback_dayz"), "{err}");
}

#[test]
fn wrong_type_names_path() {
    let text = format!("{MINIMAL}run:\n  late_days: three\n");
    let err = parse_config(&text, "c.yaml", &[]).unwrap_err().to_string();
    assert!(err.contains("run.late_days"), "{err}");
    assert!(err.contains(":5:"), "{err}");
}

#[test]
fn overrides_apply_and_type_check() {
    let c = parse_config(MINIMAL, "c.yaml", &["run.late_days=5".into()]).unwrap();
    assert_eq!(c.run.late_days, 5);
    let err = parse_config(MINIMAL, "c.yaml", &["run.late_days=x".into()]).unwrap_err();
    assert!(err.to_string().contains("run.late_days"), "{err}");
    assert!(parse_config(MINIMAL, "c.yaml", &["nokey".into()]).is_err());
}

#[test]
fn env_refs_expand_with_defaults() {
    // SAFETY of the test: a name no other test uses.
    assert_eq!(
        expand_env("a${env:SHOAL_TEST_SURELY_UNSET:-b}c").unwrap(),
        "abc"
    );
    assert_eq!(
        expand_env("${env:SHOAL_TEST_SURELY_UNSET}").unwrap_err(),
        "SHOAL_TEST_SURELY_UNSET"
    );
    let path = std::env::var("PATH").unwrap();
    assert_eq!(expand_env("${env:PATH}").unwrap(), path);
}

#[test]
fn storage_options_are_redacted_in_debug() {
    let mut o = StorageOptions::default();
    o.0.insert("secret_access_key".into(), "hunter2".into());
    assert!(!format!("{o:?}").contains("hunter2"));
}

#[test]
fn sizes_and_durations() {
    assert_eq!(parse_size("4GiB"), Some(4 << 30));
    assert_eq!(parse_size("512MiB"), Some(512 << 20));
    assert_eq!(parse_size("2G"), Some(2_000_000_000));
    assert_eq!(parse_size("lots"), None);
    assert_eq!(parse_duration_secs("7d"), Some(604_800));
    assert_eq!(parse_duration_secs("3600"), Some(3600));
    assert_eq!(parse_duration_secs("2x"), None);
}

#[test]
fn locations_are_checked() {
    assert!(check_location("data/events").is_ok());
    assert!(check_location("s3://bucket/prefix").is_ok());
    assert!(check_location("s3//bucket").is_err());
    assert!(check_location("s3:///prefix").is_err());
    assert!(check_location("ftp://x/y").is_err());
}

#[test]
fn line_of_key_finds_nested_keys() {
    let text = "project: p\nsources:\n  events:\n    location: x\n";
    assert_eq!(line_of_key(text, "sources.events.location"), 4);
    assert_eq!(line_of_key(text, "project"), 1);
}

#[test]
fn ds_spec() {
    assert_eq!(DsSpec::parse("latest").unwrap(), DsSpec::Latest);
    assert_eq!(
        DsSpec::parse("2026-01-02").unwrap(),
        DsSpec::Day(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap())
    );
    assert!(DsSpec::parse("2026-13-02").is_err());
}

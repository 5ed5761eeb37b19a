//! Checks on well-typed values: locations, limits, the run day, funnels,
//! pseudonymisation; each error names the key and its line.

use super::{ConfigError, DsSpec, LoadedConfig, Partitioning, parse_size};

pub(super) fn validate(loaded: &LoadedConfig) -> Result<(), ConfigError> {
    let c = &loaded.config;
    let mut locations = vec![
        (
            "sources.events.location",
            c.sources.events.location.as_str(),
        ),
        ("output.location", c.output.location.as_str()),
    ];
    if let Some(s) = &c.sources.users {
        locations.push(("sources.users.location", s.location.as_str()));
    }
    if let Some(s) = &c.sources.deletions {
        locations.push(("sources.deletions.location", s.location.as_str()));
    }
    for (key, loc) in locations {
        check_location(loc).map_err(|m| loaded.invalid(key, m))?;
    }
    if let Some(ol) = &c.lineage.openlineage {
        match (&ol.file, &ol.url) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(loaded.invalid(
                    "lineage.openlineage",
                    "set exactly one of `file: events.jsonl` and `url: http://host/api/v1/lineage`",
                ));
            }
            (None, Some(u)) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                return Err(loaded.invalid(
                    "lineage.openlineage.url",
                    format!("{u:?}: expected an http:// or https:// URL"),
                ));
            }
            _ => {}
        }
    }
    if c.sources.events.partitioning != Partitioning::HiveDt {
        return Err(loaded.invalid(
            "sources.events.partitioning",
            "the events source must be `partitioning: hive_dt` (dt=YYYY-MM-DD/ directories)",
        ));
    }
    if parse_size(&c.run.memory_limit).is_none() {
        return Err(loaded.invalid(
            "run.memory_limit",
            format!(
                "{:?} is not a size; write e.g. 4GiB, 512MiB or 2000000000",
                c.run.memory_limit
            ),
        ));
    }
    if super::parse_duration_secs(&c.output.keep_versions).is_none() {
        return Err(loaded.invalid(
            "output.keep_versions",
            format!(
                "{:?} is not a duration; write e.g. 7d, 36h or 0 (keep only the newest version)",
                c.output.keep_versions
            ),
        ));
    }
    if super::parse_duration_secs(&c.output.lease).is_none_or(|s| s == 0) {
        return Err(loaded.invalid(
            "output.lease",
            format!(
                "{:?} is not a duration of at least a second; write e.g. 1m or 30s",
                c.output.lease
            ),
        ));
    }
    for (key, value) in [
        ("run.timeout", &c.run.timeout),
        ("run.model_timeout", &c.run.model_timeout),
    ] {
        if super::parse_duration_secs(value).is_none() {
            return Err(loaded.invalid(
                key,
                format!("{value:?} is not a duration; write e.g. 12h, 90m or 0 (no limit)"),
            ));
        }
    }
    DsSpec::parse(&c.run.ds).map_err(|m| loaded.invalid("run.ds", m))?;
    c.privacy
        .hash_key()
        .map_err(|m| loaded.invalid("privacy.hash_key_env", m))?;
    if c.privacy.hash_user_ids && c.engine != "local" {
        return Err(loaded.invalid(
            "privacy.hash_user_ids",
            "pseudonymisation runs on the local engine only for now (the hash key does not travel to Ballista executors); use --engine local",
        ));
    }
    if c.engine != "local" && !c.engine.starts_with("ballista://") {
        return Err(loaded.invalid(
            "engine",
            format!("{:?}: expected `local` or `ballista://HOST:PORT`", c.engine),
        ));
    }
    for (i, f) in c.funnels.iter().enumerate() {
        let key = format!("funnels.[{i}]");
        if !(2..=32).contains(&f.steps.len()) {
            return Err(loaded.invalid(&key, format!("funnel {:?} needs 2 to 32 steps", f.name)));
        }
        if f.window_seconds().is_none() {
            return Err(loaded.invalid(
                &key,
                format!(
                    "funnel {:?}: window {:?} is not a duration like 7d, 24h, 3600s",
                    f.name, f.window
                ),
            ));
        }
        if !f
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            return Err(loaded.invalid(
                &key,
                format!("funnel name {:?}: use letters, digits and _", f.name),
            ));
        }
    }
    Ok(())
}

/// Checks that a location is a relative path or a URL with a supported scheme.
pub fn check_location(loc: &str) -> Result<(), String> {
    if loc.trim().is_empty() {
        return Err("empty location".into());
    }
    if let Some((scheme, rest)) = loc.split_once("://") {
        let ok = matches!(
            scheme,
            "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "file" | "memory"
        );
        if !ok {
            return Err(format!(
                "{loc:?}: unsupported scheme {scheme:?}; use s3://, gs://, az://, file:// or memory://"
            ));
        }
        if scheme != "file" && rest.split('/').next().unwrap_or("").is_empty() {
            return Err(format!(
                "{loc:?}: expected a URL like {scheme}://bucket/prefix"
            ));
        }
        url::Url::parse(loc).map_err(|e| format!("{loc:?}: not a valid URL: {e}"))?;
        return Ok(());
    }
    let schemes = ["s3", "s3a", "gs", "az", "abfs", "abfss", "file", "memory"];
    if let Some(s) = schemes.iter().find(|s| {
        loc.strip_prefix(**s).is_some_and(|rest| {
            rest.starts_with("//") || rest.starts_with(":/") || rest.starts_with(':')
        })
    }) {
        return Err(format!("{loc:?}: expected a URL like {s}://bucket/prefix"));
    }
    if loc.contains(':') && !loc.starts_with('/') && !loc.starts_with('.') {
        return Err(format!(
            "{loc:?}: expected a path or a URL like s3://bucket/prefix"
        ));
    }
    Ok(())
}

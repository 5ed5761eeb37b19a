//! Overrides and references: `--set key.path=value` and
//! `SHOAL__SECTION__KEY=value` replace values of the parsed YAML before it
//! is typed; `${env:NAME}` (or `${env:NAME:-default}`) references are
//! resolved from the environment after.

use super::{ConfigError, LoadedConfig, line_of_key};

/// Applies one `a.b.c=value` override to a YAML tree.
pub(super) fn apply_override(root: &mut serde_yaml::Value, spec: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::Override {
        spec: spec.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected KEY.PATH=VALUE"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad("empty key segment"));
    }
    let value: serde_yaml::Value =
        serde_yaml::from_str(raw).unwrap_or_else(|_| serde_yaml::Value::String(raw.to_string()));
    let mut node = root;
    for seg in key.split('.') {
        if !node.is_mapping() {
            *node = serde_yaml::Value::Mapping(Default::default());
        }
        let map = node.as_mapping_mut().expect("just made a mapping");
        node = map
            .entry(serde_yaml::Value::String(seg.to_string()))
            .or_insert(serde_yaml::Value::Null);
    }
    *node = value;
    Ok(())
}

/// Replaces `${env:NAME}` and `${env:NAME:-default}` in `s`.
pub fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated ${env:".to_string())?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(v), _) => out.push_str(&v),
            (Err(_), Some(d)) => out.push_str(d),
            (Err(_), None) => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub(super) fn resolve_env_refs(loaded: &mut LoadedConfig) -> Result<(), ConfigError> {
    let path = loaded.path.display().to_string();
    let text = loaded.text.clone();
    let resolve = |key: &str, value: &mut String| -> Result<(), ConfigError> {
        *value = expand_env(value).map_err(|name| ConfigError::UnsetEnv {
            path: path.clone(),
            line: line_of_key(&text, key),
            key: key.to_string(),
            name,
        })?;
        Ok(())
    };
    let c = &mut loaded.config;
    resolve("sources.events.location", &mut c.sources.events.location)?;
    if let Some(s) = c.sources.users.as_mut() {
        resolve("sources.users.location", &mut s.location)?;
    }
    if let Some(s) = c.sources.deletions.as_mut() {
        resolve("sources.deletions.location", &mut s.location)?;
    }
    resolve("output.location", &mut c.output.location)?;
    resolve("engine", &mut c.engine)?;
    for (scheme, opts) in [
        ("s3", &mut c.storage.s3),
        ("gcs", &mut c.storage.gcs),
        ("azure", &mut c.storage.azure),
    ] {
        for (k, v) in opts.0.iter_mut() {
            resolve(&format!("storage.{scheme}.{k}"), v)?;
        }
    }
    Ok(())
}

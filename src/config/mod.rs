//! Configuration: `config/shoal.yaml` into typed structs.
//!
//! Takes the YAML text, command-line `--set key.path=value` overrides and
//! `SHOAL__SECTION__KEY` environment overrides; hands on a [`Config`] whose
//! `${env:NAME}` references are resolved. Unknown keys and wrong types are
//! rejected with the key path and the line. Secrets are only ever referenced
//! from the environment and never printed: [`StorageOptions`] redacts its
//! values in `Debug`, and the fingerprint is taken before env resolution.
//!
//! - [`schema`]: the typed sections of the file, with their defaults
//! - [`values`]: values with a syntax of their own (sizes, durations, the run day)
//! - [`overrides`]: `--set`, `SHOAL__…` and `${env:NAME}` references
//! - [`validate`]: checks on well-typed values (locations, limits, the run day)
//!
//! The reference of every key is docs/configuration.md.

mod overrides;
pub mod schema;
mod validate;
pub mod values;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use overrides::expand_env;
pub use schema::*;
pub use validate::check_location;
pub use values::{DsSpec, parse_duration_secs, parse_size};

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "{path}: cannot read the configuration: {source} (pass --config PATH or run from the project directory)"
    )]
    Read {
        /// The config file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed, a key is unknown or a value has the wrong type.
    #[error("{path}:{line}:{column}: {key}: {message}")]
    Parse {
        /// The config file.
        path: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// Dotted key path, e.g. `run.lookback_days`.
        key: String,
        /// What serde said.
        message: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        /// The config file.
        path: String,
        /// 1-based line of the key (0 when unknown).
        line: usize,
        /// Dotted key path.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// `${env:NAME}` names an environment variable that is not set.
    #[error(
        "{path}:{line}: {key}: environment variable {name} is not set (referenced as ${{env:{name}}}); export it or give a default with ${{env:{name}:-value}}"
    )]
    UnsetEnv {
        /// The config file.
        path: String,
        /// 1-based line of the key (0 when unknown).
        line: usize,
        /// Dotted key path.
        key: String,
        /// The variable name.
        name: String,
    },
    /// A `--set` or `SHOAL__…` override is malformed.
    #[error("override {spec:?}: {message}")]
    Override {
        /// The override as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
}

/// A loaded configuration with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The typed, env-resolved configuration.
    pub config: Config,
    /// The file it was read from.
    pub path: PathBuf,
    /// The project directory: relative locations and `sql/` are resolved against it.
    pub project_dir: PathBuf,
    /// sha256 of the configuration before env resolution (no secrets in it).
    pub fingerprint: String,
    text: String,
}

impl LoadedConfig {
    /// 1-based line of a dotted key path in the config text, 0 if not found.
    pub fn line_of(&self, key: &str) -> usize {
        line_of_key(&self.text, key)
    }

    /// An [`ConfigError::Invalid`] for `key`, located in the file.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.display().to_string(),
            line: self.line_of(key),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads, overrides, types, resolves and validates the config file.
///
/// `overrides` are `key.path=value` strings (value parsed as YAML); env
/// variables `SHOAL__A__B=value` are added as `a.b=value` before them.
pub fn load_config(
    path: &Path,
    project_dir: &Path,
    overrides: &[String],
) -> Result<LoadedConfig, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    let mut all_overrides: Vec<String> = std::env::vars()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("SHOAL__")?;
            let key = rest
                .split("__")
                .map(|s| s.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(".");
            Some(format!("{key}={v}"))
        })
        .collect();
    all_overrides.sort();
    all_overrides.extend(overrides.iter().cloned());
    let config = parse_config(&text, &display, &all_overrides)?;
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&config).unwrap_or_default());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut loaded = LoadedConfig {
        config,
        path: path.to_path_buf(),
        project_dir: project_dir.to_path_buf(),
        fingerprint,
        text,
    };
    overrides::resolve_env_refs(&mut loaded)?;
    validate::validate(&loaded)?;
    Ok(loaded)
}

/// Parses config text with overrides into the typed struct.
pub fn parse_config(text: &str, path: &str, overrides: &[String]) -> Result<Config, ConfigError> {
    if overrides.is_empty() {
        let de = serde_yaml::Deserializer::from_str(text);
        return serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            ConfigError::Parse {
                path: path.to_string(),
                line,
                column,
                key,
                message: strip_location(&inner.to_string()),
            }
        });
    }
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ConfigError::Parse {
            path: path.to_string(),
            line,
            column,
            key: ".".into(),
            message: strip_location(&e.to_string()),
        }
    })?;
    for spec in overrides {
        overrides::apply_override(&mut value, spec)?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Parse {
            path: path.to_string(),
            line: line_of_key(text, &key),
            column: 0,
            key,
            message: format!(
                "{} (after overrides)",
                strip_location(&e.into_inner().to_string())
            ),
        }
    })
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// 1-based line where a dotted key path (`sources.events.location`) appears, 0 if not found.
pub fn line_of_key(text: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut found = 0usize;
    for seg in key.split('.').filter(|s| !s.starts_with('[')) {
        let seg = seg.split('[').next().unwrap_or(seg);
        let pat = format!("{seg}:");
        let hit = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let l = l.split('#').next().unwrap_or("");
            l.match_indices(&pat).any(|(i, _)| {
                i == 0
                    || !l.as_bytes()[i - 1].is_ascii_alphanumeric() && l.as_bytes()[i - 1] != b'_'
            })
        });
        match hit {
            Some((i, _)) => {
                found = i + 1;
                from = i;
            }
            None => return found,
        }
    }
    found
}

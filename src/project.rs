//! The project: the composition root every command starts from.
//!
//! Takes the config file, the project directory and `--set` overrides;
//! hands on a [`Project`]: the loaded configuration, the object stores,
//! the events location, the output location ("warehouse") and the
//! discovered model files. The engine, lineage, the report, doctor and the
//! command line all take `&Project`; none of them loads config or opens
//! stores on its own.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, Utc};

use crate::catalog::{self, CatalogError, Location, Stores};
use crate::config::{self, DsSpec, LoadedConfig};
use crate::models::{self, Dag, Model, TemplateContext};
use crate::sink::Output;
use crate::{Error, Result};

/// A project: configuration, object stores, output location and model files.
#[derive(Debug, Clone)]
pub struct Project {
    /// The loaded configuration.
    pub loaded: LoadedConfig,
    /// Object stores by URL.
    pub stores: Stores,
    /// The events location.
    pub events: Location,
    /// The output location and store.
    pub output: Output,
    /// Discovered model files (not yet rendered).
    pub models: Vec<Model>,
}

impl Project {
    /// Loads config and models from `project_dir`.
    pub fn open(config_path: &Path, project_dir: &Path, overrides: &[String]) -> Result<Self> {
        let loaded = config::load_config(config_path, project_dir, overrides)?;
        let stores = Stores::new(loaded.config.storage.clone());
        let c = &loaded.config;
        let events = Location::parse(&c.sources.events.location, &loaded.project_dir)?;
        let root = Location::parse(&c.output.location, &loaded.project_dir)?;
        let store = stores.store_for(&root)?;
        let models_dir: PathBuf = loaded.project_dir.join(&c.models_dir);
        let models = models::discover_models(&loaded.project_dir, &models_dir)?;
        Ok(Self {
            output: Output {
                root,
                store,
                format: c.output.format,
            },
            events,
            stores,
            loaded,
            models,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &config::Config {
        &self.loaded.config
    }

    /// Whether models run on a Ballista cluster (`engine: ballista://HOST:PORT`).
    pub fn is_distributed(&self) -> bool {
        self.config().engine != "local"
    }

    /// The configured sources by name: `events`, then `users` and
    /// `deletions` when they are set.
    pub fn source_locations(&self) -> Result<Vec<(&'static str, Location)>> {
        let s = &self.config().sources;
        let mut out = vec![("events", self.events.clone())];
        for (name, src) in [("users", &s.users), ("deletions", &s.deletions)] {
            if let Some(src) = src {
                out.push((
                    name,
                    Location::parse(&src.location, &self.loaded.project_dir)?,
                ));
            }
        }
        Ok(out)
    }

    /// Resolves `run.ds` (or an override) to a day; `latest` lists the events partitions.
    pub async fn resolve_ds(&self, ds: Option<&str>) -> Result<NaiveDate> {
        let text = ds.unwrap_or(&self.config().run.ds);
        match DsSpec::parse(text).map_err(models::ModelError::Ds)? {
            DsSpec::Day(d) => Ok(d),
            DsSpec::Yesterday => Ok(Utc::now().date_naive() - Duration::days(1)),
            DsSpec::Latest => {
                let store = self.stores.store_for(&self.events)?;
                let parts = catalog::list_partitions(store.as_ref(), &self.events).await?;
                parts.last().map(|p| p.day).ok_or_else(|| {
                    Error::from(CatalogError::Missing {
                        url: self.events.to_string(),
                        message: "no dt=YYYY-MM-DD partitions, so ds `latest` has no day; check sources.events.location or pass --ds".into(),
                    })
                })
            }
        }
    }

    /// The run day for commands that only read (query, test, catalog,
    /// lineage): `run.ds` when it resolves, else today (UTC).
    pub async fn resolve_ds_or_today(&self, ds: Option<&str>) -> NaiveDate {
        self.resolve_ds(ds)
            .await
            .unwrap_or_else(|_| Utc::now().date_naive())
    }

    /// Renders every model for `ds` and builds the DAG.
    pub fn dag(
        &self,
        ds: NaiveDate,
        full_refresh: bool,
        first_partition: Option<NaiveDate>,
    ) -> Result<Dag> {
        let ctx = TemplateContext::new(self.config(), ds, full_refresh, first_partition);
        Ok(Dag::build(self.models.clone(), &ctx)?)
    }
}

/// The shipped config and model pack, embedded by build.rs for `shoal init`.
pub const PACK: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/pack.rs"));

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct Created {
    /// How many models the project has.
    pub models: usize,
    /// The sample data written, if any.
    pub sample: Option<crate::generate::GenerateReport>,
}

/// Creates a project in `dir` (`shoal init`): the config, the model pack
/// and, when `users > 0`, sample data of `users` users over `days` days.
/// Refuses a directory that already holds a project.
pub async fn create(dir: &Path, users: u32, days: u32) -> Result<Created> {
    if dir.join("config/shoal.yaml").exists() {
        return Err(Error::Usage(format!(
            "{}: already a shoal project (config/shoal.yaml exists); pick a new directory",
            dir.display()
        )));
    }
    let io = |path: &Path, e: std::io::Error| Error::Usage(format!("{}: {e}", path.display()));
    for (rel, text) in PACK {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    let sample = if users > 0 {
        let data = std::fs::canonicalize(dir)
            .map_err(|e| io(dir, e))?
            .join("data");
        let location = Location::parse(data.to_str().unwrap_or("data"), Path::new("/"))?;
        let stores = Stores::new(Default::default());
        let store = stores.store_for(&location)?;
        let opts = crate::generate::GenerateOptions {
            users: users.into(),
            days,
            seed: 7,
            ..Default::default()
        };
        Some(crate::generate::generate(store, &location.prefix(), &opts).await?)
    } else {
        None
    };
    Ok(Created {
        models: PACK.len() - 1,
        sample,
    })
}

//! The output location: where each model's table, the staging area and the
//! `_shoal/` metadata (run records, commit intents, the lock) live.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{SinkError, storage_err};
use crate::catalog::Location;
use crate::config::OutputFormat;

/// Paths of the output store used by the commit protocol.
#[derive(Debug, Clone)]
pub struct Output {
    /// Where tables go.
    pub root: Location,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// How tables are written (`output.format`).
    pub format: OutputFormat,
}

impl Output {
    /// `<output>/<model>/`.
    ///
    /// Model names are checked at discovery and selection
    /// ([`crate::names::valid_name`]); a name that is not plain never gets
    /// here, and a debug build stops if one does.
    pub fn model_dir(&self, model: &str) -> Location {
        debug_assert!(
            crate::names::valid_name(model),
            "model name {model:?} would build a path outside the output location"
        );
        self.root.join(model)
    }

    /// `<output>/_shoal/`.
    pub fn meta_dir(&self) -> Location {
        self.root.join("_shoal")
    }

    /// `<output>/_shoal/staging/<run_id>/<model>/`.
    pub fn staging_dir(&self, run_id: &str, model: &str) -> Location {
        self.meta_dir().join("staging").join(run_id).join(model)
    }

    /// `<output>/_shoal/staging/<run_id>/_temp/`: where a run on a cluster
    /// keeps its `temp` tables (`_temp/<model>/`), removed when it ends.
    /// Model names cannot start with `_`, so this never meets a model's
    /// staging directory.
    pub fn temp_root(&self, run_id: &str) -> Location {
        self.meta_dir().join("staging").join(run_id).join("_temp")
    }

    pub(super) fn intent_path(&self, run_id: &str, model: &str) -> Path {
        self.meta_dir()
            .join("commits")
            .prefix()
            .join(format!("{run_id}.{model}.json"))
    }

    /// Puts a small object (JSON records, intents).
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.store
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| storage_err(&self.root, path, e))
    }

    /// Whether outputs are Delta tables.
    pub fn is_delta_format(&self) -> bool {
        self.format == OutputFormat::Delta
    }

    /// Whether `model` has committed output: a Delta log, or (plain
    /// Parquet) any Parquet file.
    pub async fn has_output(&self, model: &str) -> Result<bool, crate::catalog::CatalogError> {
        let dir = self.model_dir(model);
        if self.is_delta_format() {
            return self
                .is_delta(model)
                .await
                .map_err(|e| crate::catalog::CatalogError::Missing {
                    url: dir.to_string(),
                    message: e.to_string(),
                });
        }
        let files = crate::catalog::list_files(self.store.as_ref(), &dir, &dir.prefix()).await?;
        Ok(files
            .iter()
            .any(|f| f.location.as_ref().ends_with(".parquet")))
    }

    /// Whether `model` has a committed `dt=day` partition (false when the
    /// model has no output at all).
    pub async fn has_day(
        &self,
        model: &str,
        day: chrono::NaiveDate,
    ) -> Result<bool, crate::catalog::CatalogError> {
        let dir = self.model_dir(model);
        if self.is_delta_format() {
            let snapshot = self
                .snapshot(model, super::AsOf::Latest)
                .await
                .map_err(|e| crate::catalog::CatalogError::Missing {
                    url: dir.to_string(),
                    message: e.to_string(),
                })?;
            return Ok(snapshot.is_some_and(|s| s.files.iter().any(|f| f.day == Some(day))));
        }
        let part = dir.join(&format!("dt={day}"));
        let files = crate::catalog::list_files(self.store.as_ref(), &part, &part.prefix()).await?;
        Ok(files
            .iter()
            .any(|f| f.location.as_ref().ends_with(".parquet")))
    }

    /// Deletes every object under a location.
    pub async fn remove_prefix(&self, dir: &Location) -> Result<(), SinkError> {
        self.remove_where(dir, |_| true).await
    }

    /// Deletes the objects under a location whose file name is `selected`.
    pub async fn remove_where(
        &self,
        dir: &Location,
        selected: impl Fn(&str) -> bool,
    ) -> Result<(), SinkError> {
        use futures::TryStreamExt;
        let objects: Vec<_> = self
            .store
            .list(Some(&dir.prefix()))
            .try_collect()
            .await
            .map_err(|e| storage_err(&self.root, &dir.prefix(), e))?;
        for o in objects {
            if !o.location.filename().is_some_and(&selected) {
                continue;
            }
            match self.store.delete(&o.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_err(&self.root, &o.location, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Any name that passes the model-name check joins to a directory
        /// directly under the output root, on every kind of store URL.
        #[test]
        fn model_dirs_stay_under_the_output_location(name in "[A-Za-z_][A-Za-z0-9_]{0,20}", root in proptest::prop_oneof![
            proptest::strategy::Just("s3://bucket/warehouse"),
            proptest::strategy::Just("file:///srv/shoal/warehouse"),
            proptest::strategy::Just("memory://m/w"),
            proptest::strategy::Just("az://container/a/b"),
        ]) {
            proptest::prop_assume!(crate::names::valid_name(&name));
            let root = Location::parse(root, std::path::Path::new("/")).unwrap();
            let out = Output {
                root: root.clone(),
                store: Arc::new(object_store::memory::InMemory::new()),
                format: OutputFormat::Delta,
            };
            let dir = out.model_dir(&name);
            proptest::prop_assert_eq!(dir.url().as_str(), format!("{}{name}/", root.url()));
            proptest::prop_assert_eq!(dir.store_key(), root.store_key());
        }

        /// Names with separators, dots or escapes are never plain names.
        #[test]
        fn path_tricks_are_not_model_names(prefix in "[a-z]{0,3}", trick in proptest::prop_oneof![
            proptest::strategy::Just("../"), proptest::strategy::Just("/"), proptest::strategy::Just("%2e%2e"),
            proptest::strategy::Just("s3://"), proptest::strategy::Just("\\"), proptest::strategy::Just("."),
            proptest::strategy::Just(":"), proptest::strategy::Just("?"), proptest::strategy::Just("#"),
        ], suffix in "[a-z]{0,3}") {
            let name = format!("{prefix}{trick}{suffix}");
            proptest::prop_assert!(!crate::names::valid_name(&name), "{}", name);
        }
    }
}

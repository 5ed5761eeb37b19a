//! The commit protocol (see the module docs of [`crate::sink`]): a staged
//! result replaces its partitions through an intent record, and the next
//! run finishes or rolls back whatever a crash left half done.

use std::collections::BTreeMap;

use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::{DayRange, Output, SinkError, Staged, storage_err};
use crate::catalog::{self, Location};

/// A commit in progress: what each partition will hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    /// Run that writes.
    pub run_id: String,
    /// Model written.
    pub model: String,
    /// Per partition directory (relative to the model dir; "" for a table), the files it will hold.
    pub partitions: BTreeMap<String, Vec<String>>,
}

impl Output {
    /// Commits staged files: partitions in `days` (or the whole table) are
    /// replaced by what was staged for them; days with no staged file are emptied.
    pub async fn commit(
        &self,
        run_id: &str,
        model: &str,
        staged: &Staged,
        days: Option<DayRange>,
    ) -> Result<Vec<String>, SinkError> {
        let model_dir = self.model_dir(model);
        // Which partition directories are replaced.
        let mut partitions: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        match days {
            Some(range) => {
                let existing = catalog::list_partitions(self.store.as_ref(), &model_dir)
                    .await
                    .map_err(|e| SinkError::Storage {
                        url: model_dir.to_string(),
                        message: e.to_string(),
                    })?;
                for p in existing.iter().filter(|p| range.contains(p.day)) {
                    partitions.entry(format!("dt={}", p.day)).or_default();
                }
                if let Some(from) = range.from {
                    let mut d = from;
                    while d <= range.to {
                        partitions.entry(format!("dt={d}")).or_default();
                        d = d.succ_opt().expect("date in range");
                    }
                }
            }
            None => {
                partitions.entry(String::new()).or_default();
            }
        }
        for (n, f) in staged.files.iter().enumerate() {
            let dir = f.day.map(|d| format!("dt={d}")).unwrap_or_default();
            partitions
                .entry(dir)
                .or_default()
                .push((f.path.clone(), format!("part-{run_id}-{n}.parquet")));
        }
        let intent = Intent {
            run_id: run_id.to_string(),
            model: model.to_string(),
            partitions: partitions
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|(_, name)| name.clone()).collect()))
                .collect(),
        };
        let intent_path = self.intent_path(run_id, model);
        self.put(
            &intent_path,
            serde_json::to_vec_pretty(&intent).expect("intent serialises"),
        )
        .await?;
        // Move the new files in. If one move fails, take back the ones
        // already moved before returning, so readers do not see old and new
        // files side by side until the next run's recovery.
        let mut moved: Vec<Path> = Vec::new();
        for (dir, files) in &partitions {
            let target = if dir.is_empty() {
                model_dir.clone()
            } else {
                model_dir.join(dir)
            };
            for (from, name) in files {
                let to = target.prefix().join(name.as_str());
                if let Err(e) = self.store.rename(&Path::from(from.as_str()), &to).await {
                    // A copy-and-delete rename can fail after the copy landed.
                    moved.push(to.clone());
                    let err = storage_err(&self.root, &to, e);
                    return Err(self.roll_back(&intent_path, &moved, err).await);
                }
                moved.push(to);
            }
        }
        // Every new file is in place: from here on the commit rolls forward
        // (a failure below leaves the intent for the next run to finish).
        self.finish_intent(&intent).await?;
        self.store
            .delete(&intent_path)
            .await
            .map_err(|e| storage_err(&self.root, &intent_path, e))?;
        Ok(partitions.keys().cloned().collect())
    }

    /// Undoes the moves of a commit that failed half-way: deletes the files
    /// already moved into partitions, then the intent. When that fails too,
    /// the intent stays and the next run's [`Output::recover`] rolls back.
    async fn roll_back(&self, intent_path: &Path, moved: &[Path], err: SinkError) -> SinkError {
        for p in moved {
            match self.store.delete(p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(
                        "{}: cannot undo a partial commit ({e}); the next run rolls it back",
                        self.root.object_url(p)
                    );
                    return err;
                }
            }
        }
        if let Err(e) = self.store.delete(intent_path).await {
            tracing::warn!(
                "{}: cannot remove the commit intent ({e}); the next run removes it",
                self.root.object_url(intent_path)
            );
        }
        match err {
            SinkError::Storage { url, message } => SinkError::Storage {
                url,
                message: format!(
                    "{message}; the commit was rolled back, the previous output stays visible"
                ),
            },
            other => other,
        }
    }

    /// Deletes every file of the intent's partitions that it does not keep.
    async fn finish_intent(&self, intent: &Intent) -> Result<(), SinkError> {
        let model_dir = self.model_dir(&intent.model);
        for (dir, keep) in &intent.partitions {
            let target = if dir.is_empty() {
                model_dir.clone()
            } else {
                model_dir.join(dir)
            };
            let files = self.list_direct_files(&target).await?;
            for f in files {
                let name = f.filename().unwrap_or_default().to_string();
                if !keep.contains(&name) {
                    self.store
                        .delete(&f)
                        .await
                        .map_err(|e| storage_err(&self.root, &f, e))?;
                }
            }
        }
        Ok(())
    }

    /// Parquet files directly in a directory (not in sub-directories).
    async fn list_direct_files(&self, dir: &Location) -> Result<Vec<Path>, SinkError> {
        let listed = self
            .store
            .list_with_delimiter(Some(&dir.prefix()))
            .await
            .map_err(|e| storage_err(&self.root, &dir.prefix(), e))?;
        Ok(listed
            .objects
            .into_iter()
            .map(|m| m.location)
            .filter(|p| {
                p.filename().is_some_and(|f| {
                    f.ends_with(".parquet") && !f.starts_with('_') && !f.starts_with('.')
                })
            })
            .collect())
    }

    /// Finishes commits a crashed run left behind and removes stale staging.
    /// Returns a line per repaired commit.
    pub async fn recover(&self) -> Result<Vec<String>, SinkError> {
        let mut notes = Vec::new();
        let commits = self.meta_dir().join("commits");
        let listed = catalog::list_files(self.store.as_ref(), &commits, &commits.prefix())
            .await
            .map_err(|e| SinkError::Storage {
                url: commits.to_string(),
                message: e.to_string(),
            })?;
        for meta in listed {
            let bytes = self
                .store
                .get(&meta.location)
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?
                .bytes()
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?;
            let Ok(intent) = serde_json::from_slice::<Intent>(&bytes) else {
                notes.push(format!(
                    "removed unreadable commit intent {}",
                    meta.location
                ));
                let _ = self.store.delete(&meta.location).await;
                continue;
            };
            let model_dir = self.model_dir(&intent.model);
            let mut complete = true;
            for (dir, keep) in &intent.partitions {
                let target = if dir.is_empty() {
                    model_dir.clone()
                } else {
                    model_dir.join(dir)
                };
                let present: Vec<String> = self
                    .list_direct_files(&target)
                    .await?
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string))
                    .collect();
                if keep.iter().any(|k| !present.contains(k)) {
                    complete = false;
                }
            }
            if complete {
                self.finish_intent(&intent).await?;
                notes.push(format!(
                    "finished the commit of {} from run {}",
                    intent.model, intent.run_id
                ));
            } else {
                for (dir, keep) in &intent.partitions {
                    let target = if dir.is_empty() {
                        model_dir.clone()
                    } else {
                        model_dir.join(dir)
                    };
                    for k in keep {
                        let p = target.prefix().join(k.as_str());
                        match self.store.delete(&p).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                            Err(e) => return Err(storage_err(&self.root, &p, e)),
                        }
                    }
                }
                notes.push(format!(
                    "rolled back the partial commit of {} from run {}",
                    intent.model, intent.run_id
                ));
            }
            self.store
                .delete(&meta.location)
                .await
                .map_err(|e| storage_err(&self.root, &meta.location, e))?;
        }
        // A process killed while writing an intent on local disk leaves the
        // store's in-progress file (`<name>#<n>`), which listings never show.
        if let Ok(dir) = self.meta_dir().join("commits").url().to_file_path()
            && let Ok(entries) = std::fs::read_dir(&dir)
        {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains('#') {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        self.remove_prefix(&self.meta_dir().join("staging")).await?;
        Ok(notes)
    }
}

//! Deletions: the users listed in the `deletions` source leave every
//! committed table. Each partition (or whole `table` output) holding one of
//! them in a user-id column is rewritten without those rows and committed
//! like a model's output (staged, then swapped in; never half-visible).
//! The set last applied is kept in `_shoal/deletions.json`, so a nightly
//! run with unchanged deletions reads nothing.
//!
//! With Delta outputs the rewrite is a commit, and then every file no
//! longer in the newest version is deleted at once (a vacuum with no
//! retention), so no file of any version keeps a deleted user.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast as cast_array, filter_record_batch};
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use object_store::ObjectStoreExt;
use sha2::Digest;

use super::{AsOf, DayRange, Output, SinkError, Staged, write_staged};
use crate::catalog;

/// Whether an output column holds user ids (the ones `deletions` and
/// `privacy.hash_user_ids` are about): `user_id`, `*_user_id`, and the
/// invitation columns `referrer_id`, `inviter_id`, `invitee_id`.
pub fn is_user_id_column(name: &str) -> bool {
    name == "user_id"
        || name.ends_with("_user_id")
        || matches!(name, "referrer_id" | "inviter_id" | "invitee_id")
}

/// Removes the users `ids` from the committed `tables` of `output` (see the
/// module docs), when `ids` differs from the set applied last. Returns a
/// note per rewritten partition.
pub async fn purge_deleted_users(
    output: &Output,
    tables: &[String],
    ids: &BTreeSet<String>,
    run_id: &str,
    props: &WriterProperties,
) -> Result<Vec<String>, SinkError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let store = Arc::clone(&output.store);
    let mut hasher = sha2::Sha256::new();
    for id in ids {
        hasher.update(id.as_bytes());
        hasher.update([0u8]);
    }
    let fingerprint: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let marker = output.meta_dir().prefix().join("deletions.json");
    if let Ok(got) = store.get(&marker).await
        && let Ok(bytes) = got.bytes().await
        && serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v["fingerprint"] == fingerprint.as_str())
    {
        return Ok(vec![]);
    }
    let storage = |url: String, e: &dyn std::fmt::Display| SinkError::Storage {
        url,
        message: format!("removing deleted users: {e}"),
    };
    let decode = |url: &String,
                  builder: ParquetRecordBatchReaderBuilder<bytes::Bytes>|
     -> Result<Vec<RecordBatch>, SinkError> {
        builder
            .build()
            .map_err(|e| storage(url.clone(), &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| storage(url.clone(), &e))
    };
    let mut notes = Vec::new();
    for table in tables {
        let dir = output.model_dir(table);
        // Files by partition: Some(day) for dt=DAY/, None for a table's root.
        let mut parts: BTreeMap<Option<NaiveDate>, Vec<object_store::path::Path>> =
            Default::default();
        if output.is_delta_format() {
            // The newest version's files; older versions' files go with the
            // vacuum below.
            let Some(snapshot) = output.snapshot(table, AsOf::Latest).await? else {
                continue;
            };
            for f in snapshot.files {
                parts
                    .entry(f.day)
                    .or_default()
                    .push(object_store::path::Path::from(f.path));
            }
        } else {
            let files = catalog::list_files(store.as_ref(), &dir, &dir.prefix())
                .await
                .map_err(|e| storage(dir.to_string(), &e))?;
            for f in files {
                if !f.location.as_ref().ends_with(".parquet") {
                    continue;
                }
                let parent: Vec<_> = f.location.parts().collect();
                let day = parent
                    .iter()
                    .rev()
                    .nth(1)
                    .and_then(|p| p.as_ref().strip_prefix("dt=").map(str::to_string))
                    .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
                parts.entry(day).or_default().push(f.location);
            }
        }
        for (day, metas) in parts {
            // Read each file, drop the deleted users' rows.
            let mut kept_files = Vec::new();
            let mut untouched = Vec::new();
            let mut removed = 0usize;
            for location in &metas {
                let url = output.root.object_url(location);
                // Output partitions are small (one model, one day): read whole.
                let bytes = store
                    .get(location)
                    .await
                    .map_err(|e| storage(url.clone(), &e))?
                    .bytes()
                    .await
                    .map_err(|e| storage(url.clone(), &e))?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .map_err(|e| storage(url.clone(), &e))?;
                let schema = Arc::clone(builder.schema());
                let id_cols: Vec<usize> = schema
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| is_user_id_column(f.name()))
                    .map(|(i, _)| i)
                    .collect();
                if id_cols.is_empty() {
                    // No user ids in this file: decoded only if the
                    // partition is rewritten for its other files.
                    untouched.push((url, builder));
                    continue;
                }
                let batches = decode(&url, builder)?;
                let mut kept = Vec::with_capacity(batches.len());
                for b in batches {
                    let mut keep = vec![true; b.num_rows()];
                    for &i in &id_cols {
                        let Ok(col) = cast_array(b.column(i), &DataType::Utf8) else {
                            continue;
                        };
                        let col = col
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .expect("cast to Utf8");
                        for (r, v) in col.iter().enumerate() {
                            if v.is_some_and(|v| ids.contains(v)) {
                                keep[r] = false;
                            }
                        }
                    }
                    let dropped = keep.iter().filter(|k| !**k).count();
                    removed += dropped;
                    kept.push(if dropped == 0 {
                        b
                    } else {
                        filter_record_batch(&b, &BooleanArray::from(keep))
                            .map_err(|e| storage(url.clone(), &e))?
                    });
                }
                kept_files.push((schema, kept));
            }
            if removed == 0 {
                continue;
            }
            for (url, builder) in untouched {
                let schema = Arc::clone(builder.schema());
                kept_files.push((schema, decode(&url, builder)?));
            }
            // Stage the cleaned files and swap them in like a model's commit.
            let (staging, stem) = output.staging(run_id, table);
            let staging = match (output.is_delta_format(), day) {
                (true, Some(d)) => staging.join(&format!("dt={d}")),
                _ => staging,
            };
            let mut staged: Option<Staged> = None;
            for (i, (schema, batches)) in kept_files.into_iter().enumerate() {
                let stream = RecordBatchStreamAdapter::new(
                    Arc::clone(&schema),
                    futures::stream::iter(batches.into_iter().map(Ok)),
                );
                let (dir, name) = if output.is_delta_format() {
                    (staging.clone(), format!("{stem}-purge{i}"))
                } else {
                    (staging.join(&format!("purge-{i}")), stem.clone())
                };
                let mut one = write_staged(
                    Arc::clone(&store),
                    dir,
                    &name,
                    Box::pin(stream),
                    None,
                    props,
                    None,
                )
                .await?;
                for f in &mut one.files {
                    f.day = day;
                }
                match staged.as_mut() {
                    Some(s) => s.files.extend(one.files),
                    None => staged = Some(one),
                }
            }
            let staged = staged.expect("a partition has at least one file");
            let range = day.map(|d| DayRange {
                from: Some(d),
                to: d,
            });
            output.publish(run_id, table, &staged, range).await?;
            let part = day
                .map(|d| format!("dt={d}"))
                .unwrap_or_else(|| "the table".into());
            notes.push(format!(
                "{}: {part}: removed {removed} rows of users in deletions",
                table
            ));
        }
    }
    // Every file of an older version (or left by a killed run) that may
    // still hold a deleted user goes now, whatever output.keep_versions
    // says: when the deletions change, time travel ends at the current
    // version of every table.
    if output.is_delta_format() {
        for table in tables {
            output.vacuum(table, std::time::Duration::ZERO).await?;
        }
    }
    output
        .put(
            &marker,
            serde_json::to_vec_pretty(&serde_json::json!({
                "fingerprint": fingerprint,
                "users": ids.len(),
                "applied_by_run": run_id,
            }))
            .expect("json"),
        )
        .await?;
    Ok(notes)
}

//! Listing a location: its `dt=YYYY-MM-DD` partitions, sorted, and the data files under a prefix.

use super::*;

/// One `dt=YYYY-MM-DD` partition directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The partition day.
    pub day: NaiveDate,
    /// Its prefix in the store.
    pub prefix: Path,
}

/// Lists the `dt=YYYY-MM-DD` partitions directly under `location`, sorted by day.
/// Other entries (`_SUCCESS`, `.staging`, malformed names) are ignored.
pub async fn list_partitions(
    store: &dyn ObjectStore,
    location: &Location,
) -> Result<Vec<Partition>, CatalogError> {
    let prefix = location.prefix();
    let listed = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|source| CatalogError::Io {
            url: location.to_string(),
            source,
        })?;
    let mut parts: Vec<Partition> = listed
        .common_prefixes
        .into_iter()
        .filter_map(|p| {
            let name = p.filename()?.to_string();
            let day = NaiveDate::parse_from_str(name.strip_prefix("dt=")?, "%Y-%m-%d").ok()?;
            Some(Partition { day, prefix: p })
        })
        .collect();
    parts.sort_by_key(|p| p.day);
    Ok(parts)
}

/// Lists the data files (not starting with `_` or `.`) under a prefix, sorted by path.
pub async fn list_files(
    store: &dyn ObjectStore,
    location: &Location,
    prefix: &Path,
) -> Result<Vec<ObjectMeta>, CatalogError> {
    let mut files: Vec<ObjectMeta> =
        store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|source| CatalogError::Io {
                url: location.object_url(prefix),
                source,
            })?;
    files.retain(|m| {
        m.location
            .filename()
            .is_some_and(|f| !f.starts_with('_') && !f.starts_with('.'))
    });
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

//! Storage and sources: object stores by URL scheme, sources registered as
//! listing tables.
//!
//! Takes the configured locations (paths or `s3://`, `gs://`, `az://`,
//! `file://`, `memory://` URLs) and the `storage:` options; hands on
//! [`Location`]s, object stores registered in a DataFusion runtime, the
//! `dt` partitions present, and the `events`, `users` and `deletions` tables
//! with the schema of docs/events.md#events checked file by file.

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::config::{Partitioning, RetrySettings, SourceConfig, SourceFormat, StorageConfig};

/// What went wrong with storage or a source.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A location could not be turned into a URL.
    #[error("{location:?}: {message}")]
    BadLocation {
        /// The location as configured.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// An object store could not be built (bad option, missing credentials).
    #[error("{url}: cannot open the object store: {message}")]
    Store {
        /// The store URL.
        url: String,
        /// What object_store said.
        message: String,
    },
    /// Listing or reading an object failed.
    #[error("{url}: {source}")]
    Io {
        /// The object or prefix URL.
        url: String,
        /// The object_store error.
        source: object_store::Error,
    },
    /// Fetching an object failed in the storage layer (after retries).
    #[error(
        "{url}: cannot read it from storage: {message} (a storage or network error, not a bad file: check the endpoint, credentials and storage.retry, then rerun)"
    )]
    Read {
        /// The object URL.
        url: String,
        /// What object_store said.
        message: String,
    },
    /// A Parquet file could not be read.
    #[error("{url}: unreadable Parquet file: {message}")]
    Unreadable {
        /// The object URL.
        url: String,
        /// What the reader said.
        message: String,
    },
    /// A file lacks a required column or has an incompatible type.
    #[error("{url}: column {column:?}: {message}")]
    Schema {
        /// The object URL.
        url: String,
        /// The column.
        column: String,
        /// Expected and found types.
        message: String,
    },
    /// A required source or partition is missing.
    #[error("{url}: {message}")]
    Missing {
        /// Where it was expected.
        url: String,
        /// What is missing and what to do.
        message: String,
    },
    /// DataFusion refused a registration.
    #[error("registering {name}: {source}")]
    Register {
        /// Table name.
        name: String,
        /// The DataFusion error.
        source: datafusion::error::DataFusionError,
    },
}

/// A directory-like location in some object store, normalised to a URL
/// ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    url: Url,
}

impl Location {
    /// Parses a configured location; relative paths are taken from `project_dir`.
    pub fn parse(raw: &str, project_dir: &FsPath) -> Result<Self, CatalogError> {
        let bad = |message: String| CatalogError::BadLocation {
            location: raw.to_string(),
            message,
        };
        let mut url = if raw.contains("://") {
            Url::parse(raw).map_err(|e| bad(format!("not a valid URL: {e}")))?
        } else {
            let p = project_dir.join(raw);
            let abs = std::path::absolute(&p).map_err(|e| bad(e.to_string()))?;
            Url::from_directory_path(&abs).map_err(|_| bad("not an absolute path".into()))?
        };
        if url.scheme() == "s3a" {
            url =
                Url::parse(&raw.replacen("s3a://", "s3://", 1)).map_err(|e| bad(e.to_string()))?;
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Ok(Self { url })
    }

    /// The URL, ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `scheme://host` identifying the object store.
    pub fn store_key(&self) -> String {
        format!(
            "{}://{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or("")
        )
    }

    /// The DataFusion object store URL.
    pub fn object_store_url(&self) -> ObjectStoreUrl {
        ObjectStoreUrl::parse(self.store_key()).expect("scheme://host is a valid URL")
    }

    /// The prefix inside the store.
    pub fn prefix(&self) -> Path {
        Path::from_url_path(self.url.path()).unwrap_or_default()
    }

    /// A sub-directory location.
    pub fn join(&self, name: &str) -> Location {
        let url = self.url.join(&format!("{name}/")).expect("relative join");
        Location { url }
    }

    /// The full URL of an object path of this location's store (for messages).
    pub fn object_url(&self, path: &Path) -> String {
        format!("{}/{}", self.store_key(), path)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// Object stores by `scheme://host`, built from the `storage:` options.
#[derive(Clone)]
pub struct Stores {
    storage: StorageConfig,
    opened: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// The in-memory stores of this process, by `memory://host`, shared so that
/// the generator, the run and the tests see the same data.
fn memory_stores() -> &'static Mutex<HashMap<String, Arc<dyn ObjectStore>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

impl Stores {
    /// Stores configured from `storage:`.
    pub fn new(storage: StorageConfig) -> Self {
        Self {
            storage,
            opened: Default::default(),
        }
    }

    /// The store holding `location`, opened once per `scheme://host`.
    pub fn store_for(&self, location: &Location) -> Result<Arc<dyn ObjectStore>, CatalogError> {
        let key = location.store_key();
        let mut opened = self.opened.lock().expect("store map poisoned");
        if let Some(s) = opened.get(&key) {
            return Ok(Arc::clone(s));
        }
        let store = self.build(location)?;
        opened.insert(key, Arc::clone(&store));
        Ok(store)
    }

    /// Registers the store of `location` in a DataFusion session.
    pub fn register(&self, ctx: &SessionContext, location: &Location) -> Result<(), CatalogError> {
        let store = self.store_for(location)?;
        ctx.runtime_env()
            .register_object_store(location.object_store_url().as_ref(), store);
        Ok(())
    }

    fn build(&self, location: &Location) -> Result<Arc<dyn ObjectStore>, CatalogError> {
        let url = location.url();
        let key = location.store_key();
        let err = |message: String| CatalogError::Store {
            url: key.clone(),
            message,
        };
        let retry = retry_config(&self.storage.retry);
        match url.scheme() {
            "file" => Ok(Arc::new(object_store::local::LocalFileSystem::new())),
            "memory" => {
                let mut mem = memory_stores().lock().expect("memory stores poisoned");
                Ok(Arc::clone(mem.entry(key.clone()).or_insert_with(|| {
                    Arc::new(object_store::memory::InMemory::new()) as Arc<dyn ObjectStore>
                })))
            }
            "s3" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.s3.0 {
                    let ck = k.parse().map_err(|_| {
                        err(format!("storage.s3.{k}: not an S3 option (see object_store AmazonS3ConfigKey, e.g. region, endpoint, allow_http)"))
                    })?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.gcs.0 {
                    let ck = k.parse().map_err(|_| {
                        err(format!(
                            "storage.gcs.{k}: not a Google Cloud Storage option"
                        ))
                    })?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            "az" | "abfs" | "abfss" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.azure.0 {
                    let ck = k
                        .parse()
                        .map_err(|_| err(format!("storage.azure.{k}: not an Azure option")))?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            other => Err(err(format!("unsupported scheme {other:?}"))),
        }
    }
}

fn retry_config(r: &RetrySettings) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(r.initial_backoff_ms),
            max_backoff: Duration::from_millis(r.max_backoff_ms),
            base: 2.0,
        },
        max_retries: r.max_retries,
        retry_timeout: Duration::from_secs(r.timeout_secs),
    }
}

/// The events schema of docs/events.md#events (all columns nullable in storage; validity is
/// decided by `stg_events`).
pub fn events_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("event_id"),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        s("user_id"),
        s("community_id"),
        s("event_type"),
        s("content_id"),
        s("session_id"),
        Field::new("amount", DataType::Float64, true),
        s("order_id"),
        s("referrer_id"),
        s("channel"),
        s("properties"),
    ]))
}

/// The `deletions` schema (docs/events.md#deletions).
pub fn deletions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, true),
        Field::new(
            "requested_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// The `users` schema (docs/events.md#users); `shoal generate` writes it too.
pub fn users_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("user_id"),
        Field::new(
            "signup_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        s("gender"),
        Field::new("birth_year", DataType::Int64, true),
        s("region"),
        Field::new("city_tier", DataType::Int64, true),
        s("occupation"),
    ]))
}

/// The partition column every daily table and the events source carry.
pub const DT: &str = "dt";

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

/// Whether a file column type can be read as the expected table type.
fn compatible(expected: &DataType, found: &DataType) -> bool {
    use DataType::*;
    let stringy = |t: &DataType| match t {
        Utf8 | LargeUtf8 | Utf8View => true,
        Dictionary(_, v) => matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View),
        _ => false,
    };
    match expected {
        Utf8 => stringy(found),
        Timestamp(_, _) => matches!(found, Timestamp(_, _)),
        Float64 => found.is_numeric(),
        Int64 => found.is_integer(),
        other => other == found,
    }
}

/// The object_store error behind a DataFusion error, if storage failed.
pub fn storage_cause(err: &datafusion::error::DataFusionError) -> Option<&object_store::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(datafusion::error::DataFusionError::ObjectStore(os)) =
            e.downcast_ref::<datafusion::error::DataFusionError>()
        {
            return Some(os.as_ref());
        }
        if let Some(os) = e.downcast_ref::<object_store::Error>() {
            return Some(os);
        }
        cur = e.source();
    }
    None
}

/// Reads the footer of each file and checks it against `expected`: every
/// column present with a compatible type (extra columns are ignored).
pub async fn check_parquet_schemas(
    state: &dyn datafusion::catalog::Session,
    store: Arc<dyn ObjectStore>,
    location: &Location,
    files: &[ObjectMeta],
    expected: &Schema,
    required: &[&str],
) -> Result<(), CatalogError> {
    for meta in files {
        let url = location.object_url(&meta.location);
        let found = ParquetFormat::default()
            .infer_schema(state, &store, std::slice::from_ref(meta))
            .await
            .map_err(|e| match storage_cause(&e) {
                Some(cause) => CatalogError::Read {
                    url: url.clone(),
                    message: cause.to_string(),
                },
                None => CatalogError::Unreadable {
                    url: url.clone(),
                    message: format!(
                        "{} (is it a complete Parquet file? replace or remove it)",
                        tidy_parquet_message(&e.strip_backtrace())
                    ),
                },
            })?;
        for field in expected.fields() {
            match found.field_with_name(field.name()) {
                Ok(f) if compatible(field.data_type(), f.data_type()) => {}
                Ok(f) => {
                    let hint = if matches!(
                        f.data_type(),
                        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                    ) {
                        " (a BYTE_ARRAY column without the STRING/UTF8 annotation: bytes that need not be text; write the column as a UTF-8 string)"
                    } else {
                        ""
                    };
                    return Err(CatalogError::Schema {
                        url,
                        column: field.name().clone(),
                        message: format!(
                            "expected {} but the file has {}{hint}",
                            field.data_type(),
                            f.data_type()
                        ),
                    });
                }
                Err(_) if required.contains(&field.name().as_str()) || required.is_empty() => {
                    // A column the table does not know, close to the missing
                    // name, is most likely the same column renamed.
                    let unknown = found
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .filter(|n| expected.field_with_name(n).is_err());
                    let hint = crate::names::suggest(field.name(), unknown)
                        .map(|s| {
                            format!(
                                " (did you mean {s:?}? the column seems renamed: write it as {:?})",
                                field.name()
                            )
                        })
                        .unwrap_or_default();
                    return Err(CatalogError::Schema {
                        url,
                        column: field.name().clone(),
                        message: format!(
                            "missing (expected type {}){hint}; the file has columns: {}",
                            field.data_type(),
                            found
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
                Err(_) => {}
            }
        }
    }
    Ok(())
}

/// A reader message without the wrappers errors pick up on their way out
/// ("Parquet error: Parquet error: …", "External: …").
fn tidy_parquet_message(text: &str) -> String {
    let mut t = text.trim();
    loop {
        let before = t;
        for prefix in [
            "Parquet error: ",
            "External: ",
            "Parquet argument error: ",
            "Arrow error: ",
        ] {
            t = t.strip_prefix(prefix).unwrap_or(t);
        }
        if t == before {
            return t.to_string();
        }
    }
}

/// Reads every row of each file (whole, into memory: this is the failure
/// path) and returns the first file that cannot be decoded (corrupt pages, non-UTF-8 bytes in a string column): its URL and
/// the reader's message. Used after a model failed on input, to name the
/// file; storage errors are not blamed on a file (`None`).
pub async fn find_undecodable(
    store: Arc<dyn ObjectStore>,
    location: &Location,
    files: &[ObjectMeta],
) -> Option<(String, String)> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::errors::ParquetError;
    use object_store::ObjectStoreExt;
    for meta in files {
        // A storage error is not the file's fault.
        let bytes = match store.get(&meta.location).await {
            Ok(got) => match got.bytes().await {
                Ok(b) => b,
                Err(_) => return None,
            },
            Err(_) => return None,
        };
        let result: Result<(), ParquetError> = (|| {
            for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
                batch?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            return Some((
                location.object_url(&meta.location),
                tidy_parquet_message(&e.to_string()),
            ));
        }
    }
    None
}

/// Listing options for Parquet files, with a `dt` Date32 partition column when `hive_dt`.
pub fn parquet_listing_options(hive_dt: bool) -> ListingOptions {
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if hive_dt {
        opts.with_table_partition_cols(vec![(DT.to_string(), DataType::Date32)])
    } else {
        opts
    }
}

/// Registers a Parquet listing table over `location` with a known schema
/// (files are cast to it; nothing is read now).
pub fn register_listing(
    ctx: &SessionContext,
    name: &str,
    location: &Location,
    schema: SchemaRef,
    hive_dt: bool,
) -> Result<(), CatalogError> {
    let reg = |source| CatalogError::Register {
        name: name.to_string(),
        source,
    };
    let url = ListingTableUrl::parse(location.url().as_str()).map_err(reg)?;
    let config = ListingTableConfig::new(url)
        .with_listing_options(parquet_listing_options(hive_dt))
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(reg)?;
    ctx.register_table(name, Arc::new(table)).map_err(reg)?;
    Ok(())
}

/// Registers an empty table with `schema` (an optional source that is absent).
pub fn register_empty(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
) -> Result<(), CatalogError> {
    let reg = |source| CatalogError::Register {
        name: name.to_string(),
        source,
    };
    let table = MemTable::try_new(schema, vec![vec![]]).map_err(reg)?;
    ctx.register_table(name, Arc::new(table)).map_err(reg)?;
    Ok(())
}

/// Registers the optional `users` / `deletions` source: a listing table over
/// its files cast to `schema`, or an empty table when it is absent and optional.
///
/// `empty_dir`: where an absent source is an empty listing table
/// (`<empty_dir>/<name>/`, a prefix nothing writes to) instead of an
/// in-memory table — a Ballista scheduler can only receive tables that
/// serialize, and a listing table does.
pub async fn register_side_source(
    ctx: &SessionContext,
    stores: &Stores,
    name: &str,
    source: Option<&SourceConfig>,
    project_dir: &FsPath,
    schema: SchemaRef,
    empty_dir: Option<&Location>,
) -> Result<(), CatalogError> {
    let register_empty = |ctx: &SessionContext, name: &str, schema: SchemaRef| match empty_dir {
        Some(dir) => register_listing(ctx, name, &dir.join(name), schema, false),
        None => register_empty(ctx, name, schema),
    };
    let Some(source) = source else {
        return register_empty(ctx, name, schema);
    };
    let location = Location::parse(&source.location, project_dir)?;
    stores.register(ctx, &location)?;
    let store = stores.store_for(&location)?;
    let files = list_files(store.as_ref(), &location, &location.prefix()).await?;
    if files.is_empty() {
        if source.optional {
            return register_empty(ctx, name, schema);
        }
        return Err(CatalogError::Missing {
            url: location.to_string(),
            message: format!(
                "source {name:?} has no files; add them or set `optional: true` under sources.{name}"
            ),
        });
    }
    let hive = source.partitioning == Partitioning::HiveDt;
    match source.format {
        SourceFormat::Parquet => {
            check_parquet_schemas(
                &ctx.state(),
                store,
                &location,
                &files,
                &schema,
                &["user_id"],
            )
            .await?;
            // Columns a file lacks are read as NULL; user_id was checked above.
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            if hive {
                fields.retain(|f| f.name() != DT);
            }
            register_listing(ctx, name, &location, Arc::new(Schema::new(fields)), hive)
        }
        SourceFormat::Csv => {
            let reg = |source| CatalogError::Register {
                name: name.to_string(),
                source,
            };
            let url = ListingTableUrl::parse(location.url().as_str()).map_err(reg)?;
            let opts = ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
                .with_file_extension(".csv");
            let config = ListingTableConfig::new(url)
                .with_listing_options(opts)
                .with_schema(schema);
            let table = ListingTable::try_new(config).map_err(reg)?;
            ctx.register_table(name, Arc::new(table)).map_err(reg)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_normalise_to_directories() {
        let l = Location::parse("s3://bucket/events", FsPath::new("/p")).unwrap();
        assert_eq!(l.url().as_str(), "s3://bucket/events/");
        assert_eq!(l.store_key(), "s3://bucket");
        assert_eq!(l.prefix().as_ref(), "events");
        let l = Location::parse("data/events", FsPath::new("/proj")).unwrap();
        assert_eq!(l.url().as_str(), "file:///proj/data/events/");
        assert_eq!(l.store_key(), "file://");
        assert_eq!(l.prefix().as_ref(), "proj/data/events");
        assert_eq!(l.join("x").url().as_str(), "file:///proj/data/events/x/");
        let m = Location::parse("memory://t1/root", FsPath::new("/p")).unwrap();
        assert_eq!(m.store_key(), "memory://t1");
    }

    #[test]
    fn parquet_messages_lose_their_wrappers() {
        assert_eq!(
            tidy_parquet_message(
                "Parquet error: Parquet error: Invalid Parquet file. Corrupt footer"
            ),
            "Invalid Parquet file. Corrupt footer"
        );
        assert_eq!(
            tidy_parquet_message(
                "External: Parquet argument error: Parquet error: encountered non UTF-8 data"
            ),
            "encountered non UTF-8 data"
        );
    }

    #[test]
    fn type_compatibility() {
        use DataType::*;
        assert!(compatible(&Utf8, &Utf8View));
        assert!(compatible(&Utf8, &LargeUtf8));
        assert!(!compatible(&Utf8, &Int64));
        assert!(compatible(
            &Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            &Timestamp(TimeUnit::Nanosecond, None)
        ));
        assert!(!compatible(&Timestamp(TimeUnit::Microsecond, None), &Utf8));
        assert!(compatible(&Float64, &Int32));
        assert!(compatible(&Int64, &Int32));
    }

    #[tokio::test]
    async fn partitions_are_listed_and_sorted() {
        use object_store::ObjectStoreExt;
        let store = object_store::memory::InMemory::new();
        for p in [
            "ev/dt=2026-01-02/a.parquet",
            "ev/dt=2026-01-01/b.parquet",
            "ev/_SUCCESS",
            "ev/junk/c.parquet",
        ] {
            store.put(&Path::from(p), "x".into()).await.unwrap();
        }
        let loc = Location::parse("memory://x/ev", FsPath::new("/")).unwrap();
        let parts = list_partitions(&store, &loc).await.unwrap();
        let days: Vec<String> = parts.iter().map(|p| p.day.to_string()).collect();
        assert_eq!(days, ["2026-01-01", "2026-01-02"]);
        let files = list_files(&store, &loc, &loc.prefix()).await.unwrap();
        assert_eq!(files.len(), 3, "_SUCCESS is not a data file");
    }
}

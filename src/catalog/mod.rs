//! Storage and sources: object stores by URL scheme, sources registered as
//! listing tables.
//!
//! Takes the configured locations (paths or `s3://`, `gs://`, `az://`,
//! `file://`, `memory://` URLs) and the `storage:` options; hands on
//! [`Location`]s, object stores registered in a DataFusion runtime, the
//! `dt` partitions present, and the `events`, `users` and `deletions` tables
//! with the schema of docs/events.md#events checked file by file.
//!
//! - [`location`]: a location as a directory URL in some store
//! - [`stores`]: object stores by `scheme://host`, with retries and credentials
//! - [`schemas`]: the one definition of the events, users and deletions schemas
//! - [`listing`]: the `dt=` partitions and files under a location
//! - [`check`]: input files checked against the events schema, unreadable files found
//! - [`register`]: sources and outputs as listing tables in a session
//! - [`files`]: a table over an explicit list of Parquet files (Delta snapshots, audits)

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

pub mod check;
pub mod files;
pub mod listing;
pub mod location;
pub mod register;
pub mod schemas;
pub mod stores;

#[cfg(test)]
mod tests;

pub use check::*;
pub use files::{FileListTable, TableFile, date32_to_day};
pub use listing::*;
pub use location::*;
pub use register::*;
pub use schemas::*;
pub use stores::*;

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

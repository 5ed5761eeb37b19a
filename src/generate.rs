//! Synthetic event sets in the events schema of SPEC §1 (`shoal generate`).

/// What went wrong while generating data.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing to the object store failed.
    #[error("cannot write {url}: {source}")]
    Write {
        /// The object URL.
        url: String,
        /// The underlying error.
        source: object_store::Error,
    },
}

//! shoal: a nightly batch data warehouse for community analytics.
//!
//! The modules follow the data as it flows through a run; each one only
//! uses the ones above it (`tests::architecture` checks the arrows):
//!
//! ```text
//! names       → plain model names, "did you mean" suggestions
//! functions   → window_funnel, retention, sequence_match, JSON helpers (UDFs, UDAFs); DataFusion only
//! config      → YAML into typed structs, overrides, env references, validation
//! catalog     → object stores by URL scheme, the events/users/deletions schemas, sources as listing tables
//! models      → discover sql/ files, parse headers, render templates, infer deps, DAG, selection
//! sink        → write Parquet, stage and commit partitions, the output lock, the deletions purge
//! quality     → data tests, run on staged or committed tables
//! runlog      → run records
//! generate    → synthetic event sets in the events schema
//! project     → the composition root: config, stores, output, models
//! engine      → plan a run, one session builder, schedule and run models, observers
//! distributed → Ballista scheduler, executor and client with shoal's functions and stores
//! lineage     → per model: upstream models, sources and column-level lineage
//! openlineage → OpenLineage START/COMPLETE/FAIL events per model (file or HTTP)
//! bi          → DDL exposing the outputs to DuckDB, Trino, Athena, Spark
//! report      → the HTML report of a day's committed outputs (inline SVG charts)
//! doctor      → checks config, models, storage and sources, and says what to fix
//! cli         → arguments, printing, progress bar, logging, one file per subcommand
//! ```
//!
//! The reference for users is in `docs/`; `README.md` is the front door.

pub mod bi;
pub mod catalog;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod cli;
pub mod config;
#[cfg(feature = "ballista")]
pub mod distributed;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod functions;
pub mod generate;
pub mod lineage;
pub mod models;
pub mod names;
pub mod openlineage;
pub mod project;
pub mod quality;
pub mod report;
pub mod runlog;
pub mod sink;

#[cfg(test)]
mod tests;

pub use error::{Error, ExitStatus, Result};

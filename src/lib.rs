//! shoal: a nightly batch data warehouse for community analytics.
//!
//! The modules follow the data as it flows through a run:
//!
//! ```text
//! config    → YAML into typed structs, env references, overrides, validation
//! catalog   → object stores by URL scheme, sources registered as listing tables
//! models    → discover sql/ files, parse header, render template, infer deps, DAG, selection
//! engine    → SessionContext (UDFs, memory pool, spill), run the DAG, keep going past failures
//! sink      → write Parquet, stage, audit and commit partitions
//! runlog    → run records, JSON logs, progress
//! functions → window_funnel, retention, sequence_match, JSON helpers (UDFs and UDAFs)
//! distributed → Ballista scheduler, executor and client with shoal's functions and stores
//! generate  → synthetic event sets in the events schema
//! lineage   → per model: upstream models, sources and column-level lineage from the logical plans
//! doctor    → checks config, models, storage and sources, and says what to fix
//! openlineage → OpenLineage START/COMPLETE/FAIL run events per model (file or HTTP)
//! report    → the HTML report of a day's committed outputs (inline SVG charts)
//! ```

pub mod bi;
pub mod catalog;
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
pub mod openlineage;
pub mod report;
pub mod runlog;
pub mod sink;

pub use error::{Error, ExitStatus, Result};

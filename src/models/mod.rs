//! Models: discover `sql/**/*.sql`, parse each header, render the template,
//! infer dependencies, order the DAG and apply selections.
//!
//! Takes the project's `sql/` folder and a [`TemplateContext`]; hands on a
//! [`Dag`] of [`Model`]s in dependency order, each with its rendered SQL and
//! the models and sources it reads. Every error names `file:line:col`.
//!
//! - [`discover`]: find the `.sql` files, one model per file
//! - [`header`]: the YAML header (materialization, columns, data tests)
//! - [`template`]: the minijinja context and calendar helpers
//! - [`parse`]: one query per file, the tables it reads
//! - [`dag`]: dependency order and cycles
//! - [`select`]: `--select` / `--exclude` selectors
//!
//! How to write a model: docs/models.md.

pub mod dag;
pub mod discover;
pub mod header;
pub mod parse;
pub mod select;
pub mod template;

#[cfg(test)]
mod tests;

pub use crate::names::{suggest, valid_name};
pub use dag::Dag;
pub use discover::discover_models;
pub use header::{
    DataTest, LateDays, Materialization, ModelHeader, RewritesDays, Severity, TestKind,
    parse_header, parse_test,
};
pub use parse::table_references;
pub use template::{RunContext, TemplateContext, render};

/// The tables every project has besides its models.
pub const SOURCES: [&str; 3] = ["events", "users", "deletions"];

/// What is wrong with a model or the DAG. All of these exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The models folder or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File or folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Something is wrong at a place in a model file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        /// File, relative to the project.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// Two files define the same model name.
    #[error(
        "{second}: model {name:?} is already defined by {first}; model names (file stems) must be unique"
    )]
    Duplicate {
        /// The name.
        name: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A selector is malformed or names no model.
    #[error("selector {selector:?}: {message}")]
    Selector {
        /// The selector as given.
        selector: String,
        /// What is wrong.
        message: String,
    },
    /// `run.ds` / `--ds` is not a day.
    #[error("{0}")]
    Ds(String),
}

/// A model file.
#[derive(Debug, Clone)]
pub struct Model {
    /// Output table name (the file stem).
    pub name: String,
    /// The file, relative to the project directory (for messages).
    pub file: String,
    /// The file's text (header included, so rendered line numbers match).
    pub text: String,
    /// The parsed header.
    pub header: ModelHeader,
    /// Rendered SQL for the current context.
    pub sql: String,
    /// Models this one reads.
    pub deps: Vec<String>,
    /// Sources this one reads.
    pub sources: Vec<String>,
}

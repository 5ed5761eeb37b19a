//! Observers of a run: what else happens while models run — a progress bar,
//! OpenLineage events, `lineage.json` — without the engine knowing those
//! modules. The engine calls every observer at the four points of a run;
//! observers never change what runs and never fail it.

use crate::models::Model;
use crate::runlog::{ModelRun, RunRecord};

pub use futures::future::BoxFuture;

/// What an observer learns when a run starts.
#[derive(Debug, Clone, Copy)]
pub struct RunStart<'a> {
    /// The run id.
    pub run_id: &'a str,
    /// The run day.
    pub ds: chrono::NaiveDate,
    /// How many models the run will run, skip or fail.
    pub models: usize,
}

/// Called by the engine at the start and end of a run and of each model.
/// Every method has a default that does nothing; implementations override
/// what they need. Methods return boxed futures so observers can be kept as
/// `Arc<dyn RunObserver>`.
pub trait RunObserver: Send + Sync {
    /// The run has planned and is about to start its first model.
    fn run_started<'a>(&'a self, _run: RunStart<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// `model` starts executing.
    fn model_started<'a>(&'a self, _run_id: &'a str, _model: &'a Model) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// `model` ended: ran, failed, or was skipped or failed without
    /// starting (see `result.status`).
    fn model_finished<'a>(
        &'a self,
        _run_id: &'a str,
        _model: &'a Model,
        _result: &'a ModelRun,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// The run ended; `record` is final.
    fn run_finished<'a>(&'a self, _record: &'a RunRecord) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

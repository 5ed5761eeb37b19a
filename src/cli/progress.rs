//! The progress bar of a run on a terminal: a [`RunObserver`] that counts
//! models as they end and shows the one that started last.

use std::sync::Mutex;

use crate::engine::observer::{BoxFuture, RunObserver, RunStart};
use crate::models::Model;
use crate::runlog::{ModelRun, RunRecord};

/// An indicatif bar on stderr, one step per model of the run.
#[derive(Debug, Default)]
pub struct ProgressBar {
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl ProgressBar {
    fn with_bar(&self, f: impl FnOnce(&indicatif::ProgressBar)) {
        if let Ok(guard) = self.bar.lock()
            && let Some(bar) = guard.as_ref()
        {
            f(bar);
        }
    }
}

impl RunObserver for ProgressBar {
    fn run_started<'a>(&'a self, run: RunStart<'a>) -> BoxFuture<'a, ()> {
        let bar = indicatif::ProgressBar::new(run.models as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .expect("valid template"),
        );
        if let Ok(mut guard) = self.bar.lock() {
            *guard = Some(bar);
        }
        Box::pin(async {})
    }

    fn model_started<'a>(&'a self, _run_id: &'a str, model: &'a Model) -> BoxFuture<'a, ()> {
        self.with_bar(|b| b.set_message(model.name.clone()));
        Box::pin(async {})
    }

    fn model_finished<'a>(
        &'a self,
        _run_id: &'a str,
        _model: &'a Model,
        _result: &'a ModelRun,
    ) -> BoxFuture<'a, ()> {
        self.with_bar(|b| b.inc(1));
        Box::pin(async {})
    }

    fn run_finished<'a>(&'a self, _record: &'a RunRecord) -> BoxFuture<'a, ()> {
        if let Ok(mut guard) = self.bar.lock()
            && let Some(bar) = guard.take()
        {
            bar.finish_and_clear();
        }
        Box::pin(async {})
    }
}

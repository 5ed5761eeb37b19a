//! The scheduler of one run, as a pure state machine: which models can
//! start, which must be skipped because an upstream model did not succeed,
//! and when the run is over. It does no I/O, so every rule is unit-tested
//! below; the engine drives it and runs the models.
//!
//! Rules:
//! - a model starts once every upstream model *in the run* has succeeded,
//!   and at most `capacity` models run at once;
//! - a model whose upstream model failed or was skipped is skipped, and so
//!   is its downstream in turn — the rest of the run goes on;
//! - models are considered in DAG order, so among ready models the one
//!   earlier in the order starts first.

use std::collections::{BTreeSet, HashMap};

use crate::runlog::Status;

/// What the engine is to do next with a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it (the schedule now counts it as running).
    Start(String),
    /// Do not run it: `upstream` failed or was skipped (the schedule now
    /// counts it as skipped).
    Skip {
        /// The model.
        model: String,
        /// The upstream model that did not succeed.
        upstream: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done(Status),
}

/// The models of a run with their upstream models in the run.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// In DAG order: name and the upstream models that are in the run.
    order: Vec<(String, Vec<String>)>,
    state: HashMap<String, State>,
}

impl Schedule {
    /// A schedule of `models` (name and upstream models, in DAG order);
    /// upstream models outside the run are not waited for.
    pub fn new<'a>(models: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let models: Vec<(&str, &[String])> = models.into_iter().collect();
        let in_run: BTreeSet<&str> = models.iter().map(|(n, _)| *n).collect();
        let order: Vec<(String, Vec<String>)> = models
            .iter()
            .map(|(name, deps)| {
                let deps = deps
                    .iter()
                    .filter(|d| in_run.contains(d.as_str()))
                    .cloned()
                    .collect();
                (name.to_string(), deps)
            })
            .collect();
        let state = order
            .iter()
            .map(|(n, _)| (n.clone(), State::Waiting))
            .collect();
        Self { order, state }
    }

    /// The next decisions, given that `capacity` more models may start
    /// now: every model that must be skipped, and up to `capacity` models
    /// that are ready, in DAG order. Empty when nothing can happen until a
    /// running model finishes.
    pub fn next(&mut self, capacity: usize) -> Vec<Decision> {
        let mut out = Vec::new();
        let mut started = 0;
        // A skip can make a later model skippable: go round until nothing changes.
        let mut changed = true;
        while changed {
            changed = false;
            for (name, deps) in &self.order {
                if self.state[name] != State::Waiting {
                    continue;
                }
                if let Some(bad) = deps.iter().find(|d| {
                    matches!(
                        self.state[d.as_str()],
                        State::Done(Status::Failed | Status::Skipped)
                    )
                }) {
                    out.push(Decision::Skip {
                        model: name.clone(),
                        upstream: bad.clone(),
                    });
                    self.state
                        .insert(name.clone(), State::Done(Status::Skipped));
                    changed = true;
                    continue;
                }
                let ready = deps
                    .iter()
                    .all(|d| self.state[d.as_str()] == State::Done(Status::Success));
                if ready && started < capacity {
                    out.push(Decision::Start(name.clone()));
                    self.state.insert(name.clone(), State::Running);
                    started += 1;
                }
            }
        }
        out
    }

    /// Records how a started model ended (`Success` or `Failed`).
    pub fn finish(&mut self, name: &str, status: Status) {
        if let Some(s) = self.state.get_mut(name) {
            *s = State::Done(status);
        }
    }

    /// How many models are running.
    pub fn running(&self) -> usize {
        self.state
            .values()
            .filter(|s| **s == State::Running)
            .count()
    }

    /// Whether every model has ended (succeeded, failed or been skipped).
    pub fn is_done(&self) -> bool {
        self.state.values().all(|s| matches!(s, State::Done(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a → b → d, a → c; e stands alone.
    fn diamond() -> Vec<(&'static str, Vec<String>)> {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            ("a", v(&[])),
            ("b", v(&["a"])),
            ("c", v(&["a"])),
            ("d", v(&["b", "outside"])),
            ("e", v(&[])),
        ]
    }

    fn schedule(models: &[(&'static str, Vec<String>)]) -> Schedule {
        Schedule::new(models.iter().map(|(n, d)| (*n, d.as_slice())))
    }

    fn start(n: &str) -> Decision {
        Decision::Start(n.into())
    }

    #[test]
    fn starts_ready_models_in_order_up_to_capacity() {
        let m = diamond();
        let mut s = schedule(&m);
        // a and e are ready; capacity 1 starts only the first in DAG order
        assert_eq!(s.next(1), vec![start("a")]);
        assert_eq!(s.next(0), vec![]);
        assert_eq!(s.next(1), vec![start("e")]);
        assert_eq!(s.running(), 2);
        s.finish("a", Status::Success);
        // b and c wait on a only; d waits on b (its model outside the run is not waited for)
        assert_eq!(s.next(5), vec![start("b"), start("c")]);
        s.finish("b", Status::Success);
        assert_eq!(s.next(5), vec![start("d")]);
        for n in ["c", "d", "e"] {
            s.finish(n, Status::Success);
        }
        assert!(s.is_done());
        assert_eq!(s.next(5), vec![]);
    }

    #[test]
    fn a_failure_skips_its_downstream_transitively_and_the_rest_runs() {
        let m = diamond();
        let mut s = schedule(&m);
        assert_eq!(s.next(2), vec![start("a"), start("e")]);
        s.finish("a", Status::Failed);
        let d = s.next(2);
        assert_eq!(
            d,
            vec![
                Decision::Skip {
                    model: "b".into(),
                    upstream: "a".into()
                },
                Decision::Skip {
                    model: "c".into(),
                    upstream: "a".into()
                },
                // d is skipped in the same call, for b
                Decision::Skip {
                    model: "d".into(),
                    upstream: "b".into()
                },
            ]
        );
        assert!(!s.is_done(), "e still runs");
        s.finish("e", Status::Success);
        assert!(s.is_done());
    }

    #[test]
    fn skips_do_not_use_capacity() {
        let m = diamond();
        let mut s = schedule(&m);
        assert_eq!(s.next(1), vec![start("a")]);
        s.finish("a", Status::Failed);
        // capacity 1: three skips and the one start of e
        let d = s.next(1);
        assert_eq!(d.len(), 4, "{d:?}");
        assert_eq!(d.last(), Some(&start("e")));
    }

    #[test]
    fn a_model_failed_before_it_ran_counts_as_failed_for_its_downstream() {
        // The engine fails a started model at once when an upstream model
        // outside the run has no committed output.
        let m = diamond();
        let mut s = schedule(&m);
        s.next(5);
        s.finish("a", Status::Success);
        assert_eq!(s.next(5), vec![start("b"), start("c")]);
        s.finish("b", Status::Failed);
        assert_eq!(
            s.next(5),
            vec![Decision::Skip {
                model: "d".into(),
                upstream: "b".into()
            }]
        );
    }
}

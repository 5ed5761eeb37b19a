//! `shoal doctor`: checks a project end to end without running it —
//! config, models, storage credentials and reachability of every source and
//! the output, and the events schema — and says what to fix.
//!
//! Takes the config path and project directory, hands back a list of
//! [`Check`]s (one line each) and the exit status of the first failure
//! (docs/cli.md#exit-codes: 2 config or model, 3 source, 4 output; the lowest wins).

use std::path::Path;

use chrono::NaiveDate;
use futures::StreamExt;

use crate::ExitStatus;
use crate::catalog::{self, Location};
use crate::engine;
use crate::project::Project;

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked, e.g. `config`, `models`, `source events`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do about a failure (empty when it passed).
    pub fix: String,
    /// The exit status a failure of this check maps to.
    pub status: ExitStatus,
}

impl Check {
    fn pass(name: &str, detail: String) -> Self {
        Check {
            name: name.into(),
            ok: true,
            detail,
            fix: String::new(),
            status: ExitStatus::Success,
        }
    }

    fn fail(name: &str, detail: String, fix: &str, status: ExitStatus) -> Self {
        Check {
            name: name.into(),
            ok: false,
            detail,
            fix: fix.into(),
            status,
        }
    }
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// 0 when everything passed, else the most fundamental failure's status:
    /// config or model (2) before source (3) before output (4).
    pub fn status(&self) -> ExitStatus {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.status)
            .min_by_key(|s| *s as u8)
            .unwrap_or(ExitStatus::Success)
    }

    /// One screen of text: a ✓/✗ line per check, the fix under each failure.
    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!(
                "{} {:<width$}  {}\n",
                if c.ok { "✓" } else { "✗" },
                c.name,
                c.detail
            ));
            if !c.ok && !c.fix.is_empty() {
                out.push_str(&format!("  {:<width$}  → {}\n", "", c.fix));
            }
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        if failed == 0 {
            out.push_str(&format!("all {} checks passed\n", self.checks.len()));
        } else {
            out.push_str(&format!(
                "{failed} of {} checks failed (exit {})\n",
                self.checks.len(),
                self.status() as u8
            ));
        }
        out
    }
}

/// Runs the checks. Reads the config, the model files, listings and one
/// Parquet footer per events file of the newest partition; writes nothing.
pub async fn diagnose(config: &Path, project_dir: &Path, overrides: &[String]) -> Report {
    let mut r = Report::default();
    let project = match Project::open(config, project_dir, overrides) {
        Ok(p) => {
            r.checks.push(Check::pass(
                "config",
                format!(
                    "{} parses and validates (project {})",
                    config.display(),
                    p.config().project
                ),
            ));
            p
        }
        Err(e) => {
            let status = e.exit_status();
            let (name, fix) = match &e {
                crate::Error::Model(_) => (
                    "models",
                    "fix the model file named above, then run shoal doctor again",
                ),
                _ => (
                    "config",
                    "fix the file and key named above (shoal init DIR writes a working example)",
                ),
            };
            r.checks.push(Check::fail(name, e.to_string(), fix, status));
            return r;
        }
    };

    // events: reachable, partitioned, schema
    let events_ok = check_events(&project, &mut r).await;
    check_side_sources(&project, &mut r).await;

    // models: render, resolve and plan against the source schemas
    let ds = match events_ok {
        Some(day) => day,
        None => chrono::Utc::now().date_naive(),
    };
    match engine::validate(&project, ds).await {
        Ok(dag) => r.checks.push(Check::pass(
            "models",
            format!(
                "{} models parse, resolve and plan (ds {ds})",
                dag.models.len()
            ),
        )),
        Err(e) => {
            let status = e.exit_status();
            let fix = if status == ExitStatus::Usage {
                "fix the SQL at the file:line:col above; shoal compile MODEL shows the rendered SQL"
            } else {
                "fix the source named above; the models are planned against it"
            };
            r.checks
                .push(Check::fail("models", e.to_string(), fix, status));
        }
    }

    // output: reachable (list one object)
    let out = &project.output;
    let mut listing = out.store.list(Some(&out.root.prefix()));
    match listing.next().await.transpose() {
        Ok(first) => r.checks.push(Check::pass(
            "output",
            format!(
                "{} reachable ({})",
                out.root,
                if first.is_some() {
                    "has objects"
                } else {
                    "empty: the first run creates it"
                }
            ),
        )),
        Err(e) => r.checks.push(Check::fail(
            "output",
            format!("{}: {e}", out.root),
            "check output.location and the storage credentials (storage: in config, or AWS_*/GOOGLE_*/AZURE_* in the environment)",
            ExitStatus::Output,
        )),
    }
    r
}

/// Lists the events partitions and checks the newest one's files against
/// the events schema; returns the newest day when both pass.
async fn check_events(project: &Project, r: &mut Report) -> Option<NaiveDate> {
    let loc = &project.events;
    let store = match project.stores.store_for(loc) {
        Ok(s) => s,
        Err(e) => {
            r.checks.push(Check::fail(
                "source events",
                e.to_string(),
                "check sources.events.location and the storage: section",
                ExitStatus::Usage,
            ));
            return None;
        }
    };
    let parts = match catalog::list_partitions(store.as_ref(), loc).await {
        Ok(p) => p,
        Err(e) => {
            r.checks.push(Check::fail(
                "source events",
                e.to_string(),
                "check the storage credentials and that the location exists",
                ExitStatus::Input,
            ));
            return None;
        }
    };
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        r.checks.push(Check::fail(
            "source events",
            format!("{loc}: no dt=YYYY-MM-DD partitions"),
            "check sources.events.location (a path relative to the project, or a URL) or load a day of events; shoal generate --out data writes sample data",
            ExitStatus::Input,
        ));
        return None;
    };
    r.checks.push(Check::pass(
        "source events",
        format!(
            "{loc}: {} partitions, {} to {}",
            parts.len(),
            first.day,
            last.day
        ),
    ));
    let files = match catalog::list_files(store.as_ref(), loc, &last.prefix).await {
        Ok(f) => f,
        Err(e) => {
            r.checks.push(Check::fail(
                "events schema",
                e.to_string(),
                "check the storage credentials",
                ExitStatus::Input,
            ));
            return None;
        }
    };
    let state = match engine::session::planning_session(project) {
        Ok(ctx) => ctx.state(),
        Err(e) => {
            r.checks.push(Check::fail(
                "events schema",
                e.to_string(),
                "check the storage options",
                e.exit_status(),
            ));
            return None;
        }
    };
    match catalog::check_parquet_schemas(&state, store, loc, &files, &catalog::events_schema(), &[])
        .await
    {
        Ok(()) if files.is_empty() => {
            r.checks.push(Check::fail(
                "events schema",
                format!("{loc}dt={}/: no data files", last.day),
                "load the partition's Parquet files or remove the empty directory",
                ExitStatus::Input,
            ));
            None
        }
        Ok(()) => {
            r.checks.push(Check::pass(
                "events schema",
                format!(
                    "dt={}: {} file(s) match the events schema (docs/events.md#events)",
                    last.day,
                    files.len()
                ),
            ));
            Some(last.day)
        }
        Err(e) => {
            r.checks.push(Check::fail(
                "events schema",
                e.to_string(),
                "rewrite the file with the columns and types of the events schema (docs/events.md#events)",
                ExitStatus::Input,
            ));
            None
        }
    }
}

/// `users` and `deletions`: reachable when configured; absent is fine when optional.
async fn check_side_sources(project: &Project, r: &mut Report) {
    let s = &project.config().sources;
    for (name, src) in [("users", &s.users), ("deletions", &s.deletions)] {
        let label = format!("source {name}");
        let Some(src) = src else {
            r.checks
                .push(Check::pass(&label, "not configured (optional)".into()));
            continue;
        };
        let loc = match Location::parse(&src.location, &project.loaded.project_dir) {
            Ok(l) => l,
            Err(e) => {
                r.checks.push(Check::fail(
                    &label,
                    e.to_string(),
                    "fix the location",
                    ExitStatus::Usage,
                ));
                continue;
            }
        };
        let listed = match project.stores.store_for(&loc) {
            Ok(store) => catalog::list_files(store.as_ref(), &loc, &loc.prefix()).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(files) if files.is_empty() && src.optional => r.checks.push(Check::pass(
                &label,
                format!("{loc}: no files (optional: read as empty)"),
            )),
            Ok(files) if files.is_empty() => r.checks.push(Check::fail(
                &label,
                format!("{loc}: no files"),
                "load the files, or set optional: true for this source",
                ExitStatus::Input,
            )),
            Ok(files) => r.checks.push(Check::pass(
                &label,
                format!("{loc}: {} file(s)", files.len()),
            )),
            Err(e) => r.checks.push(Check::fail(
                &label,
                e.to_string(),
                "check the storage credentials and the location",
                ExitStatus::Input,
            )),
        }
    }
}

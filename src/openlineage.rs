//! OpenLineage run events (spec 2-0-2): a START when a model starts, a
//! COMPLETE or FAIL when it ends, each naming the model's input datasets
//! (upstream models and sources) and its output dataset.
//!
//! Takes `lineage.openlineage` from config (a JSON-lines `file` or an HTTP
//! `url`) and the run's models; hands the events to the target. Emitting
//! never fails a run: a target that cannot be written is a warning. The
//! [`Emitter`] is a [`RunObserver`]: the engine calls it, not the reverse.

use std::io::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::catalog::Location;
use crate::config::OpenLineageConfig;
use crate::engine::observer::{BoxFuture, RunObserver};
use crate::models::Model;
use crate::project::Project;
use crate::runlog::{ModelRun, Status};

/// The JSON schema every event declares.
pub const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/// Where events go.
#[derive(Debug, Clone)]
enum Target {
    File(PathBuf),
    Http(String, reqwest::Client),
}

/// Emits the events of one run.
#[derive(Debug, Clone)]
pub struct Emitter {
    target: Target,
    namespace: String,
    producer: String,
    output: Location,
    sources: Vec<(&'static str, Location)>,
}

/// A dataset as OpenLineage names it: `scheme://authority` and the path
/// (`file:///srv/w/user_daily` → `file://`, `/srv/w/user_daily`;
/// `s3://bucket/w/user_daily` → `s3://bucket`, `w/user_daily`).
pub fn dataset(location: &Location) -> Value {
    let url = location.url();
    let namespace = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    let path = url.path().trim_end_matches('/');
    let name = if url.scheme() == "file" {
        path.to_string()
    } else {
        path.trim_start_matches('/').to_string()
    };
    json!({ "namespace": namespace, "name": name })
}

/// A stable UUID for one model in one run (sha256 of both, version 4 layout
/// bits set), so START and COMPLETE of a model share a runId.
pub fn run_uuid(run_id: &str, model: &str) -> String {
    let h = Sha256::digest(format!("{run_id}/{model}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Emitter {
    /// The emitter of `project`'s config, if `lineage.openlineage` is set.
    pub fn from_project(project: &Project) -> Option<Self> {
        let cfg: &OpenLineageConfig = project.config().lineage.openlineage.as_ref()?;
        let target = match (&cfg.file, &cfg.url) {
            (Some(f), _) => Target::File(project.loaded.project_dir.join(f)),
            (None, Some(u)) => Target::Http(u.clone(), reqwest::Client::new()),
            (None, None) => return None,
        };
        // Locations were checked when the config loaded.
        let sources = project.source_locations().ok()?;
        Some(Emitter {
            target,
            namespace: cfg
                .namespace
                .clone()
                .unwrap_or_else(|| project.config().project.clone()),
            producer: cfg.producer.clone(),
            output: project.output.root.clone(),
            sources,
        })
    }

    /// The RunEvent for `model` (`eventType` START, COMPLETE or FAIL).
    pub fn event(
        &self,
        run_id: &str,
        event_type: &str,
        model: &Model,
        result: Option<&ModelRun>,
    ) -> Value {
        let mut inputs: Vec<Value> = model
            .deps
            .iter()
            .map(|d| dataset(&self.output.join(d)))
            .collect();
        for s in &model.sources {
            if let Some((_, loc)) = self.sources.iter().find(|(n, _)| *n == s.as_str()) {
                inputs.push(dataset(loc));
            }
        }
        // Views and temp models are named as datasets under the output too,
        // though nothing is written there: the graph stays connected.
        let mut outputs = vec![];
        {
            let mut out = dataset(&self.output.join(&model.name));
            if let Some(r) = result.filter(|_| event_type == "COMPLETE") {
                out["outputFacets"] = json!({
                    "outputStatistics": {
                        "_producer": self.producer,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
                        "rowCount": r.rows.unwrap_or(0),
                        "size": r.bytes.unwrap_or(0),
                    }
                });
            }
            outputs.push(out);
        }
        let mut run = json!({ "runId": run_uuid(run_id, &model.name) });
        if let Some(msg) = result
            .and_then(|r| r.error.as_deref())
            .filter(|_| event_type == "FAIL")
        {
            run["facets"] = json!({
                "errorMessage": {
                    "_producer": self.producer,
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                    "message": msg,
                    "programmingLanguage": "SQL",
                }
            });
        }
        json!({
            "eventType": event_type,
            "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "run": run,
            "job": {
                "namespace": self.namespace,
                "name": model.name,
                "facets": {
                    "sql": {
                        "_producer": self.producer,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
                        "query": model.sql,
                    }
                }
            },
            "inputs": inputs,
            "outputs": outputs,
            "producer": self.producer,
            "schemaURL": SCHEMA_URL,
        })
    }

    /// Sends one event; a failure is logged, never returned.
    pub async fn emit(
        &self,
        run_id: &str,
        event_type: &str,
        model: &Model,
        result: Option<&ModelRun>,
    ) {
        let event = self.event(run_id, event_type, model, result);
        let line = serde_json::to_string(&event).expect("event serialises");
        let outcome: Result<(), String> = match &self.target {
            Target::File(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()))
                .map_err(|e| format!("{}: {e}", path.display())),
            Target::Http(url, client) => match client
                .post(url)
                .header("content-type", "application/json")
                .timeout(std::time::Duration::from_secs(10))
                .body(line)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("{url}: HTTP {}", r.status())),
                Err(e) => Err(format!("{url}: {e}")),
            },
        };
        if let Err(e) = outcome {
            tracing::warn!(model = %model.name, "cannot emit the OpenLineage {event_type} event: {e}");
        }
    }
}

/// START when a model starts; COMPLETE or FAIL when it ends (a model
/// skipped for its upstream emits nothing, a model failed before it started
/// emits FAIL alone).
impl RunObserver for Emitter {
    fn model_started<'a>(&'a self, run_id: &'a str, model: &'a Model) -> BoxFuture<'a, ()> {
        Box::pin(self.emit(run_id, "START", model, None))
    }

    fn model_finished<'a>(
        &'a self,
        run_id: &'a str,
        model: &'a Model,
        result: &'a ModelRun,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match result.status {
                Status::Success => self.emit(run_id, "COMPLETE", model, Some(result)).await,
                Status::Failed => self.emit(run_id, "FAIL", model, Some(result)).await,
                Status::Skipped => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_uuids_stable_per_model() {
        let a = run_uuid("20261122T000000Z-abc", "user_daily");
        assert_eq!(a, run_uuid("20261122T000000Z-abc", "user_daily"));
        assert_ne!(a, run_uuid("20261122T000000Z-abc", "dq_daily"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn datasets_follow_the_naming_spec() {
        let dir = std::path::Path::new("/");
        let s3 = Location::parse("s3://bucket/w/user_daily", dir).unwrap();
        assert_eq!(
            dataset(&s3),
            json!({"namespace": "s3://bucket", "name": "w/user_daily"})
        );
        let f = Location::parse("/srv/w/user_daily", dir).unwrap();
        assert_eq!(
            dataset(&f),
            json!({"namespace": "file://", "name": "/srv/w/user_daily"})
        );
    }
}

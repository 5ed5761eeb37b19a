//! Shared helpers: temp projects, event fixtures, running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::SessionContext;

/// One event row of a fixture. Times are `YYYY-MM-DD HH:MM:SS` UTC.
#[derive(Debug, Clone, Default)]
pub struct Ev {
    pub id: Option<&'static str>,
    pub time: Option<&'static str>,
    pub user: Option<&'static str>,
    pub community: Option<&'static str>,
    pub kind: Option<&'static str>,
    pub content: Option<&'static str>,
    pub session: Option<&'static str>,
    pub amount: Option<f64>,
    pub order: Option<&'static str>,
    pub referrer: Option<&'static str>,
    pub channel: Option<&'static str>,
    pub properties: Option<&'static str>,
}

/// A plain event: id, time, user, type.
pub fn ev(id: &'static str, time: &'static str, user: &'static str, kind: &'static str) -> Ev {
    Ev {
        id: Some(id),
        time: Some(time),
        user: Some(user),
        kind: Some(kind),
        community: Some("c1"),
        ..Default::default()
    }
}

fn micros(t: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("bad fixture time {t:?}: {e}"))
        .and_utc()
        .timestamp_micros()
}

pub fn events_schema() -> Arc<Schema> {
    shoal::catalog::events_schema()
}

pub fn events_batch(rows: &[Ev]) -> RecordBatch {
    let strs = |f: fn(&Ev) -> Option<&'static str>| {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        events_schema(),
        vec![
            strs(|e| e.id),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter().map(|e| e.time.map(micros)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            strs(|e| e.user),
            strs(|e| e.community),
            strs(|e| e.kind),
            strs(|e| e.content),
            strs(|e| e.session),
            Arc::new(Float64Array::from(
                rows.iter().map(|e| e.amount).collect::<Vec<_>>(),
            )),
            strs(|e| e.order),
            strs(|e| e.referrer),
            strs(|e| e.channel),
            strs(|e| e.properties),
        ],
    )
    .expect("fixture batch")
}

pub fn write_parquet(path: &Path, batch: &RecordBatch) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// A temporary project: config, sql/ and data/ in a temp dir.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

pub const CONFIG: &str = concat!(
    "project: test\n\
sources:\n  events: { location: data/events, partitioning: hive_dt }\n  users: { location: data/users, optional: true }\n  deletions: { location: data/deletions, optional: true }\n\
output: { location: warehouse }\n\
run: { ds: latest, late_days: 3, memory_limit: 1GiB, concurrency: 2 }\n",
    // the model pack's funnels and segments (same keys as config/shoal.yaml)
    r#"funnels:
  - { name: purchase, steps: [exposure, click, add_to_cart, purchase], window: 7d, mode: [] }
  - { name: referral, steps: [invite, join, purchase], window: 7d, mode: [], match_by: invitee }
segments:
  activity_layer:
    - { name: high_active, when: "active_days_7 >= 3" }
    - { name: churn_warning, when: "recency_days between 7 and 29 and active_days_prev_30 >= 4" }
    - { name: silent, when: "recency_days >= 14" }
    - { name: normal, when: "true" }
  rfm_map:
    - { name: Champions,          r: [4, 5], fm: [4, 5] }
    - { name: Loyal,              r: [3, 5], fm: [3, 5] }
    - { name: Potential Loyalist, r: [4, 5], fm: [2, 3] }
    - { name: New Customers,      r: [5, 5], fm: [1, 2] }
    - { name: Promising,          r: [4, 4], fm: [1, 2] }
    - { name: Need Attention,     r: [3, 3], fm: [2, 3] }
    - { name: About To Sleep,     r: [3, 3], fm: [1, 2] }
    - { name: Cannot Lose Them,   r: [1, 2], fm: [4.5, 5] }
    - { name: At Risk,            r: [1, 2], fm: [3, 5] }
    - { name: Hibernating,        r: [2, 2], fm: [1, 3] }
    - { name: Lost,               r: [1, 1], fm: [1, 3] }
  recommended_action:
    high_active: VIP early access / KOL collaboration
    churn_warning: 1:1 service outreach + exclusive offer
    silent: personalised push + coupon + activity recall
    normal: regular content push
"#,
    // vars last: tests append their own `  name: value` lines to it
    "vars:\n  event_types: [exposure, view, click, like, comment, share, message, join, quit, checkin, activity_join, signup, add_to_cart, purchase, invite, nps]\n",
    r#"  core_actions: [click, like, comment, share, checkin, activity_join, add_to_cart, purchase]
  retention_days: [1, 3, 7, 14, 30, 60, 90]
  repurchase_windows: [30, 90]
  uvi: { w_like: 0.3, w_comment: 0.4, w_share: 0.3, exp_r7: 0.3, exp_r30: 0.4, exp_r90: 0.3, exp_outer: 0.3333333333333333, tier_high: 80, tier_medium: 50 }
  health:
    - { indicator: member_growth, target: 0.02, direction: ">=", action: grow }
    - { indicator: quit_rate, target: 0.02, direction: "<=", action: keep }
    - { indicator: stickiness, target: 0.20, direction: ">=", action: habit }
    - { indicator: activity_rate, target: 0.30, direction: ">=", action: wake }
    - { indicator: messages_per_active_member, target: 3.0, direction: ">=", action: talk }
    - { indicator: interaction_rate, target: 0.15, direction: ">=", action: engage }
    - { indicator: nps, target: 30, direction: ">=", action: "listen, don't sell" }
    - { indicator: arpu, target: 5.0, direction: ">=", action: sell }
    - { indicator: activity_conversion, target: 0.20, direction: ">=", action: events }
    - { indicator: bounce_rate, target: 0.12, direction: "<=", action: onboard }
  kpi_targets:
    interaction_rate: { target: 0.15, direction: ">=" }
    retention_7d: { target: 0.30, direction: ">=" }
    purchase_conversion: { target: 0.05, direction: ">=" }
    bounce_rate: { target: 0.12, direction: "<=" }
    active_user_growth: { target: 0.0, direction: ">=" }
    stickiness: { target: 0.20, direction: ">=" }
"#
);

impl TempProject {
    /// An empty project with the standard config and no models.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::create_dir_all(dir.path().join("sql")).unwrap();
        std::fs::write(dir.path().join("config/shoal.yaml"), CONFIG).unwrap();
        Self { dir }
    }

    /// A project with the repository's own sql/ folder.
    pub fn with_repo_models() -> Self {
        let p = Self::new();
        copy_dir(&repo_root().join("sql"), &p.path().join("sql"));
        p
    }

    /// A project with the repository's own sql/ folder and config/shoal.yaml.
    pub fn with_repo_project() -> Self {
        let p = Self::with_repo_models();
        std::fs::copy(
            repo_root().join("config/shoal.yaml"),
            p.path().join("config/shoal.yaml"),
        )
        .unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// `shoal generate --out data ARGS…` in the project (events/ and users/
    /// under `data/`, where the config's sources point); must succeed.
    pub fn generate(&self, args: &[&str]) {
        let data = self.path().join("data");
        let mut all = vec!["generate", "--out", data.to_str().unwrap()];
        all.extend_from_slice(args);
        self.shoal(&all).expect_code(0);
    }

    /// Writes events into `data/events/dt=DAY/NAME.parquet`.
    pub fn events(&self, day: &str, name: &str, rows: &[Ev]) {
        let p = self
            .path()
            .join(format!("data/events/dt={day}/{name}.parquet"));
        write_parquet(&p, &events_batch(rows));
    }

    /// Runs the binary in the project; prints everything on failure of an expectation.
    pub fn shoal(&self, args: &[&str]) -> Run {
        self.shoal_env(args, &[])
    }

    /// [`Self::shoal`] with extra environment variables (the inherited
    /// `SHOAL_*` ones are removed first, see [`shoal_command`]).
    pub fn shoal_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = shoal_command()
            .envs(env.iter().copied())
            .args(args)
            .arg("--project-dir")
            .arg(self.path())
            .arg("--log-format")
            .arg("text")
            .output()
            .expect("run shoal");
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            out,
            dir: self.path().to_path_buf(),
        }
    }

    /// The rows of one `dt` partition of a daily table ([`Self::table`]).
    pub fn table_on(&self, model: &str, day: &str, order_by: &str) -> Vec<String> {
        let cell = format!(" dt={day}");
        self.table(model, order_by)
            .into_iter()
            .filter(|r| r.ends_with(&cell) || r.contains(&format!("{cell} ")))
            .collect()
    }

    /// Rows of a committed output table as sorted text lines, read with DataFusion.
    pub fn table(&self, model: &str, order_by: &str) -> Vec<String> {
        query_dir(&self.path().join("warehouse").join(model), order_by)
    }

    /// The last run record, `warehouse/_shoal/latest.json`.
    pub fn latest(&self) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.path().join("warehouse/_shoal/latest.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Files (relative paths) under the output dir of a model.
    /// The data files a reader of `model` sees: for a Delta table the files
    /// its log adds and does not remove (replayed here from the JSON
    /// entries, not through shoal), else every file under its directory.
    pub fn files(&self, model: &str) -> Vec<String> {
        let root = self.path().join("warehouse").join(model);
        let log = root.join("_delta_log");
        if log.is_dir() {
            let mut entries: Vec<PathBuf> = walkdir(&log)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            entries.sort();
            let mut live = std::collections::BTreeSet::new();
            for entry in entries {
                for line in std::fs::read_to_string(&entry).unwrap().lines() {
                    let action: serde_json::Value = serde_json::from_str(line).unwrap();
                    if let Some(path) = action["add"]["path"].as_str() {
                        live.insert(path.to_string());
                    }
                    if let Some(path) = action["remove"]["path"].as_str() {
                        live.remove(path);
                    }
                }
            }
            return live.into_iter().collect();
        }
        let mut out = vec![];
        for e in walkdir(&root) {
            out.push(e.strip_prefix(&root).unwrap().display().to_string());
        }
        out.sort();
        out
    }
}

fn walkdir(p: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The entry of model `name` in a run record.
/// The shoal binary with none of the caller's `SHOAL_*` or `RUST_LOG`
/// variables: a stray `SHOAL_DS` or `SHOAL__RUN__…` in the environment of
/// `cargo test` must not change what a test sees.
pub fn shoal_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoal"));
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("SHOAL_")) {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

pub fn model_record<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no model {name} in the run record: {record}"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    for f in walkdir(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Registers the table at `dir` as `name`: a Delta table through delta-rs's
/// own table provider (not shoal's reader) at its newest version, a plain
/// Parquet directory with hive `dt` partitions if present.
pub async fn register_table_dir(ctx: &SessionContext, name: &str, dir: &Path) {
    if dir.join("_delta_log").is_dir() {
        let url = url::Url::from_directory_path(dir).unwrap();
        let table = deltalake_core::open_table(url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        table.update_datafusion_session(&ctx.state()).unwrap();
        let provider = table.table_provider().await.unwrap();
        ctx.register_table(name, provider).unwrap();
        return;
    }
    let hive = walkdir(dir)
        .iter()
        .any(|p| p.display().to_string().contains("dt="));
    let mut opts = datafusion::prelude::ParquetReadOptions::default();
    if hive {
        opts = opts.table_partition_cols(vec![("dt".to_string(), DataType::Date32)]);
    }
    ctx.register_parquet(name, format!("{}/", dir.display()), opts)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}

/// Reads a table directory ([`register_table_dir`]) and returns its rows as text.
pub fn query_dir(dir: &Path, order_by: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        register_table_dir(&ctx, "t", dir).await;
        let batches = ctx
            .sql(&format!("select * from t order by {order_by}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        batches_to_lines(&batches)
    })
}

pub fn batches_to_lines(batches: &[RecordBatch]) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = vec![];
    let opts = FormatOptions::default().with_null("NULL");
    for b in batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .schema()
                .fields()
                .iter()
                .zip(&fmts)
                .map(|(f, fm)| format!("{}={}", f.name(), fm.value(r)))
                .collect();
            out.push(cells.join(" "));
        }
    }
    out
}

/// A finished run of the binary.
pub struct Run {
    pub args: Vec<String>,
    pub out: Output,
    pub dir: PathBuf,
}

impl Run {
    /// The `error: …` lines of stderr: what the user reads when a command fails.
    pub fn error_lines(&self) -> String {
        let err = self.stderr();
        let mut out = Vec::new();
        let mut lines = err.lines().peekable();
        while let Some(l) = lines.next() {
            if l.starts_with("error: ") {
                out.push(l.to_string());
                // continuation lines of a multi-line message are indented
                while let Some(next) = lines.next_if(|n| n.starts_with(' ')) {
                    out.push(next.to_string());
                }
            }
        }
        out.join("\n")
    }

    /// Locks the error message of this run as the snapshot `name`
    /// (tests/it/snapshots/it__<name>.snap), with the project
    /// directory, run ids and process ids written as placeholders.
    /// A changed message fails; review it and accept the new text with
    /// `INSTA_UPDATE=always cargo test --release --test it`.
    #[track_caller]
    pub fn snapshot_error(&self, name: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        let dir = self.dir.to_string_lossy().into_owned();
        settings.add_filter(&regex::escape(&dir), "[PROJECT]");
        settings.add_filter(r"\d{8}T\d{6}Z-[0-9a-f]{8}", "[RUN_ID]");
        settings.add_filter(r#""pid":\d+"#, r#""pid":[PID]"#);
        settings.add_filter(r#""host":"[^"]*""#, r#""host":[HOST]"#);
        settings.add_filter(r"\(host \S+, pid \d+\)", "(host [HOST], pid [PID])");
        settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
        let text = self.error_lines();
        assert!(
            !text.is_empty(),
            "no error line in stderr:\n{}",
            self.stderr()
        );
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    /// Asserts the exit code, printing the command, directory listing and output otherwise.
    pub fn expect_code(&self, code: i32) -> &Self {
        if self.code() != code {
            let listing: Vec<String> = walkdir(&self.dir)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            panic!(
                "shoal {:?} exited {} (expected {code})\n--- files\n{}\n--- stdout\n{}\n--- stderr\n{}",
                self.args,
                self.code(),
                listing.join("\n"),
                self.stdout(),
                self.stderr()
            );
        }
        self
    }
}

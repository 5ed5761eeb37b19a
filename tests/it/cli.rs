//! The binary end to end: runs, reruns, failures, write–audit–publish,
//! retry, validate, configuration and input errors with their exit codes.

use crate::common::{Ev, TempProject, ev};

/// Three days of events for users u1..u3 (the run day is the latest, 2026-11-21).
pub(crate) fn three_days(p: &TempProject) {
    p.events(
        "2026-11-19",
        "a",
        &[
            ev("e1", "2026-11-19 10:00:00", "u1", "view"),
            ev("e2", "2026-11-19 11:00:00", "u2", "like"),
        ],
    );
    p.events(
        "2026-11-20",
        "a",
        &[
            ev("e3", "2026-11-20 09:00:00", "u1", "comment"),
            ev("e4", "2026-11-20 09:30:00", "u3", "view"),
        ],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            ev("e5", "2026-11-21 08:00:00", "u1", "view"),
            ev("e6", "2026-11-21 08:05:00", "u2", "purchase"),
            ev("e7", "2026-11-20 23:00:00", "u3", "share"),
        ],
    );
}

/// A small DAG: `a` (daily, counts events of ds), `b` (fails when var.fail is true),
/// `c` reads `b`, `d` reads `a`.
fn small_dag(p: &TempProject) {
    p.write(
        "config/shoal.yaml",
        &format!(
            "{}  fail: false\n  max_events: 100\n",
            crate::common::CONFIG
        ),
    );
    p.write(
        "sql/a.sql",
        "/*---\ntests:\n  - { expression: \"n <= {{ var.max_events }}\" }\n---*/\nselect date '{{ ds }}' as dt, count(*) as n\nfrom events\nwhere dt = date '{{ ds }}'\n",
    );
    p.write(
        "sql/b.sql",
        "select date '{{ ds }}' as dt, {% if var.fail %}cast('not a number' as int){% else %}1{% endif %} as x\n",
    );
    p.write(
        "sql/c.sql",
        "select dt, x + 1 as y from b where dt = date '{{ ds }}'\n",
    );
    p.write(
        "sql/d.sql",
        "/*---\nmaterialized: table\n---*/\nselect dt, n from a\n",
    );
}

#[test]
fn full_run_commits_every_model_and_writes_run_record() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["run"]).expect_code(0);
    // user_daily rewrites 2026-11-18..21; days with activity get a partition.
    let files = p.files("user_daily");
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.contains("/part-") && f.ends_with(".parquet")),
        "{files:?}"
    );
    assert!(p.path().join("warehouse/dq_daily/dt=2026-11-21").is_dir());
    let latest = p.latest();
    assert_eq!(latest["ds"], "2026-11-21");
    assert_eq!(latest["status"], "success");
    assert_eq!(latest["exit_code"], 0);
    let run_id = latest["run_id"].as_str().unwrap();
    assert!(
        p.path()
            .join(format!("warehouse/_shoal/runs/{run_id}.json"))
            .is_file()
    );
    let jsonl = std::fs::read_to_string(
        p.path()
            .join(format!("warehouse/_shoal/runs/{run_id}.jsonl")),
    )
    .unwrap();
    // header line + one line per model
    assert_eq!(
        jsonl.lines().count(),
        1 + latest["models"].as_array().unwrap().len()
    );
    let ud = crate::common::model_record(&latest, "user_daily");
    assert_eq!(ud["status"], "success");
    assert_eq!(
        ud["rows"], 6,
        "u1@19,u2@19,u1@20,u3@20,u1@21,u2@21 (e7 is late: u3@20)"
    );
    // no staging or lock left behind
    assert!(!p.path().join("warehouse/_shoal/lock").exists());
    let staging = p.path().join("warehouse/_shoal/staging");
    assert!(!staging.exists(), "staging is removed after the run");
}

#[test]
fn rerun_of_the_same_day_is_idempotent() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["run"]).expect_code(0);
    let first = p.table("user_daily", "dt, user_id");
    let files_first = p.files("user_daily");
    p.shoal(&["run"]).expect_code(0);
    assert_eq!(p.table("user_daily", "dt, user_id"), first);
    let files_second = p.files("user_daily");
    assert_eq!(
        files_second.len(),
        files_first.len(),
        "one copy per partition: {files_second:?}"
    );
    assert_ne!(files_second, files_first, "new files carry the new run id");
}

#[test]
fn failing_model_skips_its_downstream_and_commits_the_rest() {
    let p = TempProject::new();
    three_days(&p);
    small_dag(&p);
    let run = p.shoal(&["run", "--set", "vars.fail=true"]);
    run.expect_code(1);
    assert!(run.stderr().contains("failed b"), "{}", run.stderr());
    assert_eq!(p.table("a", "dt"), ["n=3 dt=2026-11-21"]);
    assert_eq!(p.table("d", "dt"), ["dt=2026-11-21 n=3"]);
    assert!(p.files("b").is_empty());
    assert!(p.files("c").is_empty());
    let latest = p.latest();
    let status = |n: &str| crate::common::model_record(&latest, n)["status"].clone();
    assert_eq!(status("a"), "success");
    assert_eq!(status("b"), "failed");
    assert_eq!(status("c"), "skipped");
    assert_eq!(status("d"), "success");
}

#[test]
fn failing_blocking_test_keeps_previous_partition_visible() {
    let p = TempProject::new();
    three_days(&p);
    small_dag(&p);
    p.shoal(&["run"]).expect_code(0);
    let before = p.table("a", "dt");
    let files_before = p.files("a");
    // n = 3 rows on 2026-11-21; a limit of 2 makes the audit fail.
    let run = p.shoal(&["run", "--set", "vars.max_events=2"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("data tests failed"),
        "{}",
        run.stderr()
    );
    assert_eq!(p.table("a", "dt"), before);
    assert_eq!(
        p.files("a"),
        files_before,
        "the previous partition is untouched"
    );
    let latest = p.latest();
    let d = crate::common::model_record(&latest, "d");
    assert_eq!(d["status"], "skipped");
}

#[test]
fn retry_reruns_only_failed_and_skipped_models_with_recorded_ds() {
    let p = TempProject::new();
    three_days(&p);
    small_dag(&p);
    p.shoal(&["run", "--ds", "2026-11-20", "--set", "vars.fail=true"])
        .expect_code(1);
    let run = p.shoal(&["retry"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("for ds 2026-11-20"),
        "{}",
        run.stderr()
    );
    let latest = p.latest();
    assert_eq!(latest["command"], "retry");
    assert_eq!(latest["ds"], "2026-11-20");
    let mut names: Vec<String> = latest["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(p.table("c", "dt"), ["y=2 dt=2026-11-20"]);
}

#[test]
fn validate_reports_file_line_and_column_of_a_broken_model() {
    let p = TempProject::new();
    three_days(&p);
    p.write(
        "sql/ok.sql",
        "select date '{{ ds }}' as dt, user_id from events\n",
    );
    p.write(
        "sql/broken.sql",
        "select dt,\n       user_idd\nfrom events\n",
    );
    let run = p.shoal(&["validate"]);
    run.expect_code(2);
    run.snapshot_error("validate_broken_model");
}

#[test]
fn unknown_table_and_syntax_errors_exit_2_with_position() {
    let p = TempProject::new();
    three_days(&p);
    p.write("sql/user_daily.sql", "select dt from events\n");
    p.write("sql/m.sql", "select *\nfrom user_dayly\n");
    let run = p.shoal(&["run"]);
    run.expect_code(2);
    run.snapshot_error("unknown_table");
    p.write("sql/m.sql", "select a\nfrom events wher x\n");
    let run = p.shoal(&["run"]);
    run.expect_code(2);
    run.snapshot_error("syntax_error");
}

#[test]
fn bad_config_names_the_key_and_line() {
    let p = TempProject::new();
    p.write(
        "config/shoal.yaml",
        "project: p\nsources:\n  events: { location: data/events, partitioning: hive_dt }\nrun:\n  late_dayz: 3\n",
    );
    let run = p.shoal(&["list"]);
    run.expect_code(2);
    run.snapshot_error("config_unknown_key");
    p.write(
        "config/shoal.yaml",
        "project: p\nsources:\n  events: { location: \"s3//bucket\", partitioning: hive_dt }\n",
    );
    let run = p.shoal(&["list"]);
    run.expect_code(2);
    run.snapshot_error("config_bad_location");
    p.write(
        "config/shoal.yaml",
        "project: p\nsources:\n  events: { location: \"${env:SHOAL_TEST_UNSET_VARIABLE}\", partitioning: hive_dt }\n",
    );
    let run = p.shoal(&["list"]);
    run.expect_code(2);
    run.snapshot_error("config_unset_env");
}

#[test]
fn missing_source_column_exits_3_naming_file_and_column() {
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let p = TempProject::with_repo_models();
    three_days(&p);
    // A file without event_type.
    let schema = Arc::new(Schema::new(vec![Field::new(
        "event_id",
        DataType::Utf8,
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["x"]))]).unwrap();
    crate::common::write_parquet(
        &p.path().join("data/events/dt=2026-11-21/bad.parquet"),
        &batch,
    );
    let run = p.shoal(&["run"]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(err.contains("dt=2026-11-21/bad.parquet"), "{err}");
    assert!(err.contains("event_time"), "{err}");
    assert!(
        !p.path().join("warehouse/user_daily").exists(),
        "nothing written"
    );
}

#[test]
fn missing_run_day_partition_exits_3() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    let run = p.shoal(&["run", "--ds", "2026-11-22"]);
    run.expect_code(3);
    run.snapshot_error("missing_run_day_partition");
}

#[test]
fn the_run_record_holds_the_memory_the_process_used() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    let latest = p.latest();
    let peak = latest["peak_rss_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no peak_rss_bytes in {latest}"));
    // the binary alone maps more than 20 MiB once DataFusion has planned a model
    assert!(peak > 20 << 20, "peak {peak}");
    let mut sampled = 0;
    for m in latest["models"].as_array().unwrap() {
        if m["materialized"] == "view" {
            continue;
        }
        let rss = m["rss_bytes"]
            .as_u64()
            .unwrap_or_else(|| panic!("no rss_bytes in {m}"));
        // a sample taken while the model ran can't exceed the process's high-water mark
        assert!(
            rss > 0 && rss <= peak,
            "{}: {rss} against peak {peak}",
            m["name"]
        );
        sampled += 1;
    }
    assert!(sampled > 40, "{sampled} models sampled");
}

#[test]
fn a_run_reads_only_the_partitions_it_needs() {
    let p = TempProject::with_repo_models();
    for d in 10..=21 {
        let day: &'static str = Box::leak(format!("2026-11-{d}").into_boxed_str());
        let time: &'static str = Box::leak(format!("2026-11-{d} 12:00:00").into_boxed_str());
        let id: &'static str = Box::leak(format!("e{d}").into_boxed_str());
        p.events(day, "a", &[ev(id, time, "u1", "view")]);
    }
    // The first run builds user_daily from all history (it has no output yet) ...
    p.shoal(&["run", "--ds", "2026-11-20"]).expect_code(0);
    let first = std::fs::read_to_string(p.path().join("warehouse/_shoal/latest.json")).unwrap();
    assert!(first.contains("\"full_refresh\": true"), "{first}");
    // ... the next one reads only the late window.
    p.shoal(&["run"]).expect_code(0);
    let latest = p.latest();
    // stg_valid_events reads the events once per run (temp); models read it
    let ud = crate::common::model_record(&latest, "stg_valid_events");
    let parts: Vec<&str> = ud["partitions_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // late_days = 3: partitions 18..21 of the 12 present
    assert_eq!(
        parts,
        [
            "dt=2026-11-18",
            "dt=2026-11-19",
            "dt=2026-11-20",
            "dt=2026-11-21"
        ]
    );
    // one file per events partition (the others are this run's temp
    // table stg_duplicate_events, which it reads too)
    let event_files: Vec<&str> = ud["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .filter(|f| f.contains("/events/"))
        .collect();
    assert_eq!(event_files.len(), 4, "{:?}", ud["files_read"]);
    let dq = crate::common::model_record(&latest, "dq_daily");
    assert!(dq["partitions_read"].as_array().unwrap().len() <= 4);
}

#[test]
fn list_json_reads_no_data() {
    let p = TempProject::with_repo_models();
    // no data/ at all: list must still answer
    let run = p.shoal(&["list", "--output", "json"]);
    run.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let ud = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "user_daily")
        .unwrap();
    assert_eq!(ud["materialized"], "daily");
    assert_eq!(ud["depends_on"], serde_json::json!(["stg_events"]));
}

#[test]
fn query_prints_csv_and_json() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["run"]).expect_code(0);
    let run = p.shoal(&[
        "query",
        "select dt, rows_read from dq_daily",
        "--format",
        "csv",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout().trim(), "dt,rows_read\n2026-11-21,3");
    let run = p.shoal(&[
        "query",
        "select count(*) as n from user_daily",
        "--format",
        "json",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout().trim(), "[{\"n\":6}]");
}

#[test]
fn fixture_fields_reach_their_columns() {
    // The fixture builder the tests rely on puts every field in its column.
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;
    let e = Ev {
        amount: Some(1.5),
        order: Some("o"),
        referrer: Some("r"),
        channel: Some("app"),
        properties: Some("{}"),
        content: Some("x"),
        session: Some("s"),
        ..ev("i", "2026-01-01 00:00:00", "u", "purchase")
    };
    let b = crate::common::events_batch(&[e]);
    assert_eq!(b.num_rows(), 1);
    let text = |name: &str| {
        let c = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        let c = datafusion::arrow::compute::cast(c, &datafusion::arrow::datatypes::DataType::Utf8)
            .unwrap();
        c.as_string::<i32>().value(0).to_string()
    };
    for (col, want) in [
        ("event_id", "i"),
        ("user_id", "u"),
        ("event_type", "purchase"),
        ("order_id", "o"),
        ("referrer_id", "r"),
        ("channel", "app"),
        ("properties", "{}"),
        ("content_id", "x"),
        ("session_id", "s"),
    ] {
        assert_eq!(text(col), want, "column {col}");
    }
    let amount = b.column_by_name("amount").unwrap();
    assert!(amount.is_valid(0));
    assert_eq!(amount.as_primitive::<Float64Type>().value(0), 1.5);
}

#[test]
fn backfill_runs_each_day_once_and_resumes() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["backfill", "--from", "2026-11-19", "--to", "2026-11-21"])
        .expect_code(0);
    let records = |p: &TempProject| {
        std::fs::read_dir(p.path().join("warehouse/_shoal/runs"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    };
    assert_eq!(records(&p), 3, "one run per day");
    let dq = p.table("dq_daily", "dt");
    assert_eq!(dq.len(), 3, "{dq:?}");
    // Rerun: every day is already committed, nothing runs.
    p.shoal(&["backfill", "--from", "2026-11-19", "--to", "2026-11-21"])
        .expect_code(0);
    assert_eq!(records(&p), 3);
    // --full-refresh reruns them.
    p.shoal(&[
        "backfill",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
        "--full-refresh",
    ])
    .expect_code(0);
    assert_eq!(records(&p), 5);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    let out = crate::common::shoal_command()
        .args(["run", "--log-format", "json", "--project-dir"])
        .arg(p.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 4, "{stderr}");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"));
        assert!(
            v.get("level").is_some() && v.get("message").is_some(),
            "{l}"
        );
    }
    assert!(out.stdout.is_empty(), "logs never go to stdout");
}

#[test]
fn two_runs_of_one_output_do_not_interleave() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    let lock = p.path().join("warehouse/_shoal/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let lease = |host: &str, pid: u32, expires_in_secs: i64| {
        let now = chrono::Utc::now();
        serde_json::json!({
            "run_id": "20261201T000000Z-dead0000", "host": host, "pid": pid,
            "acquired_at": now - chrono::Duration::hours(1),
            "expires_at": now + chrono::Duration::seconds(expires_in_secs),
        })
        .to_string()
    };
    // A lease held by a live process on this host (this test) makes the run
    // refuse with exit 4, naming the holder.
    std::fs::write(&lock, lease(host.trim(), std::process::id(), 3600)).unwrap();
    let run = p.shoal(&["run"]);
    run.expect_code(4);
    run.snapshot_error("output_locked");
    // A lease from another host is not judged by its pid: not before it expires…
    std::fs::write(&lock, lease("another-host", 999_999_999, 3600)).unwrap();
    p.shoal(&["run"]).expect_code(4);
    assert!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .contains("another-host")
    );
    // …and taken over once it has.
    std::fs::write(&lock, lease("another-host", 999_999_999, -1)).unwrap();
    let run = p.shoal(&["run"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("taking over the output lease"),
        "{}",
        run.stderr()
    );
    assert!(!lock.exists());
    let clean = p.table("kpi_scorecard", "dt");
    // Something that is not a lease is reported, never overwritten.
    std::fs::write(&lock, "garbage").unwrap();
    let run = p.shoal(&["run"]);
    run.expect_code(4);
    assert!(run.stderr().contains("not a lease"), "{}", run.stderr());
    std::fs::remove_file(&lock).unwrap();
    // Two runs started together: one holds the lease, the other exits 4
    // naming it; the tables are those of a single run.
    let spawn = || {
        crate::common::shoal_command()
            .args(["--project-dir", p.path().to_str().unwrap(), "run"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    assert_eq!(
        codes,
        [0, 4],
        "a: {}\nb: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let loser = if a.status.code() == Some(4) { &a } else { &b };
    assert!(String::from_utf8_lossy(&loser.stderr).contains("holds the output lease"));
    assert_eq!(p.table("kpi_scorecard", "dt"), clean);
    assert!(!lock.exists());
}

#[test]
fn compatible_widenings_are_read_and_incompatible_types_exit_3() {
    use datafusion::arrow::array::{
        Int32Array, LargeStringArray, RecordBatch, StringArray, TimestampNanosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let p = TempProject::with_repo_models();
    three_days(&p);
    // user_id as LargeUtf8, event_time in nanoseconds without a time zone,
    // amount as Int32 and an extra column: all readable.
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        s("event_id"),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        ),
        Field::new("user_id", DataType::LargeUtf8, true),
        s("community_id"),
        s("event_type"),
        s("content_id"),
        s("session_id"),
        Field::new("amount", DataType::Int32, true),
        s("order_id"),
        s("referrer_id"),
        s("channel"),
        s("properties"),
        s("extra_column"),
    ]));
    let nulls = || Arc::new(StringArray::from(vec![None::<&str>])) as _;
    let ns = chrono::NaiveDate::from_ymd_opt(2026, 11, 21)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_nanos_opt()
        .unwrap();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["w1"])),
            Arc::new(TimestampNanosecondArray::from(vec![ns])),
            Arc::new(LargeStringArray::from(vec!["u9"])),
            Arc::new(StringArray::from(vec!["c1"])),
            Arc::new(StringArray::from(vec!["purchase"])),
            nulls(),
            nulls(),
            Arc::new(Int32Array::from(vec![7])),
            nulls(),
            nulls(),
            nulls(),
            nulls(),
            Arc::new(StringArray::from(vec!["ignored"])),
        ],
    )
    .unwrap();
    crate::common::write_parquet(
        &p.path().join("data/events/dt=2026-11-21/wide.parquet"),
        &batch,
    );
    p.shoal(&["run"]).expect_code(0);
    let rows = p.table("user_daily", "dt, user_id");
    let u9: Vec<&String> = rows
        .iter()
        .filter(|r| r.starts_with("user_id=u9 "))
        .collect();
    assert_eq!(u9.len(), 1, "{rows:?}");
    assert!(
        u9[0].contains("purchases=1") && u9[0].contains("revenue=7.0"),
        "{}",
        u9[0]
    );
    assert!(
        u9[0].contains("first_event_time=2026-11-21T09:00:00Z"),
        "{}",
        u9[0]
    );

    // event_time as a string is not a timestamp: exit 3 naming file and column.
    let schema = Arc::new(Schema::new(vec![
        s("event_id"),
        s("event_time"),
        s("user_id"),
        s("event_type"),
    ]));
    let one = |v: &str| Arc::new(StringArray::from(vec![v.to_string()])) as _;
    let batch = RecordBatch::try_new(
        schema,
        vec![one("z1"), one("2026-11-21 10:00"), one("u1"), one("view")],
    )
    .unwrap();
    crate::common::write_parquet(
        &p.path().join("data/events/dt=2026-11-21/strings.parquet"),
        &batch,
    );
    let run = p.shoal(&["run"]);
    run.expect_code(3);
    assert!(
        run.stderr()
            .contains("strings.parquet: column \"event_time\""),
        "{}",
        run.stderr()
    );
}

#[test]
fn init_scaffolds_a_project_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("community");
    let run = |args: &[&str]| crate::common::shoal_command().args(args).output().unwrap();
    let init = run(&[
        "init",
        proj.to_str().unwrap(),
        "--users",
        "120",
        "--days",
        "10",
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // the shipped pack and config, and generated sample data
    assert!(proj.join("config/shoal.yaml").exists());
    assert!(proj.join("sql/staging/stg_events.sql").exists());
    assert!(proj.join("data/events/dt=2026-09-10").exists());
    let p = proj.to_str().unwrap();
    let done = run(&["--project-dir", p, "run", "-q"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(proj.join("warehouse/kpi_scorecard/dt=2026-09-10").exists());
    // a second init refuses to overwrite
    let again = run(&["init", p]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already a shoal project"));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = crate::common::shoal_command()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("backfill") && text.contains("full-refresh"),
            "{shell}: {text}"
        );
    }
}

#[test]
fn a_model_that_does_not_plan_stops_the_run_before_anything_is_written() {
    let p = TempProject::new();
    three_days(&p);
    small_dag(&p);
    p.shoal(&["run"]).expect_code(0);
    let before = p.files("a");
    p.write(
        "sql/zz_broken.sql",
        "select\n    date '{{ ds }}' as dt,\n    no_such_column\nfrom a\n",
    );
    let run = p.shoal(&["run"]);
    run.expect_code(2);
    // where: the file, line 3, column 5 of the rendered model
    assert!(
        run.stderr().contains("sql/zz_broken.sql:3:5"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("no_such_column"), "{}", run.stderr());
    // nothing ran: the committed files are the same ones
    assert_eq!(p.files("a"), before);
}

#[test]
fn a_model_out_of_memory_next_to_others_runs_again_alone_then_fails_with_a_hint() {
    // A 1 MiB pool is too small for some models of the pack even alone:
    // each such model is run a second time with the pool to itself (the run
    // must not wait forever for that turn), then fails with a hint, and the
    // run goes on with what does not depend on it.
    let p = TempProject::with_repo_models();
    three_days(&p);
    let run = p.shoal(&["--memory-limit", "1MiB", "run", "--ds", "2026-11-21"]);
    run.expect_code(1);
    let err = run.stderr();
    let retried: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("running it again alone"))
        .collect();
    let record = p.latest();
    let failed: Vec<&serde_json::Value> = record["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{record}");
    for m in &failed {
        let name = m["name"].as_str().unwrap();
        assert_eq!(
            retried
                .iter()
                .filter(
                    |l| l.contains(&format!("model={name}")) || l.contains(&format!("\"{name}\""))
                )
                .count(),
            1,
            "{name} was run a second time, once: {err}"
        );
        let message = m["error"].as_str().unwrap();
        assert!(
            message.contains(&format!("/{name}.sql"))
                && message.contains("Resources exhausted")
                && message.contains("raise it with --memory-limit"),
            "{message}"
        );
    }
    assert_eq!(
        retried.len(),
        failed.len(),
        "only failed models are retried"
    );
    assert!(
        record["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["status"] == "success" && m["materialized"] != "view"),
        "models that fit the pool still ran: {record}"
    );
}

/// Configuration precedence, lowest first: the file, `SHOAL__SECTION__KEY`
/// variables, `--set`, flags (a flag's `SHOAL_*` variable counts as the
/// flag, below the flag itself); and each `SHOAL_*` flag variable does what
/// its flag does (docs/configuration.md#overrides).
#[test]
fn configuration_precedence_file_env_set_flags_and_each_shoal_variable() {
    let p = TempProject::new();
    three_days(&p);
    p.write("sql/m.sql", "select 1 as x, date '{{ ds }}' as dt\n");
    // The run day as `run --dry-run` reports it ("ds 2026-11-2N…").
    let ds = |args: &[&str], env: &[(&str, &str)]| -> String {
        let mut all = vec!["run", "--dry-run"];
        all.extend_from_slice(args);
        let run = p.shoal_env(&all, env);
        run.expect_code(0);
        run.stdout()
            .lines()
            .find_map(|l| l.strip_prefix("ds "))
            .map(|l| l[..10].to_string())
            .unwrap_or_else(|| panic!("no ds line:\n{}", run.stdout()))
    };
    // The file says `ds: latest` (the newest partition, 11-21).
    assert_eq!(ds(&[], &[]), "2026-11-21");
    let env = [("SHOAL__RUN__DS", "2026-11-19")];
    assert_eq!(ds(&[], &env), "2026-11-19", "SHOAL__ over the file");
    assert_eq!(
        ds(&["--set", "run.ds=2026-11-20"], &env),
        "2026-11-20",
        "--set over SHOAL__"
    );
    let flag_env = [("SHOAL__RUN__DS", "2026-11-19"), ("SHOAL_DS", "2026-11-21")];
    assert_eq!(
        ds(&["--set", "run.ds=2026-11-20"], &flag_env),
        "2026-11-21",
        "SHOAL_DS (the --ds flag) over --set"
    );
    assert_eq!(
        ds(
            &["--set", "run.ds=2026-11-20", "--ds", "2026-11-19"],
            &flag_env
        ),
        "2026-11-19",
        "--ds over SHOAL_DS"
    );

    // A bad value names itself in the error: which layer won is visible.
    let refused = |args: &[&str], env: &[(&str, &str)], value: &str| {
        let mut all = vec!["validate"];
        all.extend_from_slice(args);
        let run = p.shoal_env(&all, env);
        run.expect_code(2);
        assert!(
            run.stderr().contains("run.memory_limit") && run.stderr().contains(value),
            "{args:?} {env:?}: expected {value:?} to win:\n{}",
            run.stderr()
        );
    };
    let env = [("SHOAL__RUN__MEMORY_LIMIT", "envsize")];
    refused(&[], &env, "envsize");
    refused(&["--set", "run.memory_limit=setsize"], &env, "setsize");
    let flag_env = [
        ("SHOAL__RUN__MEMORY_LIMIT", "envsize"),
        ("SHOAL_MEMORY_LIMIT", "flagenvsize"),
    ];
    refused(
        &["--set", "run.memory_limit=setsize"],
        &flag_env,
        "flagenvsize",
    );
    refused(
        &[
            "--set",
            "run.memory_limit=setsize",
            "--memory-limit",
            "flagsize",
        ],
        &flag_env,
        "flagsize",
    );

    // SHOAL_CONFIG: another config file.
    p.write(
        "config/other.yaml",
        &crate::common::CONFIG.replace("memory_limit: 1GiB", "memory_limit: othersize"),
    );
    let run = p.shoal_env(&["validate"], &[("SHOAL_CONFIG", "config/other.yaml")]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("config/other.yaml") && run.stderr().contains("othersize"),
        "{}",
        run.stderr()
    );

    // SHOAL_ENGINE: a Ballista scheduler nobody listens on (exit 2, named).
    let run = p.shoal_env(&["run"], &[("SHOAL_ENGINE", "ballista://127.0.0.1:9")]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("127.0.0.1:9"),
        "SHOAL_ENGINE is used:\n{}",
        run.stderr()
    );

    // SHOAL_LOG_FORMAT: JSON lines on stderr (no --log-format flag here).
    let out = crate::common::shoal_command()
        .args(["run", "--project-dir"])
        .arg(p.path())
        .env("SHOAL_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
}

/// `run.ds: yesterday` is the UTC day before today.
#[test]
fn run_ds_yesterday_is_the_utc_day_before_today() {
    let p = TempProject::new();
    p.write(
        "config/shoal.yaml",
        &crate::common::CONFIG.replace("ds: latest", "ds: yesterday"),
    );
    // Resolved before and after the run: a run across midnight UTC may
    // see either day.
    let before = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let day: &'static str = before.clone().leak();
    p.events(
        day,
        "a",
        &[ev("e1", format!("{day} 10:00:00").leak(), "u1", "view")],
    );
    p.write(
        "sql/m.sql",
        "select count(*) as n, date '{{ ds }}' as dt from events\n",
    );
    p.shoal(&["run"]).expect_code(0);
    let after = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let ds = p.latest()["ds"].as_str().unwrap().to_string();
    assert!(ds == before || ds == after, "ds {ds}, yesterday {before}");
    assert_eq!(p.table("m", "dt"), [format!("n=1 dt={ds}")]);
}

/// A model past `run.model_timeout` fails (exit 1) naming the limit, its
/// downstream is skipped, nothing of it is committed, and the models next
/// to it commit; `run.timeout` ends what still runs when the run's time is
/// up.
#[test]
fn a_model_past_its_deadline_fails_and_the_others_commit() {
    let p = TempProject::new();
    three_days(&p);
    // 10^9 steps of a recursive query, one row each: far past a 2 s deadline.
    p.write(
        "sql/slow.sql",
        "/*---\nmaterialized: table\n---*/\nwith recursive r(i) as (select 1 union all select i + 1 from r where i < 1000000000)\nselect sum(i % 7) as n from r\n",
    );
    p.write(
        "sql/after_slow.sql",
        "/*---\nmaterialized: table\n---*/\nselect n from slow\n",
    );
    p.write(
        "sql/quick.sql",
        "/*---\nmaterialized: table\n---*/\nselect count(*) as n from events\n",
    );
    let run = p.shoal(&["run", "--set", "run.model_timeout=2s"]);
    run.expect_code(1);
    assert!(
        run.stderr()
            .contains("sql/slow.sql: stopped, it ran longer than run.model_timeout (2s)"),
        "{}",
        run.stderr()
    );
    let latest = p.latest();
    let status = |m: &str| crate::common::model_record(&latest, m)["status"].clone();
    assert_eq!(status("slow"), "failed");
    assert_eq!(status("after_slow"), "skipped");
    assert_eq!(status("quick"), "success");
    assert!(!p.path().join("warehouse/slow").exists(), "nothing of slow");
    assert_eq!(p.table("quick", "n").len(), 1, "quick committed");

    // The run's own limit: whatever still runs when it is up fails.
    let run = p.shoal(&[
        "run",
        "--set",
        "run.timeout=2s",
        "--set",
        "run.model_timeout=0",
    ]);
    run.expect_code(1);
    assert!(
        run.stderr()
            .contains("sql/slow.sql: stopped, run.timeout (2s) ended the run"),
        "{}",
        run.stderr()
    );
    assert!(!p.path().join("warehouse/slow").exists());
}

//! Bad input and privacy (issue 6): unreadable and non-Parquet files, empty
//! and missing partitions, schema drift, every kind of bad row, bad models
//! and path tricks, deletions on every table, pseudonymised user ids.
//!
//! Every failing case checks three things: the documented exit code, a
//! message naming the file / column / model, and that the files committed
//! before are all still there with the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cli::three_days;
use crate::common::{
    CONFIG, Ev, Run, TempProject, batches_to_lines, ev, query_dir, repo_root, write_parquet,
};

/// Every file under `warehouse/` but `_shoal/` (run records): each Parquet
/// file with its rows as text, read file by file, and every other file (the
/// Delta logs) with no rows.
fn committed(p: &TempProject) -> BTreeMap<String, Vec<String>> {
    let root = p.path().join("warehouse");
    let mut out = BTreeMap::new();
    for f in crate::s3_support::files_under(&root) {
        if f.starts_with("_shoal") {
            continue;
        }
        if !f.ends_with(".parquet") {
            out.insert(f, vec![]);
            continue;
        }
        let file = std::fs::File::open(root.join(&f)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let mut rows = batches_to_lines(&batches);
        rows.sort();
        out.insert(f, rows);
    }
    out
}

/// Every file committed before is still there with the same rows, and no
/// file appeared: no new partition, data file or Delta log entry.
fn assert_untouched(before: &BTreeMap<String, Vec<String>>, p: &TempProject, what: &str) {
    let after = committed(p);
    for (f, rows) in before {
        let now = after
            .get(f)
            .unwrap_or_else(|| panic!("{what}: committed file {f} is gone"));
        assert_eq!(now, rows, "{what}: rows of {f} changed");
    }
    let new: Vec<&String> = after.keys().filter(|f| !before.contains_key(*f)).collect();
    assert!(
        new.is_empty(),
        "{what}: files appeared in the output: {new:?}"
    );
}

/// Runs the binary with extra environment variables.
fn shoal_env(p: &TempProject, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = crate::common::shoal_command();
    cmd.args(args)
        .arg("--project-dir")
        .arg(p.path())
        .arg("--log-format")
        .arg("text")
        .env_remove("RUST_LOG")
        .env_remove("SHOAL_HASH_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        out: cmd.output().expect("run shoal"),
        dir: p.path().to_path_buf(),
    }
}

/// The bytes of a valid events file holding `rows`.
fn parquet_bytes(rows: &[Ev]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.parquet");
    write_parquet(&path, &crate::common::events_batch(rows));
    std::fs::read(path).unwrap()
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

/// The events schema (docs/events.md#events) with column `name` of type `ty` instead.
fn events_schema_with(name: &str, ty: DataType) -> Arc<Schema> {
    let fields = crate::common::events_schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == name {
                Field::new(name, ty.clone(), true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect::<Vec<_>>();
    Arc::new(Schema::new(fields))
}

/// An events file whose `user_id` is a BYTE_ARRAY column without the
/// STRING annotation (Arrow Binary), holding bytes that are not UTF-8.
fn binary_user_id_file(path: &Path) {
    let schema = events_schema_with("user_id", DataType::Binary);
    let null = || Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef;
    let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["bin1"])),
            Arc::new(TimestampMicrosecondArray::from(vec![t]).with_timezone("UTC")),
            Arc::new(BinaryArray::from(vec![&b"\xff\xfe\x00u"[..]])),
            null(),
            Arc::new(StringArray::from(vec!["view"])),
            null(),
            null(),
            Arc::new(Float64Array::from(vec![None])),
            null(),
            null(),
            null(),
            null(),
        ],
    )
    .unwrap();
    write_parquet(path, &batch);
}

#[test]
fn unreadable_and_non_parquet_files_exit_3_naming_the_file_and_keep_outputs() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.shoal(&["run"]).expect_code(0);
    let before = committed(&p);
    assert!(
        before.len() > 20,
        "the pack committed its tables: {before:?}"
    );

    // The run day 22 has a good file; each case adds one bad file.
    let good = [ev("g1", "2026-11-22 07:00:00", "u1", "view")];
    p.events("2026-11-22", "good", &good);
    let valid = parquet_bytes(&[
        ev("v1", "2026-11-22 08:00:00", "u4", "view"),
        ev("v2", "2026-11-22 08:10:00", "u4", "click"),
    ]);
    let n = valid.len();
    let mut pages = valid.clone();
    // garbage over the column chunks (page headers and data), footer intact
    pages[4..n / 2].fill(0xFF);
    let mut footer = valid.clone();
    // garbage over the end of the footer's metadata, length and magic intact
    footer[n - 8 - 24..n - 8].fill(0xAB);
    let mut non_utf8 = parquet_bytes(&[ev("v3", "2026-11-22 08:00:00", "UUUUUUUU", "view")]);
    // a STRING column whose bytes are not UTF-8 (arrow cannot write that: patch it)
    assert!(
        patch(
            &mut non_utf8,
            b"UUUUUUUU",
            b"\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc"
        ) > 0
    );
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated to half", "2026-11-22", valid[..n / 2].to_vec()),
        ("truncated to nothing", "2026-11-22", vec![]),
        (
            "cut before the magic",
            "2026-11-22",
            valid[..n - 1].to_vec(),
        ),
        ("garbage in the footer", "2026-11-22", footer),
        ("garbage in the pages", "2026-11-22", pages),
        (
            "a CSV named .parquet",
            "2026-11-22",
            b"event_id,event_time,user_id,event_type\nx,2026-11-22 01:00:00,u1,view\n".to_vec(),
        ),
        (
            "random bytes",
            "2026-11-22",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("non-UTF-8 bytes in a string column", "2026-11-22", non_utf8),
        // a partition before the run day that the run reads (late window)
        (
            "a CSV in a late-window partition",
            "2026-11-20",
            b"a,b\n1,2\n".to_vec(),
        ),
    ];
    let mut tried = 0;
    for (what, day, bytes) in &cases {
        let rel = format!("data/events/dt={day}/bad.parquet");
        std::fs::write(p.path().join(&rel), bytes).unwrap();
        let run = p.shoal(&["run", "--ds", "2026-11-22"]);
        run.expect_code(3);
        let err = run.stderr();
        assert!(
            err.contains(&format!("dt={day}/bad.parquet")),
            "{what}: the message names the file:\n{err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
        eprintln!("--- {what}:\n{err}");
        assert_untouched(&before, &p, what);
        std::fs::remove_file(p.path().join(&rel)).unwrap();
        tried += 1;
    }

    // A BYTE_ARRAY user_id without the STRING annotation: a schema error naming the column.
    binary_user_id_file(&p.path().join("data/events/dt=2026-11-22/binary.parquet"));
    let run = p.shoal(&["run", "--ds", "2026-11-22"]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(
        err.contains("dt=2026-11-22/binary.parquet: column \"user_id\"") && err.contains("Binary"),
        "{err}"
    );
    assert_untouched(&before, &p, "binary user_id");
    std::fs::remove_file(p.path().join("data/events/dt=2026-11-22/binary.parquet")).unwrap();
    tried += 1;

    // With the bad files gone the same run succeeds (the cases above can fail).
    p.shoal(&["run", "--ds", "2026-11-22"]).expect_code(0);
    eprintln!("{tried} bad input files tried");
}

#[test]
fn empty_partition_directories() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    // An empty directory for a day the run reads but is not the run day: nothing to read there.
    std::fs::create_dir_all(p.path().join("data/events/dt=2026-11-18")).unwrap();
    p.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    let before = committed(&p);
    // An empty run-day directory is a missing partition: exit 3 naming it.
    std::fs::create_dir_all(p.path().join("data/events/dt=2026-11-22")).unwrap();
    let run = p.shoal(&["run", "--ds", "2026-11-22"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("dt=2026-11-22/") && run.stderr().contains("empty"),
        "{}",
        run.stderr()
    );
    assert_untouched(&before, &p, "empty run day");
    // `ds: latest` picks the newest directory, empty or not: the same error.
    p.shoal(&["run"]).expect_code(3);
    // Under `missing_partition: warn` the run goes on and records it.
    p.write(
        "config/shoal.yaml",
        &CONFIG.replace(
            "concurrency: 2 }",
            "concurrency: 2, missing_partition: warn }",
        ),
    );
    p.shoal(&["run", "--ds", "2026-11-22"]).expect_code(0);
    let warnings = p.latest()["warnings"].to_string();
    assert!(
        warnings.contains("dt=2026-11-22/: the events partition of the run day is empty"),
        "{warnings}"
    );
}

#[test]
fn missing_partition_warn_runs_with_what_exists_and_records_it() {
    let p = TempProject::with_repo_models();
    three_days(&p);
    p.write(
        "config/shoal.yaml",
        &CONFIG.replace(
            "concurrency: 2 }",
            "concurrency: 2, missing_partition: warn }",
        ),
    );
    let run = p.shoal(&["run", "--ds", "2026-11-22"]);
    run.expect_code(0);
    assert!(run.stderr().contains("dt=2026-11-22"), "{}", run.stderr());
    let latest = p.latest();
    assert_eq!(latest["status"], "success", "{latest}");
    let warnings = latest["warnings"].to_string();
    assert!(
        warnings.contains("dt=2026-11-22/: the events partition of the run day is missing"),
        "{warnings}"
    );
    // the days that exist were read: the late event of 21 is still counted
    let dq = p.table("dq_daily", "dt");
    assert!(
        dq.iter()
            .any(|r| r.contains("rows_read=0") && r.ends_with("dt=2026-11-22")),
        "{dq:?}"
    );
    let ud = p.table("user_daily", "dt, user_id");
    assert!(
        ud.iter()
            .any(|r| r.starts_with("user_id=u2 ") && r.ends_with("dt=2026-11-21")),
        "{ud:?}"
    );
}

/// The events of `base` for day 21 with extra columns appended.
fn with_extra_columns(rows: &[Ev]) -> RecordBatch {
    let b = crate::common::events_batch(rows);
    let mut fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
    fields.push(Field::new("debug_blob", DataType::Utf8, true));
    cols.push(Arc::new(StringArray::from(vec![
        Some("{\"x\": 1}");
        rows.len()
    ])));
    fields.push(Field::new("user_id_v2", DataType::Int64, true));
    cols.push(Arc::new(Int64Array::from(vec![Some(42); rows.len()])));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

#[test]
fn renamed_column_exits_3_with_a_suggestion_and_extra_columns_change_nothing() {
    // Extra columns: the same events with and without them give the same tables.
    let rows = [
        ev("e5", "2026-11-21 08:00:00", "u1", "view"),
        ev("e6", "2026-11-21 08:05:00", "u2", "purchase"),
        ev("e7", "2026-11-20 23:00:00", "u3", "share"),
    ];
    let plain = TempProject::with_repo_models();
    three_days(&plain);
    let extra = TempProject::with_repo_models();
    three_days(&extra);
    write_parquet(
        &extra.path().join("data/events/dt=2026-11-21/a.parquet"),
        &with_extra_columns(&rows),
    );
    plain.shoal(&["run"]).expect_code(0);
    extra.shoal(&["run"]).expect_code(0);
    let tables = |p: &TempProject| all_tables(&p.path().join("warehouse"));
    let a = tables(&plain);
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, tables(&extra), "extra columns changed an output");

    // A renamed column: exit 3 naming the file and the column, suggesting the close name.
    let before = committed(&plain);
    let b = crate::common::events_batch(&[ev("r1", "2026-11-21 09:00:00", "u9", "view")]);
    let fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if f.name() == "user_id" {
                f.with_name("userid")
            } else {
                f
            }
        })
        .collect();
    let renamed =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), b.columns().to_vec()).unwrap();
    write_parquet(
        &plain
            .path()
            .join("data/events/dt=2026-11-21/renamed.parquet"),
        &renamed,
    );
    let run = plain.shoal(&["run"]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(
        err.contains("dt=2026-11-21/renamed.parquet: column \"user_id\": missing")
            && err.contains("did you mean \"userid\"?"),
        "{err}"
    );
    assert_untouched(&before, &plain, "renamed column");
}

fn amount(id: &'static str, minute: u32, a: f64) -> Ev {
    let t: &'static str = Box::leak(format!("2026-11-21 10:{minute:02}:00").into_boxed_str());
    Ev {
        amount: Some(a),
        ..ev(id, t, "u3", "purchase")
    }
}

#[test]
fn every_kind_of_bad_row_is_quarantined_and_counted_and_the_pack_still_runs() {
    let p = TempProject::with_repo_models();
    p.events(
        "2026-11-20",
        "a",
        &[
            ev("d1", "2026-11-20 10:00:00", "u1", "view"),
            ev("dup1", "2026-11-20 12:00:00", "u2", "click"),
        ],
    );
    p.events(
        "2026-11-21",
        "a",
        &[
            Ev {
                user: None,
                ..ev("n1", "2026-11-21 01:00:00", "u1", "view")
            },
            Ev {
                time: None,
                ..ev("n2", "2026-11-21 01:00:00", "u1", "view")
            },
            Ev {
                kind: None,
                ..ev("n3", "2026-11-21 01:00:00", "u1", "view")
            },
            // the same event_id again, one partition later: a duplicate
            ev("dup1", "2026-11-20 12:00:00", "u2", "click"),
            // far in the future
            ev("f1", "2099-01-01 00:00:00", "u1", "view"),
            amount("p1", 0, -5.0),
            amount("p2", 1, f64::NAN),
            amount("p3", 2, f64::INFINITY),
            amount("p4", 3, f64::NEG_INFINITY),
            amount("p5", 4, 1e300),
            amount("p6", 5, 12.5),
            ev("g1", "2026-11-21 09:00:00", "u1", "view"),
        ],
    );
    // A file whose event_time has no time zone: read as UTC (23:30 stays on the 21st).
    let naive = chrono::NaiveDate::from_ymd_opt(2026, 11, 21)
        .unwrap()
        .and_hms_opt(23, 30, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let schema = events_schema_with(
        "event_time",
        DataType::Timestamp(TimeUnit::Microsecond, None),
    );
    let one = |v: Option<&str>| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    write_parquet(
        &p.path().join("data/events/dt=2026-11-21/naive.parquet"),
        &RecordBatch::try_new(
            schema,
            vec![
                one(Some("t1")),
                Arc::new(TimestampMicrosecondArray::from(vec![naive])),
                one(Some("u4")),
                one(Some("c1")),
                one(Some("like")),
                one(None),
                one(None),
                Arc::new(Float64Array::from(vec![None])),
                one(None),
                one(None),
                one(None),
                one(None),
            ],
        )
        .unwrap(),
    );
    p.shoal(&["run"]).expect_code(0);
    let latest = p.latest();
    for m in latest["models"].as_array().unwrap() {
        assert_eq!(m["status"], "success", "{m}");
    }
    // rows_read 13: n1 n2 n3 (null keys), dup1, f1 (future), p1..p6, g1, t1.
    // valid before dedup: dup1, p1..p6, g1, t1 = 9; dup1 was kept from dt=20
    // -> rows_valid 8, duplicate_rows 1; late_rows 1 (dup1, dated the 20th);
    // bad amounts p1..p5 = 5; error_rate (13 - 8) / 13.
    assert_eq!(
        p.table("dq_daily", "dt"),
        [format!(
            "rows_read=13 rows_valid=8 duplicate_rows=1 null_key_rows=3 future_rows=1 too_late_rows=0 \
             late_rows=1 unknown_type_rows=0 deleted_rows=0 bad_amount_rows=5 error_rate={} dt=2026-11-21",
            5.0_f64 / 13.0
        )]
    );
    let ud = p.table("user_daily", "dt, user_id");
    let u3: Vec<&String> = ud.iter().filter(|r| r.starts_with("user_id=u3 ")).collect();
    assert_eq!(u3.len(), 1, "{ud:?}");
    // six purchases, only the sane amount counts as revenue
    assert!(
        u3[0].contains("purchases=6") && u3[0].contains("revenue=12.5"),
        "{}",
        u3[0]
    );
    let u4: Vec<&String> = ud.iter().filter(|r| r.starts_with("user_id=u4 ")).collect();
    assert!(
        u4.len() == 1 && u4[0].contains("first_event_time=2026-11-21T23:30:00Z"),
        "{u4:?}"
    );
    // no NaN or infinity reached any output
    for f in committed(&p).values().flatten() {
        assert!(!f.contains("NaN") && !f.contains("inf"), "{f}");
    }
    p.shoal(&["test"]).expect_code(0);
}

#[test]
fn bad_models_cycles_duplicates_division_by_zero_and_path_tricks() {
    // A cycle: exit 2 naming the file, line and column.
    let p = TempProject::new();
    three_days(&p);
    p.write("sql/x.sql", "select *\nfrom y\n");
    p.write("sql/y.sql", "select * from x\n");
    for cmd in [&["validate"][..], &["run"][..], &["list"][..]] {
        let run = p.shoal(cmd);
        run.expect_code(2);
        assert!(
            run.stderr().contains("dependency cycle: x -> y -> x")
                && run.stderr().contains("sql/x.sql:2:6"),
            "{}",
            run.stderr()
        );
    }
    assert!(!p.path().join("warehouse/x").exists());

    // Two files with one stem: exit 2 naming both.
    let p = TempProject::new();
    three_days(&p);
    p.write("sql/a/m.sql", "select 1 as x\n");
    p.write("sql/b/m.sql", "select 2 as x\n");
    let run = p.shoal(&["run"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("sql/b/m.sql: model \"m\" is already defined by sql/a/m.sql"),
        "{}",
        run.stderr()
    );

    // Integer division by zero is a model failure (exit 1) naming the model;
    // the models that do not depend on it are committed. Float division by
    // zero follows IEEE (the model succeeds) — a model that wants a NULL ratio
    // (docs/metrics.md#conventions) uses nullif(denominator, 0), as the pack does.
    let p = TempProject::new();
    three_days(&p);
    p.write(
        "sql/div.sql",
        "/*---\nmaterialized: table\n---*/\nselect count(*) / sum(case when event_type = 'nope' then 1 else 0 end) as ratio\nfrom events\n",
    );
    p.write(
        "sql/fdiv.sql",
        "/*---\nmaterialized: table\n---*/\nselect cast(count(*) as double) / nullif(sum(case when event_type = 'nope' then 1 else 0 end), 0) as ratio\nfrom events\n",
    );
    p.write(
        "sql/fdiv_raw.sql",
        "/*---\nmaterialized: table\n---*/\nselect cast(count(*) as double) / 0.0 as ratio\nfrom events\n",
    );
    p.write(
        "sql/after_div.sql",
        "/*---\nmaterialized: table\n---*/\nselect * from div\n",
    );
    let run = p.shoal(&["run"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(
        err.contains("sql/div.sql") && err.to_lowercase().contains("divide by zero"),
        "{err}"
    );
    let latest = p.latest();
    assert_eq!(
        crate::common::model_record(&latest, "div")["status"],
        "failed"
    );
    assert_eq!(
        crate::common::model_record(&latest, "after_div")["status"],
        "skipped"
    );
    assert_eq!(
        crate::common::model_record(&latest, "fdiv")["status"],
        "success"
    );
    assert_eq!(p.table("fdiv", "1"), ["ratio=NULL"]);
    assert_eq!(p.table("fdiv_raw", "1"), ["ratio=inf"]);

    // Model names and selectors that try to leave the output location. Each
    // is refused for being a path, not for naming no model (the message
    // says why), and nothing is written: not in the project directory (the
    // output root `warehouse/` included) and not next to it.
    let p = TempProject::with_repo_models();
    three_days(&p);
    let project_before = crate::s3_support::files_under(p.path());
    let outside_before: BTreeSet<String> = std::fs::read_dir(p.path().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let tricks = [
        "../x",
        "../../etc/passwd",
        "/etc/passwd",
        "s3://bucket/x",
        "file:///tmp/x",
        "%2e%2e/x",
        "%2e%2e%2fx",
        "user_daily/../../x",
        "..\\x",
        "+../x+",
        "tag:../x",
        "tag:/etc",
    ];
    let mut rejected = 0;
    for t in tricks {
        for args in [
            vec!["run", "--select", t],
            vec!["run", "--exclude", t],
            vec!["test", "--select", t],
            vec!["compile", t],
        ] {
            let run = p.shoal(&args);
            run.expect_code(2);
            assert!(
                run.stderr().contains("never paths or URLs"),
                "{args:?}: refused for another reason:\n{}",
                run.stderr()
            );
            rejected += 1;
        }
    }
    assert_eq!(rejected, 12 * 4, "the count docs/operations.md gives");
    // Model files whose stem is not a plain name are rejected too.
    for stem in ["%2e%2e", "a.b", "s3:x", "-x", "x y"] {
        let q = TempProject::new();
        three_days(&q);
        q.write(&format!("sql/{stem}.sql"), "select 1 as x\n");
        let q_before = crate::s3_support::files_under(q.path());
        let run = q.shoal(&["run"]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("must start with a letter"),
            "{}",
            run.stderr()
        );
        assert_eq!(
            crate::s3_support::files_under(q.path()),
            q_before,
            "{stem}: the run wrote into the project"
        );
        rejected += 1;
    }
    // Nothing was written: the project's files are exactly those it had
    // (no output root, no lease, no run record).
    assert_eq!(
        crate::s3_support::files_under(p.path()),
        project_before,
        "the refused commands wrote into the project"
    );
    // The output root: at most the empty directory opening the project
    // makes, with nothing in it (no table, no `_shoal/`).
    let root = p.path().join("warehouse");
    assert!(
        !root.exists() || std::fs::read_dir(&root).unwrap().next().is_none(),
        "the output root is not empty"
    );
    let outside_after: BTreeSet<String> = std::fs::read_dir(p.path().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // other tests' temp projects and run scratch directories come and go
        .filter(|n| !n.starts_with(".tmp") && !n.starts_with("shoal-"))
        .collect();
    let before: BTreeSet<String> = outside_before
        .into_iter()
        .filter(|n| !n.starts_with(".tmp") && !n.starts_with("shoal-"))
        .collect();
    assert!(
        outside_after.difference(&before).next().is_none(),
        "something was written next to the project: {:?}",
        outside_after.difference(&before).collect::<Vec<_>>()
    );
    eprintln!("{rejected} path tricks rejected");
}

/// Every output table: (table, rows as text).
fn all_tables(dir: &Path) -> BTreeMap<String, Vec<String>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_'))
        .map(|n| {
            let mut rows = query_dir(&dir.join(&n), "1");
            rows.sort();
            (n, rows)
        })
        .collect()
}

/// Whether `text` holds `id` as a whole token: not as part of a longer id
/// (`u12` is not in `u123`), but inside a larger string (`u12>u7`, a JSON
/// value, a path of ids) it is.
fn holds_id(text: &str, id: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(id).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + id.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The tables in which some cell holds `value` ([`holds_id`]): a column of
/// its own or inside any string column.
fn tables_holding(tables: &BTreeMap<String, Vec<String>>, value: &str) -> Vec<String> {
    tables
        .iter()
        .filter(|(_, rows)| {
            rows.iter().any(|r| {
                r.split(' ')
                    .any(|c| c.split_once('=').is_some_and(|(_, v)| holds_id(v, value)))
            })
        })
        .map(|(t, _)| t.clone())
        .collect()
}

/// Every Parquet file under `dir` (any table, any version, committed or
/// not) with `user` in a string column ([`holds_id`]), read file by file
/// with the Parquet reader.
fn parquet_files_holding(dir: &std::path::Path, user: &str) -> Vec<String> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = vec![];
    for f in crate::s3_support::files_under(dir) {
        if !f.ends_with(".parquet") {
            continue;
        }
        let file = std::fs::File::open(dir.join(&f)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        // Every string column, ids inside longer strings included.
        let holds = reader.into_iter().any(|b| {
            let b = b.unwrap();
            b.schema().fields().iter().enumerate().any(|(i, field)| {
                matches!(
                    field.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) && cast(b.column(i), &DataType::Utf8).is_ok_and(|c| {
                    let c = c.as_string::<i32>();
                    (0..c.len()).any(|r| c.is_valid(r) && holds_id(c.value(r), user))
                })
            })
        });
        if holds {
            out.push(f);
        }
    }
    out
}

fn generated(users: &str, days: &str) -> TempProject {
    let p = TempProject::with_repo_models();
    p.generate(&["--users", users, "--days", days, "--seed", "11"]);
    p
}

#[test]
fn deletions_remove_a_user_from_every_table_on_the_next_run() {
    let p = generated("80", "10");
    p.write(
        "config/shoal.yaml",
        &CONFIG.replace(
            "deletions: { location: data/deletions, optional: true }",
            "deletions: { location: data/deletions, optional: true, format: csv }",
        ),
    );
    p.shoal(&["run"]).expect_code(0);
    // A second run: every table gets a newer version, and the replaced
    // files of the first stay (output.keep_versions) for time travel.
    p.shoal(&["run"]).expect_code(0);
    let wh = p.path().join("warehouse");
    let before = all_tables(&wh);
    // The user present in the most tables.
    let users: BTreeSet<String> = before["user_daily"]
        .iter()
        .filter_map(|r| {
            r.split(' ')
                .find_map(|c| c.strip_prefix("user_id="))
                .map(str::to_string)
        })
        .collect();
    let (user, holding) = users
        .iter()
        .map(|u| (u.clone(), tables_holding(&before, u)))
        .max_by_key(|(_, t)| t.len())
        .unwrap();
    for t in [
        "user_daily",
        "community_user_daily",
        "user_features",
        "uvi_scores",
        "user_segments",
    ] {
        assert!(holding.contains(&t.to_string()), "{user} is in {holding:?}");
    }
    p.write(
        "data/deletions/deletions.csv",
        &format!("user_id,requested_at\n{user},2026-11-01T00:00:00Z\n"),
    );
    // Files of the current and the older versions hold the user.
    let files_before = parquet_files_holding(&wh, &user);
    assert!(
        files_before.iter().any(|f| !f.starts_with("_shoal/"))
            && files_before.len() > holding.len(),
        "{files_before:?}"
    );
    let run = p.shoal(&["run"]);
    run.expect_code(0);
    let after = all_tables(&wh);
    assert_eq!(
        tables_holding(&after, &user),
        Vec::<String>::new(),
        "{user} is still in some table"
    );
    // No Parquet file under the output, of any version, still holds them.
    assert_eq!(
        parquet_files_holding(&wh, &user),
        Vec::<String>::new(),
        "files under the output still hold {user}"
    );
    // the run record says which partitions were rewritten
    let warnings = p.latest()["warnings"].to_string();
    assert!(
        warnings.contains("rows of users in deletions"),
        "{warnings}"
    );
    // aggregates moved by exactly that user: the scored population of
    // segment_summary lost one user per segment column
    let scored = |t: &BTreeMap<String, Vec<String>>| -> i64 {
        t["segment_summary"]
            .iter()
            .filter(|r| r.contains("segment=activity_layer ") && r.contains(" breakdown=all "))
            .filter_map(|r| r.split(' ').find_map(|c| c.strip_prefix("users=")))
            .map(|n| n.parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(scored(&before) - scored(&after), 1);
    // a later run with the same deletions rewrites nothing
    p.shoal(&["run"]).expect_code(0);
    assert!(
        !p.latest()["warnings"]
            .to_string()
            .contains("rows of users in deletions"),
        "{}",
        p.latest()
    );
    p.shoal(&["test"]).expect_code(0);
    eprintln!("{user} removed from {} tables: {holding:?}", holding.len());
}

#[test]
fn hashed_user_ids_never_show_a_raw_id_and_are_stable_per_key() {
    let p = generated("60", "8");
    let config = format!(
        "{}privacy: {{ hash_user_ids: true, hash_key_env: TEST_SHOAL_KEY }}\n",
        CONFIG.replace(
            "deletions: { location: data/deletions, optional: true }",
            "deletions: { location: data/deletions, optional: true, format: csv }",
        )
    );
    // `vars:` is last in CONFIG; privacy is a top-level key after it
    p.write("config/shoal.yaml", &config);
    let key1 = "k1-Zq8HashKeyVv7Tt2Ww5Ss9Rr4";
    let key2 = "k2-Zq8HashKeyMm3Nn6Bb1Cc8Xx0";
    // unset key: exit 2 naming the variable
    let run = shoal_env(&p, &["run"], &[]);
    run.expect_code(2);
    assert!(run.stderr().contains("TEST_SHOAL_KEY"), "{}", run.stderr());
    let short = shoal_env(&p, &["run"], &[("TEST_SHOAL_KEY", "short")]);
    short.expect_code(2);
    assert!(!short.stderr().contains("short\n"), "{}", short.stderr());

    let run = shoal_env(&p, &["run"], &[("TEST_SHOAL_KEY", key1)]);
    run.expect_code(0);
    assert!(!run.stderr().contains(key1));
    let wh = p.path().join("warehouse");
    let first = all_tables(&wh);
    // the raw ids of the input
    let mut raw: BTreeSet<String> = BTreeSet::new();
    for r in query_dir(&p.path().join("data/events"), "1") {
        for c in r.split(' ') {
            for col in ["user_id=", "referrer_id="] {
                if let Some(v) = c.strip_prefix(col)
                    && v != "NULL"
                {
                    raw.insert(v.to_string());
                }
            }
        }
    }
    assert!(raw.len() > 20, "{raw:?}");
    for id in &raw {
        let t = tables_holding(&first, id);
        assert!(t.is_empty(), "raw id {id} in {t:?}");
    }
    for f in crate::s3_support::files_under(&wh) {
        let bytes = std::fs::read(wh.join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(key1),
            "{f} holds the key"
        );
    }
    // user ids are hashes: 32 hex digits
    let ids: BTreeSet<String> = first["user_daily"]
        .iter()
        .filter_map(|r| {
            r.split(' ')
                .find_map(|c| c.strip_prefix("user_id="))
                .map(str::to_string)
        })
        .collect();
    assert!(
        ids.iter()
            .all(|i| i.len() == 32 && i.chars().all(|c| c.is_ascii_hexdigit())),
        "{ids:?}"
    );
    // same key, a full rebuild: the same tables (same pseudonyms)
    shoal_env(&p, &["run", "--full-refresh"], &[("TEST_SHOAL_KEY", key1)]).expect_code(0);
    assert_eq!(all_tables(&wh), first);
    shoal_env(&p, &["test"], &[("TEST_SHOAL_KEY", key1)]).expect_code(0);
    // another key: other pseudonyms for the same users
    shoal_env(
        &p,
        &[
            "run",
            "--full-refresh",
            "--set",
            "output.location=warehouse2",
        ],
        &[("TEST_SHOAL_KEY", key2)],
    )
    .expect_code(0);
    let other = all_tables(&p.path().join("warehouse2"));
    let ids2: BTreeSet<String> = other["user_daily"]
        .iter()
        .filter_map(|r| {
            r.split(' ')
                .find_map(|c| c.strip_prefix("user_id="))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(ids.len(), ids2.len());
    assert!(ids.is_disjoint(&ids2), "another key gives other pseudonyms");

    // Deletions name raw ids and still match: the user's pseudonym leaves every table.
    let pseudonym = |u: &str| shoal::functions::Pseudonymize::new(key1).hash(u);
    let raw_user = raw
        .iter()
        .find(|u| ids.contains(&pseudonym(u)))
        .expect("a raw user id whose pseudonym is in user_daily")
        .clone();
    let hashed = pseudonym(&raw_user);
    assert!(!tables_holding(&first, &hashed).is_empty());
    p.write(
        "data/deletions/deletions.csv",
        &format!("user_id,requested_at\n{raw_user},2026-11-01T00:00:00Z\n"),
    );
    shoal_env(&p, &["run"], &[("TEST_SHOAL_KEY", key1)]).expect_code(0);
    let after = all_tables(&wh);
    assert_eq!(tables_holding(&after, &hashed), Vec::<String>::new());
    assert!(tables_holding(&after, &raw_user).is_empty());
}

/// Same input, same output, to the bit: the pack run on the sample data
/// with one partition and with seven reads rows into its aggregates in
/// different orders, and every table is identical (money is summed as
/// decimals, which are exact; float sums differed in their last bits for a
/// few users between two such runs).
#[test]
fn every_table_is_bit_identical_whatever_the_partitioning() {
    let p = TempProject::with_repo_project();
    let sample = repo_root().join("data");
    let mut tables = Vec::new();
    for partitions in ["1", "7"] {
        let sets = [
            format!(
                "sources.events.location={}",
                sample.join("events").display()
            ),
            format!("sources.users.location={}", sample.join("users").display()),
            format!("output.location=warehouse_{partitions}"),
            format!("run.target_partitions={partitions}"),
        ];
        let mut args = vec!["run"];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        p.shoal(&args).expect_code(0);
        tables.push(all_tables(
            &p.path().join(format!("warehouse_{partitions}")),
        ));
    }
    assert_eq!(tables[0].len(), 44, "{:?}", tables[0].keys());
    let differ: Vec<&String> = tables[0]
        .iter()
        .filter(|(name, rows)| *rows != &tables[1][name.as_str()])
        .map(|(name, _)| name)
        .collect();
    assert!(
        differ.is_empty(),
        "tables that differ between 1 and 7 partitions: {differ:?}"
    );
}

/// Non-ASCII ids go through deduplication, `hash64`, the deletions CSV and
/// pseudonyms; a timestamp stored with a +08:00 offset is the instant it
/// names and lands on its UTC day.
#[test]
fn non_ascii_ids_and_timestamps_with_an_offset() {
    let deletions_csv = CONFIG.replace(
        "deletions: { location: data/deletions, optional: true }",
        "deletions: { location: data/deletions, optional: true, format: csv }",
    );
    let setup = |p: &TempProject| {
        p.write("config/shoal.yaml", &deletions_csv);
        p.events(
            "2026-11-20",
            "a",
            &[
                // the same event received twice: one after deduplication
                ev("事件-1", "2026-11-20 10:00:00", "用户一", "view"),
                ev("事件-1", "2026-11-20 10:00:00", "用户一", "view"),
                ev("événement", "2026-11-20 11:00:00", "émilie", "like"),
                ev("イベント", "2026-11-20 12:00:00", "ユーザー", "view"),
            ],
        );
        // dt=11-21 holds a like of 用户一 at 2026-11-21 07:30 +08:00, which
        // is 2026-11-20 23:30 UTC: a late event of 11-20, not one of 11-21.
        let b = crate::common::events_batch(&[ev("赞-1", "2026-11-20 23:30:00", "用户一", "like")]);
        let times = b
            .column(1)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap()
            .clone()
            .with_timezone("+08:00");
        let mut columns = b.columns().to_vec();
        columns[1] = Arc::new(times);
        let schema = events_schema_with(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+08:00".into())),
        );
        write_parquet(
            &p.path().join("data/events/dt=2026-11-21/offset.parquet"),
            &RecordBatch::try_new(schema, columns).unwrap(),
        );
        p.write(
            "data/deletions/deletions.csv",
            "user_id,requested_at\nユーザー,2026-11-01T00:00:00Z\n",
        );
    };
    let p = TempProject::with_repo_models();
    setup(&p);
    p.shoal(&["run", "--ds", "2026-11-20"]).expect_code(0);
    p.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    let rows: Vec<String> = p
        .table("user_daily", "dt, user_id")
        .into_iter()
        .map(|r| {
            // user_id, views, likes, events, dt
            let cell = |k: &str| {
                r.split(' ')
                    .find_map(|c| c.strip_prefix(&format!("{k}=")))
                    .unwrap()
                    .to_string()
            };
            format!(
                "{} {} views={} likes={} events={}",
                cell("dt"),
                cell("user_id"),
                cell("views"),
                cell("likes"),
                cell("events")
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // 事件-1 once (its duplicate dropped) + the +08:00 like, both on 11-20
            "2026-11-20 émilie views=0 likes=1 events=1",
            "2026-11-20 用户一 views=1 likes=1 events=2",
        ],
        "ユーザー is deleted; nothing lands on 11-21"
    );
    let tables = all_tables(&p.path().join("warehouse"));
    assert_eq!(tables_holding(&tables, "ユーザー"), Vec::<String>::new());
    assert!(!tables_holding(&tables, "用户一").is_empty());
    // hash64 of non-ASCII strings: stable across processes, distinct per id.
    let hashes = || {
        let q = p.shoal(&[
            "query",
            "select user_id, hash64(user_id) as h from events where dt = date '2026-11-20' group by user_id order by user_id",
            "--format",
            "csv",
        ]);
        q.expect_code(0);
        q.stdout()
    };
    let first = hashes();
    assert_eq!(first, hashes());
    let distinct: BTreeSet<&str> = first
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(distinct.len(), 3, "{first}");

    // Pseudonyms: the same ids hashed, deletions matched after hashing.
    let h = TempProject::with_repo_models();
    setup(&h);
    h.write(
        "config/shoal.yaml",
        &format!(
            "{deletions_csv}privacy: {{ hash_user_ids: true, hash_key_env: TEST_SHOAL_KEY }}\n"
        ),
    );
    let key = [("TEST_SHOAL_KEY", "k-Zq8NonAsciiKeyPp4Ll7Oo2")];
    shoal_env(&h, &["run", "--ds", "2026-11-20"], &key).expect_code(0);
    shoal_env(&h, &["run", "--ds", "2026-11-21"], &key).expect_code(0);
    let ids: Vec<String> = h
        .table("user_daily", "dt, user_id")
        .iter()
        .map(|r| {
            r.split(' ')
                .find_map(|c| c.strip_prefix("user_id="))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2, "two users, ユーザー deleted: {ids:?}");
    assert!(
        ids.iter()
            .all(|i| i.len() == 32 && i.chars().all(|c| c.is_ascii_hexdigit())),
        "{ids:?}"
    );
    assert_ne!(ids[0], ids[1]);
    let tables = all_tables(&h.path().join("warehouse"));
    for raw in ["用户一", "émilie", "ユーザー"] {
        assert_eq!(tables_holding(&tables, raw), Vec::<String>::new(), "{raw}");
    }
}

/// The path the memory retry exists for: two models whose hash joins each
/// fit the memory pool alone but not together. Run side by side, one runs
/// out of the pool, is run again alone once the other finished, and both
/// commit the right answer (exit 0). Alone (run.concurrency 1) the same
/// models fit: the retry is what makes the difference.
#[test]
fn a_model_out_of_memory_next_to_another_runs_again_alone_and_succeeds() {
    let p = TempProject::new();
    three_days(&p);
    // Each join's build side holds 3 M keys in the pool (tens of MB, it
    // cannot spill); 120 MiB gives a pool of 90 MiB: room for one.
    for m in ["join_a", "join_b"] {
        p.write(
            &format!("sql/{m}.sql"),
            "/*---\nmaterialized: table\n---*/\nselect count(*) as n\nfrom (select value from unnest(range(0, 3000000)) as t(value)) x\njoin (select value from unnest(range(0, 6000000)) as t(value)) y on x.value = y.value\n",
        );
    }
    let memory = ["--memory-limit", "120MiB"];
    // Alone, each model fits the pool: one at a time, both succeed (there
    // is no retry with run.concurrency 1, so a model that did not fit
    // would fail the run).
    p.shoal(&[&["run", "--set", "run.concurrency=1"][..], &memory].concat())
        .expect_code(0);
    let together = p.shoal(&[&["run", "--set", "run.concurrency=2"][..], &memory].concat());
    together.expect_code(0);
    let retried = together
        .stderr()
        .lines()
        .filter(|l| {
            l.contains("ran out of the memory pool next to other models; running it again alone")
        })
        .count();
    assert!(
        retried >= 1,
        "side by side, a model ran out of the pool and was run again:\n{}",
        together.stderr()
    );
    // 0 … 2,999,999 joined with 0 … 5,999,999: 3,000,000 matches.
    for m in ["join_a", "join_b"] {
        assert_eq!(p.table(m, "n"), ["n=3000000"], "{m}");
    }
    // The retry wrote files of its own name (`part-<run>-r2-<n>`), never
    // one the abandoned first attempt used, and its table holds only those.
    let run_id = p.latest()["run_id"].as_str().unwrap().to_string();
    let second = format!("part-{run_id}-r2-");
    let from_retry = ["join_a", "join_b"]
        .iter()
        .filter(|m| {
            let files = p.files(m);
            assert!(!files.is_empty(), "{m}: {files:?}");
            let retried = files.iter().filter(|f| f.contains(&second)).count();
            assert!(retried == 0 || retried == files.len(), "{m}: {files:?}");
            retried > 0
        })
        .count();
    assert_eq!(from_retry, retried, "tables written by a retry");
}

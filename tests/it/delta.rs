//! Delta Lake outputs seen from outside: a reader in another process,
//! looping over a partition while it is published again and again, only
//! ever sees the old or the new rows; older versions stay readable
//! (`shoal query --as-of`); a plain-Parquet output becomes a Delta table
//! that keeps its rows.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{CONFIG, Run, TempProject, ev};
use crate::s3_support::{Moto, delta_rs_storage_options, s3_output, shoal_s3};

const PUBLISHES: usize = 20;

/// A project whose one daily model `t` writes `vars.n` rows for the run day.
fn counting_project() -> TempProject {
    let p = TempProject::new();
    p.events(
        "2026-11-21",
        "a",
        &[ev("e1", "2026-11-21 10:00:00", "u1", "view")],
    );
    p.write("config/shoal.yaml", &format!("{CONFIG}  n: 1000\n"));
    p.write(
        "sql/t.sql",
        "select v as id, 'row ' || cast(v as varchar) as label, date '{{ ds }}' as dt\n\
         from unnest(range(0, {{ var.n }})) as u(v)\n",
    );
    p
}

/// The Python `deltalake` reader: counts the rows of `dt = day` in a loop
/// until `stop` exists, one line `start end rows` per read. The fourth
/// argument is its storage options as JSON.
const READER: &str = r#"
import json, os, sys, time
from deltalake import DeltaTable
path, day, stop, options = sys.argv[1:5]
options = json.loads(options)
while not os.path.exists(stop):
    t0 = time.time()
    try:
        n = DeltaTable(path, storage_options=options).to_pyarrow_table(partitions=[("dt", "=", day)]).num_rows
    except Exception as e:
        n = f"error:{type(e).__name__}:{e}".replace(" ", "_")
    print(f"{t0:.6f} {time.time():.6f} {n}", flush=True)
"#;

/// Publishes `t`'s partition [`PUBLISHES`] times (alternating 2000 and
/// 1000 rows) with `run` while the reader loops over `table`; asserts that
/// every read saw 1000 or 2000 rows and that reads overlapped publishes.
fn reader_loop(p: &TempProject, table: &str, options: &str, run: &dyn Fn(&[&str]) -> Run) {
    let stop = p.path().join("stop-reader");
    let _ = std::fs::remove_file(&stop);
    let mut reader = Command::new(crate::s3_support::python())
        .args(["-c", READER, table, "2026-11-21"])
        .arg(&stop)
        .arg(options)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = reader.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map(|l| l.unwrap())
            .collect::<Vec<_>>()
    });
    // Let the reader start reading, then publish the partition again and
    // again.
    std::thread::sleep(Duration::from_secs(2));
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let mut publishes = Vec::new();
    let started = Instant::now();
    for i in 0..PUBLISHES {
        let n = if i % 2 == 0 { "2000" } else { "1000" };
        let t0 = now();
        run(&["run", "--set", &format!("vars.n={n}")]).expect_code(0);
        publishes.push((t0, now()));
    }
    let publish_secs = started.elapsed().as_secs_f64();
    std::fs::write(&stop, "").unwrap();
    reader.wait().unwrap();
    let reads: Vec<(f64, f64, String)> = lines
        .join()
        .unwrap()
        .iter()
        .map(|l| {
            let mut f = l.split(' ');
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().to_string(),
            )
        })
        .collect();
    // Every read returned the old or the new row count, never a mix (3000)
    // nor a failure.
    let odd: Vec<_> = reads
        .iter()
        .filter(|(_, _, n)| n != "1000" && n != "2000")
        .collect();
    assert!(
        odd.is_empty(),
        "{table}: reads that were neither old nor new: {odd:?}"
    );
    // The reads did overlap the publishes: reads that ran while a run was
    // publishing, and both counts seen.
    let during = reads
        .iter()
        .filter(|(s, e, _)| publishes.iter().any(|(ps, pe)| s < pe && e > ps))
        .count();
    assert!(
        during >= PUBLISHES,
        "{table}: only {during} reads overlapped a publish"
    );
    assert!(
        reads.iter().any(|(_, _, n)| n == "1000") && reads.iter().any(|(_, _, n)| n == "2000"),
        "{table}: the reader did not see both counts"
    );
    eprintln!(
        "{table}: {} reads ({during} during a publish) over {PUBLISHES} publishes in {publish_secs:.1}s: \
         every one 1000 or 2000 rows",
        reads.len()
    );
}

#[test]
fn a_reader_sees_the_old_or_the_new_partition_never_a_mix() {
    let p = counting_project();
    p.shoal(&["run"]).expect_code(0);
    let table = p.path().join("warehouse/t");
    reader_loop(&p, table.to_str().unwrap(), "{}", &|args| p.shoal(args));

    // Time travel: version 0 is the first run (1000 rows), version 1 the
    // first publish of the loop (2000); the newest is the last (1000).
    let count_at = |as_of: Option<&str>| {
        let mut args = vec!["query", "select count(*) as n from t", "--format", "csv"];
        if let Some(v) = as_of {
            args.extend(["--as-of", v]);
        }
        let run = p.shoal(&args);
        run.expect_code(0);
        run.stdout().lines().nth(1).unwrap().to_string()
    };
    assert_eq!(count_at(Some("0")), "1000");
    assert_eq!(count_at(Some("1")), "2000");
    assert_eq!(count_at(None), "1000");
    let latest = p.latest();
    let version = crate::common::model_record(&latest, "t")["delta_version"].as_i64();
    assert_eq!(version, Some(PUBLISHES as i64), "{latest}");
    // A version that does not exist is an error that says so.
    let run = p.shoal(&["query", "select 1 from t", "--as-of", "999"]);
    assert_ne!(run.code(), 0);
}

#[test]
fn a_plain_parquet_output_becomes_a_delta_table_with_the_same_rows() {
    let p = counting_project();
    // An output written by plain-Parquet shoal: no log.
    p.shoal(&["run", "--set", "output.format=parquet"])
        .expect_code(0);
    let table = p.path().join("warehouse/t");
    assert!(!table.join("_delta_log").exists());
    let plain = p.table("t", "id");
    assert_eq!(plain.len(), 1000);
    // `shoal query` with Delta outputs before any Delta run: still the rows.
    let run = p.shoal(&["run", "--set", "vars.n=1000"]);
    run.expect_code(0);
    assert!(
        p.latest()["warnings"]
            .to_string()
            .contains("became Delta table version 0"),
        "{}",
        p.latest()
    );
    assert!(table.join("_delta_log").is_dir());
    assert_eq!(p.table("t", "id"), plain);
    // Version 0 is the plain output as it was.
    let run = p.shoal(&[
        "query",
        "select count(*) as n from t",
        "--as-of",
        "0",
        "--format",
        "csv",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout().lines().nth(1), Some("1000"));
}

#[test]
fn shoal_migrate_turns_a_plain_parquet_output_into_delta_before_any_run() {
    let p = counting_project();
    p.shoal(&["run", "--set", "output.format=parquet"])
        .expect_code(0);
    let table = p.path().join("warehouse/t");
    let plain = p.table("t", "id");
    // With plain outputs configured there is nothing to migrate to.
    let run = p.shoal(&["migrate", "--set", "output.format=parquet"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("output.format is parquet"),
        "{}",
        run.stderr()
    );
    assert!(!table.join("_delta_log").exists());
    // The command adopts the files as version 0, under the lease, and runs
    // no model: no run record appears.
    let run = p.shoal(&["migrate"]);
    run.expect_code(0);
    assert!(
        run.stderr()
            .contains("t: the plain Parquet output became Delta table version 0"),
        "{}",
        run.stderr()
    );
    assert!(table.join("_delta_log/00000000000000000000.json").is_file());
    assert!(!table.join("_delta_log/00000000000000000001.json").exists());
    assert!(
        !p.path().join("warehouse/_shoal/lock").exists(),
        "the lease is let go"
    );
    assert_eq!(p.table("t", "id"), plain);
    // Once is enough: a second migrate and the next run adopt nothing.
    let run = p.shoal(&["migrate"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("nothing to migrate"),
        "{}",
        run.stderr()
    );
    p.shoal(&["run", "--set", "vars.n=1000"]).expect_code(0);
    assert!(
        !p.latest()["warnings"]
            .to_string()
            .contains("became Delta table"),
        "{}",
        p.latest()
    );
}

#[test]
fn on_s3_a_reader_sees_the_old_or_the_new_partition_never_a_mix() {
    let moto = Moto::start();
    moto.create_bucket("shoal");
    let p = counting_project();
    p.write(
        "config/s3.yaml",
        &format!("{CONFIG}  n: 1000\n").replace(
            "output: { location: warehouse }\n",
            &s3_output(&moto.endpoint(), "shoal", ""),
        ),
    );
    let run = |args: &[&str]| shoal_s3(&p, "config/s3.yaml", args, &[]);
    run(&["run"]).expect_code(0);
    reader_loop(
        &p,
        "s3://shoal/warehouse/t",
        &delta_rs_storage_options(moto.port),
        &run,
    );
    let query = run(&[
        "query",
        "select count(*) as n from t",
        "--as-of",
        "1",
        "--format",
        "csv",
    ]);
    query.expect_code(0);
    assert_eq!(query.stdout().lines().nth(1), Some("2000"));

    // Two runs started together against the one output: the lease (a
    // conditional PUT) lets one through; the other exits 4 naming the
    // holder; the table gains exactly one version.
    let spawn = |n: &str| {
        let p = p.path().to_path_buf();
        let n = n.to_string();
        std::thread::spawn(move || {
            let mut cmd = crate::common::shoal_command();
            cmd.args([
                "run",
                "--set",
                &format!("vars.n={n}"),
                "--config",
                "config/s3.yaml",
                "--project-dir",
            ])
            .arg(&p)
            .current_dir(&p)
            .env_remove("RUST_LOG")
            .env("AWS_ACCESS_KEY_ID", crate::s3_support::KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", crate::s3_support::SECRET);
            cmd.output().unwrap()
        })
    };
    let (a, b) = (spawn("3000"), spawn("4000"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    let both = format!(
        "a: {}\nb: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(codes, [0, 4], "{both}");
    assert!(both.contains("holds the output lease"), "{both}");
    let winner = if a.status.code() == Some(0) {
        "3000"
    } else {
        "4000"
    };
    let count = |v: &str| {
        let q = run(&[
            "query",
            "select count(*) as n from t",
            "--as-of",
            v,
            "--format",
            "csv",
        ]);
        q.expect_code(0);
        q.stdout().lines().nth(1).unwrap().to_string()
    };
    let next = (PUBLISHES + 1).to_string();
    assert_eq!(count(&next), winner);
    let beyond = run(&[
        "query",
        "select 1 from t",
        "--as-of",
        &(PUBLISHES + 2).to_string(),
    ]);
    assert_ne!(beyond.code(), 0, "one version per winning run, not two");
}

/// Schema evolution of a daily model (docs/outputs.md#commit-protocol):
/// an added column reads as NULL in older partitions, a dropped one
/// disappears, a type change is refused while old partitions stay and goes
/// through when a full refresh replaces every day.
#[test]
fn a_daily_model_adds_drops_and_retypes_columns() {
    let p = TempProject::new();
    crate::cli::three_days(&p); // events on 11-19, 11-20, 11-21
    let model = |header: &str, select: &str| {
        p.write(
            "sql/m.sql",
            &format!("/*---\nmaterialized: daily\n{header}---*/\n{select}\n"),
        )
    };
    model("", "select 1 as a, date '{{ ds }}' as dt");
    p.shoal(&["run", "--ds", "2026-11-19"]).expect_code(0);

    // Adds b: the older partition reads NULL in it.
    model("", "select 1 as a, 'x' as b, date '{{ ds }}' as dt");
    p.shoal(&["run", "--ds", "2026-11-20"]).expect_code(0);
    assert_eq!(
        p.table("m", "dt"),
        ["a=1 b=NULL dt=2026-11-19", "a=1 b=x dt=2026-11-20"]
    );

    // Drops a: the table no longer has it, older rows keep b.
    model("", "select 'y' as b, date '{{ ds }}' as dt");
    p.shoal(&["run", "--ds", "2026-11-21"]).expect_code(0);
    let before = p.table("m", "dt");
    assert_eq!(
        before,
        [
            "b=NULL dt=2026-11-19",
            "b=x dt=2026-11-20",
            "b=y dt=2026-11-21"
        ]
    );
    // shoal's own reader agrees.
    let q = p.shoal(&[
        "query",
        "select b, dt from m order by dt",
        "--format",
        "csv",
    ]);
    q.expect_code(0);
    assert_eq!(
        q.stdout().lines().collect::<Vec<_>>(),
        ["b,dt", ",2026-11-19", "x,2026-11-20", "y,2026-11-21"]
    );

    // Retypes b while 11-19 and 11-20 stay: refused, nothing committed.
    model("", "select 2 as b, date '{{ ds }}' as dt");
    let run = p.shoal(&["run", "--ds", "2026-11-21"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(
        err.contains("sql/m.sql: column \"b\" changed type from string to")
            && err.contains("dt=2026-11-19, dt=2026-11-20")
            && err.contains("--full-refresh --select m"),
        "{err}"
    );
    assert_eq!(
        p.table("m", "dt"),
        before,
        "the failed run committed nothing"
    );

    // A model that rewrites days rebuilds every day on a full refresh:
    // every file is replaced, so the new type goes through.
    model(
        "rewrites_days: 1\n",
        "select 2 as b, dt from events group by dt",
    );
    p.shoal(&["run", "--ds", "2026-11-21", "--full-refresh"])
        .expect_code(0);
    assert_eq!(
        p.table("m", "dt"),
        [
            "b=2 dt=2026-11-19",
            "b=2 dt=2026-11-20",
            "b=2 dt=2026-11-21"
        ]
    );
}

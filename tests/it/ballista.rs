//! The model pack on a Ballista cluster: `shoal scheduler` and two
//! `shoal executor` child processes on 127.0.0.1, the full pack run with
//! `--engine ballista://…` on generated data, and every output table compared
//! row by row with a local run of the same project.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TempProject;
use crate::s3_support::{table_text, tables_in};

/// A child process killed (and its log kept) when the test ends.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, dir: &Path, args: &[&str]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
            .args(args)
            .arg("--project-dir")
            .arg(dir)
            .args(["--log-format", "text"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start shoal {args:?}: {e}"));
        Self {
            name: name.to_string(),
            child,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `port` on 127.0.0.1 accepts connections; panics with the log otherwise.
    fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} does not listen on {port}:\n{}", self.name, self.log());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn pack_on_ballista_cluster_matches_local_run() {
    let started = Instant::now();
    let p = TempProject::with_repo_project();
    p.generate(&["--users", "300", "--days", "20", "--seed", "3"]);

    // The reference: the same project on the local engine.
    let local = p.shoal(&["run", "--set", "output.location=warehouse_local"]);
    local.expect_code(0);
    let local_secs = started.elapsed().as_secs_f64();

    // A scheduler and two executors, each a `shoal` process.
    let sched_port = free_port();
    let mut scheduler = Proc::spawn(
        "scheduler",
        p.path(),
        &["scheduler", "--bind", &format!("127.0.0.1:{sched_port}")],
    );
    scheduler.wait_for_port(sched_port);
    let mut executors = vec![];
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = p.path().join(format!("executor-{i}"));
        let mut e = Proc::spawn(
            &format!("executor-{i}"),
            p.path(),
            &[
                "executor",
                "--scheduler",
                &format!("127.0.0.1:{sched_port}"),
                "--bind-host",
                "127.0.0.1",
                "--external-host",
                "127.0.0.1",
                "--port",
                &flight.to_string(),
                "--grpc-port",
                &grpc.to_string(),
                "--vcores",
                "2",
                "--work-dir",
                work.to_str().unwrap(),
                "--memory-limit",
                "2GiB",
            ],
        );
        e.wait_for_port(flight);
        executors.push(e);
    }

    let t = Instant::now();
    let engine = format!("ballista://127.0.0.1:{sched_port}");
    // Ballista 55 can drop a task status ("task metrics array size N does
    // not equal the stage metrics array size M") and leave a job waiting
    // for ever; a deadline turns that into a failure with the logs.
    let mut client = Proc::spawn(
        "client",
        p.path(),
        &[
            "run",
            "--engine",
            &engine,
            "--set",
            "output.location=warehouse_ballista",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = client.child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.is_none_or(|s| !s.success()) {
        for proc in [&client, &scheduler].into_iter().chain(&executors) {
            eprintln!("--- {} log\n{}", proc.name, proc.log());
        }
        panic!("the run on Ballista did not succeed within 300 s: {status:?}");
    }
    let dist_secs = t.elapsed().as_secs_f64();

    // Both executors ran tasks of the pack.
    for e in &executors {
        let log = e.log();
        assert!(log.contains("task"), "{} ran no task:\n{log}", e.name);
    }

    let local_dir = p.path().join("warehouse_local");
    let dist_dir = p.path().join("warehouse_ballista");
    let names = tables_in(&local_dir);
    assert_eq!(names, tables_in(&dist_dir), "the same tables are written");
    assert!(names.len() >= 20, "the pack writes its tables: {names:?}");
    let mut total_rows = 0;
    for name in &names {
        let (ls, lrows) = table_text(&local_dir.join(name));
        let (ds, drows) = table_text(&dist_dir.join(name));
        assert_eq!(ls, ds, "{name}: schema");
        assert_eq!(lrows.len(), drows.len(), "{name}: row count");
        for (i, (l, d)) in lrows.iter().zip(&drows).enumerate() {
            assert_eq!(l, d, "{name}: sorted row {i} differs");
        }
        total_rows += lrows.len();
    }

    // The temp table went to the shared output store, and is gone again.
    let staging = dist_dir.join("_shoal/staging");
    assert!(
        !staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(),
        "the run leaves nothing in {}",
        staging.display()
    );
    // The run record of the distributed run names the partitions it read.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dist_dir.join("_shoal/latest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["exit_code"], 0);
    let stg = crate::common::model_record(&record, "dq_daily");
    assert!(
        !stg["partitions_read"].as_array().unwrap().is_empty(),
        "{stg}"
    );
    // The staging table was materialized once (a view would have no rows).
    let stg = crate::common::model_record(&record, "stg_valid_events");
    assert_eq!(stg["materialized"], "temp", "{stg}");
    assert!(stg["rows"].as_u64().is_some_and(|n| n > 0), "{stg}");
    eprintln!(
        "{} tables, {total_rows} rows identical; local run {local_secs:.1} s (incl. generate), ballista run {dist_secs:.1} s",
        names.len()
    );
}

//! The model pack on a Ballista cluster: `shoal scheduler` and two
//! `shoal executor` child processes on 127.0.0.1, the full pack run with
//! `--engine ballista://…` on generated data, and every output table compared
//! row by row with a local run of the same project.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
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
        Self::spawn_env(name, dir, args, &[])
    }

    fn spawn_env(name: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = crate::common::shoal_command()
            .envs(env.iter().copied())
            .args(args)
            .arg("--project-dir")
            .arg(dir)
            .args(["--log-format", "text"])
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

    /// Waits up to `limit` for the process to exit; `None` if it still runs.
    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
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

/// A `shoal scheduler` on a free port of 127.0.0.1, listening.
fn scheduler(dir: &Path) -> (Proc, u16) {
    let port = free_port();
    let mut scheduler = Proc::spawn(
        "scheduler",
        dir,
        &["scheduler", "--bind", &format!("127.0.0.1:{port}")],
    );
    scheduler.wait_for_port(port);
    (scheduler, port)
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
    let (scheduler, sched_port) = scheduler(p.path());
    let mut executors = vec![];
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = p.path().join(format!("executor-{i}"));
        // Ballista's executor logs each task's result at debug level
        // ("Task [TID …], execution statistics: Ok(…)"): the proof below
        // that both executors completed tasks.
        let mut e = Proc::spawn_env(
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
            &[(
                "RUST_LOG",
                "info,ballista_executor::executor_server=debug,buoyant_kernel=warn,deltalake_core=warn",
            )],
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
    let status = client.wait(Duration::from_secs(300));
    if status.is_none_or(|s| !s.success()) {
        for proc in [&client, &scheduler].into_iter().chain(&executors) {
            eprintln!("--- {} log\n{}", proc.name, proc.log());
        }
        panic!("the run on Ballista did not succeed within 300 s: {status:?}");
    }
    let dist_secs = t.elapsed().as_secs_f64();

    // Both executors completed tasks of the pack's jobs: start-up lines
    // ("Starting the task runner pool") do not count, only a task's
    // successful result.
    let mut completed = vec![];
    for e in &executors {
        let log = e.log();
        let ok = log
            .lines()
            .filter(|l| l.contains("execution statistics: Ok("))
            .count();
        let failed = log
            .lines()
            .filter(|l| l.contains("execution statistics: Err("))
            .count();
        assert!(ok > 0, "{} completed no task:\n{log}", e.name);
        assert_eq!(failed, 0, "{} had failed tasks:\n{log}", e.name);
        completed.push(ok);
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
        "{} tables, {total_rows} rows identical; tasks completed per executor {completed:?}; local run {local_secs:.1} s (incl. generate), ballista run {dist_secs:.1} s",
        names.len()
    );
}

/// A scheduler nobody can reach stops the run before it takes the lease
/// (exit 2): nothing is written to the output.
#[test]
fn unreachable_scheduler_exits_2_before_the_lease() {
    let p = TempProject::with_repo_project();
    p.generate(&["--users", "20", "--days", "2", "--seed", "3"]);
    let port = free_port(); // bound and released: nothing listens there
    let run = p.shoal(&["run", "--engine", &format!("ballista://127.0.0.1:{port}")]);
    run.expect_code(2);
    assert!(
        run.stderr().contains(&format!(
            "cannot reach the Ballista scheduler at 127.0.0.1:{port}"
        )),
        "{}",
        run.stderr()
    );
    assert!(
        !p.path().join("warehouse").exists(),
        "the run wrote to the output before it failed"
    );
}

/// A scheduler with no executor never runs a task and never says so: the
/// model deadline ends the run with exit 1 and a message that names the
/// limit and the scheduler; nothing is committed and the lease is let go.
#[test]
fn cluster_without_executors_fails_at_the_model_deadline() {
    let p = TempProject::with_repo_project();
    p.generate(&["--users", "20", "--days", "2", "--seed", "3"]);
    let (_scheduler, sched_port) = scheduler(p.path());
    let engine = format!("ballista://127.0.0.1:{sched_port}");
    let mut client = Proc::spawn(
        "client",
        p.path(),
        &[
            "run",
            "--engine",
            &engine,
            "--select",
            "+dq_daily",
            "--set",
            "run.model_timeout=5s",
        ],
    );
    // A watchdog, not a timing check: without the deadline the run waits
    // for ever, and the test must fail rather than hang.
    let Some(status) = client.wait(Duration::from_secs(600)) else {
        panic!("the run still waits after 600 s:\n{}", client.log());
    };
    assert_eq!(status.code(), Some(1), "{}", client.log());
    let err = client.log();
    assert!(
        err.contains("run.model_timeout (5s)") && err.contains(&engine),
        "the failure names the limit and the engine:\n{err}"
    );
    let warehouse = p.path().join("warehouse");
    assert!(
        !warehouse.join("dq_daily/_delta_log").exists(),
        "nothing was committed"
    );
    assert!(
        !warehouse.join("_shoal/lock").exists(),
        "the lease is let go"
    );
}

/// An executor killed with SIGKILL in the middle of a run: the run ends
/// either way, never waits for ever, and never commits a wrong table. Either
/// the other executor finishes the jobs (exit 0), or a model fails (exit 1)
/// — at `run.model_timeout` or `run.timeout` when its tasks are lost (a
/// message naming the limit and the scheduler), or because its data tests
/// refuse what the cluster returned: Ballista 55 can return a job's result
/// partitions twice after losing an executor (docs/operations.md#ballista),
/// which the audits catch (stg_valid_events' `unique(event_id)` on a
/// cluster, each published model's own tests). Whatever the exit, every
/// table a model of the run committed equals the same run on the local
/// engine, and the lease is let go.
#[test]
fn an_executor_killed_mid_run_ends_the_run() {
    let p = TempProject::with_repo_project();
    p.generate(&["--users", "300", "--days", "20", "--seed", "3"]);
    let (_scheduler, sched_port) = scheduler(p.path());
    let mut executors = vec![];
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = p.path().join(format!("executor-{i}"));
        let mut e = Proc::spawn_env(
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
            ],
            &[(
                "RUST_LOG",
                "info,ballista_executor::executor_server=debug,buoyant_kernel=warn,deltalake_core=warn",
            )],
        );
        e.wait_for_port(flight);
        executors.push(e);
    }
    let engine = format!("ballista://127.0.0.1:{sched_port}");
    let mut client = Proc::spawn(
        "client",
        p.path(),
        &[
            "run",
            "--engine",
            &engine,
            "--set",
            "run.model_timeout=45s",
            "--set",
            "run.timeout=240s",
        ],
    );
    // kill executor-1 once it has completed a task of the run
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut killed = false;
    while Instant::now() < deadline {
        if executors[1].log().contains("execution statistics: Ok(") {
            executors[1].child.kill().unwrap();
            executors[1].child.wait().unwrap();
            killed = true;
            break;
        }
        if client.wait(Duration::from_millis(50)).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        killed,
        "executor-1 ran no task before the run ended:\n{}\n{}",
        client.log(),
        executors[1].log()
    );
    // A watchdog, not a timing check: the run must end on its own.
    let Some(status) = client.wait(Duration::from_secs(600)) else {
        panic!(
            "the run still waits 600 s after the kill:\n{}",
            client.log()
        );
    };
    let log = client.log();
    let warehouse = p.path().join("warehouse");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(warehouse.join("_shoal/latest.json")).unwrap(),
    )
    .unwrap();
    match status.code() {
        Some(0) => assert_eq!(record["exit_code"], 0, "{record}"),
        Some(1) => {
            let timed_out =
                log.contains("run.model_timeout (45s)") || log.contains("run.timeout (240s)");
            let refused = log.contains("data tests failed");
            assert!(
                timed_out || refused,
                "the failure names the limit or the refused data tests:\n{log}"
            );
            if timed_out && !refused {
                assert!(
                    log.contains(&engine) || log.contains("run.timeout (240s)"),
                    "the failure names the scheduler:\n{log}"
                );
            }
        }
        other => panic!("exit {other:?}, expected 0 or 1:\n{log}"),
    }
    assert!(
        !warehouse.join("_shoal/lock").exists(),
        "the lease is let go"
    );
    // Nothing wrong was committed: the tables of the models that succeeded
    // equal a run of the same project on the local engine.
    p.shoal(&["run", "--set", "output.location=warehouse-local"])
        .expect_code(0);
    let ok: Vec<String> = record["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "success")
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    let local = crate::s3_support::warehouse_tables(&p.path().join("warehouse-local"));
    let cluster = crate::s3_support::warehouse_tables(&warehouse);
    let only = |m: &std::collections::BTreeMap<String, (String, Vec<String>)>| {
        m.iter()
            .filter(|(t, _)| ok.contains(t) && cluster.contains_key(*t))
            .map(|(t, v)| (t.clone(), v.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert!(
        !only(&cluster).is_empty() || status.code() == Some(1),
        "{record}"
    );
    crate::s3_support::assert_same_tables(
        "committed after an executor was killed vs the local engine",
        &only(&local),
        &only(&cluster),
    );
    eprintln!(
        "executor killed mid-run: exit {:?}; client log tail:\n{}",
        status.code(),
        log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
}

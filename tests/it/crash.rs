//! Crash safety: `shoal run` killed with SIGKILL at many moments, then run
//! again, ends with the same tables as a run that was never interrupted.
//! Right after each kill every table reads whole at its newest Delta
//! version; a kill during a rerun (same input) leaves every table equal to
//! the clean run's, whichever of its commits had happened. The same kills
//! are dealt on local disk and on the S3 test server.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::TempProject;
use crate::s3_support::{
    KEY_ID, Moto, SECRET, assert_same_tables, files_under, mirror, s3_output, shoal_s3,
    test_client, warehouse_tables,
};

/// Kills per test; with the reruns about a minute on local disk, four on S3.
const KILLS: u32 = 30;

/// What the output holds right after a kill.
#[derive(Debug, Default)]
struct Seen {
    /// Data files that no commit of their table names: written by the
    /// killed run between its first data file and its log commit.
    uncommitted: Vec<String>,
}

/// Replays every table's `_delta_log/*.json` (read here as plain JSON, not
/// through shoal or delta-rs) and lists the data files no commit added.
fn inspect(warehouse: &Path) -> Seen {
    let mut seen = Seen::default();
    let Ok(tables) = std::fs::read_dir(warehouse) else {
        return seen;
    };
    for t in tables.flatten() {
        let name = t.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || !t.path().is_dir() {
            continue;
        }
        let mut named: BTreeSet<String> = BTreeSet::new();
        let log = t.path().join("_delta_log");
        for f in files_under(&log) {
            if !f.ends_with(".json") {
                continue;
            }
            for line in std::fs::read_to_string(log.join(&f)).unwrap().lines() {
                let action: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("{name}/_delta_log/{f}: a log entry that is not JSON ({e})")
                });
                for kind in ["add", "remove"] {
                    if let Some(path) = action[kind]["path"].as_str() {
                        named.insert(path.to_string());
                    }
                }
            }
        }
        for f in files_under(&t.path()) {
            if f.ends_with(".parquet") && !named.contains(&f) {
                seen.uncommitted.push(format!("{name}/{f}"));
            }
        }
    }
    seen
}

/// Where the killed runs write: the project's `warehouse/` on local disk,
/// or `s3://shoal/warehouse` on a moto server (its `config/s3.yaml`).
enum Target {
    Local,
    S3(Moto),
}

impl Target {
    fn config(&self) -> Option<&'static str> {
        match self {
            Target::Local => None,
            Target::S3(_) => Some("config/s3.yaml"),
        }
    }

    /// The models the runs build: the whole pack on local disk; on S3,
    /// where every request goes through a server in Python, the staging
    /// chain and ten published models down to user_segments and
    /// community_daily, so that 30 kills and reruns take minutes.
    fn select(&self) -> &'static [&'static str] {
        match self {
            Target::Local => &[],
            Target::S3(_) => &["--select", "+user_segments,+community_daily"],
        }
    }

    /// How many models of the selection write files (the "executed and staged" log lines a run prints).
    fn writing_models(&self) -> usize {
        match self {
            Target::Local => 20,
            Target::S3(_) => 10,
        }
    }

    fn shoal(&self, p: &TempProject, args: &[&str]) -> crate::common::Run {
        let args: Vec<&str> = args.iter().chain(self.select()).copied().collect();
        let args = &args[..];
        match self.config() {
            None => p.shoal(args),
            Some(config) => shoal_s3(p, config, args, &[]),
        }
    }

    /// The output as a local directory: itself, or a fresh copy of the
    /// bucket's objects.
    fn warehouse(&self, p: &TempProject) -> std::path::PathBuf {
        match self {
            Target::Local => p.path().join("warehouse"),
            Target::S3(moto) => {
                let dir = p.path().join("s3-mirror");
                mirror(moto.port, "shoal", "warehouse", &dir);
                dir
            }
        }
    }

    /// Empties the output, for a first build.
    fn clear(&self, p: &TempProject) {
        match self {
            Target::Local => {
                let _ = std::fs::remove_dir_all(p.path().join("warehouse"));
            }
            Target::S3(moto) => {
                use futures::TryStreamExt;
                use object_store::{ObjectStore, ObjectStoreExt};
                let (store, rt) = test_client(moto.port, "shoal");
                rt.block_on(async {
                    let prefix = object_store::path::Path::from("warehouse");
                    let all: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
                    for o in all {
                        store.delete(&o.location).await.unwrap();
                    }
                });
            }
        }
    }
}

fn spawn_run(p: &TempProject, target: &Target, watch: bool) -> std::process::Child {
    let mut cmd = crate::common::shoal_command();
    cmd.args(["run", "--log-format", "json", "--project-dir"])
        .arg(p.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    cmd.args(target.select());
    if let Some(config) = target.config() {
        cmd.args(["--config", config])
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .current_dir(p.path());
    }
    if watch {
        cmd.arg("-v").stderr(Stdio::piped());
    } else {
        cmd.stderr(Stdio::null());
    }
    cmd.spawn().expect("start shoal run")
}

/// Reads the run's JSON log until the `n`-th model reports its files
/// written ("executed and staged": written, neither audited nor committed)
/// and returns; `false` when the run ended first.
fn wait_for_staged(child: &mut std::process::Child, n: usize) -> bool {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    for line in std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
    {
        if line.contains("\"executed and staged\"") {
            seen += 1;
            if seen == n {
                return true;
            }
        }
    }
    false
}

#[test]
fn sigkill_at_any_moment_then_rerun_gives_the_clean_tables() {
    kill_and_rerun(Target::Local);
}

#[test]
fn on_s3_sigkill_at_any_moment_then_rerun_gives_the_clean_tables() {
    let moto = Moto::start();
    moto.create_bucket("shoal");
    kill_and_rerun(Target::S3(moto));
}

fn kill_and_rerun(target: Target) {
    let p = TempProject::with_repo_models();
    p.generate(&["--users", "150", "--days", "8", "--seed", "3"]);
    if let Target::S3(moto) = &target {
        // The events stay on local disk; the output is the bucket.
        let config = std::fs::read_to_string(p.path().join("config/shoal.yaml")).unwrap();
        let output = config
            .lines()
            .find(|l| l.starts_with("output:"))
            .expect("an output line in the test config");
        p.write(
            "config/s3.yaml",
            &config.replace(
                &format!("{output}\n"),
                &s3_output(&moto.endpoint(), "shoal", ""),
            ),
        );
    }
    // The reference: a run that is never interrupted, into its own local
    // output; then the target timed as a first build and as a rerun over
    // committed output.
    let mut clean = vec!["run", "--set", "output.location=clean"];
    clean.extend(target.select());
    p.shoal(&clean).expect_code(0);
    let expected = warehouse_tables(&p.path().join("clean"));
    let timed = || {
        let t = Instant::now();
        target.shoal(&p, &["run"]).expect_code(0);
        t.elapsed().as_secs_f64()
    };
    let first_secs = timed();
    let rerun_secs = timed();
    assert_same_tables(
        "an uninterrupted run",
        &expected,
        &warehouse_tables(&target.warehouse(&p)),
    );

    let mut finished_before_kill = 0;
    let mut uncommitted_after_kill = 0;
    for i in 0..KILLS {
        // Every third kill hits a first build (empty output), the others a
        // rerun that replaces committed partitions.
        let first_build = i % 3 == 0;
        if first_build {
            target.clear(&p);
        }
        let secs = if first_build { first_secs } else { rerun_secs };
        // Even kills come at an instant spread over the run, up to the end
        // of its last commits; odd ones right after the log says a model's
        // files are written (the window the commit protects), whatever the
        // load on the machine.
        let delay = Duration::from_secs_f64(secs * 0.95 * (f64::from(i) + 0.5) / f64::from(KILLS));
        let watch = i % 2 == 1;
        let mut child = spawn_run(&p, &target, watch);
        let when = if watch {
            let n = (i as usize / 2) % target.writing_models() + 1;
            let _ = wait_for_staged(&mut child, n);
            format!("after model {n} wrote its files")
        } else {
            std::thread::sleep(delay);
            format!("after {delay:?}")
        };
        match child.try_wait().unwrap() {
            Some(_) => finished_before_kill += 1,
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
            }
        }
        let warehouse = target.warehouse(&p);
        let seen = inspect(&warehouse);
        if !seen.uncommitted.is_empty() {
            uncommitted_after_kill += 1;
        }
        // Every table reads whole at its newest version (warehouse_tables
        // opens each through delta-rs); after a killed rerun of the same
        // input each one is the clean run's, old version or new.
        // (A first build killed before a table's first commit leaves no
        // table there to read: its directory may hold files and no version.)
        if !first_build {
            assert_same_tables(
                &format!("kill {i} {when} during a rerun, before any rerun"),
                &expected,
                &warehouse_tables(&warehouse),
            );
        }
        let rerun = target.shoal(&p, &["run"]);
        rerun.expect_code(0);
        let warehouse = target.warehouse(&p);
        assert!(
            !warehouse.join("_shoal/lock").exists(),
            "kill {i}: lease left behind"
        );
        assert_same_tables(
            &format!("kill {i} {when}, then a rerun"),
            &expected,
            &warehouse_tables(&warehouse),
        );
    }
    eprintln!(
        "{}: {KILLS} kills over a {first_secs:.1}s first build / {rerun_secs:.1}s rerun: {} killed mid-run, \
         {finished_before_kill} finished first; {uncommitted_after_kill} left data files written but not committed",
        if target.config().is_some() {
            "s3"
        } else {
            "local disk"
        },
        KILLS - finished_before_kill
    );
    // The kills must have hit the window the commit protects: files
    // written, log entry not yet.
    assert!(
        uncommitted_after_kill > 0,
        "no kill landed between a model's first data file and its commit"
    );
    // Timing varies with load (tests run in parallel); the kills only need
    // to land inside the run most of the time to be worth their minute.
    assert!(
        finished_before_kill <= KILLS / 2,
        "only {} of {KILLS} kills landed inside a run",
        KILLS - finished_before_kill
    );
}

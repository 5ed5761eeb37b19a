//! Crash safety: `shoal run` killed with SIGKILL at many moments, then run
//! again, ends with the same tables as a run that was never interrupted,
//! and readers never find staging files or half-written files in the model
//! directories.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TempProject;
use crate::s3_support::{assert_same_tables, files_under, warehouse_tables};

/// Kills per test; together with the reruns they take about a minute here.
const KILLS: u32 = 30;

/// What a reader listing the model directories sees right after a kill.
#[derive(Debug, Default)]
struct Seen {
    /// Partitions (model/dt=…) holding files of two runs: old and new side by side.
    doubled: Vec<String>,
    /// Whether a commit intent was left for the next run to finish.
    intents: usize,
}

/// Checks every file under the model directories is a committed
/// `part-<run_id>-<n>.parquet` and groups them by partition and run.
fn inspect(warehouse: &Path) -> Seen {
    let mut by_partition: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for f in files_under(warehouse) {
        if f.starts_with("_shoal/") {
            continue;
        }
        let (dir, name) = f.rsplit_once('/').unwrap_or(("", &f));
        let run = name
            .strip_prefix("part-")
            .and_then(|r| r.strip_suffix(".parquet"))
            .and_then(|r| r.rsplit_once('-'))
            .map(|(run, n)| {
                assert!(n.parse::<u32>().is_ok(), "{f}: not a committed file name");
                run.to_string()
            })
            .unwrap_or_else(|| panic!("{f}: a reader sees a file that is not a committed part"));
        by_partition.entry(dir.to_string()).or_default().insert(run);
    }
    let intents = std::fs::read_dir(warehouse.join("_shoal/commits"))
        .map(|rd| rd.count())
        .unwrap_or(0);
    Seen {
        doubled: by_partition
            .into_iter()
            .filter(|(_, runs)| runs.len() > 1)
            .map(|(p, _)| p)
            .collect(),
        intents,
    }
}

fn spawn_run(p: &TempProject) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["run", "--log-format", "json", "--project-dir"])
        .arg(p.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start shoal run")
}

#[test]
fn sigkill_at_any_moment_then_rerun_gives_the_clean_tables() {
    let p = TempProject::with_repo_models();
    p.generate(&["--users", "150", "--days", "8", "--seed", "3"]);
    // The reference: a run that is never interrupted, into its own output;
    // timed as a first build and as a rerun over committed output.
    let timed = || {
        let t = Instant::now();
        p.shoal(&["run", "--set", "output.location=clean"])
            .expect_code(0);
        t.elapsed().as_secs_f64()
    };
    let first_secs = timed();
    let rerun_secs = timed();
    let expected = warehouse_tables(&p.path().join("clean"));
    let warehouse = p.path().join("warehouse");

    let mut doubled_after_kill = 0;
    let mut finished_before_kill = 0;
    let mut intent_after_kill = 0;
    let mut staging_after_kill = 0;
    for i in 0..KILLS {
        // Every third kill hits a first build (empty output), the others a
        // rerun that replaces committed partitions.
        if i % 3 == 0 {
            let _ = std::fs::remove_dir_all(&warehouse);
        }
        let secs = if i % 3 == 0 { first_secs } else { rerun_secs };
        // Spread over the run, up to the end of its last commits.
        let delay = Duration::from_secs_f64(secs * 0.95 * (f64::from(i) + 0.5) / f64::from(KILLS));
        let mut child = spawn_run(&p);
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(_) => finished_before_kill += 1,
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
            }
        }
        let seen = inspect(&warehouse);
        if seen.intents > 0 {
            intent_after_kill += 1;
        }
        if files_under(&warehouse.join("_shoal/staging"))
            .iter()
            .any(|f| !f.is_empty())
        {
            staging_after_kill += 1;
        }
        if !seen.doubled.is_empty() {
            // Old and new files side by side only while a commit is in
            // flight, and then its intent is there for the next run.
            assert!(
                seen.intents > 0,
                "kill {i} after {delay:?}: partitions {:?} hold two runs' files and no intent records it",
                seen.doubled
            );
            doubled_after_kill += 1;
        }
        let rerun = p.shoal(&["run"]);
        rerun.expect_code(0);
        let after = inspect(&warehouse);
        assert!(
            after.doubled.is_empty() && after.intents == 0,
            "kill {i} after {delay:?}: after the rerun: {after:?}"
        );
        assert!(
            !warehouse.join("_shoal/staging").exists()
                || files_under(&warehouse.join("_shoal/staging")).is_empty(),
            "kill {i}: staging left behind"
        );
        assert!(
            !warehouse.join("_shoal/lock").exists(),
            "kill {i}: lock left behind"
        );
        assert_same_tables(
            &format!("kill {i} after {delay:?}, then a rerun"),
            &expected,
            &warehouse_tables(&warehouse),
        );
    }
    eprintln!(
        "{KILLS} kills over a {first_secs:.1}s first build / {rerun_secs:.1}s rerun: {} killed mid-run, \
         {finished_before_kill} finished first; {staging_after_kill} left staged files, \
         {intent_after_kill} a commit intent, {doubled_after_kill} a partition with old and new files \
         (until the rerun)",
        KILLS - finished_before_kill
    );
    // Timing varies with load (tests run in parallel); the kills only need
    // to land inside the run most of the time to be worth their minute.
    assert!(
        finished_before_kill <= KILLS / 2,
        "only {} of {KILLS} kills landed inside a run",
        KILLS - finished_before_kill
    );
}

//! The model pack against a real S3 API (moto_server on 127.0.0.1): `s3://`
//! sources and Delta outputs give the same tables as `file://`, and the
//! server honours the conditional PUT each Delta commit relies on; storage
//! faults injected below object_store's HTTP client — on data files, log
//! entries, vacuum deletes, the lease — are retried (transient) or fail the
//! model with exit 4 / 3 and leave the committed tables intact (permanent).

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::TempProject;
use crate::s3_support::{
    FaultProxy, Moto, Rule, assert_same_tables, create_if_absent, files_under, mirror, s3_config,
    shoal_s3, warehouse_tables,
};

const BUCKET: &str = "shoal";
/// A small generated event set: big enough for every model to have rows.
pub const GEN: &[&str] = &["--users", "300", "--days", "12", "--seed", "7"];

type Tables = BTreeMap<String, (String, Vec<String>)>;

/// Generates the event set into `s3://shoal/gen` (through `config`) and into
/// the project's `data/`, runs the pack on `file://`, and returns its tables.
fn setup(p: &TempProject, config: &str) -> Tables {
    let mut args = vec!["generate", "--out", "s3://shoal/gen"];
    args.extend(GEN);
    shoal_s3(p, config, &args, &[]).expect_code(0);
    let local = p.path().join("data");
    let mut args = vec!["generate", "--out", local.to_str().unwrap()];
    args.extend(GEN);
    p.shoal(&args).expect_code(0);
    p.shoal(&["run"]).expect_code(0);
    warehouse_tables(&p.path().join("warehouse"))
}

fn s3_tables(moto: &Moto, p: &TempProject, name: &str) -> (Tables, Vec<String>) {
    let dir = p.path().join(name);
    mirror(moto.port, BUCKET, "warehouse", &dir);
    let files = files_under(&dir)
        .into_iter()
        .filter(|f| !f.starts_with("_shoal"))
        .collect();
    (warehouse_tables(&dir), files)
}

#[test]
fn pack_on_s3_gives_the_same_tables_as_on_file() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let p = TempProject::with_repo_models();
    p.write(
        "config/s3.yaml",
        &s3_config(&moto.endpoint(), BUCKET, "gen", ""),
    );
    let expected = setup(&p, "config/s3.yaml");
    assert!(expected.len() >= 15, "tables: {:?}", expected.keys());

    // The generator wrote the same bytes to S3 as to disk.
    let gen_dir = p.path().join("gen-mirror");
    mirror(moto.port, BUCKET, "gen", &gen_dir);
    assert_eq!(files_under(&gen_dir), files_under(&p.path().join("data")));

    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(0);
    let (actual, files) = s3_tables(&moto, &p, "s3-1");
    assert_same_tables("s3:// vs file://", &expected, &actual);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path().join("s3-1/_shoal/latest.json")).unwrap())
            .unwrap();
    assert_eq!(record["exit_code"], 0, "{record}");
    assert!(
        files
            .iter()
            .all(|f| f.contains("/part-") || f.contains("/_delta_log/0")),
        "only data files and log entries under the tables: {files:#?}"
    );
    // The server refuses a second create of a log entry: two writers cannot
    // both commit one version.
    assert!(
        files
            .iter()
            .any(|f| f == "user_daily/_delta_log/00000000000000000000.json")
    );
    assert!(!create_if_absent(
        moto.port,
        BUCKET,
        "warehouse/user_daily/_delta_log/00000000000000000000.json"
    ));
    assert!(create_if_absent(moto.port, BUCKET, "scratch/new.json"));

    // A rerun of the same day replaces the partitions in a new version:
    // same rows, no doubles (the replaced files stay for time travel).
    shoal_s3(&p, "config/s3.yaml", &["run"], &[]).expect_code(0);
    let (again, files2) = s3_tables(&moto, &p, "s3-2");
    assert_same_tables("rerun on s3://", &expected, &again);
    assert!(files2.contains(&"user_daily/_delta_log/00000000000000000001.json".to_string()));
    assert!(!p.path().join("s3-2/_shoal/lock").exists());
}

fn model_files(files: &[String], model: &str) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.starts_with(&format!("{model}/")))
        .cloned()
        .collect()
}

/// Models of the last run (read from the mirror's `latest.json`) that did
/// not succeed kept exactly their committed files; returns how many.
fn assert_failed_models_kept(
    what: &str,
    mirror_dir: &Path,
    before: &(Tables, Vec<String>),
    after: &(Tables, Vec<String>),
) -> serde_json::Value {
    assert_same_tables(what, &before.0, &after.0);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mirror_dir.join("_shoal/latest.json")).unwrap())
            .unwrap();
    for m in record["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        if m["status"] != "success" && m["materialized"] != "view" {
            assert_eq!(
                model_files(&before.1, name),
                model_files(&after.1, name),
                "{what}: {name} did not succeed, yet its committed files changed"
            );
        }
    }
    record
}

fn assert_intact(what: &str, before: &(Tables, Vec<String>), after: &(Tables, Vec<String>)) {
    assert_same_tables(what, &before.0, &after.0);
    assert_eq!(
        before.1, after.1,
        "{what}: the committed files changed (a partition was touched)"
    );
}

#[test]
fn storage_faults_are_retried_or_leave_committed_partitions_intact() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let proxy = FaultProxy::start(moto.port);
    let p = TempProject::with_repo_models();
    p.write(
        "config/s3.yaml",
        &s3_config(&proxy.endpoint(), BUCKET, "gen", ", timeout: 5s"),
    );
    let expected = setup(&p, "config/s3.yaml");

    // 1. Transient faults on reads, data-file writes, log entries and model
    //    reads: the run succeeds because object_store retries, and the
    //    tables are right. (`dt` matches the partition directories whatever
    //    the encoding of `=`.)
    proxy.set_rules(vec![
        Rule::transient(&["GET"], "/gen/events/", 3),
        Rule::transient(&["PUT"], "/warehouse/user_daily/dt", 3),
        Rule::transient(&["PUT"], "/_delta_log/0", 2),
        Rule::transient(&["GET"], "/warehouse/user_daily/dt", 2),
        // A read that hangs past storage.s3.timeout (5 s) is retried too.
        Rule {
            stall: Some(std::time::Duration::from_secs(8)),
            ..Rule::transient(&["GET"], "/gen/users/", 1)
        },
    ]);
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(0);
    assert_eq!(
        proxy.injected(),
        [3, 3, 2, 2, 1],
        "every transient fault was injected; requests:\n{}",
        proxy.log().join("\n")
    );
    let clean = s3_tables(&moto, &p, "s3-clean");
    assert_same_tables("after transient faults", &expected, &clean.0);

    // 2. Data files cannot be written: every materialized model fails with
    //    exit 4, naming the object; no table gets a new version.
    proxy.set_rules(vec![Rule::permanent(&["PUT"], "/part-")]);
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(4);
    assert!(
        run.stderr().contains("s3://shoal/warehouse/") && run.stderr().contains("503"),
        "the error names the object and the status:\n{}",
        run.stderr()
    );
    assert!(proxy.injected()[0] > 0);
    assert_intact(
        "after permanent write faults",
        &clean,
        &s3_tables(&moto, &p, "s3-w"),
    );

    // 3. Event files cannot be read: exit 3 before any model runs, naming
    //    the file and saying it is a storage error, not a corrupt file.
    proxy.set_rules(vec![Rule::permanent(&["GET"], "/gen/events/")]);
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(
        err.contains("s3://shoal/gen/events/dt=") && err.contains("503"),
        "{err}"
    );
    assert!(!err.contains("is it a complete Parquet file"), "{err}");
    assert_intact(
        "after permanent read faults",
        &clean,
        &s3_tables(&moto, &p, "s3-r"),
    );

    // 4. The committed data files cannot be read (those of the runs in 1:
    //    their names carry the run ids): user_daily itself commits (its data
    //    tests read its new files, its commit only its log), the models
    //    reading its older partitions fail with exit 3 and keep their tables.
    //    The first build is two runs (the day before, then the run day; see
    //    docs/models.md#the-header), and the mirror also holds the files a
    //    later commit removed: every run id of a user_daily file is blocked,
    //    not only one that may no longer be read.
    let mut committed_runs: Vec<String> = clean
        .1
        .iter()
        .filter_map(|f| f.strip_prefix("user_daily/dt="))
        .filter_map(|f| f.split_once("/part-"))
        .filter_map(|(_, name)| name.rsplit_once('-'))
        .map(|(run, _)| format!("/part-{run}-"))
        .collect();
    committed_runs.sort();
    committed_runs.dedup();
    assert!(!committed_runs.is_empty(), "no committed user_daily file");
    let committed_run = committed_runs.join(" ");
    proxy.set_rules(
        committed_runs
            .iter()
            .map(|run| Rule::permanent(&["GET"], run))
            .collect(),
    );
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(3);
    let after = s3_tables(&moto, &p, "s3-m");
    let record = assert_failed_models_kept(
        "after model read faults",
        &p.path().join("s3-m"),
        &clean,
        &after,
    );
    let status = |m: &str| crate::common::model_record(&record, m)["status"].clone();
    assert_eq!(status("user_daily"), "success", "{committed_run}: {record}");
    // community_membership (temp) reads every committed day of
    // community_user_daily, whose files from those runs are blocked too: it
    // fails, and user_features, which reads it, is skipped.
    assert_eq!(
        status("community_membership"),
        "failed",
        "{committed_run}: {record}"
    );
    assert_eq!(
        crate::common::model_record(&record, "user_features")["error"],
        "upstream model community_membership did not succeed",
        "{committed_run}: {record}"
    );
    assert_eq!(
        status("user_features"),
        "skipped",
        "{committed_run}: {} {:?}",
        crate::common::model_record(&record, "user_features"),
        clean
            .1
            .iter()
            .filter(|f| f.starts_with("user_daily/"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        status("retention_cohorts"),
        "failed",
        "{committed_run}: {record}"
    );

    // 5. The log entry of user_daily cannot be written: that model fails
    //    with exit 4 naming its log, its data files are removed, and its
    //    table stays at the version before.
    let clean = s3_tables(&moto, &p, "s3-clean2");
    proxy.set_rules(vec![Rule::permanent(
        &["PUT"],
        "/warehouse/user_daily/_delta_log/0",
    )]);
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(4);
    assert!(proxy.injected()[0] > 0, "{}", proxy.log().join("\n"));
    assert!(run.stderr().contains("user_daily"), "{}", run.stderr());
    let after = s3_tables(&moto, &p, "s3-c");
    let record = assert_failed_models_kept(
        "after a log entry that cannot be written",
        &p.path().join("s3-c"),
        &clean,
        &after,
    );
    assert_eq!(
        crate::common::model_record(&record, "user_daily")["status"],
        "failed"
    );
    assert!(
        !after
            .1
            .iter()
            .any(|f| f.starts_with("user_daily/") && !clean.1.contains(f)),
        "no new user_daily file stays after the failed commit"
    );

    // 6. Vacuum deletes fail, for a while and then for good (with
    //    keep_versions 0 every replaced file is due): retried, then a
    //    warning; the run succeeds and the tables are right.
    let vacuum = ["run", "--set", "output.keep_versions=0"];
    proxy.set_rules(vec![Rule::transient(&["POST"], "?delete", 2)]);
    shoal_s3(&p, "config/s3.yaml", &vacuum, &[]).expect_code(0);
    assert_eq!(proxy.injected(), [2], "{}", proxy.log().join("\n"));
    proxy.set_rules(vec![Rule::permanent(&["POST"], "?delete")]);
    let run = shoal_s3(&p, "config/s3.yaml", &vacuum, &[]);
    run.expect_code(0);
    assert!(run.stderr().contains("vacuum failed"), "{}", run.stderr());
    assert_same_tables(
        "after vacuum faults",
        &expected,
        &s3_tables(&moto, &p, "s3-v").0,
    );

    //    Deleting the lease is a bulk delete too: it stays behind, expired
    //    in the run's name, and the next run (this host, that pid gone)
    //    takes it over.
    proxy.set_rules(vec![]);
    let run = shoal_s3(&p, "config/s3.yaml", &["run"], &[]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("taking over the output lease"),
        "{}",
        run.stderr()
    );

    // 7. The lease cannot be renewed (a 2 s lease, every renewal refused):
    //    once it has expired the run commits nothing more, its remaining
    //    models fail with exit 4 saying why; the next run takes the dead
    //    lease over and the tables are right.
    proxy.set_rules(vec![Rule {
        skip: 1,
        ..Rule::permanent(&["PUT"], "/warehouse/_shoal/lock")
    }]);
    let run = shoal_s3(
        &p,
        "config/s3.yaml",
        &["run", "--set", "output.lease=2s"],
        &[],
    );
    run.expect_code(4);
    assert!(
        run.stderr().contains("lost the output lease"),
        "{}",
        run.stderr()
    );

    // And a clean run afterwards gives the same tables.
    proxy.set_rules(vec![]);
    shoal_s3(&p, "config/s3.yaml", &["run"], &[]).expect_code(0);
    assert_same_tables(
        "clean run after the faults",
        &expected,
        &s3_tables(&moto, &p, "s3-end").0,
    );
}

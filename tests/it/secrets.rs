//! Credentials are used and never leak. The S3 server admits only the
//! test's access key ids and records the one each request was signed with
//! (`tests/py/s3_auth_server.py`), so each way of giving credentials — the
//! AWS variables, a `${env:…}` reference in config, a `SHOAL__…` override —
//! is shown to be the one that signed its run's requests, and an unknown
//! key, or a known key id with the wrong secret, is refused: the server
//! checks each request's SigV4 signature against the key's secret. No
//! output stream of any
//! command and no file shoal writes (outputs, run records, the lease, the
//! temp dir, OpenLineage events) contains a secret — successful and
//! failing runs, verbose and JSON logs, help.

use std::path::Path;

use crate::common::{Run, TempProject};
use crate::s3_support::{Moto, files_under, mirror, s3_config, shoal_s3};

const BUCKET: &str = "secrets";
/// The secrets, each distinctive enough that a hit cannot be a coincidence.
const ENV_SECRET: &str = "Zq8EnvSecretKey4hT2uW9xYb3Lm";
const REF_SECRET: &str = "Zq8ConfigRefSecretNn5Gg8Ff2Dd";
const OVERRIDE_SECRET: &str = "Zq8OverrideSecretCc4Bb7Aa1Ee";
const WRONG_SECRET: &str = "Zq8WrongSecretMm3Ww6Qq9Ss2Hh";
const SECRETS: [&str; 4] = [ENV_SECRET, REF_SECRET, OVERRIDE_SECRET, WRONG_SECRET];
/// One access key id per way of giving the secret, so the server's record
/// says which one signed a run's requests.
const ENV_KEY: &str = "AKIASHOALENVKEY00001";
const REF_KEY: &str = "AKIASHOALREFKEY00002";
const OVERRIDE_KEY: &str = "AKIASHOALOVRKEY00003";
const WRONG_KEY: &str = "AKIASHOALBADKEY00099";

/// The (access key id, HTTP status) of each request the server saw during
/// one run.
type KeysSeen = Vec<(String, u16)>;

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ENV_KEY),
        ("AWS_SECRET_ACCESS_KEY", ENV_SECRET),
        ("SHOAL_S3_SECRET", REF_SECRET),
    ]
}

fn check(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for s in SECRETS {
        assert!(
            !text.contains(s),
            "{what} contains the secret {s}:\n{}",
            text.lines()
                .filter(|l| l.contains(s))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn check_run(run: &Run) {
    check(&format!("stdout of shoal {:?}", run.args), &run.out.stdout);
    check(&format!("stderr of shoal {:?}", run.args), &run.out.stderr);
}

fn check_tree(dir: &Path) -> usize {
    let files = files_under(dir);
    for f in &files {
        check(
            &dir.join(f).display().to_string(),
            &std::fs::read(dir.join(f)).unwrap(),
        );
    }
    files.len()
}

#[test]
fn secrets_are_used_and_never_reach_logs_records_errors_or_help() {
    let moto = Moto::start_with_auth(
        &[BUCKET],
        &[
            (ENV_KEY, ENV_SECRET),
            (REF_KEY, REF_SECRET),
            (OVERRIDE_KEY, OVERRIDE_SECRET),
        ],
    );
    let p = TempProject::with_repo_models();
    // OpenLineage events go to a file in the project (checked with it).
    let lineage = "lineage: { openlineage: { file: ol.jsonl } }\n";
    // Credentials from the environment only.
    p.write(
        "config/env.yaml",
        &(s3_config(&moto.endpoint(), BUCKET, "gen", "") + lineage),
    );
    // The secret key through a ${env:…} reference in config.
    let ref_config = |endpoint: &str, bucket: &str| {
        s3_config(
            endpoint,
            bucket,
            "gen",
            &format!(", access_key_id: {REF_KEY}, secret_access_key: \"${{env:SHOAL_S3_SECRET}}\""),
        ) + lineage
    };
    p.write("config/ref.yaml", &ref_config(&moto.endpoint(), BUCKET));
    // The temp dir of every run (scratch tables) is checked too.
    let tmp = p.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut env = env();
    env.push(("TMPDIR", tmp.to_str().unwrap()));
    let with_override = {
        let mut e = env.clone();
        e.push(("SHOAL__STORAGE__S3__ACCESS_KEY_ID", OVERRIDE_KEY));
        e.push(("SHOAL__STORAGE__S3__SECRET_ACCESS_KEY", OVERRIDE_SECRET));
        e
    };
    let wrong = {
        let mut e = env.clone();
        e.push(("SHOAL__STORAGE__S3__ACCESS_KEY_ID", WRONG_KEY));
        e.push(("SHOAL__STORAGE__S3__SECRET_ACCESS_KEY", WRONG_SECRET));
        e
    };
    // A key id the server knows, signed with a secret that is not its own.
    let wrong_secret = {
        let mut e = env.clone();
        e.push(("SHOAL__STORAGE__S3__ACCESS_KEY_ID", OVERRIDE_KEY));
        e.push(("SHOAL__STORAGE__S3__SECRET_ACCESS_KEY", WRONG_SECRET));
        e
    };
    let mut runs: Vec<(Run, i32, KeysSeen)> = vec![];
    let mut go = |config: &str, args: &[&str], env: &[(&str, &str)], code: i32| {
        let seen = moto.key_ids_seen().len();
        let run = shoal_s3(&p, config, args, env);
        let during = moto.key_ids_seen().split_off(seen);
        runs.push((run, code, during));
    };
    go(
        "config/env.yaml",
        &[
            "generate",
            "--out",
            "s3://secrets/gen",
            "--users",
            "80",
            "--days",
            "5",
        ],
        &env,
        0,
    );
    go(
        "config/env.yaml",
        &["run", "-v", "--log-format", "json"],
        &env,
        0,
    );
    go(
        "config/ref.yaml",
        &["run", "-vv", "--log-format", "text"],
        &env,
        0,
    );
    go(
        "config/env.yaml",
        &["run", "-vv", "--log-format", "json"],
        &with_override,
        0,
    );
    go(
        "config/ref.yaml",
        &[
            "query",
            "select count(*) from user_daily",
            "--format",
            "json",
        ],
        &env,
        0,
    );
    // A key the server does not know: every request refused (exit 3).
    go(
        "config/ref.yaml",
        &["run", "-vv", "--log-format", "json"],
        &wrong,
        3,
    );
    // The right key id with a wrong secret: refused as well (exit 3).
    go(
        "config/ref.yaml",
        &["run", "-vv", "--log-format", "json"],
        &wrong_secret,
        3,
    );
    for help in [
        &["--help"][..],
        &["run", "--help"],
        &["generate", "--help"],
        &["-h"],
    ] {
        go("config/ref.yaml", help, &env, 0);
    }
    // Failing runs: a bucket that does not exist (exit 3), a store that
    // does not answer (the error names the URL, not the credentials), an
    // unknown storage option, and a model that does not plan.
    p.write(
        "config/nobucket.yaml",
        &ref_config(&moto.endpoint(), "no-such-bucket"),
    );
    go(
        "config/nobucket.yaml",
        &["run", "-vv", "--log-format", "json"],
        &env,
        3,
    );
    let dead = ref_config(
        &format!("http://127.0.0.1:{}", crate::s3_support::free_port()),
        BUCKET,
    )
    .replace("max_retries: 4", "max_retries: 1");
    p.write("config/dead.yaml", &dead);
    go(
        "config/dead.yaml",
        &["run", "-v", "--log-format", "text"],
        &env,
        3,
    );
    p.write(
        "config/badkey.yaml",
        &ref_config(&moto.endpoint(), BUCKET).replace("secret_access_key", "secret_acces_key"),
    );
    go("config/badkey.yaml", &["run"], &env, 2);
    p.write(
        "sql/marts/broken.sql",
        "select no_such_column, date '2026-09-05' as dt from user_daily",
    );
    go("config/ref.yaml", &["run", "-v"], &env, 2);
    std::fs::remove_file(p.path().join("sql/marts/broken.sql")).unwrap();

    for (run, code, _) in &runs {
        run.expect_code(*code);
        check_run(run);
    }
    // Each run's requests were signed with the key its configuration
    // names, and the server accepted them; the run with an unknown key got
    // only refusals.
    let keys = |i: usize| -> (Vec<String>, Vec<u16>) {
        let during = &runs[i].2;
        let mut ids: Vec<String> = during.iter().map(|(k, _)| k.clone()).collect();
        ids.dedup();
        (ids, during.iter().map(|(_, s)| *s).collect())
    };
    for (i, key) in [
        (0, ENV_KEY),
        (1, ENV_KEY),
        (2, REF_KEY),
        (3, OVERRIDE_KEY),
        (4, REF_KEY),
    ] {
        let (ids, statuses) = keys(i);
        assert_eq!(
            ids,
            [key],
            "run {i} ({:?}) was signed with {ids:?}",
            runs[i].0.args
        );
        assert!(
            statuses.iter().all(|s| *s < 400 || *s == 404),
            "run {i}: the server refused requests: {statuses:?}"
        );
        assert!(!statuses.is_empty(), "run {i} made no request");
    }
    // The unknown key id, then a known one with the wrong secret: signed
    // with the key the run names, every request refused.
    for (i, key, what) in [
        (5, WRONG_KEY, "an unknown key"),
        (6, OVERRIDE_KEY, "a known key id with the wrong secret"),
    ] {
        let (ids, statuses) = keys(i);
        assert_eq!(ids, [key], "the run with {what} was signed with {ids:?}");
        assert!(
            !statuses.is_empty() && statuses.iter().all(|s| *s == 403),
            "{what} must be refused: {statuses:?}"
        );
    }
    // Every file shoal wrote or read: run records, the lease, tables, the
    // project (its temp dir and OpenLineage file included).
    let mirrored = p.path().join("s3-warehouse");
    let keys = mirror(moto.port, BUCKET, "warehouse", &mirrored);
    assert!(keys.iter().any(|k| k.ends_with("latest.json")), "{keys:#?}");
    let ol = std::fs::read_to_string(p.path().join("ol.jsonl")).unwrap_or_default();
    assert!(ol.contains("COMPLETE"), "OpenLineage events were written");
    let n = check_tree(&mirrored) + check_tree(p.path());
    assert!(n > 50, "only {n} files checked");
}

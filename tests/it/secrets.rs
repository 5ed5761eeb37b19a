//! Credentials never leak: with distinctive secrets in the environment (the
//! AWS variables, a `${env:…}` reference in config and a `SHOAL__…`
//! override), no output stream of any command and no file shoal writes
//! contains them — successful and failing runs, verbose and JSON logs, help.

use std::path::Path;

use crate::common::{Run, TempProject};
use crate::s3_support::{Moto, files_under, mirror, s3_config, shoal_s3};

const BUCKET: &str = "secrets";
/// The secrets, each distinctive enough that a hit cannot be a coincidence.
const ENV_SECRET: &str = "Zq8EnvSecretKey4hT2uW9xYb3Lm";
const SESSION_TOKEN: &str = "Zq8SessionTokenRr7Pp1Kk6Jj0Vv";
const REF_SECRET: &str = "Zq8ConfigRefSecretNn5Gg8Ff2Dd";
const OVERRIDE_SECRET: &str = "Zq8OverrideSecretCc4Bb7Aa1Ee";
const SECRETS: [&str; 4] = [ENV_SECRET, SESSION_TOKEN, REF_SECRET, OVERRIDE_SECRET];

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_SECRET_ACCESS_KEY", ENV_SECRET),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
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
fn secrets_never_reach_logs_records_errors_or_help() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let p = TempProject::with_repo_models();
    // Credentials from the environment only.
    p.write(
        "config/env.yaml",
        &s3_config(&moto.endpoint(), BUCKET, "gen", ""),
    );
    // The secret key through a ${env:…} reference in config.
    p.write(
        "config/ref.yaml",
        &s3_config(
            &moto.endpoint(),
            BUCKET,
            "gen",
            ", secret_access_key: \"${env:SHOAL_S3_SECRET}\"",
        ),
    );
    let env = env();
    let with_override = {
        let mut e = env.clone();
        e.push(("SHOAL__STORAGE__S3__SECRET_ACCESS_KEY", OVERRIDE_SECRET));
        e
    };
    let mut runs: Vec<(Run, i32)> = vec![];
    let mut go = |config: &str, args: &[&str], env: &[(&str, &str)], code: i32| {
        let run = shoal_s3(&p, config, args, env);
        runs.push((run, code));
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
    let no_bucket = s3_config(
        &moto.endpoint(),
        "no-such-bucket",
        "gen",
        ", secret_access_key: \"${env:SHOAL_S3_SECRET}\"",
    );
    p.write("config/nobucket.yaml", &no_bucket);
    go(
        "config/nobucket.yaml",
        &["run", "-vv", "--log-format", "json"],
        &env,
        3,
    );
    let dead = s3_config(
        &format!("http://127.0.0.1:{}", crate::s3_support::free_port()),
        BUCKET,
        "gen",
        ", secret_access_key: \"${env:SHOAL_S3_SECRET}\"",
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
        &s3_config(
            &moto.endpoint(),
            BUCKET,
            "gen",
            ", secret_acces_key: \"${env:SHOAL_S3_SECRET}\"",
        ),
    );
    go("config/badkey.yaml", &["run"], &env, 2);
    p.write(
        "sql/marts/broken.sql",
        "select no_such_column, date '2026-09-05' as dt from user_daily",
    );
    go("config/ref.yaml", &["run", "-v"], &env, 2);
    std::fs::remove_file(p.path().join("sql/marts/broken.sql")).unwrap();

    for (run, code) in &runs {
        run.expect_code(*code);
        check_run(run);
    }
    // The S3 credentials were really used: the runs wrote the warehouse.
    let mirrored = p.path().join("s3-warehouse");
    let keys = mirror(moto.port, BUCKET, "warehouse", &mirrored);
    assert!(keys.iter().any(|k| k.ends_with("latest.json")), "{keys:#?}");
    // Every file shoal wrote or read: run records, the lock, tables, the project.
    let n = check_tree(&mirrored) + check_tree(p.path());
    assert!(n > 50, "only {n} files checked");
    // The server saw the session token (so it was in play) but no run printed it.
    assert!(!moto.log_text().is_empty());
}

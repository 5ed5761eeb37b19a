//! shoal among the tools around it: the Delta DDL of `shoal catalog` opened
//! by DuckDB next to Python `deltalake` and `shoal query`, and the Airflow example
//! DAG loaded by Airflow's own DagBag with its rendered commands run.

use std::process::Command;

use crate::common::{TempProject, repo_root};
use crate::crosscheck::{interpreter, py};

/// The repository's models and config on 300 generated users over 20 days
/// (2026-09-01 .. 2026-09-20), run once for the last day.
fn generated_project() -> TempProject {
    let p = TempProject::with_repo_project();
    p.generate(&["--users", "300", "--days", "20", "--seed", "5"]);
    p.shoal(&["run", "--ds", "2026-09-20"]).expect_code(0);
    p
}

#[test]
fn catalog_ddl_opens_the_outputs_in_duckdb_like_pyarrow_and_shoal() {
    let p = generated_project();
    let ddl = p.shoal(&["catalog", "--emit", "duckdb"]);
    ddl.expect_code(0);
    let file = p.path().join("catalog.sql");
    std::fs::write(&file, ddl.stdout()).unwrap();
    let report = py(
        "bi_check.py",
        &[
            "--project",
            p.path().to_str().unwrap(),
            "--ddl",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        report.contains("44 tables (44 Delta), 0 differences"),
        "{report}"
    );
    // three tiers per breakdown value (all, and each user attribute's values)
    let tiers: usize = report
        .split("uvi_tiers: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no uvi_tiers line: {report}"));
    assert!(
        tiers > 3 && tiers.is_multiple_of(3),
        "{tiers} uvi_tiers rows: {report}"
    );

    // the engines without a local runner here: every table registered from
    // its Delta log, docs kept where the engine takes comments
    for (engine, create, doc) in [
        (
            "trino",
            "CALL system.register_table(schema_name => 'shoal', table_name => ",
            Some("IS 'The user value index of every scored user"),
        ),
        ("athena", "TBLPROPERTIES ('table_type' = 'DELTA');", None),
        (
            "spark",
            "USING DELTA\nLOCATION 'file://",
            Some("'comment' = 'The user value index of every scored user"),
        ),
    ] {
        let out = p.shoal(&["catalog", "--emit", engine, "--schema", "shoal"]);
        out.expect_code(0);
        let text = out.stdout();
        assert_eq!(text.matches(create).count(), 44, "{engine}:\n{text}");
        if let Some(doc) = doc {
            assert!(
                text.contains(doc),
                "{engine}: model docs as comments\n{text}"
            );
        }
        assert!(
            !text.contains("_delta_log"),
            "{engine}: the table root, not its log\n{text}"
        );
    }
}

#[test]
fn airflow_dagbag_loads_the_example_and_its_commands_run() {
    let p = generated_project();
    let out = Command::new(interpreter(".ci/airflow-env"))
        .arg(repo_root().join("tests/py/airflow_dagbag.py"))
        .args(["--ds", "2026-09-20"])
        .env("SHOAL_BIN", env!("CARGO_BIN_EXE_shoal"))
        .env("SHOAL_PROJECT_DIR", p.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rendered run and test exit 0"), "{text}");
}

//! Unit tests of headers, templating, parsing, the DAG and selection.

use super::dag::*;
use super::header::*;
use super::parse::*;
use super::template::*;
use super::*;
use chrono::NaiveDate;

fn ctx() -> TemplateContext {
    let config: crate::config::Config = serde_yaml::from_str(
        "project: p\nsources:\n  events: { location: e, partitioning: hive_dt }\nvars:\n  min_views: 3\n",
    )
    .unwrap();
    TemplateContext::new(
        &config,
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        false,
        None,
    )
}

fn model(name: &str, text: &str) -> Model {
    Model {
        name: name.into(),
        file: format!("sql/{name}.sql"),
        text: text.into(),
        header: parse_header(&format!("sql/{name}.sql"), text).unwrap(),
        sql: String::new(),
        deps: vec![],
        sources: vec![],
    }
}

fn names(dag: &Dag) -> Vec<&str> {
    dag.models.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn calendar_helpers_find_iso_weeks_and_quarters() {
    // 2026-10-30 is a Friday: its ISO week starts Monday 2026-10-26.
    assert_eq!(week_start("2026-10-30".into()).unwrap(), "2026-10-26");
    assert_eq!(week_start("2026-10-26".into()).unwrap(), "2026-10-26");
    // a Sunday belongs to the week that started six days earlier
    assert_eq!(week_start("2026-11-01".into()).unwrap(), "2026-10-26");
    assert_eq!(
        quarter_start("2026-10-30".into(), None).unwrap(),
        "2026-10-01"
    );
    assert_eq!(
        quarter_start("2026-09-30".into(), None).unwrap(),
        "2026-07-01"
    );
    // one quarter back from Q1 wraps into the previous year
    assert_eq!(
        quarter_start("2026-02-10".into(), Some(1)).unwrap(),
        "2025-10-01"
    );
    assert_eq!(
        days_between("2026-10-01".into(), "2026-10-30".into()).unwrap(),
        29
    );
    assert!(week_start("30/10/2026".into()).is_err());
}

#[test]
fn calendar_helpers_reject_days_out_of_range() {
    // once panics (chrono overflow), found by fuzz::templating_never_panics
    assert!(days_before("2026-11-21".into(), i64::MAX).is_err());
    assert!(days_before("2026-11-21".into(), 400_000_000).is_err());
    assert!(days_after("2026-11-21".into(), i64::MIN).is_err());
    assert!(days_after("2026-11-21".into(), 400_000_000).is_err());
    assert_eq!(days_after("2026-11-21".into(), 10).unwrap(), "2026-12-01");
}

#[test]
fn templating_renders_ds_vars_and_days_before() {
    let out = render(
        "m.sql",
        "{{ ds }} {{ ds_nodash }} {{ var.min_views }} {{ days_before(ds, 3) }} {{ run.late_days }} {{ run.scan_from }}",
        &ctx(),
    )
    .unwrap();
    assert_eq!(out, "2026-11-21 20261121 3 2026-11-18 3 2026-11-18");
}

#[test]
fn templating_rejects_unknown_vars_with_line() {
    let err = render(
        "sql/m.sql",
        "select 1\nfrom t where x = {{ var.nope }}",
        &ctx(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("sql/m.sql:2:"), "{msg}");
}

#[test]
fn ctes_subqueries_quoted_names_and_joins() {
    let sql = "with a as (select * from events), b as (select * from a join \"user_daily\" u on true)\n\
               select * from b, (select * from users) s left join stg_events x on true";
    let refs: Vec<String> = table_references("m.sql", sql)
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(refs, ["events", "stg_events", "user_daily", "users"]);
}

#[test]
fn cte_shadowing_a_model_is_not_a_dependency() {
    let refs = table_references(
        "m.sql",
        "with user_daily as (select 1 as x) select * from user_daily",
    )
    .unwrap();
    assert!(refs.is_empty(), "{refs:?}");
}

#[test]
fn dag_orders_and_infers_edges() {
    let dag = Dag::build(
        vec![
            model("c", "select * from b join a using (x)"),
            model("b", "select * from a"),
            model("a", "select * from events"),
        ],
        &ctx(),
    )
    .unwrap();
    assert_eq!(names(&dag), ["a", "b", "c"]);
    assert_eq!(dag.get("c").unwrap().deps, ["a", "b"]);
    assert_eq!(dag.get("a").unwrap().sources, ["events"]);
}

#[test]
fn unknown_table_suggests_closest_name_with_position() {
    let err = Dag::build(
        vec![
            model("user_daily", "select 1"),
            model("m", "select *\n  from user_dayly"),
        ],
        &ctx(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sql/m.sql:2:8:"), "{err}");
    assert!(err.contains("did you mean \"user_daily\""), "{err}");
}

#[test]
fn cycles_are_reported() {
    let err = Dag::build(
        vec![model("a", "select * from b"), model("b", "select * from a")],
        &ctx(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("dependency cycle: a -> b -> a"), "{err}");
    assert!(err.starts_with("sql/a.sql:1:15:"), "{err}");
}

#[test]
fn syntax_errors_have_positions() {
    let err = table_references("sql/m.sql", "select a\nfrom events wher x")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("sql/m.sql:2:18:"), "{err}");
    assert!(table_references("m.sql", "drop table x").is_err());
    assert!(table_references("m.sql", "select 1; select 2").is_err());
}

#[test]
fn selectors() {
    let dag = Dag::build(
        vec![
            model("a", "/*---\ntags: [core]\n---*/\nselect * from events"),
            model("b", "select * from a"),
            model("c", "select * from b"),
            model("d", "select * from events"),
        ],
        &ctx(),
    )
    .unwrap();
    let sel = |s: &[&str], e: &[&str]| -> Vec<String> {
        let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        let e: Vec<String> = e.iter().map(|x| x.to_string()).collect();
        dag.select(&s, &e).unwrap().into_iter().collect()
    };
    assert_eq!(sel(&["b"], &[]), ["b"]);
    assert_eq!(sel(&["b+"], &[]), ["b", "c"]);
    assert_eq!(sel(&["+b"], &[]), ["a", "b"]);
    assert_eq!(sel(&["+b+"], &[]), ["a", "b", "c"]);
    assert_eq!(sel(&["tag:core"], &[]), ["a"]);
    assert_eq!(sel(&[], &["a+"]), ["d"]);
    assert_eq!(sel(&["a+,d"], &["c"]), ["a", "b", "d"]);
    let err = dag.select(&["bb".into()], &[]).unwrap_err().to_string();
    assert!(err.contains("did you mean \"b\""), "{err}");
    assert!(dag.select(&["../x".into()], &[]).is_err());
    assert!(dag.select(&["tag:none".into()], &[]).is_err());
}

/// Fuzz targets (proptest, in the normal test run): the header parser,
/// the selector parser and the templating layer take arbitrary text and
/// return a value or a typed error — never a panic. Case counts are modest
/// so `cargo test --release --lib` stays fast.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Header-ish text: YAML fragments, keys, brackets, quotes, tabs, unicode.
    fn header_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("materialized: ".to_string()),
            Just("daily".to_string()),
            Just("table".to_string()),
            Just("tests: [".to_string()),
            Just("{ unique: [a, b] }".to_string()),
            Just("{ not_null: ".to_string()),
            Just("{ accepted_values: { column: x, values: [1, 2] } }".to_string()),
            Just("severity: warn".to_string()),
            Just("rewrites_days: ".to_string()),
            Just("columns: { a: \"b\" }".to_string()),
            Just("tags: [x]".to_string()),
            Just("\n".to_string()),
            Just("  ".to_string()),
            Just("\t".to_string()),
            Just("- ".to_string()),
            Just("]".to_string()),
            Just("}".to_string()),
            Just("---*/".to_string()),
            Just("&a *a !!binary |".to_string()),
            "[a-z_0-9:{}\\[\\], '\"#-]{0,12}".prop_map(|s| s),
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn header_parser_never_panics(body in header_text(), sql in any::<String>()) {
            let text = format!("/*---\n{body}\n---*/\n{sql}");
            match parse_header("sql/f.sql", &text) {
                Ok(_) => {}
                Err(ModelError::At { file, line, .. }) => {
                    prop_assert_eq!(file, "sql/f.sql");
                    prop_assert!(line >= 1);
                }
                Err(other) => prop_assert!(false, "untyped header error: {other}"),
            }
            // and without a header at all
            let _ = parse_header("sql/f.sql", &sql);
        }

        #[test]
        fn selectors_never_panic_and_never_name_paths(sel in prop_oneof![
            any::<String>(),
            "[+]{0,2}(\\.\\./|/|s3://|%2e%2e|tag:)?[a-d./%]{0,8}[+]{0,2}",
        ]) {
            let dag = Dag::build(
                vec![
                    model("a", "/*---\ntags: [core]\n---*/\nselect * from events"),
                    model("b", "select * from a"),
                ],
                &ctx(),
            )
            .unwrap();
            match dag.select(std::slice::from_ref(&sel), &[]) {
                Ok(names) => {
                    // whatever matched is a model of the DAG: a valid name
                    for n in names {
                        prop_assert!(valid_name(&n), "{n}");
                        prop_assert!(dag.get(&n).is_some());
                    }
                }
                Err(ModelError::Selector { .. }) => {}
                Err(other) => prop_assert!(false, "untyped selector error: {other}"),
            }
            let excluded = dag.select(&[], std::slice::from_ref(&sel));
            let typed = matches!(excluded, Ok(_) | Err(ModelError::Selector { .. }));
            prop_assert!(typed, "untyped exclude error for {:?}", sel);
        }

        #[test]
        fn templating_never_panics(
            pieces in proptest::collection::vec(prop_oneof![
                Just("{{ ds }}".to_string()),
                Just("{{ ds_nodash }}".to_string()),
                Just("{{ var.min_views }}".to_string()),
                Just("{{ var.nope }}".to_string()),
                Just("{{ days_before(ds, ".to_string()),
                Just(") }}".to_string()),
                Just("{{ week_start(".to_string()),
                Just("{{ quarter_start(ds, -3) }}".to_string()),
                Just("{{ days_between(ds, '2026-02-30') }}".to_string()),
                Just("{% for t in var.min_views %}".to_string()),
                Just("{% endfor %}".to_string()),
                Just("{% if ".to_string()),
                Just("{{ 1/0 }}".to_string()),
                Just("{{ range(100000000) | length }}".to_string()),
                Just("}}".to_string()),
                Just("{%".to_string()),
                Just("{#".to_string()),
                any::<i64>().prop_map(|n| n.to_string()),
                "[a-z '\"(),{}%#]{0,10}".prop_map(|s| s),
                any::<String>(),
            ], 0..10),
            var_value in prop_oneof![
                any::<i64>().prop_map(|n| n.to_string()),
                any::<f64>().prop_map(|f| format!("{f:?}")),
                "[a-z]{0,8}".prop_map(|s| format!("\"{s}\"")),
                Just("[1, 2, 3]".to_string()),
                Just("{ a: 1 }".to_string()),
                Just("~".to_string()),
            ],
            day in 1i32..=3_000_000,
        ) {
            let yaml = format!(
                "project: p\nsources:\n  events: {{ location: e, partitioning: hive_dt }}\nvars:\n  min_views: {var_value}\n"
            );
            let Ok(config) = serde_yaml::from_str::<crate::config::Config>(&yaml) else {
                return Ok(());
            };
            let ds = NaiveDate::from_num_days_from_ce_opt(day).unwrap();
            let tctx = TemplateContext::new(&config, ds, false, None);
            match render("sql/f.sql", &pieces.concat(), &tctx) {
                Ok(_) => {}
                Err(ModelError::At { file, line, .. }) => {
                    prop_assert_eq!(file, "sql/f.sql");
                    prop_assert!(line >= 1);
                }
                Err(other) => prop_assert!(false, "untyped template error: {other}"),
            }
        }
    }
}

#[test]
fn headers_parse_with_tests_and_errors_have_lines() {
    let text = "/*---\nmaterialized: table\nrewrites_days: late_days\ntests:\n  - { unique: [a, b] }\n  - { not_null: a, severity: warn }\n  - { accepted_values: { column: t, values: [x, 1] } }\n  - { expression: \"a >= 0\" }\n---*/\nselect 1";
    let h = parse_header("m.sql", text).unwrap();
    assert_eq!(h.materialized, Materialization::Table);
    assert_eq!(h.rewrites_days.days(3), 3);
    assert_eq!(h.tests.len(), 4);
    assert_eq!(h.tests[1].severity, Severity::Warn);
    assert_eq!(
        h.tests[2].kind,
        TestKind::AcceptedValues {
            column: "t".into(),
            values: vec!["x".into(), "1".into()]
        }
    );
    let bad = "/*---\ndescription: x\nmaterialised: daily\n---*/\nselect 1";
    let err = parse_header("m.sql", bad).unwrap_err().to_string();
    assert!(err.starts_with("m.sql:3:"), "{err}");
    assert!(err.contains("materialised"), "{err}");
    assert!(parse_header("m.sql", "/*---\ntests: [ { nope: 1 } ]\n---*/").is_err());
}

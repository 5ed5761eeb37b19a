//! Lineage on a hand-made model pack with known answers: `_shoal/lineage.json`
//! after a run, `shoal lineage MODEL[.COLUMN]`, the OpenLineage events of the
//! file target (START/COMPLETE/FAIL with the model's inputs and output), and
//! `shoal doctor` on a good project, a missing source and a broken model.

use crate::common::{CONFIG, TempProject, ev};

const DAY: &str = "2026-11-20";

fn pack(config_extra: &str) -> TempProject {
    let p = TempProject::new();
    p.write("config/shoal.yaml", &format!("{CONFIG}{config_extra}"));
    p.write(
        "sql/staging/stg_events.sql",
        "/*---\nmaterialized: view\n---*/\nselect * from events\n",
    );
    p.write(
        "sql/marts/revenue.sql",
        "/*---\nmaterialized: table\n---*/\n\
         select user_id, sum(amount) as revenue\n\
         from stg_events where event_type = 'purchase' group by user_id\n",
    );
    p.write(
        "sql/marts/community_revenue.sql",
        "/*---\nmaterialized: daily\n---*/\n\
         with c as (select distinct user_id as uid, community_id from stg_events)\n\
         select c.community_id as community, sum(r.revenue) * 2 as double_revenue,\n\
                count(*) as buyers, date '{{ ds }}' as dt\n\
         from revenue r join c on c.uid = r.user_id\n\
         group by c.community_id\n",
    );
    let mut buy = ev("e2", "2026-11-20 10:00:00", "u1", "purchase");
    buy.amount = Some(12.5);
    p.events(
        DAY,
        "part",
        &[ev("e1", "2026-11-20 09:00:00", "u1", "view"), buy],
    );
    p
}

fn column<'a>(lineage: &'a serde_json::Value, model: &str, col: &str) -> Vec<&'a str> {
    let m = &lineage["models"][model];
    let c = m["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("{model}: no columns in {m}"))
        .iter()
        .find(|c| c["name"] == col)
        .unwrap_or_else(|| panic!("{model}.{col} missing: {m}"));
    c["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn strings(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn run_writes_column_lineage_from_the_plans_and_lineage_prints_it() {
    let p = pack("");
    p.shoal(&["run", "--ds", DAY]).expect_code(0);
    let text = std::fs::read_to_string(p.path().join("warehouse/_shoal/lineage.json")).unwrap();
    let l: serde_json::Value = serde_json::from_str(&text).unwrap();

    assert_eq!(strings(&l["models"]["stg_events"]["sources"]), ["events"]);
    assert_eq!(column(&l, "stg_events", "amount"), ["events.amount"]);
    assert_eq!(column(&l, "stg_events", "dt"), ["events.dt"]);

    let rev = &l["models"]["revenue"];
    assert_eq!(strings(&rev["upstream_models"]), ["stg_events"]);
    assert!(strings(&rev["sources"]).is_empty());
    assert_eq!(column(&l, "revenue", "user_id"), ["stg_events.user_id"]);
    assert_eq!(column(&l, "revenue", "revenue"), ["stg_events.amount"]);
    assert_eq!(strings(&rev["filter_inputs"]), ["stg_events.event_type"]);

    // through a CTE with aliases, a join and an aggregate
    assert_eq!(
        column(&l, "community_revenue", "community"),
        ["stg_events.community_id"]
    );
    assert_eq!(
        column(&l, "community_revenue", "double_revenue"),
        ["revenue.revenue"]
    );
    assert!(column(&l, "community_revenue", "buyers").is_empty());
    assert!(column(&l, "community_revenue", "dt").is_empty());
    assert_eq!(
        strings(&l["models"]["community_revenue"]["filter_inputs"]),
        ["revenue.user_id", "stg_events.user_id"]
    );

    // one column, followed back to the source
    let out = p.shoal(&["lineage", "community_revenue.double_revenue"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout(),
        "community_revenue.double_revenue\n  <- revenue.revenue\n    <- stg_events.amount\n      <- events.amount  (source)\n"
    );
    let out = p.shoal(&["lineage", "revenue"]);
    out.expect_code(0);
    let s = out.stdout();
    assert!(s.contains("upstream models: stg_events"), "{s}");
    assert!(s.contains("revenue <- stg_events.amount"), "{s}");
    let out = p.shoal(&["lineage", "revenue.user_id", "--json"]);
    out.expect_code(0);
    let j: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(j["inputs"], serde_json::json!(["stg_events.user_id"]));

    let out = p.shoal(&["lineage", "revenue.revenu"]);
    out.expect_code(2);
    assert!(
        out.stderr()
            .contains(r#"model "revenue" has no column "revenu" (did you mean "revenue"?)"#),
        "{}",
        out.stderr()
    );
}

#[test]
fn openlineage_file_gets_start_and_complete_or_fail_per_model() {
    let p = pack("lineage: { openlineage: { file: ol.jsonl, namespace: shop } }\n");
    p.shoal(&["run", "--ds", DAY]).expect_code(0);
    // a model that fails while it runs (the cast fails on "u1")
    p.write(
        "sql/marts/broken.sql",
        "/*---\nmaterialized: table\n---*/\nselect cast(user_id as bigint) as uid from stg_events\n",
    );
    p.shoal(&["run", "--ds", DAY, "--select", "broken"])
        .expect_code(1);

    let text = std::fs::read_to_string(p.path().join("ol.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let warehouse = std::fs::canonicalize(p.path().join("warehouse")).unwrap();
    let events_dir = std::fs::canonicalize(p.path().join("data/events")).unwrap();
    let ds_name = |dir: &std::path::Path, t: &str| serde_json::json!({"namespace": "file://", "name": format!("{}/{t}", dir.display())});
    for e in &events {
        for key in [
            "eventType",
            "eventTime",
            "run",
            "job",
            "producer",
            "schemaURL",
        ] {
            assert!(!e[key].is_null(), "{key} missing in {e}");
        }
        assert_eq!(
            e["schemaURL"],
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        );
        assert!(e["producer"].as_str().unwrap().starts_with("https://"));
        assert_eq!(e["run"]["runId"].as_str().unwrap().len(), 36, "{e}");
        chrono::DateTime::parse_from_rfc3339(e["eventTime"].as_str().unwrap()).unwrap();
        assert_eq!(e["job"]["namespace"], "shop");
    }
    let of = |job: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["job"]["name"] == job).collect()
    };
    let kinds = |job: &str| -> Vec<&str> {
        of(job)
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect()
    };
    // the view runs again in the second run, for broken
    assert_eq!(
        kinds("stg_events"),
        ["START", "COMPLETE", "START", "COMPLETE"]
    );
    assert_eq!(kinds("revenue"), ["START", "COMPLETE"]);
    assert_eq!(kinds("community_revenue"), ["START", "COMPLETE"]);
    assert_eq!(kinds("broken"), ["START", "FAIL"]);

    let rev = of("revenue");
    assert_eq!(rev[0]["run"]["runId"], rev[1]["run"]["runId"]);
    assert_eq!(
        rev[1]["inputs"],
        serde_json::json!([ds_name(&warehouse, "stg_events")])
    );
    assert_eq!(rev[1]["outputs"][0]["namespace"], "file://");
    assert_eq!(
        rev[1]["outputs"][0]["name"],
        ds_name(&warehouse, "revenue")["name"]
    );
    assert_eq!(
        rev[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"],
        1
    );
    assert_eq!(
        of("stg_events")[1]["inputs"],
        serde_json::json!([{"namespace": "file://", "name": events_dir.display().to_string()}])
    );
    let cr = of("community_revenue");
    let mut inputs: Vec<String> = cr[1]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    inputs.sort();
    assert_eq!(
        inputs,
        [
            format!("{}/revenue", warehouse.display()),
            format!("{}/stg_events", warehouse.display())
        ]
    );
    let fail = of("broken")[1];
    assert!(
        fail["run"]["facets"]["errorMessage"]["message"]
            .as_str()
            .unwrap()
            .contains("u1"),
        "{fail}"
    );
}

#[test]
fn doctor_passes_a_good_project_and_names_a_missing_source_and_a_broken_model() {
    let p = pack("");
    let out = p.shoal(&["doctor"]);
    out.expect_code(0);
    let s = out.stdout();
    for line in [
        "✓ config",
        "✓ source events",
        "1 partitions, 2026-11-20 to 2026-11-20",
        "✓ events schema",
        "✓ models",
        "3 models parse, resolve and plan",
        "✓ output",
        "checks passed",
    ] {
        assert!(s.contains(line), "{line:?} missing:\n{s}");
    }
    assert!(!s.contains('✗'), "{s}");

    // the events directory gone: a source failure, exit 3
    std::fs::rename(p.path().join("data/events"), p.path().join("data/moved")).unwrap();
    let out = p.shoal(&["doctor"]);
    out.expect_code(3);
    let s = out.stdout();
    assert!(s.contains("✗ source events"), "{s}");
    assert!(s.contains("no dt=YYYY-MM-DD partitions"), "{s}");
    assert!(s.contains("→ check sources.events.location"), "{s}");
    assert!(s.contains("✓ models"), "{s}");

    // and a model with an unknown column: config/model failures win, exit 2
    p.write(
        "sql/marts/broken.sql",
        "/*---\nmaterialized: table\n---*/\nselect user_id, amount_typo from stg_events\n",
    );
    let out = p.shoal(&["doctor"]);
    out.expect_code(2);
    let s = out.stdout();
    assert!(s.contains("✗ source events"), "{s}");
    assert!(s.contains("✗ models"), "{s}");
    assert!(s.contains("sql/marts/broken.sql:4:"), "{s}");
    assert!(s.contains("amount_typo"), "{s}");
    assert!(s.contains("2 of "), "{s}");
}

#[test]
fn doctor_names_an_unreachable_output_with_exit_4() {
    // Sources and models fine; the output is an S3 bucket behind a port
    // nothing listens on (no retries), so listing it fails.
    let p = pack("");
    let out = p.shoal(&[
        "--set",
        "output.location=s3://nobucket/out",
        "--set",
        "storage.s3.endpoint=http://127.0.0.1:9",
        "--set",
        "storage.s3.allow_http=\"true\"",
        "--set",
        "storage.s3.access_key_id=doctor-test-key",
        "--set",
        "storage.s3.secret_access_key=doctor-test-secret",
        "--set",
        "storage.retry.max_retries=0",
        "doctor",
    ]);
    out.expect_code(4);
    let s = out.stdout();
    assert!(s.contains("✓ source events"), "{s}");
    assert!(s.contains("✓ models"), "{s}");
    assert!(s.contains("✗ output"), "{s}");
    assert!(s.contains("s3://nobucket/out/"), "{s}");
    assert!(s.contains("→ check output.location"), "{s}");
    assert!(s.contains("(exit 4)"), "{s}");
    assert!(
        !s.contains("doctor-test-secret"),
        "the secret is printed:\n{s}"
    );
}

/// Request lines and bodies a [`capture_server`] received.
type Captured = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A one-thread HTTP server that answers 200 to every request and keeps
/// the request lines and bodies.
fn capture_server() -> (u16, Captured) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            keep.lock().unwrap().push((
                request_line.trim().to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, seen)
}

#[test]
fn openlineage_url_gets_each_event_posted() {
    let (port, seen) = capture_server();
    let p = pack(&format!(
        "lineage: {{ openlineage: {{ url: \"http://127.0.0.1:{port}/api/v1/lineage\" }} }}\n"
    ));
    p.shoal(&["run", "--ds", DAY]).expect_code(0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6, "3 models x START, COMPLETE: {seen:?}");
    let mut jobs = vec![];
    for (line, body) in &seen {
        assert_eq!(line, "POST /api/v1/lineage HTTP/1.1");
        let e: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(e["job"]["namespace"], "test");
        jobs.push(format!(
            "{} {}",
            e["job"]["name"].as_str().unwrap(),
            e["eventType"].as_str().unwrap()
        ));
    }
    jobs.sort();
    assert_eq!(
        jobs,
        [
            "community_revenue COMPLETE",
            "community_revenue START",
            "revenue COMPLETE",
            "revenue START",
            "stg_events COMPLETE",
            "stg_events START"
        ]
    );
}

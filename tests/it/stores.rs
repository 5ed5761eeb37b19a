//! The same project on memory:// and on file:// gives identical outputs.

use crate::common::{TempProject, ev};

async fn run_and_read(config_path: &std::path::Path, dir: &std::path::Path) -> Vec<String> {
    let project = shoal::project::Project::open(config_path, dir, &[]).unwrap();
    let record = shoal::engine::run(&project, &shoal::engine::RunOptions::default(), &[])
        .await
        .unwrap();
    assert_eq!(
        record.exit_code,
        Some(shoal::ExitStatus::Success),
        "{record:?}"
    );
    let (ctx, _) = shoal::engine::query_session(&project, record.ds)
        .await
        .unwrap();
    let mut out = vec![];
    for (table, order) in [("user_daily", "dt, user_id"), ("dq_daily", "dt")] {
        let batches = ctx
            .sql(&format!("select * from {table} order by {order}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        out.extend(crate::common::batches_to_lines(&batches));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_file_stores_give_identical_outputs() {
    use object_store::ObjectStoreExt;
    let p = TempProject::with_repo_models();
    let days = [
        (
            "2026-11-19",
            vec![
                ev("e1", "2026-11-19 10:00:00", "u1", "view"),
                ev("e2", "2026-11-19 11:00:00", "u2", "like"),
            ],
        ),
        (
            "2026-11-20",
            vec![ev("e3", "2026-11-20 09:00:00", "u1", "comment")],
        ),
        (
            "2026-11-21",
            vec![
                ev("e4", "2026-11-21 08:00:00", "u1", "view"),
                ev("e5", "2026-11-20 22:00:00", "u2", "share"),
            ],
        ),
    ];
    for (d, rows) in &days {
        p.events(d, "a", rows);
    }
    let file_rows = run_and_read(&p.path().join("config/shoal.yaml"), p.path()).await;
    assert!(!file_rows.is_empty());

    // Copy the same files into an in-memory store and point a second config at it.
    let loc = shoal::catalog::Location::parse("memory://storetest/events", p.path()).unwrap();
    let store = shoal::catalog::Stores::new(Default::default())
        .store_for(&loc)
        .unwrap();
    for (d, _) in &days {
        let bytes = std::fs::read(p.path().join(format!("data/events/dt={d}/a.parquet"))).unwrap();
        store
            .put(
                &object_store::path::Path::from(format!("events/dt={d}/a.parquet")),
                bytes.into(),
            )
            .await
            .unwrap();
    }
    let mem_config = crate::common::CONFIG
        .replace(
            "location: data/events",
            "location: memory://storetest/events",
        )
        .replace(
            "location: warehouse",
            "location: memory://storetest/warehouse",
        );
    p.write("config/memory.yaml", &mem_config);
    let mem_rows = run_and_read(&p.path().join("config/memory.yaml"), p.path()).await;
    assert_eq!(mem_rows, file_rows);
}

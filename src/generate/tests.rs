//! Tests of the generator: determinism, schema, the shares of noise, options.

use std::collections::BTreeSet;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::TryStreamExt;
use object_store::memory::InMemory;

use super::*;

const VOCABULARY: [&str; 16] = [
    "exposure",
    "view",
    "click",
    "like",
    "comment",
    "share",
    "message",
    "join",
    "quit",
    "checkin",
    "activity_join",
    "signup",
    "add_to_cart",
    "purchase",
    "invite",
    "nps",
];

fn small() -> GenerateOptions {
    GenerateOptions {
        users: 300,
        days: 10,
        late_share: 0.03,
        duplicate_share: 0.02,
        unknown_type_share: 0.005,
        ..GenerateOptions::default()
    }
}

async fn generate_into(opts: &GenerateOptions) -> (Arc<InMemory>, GenerateReport) {
    let store = Arc::new(InMemory::new());
    let report = generate(store.clone(), &Path::from("data"), opts)
        .await
        .expect("generate");
    (store, report)
}

/// Every object of the store, path → bytes, in path order.
async fn objects(store: &Arc<InMemory>) -> Vec<(String, Vec<u8>)> {
    let mut metas: Vec<_> = store.list(None).try_collect().await.expect("list");
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    let mut out = Vec::new();
    for meta in metas {
        let bytes = store
            .get(&meta.location)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        out.push((meta.location.to_string(), bytes.to_vec()));
    }
    out
}

async fn session(store: Arc<InMemory>) -> SessionContext {
    let ctx = SessionContext::new();
    let url = url::Url::parse("memory://").expect("url");
    ctx.register_object_store(&url, store);
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![("dt".to_string(), DataType::Utf8)]);
    ctx.register_listing_table("events", "memory:///data/events/", options, None, None)
        .await
        .expect("register events");
    ctx.register_parquet(
        "users",
        "memory:///data/users/",
        ParquetReadOptions::default(),
    )
    .await
    .expect("register users");
    ctx
}

async fn count(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

async fn float(ctx: &SessionContext, sql: &str) -> f64 {
    let sql = format!("select cast(({sql}) as double)");
    let batches = ctx
        .sql(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    batches[0].column(0).as_primitive::<Float64Type>().value(0)
}

async fn strings(ctx: &SessionContext, sql: &str) -> BTreeSet<String> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = BTreeSet::new();
    for b in &batches {
        let col = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).expect("cast");
        let col = col.as_string::<i32>();
        for i in 0..col.len() {
            if col.is_valid(i) {
                out.insert(col.value(i).to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn small_set_has_everything_the_metrics_need() {
    let opts = small();
    let (store, report) = generate_into(&opts).await;
    assert_eq!(report.days, 10);
    assert_eq!(report.users, 300);
    assert_eq!(report.files, 11);
    assert_eq!(
        report.last_day,
        NaiveDate::from_ymd_opt(2026, 9, 10).unwrap()
    );
    assert!(report.events > 3_000, "{report:?}");

    // Layout and the exact file schema.
    let files = objects(&store).await;
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert!(names.contains(&"data/events/dt=2026-09-01/part-0.parquet"));
    assert!(names.contains(&"data/events/dt=2026-09-10/part-0.parquet"));
    assert!(names.contains(&"data/users/users.parquet"));
    let first = store
        .get(&Path::from("data/events/dt=2026-09-01/part-0.parquet"))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let reader = ParquetRecordBatchReaderBuilder::try_new(first).expect("parquet");
    assert_eq!(
        reader.schema().as_ref(),
        crate::catalog::events_schema().as_ref()
    );
    assert_eq!(
        report.bytes,
        files.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    );

    let ctx = session(store).await;
    assert_eq!(
        count(&ctx, "select count(*) from events").await as u64,
        report.events
    );
    assert_eq!(count(&ctx, "select count(*) from users").await, 300);

    // Vocabulary, plus unknown types.
    let types = strings(&ctx, "select distinct event_type from events").await;
    for t in VOCABULARY {
        assert!(types.contains(t), "{t} missing from {types:?}");
    }
    assert!(types.iter().any(|t| !VOCABULARY.contains(&t.as_str())));

    // Late events, none more than 3 days late and none from the future.
    let late = "cast(event_time as date) < cast(dt as date)";
    assert!(count(&ctx, &format!("select count(*) from events where {late}")).await > 0);
    assert_eq!(
        count(
            &ctx,
            "select count(*) from events where cast(event_time as date) \
             < cast(dt as date) - interval '3 days' \
             or cast(event_time as date) > cast(dt as date)"
        )
        .await,
        0
    );
    // Duplicates, inside a partition and across partitions.
    assert!(
        count(
            &ctx,
            "select count(*) - count(distinct event_id) from events"
        )
        .await
            > 0
    );
    assert!(
        count(
            &ctx,
            "select count(*) from (select event_id from events \
             group by event_id having count(distinct dt) > 1)"
        )
        .await
            > 0
    );
    // Duplicates are exact re-sends.
    assert_eq!(
        count(
            &ctx,
            "select count(*) from (select event_id from (select distinct event_id, \
             event_time, user_id, event_type, content_id, session_id, amount, order_id, \
             properties from events) group by event_id having count(*) > 1)"
        )
        .await,
        0
    );

    // Purchases carry an order id, almost all an amount.
    assert_eq!(
        count(
            &ctx,
            "select count(*) from events where event_type = 'purchase' and order_id is null"
        )
        .await,
        0
    );
    assert!(
        count(
            &ctx,
            "select count(amount) from events where event_type = 'purchase' and amount > 0"
        )
        .await
            > 0
    );

    // A signup on every user's first day, at users.signup_time.
    assert_eq!(
        count(
            &ctx,
            "select count(*) from (select user_id, min(event_time) as first, \
             min(case when event_type = 'signup' then event_time end) as signup \
             from events where user_id is not null group by user_id) \
             where first < timestamp '2026-09-08T00:00:00Z' \
             and (signup is null or signup <> first)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &ctx,
            "select count(*) from users u join events e \
             on e.user_id = u.user_id and e.event_type = 'signup' \
             where e.event_time <> u.signup_time"
        )
        .await,
        0
    );

    // Referred signups follow an invite by the referrer.
    assert!(
        count(
            &ctx,
            "select count(*) from events where event_type = 'join' and referrer_id is not null"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &ctx,
            "select count(*) from events s where s.event_type = 'signup' \
             and s.referrer_id is not null and s.event_time < timestamp '2026-09-08T00:00:00Z' \
             and not exists (select 1 from events i where i.event_type = 'invite' \
             and i.user_id = s.referrer_id and i.event_time < s.event_time)"
        )
        .await,
        0
    );

    // Sessions: some events without a session id, most with one.
    let null_sessions = count(&ctx, "select count(*) from events where session_id is null").await;
    assert!(null_sessions > 0 && null_sessions * 5 < report.events as i64);

    // Properties are JSON objects with the known keys.
    let props = strings(&ctx, "select distinct properties from events").await;
    let mut keys = BTreeSet::new();
    let mut variants = BTreeSet::new();
    for p in &props {
        let v: serde_json::Value = serde_json::from_str(p).expect("JSON");
        let obj = v.as_object().expect("object");
        keys.extend(obj.keys().cloned());
        if let Some(score) = obj.get("nps_score") {
            assert!(score.as_u64().is_some_and(|s| s <= 10), "{p}");
        }
        if let Some(variant) = obj.get("variant") {
            variants.insert(variant.as_str().unwrap().to_string());
        }
    }
    for k in [
        "nps_score",
        "experiment",
        "variant",
        "coupon",
        "campaign_id",
    ] {
        assert!(keys.contains(k), "{k} missing from {keys:?}");
    }
    assert_eq!(
        variants,
        BTreeSet::from(["control".to_string(), "treatment".to_string()])
    );

    // Channels and communities of different sizes.
    let channels = strings(&ctx, "select distinct channel from events").await;
    assert!(channels.len() >= 6, "{channels:?}");
    let communities = count(&ctx, "select count(distinct community_id) from events").await;
    assert!(communities >= 6, "{communities}");

    // Every comment has a text of the vocabulary, and the upstream label,
    // where there is one, is that text's sentiment; about 30 % are labelled
    // and all three classes occur.
    let comments = strings(
        &ctx,
        "select coalesce(properties, '') from events where event_type = 'comment'",
    )
    .await;
    assert!(comments.len() >= 40, "{} comments", comments.len());
    let (mut labelled, mut classes) = (0, BTreeSet::new());
    for p in &comments {
        let v: serde_json::Value = serde_json::from_str(p).expect("JSON");
        let text = v["text"].as_str().expect("a comment has a text");
        let (_, class) = COMMENTS
            .iter()
            .find(|(t, _)| *t == text)
            .expect("a text of the vocabulary");
        classes.insert(*class);
        if let Some(label) = v.get("sentiment") {
            labelled += 1;
            let expected = match class {
                1 => "positive",
                0 => "neutral",
                _ => "negative",
            };
            assert_eq!(label.as_str(), Some(expected), "{p}");
        }
    }
    let share = labelled as f64 / comments.len() as f64;
    assert!((0.15..0.45).contains(&share), "{share} labelled");
    assert_eq!(classes.len(), 3, "{classes:?}");
}

/// Orders (distinct events of a sale order id) with their user, community,
/// channel, day and total amount.
const SALES: &str = "select user_id, order_id, min(community_id) as community_id, \
     min(channel) as channel, min(cast(event_time as date)) as d, count(*) as lines, \
     sum(amount) as total from (select distinct event_id, user_id, order_id, community_id, \
     channel, event_time, amount from events where event_type = 'purchase' \
     and order_id like 'o%') group by user_id, order_id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_have_lines_refunds_and_buyers_differ_by_demographics() {
    let opts = GenerateOptions {
        users: 2_000,
        days: 30,
        ..GenerateOptions::default()
    };
    let (store, _) = generate_into(&opts).await;
    let users = store
        .get(&Path::from("data/users/users.parquet"))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let reader = ParquetRecordBatchReaderBuilder::try_new(users).expect("parquet");
    assert_eq!(
        reader.schema().as_ref(),
        crate::catalog::users_schema().as_ref()
    );
    let ctx = session(store).await;

    // Multi-line orders: lines of one order share a user, a day, a community
    // and a channel; about 25–35 % of orders have 2+ lines.
    let orders = count(&ctx, &format!("select count(*) from ({SALES})")).await;
    let multi = count(
        &ctx,
        &format!("select count(*) from ({SALES}) where lines >= 2"),
    )
    .await;
    let share = multi as f64 / orders as f64;
    assert!(orders > 300, "{orders} orders");
    assert!(
        (0.2..=0.4).contains(&share),
        "{multi} of {orders} orders have 2+ lines"
    );
    assert_eq!(
        count(
            &ctx,
            "select count(*) from (select order_id from events where order_id is not null \
             group by order_id having count(distinct user_id) > 1 \
             or count(distinct cast(event_time as date)) > 1 \
             or count(distinct coalesce(community_id, '-')) > 1 \
             or count(distinct coalesce(channel, '-')) > 1)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &ctx,
            "select count(*) from events where event_type = 'purchase' and order_id is null"
        )
        .await,
        0
    );

    // Refunds: negative purchases with their own r… order id, 1–14 days after
    // an order of the same user in the same community and channel, at most
    // the order's total.
    let refunds = count(
        &ctx,
        "select count(distinct order_id) from events where order_id like 'r%'",
    )
    .await;
    assert!(
        refunds > 0 && refunds * 100 < orders * 6,
        "{refunds} refunds of {orders} orders"
    );
    assert_eq!(
        count(
            &ctx,
            "select count(*) from events where (amount < 0) <> coalesce(order_id like 'r%', false) \
             or (order_id like 'r%' and event_type <> 'purchase')"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &ctx,
            &format!(
                "with sales as ({SALES}) select count(*) from events r \
                 where r.order_id like 'r%' and not exists (select 1 from sales s \
                 where s.user_id = r.user_id \
                 and coalesce(s.community_id, '-') = coalesce(r.community_id, '-') \
                 and coalesce(s.channel, '-') = coalesce(r.channel, '-') \
                 and (s.d >= (cast(r.event_time as date) - interval '14 days')) \
                 and (s.d <= (cast(r.event_time as date) - interval '1 day')) \
                 and (0 - r.amount) <= s.total + 0.005)"
            )
        )
        .await,
        0
    );

    // Demographics shift behaviour: gen Z (born 1995–2009) is more active,
    // tier-1/2 cities spend more per line than tier-4/5 ones.
    let per_user = "with u as (select user_id, count(*) as events, \
         count(distinct cast(event_time as date)) as days from events \
         where user_id is not null group by user_id) \
         select u.*, birth_year between 1995 and 2009 as gen_z from u \
         join users using (user_id) where birth_year is not null";
    let mean = |what: &str, gen_z: bool| {
        format!("select avg({what}) from ({per_user}) where gen_z = {gen_z}")
    };
    let (z_events, other_events) = (
        float(&ctx, &mean("events", true)).await,
        float(&ctx, &mean("events", false)).await,
    );
    let (z_days, other_days) = (
        float(&ctx, &mean("days", true)).await,
        float(&ctx, &mean("days", false)).await,
    );
    assert!(
        z_events > 1.15 * other_events && z_days > other_days,
        "gen Z {z_events:.1} events on {z_days:.2} days, others {other_events:.1} on {other_days:.2}"
    );
    let line_amount = |tiers: &str| {
        format!(
            "select avg(e.amount) from events e join users u using (user_id) \
             where e.order_id like 'o%' and u.city_tier in ({tiers})"
        )
    };
    let (rich, poor) = (
        float(&ctx, &line_amount("1, 2")).await,
        float(&ctx, &line_amount("4, 5")).await,
    );
    assert!(
        rich > 1.1 * poor,
        "tier 1–2 {rich:.2} vs tier 4–5 {poor:.2} per line"
    );
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_rows() {
    let opts = GenerateOptions {
        users: 200,
        days: 5,
        ..GenerateOptions::default()
    };
    let (a, report_a) = generate_into(&opts).await;
    let (b, report_b) = generate_into(&opts).await;
    assert_eq!(report_a, report_b);
    let (a, b) = (objects(&a).await, objects(&b).await);
    assert_eq!(a.len(), b.len());
    for ((pa, ba), (pb, bb)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between two runs with the same seed");
    }

    let (c, _) = generate_into(&GenerateOptions { seed: 7, ..opts }).await;
    let c = objects(&c).await;
    assert_eq!(a.len(), c.len());
    assert!(a.iter().zip(&c).all(|((_, x), (_, y))| x != y));
}

#[tokio::test]
async fn rejects_bad_options() {
    let store = Arc::new(InMemory::new());
    for opts in [
        GenerateOptions {
            users: 0,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            days: 0,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            late_share: 2.0,
            ..GenerateOptions::default()
        },
    ] {
        let err = generate(store.clone(), &Path::from("x"), &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, GenerateError::InvalidOptions(_)), "{err}");
    }
}

/// Prints the distributions the metrics of docs/metrics.md will see:
/// `cargo test --release --lib generate::tests::profile -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "diagnostics; run by hand"]
#[allow(clippy::print_stdout)]
async fn profile() {
    let opts = GenerateOptions {
        users: 20_000,
        ..GenerateOptions::default()
    };
    let (store, report) = generate_into(&opts).await;
    println!("{report:?}");
    let ctx = session(store).await;
    let e = report.events as f64;
    for (name, sql) in [
        (
            "late",
            "select count(*) from events where cast(event_time as date) < cast(dt as date)",
        ),
        (
            "duplicates",
            "select count(*) - count(distinct event_id) from events",
        ),
        (
            "unknown types",
            "select count(*) from events where event_type in ('badge', 'refund', 'poll_vote')",
        ),
        (
            "null user_id",
            "select count(*) from events where user_id is null",
        ),
        (
            "null session_id",
            "select count(*) from events where session_id is null",
        ),
    ] {
        let n = count(&ctx, sql).await;
        println!("{name}: {n} = {:.3} %", 100.0 * n as f64 / e);
    }
    for sql in [
        "select event_type, count(*) as n, round(100.0 * count(*) / sum(count(*)) over (), 2) as pct \
         from events group by event_type order by n desc",
        "select date_trunc('week', event_time) as week, count(distinct user_id) as wau, count(*) as events \
         from events group by 1 order by 1",
        "select community_id, count(distinct user_id) as users, \
         round(sum(case when event_type in ('like','comment','share') then 1 else 0 end) * 1.0 \
           / sum(case when event_type = 'view' then 1 else 0 end), 3) as interaction_rate, \
         round(sum(case when event_type = 'click' then 1 else 0 end) * 1.0 \
           / sum(case when event_type = 'exposure' then 1 else 0 end), 3) as click_conv, \
         round(count(distinct case when event_type = 'purchase' then user_id end) * 1.0 \
           / count(distinct case when event_type = 'view' then user_id end), 3) as buyers_per_viewer_60d \
         from events group by 1 order by users desc",
        "with s as (select session_id, max(case when event_type in ('click','like','comment','share',\
         'checkin','activity_join','add_to_cart','purchase') then 1 else 0 end) as core \
         from events where session_id is not null group by 1) \
         select count(*) as sessions, round(1.0 - avg(core), 3) as bounce_rate from s",
        "with d as (select dt, community_id, \
         count(distinct case when event_type = 'purchase' then user_id end) * 1.0 \
           / nullif(count(distinct case when event_type = 'view' then user_id end), 0) as pc \
         from events where dt >= '2026-10-01' group by 1, 2) \
         select round(avg(pc), 4) as daily_purchase_conversion, round(min(pc), 4) as min, round(max(pc), 4) as max from d",
        "with u as (select user_id, count(*) as n, count(distinct cast(event_time as date)) as days \
         from events where user_id is not null group by 1) \
         select count(*) as users, approx_percentile_cont(n, 0.5) as p50_events, \
         approx_percentile_cont(n, 0.9) as p90, approx_percentile_cont(n, 0.99) as p99, max(n) as max, \
         approx_percentile_cont(days, 0.5) as p50_days, max(days) as max_days from u",
        "with a as (select distinct user_id, cast(event_time as date) as d from events \
         where user_id is not null), f as (select user_id, min(d) as c from a group by 1) \
         select count(distinct f.user_id) as cohort_users, \
         round(count(distinct case when a.d = f.c + interval '1 day' then f.user_id end) * 1.0 \
           / count(distinct f.user_id), 3) as d1, \
         round(count(distinct case when a.d = f.c + interval '7 days' then f.user_id end) * 1.0 \
           / count(distinct f.user_id), 3) as d7, \
         round(count(distinct case when a.d = f.c + interval '30 days' then f.user_id end) * 1.0 \
           / count(distinct f.user_id), 3) as d30 \
         from f join a on a.user_id = f.user_id where f.c < date '2026-09-20'",
        "with ex as (select user_id, min(event_time) as t, \
         max(case when properties like '%treatment%' then 'treatment' else 'control' end) as variant \
         from events where properties like '%checkout_v2%' group by 1), \
         b as (select distinct e.user_id from events e join ex on e.user_id = ex.user_id \
         where e.event_type = 'purchase' and e.event_time > ex.t) \
         select variant, count(*) as users, count(b.user_id) as converters, \
         round(count(b.user_id) * 1.0 / count(*), 4) as rate from ex left join b on ex.user_id = b.user_id group by 1 order by 1",
        "select count(distinct user_id) as inviters, count(*) as invites from events where event_type = 'invite'",
        "select count(*) as referred_joins from events where event_type = 'join' and referrer_id is not null",
        "select extract(hour from event_time) as hour, count(*) as messages from events \
         where event_type = 'message' group by 1 order by 2 desc limit 3",
        "select properties, count(*) as n from events where event_type = 'checkin' group by 1 order by 1",
        "select round(avg(amount), 2) as avg_amount, count(*) as purchases, count(amount) as with_amount \
         from events where event_type = 'purchase'",
        "with o as (select order_id, count(distinct event_id) as lines from events \
         where order_id like 'o%' group by 1) \
         select count(*) as orders, round(avg(case when lines >= 2 then 1.0 else 0 end), 3) as multi_line, \
         (select count(distinct order_id) from events where order_id like 'r%') as refunds from o",
    ] {
        match ctx.sql(sql).await {
            Ok(df) => {
                if let Err(err) = df.show().await {
                    println!("{sql}: {err}");
                }
            }
            Err(err) => println!("{sql}: {err}"),
        }
    }
}

/// Throughput on the local file system:
/// `SHOAL_GEN_USERS=400000 cargo test --release --lib generate::tests::throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run by hand"]
#[allow(clippy::print_stdout)]
async fn throughput() {
    let users = std::env::var("SHOAL_GEN_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("store"));
    let opts = GenerateOptions {
        users,
        ..GenerateOptions::default()
    };
    let started = std::time::Instant::now();
    let report = generate(store, &Path::from("out"), &opts)
        .await
        .expect("generate");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} users, {} days: {} events, {} files, {:.1} MB in {:.1} s = {:.0} events/s ({:.1} bytes/event)",
        report.users,
        report.days,
        report.events,
        report.files,
        report.bytes as f64 / 1e6,
        secs,
        report.events as f64 / secs,
        report.bytes as f64 / report.events as f64
    );
}

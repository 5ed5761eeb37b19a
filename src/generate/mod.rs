//! Synthetic event sets in the events schema of docs/events.md#events (`shoal generate`).
//!
//! Takes [`GenerateOptions`] and an object store; hands on
//! `root/events/dt=YYYY-MM-DD/part-N.parquet` (hive partitions by the UTC day
//! an event was *received*) and `root/users/users.parquet`, in the exact
//! Arrow schemas of [`crate::catalog::events_schema`] and [`crate::catalog::users_schema`].
//!
//! # Data model
//!
//! Everything is a pure function of the seed, so every receive day can be
//! generated on its own, in parallel, and reruns give the same bytes:
//!
//! * **Users** (`u00000000` …) sign up over the window: 12 % on launch day,
//!   the rest at a rate growing 1× → 2.5× over the window (weekends +20 %);
//!   user ids increase with signup time. Each user has a heavy-tailed
//!   intensity (Pareto, α = 1.6, capped at 40) that drives both the
//!   probability of being active on a day and the number of sessions and
//!   events; a lifetime (30 % leave within 1–3 days, 55 % after an
//!   exponential 35 days, 15 % stay), activity decaying after signup
//!   (novelty), a silent phase (×0.25) over the last third (≤ 10 days) of
//!   a lifetime, and a 12 % chance of coming back 7–30 days after churning.
//! * **Communities** `c001` … have Zipf (s = 1.2) sizes; each user joins 1–3
//!   (the first on signup day, the others later), 8 % of memberships end with
//!   a `quit`. Communities differ in interaction (×0.6–1.5), purchase
//!   (×0.5–1.5) and bounce (4–18 % of sessions) propensity, so the
//!   `kpi_scorecard` targets are met by some and missed by others, and have rare "hot
//!   hours" with bursts of messages (anomalies).
//! * **Referrals**: 22 % of later users are invited by an ambassador (4–14 %
//!   of users, older ones inviting more) who sent an `invite` 1–5 days
//!   before; the invitee's `signup` and first `join` carry `referrer_id` and
//!   the invitee usually joins the inviter's community. Ambassadors also
//!   send invites that do not convert.
//! * **A day** of an active user is 1–12 sessions (start hours follow a
//!   China-time diurnal curve expressed in UTC, peaks at 04 and 12–14 UTC);
//!   the first session carries the chores: `signup`/`join` on the first day,
//!   later `join`s, `checkin` (30 % of users run 1–7 day streaks, with
//!   `properties.streak`), `invite`s, and at its end `quit`s and `nps`
//!   answers (`{"nps_score":0..10}`, 1.5 % of active days).
//! * **Sessions** either bounce (an exposure or two, a view, or chat
//!   messages only: no core action) or contain at least one core action.
//!   They are one of: *feed* (exposures of posts → click → view,
//!   direct views, likes/comments/shares; every comment has a
//!   `properties.text` in Chinese or English, about 55 % positive, 27 %
//!   neutral and 18 % negative (60 % negative on one day in 31 per
//!   community), 30 % with an upstream `properties.sentiment` label; posts are published daily and
//!   popularity is Zipf with a recency bias), *shop* (exposures of products
//!   → click → view → add_to_cart, a filled cart filling faster, then maybe
//!   a checkout: each product in the cart is bought with probability 0.9,
//!   one `purchase` line per product with its `amount`, all lines sharing
//!   one `order_id` (`o…`), so about 30 % of orders have 2+ lines; coupons;
//!   1 % of lines without amount; every purchase has an `order_id`; 40 % of
//!   users are in the `checkout_v2` experiment, tagged on shop exposures,
//!   treatment converts ×1.12 at checkout), *chat* (`message`s in a community, links clicked,
//!   some likes and shares),
//!   *activity* (campaign banner exposure → `activity_join`, with
//!   `campaign_id`). 5 % of sessions have no `session_id`. Channels: a
//!   per-user primary (wechat 34 %, mini_program 22 %, wecom 14 %, app 14 %,
//!   web 10 %, discord 6 %) used in 80 % of sessions.
//! * **Repeat buyers**: checkouts come from the user's shop sessions, so
//!   heavier users buy again; about 3 in 10 buyers of a 30-day window order
//!   twice or more in it.
//! * **Refunds**: one order of 3.1 % of the (user, day) pairs with an order
//!   (about 3 % of orders) is refunded 1–14 days later: a `purchase` with a
//!   NEGATIVE `amount` (minus one line's amount, or the whole order's) and
//!   its own `order_id` (`r…`, like a cancellation invoice), by the same
//!   user in the order's community and channel, without session. A refund
//!   due after the last day is not written; every refund is a function of
//!   the seed and of the order's day, so days stay independent.
//! * **Demographics** (`users.parquet`: gender, birth year, region, city
//!   tier, occupation) are drawn per user from their own stream before the
//!   behaviour and shift it modestly: gen Z (born 1995–2009) ×1.35
//!   intensity, ×1.4 chat sessions and ×0.85 spend; born before 1980
//!   ×0.85 intensity and ×1.1 spend; tier-1/2 cities ×1.25 checkout
//!   probability and ×1.15 spend, tier 4/5 ×0.8 and ×0.9; students ×0.75
//!   shop sessions and ×0.75 spend, retired ×0.8 intensity, engineers and
//!   the self-employed ×1.1 spend. Spend multiplies every line's amount.
//! * **Noise**: whole sessions arrive 1–3 days late (≈ `late_share` of
//!   events; lag 1/2/3 days 60/25/15 %), events are re-sent with the same
//!   `event_id` (≈ `duplicate_share`: 70 % inside the same partition, 30 % as
//!   a whole session re-sent into the next day's partition), events of
//!   unknown types (`badge`, `refund`, `poll_vote`, ≈ `unknown_type_share`),
//!   and about 2 in 100 000 events with a null `user_id` or `event_type`.
//!   Events received after the last day are not written.
//!
//! The files: this one has the options, the report and the driver;
//! [`random`] the keyed random streams, [`vocabulary`] the event types and
//! weights, [`world`] users, communities and day plans, [`session`] the
//! events of a user's day, [`encode`] Arrow batches and Parquet part files.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

mod encode;
mod random;
mod session;
#[cfg(test)]
mod tests;
mod vocabulary;
mod world;

use encode::*;
use random::*;
use session::*;
use vocabulary::*;
use world::*;

/// What went wrong while generating data.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Writing to the object store failed.
    #[error("cannot write {url}: {source}")]
    Write {
        /// The object location (path inside the output store).
        url: String,
        /// The underlying error.
        source: object_store::Error,
    },
    /// The options are out of range.
    #[error("invalid generate options: {0}")]
    InvalidOptions(String),
    /// Building an Arrow record batch failed (a bug in the generator).
    #[error("cannot build the rows of {path}: {source}")]
    Arrow {
        /// The file being built.
        path: String,
        /// The underlying error.
        source: ArrowError,
    },
    /// Encoding Parquet failed.
    #[error("cannot encode {path} as Parquet: {source}")]
    Encode {
        /// The file being encoded.
        path: String,
        /// The underlying error.
        source: ParquetError,
    },
    /// A generator worker thread panicked or was cancelled.
    #[error("generator worker failed: {0}")]
    Worker(String),
}

/// What to generate. Every share is a fraction of events (0.01 = 1 %).
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Number of users who sign up over the window (default 5 000).
    pub users: u64,
    /// Number of days, i.e. of `dt` partitions (default 60).
    pub days: u32,
    /// First day (UTC) of the window (default 2026-09-01).
    pub start: NaiveDate,
    /// Seed; the same seed gives the same rows and bytes (default 42).
    pub seed: u64,
    /// Number of communities, sizes Zipf-distributed (default 12).
    pub communities: u32,
    /// Share of events received 1–3 days after they happened (default 0.01).
    pub late_share: f64,
    /// Share of events re-sent with the same `event_id` (default 0.005).
    pub duplicate_share: f64,
    /// Share of events of a type outside the vocabulary (default 0.001).
    pub unknown_type_share: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            users: 5_000,
            days: 60,
            start: NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date"),
            seed: 42,
            communities: 12,
            late_share: 0.01,
            duplicate_share: 0.005,
            unknown_type_share: 0.001,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    /// Event rows written over all partitions (duplicates included).
    pub events: u64,
    /// Users (rows of `users/users.parquet`).
    pub users: u64,
    /// Number of days (`dt` partitions).
    pub days: u32,
    /// Files written, `users.parquet` included.
    pub files: u64,
    /// Bytes written, `users.parquet` included.
    pub bytes: u64,
    /// First `dt` partition.
    pub first_day: NaiveDate,
    /// Last `dt` partition.
    pub last_day: NaiveDate,
}

/// Rows per part file; a larger day is split into `part-1`, `part-2`, ….
const MAX_ROWS_PER_FILE: usize = 2_000_000;
/// Rows per Arrow batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;
/// Most sessions of a user on one day.
const MAX_SESSIONS: usize = 12;
/// Share of events with a null `user_id` (and, separately, `event_type`).
const NULL_KEY_SHARE: f64 = 0.000_02;
/// Late sessions per active day are `late_share * LATE_CALIBRATION`: one late
/// session carries about 1/1.6 of a user's day, measured on the defaults.
const LATE_CALIBRATION: f64 = 1.6;
/// Share of (user, day) pairs with an order whose order is refunded.
const REFUND_DAY_SHARE: f64 = 0.031;
/// Most days between an order and its refund.
const REFUND_MAX_LAG: u32 = 14;
/// Microseconds per day.
const DAY_US: i64 = 86_400_000_000;

/// Writes a synthetic event set under `root` (see the module docs).
pub async fn generate(
    store: Arc<dyn ObjectStore>,
    root: &Path,
    opts: &GenerateOptions,
) -> Result<GenerateReport, GenerateError> {
    validate(opts)?;
    let opts_owned = opts.clone();
    let ctx = Arc::new(run_blocking(move || Ok(Ctx::new(&opts_owned))).await?);

    // users/users.parquet
    let users_path = root.clone().join("users").join("users.parquet");
    let users_bytes = {
        let ctx = Arc::clone(&ctx);
        let path = users_path.to_string();
        run_blocking(move || ctx.encode_users(&path)).await?
    };
    let mut bytes = users_bytes.len() as u64;
    let mut files = 1u64;
    put(&store, &users_path, users_bytes).await?;

    let in_flight = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
        + 1;
    let mut days = futures::stream::iter(0..opts.days)
        .map(|day| {
            let ctx = Arc::clone(&ctx);
            let store = Arc::clone(&store);
            let dir = root
                .clone()
                .join("events")
                .join(format!("dt={}", ctx.date(day).format("%Y-%m-%d")));
            async move {
                let dir_name = dir.to_string();
                let parts = run_blocking(move || ctx.encode_partition(day, &dir_name)).await?;
                let (mut rows, mut bytes) = (0u64, 0u64);
                let files = parts.len() as u64;
                for (n, (part, part_rows)) in parts.into_iter().enumerate() {
                    rows += part_rows;
                    bytes += part.len() as u64;
                    put(&store, &dir.clone().join(format!("part-{n}.parquet")), part).await?;
                }
                Ok::<_, GenerateError>((rows, files, bytes))
            }
        })
        .buffered(in_flight);
    let mut events = 0u64;
    while let Some(day) = days.next().await {
        let (rows, day_files, day_bytes) = day?;
        events += rows;
        files += day_files;
        bytes += day_bytes;
    }
    Ok(GenerateReport {
        events,
        users: opts.users,
        days: opts.days,
        files,
        bytes,
        first_day: opts.start,
        last_day: ctx.date(opts.days - 1),
    })
}

fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    let bad = |msg: String| Err(GenerateError::InvalidOptions(msg));
    if opts.users == 0 || opts.users >= 1 << 26 {
        return bad(format!("users = {}: expected 1 to 67108863", opts.users));
    }
    if opts.days == 0 || opts.days > 10_000 {
        return bad(format!("days = {}: expected 1 to 10000", opts.days));
    }
    if opts.communities == 0 || opts.communities > 999 {
        return bad(format!(
            "communities = {}: expected 1 to 999",
            opts.communities
        ));
    }
    for (name, v) in [
        ("late_share", opts.late_share),
        ("duplicate_share", opts.duplicate_share),
        ("unknown_type_share", opts.unknown_type_share),
    ] {
        if !(0.0..=0.5).contains(&v) {
            return bad(format!("{name} = {v}: expected a fraction from 0 to 0.5"));
        }
    }
    if opts
        .start
        .checked_add_days(chrono::Days::new(opts.days as u64))
        .is_none()
    {
        return bad(format!("start = {}: the window overflows", opts.start));
    }
    Ok(())
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GenerateError> + Send + 'static,
) -> Result<T, GenerateError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GenerateError::Worker(e.to_string()))?
}

async fn put(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    bytes: Vec<u8>,
) -> Result<(), GenerateError> {
    store
        .put(path, PutPayload::from(bytes))
        .await
        .map(|_| ())
        .map_err(|source| GenerateError::Write {
            url: path.to_string(),
            source,
        })
}

fn writer_properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1"),
        ))
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(1024 * 1024));
    for high_cardinality in ["event_id", "event_time", "session_id", "order_id", "amount"] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(high_cardinality), false);
    }
    b.build()
}

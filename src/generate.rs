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
//!   direct views, likes/comments/shares; posts are published daily and
//!   popularity is Zipf with a recency bias), *shop* (exposure of a product
//!   → click → view → add_to_cart → purchase with `amount` and `order_id`;
//!   coupons; 1 % of purchases without amount; 40 % of users are in the
//!   `checkout_v2` experiment, tagged on shop exposures, treatment converts
//!   ×1.12 at checkout), *chat* (`message`s in a community, links clicked,
//!   some likes and shares),
//!   *activity* (campaign banner exposure → `activity_join`, with
//!   `campaign_id`). 5 % of sessions have no `session_id`. Channels: a
//!   per-user primary (wechat 34 %, mini_program 22 %, wecom 14 %, app 14 %,
//!   web 10 %, discord 6 %) used in 80 % of sessions.
//! * **Noise**: whole sessions arrive 1–3 days late (≈ `late_share` of
//!   events; lag 1/2/3 days 60/25/15 %), events are re-sent with the same
//!   `event_id` (≈ `duplicate_share`: 70 % inside the same partition, 30 % as
//!   a whole session re-sent into the next day's partition), events of
//!   unknown types (`badge`, `refund`, `poll_vote`, ≈ `unknown_type_share`),
//!   and about 2 in 100 000 events with a null `user_id` or `event_type`.
//!   Events received after the last day are not written.

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

// ---------------------------------------------------------------------------
// Randomness: splitmix64, keyed by (seed, stream, user, day, session).

#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Independent random streams.
#[derive(Clone, Copy)]
#[repr(u64)]
enum Stream {
    Profile = 1,
    Referral,
    Day,
    Session,
    Late,
    Resend,
    Streak,
    Hot,
    Price,
    Community,
    Demographics,
    EventId,
    SessionId,
    OrderId,
}

#[inline]
fn key(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    let h = mix64(seed ^ (stream as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    mix64(mix64(h ^ a) ^ b)
}

#[inline]
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
    #[inline]
    fn f64(&mut self) -> f64 {
        unit(self.next())
    }
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Uniform in `0..n` (n > 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Exponential with the given mean.
    #[inline]
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
    /// Geometric number of failures with the given mean.
    #[inline]
    fn geometric(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        let q = mean / (1.0 + mean);
        ((1.0 - self.f64()).ln() / q.ln()).floor() as u64
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Index drawn with the given cumulative weights.
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.f64() * cumulative[cumulative.len() - 1];
        cumulative.iter().position(|&c| x < c).unwrap_or(0)
    }
}

/// Zipf-like ranks in `0..n` (continuous power-law inversion; rank 0 is the
/// most popular).
#[derive(Clone, Copy)]
struct Zipf {
    n: f64,
    one_minus_s: f64,
    a: f64,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Self {
        let n = n.max(1) as f64;
        let one_minus_s = 1.0 - s;
        Zipf {
            n,
            one_minus_s,
            a: (n + 1.0).powf(one_minus_s) - 1.0,
        }
    }
    #[inline]
    fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.f64();
        let x = (self.a * u + 1.0).powf(1.0 / self.one_minus_s);
        ((x - 1.0).floor().max(0.0)).min(self.n - 1.0) as u64
    }
}

fn pick_weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let mut x = rng.f64() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Vocabulary.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Exposure,
    View,
    Click,
    Like,
    Comment,
    Share,
    Message,
    Join,
    Quit,
    Checkin,
    ActivityJoin,
    Signup,
    AddToCart,
    Purchase,
    Invite,
    Nps,
    // outside the vocabulary
    Badge,
    Refund,
    PollVote,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Exposure => "exposure",
            Ty::View => "view",
            Ty::Click => "click",
            Ty::Like => "like",
            Ty::Comment => "comment",
            Ty::Share => "share",
            Ty::Message => "message",
            Ty::Join => "join",
            Ty::Quit => "quit",
            Ty::Checkin => "checkin",
            Ty::ActivityJoin => "activity_join",
            Ty::Signup => "signup",
            Ty::AddToCart => "add_to_cart",
            Ty::Purchase => "purchase",
            Ty::Invite => "invite",
            Ty::Nps => "nps",
            Ty::Badge => "badge",
            Ty::Refund => "refund",
            Ty::PollVote => "poll_vote",
        }
    }
}

const CHANNELS: [&str; 6] = ["wechat", "mini_program", "wecom", "app", "web", "discord"];
const CHANNEL_WEIGHTS: [f64; 6] = [0.34, 0.22, 0.14, 0.14, 0.10, 0.06];

/// Session start weights per hour of the day in China time (UTC+8).
const LOCAL_HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.0, 0.6, 0.4, 0.4, 0.6, 1.5, 3.0, 4.0, 4.0, 4.0, 5.0, 7.0, 6.0, 4.0, 4.0, 4.0, 5.0, 6.0,
    7.0, 9.0, 10.0, 8.0, 5.0,
];

const REGIONS: [(&str, f64, i32); 13] = [
    ("Guangdong", 0.16, 2),
    ("Zhejiang", 0.10, 2),
    ("Jiangsu", 0.10, 2),
    ("Shanghai", 0.09, 1),
    ("Beijing", 0.08, 1),
    ("Sichuan", 0.08, 3),
    ("Shandong", 0.08, 3),
    ("Hubei", 0.06, 3),
    ("Fujian", 0.06, 3),
    ("Henan", 0.06, 4),
    ("Hunan", 0.05, 4),
    ("Shaanxi", 0.04, 4),
    ("Overseas", 0.04, 1),
];

const OCCUPATIONS: [&str; 10] = [
    "office_worker",
    "student",
    "engineer",
    "freelancer",
    "teacher",
    "self_employed",
    "healthcare",
    "retail",
    "homemaker",
    "retired",
];
const OCCUPATION_WEIGHTS: [f64; 10] = [0.28, 0.18, 0.12, 0.09, 0.07, 0.08, 0.05, 0.06, 0.04, 0.03];

// ---------------------------------------------------------------------------
// Users.

const NEVER: u32 = u32::MAX;

/// Everything about a user that spans days; a function of (seed, user)
/// except `referrer`, which is a function of the seed.
#[derive(Clone)]
struct Profile {
    signup: u32,
    /// Exclusive end of the first life.
    end1: u32,
    /// From this day until `end1` the user is going silent.
    silent_from: u32,
    /// Reactivation day, or NEVER.
    react: u32,
    /// Exclusive end of the second life.
    end2: u32,
    p_active: f32,
    tau: f32,
    intensity: f32,
    shop: f32,
    chat: f32,
    checkin_p: f32,
    channel: u8,
    /// 0 not enrolled, 1 control, 2 treatment.
    variant: u8,
    ambassador: bool,
    n_comm: u8,
    comm: [u16; 3],
    join: [u32; 3],
    quit: [u32; 3],
    referrer: u32,
}

impl Profile {
    #[inline]
    fn alive(&self, d: u32) -> bool {
        d >= self.signup && (d < self.end1 || (d >= self.react && d < self.end2))
    }
    /// The communities the user can act in on day `d` (joined, not quit).
    fn communities_on(&self, d: u32) -> ([u16; 3], usize) {
        let mut out = [0u16; 3];
        let mut n = 0;
        for k in 0..self.n_comm as usize {
            if self.join[k] <= d && d < self.quit[k] {
                out[n] = self.comm[k];
                n += 1;
            }
        }
        (out, n)
    }
}

struct CommunityProfile {
    /// Multiplies like/comment/share probabilities.
    interact: f64,
    /// Multiplies the checkout probability.
    buy: f64,
    /// Probability that a session bounces.
    bounce: f64,
}

/// Generation context shared by all day workers.
struct Ctx {
    seed: u64,
    start: NaiveDate,
    start_us: i64,
    /// 0 = Monday of the first day.
    start_weekday: u32,
    late_day_p: f64,
    resend_day_p: f64,
    dup_event_p: f64,
    unknown_p: f64,
    profiles: Vec<Profile>,
    invite_offsets: Vec<u32>,
    /// (day, invitee) sorted per inviter.
    invites: Vec<(u32, u32)>,
    communities: Vec<CommunityProfile>,
    hour_cumulative: Vec<f64>,
    channel_cumulative: Vec<f64>,
    posts_per_day: u64,
    post_zipf: Zipf,
    sku_zipf: Zipf,
    campaign_zipf: Zipf,
    id_key: u64,
    session_key: u64,
    order_key: u64,
    props: WriterProperties,
    schema: SchemaRef,
}

impl Ctx {
    fn new(opts: &GenerateOptions) -> Ctx {
        let seed = opts.seed;
        let n_users = opts.users as usize;
        let days = opts.days;
        let n_comm = opts.communities as u64;

        // Signup day by quantile: user ids grow with signup time.
        let mut weights: Vec<f64> = (0..days)
            .map(|d| {
                let weekend =
                    matches!((opts.start.weekday().num_days_from_monday() + d) % 7, 5 | 6);
                (1.0 + 1.5 * d as f64 / days as f64) * if weekend { 1.2 } else { 1.0 }
            })
            .collect();
        let rest: f64 = weights[1..].iter().sum();
        weights[0] = if days == 1 { 1.0 } else { 0.12 / 0.88 * rest };
        let signup_cdf = cumulative(&weights);
        let total = signup_cdf[signup_cdf.len() - 1];

        let comm_zipf = Zipf::new(n_comm, 1.2);
        let mut profiles = Vec::with_capacity(n_users);
        let mut day = 0usize;
        for u in 0..n_users {
            let q = (u as f64 + 0.5) / n_users as f64 * total;
            while day + 1 < signup_cdf.len() && signup_cdf[day] <= q {
                day += 1;
            }
            profiles.push(make_profile(seed, u as u64, day as u32, &comm_zipf));
        }

        // Referrals: a later user invited by an earlier ambassador.
        let ambassadors: Vec<u32> = (0..n_users as u32)
            .filter(|&u| profiles[u as usize].ambassador)
            .collect();
        let mut invites: Vec<(u32, u32, u32)> = Vec::new();
        for v in 0..n_users {
            let sv = profiles[v].signup;
            let mut rng = Rng::new(key(seed, Stream::Referral, v as u64, 0));
            if sv == 0 || !rng.chance(0.22) {
                continue;
            }
            let before = ambassadors.partition_point(|&a| profiles[a as usize].signup < sv);
            if before == 0 {
                continue;
            }
            for _ in 0..4 {
                // Older ambassadors invite more: a skew towards low indices.
                let i = ambassadors[((before as f64) * rng.f64().powf(1.7)) as usize % before];
                let inviter = &profiles[i as usize];
                let lo = inviter.signup.max(sv.saturating_sub(5));
                let hi = sv - 1;
                if lo > hi {
                    continue;
                }
                let di = lo + rng.below((hi - lo + 1) as u64) as u32;
                if !inviter.alive(di) {
                    continue;
                }
                let first = inviter.comm[0];
                let p = &mut profiles[v];
                p.referrer = i;
                if rng.chance(0.7) && p.comm[0] != first {
                    // Invited into the inviter's community.
                    if let Some(k) = (1..p.n_comm as usize).find(|&k| p.comm[k] == first) {
                        p.comm.swap(0, k);
                    } else {
                        p.comm[0] = first;
                    }
                }
                invites.push((i, di, v as u32));
                break;
            }
        }
        invites.sort_unstable();
        let mut invite_offsets = vec![0u32; n_users + 1];
        for &(i, _, _) in &invites {
            invite_offsets[i as usize + 1] += 1;
        }
        for k in 0..n_users {
            invite_offsets[k + 1] += invite_offsets[k];
        }
        let invites = invites.into_iter().map(|(_, d, v)| (d, v)).collect();

        let communities = (0..n_comm)
            .map(|c| {
                let mut rng = Rng::new(key(seed, Stream::Community, c, 0));
                CommunityProfile {
                    interact: 0.6 + 0.9 * rng.f64(),
                    buy: 0.5 + rng.f64(),
                    bounce: 0.04 + 0.14 * rng.f64(),
                }
            })
            .collect();

        // Local hour h is UTC hour (h + 16) % 24.
        let utc_weights: Vec<f64> = (0..24).map(|h| LOCAL_HOUR_WEIGHTS[(h + 8) % 24]).collect();
        let posts_per_day = (opts.users / 200).max(20);
        let start_us = opts
            .start
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_micros();
        Ctx {
            seed,
            start: opts.start,
            start_us,
            start_weekday: opts.start.weekday().num_days_from_monday(),
            late_day_p: (opts.late_share * LATE_CALIBRATION).min(1.0),
            resend_day_p: (opts.duplicate_share * 0.3 * LATE_CALIBRATION).min(1.0),
            dup_event_p: opts.duplicate_share * 0.7,
            unknown_p: opts.unknown_type_share,
            profiles,
            invite_offsets,
            invites,
            communities,
            hour_cumulative: cumulative(&utc_weights),
            channel_cumulative: cumulative(&CHANNEL_WEIGHTS),
            posts_per_day,
            post_zipf: Zipf::new(posts_per_day, 1.1),
            sku_zipf: Zipf::new((300 + opts.users / 1000).min(5000), 1.0),
            campaign_zipf: Zipf::new(4, 1.0),
            id_key: key(seed, Stream::EventId, 0, 0),
            session_key: key(seed, Stream::SessionId, 0, 0),
            order_key: key(seed, Stream::OrderId, 0, 0),
            props: writer_properties(),
            schema: crate::catalog::events_schema(),
        }
    }

    fn date(&self, day: u32) -> NaiveDate {
        self.start + chrono::Days::new(day as u64)
    }

    fn day_start_us(&self, day: u32) -> i64 {
        self.start_us + day as i64 * DAY_US
    }

    fn invites_of(&self, u: u32) -> &[(u32, u32)] {
        let (a, b) = (
            self.invite_offsets[u as usize] as usize,
            self.invite_offsets[u as usize + 1] as usize,
        );
        &self.invites[a..b]
    }

    /// 0 when `u` does not check in on `d`, else the day of the streak (1–7).
    fn checkin_streak(&self, u: u32, p: &Profile, d: u32) -> u8 {
        if p.checkin_p <= 0.0 {
            return 0;
        }
        for k in 0..7u32 {
            if d < p.signup + k {
                break;
            }
            let h = key(self.seed, Stream::Streak, u as u64, (d - k) as u64);
            if unit(h) < p.checkin_p as f64 {
                // Streak length 1..=7, skewed long: 7-day campaigns.
                const LEN: [u32; 16] = [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 7, 7, 7, 7];
                if LEN[(h & 15) as usize] > k {
                    return (k + 1) as u8;
                }
            }
        }
        0
    }

    /// The shape of user `u`'s day `d`, or None when the user is not active.
    fn day_plan(&self, u: u32, d: u32) -> Option<DayPlan> {
        let p = &self.profiles[u as usize];
        if !p.alive(d) {
            return None;
        }
        let mut rng = Rng::new(key(self.seed, Stream::Day, u as u64, d as u64));
        let age = (d - p.signup) as f64;
        let weekend = matches!((self.start_weekday + d) % 7, 5 | 6);
        let mut prob = p.p_active as f64 * (0.4 + 0.6 * (-age / p.tau as f64).exp());
        if weekend {
            prob *= 1.15;
        }
        if d >= p.silent_from && d < p.end1 {
            prob *= 0.25;
        }
        let draw = rng.f64();
        let signup = d == p.signup;
        let checkin = self.checkin_streak(u, p, d);
        let invites = self.invites_of(u);
        let invite_from = invites.partition_point(|&(day, _)| day < d);
        let invite_to = invites.partition_point(|&(day, _)| day <= d);
        let member_change = (0..p.n_comm as usize).any(|k| p.join[k] == d || p.quit[k] == d);
        let forced = signup || checkin > 0 || invite_to > invite_from || member_change;
        if !forced && draw >= prob {
            return None;
        }
        let n_sessions = (1 + rng.geometric(0.25 * p.intensity as f64) as usize).min(MAX_SESSIONS);
        let mut starts = [0i64; MAX_SESSIONS];
        for s in starts.iter_mut().take(n_sessions) {
            let hour = rng.pick(&self.hour_cumulative) as i64;
            *s = hour * 3_600_000_000 + rng.below(3_600_000_000) as i64;
        }
        starts[..n_sessions].sort_unstable();
        let nps = if rng.chance(0.015) {
            let score = 6.8 + 1.0 * (p.intensity as f64).ln() + 2.3 * rng.normal();
            Some(score.round().clamp(0.0, 10.0) as u8)
        } else {
            None
        };
        let extra_invites = if p.ambassador && rng.chance(0.2) {
            1 + rng.below(3) as u8
        } else {
            0
        };
        Some(DayPlan {
            n_sessions,
            starts,
            signup,
            checkin,
            invites: (invite_from, invite_to),
            nps,
            extra_invites,
        })
    }

    /// The session of day `d` that arrives late (and its lag), if any.
    fn late_session(&self, u: u32, d: u32, plan: &DayPlan) -> Option<(usize, u32)> {
        let h = key(self.seed, Stream::Late, u as u64, d as u64);
        if unit(h) >= self.late_day_p {
            return None;
        }
        let lag = match (h >> 4) % 20 {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        };
        Some((((h >> 12) % plan.n_sessions as u64) as usize, lag))
    }

    /// Cheap pre-check of [`Ctx::late_session`]'s lag without a plan.
    fn late_lag(&self, u: u32, d: u32) -> Option<u32> {
        let h = key(self.seed, Stream::Late, u as u64, d as u64);
        (unit(h) < self.late_day_p).then_some(match (h >> 4) % 20 {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        })
    }

    /// Cheap pre-check of [`Ctx::resent_session`] without a plan.
    fn resend_hit(&self, u: u32, d: u32) -> bool {
        unit(key(self.seed, Stream::Resend, u as u64, d as u64)) < self.resend_day_p
    }

    /// The on-time session of day `d` that is re-sent into day `d + 1`.
    fn resent_session(&self, u: u32, d: u32, plan: &DayPlan) -> Option<usize> {
        let h = key(self.seed, Stream::Resend, u as u64, d as u64);
        if unit(h) >= self.resend_day_p {
            return None;
        }
        let s = ((h >> 12) % plan.n_sessions as u64) as usize;
        match self.late_session(u, d, plan) {
            Some((late, _)) if late == s => None,
            _ => Some(s),
        }
    }

    /// Encodes the events received on `day` into part files (bytes, rows).
    fn encode_partition(&self, day: u32, dir: &str) -> Result<Vec<(Vec<u8>, u64)>, GenerateError> {
        let mut out = PartWriter::new(self, dir);
        let mut rows = Rows::new();
        for u in 0..self.profiles.len() as u32 {
            let p = &self.profiles[u as usize];
            if p.signup > day {
                break; // users are ordered by signup day
            }
            // Sessions of earlier days that arrive today.
            for d in day.saturating_sub(3).max(p.signup)..day {
                if self.late_lag(u, d) == Some(day - d)
                    && let Some(plan) = self.day_plan(u, d)
                    && let Some((s, _)) = self.late_session(u, d, &plan)
                {
                    self.gen_session(u, d, s, &plan, &mut rows);
                }
                // A session re-sent (same event ids) into the next day.
                if d + 1 == day
                    && self.resend_hit(u, d)
                    && let Some(plan) = self.day_plan(u, d)
                    && let Some(s) = self.resent_session(u, d, &plan)
                {
                    self.gen_session(u, d, s, &plan, &mut rows);
                }
            }
            // Today's sessions that arrive on time.
            if let Some(plan) = self.day_plan(u, day) {
                let late = self.late_session(u, day, &plan).map(|(s, _)| s);
                for s in 0..plan.n_sessions {
                    if Some(s) != late {
                        self.gen_session(u, day, s, &plan, &mut rows);
                    }
                }
            }
            if rows.len >= BATCH_ROWS {
                out.write(rows.finish(&self.schema, dir)?)?;
            }
        }
        if rows.len > 0 {
            out.write(rows.finish(&self.schema, dir)?)?;
        }
        out.finish()
    }

    /// Appends session `s` of user `u`'s day `d` to `rows`. A pure function
    /// of (seed, u, d, s): late and re-sent copies are identical.
    fn gen_session(&self, u: u32, d: u32, s: usize, plan: &DayPlan, rows: &mut Rows) {
        let p = &self.profiles[u as usize];
        let mut rng = Rng::new(key(
            self.seed,
            Stream::Session,
            u as u64,
            ((d as u64) << 8) | s as u64,
        ));
        let base = ((d as u64) << 50) | ((u as u64) << 24) | ((s as u64) << 16);
        let session = (!rng.chance(0.05)).then_some(base);
        let channel = if rng.chance(0.003) {
            None
        } else if rng.chance(0.8) {
            Some(p.channel)
        } else {
            Some(rng.pick(&self.channel_cumulative) as u8)
        };
        let (comms, n_comms) = p.communities_on(d);
        let community = match n_comms {
            0 => None,
            1 => Some(comms[0]),
            n => {
                if rng.chance(0.6) {
                    Some(comms[0])
                } else {
                    Some(comms[1 + rng.below(n as u64 - 1) as usize])
                }
            }
        };
        let day_start = self.day_start_us(d);
        let mut g = SessionGen {
            ctx: self,
            rows,
            rng,
            base,
            seq: 0,
            t: day_start + plan.starts[s],
            day_end: day_start + DAY_US,
            user: u,
            session,
            channel,
        };
        rows_dups_clear(g.rows);

        if s == 0 {
            g.chores_start(p, d, plan, community);
        }
        let cf = community.map(|c| &self.communities[c as usize]);
        let mood = Mood {
            interact: cf.map_or(0.9, |c| c.interact),
            buy: cf.map_or(0.8, |c| c.buy),
            bounce: g.rng.chance(cf.map_or(0.12, |c| c.bounce)),
        };
        let w = p.intensity as f64;
        let kinds = [
            1.0,
            0.2 + p.shop as f64,
            if community.is_some() {
                p.chat as f64
            } else {
                0.0
            },
            0.12,
        ];
        match pick_weighted(&mut g.rng, &kinds) {
            0 => g.feed(d, community, mood, w),
            1 => g.shop(p, community, mood),
            2 => g.chat(d, community, mood, w),
            _ => g.activity(d, community, mood),
        }
        if s == 0 {
            g.chores_end(p, d, plan, community);
        }
        let SessionGen { rows, .. } = g;
        for k in 0..rows.dups.len() {
            let ev = rows.dups[k];
            rows.push(self, &ev);
        }
    }

    fn encode_users(&self, path: &str) -> Result<Vec<u8>, GenerateError> {
        let n = self.profiles.len();
        let schema = crate::catalog::users_schema();
        let mut user_id = StringBuilder::with_capacity(n, n * 9);
        let mut signup_time = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut gender = StringBuilder::with_capacity(n, n * 6);
        let mut birth_year = Int64Builder::with_capacity(n);
        let mut region = StringBuilder::with_capacity(n, n * 8);
        let mut city_tier = Int64Builder::with_capacity(n);
        let mut occupation = StringBuilder::with_capacity(n, n * 10);
        let region_cumulative = cumulative(&REGIONS.map(|r| r.1));
        let occupation_cumulative = cumulative(&OCCUPATION_WEIGHTS);
        let mut buf = String::with_capacity(16);
        for (u, p) in self.profiles.iter().enumerate() {
            let u = u as u32;
            buf.clear();
            push_user(&mut buf, u);
            user_id.append_value(&buf);
            // The time of the signup event: the start of the first session.
            let first = self
                .day_plan(u, p.signup)
                .map(|plan| plan.starts[0])
                .unwrap_or(0);
            signup_time.append_value(self.day_start_us(p.signup) + first);
            let mut rng = Rng::new(key(self.seed, Stream::Demographics, u as u64, 0));
            let g = rng.f64();
            gender.append_option(if g < 0.55 {
                Some("female")
            } else if g < 0.95 {
                Some("male")
            } else if g < 0.98 {
                Some("other")
            } else {
                None
            });
            let year = 1994.0 + 8.0 * rng.normal();
            birth_year.append_option(
                (!rng.chance(0.05)).then_some(year.round().clamp(1950.0, 2010.0) as i64),
            );
            let (name, _, tier) = REGIONS[rng.pick(&region_cumulative)];
            region.append_value(name);
            let tier = (tier + rng.below(3) as i32 - 1).clamp(1, 5);
            city_tier.append_option((!rng.chance(0.03)).then_some(i64::from(tier)));
            occupation.append_option(
                (!rng.chance(0.08)).then_some(OCCUPATIONS[rng.pick(&occupation_cumulative)]),
            );
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(user_id.finish()),
            Arc::new(signup_time.finish()),
            Arc::new(gender.finish()),
            Arc::new(birth_year.finish()),
            Arc::new(region.finish()),
            Arc::new(city_tier.finish()),
            Arc::new(occupation.finish()),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|source| {
            GenerateError::Arrow {
                path: path.to_string(),
                source,
            }
        })?;
        let encode = |source| GenerateError::Encode {
            path: path.to_string(),
            source,
        };
        let mut writer =
            ArrowWriter::try_new(Vec::new(), schema, Some(self.props.clone())).map_err(encode)?;
        writer.write(&batch).map_err(encode)?;
        writer.into_inner().map_err(encode)
    }
}

fn make_profile(seed: u64, u: u64, signup: u32, comm_zipf: &Zipf) -> Profile {
    let mut rng = Rng::new(key(seed, Stream::Profile, u, 0));
    let intensity = (1.0 - rng.f64()).powf(-1.0 / 1.6).min(40.0);
    let engaged = ((intensity - 1.0) / 4.0).min(1.0);
    let p_active = (0.12 + 0.55 * engaged + 0.1 * rng.f64()).min(0.95);
    let r = rng.f64() - 0.15 * engaged;
    let life = if r < 0.30 {
        1 + rng.below(3) as u32
    } else if r < 0.85 {
        3 + rng.exp(35.0) as u32
    } else {
        NEVER
    };
    let end1 = signup.saturating_add(life);
    let silent_from = if life != NEVER && life > 6 {
        end1 - (life / 3).min(10)
    } else {
        end1
    };
    let (react, end2) = if life != NEVER && rng.chance(0.12) {
        let react = end1 + 7 + rng.below(24) as u32;
        (react, react + 2 + rng.exp(20.0) as u32)
    } else {
        (NEVER, NEVER)
    };
    let tau = 10.0 + 30.0 * rng.f64();
    let shop = 0.05 + 0.45 * rng.f64();
    let chat = 0.1 + 0.7 * rng.f64();
    let checkin_p = if rng.chance(0.3) {
        0.04 + 0.2 * rng.f64()
    } else {
        0.0
    };
    let channel = rng.pick(&cumulative(&CHANNEL_WEIGHTS)) as u8;
    let variant = if rng.chance(0.4) {
        1 + rng.below(2) as u8
    } else {
        0
    };
    let ambassador = rng.chance(0.04 + 0.1 * engaged);
    let mut p = Profile {
        signup,
        end1,
        silent_from,
        react,
        end2,
        p_active: p_active as f32,
        tau: tau as f32,
        intensity: intensity as f32,
        shop: shop as f32,
        chat: chat as f32,
        checkin_p: checkin_p as f32,
        channel,
        variant,
        ambassador,
        n_comm: 0,
        comm: [0; 3],
        join: [NEVER; 3],
        quit: [NEVER; 3],
        referrer: NEVER,
    };
    let wanted = 1 + rng.chance(0.35) as usize + rng.chance(0.15) as usize;
    for k in 0..wanted {
        let mut c = comm_zipf.sample(&mut rng) as u16;
        for _ in 0..8 {
            if !p.comm[..p.n_comm as usize].contains(&c) {
                break;
            }
            c = comm_zipf.sample(&mut rng) as u16;
        }
        let join = if k == 0 {
            signup
        } else {
            signup + 1 + rng.exp(8.0) as u32
        };
        let quit = if rng.chance(0.08) {
            join + 1 + rng.below(40) as u32
        } else {
            NEVER
        };
        if p.comm[..p.n_comm as usize].contains(&c) || !p.alive(join) {
            continue;
        }
        let i = p.n_comm as usize;
        p.comm[i] = c;
        p.join[i] = join;
        p.quit[i] = if quit != NEVER && p.alive(quit) {
            quit
        } else {
            NEVER
        };
        p.n_comm += 1;
    }
    p
}

/// The shape of one active user-day.
struct DayPlan {
    n_sessions: usize,
    /// Session start offsets from midnight (µs), ascending.
    starts: [i64; MAX_SESSIONS],
    signup: bool,
    checkin: u8,
    /// Range of the user's invites (converting) sent that day.
    invites: (usize, usize),
    nps: Option<u8>,
    extra_invites: u8,
}

// ---------------------------------------------------------------------------
// Events.

#[derive(Clone, Copy, Default)]
enum Content {
    #[default]
    None,
    /// A post: publication day (offset by 14) × posts per day + rank.
    Post(u64),
    Sku(u64),
    /// A weekly campaign.
    Campaign(u64),
    Checkin,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Campaign {
    #[default]
    None,
    Checkin,
    Invite,
    Promo(u64),
}

#[derive(Clone, Copy, Default)]
struct Props {
    /// 0 none, 1 control, 2 treatment.
    variant: u8,
    campaign: Campaign,
    coupon: bool,
    nps: Option<u8>,
    streak: u8,
}

impl Props {
    fn is_empty(&self) -> bool {
        self.variant == 0
            && self.campaign == Campaign::None
            && !self.coupon
            && self.nps.is_none()
            && self.streak == 0
    }
}

#[derive(Clone, Copy)]
struct Ev {
    id: u64,
    time: i64,
    user: Option<u32>,
    ty: Option<Ty>,
    community: Option<u16>,
    content: Content,
    session: Option<u64>,
    amount: Option<f64>,
    order: bool,
    referrer: Option<u32>,
    channel: Option<u8>,
    props: Props,
}

fn rows_dups_clear(rows: &mut Rows) {
    rows.dups.clear();
}

struct SessionGen<'a> {
    ctx: &'a Ctx,
    rows: &'a mut Rows,
    rng: Rng,
    base: u64,
    seq: u64,
    t: i64,
    day_end: i64,
    user: u32,
    session: Option<u64>,
    channel: Option<u8>,
}

impl SessionGen<'_> {
    /// A new event at the next time step; `noise` allows null keys.
    fn ev(&mut self, ty: Ty, community: Option<u16>, content: Content, noise: bool) -> Ev {
        if self.seq > 0 {
            let gap = 1_000_000 + (self.rng.exp(34.0) * 1e6) as i64;
            self.t = (self.t + gap).min(self.day_end - 1);
        }
        let id = self.base | (self.seq & 0xffff);
        self.seq += 1;
        let (mut user, mut ty_out) = (Some(self.user), Some(ty));
        if noise {
            if self.rng.chance(NULL_KEY_SHARE) {
                user = None;
            }
            if self.rng.chance(NULL_KEY_SHARE) {
                ty_out = None;
            }
        }
        Ev {
            id,
            time: self.t,
            user,
            ty: ty_out,
            community,
            content,
            session: self.session,
            amount: None,
            order: false,
            referrer: None,
            channel: self.channel,
            props: Props::default(),
        }
    }

    /// Writes an event, maybe a re-send of it and maybe an unknown-type event.
    fn emit(&mut self, ev: Ev) {
        self.rows.push(self.ctx, &ev);
        if self.rng.chance(self.ctx.dup_event_p) {
            self.rows.dups.push(ev);
        }
        if self.rng.chance(self.ctx.unknown_p) {
            let ty = [Ty::Badge, Ty::Refund, Ty::PollVote][self.rng.below(3) as usize];
            let e = self.ev(ty, ev.community, ev.content, false);
            self.rows.push(self.ctx, &e);
        }
    }

    /// Creates and writes a plain event.
    fn simple(&mut self, ty: Ty, community: Option<u16>, content: Content) {
        let ev = self.ev(ty, community, content, true);
        self.emit(ev);
    }

    fn post(&mut self, d: u32) -> Content {
        let age = self.rng.geometric(1.5).min(13);
        let rank = self.ctx.post_zipf.sample(&mut self.rng);
        Content::Post((d as u64 + 14 - age) * self.ctx.posts_per_day + rank)
    }

    fn chores_start(&mut self, p: &Profile, d: u32, plan: &DayPlan, community: Option<u16>) {
        let referrer = (p.referrer != NEVER).then_some(p.referrer);
        if plan.signup {
            let mut ev = self.ev(Ty::Signup, None, Content::None, false);
            ev.referrer = referrer;
            self.emit(ev);
        }
        for k in 0..p.n_comm as usize {
            if p.join[k] == d {
                let mut ev = self.ev(Ty::Join, Some(p.comm[k]), Content::None, false);
                if k == 0 {
                    ev.referrer = referrer;
                }
                self.emit(ev);
            }
        }
        if plan.checkin > 0 {
            let home = p.communities_on(d);
            let c = (home.1 > 0).then_some(home.0[0]);
            let mut ev = self.ev(Ty::Checkin, c, Content::Checkin, false);
            ev.props.campaign = Campaign::Checkin;
            ev.props.streak = plan.checkin;
            self.emit(ev);
        }
        let n_invites = (plan.invites.1 - plan.invites.0) + plan.extra_invites as usize;
        for _ in 0..n_invites {
            let mut ev = self.ev(Ty::Invite, community, Content::None, false);
            ev.props.campaign = Campaign::Invite;
            self.emit(ev);
        }
    }

    fn chores_end(&mut self, p: &Profile, d: u32, plan: &DayPlan, community: Option<u16>) {
        for k in 0..p.n_comm as usize {
            if p.quit[k] == d {
                self.simple(Ty::Quit, Some(p.comm[k]), Content::None);
            }
        }
        if let Some(score) = plan.nps {
            let mut ev = self.ev(Ty::Nps, community, Content::None, true);
            ev.props.nps = Some(score);
            self.emit(ev);
        }
    }

    /// Browsing the feed: exposures, clicks, views and interactions.
    fn feed(&mut self, d: u32, community: Option<u16>, mood: Mood, w: f64) {
        let c = if self.rng.chance(0.1) {
            None
        } else {
            community
        };
        if mood.bounce {
            // Scrolled past a post or two, or opened one and left.
            let post = self.post(d);
            if self.rng.chance(0.7) {
                self.simple(Ty::Exposure, c, post);
                if self.rng.chance(0.4) {
                    let post = self.post(d);
                    self.simple(Ty::Exposure, c, post);
                }
            } else {
                self.simple(Ty::View, c, post);
            }
            return;
        }
        let items = 1 + self.rng.geometric(2.5 + w).min(60);
        for item in 0..items {
            for _ in 0..self.rng.geometric(1.2).min(10) {
                let scrolled_past = self.post(d);
                self.simple(Ty::Exposure, c, scrolled_past);
            }
            let post = self.post(d);
            let viewed = if item == 0 || self.rng.chance(0.75) {
                self.simple(Ty::Exposure, c, post);
                if item == 0 || self.rng.chance(0.3) {
                    self.simple(Ty::Click, c, post);
                    true
                } else {
                    false
                }
            } else {
                true // opened directly (search, shared link)
            };
            if viewed {
                self.simple(Ty::View, c, post);
                if self.rng.chance(0.10 * mood.interact) {
                    self.simple(Ty::Like, c, post);
                }
                if self.rng.chance(0.04 * mood.interact) {
                    self.simple(Ty::Comment, c, post);
                }
                if self.rng.chance(0.03 * mood.interact) {
                    self.simple(Ty::Share, c, post);
                }
            }
        }
    }

    /// Shopping: the exposure → click → view → cart → purchase funnel.
    fn shop(&mut self, p: &Profile, community: Option<u16>, mood: Mood) {
        let c = if self.rng.chance(0.35) {
            None
        } else {
            community
        };
        let items = if mood.bounce {
            1 + self.rng.below(3)
        } else {
            1 + self.rng.geometric(2.0).min(30)
        };
        for item in 0..items {
            let sku = self.ctx.sku_zipf.sample(&mut self.rng);
            let content = Content::Sku(sku);
            let mut ev = self.ev(Ty::Exposure, c, content, true);
            ev.props.variant = p.variant;
            if self.rng.chance(0.05) {
                ev.props.campaign = Campaign::Promo(self.promo(ev.time));
            }
            self.emit(ev);
            if mood.bounce || !(item == 0 || self.rng.chance(0.3)) {
                continue;
            }
            self.simple(Ty::Click, c, content);
            self.simple(Ty::View, c, content);
            if !self.rng.chance(0.3) {
                continue;
            }
            let coupon = self.rng.chance(0.2);
            let mut ev = self.ev(Ty::AddToCart, c, content, true);
            ev.props.coupon = coupon;
            self.emit(ev);
            let lift = if p.variant == 2 { 1.12 } else { 1.0 };
            if !self.rng.chance((0.35 * lift * mood.buy).min(0.95)) {
                continue;
            }
            let z = Rng::new(key(self.ctx.seed, Stream::Price, sku, 0)).normal();
            let price = ((79.0f64.ln() + 0.7 * z).exp().round() - 0.1).max(0.9);
            let qty = 1 + self.rng.chance(0.2) as u64 + self.rng.chance(0.05) as u64;
            let mut amount = price * qty as f64 * if coupon { 0.9 } else { 1.0 };
            amount = (amount * 100.0).round() / 100.0;
            let mut ev = self.ev(Ty::Purchase, c, content, true);
            ev.amount = (!self.rng.chance(0.01)).then_some(amount);
            ev.order = true;
            ev.props.coupon = coupon;
            self.emit(ev);
        }
    }

    /// The campaign running at `t` (four per week).
    fn promo(&mut self, t: i64) -> u64 {
        let week = (t - self.ctx.start_us).max(0) / (7 * DAY_US);
        week as u64 * 4 + self.ctx.campaign_zipf.sample(&mut self.rng)
    }

    /// Chatting in a community group; engaged chats open a shared link.
    fn chat(&mut self, d: u32, community: Option<u16>, mood: Mood, w: f64) {
        let mut n = 1 + self.rng.geometric(3.0 + w / 2.0).min(80);
        if let Some(c) = community {
            let h = key(self.ctx.seed, Stream::Hot, c as u64, d as u64);
            let hour = ((self.t - self.ctx.day_start_us(d)) / 3_600_000_000) as u64;
            if unit(h) < 0.04 && (h >> 16) % 24 == hour {
                n *= 6; // a hot thread: an anomaly to find
            }
        }
        let link = if mood.bounce {
            u64::MAX
        } else {
            self.rng.below(n)
        };
        for m in 0..n {
            self.simple(Ty::Message, community, Content::None);
            if m == link || (!mood.bounce && self.rng.chance(0.05)) {
                let post = self.post(d);
                self.simple(Ty::Click, community, post);
                self.simple(Ty::View, community, post);
                if self.rng.chance(0.3 * mood.interact) {
                    self.simple(Ty::Like, community, post);
                }
                if self.rng.chance(0.1 * mood.interact) {
                    self.simple(Ty::Share, community, post);
                }
            }
        }
    }

    /// A campaign: banner exposure → click → activity_join.
    fn activity(&mut self, d: u32, community: Option<u16>, mood: Mood) {
        let promo = self.promo(self.t);
        let content = Content::Campaign(promo);
        let mut ev = self.ev(Ty::Exposure, community, content, true);
        ev.props.campaign = Campaign::Promo(promo);
        self.emit(ev);
        if mood.bounce {
            if self.rng.chance(0.5) {
                let post = self.post(d);
                self.simple(Ty::View, community, post);
            }
            return;
        }
        self.simple(Ty::Click, community, content);
        if self.rng.chance(0.7) {
            let mut ev = self.ev(Ty::ActivityJoin, community, content, true);
            ev.props.campaign = Campaign::Promo(promo);
            self.emit(ev);
            if self.rng.chance(0.2) {
                self.simple(Ty::Share, community, content);
            }
        }
    }
}

/// How a session goes: the community's propensities and whether it bounces
/// (no core action: click, like, comment, share, checkin, activity_join,
/// add_to_cart, purchase).
#[derive(Clone, Copy)]
struct Mood {
    interact: f64,
    buy: f64,
    bounce: bool,
}

// ---------------------------------------------------------------------------
// Arrow building and Parquet encoding.

struct Rows {
    event_id: StringBuilder,
    event_time: TimestampMicrosecondBuilder,
    user_id: StringBuilder,
    community_id: StringBuilder,
    event_type: StringBuilder,
    content_id: StringBuilder,
    session_id: StringBuilder,
    amount: Float64Builder,
    order_id: StringBuilder,
    referrer_id: StringBuilder,
    channel: StringBuilder,
    properties: StringBuilder,
    len: usize,
    buf: String,
    /// Events of the current session to re-send at its end.
    dups: Vec<Ev>,
}

impl Rows {
    fn new() -> Rows {
        let n = BATCH_ROWS + 4096;
        let s = |bytes: usize| StringBuilder::with_capacity(n, n * bytes);
        Rows {
            event_id: s(16),
            event_time: TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
            user_id: s(9),
            community_id: s(4),
            event_type: s(8),
            content_id: s(10),
            session_id: s(17),
            amount: Float64Builder::with_capacity(n),
            order_id: StringBuilder::with_capacity(n, n / 8),
            referrer_id: StringBuilder::with_capacity(n, n / 8),
            channel: s(7),
            properties: s(12),
            len: 0,
            buf: String::with_capacity(128),
            dups: Vec::new(),
        }
    }

    fn push(&mut self, ctx: &Ctx, ev: &Ev) {
        let buf = &mut self.buf;
        buf.clear();
        push_hex(buf, mix64(ev.id ^ ctx.id_key));
        self.event_id.append_value(&*buf);
        self.event_time.append_value(ev.time);
        match ev.user {
            Some(u) => {
                buf.clear();
                push_user(buf, u);
                self.user_id.append_value(&*buf);
            }
            None => self.user_id.append_null(),
        }
        match ev.community {
            Some(c) => {
                buf.clear();
                buf.push('c');
                push_dec(buf, c as u64 + 1, 3);
                self.community_id.append_value(&*buf);
            }
            None => self.community_id.append_null(),
        }
        self.event_type.append_option(ev.ty.map(Ty::name));
        match ev.content {
            Content::None => self.content_id.append_null(),
            Content::Checkin => self.content_id.append_value("act-checkin"),
            Content::Post(n) => {
                buf.clear();
                buf.push_str("post-");
                push_dec(buf, n, 1);
                self.content_id.append_value(&*buf);
            }
            Content::Sku(n) => {
                buf.clear();
                buf.push_str("sku-");
                push_dec(buf, n, 4);
                self.content_id.append_value(&*buf);
            }
            Content::Campaign(n) => {
                buf.clear();
                buf.push_str("act-");
                push_dec(buf, n, 3);
                self.content_id.append_value(&*buf);
            }
        }
        match ev.session {
            Some(s) => {
                buf.clear();
                buf.push('s');
                push_hex(buf, mix64(s ^ ctx.session_key));
                self.session_id.append_value(&*buf);
            }
            None => self.session_id.append_null(),
        }
        self.amount.append_option(ev.amount);
        if ev.order {
            buf.clear();
            buf.push('o');
            push_hex(buf, mix64(ev.id ^ ctx.order_key));
            self.order_id.append_value(&*buf);
        } else {
            self.order_id.append_null();
        }
        match ev.referrer {
            Some(r) => {
                buf.clear();
                push_user(buf, r);
                self.referrer_id.append_value(&*buf);
            }
            None => self.referrer_id.append_null(),
        }
        self.channel
            .append_option(ev.channel.map(|c| CHANNELS[c as usize]));
        if ev.props.is_empty() {
            self.properties.append_null();
        } else {
            buf.clear();
            push_props(buf, &ev.props);
            self.properties.append_value(&*buf);
        }
        self.len += 1;
    }

    fn finish(&mut self, schema: &SchemaRef, path: &str) -> Result<RecordBatch, GenerateError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.event_time.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.community_id.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.content_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.order_id.finish()),
            Arc::new(self.referrer_id.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.properties.finish()),
        ];
        self.len = 0;
        RecordBatch::try_new(Arc::clone(schema), columns).map_err(|source| GenerateError::Arrow {
            path: path.to_string(),
            source,
        })
    }
}

fn push_props(buf: &mut String, p: &Props) {
    buf.push('{');
    let mut first = true;
    let mut key = |buf: &mut String, k: &str| {
        if !first {
            buf.push(',');
        }
        first = false;
        buf.push('"');
        buf.push_str(k);
        buf.push_str("\":");
    };
    if p.variant > 0 {
        key(buf, "experiment");
        buf.push_str("\"checkout_v2\"");
        key(buf, "variant");
        buf.push_str(if p.variant == 1 {
            "\"control\""
        } else {
            "\"treatment\""
        });
    }
    match p.campaign {
        Campaign::None => {}
        Campaign::Checkin => {
            key(buf, "campaign_id");
            buf.push_str("\"daily_checkin\"");
        }
        Campaign::Invite => {
            key(buf, "campaign_id");
            buf.push_str("\"invite_friends\"");
        }
        Campaign::Promo(n) => {
            key(buf, "campaign_id");
            buf.push_str("\"act-");
            push_dec(buf, n, 3);
            buf.push('"');
        }
    }
    if p.coupon {
        key(buf, "coupon");
        buf.push_str("true");
    }
    if let Some(score) = p.nps {
        key(buf, "nps_score");
        push_dec(buf, score as u64, 1);
    }
    if p.streak > 0 {
        key(buf, "streak");
        push_dec(buf, p.streak as u64, 1);
    }
    buf.push('}');
}

fn push_hex(buf: &mut String, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        buf.push(HEX[((v >> (i * 4)) & 15) as usize] as char);
    }
}

fn push_dec(buf: &mut String, mut v: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    while v > 0 || n == 0 {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
    }
    for _ in n..width {
        buf.push('0');
    }
    for i in (0..n).rev() {
        buf.push(digits[i] as char);
    }
}

fn push_user(buf: &mut String, u: u32) {
    buf.push('u');
    push_dec(buf, u as u64, 8);
}

/// Splits a partition into part files of at most [`MAX_ROWS_PER_FILE`] rows.
struct PartWriter<'a> {
    ctx: &'a Ctx,
    dir: &'a str,
    writer: Option<ArrowWriter<Vec<u8>>>,
    rows_in_part: usize,
    parts: Vec<(Vec<u8>, u64)>,
}

impl<'a> PartWriter<'a> {
    fn new(ctx: &'a Ctx, dir: &'a str) -> Self {
        PartWriter {
            ctx,
            dir,
            writer: None,
            rows_in_part: 0,
            parts: Vec::new(),
        }
    }

    fn error(&self, source: ParquetError) -> GenerateError {
        GenerateError::Encode {
            path: format!("{}/part-{}.parquet", self.dir, self.parts.len()),
            source,
        }
    }

    fn write(&mut self, batch: RecordBatch) -> Result<(), GenerateError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.writer.is_none() {
                let w = ArrowWriter::try_new(
                    Vec::new(),
                    Arc::clone(&self.ctx.schema),
                    Some(self.ctx.props.clone()),
                )
                .map_err(|e| self.error(e))?;
                self.writer = Some(w);
                self.rows_in_part = 0;
            }
            let take = (batch.num_rows() - offset).min(MAX_ROWS_PER_FILE - self.rows_in_part);
            let slice = batch.slice(offset, take);
            let result = self.writer.as_mut().map(|w| w.write(&slice));
            if let Some(Err(e)) = result {
                return Err(self.error(e));
            }
            offset += take;
            self.rows_in_part += take;
            if self.rows_in_part >= MAX_ROWS_PER_FILE {
                self.close_part()?;
            }
        }
        Ok(())
    }

    fn close_part(&mut self) -> Result<(), GenerateError> {
        if let Some(w) = self.writer.take() {
            let bytes = w.into_inner().map_err(|e| self.error(e))?;
            self.parts.push((bytes, self.rows_in_part as u64));
            self.rows_in_part = 0;
        }
        Ok(())
    }

    /// The part files; an empty day still gets one (empty) file.
    fn finish(mut self) -> Result<Vec<(Vec<u8>, u64)>, GenerateError> {
        if self.writer.is_none() && self.parts.is_empty() {
            let w = ArrowWriter::try_new(
                Vec::new(),
                Arc::clone(&self.ctx.schema),
                Some(self.ctx.props.clone()),
            )
            .map_err(|e| self.error(e))?;
            self.writer = Some(w);
        }
        self.close_part()?;
        Ok(self.parts)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::DataType;
    use datafusion::arrow::datatypes::Int64Type;
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
        let null_sessions =
            count(&ctx, "select count(*) from events where session_id is null").await;
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
        let store = Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("store"),
        );
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
}

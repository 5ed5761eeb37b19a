//! The world a run generates: user and community profiles (signups, lifetimes, communities, referrals) and the per-day plan of each user, shared by all day workers.

use super::*;

pub(super) const NEVER: u32 = u32::MAX;

/// Everything about a user that spans days; a function of (seed, user)
/// except `referrer`, which is a function of the seed.
#[derive(Clone)]
pub(super) struct Profile {
    pub(super) signup: u32,
    /// Exclusive end of the first life.
    pub(super) end1: u32,
    /// From this day until `end1` the user is going silent.
    pub(super) silent_from: u32,
    /// Reactivation day, or NEVER.
    pub(super) react: u32,
    /// Exclusive end of the second life.
    pub(super) end2: u32,
    pub(super) p_active: f32,
    pub(super) tau: f32,
    pub(super) intensity: f32,
    pub(super) shop: f32,
    pub(super) chat: f32,
    /// Multiplies the checkout probability (city tier, occupation).
    pub(super) buy: f32,
    /// Multiplies every line's amount (age, city tier, occupation).
    pub(super) spend: f32,
    pub(super) demo: Demographics,
    pub(super) checkin_p: f32,
    pub(super) channel: u8,
    /// 0 not enrolled, 1 control, 2 treatment.
    pub(super) variant: u8,
    pub(super) ambassador: bool,
    pub(super) n_comm: u8,
    pub(super) comm: [u16; 3],
    pub(super) join: [u32; 3],
    pub(super) quit: [u32; 3],
    pub(super) referrer: u32,
}

impl Profile {
    #[inline]
    pub(super) fn alive(&self, d: u32) -> bool {
        d >= self.signup && (d < self.end1 || (d >= self.react && d < self.end2))
    }
    /// The communities the user can act in on day `d` (joined, not quit).
    pub(super) fn communities_on(&self, d: u32) -> ([u16; 3], usize) {
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

pub(super) struct CommunityProfile {
    /// Multiplies like/comment/share probabilities.
    pub(super) interact: f64,
    /// Multiplies the checkout probability.
    pub(super) buy: f64,
    /// Probability that a session bounces.
    pub(super) bounce: f64,
}

/// Generation context shared by all day workers.
pub(super) struct Ctx {
    pub(super) seed: u64,
    pub(super) start: NaiveDate,
    pub(super) start_us: i64,
    /// 0 = Monday of the first day.
    pub(super) start_weekday: u32,
    pub(super) late_day_p: f64,
    pub(super) resend_day_p: f64,
    pub(super) dup_event_p: f64,
    pub(super) unknown_p: f64,
    pub(super) profiles: Vec<Profile>,
    pub(super) invite_offsets: Vec<u32>,
    /// (day, invitee) sorted per inviter.
    pub(super) invites: Vec<(u32, u32)>,
    pub(super) communities: Vec<CommunityProfile>,
    pub(super) hour_cumulative: Vec<f64>,
    pub(super) channel_cumulative: Vec<f64>,
    pub(super) posts_per_day: u64,
    pub(super) post_zipf: Zipf,
    pub(super) sku_zipf: Zipf,
    pub(super) campaign_zipf: Zipf,
    pub(super) id_key: u64,
    pub(super) session_key: u64,
    pub(super) order_key: u64,
    pub(super) props: WriterProperties,
    pub(super) schema: SchemaRef,
}

impl Ctx {
    pub(super) fn new(opts: &GenerateOptions) -> Ctx {
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

    pub(super) fn date(&self, day: u32) -> NaiveDate {
        self.start + chrono::Days::new(day as u64)
    }

    pub(super) fn day_start_us(&self, day: u32) -> i64 {
        self.start_us + day as i64 * DAY_US
    }

    pub(super) fn invites_of(&self, u: u32) -> &[(u32, u32)] {
        let (a, b) = (
            self.invite_offsets[u as usize] as usize,
            self.invite_offsets[u as usize + 1] as usize,
        );
        &self.invites[a..b]
    }

    /// 0 when `u` does not check in on `d`, else the day of the streak (1–7).
    pub(super) fn checkin_streak(&self, u: u32, p: &Profile, d: u32) -> u8 {
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
    pub(super) fn day_plan(&self, u: u32, d: u32) -> Option<DayPlan> {
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
    pub(super) fn late_session(&self, u: u32, d: u32, plan: &DayPlan) -> Option<(usize, u32)> {
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
    pub(super) fn late_lag(&self, u: u32, d: u32) -> Option<u32> {
        let h = key(self.seed, Stream::Late, u as u64, d as u64);
        (unit(h) < self.late_day_p).then_some(match (h >> 4) % 20 {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        })
    }

    /// Cheap pre-check of [`Ctx::resent_session`] without a plan.
    pub(super) fn resend_hit(&self, u: u32, d: u32) -> bool {
        unit(key(self.seed, Stream::Resend, u as u64, d as u64)) < self.resend_day_p
    }

    /// The on-time session of day `d` that is re-sent into day `d + 1`.
    pub(super) fn resent_session(&self, u: u32, d: u32, plan: &DayPlan) -> Option<usize> {
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
    pub(super) fn encode_partition(
        &self,
        day: u32,
        dir: &str,
    ) -> Result<Vec<(Vec<u8>, u64)>, GenerateError> {
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
                    self.gen_session(u, d, s, &plan, Some(&mut rows));
                }
                // A session re-sent (same event ids) into the next day.
                if d + 1 == day
                    && self.resend_hit(u, d)
                    && let Some(plan) = self.day_plan(u, d)
                    && let Some(s) = self.resent_session(u, d, &plan)
                {
                    self.gen_session(u, d, s, &plan, Some(&mut rows));
                }
            }
            // Refunds of orders of the last 14 days.
            for d in day.saturating_sub(REFUND_MAX_LAG).max(p.signup)..day {
                if let Some(ev) = self.refund(u, d, day) {
                    rows.push(self, &ev);
                }
            }
            // Today's sessions that arrive on time.
            if let Some(plan) = self.day_plan(u, day) {
                let late = self.late_session(u, day, &plan).map(|(s, _)| s);
                for s in 0..plan.n_sessions {
                    if Some(s) != late {
                        self.gen_session(u, day, s, &plan, Some(&mut rows));
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

    /// Appends session `s` of user `u`'s day `d` to `rows` (or, without
    /// rows, only replays it) and returns its checkout, if any. A pure
    /// function of (seed, u, d, s): late and re-sent copies are identical.
    pub(super) fn gen_session(
        &self,
        u: u32,
        d: u32,
        s: usize,
        plan: &DayPlan,
        rows: Option<&mut Rows>,
    ) -> Option<Order> {
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
            dups: Vec::new(),
            rng,
            base,
            seq: 0,
            t: day_start + plan.starts[s],
            day_end: day_start + DAY_US,
            user: u,
            session,
            channel,
        };

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
        let mut order = None;
        match pick_weighted(&mut g.rng, &kinds) {
            0 => g.feed(d, community, mood, w),
            1 => order = g.shop(p, community, mood),
            2 => g.chat(d, community, mood, w),
            _ => g.activity(d, community, mood),
        }
        if s == 0 {
            g.chores_end(p, d, plan, community);
        }
        let SessionGen { rows, dups, .. } = g;
        if let Some(rows) = rows {
            for ev in &dups {
                rows.push(self, ev);
            }
        }
        order
    }

    /// Whether one order of user `u`'s day `d` is refunded: the lag in days
    /// (None: no refund) and the stream of the refund's further draws.
    fn refund_draws(&self, u: u32, d: u32) -> (Option<u32>, Rng) {
        let mut rng = Rng::new(key(self.seed, Stream::Refund, u as u64, d as u64));
        let hit = rng.chance(REFUND_DAY_SHARE);
        let lag = 1 + rng.below(REFUND_MAX_LAG as u64) as u32;
        (hit.then_some(lag), rng)
    }

    /// The refund received on `day` of an order user `u` placed on day `d`:
    /// a purchase with minus one line's amount or the whole order's, its
    /// own `r…` order id, in the order's community and channel.
    pub(super) fn refund(&self, u: u32, d: u32, day: u32) -> Option<Ev> {
        let (lag, mut rng) = self.refund_draws(u, d);
        if lag != Some(day - d) {
            return None;
        }
        let plan = self.day_plan(u, d)?;
        let orders: Vec<Order> = (0..plan.n_sessions)
            .filter_map(|s| self.gen_session(u, d, s, &plan, None))
            .collect();
        if orders.is_empty() {
            return None;
        }
        let order = &orders[rng.below(orders.len() as u64) as usize];
        let lines = &order.lines;
        let (sku, refunded) = if lines.len() > 1 && rng.chance(0.5) {
            let (sku, amount) = lines[rng.below(lines.len() as u64) as usize];
            (sku, amount?)
        } else {
            (lines[0].0, lines.iter().filter_map(|l| l.1).sum::<f64>())
        };
        if refunded <= 0.0 {
            return None;
        }
        let hour = rng.pick(&self.hour_cumulative) as i64;
        let id = ((day as u64) << 50) | ((u as u64) << 24) | (0xff << 16);
        Some(Ev {
            id,
            time: self.day_start_us(day) + hour * 3_600_000_000 + rng.below(3_600_000_000) as i64,
            user: Some(u),
            ty: Some(Ty::Purchase),
            community: order.community,
            content: Content::Sku(sku),
            session: None,
            amount: Some(-((refunded * 100.0).round() / 100.0)),
            order: OrderRef::Refund(id),
            referrer: None,
            channel: order.channel,
            props: Props::default(),
        })
    }

    pub(super) fn encode_users(&self, path: &str) -> Result<Vec<u8>, GenerateError> {
        let n = self.profiles.len();
        let schema = crate::catalog::users_schema();
        let mut user_id = StringBuilder::with_capacity(n, n * 9);
        let mut signup_time = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut gender = StringBuilder::with_capacity(n, n * 6);
        let mut birth_year = Int64Builder::with_capacity(n);
        let mut region = StringBuilder::with_capacity(n, n * 8);
        let mut city_tier = Int64Builder::with_capacity(n);
        let mut occupation = StringBuilder::with_capacity(n, n * 10);
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
            let demo = &p.demo;
            gender.append_option(demo.gender);
            birth_year.append_option(demo.birth_year.map(i64::from));
            region.append_value(REGIONS[demo.region as usize].0);
            city_tier.append_option(demo.city_tier.map(i64::from));
            occupation.append_option(demo.occupation.map(|o| OCCUPATIONS[o as usize]));
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

/// A user's row of `users.parquet`, drawn before behaviour: it shifts the
/// user's activity, sociability, purchase propensity and spend.
#[derive(Clone, Copy)]
pub(super) struct Demographics {
    pub(super) gender: Option<&'static str>,
    pub(super) birth_year: Option<i16>,
    /// Index into [`REGIONS`].
    pub(super) region: u8,
    pub(super) city_tier: Option<u8>,
    /// Index into [`OCCUPATIONS`].
    pub(super) occupation: Option<u8>,
}

impl Demographics {
    /// Draws user `u`'s demographics from its own stream (a function of
    /// (seed, user)).
    pub(super) fn draw(seed: u64, u: u64) -> Demographics {
        let mut rng = Rng::new(key(seed, Stream::Demographics, u, 0));
        let g = rng.f64();
        let gender = if g < 0.55 {
            Some("female")
        } else if g < 0.95 {
            Some("male")
        } else if g < 0.98 {
            Some("other")
        } else {
            None
        };
        let year = 1994.0 + 8.0 * rng.normal();
        let birth_year = (!rng.chance(0.05)).then_some(year.round().clamp(1950.0, 2010.0) as i16);
        let region = rng.pick(&cumulative(&REGIONS.map(|r| r.1)));
        let tier = (REGIONS[region].2 + rng.below(3) as i32 - 1).clamp(1, 5);
        let city_tier = (!rng.chance(0.03)).then_some(tier as u8);
        let occupation =
            (!rng.chance(0.08)).then(|| rng.pick(&cumulative(&OCCUPATION_WEIGHTS)) as u8);
        Demographics {
            gender,
            birth_year,
            region: region as u8,
            city_tier,
            occupation,
        }
    }

    /// Gen Z: born 1995–2009.
    pub(super) fn gen_z(&self) -> bool {
        self.birth_year.is_some_and(|y| (1995..=2009).contains(&y))
    }

    /// How the demographics shift behaviour, as multipliers of
    /// (intensity, chat weight, shop weight, checkout probability, spend).
    pub(super) fn leanings(&self) -> [f64; 5] {
        let mut m = [1.0; 5];
        let [intensity, chat, shop, buy, spend] = &mut m;
        if self.gen_z() {
            *intensity *= 1.35;
            *chat *= 1.4;
            *spend *= 0.85;
        } else if self.birth_year.is_some_and(|y| y < 1980) {
            *intensity *= 0.85;
            *spend *= 1.1;
        }
        match self.city_tier {
            Some(1 | 2) => {
                *buy *= 1.25;
                *spend *= 1.15;
            }
            Some(4 | 5) => {
                *buy *= 0.8;
                *spend *= 0.9;
            }
            _ => {}
        }
        match self.occupation.map(|o| OCCUPATIONS[o as usize]) {
            Some("student") => {
                *shop *= 0.75;
                *spend *= 0.75;
            }
            Some("retired") => *intensity *= 0.8,
            Some("engineer" | "self_employed") => *spend *= 1.1,
            _ => {}
        }
        m
    }
}

pub(super) fn make_profile(seed: u64, u: u64, signup: u32, comm_zipf: &Zipf) -> Profile {
    let demo = Demographics::draw(seed, u);
    let [activity, sociable, shopper, buyer, spender] = demo.leanings();
    let mut rng = Rng::new(key(seed, Stream::Profile, u, 0));
    let intensity = ((1.0 - rng.f64()).powf(-1.0 / 1.6) * activity).min(40.0);
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
    let shop = (0.05 + 0.45 * rng.f64()) * shopper;
    let chat = (0.1 + 0.7 * rng.f64()) * sociable;
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
        buy: buyer as f32,
        spend: spender as f32,
        demo,
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
pub(super) struct DayPlan {
    pub(super) n_sessions: usize,
    /// Session start offsets from midnight (µs), ascending.
    pub(super) starts: [i64; MAX_SESSIONS],
    pub(super) signup: bool,
    pub(super) checkin: u8,
    /// Range of the user's invites (converting) sent that day.
    pub(super) invites: (usize, usize),
    pub(super) nps: Option<u8>,
    pub(super) extra_invites: u8,
}

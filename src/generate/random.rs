//! Randomness: splitmix64 keyed by (seed, stream, user, day, session), and the draws built on it (uniform, normal, Pareto, Zipf, weighted picks).

#[inline]
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Independent random streams.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(super) enum Stream {
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
    Refund,
}

#[inline]
pub(super) fn key(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    let h = mix64(seed ^ (stream as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    mix64(mix64(h ^ a) ^ b)
}

#[inline]
pub(super) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    #[inline]
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
    #[inline]
    pub(super) fn f64(&mut self) -> f64 {
        unit(self.next())
    }
    #[inline]
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Uniform in `0..n` (n > 0).
    #[inline]
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Exponential with the given mean.
    #[inline]
    pub(super) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
    /// Geometric number of failures with the given mean.
    #[inline]
    pub(super) fn geometric(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        let q = mean / (1.0 + mean);
        ((1.0 - self.f64()).ln() / q.ln()).floor() as u64
    }
    /// Standard normal (Box–Muller).
    pub(super) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Index drawn with the given cumulative weights.
    pub(super) fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.f64() * cumulative[cumulative.len() - 1];
        cumulative.iter().position(|&c| x < c).unwrap_or(0)
    }
}

/// Zipf-like ranks in `0..n` (continuous power-law inversion; rank 0 is the
/// most popular).
#[derive(Clone, Copy)]
pub(super) struct Zipf {
    pub(super) n: f64,
    pub(super) one_minus_s: f64,
    pub(super) a: f64,
}

impl Zipf {
    pub(super) fn new(n: u64, s: f64) -> Self {
        let n = n.max(1) as f64;
        let one_minus_s = 1.0 - s;
        Zipf {
            n,
            one_minus_s,
            a: (n + 1.0).powf(one_minus_s) - 1.0,
        }
    }
    #[inline]
    pub(super) fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.f64();
        let x = (self.a * u + 1.0).powf(1.0 / self.one_minus_s);
        ((x - 1.0).floor().max(0.0)).min(self.n - 1.0) as u64
    }
}

pub(super) fn pick_weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let mut x = rng.f64() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

pub(super) fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

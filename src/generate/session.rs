//! Events: one user-day of sessions (feed, shop, chat, activity) with its chores, late re-sends, duplicates and noise.

use super::*;

#[derive(Clone, Copy, Default)]
pub(super) enum Content {
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
pub(super) enum Campaign {
    #[default]
    None,
    Checkin,
    Invite,
    Promo(u64),
}

#[derive(Clone, Copy, Default)]
pub(super) struct Props {
    /// 0 none, 1 control, 2 treatment.
    pub(super) variant: u8,
    pub(super) campaign: Campaign,
    pub(super) coupon: bool,
    pub(super) nps: Option<u8>,
    pub(super) streak: u8,
}

impl Props {
    pub(super) fn is_empty(&self) -> bool {
        self.variant == 0
            && self.campaign == Campaign::None
            && !self.coupon
            && self.nps.is_none()
            && self.streak == 0
    }
}

/// The `order_id` of an event: none, a sale or a refund, each keyed on the
/// event id of its first line.
#[derive(Clone, Copy, Default)]
pub(super) enum OrderRef {
    #[default]
    None,
    /// `o…`: the purchase lines of one checkout.
    Sale(u64),
    /// `r…`: a refund, a purchase with a negative amount.
    Refund(u64),
}

/// A checkout: the purchase lines of one shop session, sharing an order id.
pub(super) struct Order {
    pub(super) community: Option<u16>,
    pub(super) channel: Option<u8>,
    /// (SKU, amount) per line; the amount is None for a line sent without one.
    pub(super) lines: Vec<(u64, Option<f64>)>,
}

#[derive(Clone, Copy)]
pub(super) struct Ev {
    pub(super) id: u64,
    pub(super) time: i64,
    pub(super) user: Option<u32>,
    pub(super) ty: Option<Ty>,
    pub(super) community: Option<u16>,
    pub(super) content: Content,
    pub(super) session: Option<u64>,
    pub(super) amount: Option<f64>,
    pub(super) order: OrderRef,
    pub(super) referrer: Option<u32>,
    pub(super) channel: Option<u8>,
    pub(super) props: Props,
}

pub(super) struct SessionGen<'a> {
    pub(super) ctx: &'a Ctx,
    /// Where events go; None replays a session only to learn its order.
    pub(super) rows: Option<&'a mut Rows>,
    /// Events of the session to re-send at its end.
    pub(super) dups: Vec<Ev>,
    pub(super) rng: Rng,
    pub(super) base: u64,
    pub(super) seq: u64,
    pub(super) t: i64,
    pub(super) day_end: i64,
    pub(super) user: u32,
    pub(super) session: Option<u64>,
    pub(super) channel: Option<u8>,
}

impl SessionGen<'_> {
    /// A new event at the next time step; `noise` allows null keys.
    pub(super) fn ev(
        &mut self,
        ty: Ty,
        community: Option<u16>,
        content: Content,
        noise: bool,
    ) -> Ev {
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
            order: OrderRef::None,
            referrer: None,
            channel: self.channel,
            props: Props::default(),
        }
    }

    /// Writes an event, maybe a re-send of it and maybe an unknown-type event.
    pub(super) fn emit(&mut self, ev: Ev) {
        if let Some(rows) = self.rows.as_deref_mut() {
            rows.push(self.ctx, &ev);
        }
        if self.rng.chance(self.ctx.dup_event_p) && self.rows.is_some() {
            self.dups.push(ev);
        }
        if self.rng.chance(self.ctx.unknown_p) {
            let ty = [Ty::Badge, Ty::Refund, Ty::PollVote][self.rng.below(3) as usize];
            let e = self.ev(ty, ev.community, ev.content, false);
            if let Some(rows) = self.rows.as_deref_mut() {
                rows.push(self.ctx, &e);
            }
        }
    }

    /// Creates and writes a plain event.
    pub(super) fn simple(&mut self, ty: Ty, community: Option<u16>, content: Content) {
        let ev = self.ev(ty, community, content, true);
        self.emit(ev);
    }

    pub(super) fn post(&mut self, d: u32) -> Content {
        let age = self.rng.geometric(1.5).min(13);
        let rank = self.ctx.post_zipf.sample(&mut self.rng);
        Content::Post((d as u64 + 14 - age) * self.ctx.posts_per_day + rank)
    }

    pub(super) fn chores_start(
        &mut self,
        p: &Profile,
        d: u32,
        plan: &DayPlan,
        community: Option<u16>,
    ) {
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

    pub(super) fn chores_end(
        &mut self,
        p: &Profile,
        d: u32,
        plan: &DayPlan,
        community: Option<u16>,
    ) {
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
    pub(super) fn feed(&mut self, d: u32, community: Option<u16>, mood: Mood, w: f64) {
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

    /// Shopping: the exposure → click → view → add_to_cart funnel per
    /// product, then maybe a checkout of the cart: one purchase line per
    /// product bought, all sharing one order id.
    pub(super) fn shop(
        &mut self,
        p: &Profile,
        community: Option<u16>,
        mood: Mood,
    ) -> Option<Order> {
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
        // (SKU, coupon) of the products added to the cart.
        let mut cart: Vec<(u64, bool)> = Vec::new();
        for item in 0..items {
            let sku = self.ctx.sku_zipf.sample(&mut self.rng);
            let content = Content::Sku(sku);
            let mut ev = self.ev(Ty::Exposure, c, content, true);
            ev.props.variant = p.variant;
            if self.rng.chance(0.05) {
                ev.props.campaign = Campaign::Promo(self.promo(ev.time));
            }
            self.emit(ev);
            if mood.bounce || !(item == 0 || self.rng.chance(0.4)) {
                continue;
            }
            self.simple(Ty::Click, c, content);
            self.simple(Ty::View, c, content);
            // Someone with a filled cart keeps filling it.
            if !self.rng.chance(if cart.is_empty() { 0.3 } else { 0.6 }) {
                continue;
            }
            let coupon = self.rng.chance(0.2);
            let mut ev = self.ev(Ty::AddToCart, c, content, true);
            ev.props.coupon = coupon;
            self.emit(ev);
            cart.push((sku, coupon));
        }
        let lift = if p.variant == 2 { 1.12 } else { 1.0 };
        let checkout = (0.38 * lift * mood.buy * p.buy as f64).min(0.95);
        if cart.is_empty() || !self.rng.chance(checkout) {
            return None;
        }
        // Each product in the cart is bought with probability 0.9 (the
        // first one when none is).
        let mut bought: Vec<(u64, bool)> = Vec::with_capacity(cart.len());
        for &line in &cart {
            if self.rng.chance(0.9) {
                bought.push(line);
            }
        }
        if bought.is_empty() {
            bought.push(cart[0]);
        }
        let mut order = Order {
            community: c,
            channel: self.channel,
            lines: Vec::with_capacity(bought.len()),
        };
        let mut first_line = None;
        for (sku, coupon) in bought {
            let z = Rng::new(key(self.ctx.seed, Stream::Price, sku, 0)).normal();
            let price = ((79.0f64.ln() + 0.7 * z).exp().round() - 0.1).max(0.9);
            let qty = 1 + self.rng.chance(0.2) as u64 + self.rng.chance(0.05) as u64;
            let mut amount = price * qty as f64 * if coupon { 0.9 } else { 1.0 } * p.spend as f64;
            amount = (amount * 100.0).round() / 100.0;
            let mut ev = self.ev(Ty::Purchase, c, Content::Sku(sku), true);
            let first = *first_line.get_or_insert(ev.id);
            ev.amount = (!self.rng.chance(0.01)).then_some(amount);
            ev.order = OrderRef::Sale(first);
            ev.props.coupon = coupon;
            order.lines.push((sku, ev.amount));
            self.emit(ev);
        }
        Some(order)
    }

    /// The campaign running at `t` (four per week).
    pub(super) fn promo(&mut self, t: i64) -> u64 {
        let week = (t - self.ctx.start_us).max(0) / (7 * DAY_US);
        week as u64 * 4 + self.ctx.campaign_zipf.sample(&mut self.rng)
    }

    /// Chatting in a community group; engaged chats open a shared link.
    pub(super) fn chat(&mut self, d: u32, community: Option<u16>, mood: Mood, w: f64) {
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
    pub(super) fn activity(&mut self, d: u32, community: Option<u16>, mood: Mood) {
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
pub(super) struct Mood {
    pub(super) interact: f64,
    pub(super) buy: f64,
    pub(super) bounce: bool,
}

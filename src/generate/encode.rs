//! Arrow building and Parquet encoding: rows into the events schema, split into part files.

use super::*;

pub(super) struct Rows {
    pub(super) event_id: StringBuilder,
    pub(super) event_time: TimestampMicrosecondBuilder,
    pub(super) user_id: StringBuilder,
    pub(super) community_id: StringBuilder,
    pub(super) event_type: StringBuilder,
    pub(super) content_id: StringBuilder,
    pub(super) session_id: StringBuilder,
    pub(super) amount: Float64Builder,
    pub(super) order_id: StringBuilder,
    pub(super) referrer_id: StringBuilder,
    pub(super) channel: StringBuilder,
    pub(super) properties: StringBuilder,
    pub(super) len: usize,
    pub(super) buf: String,
}

impl Rows {
    pub(super) fn new() -> Rows {
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
        }
    }

    pub(super) fn push(&mut self, ctx: &Ctx, ev: &Ev) {
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
        match ev.order {
            OrderRef::None => self.order_id.append_null(),
            OrderRef::Sale(first) | OrderRef::Refund(first) => {
                buf.clear();
                buf.push(if matches!(ev.order, OrderRef::Sale(_)) {
                    'o'
                } else {
                    'r'
                });
                push_hex(buf, mix64(first ^ ctx.order_key));
                self.order_id.append_value(&*buf);
            }
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
        let comment = (ev.ty == Some(Ty::Comment)).then(|| comment(ev));
        if ev.props.is_empty() && comment.is_none() {
            self.properties.append_null();
        } else {
            buf.clear();
            push_props(buf, &ev.props, comment);
            self.properties.append_value(&*buf);
        }
        self.len += 1;
    }

    pub(super) fn finish(
        &mut self,
        schema: &SchemaRef,
        path: &str,
    ) -> Result<RecordBatch, GenerateError> {
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

/// A comment's text and, on about 30 % of comments, the label an upstream
/// moderation service would send. Drawn from a hash of the event id, not
/// from the session's random stream, so adding texts changed no other
/// column of the generated data. About 55 % positive, 27 % neutral and 18 %
/// negative; on one day in 31 per community (a bad delivery, a broken
/// update) 60 % negative, the spikes `sentiment_daily` flags.
pub(super) struct Comment {
    text: &'static str,
    label: Option<&'static str>,
}

fn comment(ev: &Ev) -> Comment {
    let h = mix64(ev.id ^ 0x5e47_1ae7_c0de_0001);
    let day = ev.time.div_euclid(86_400_000_000);
    let spike = ev
        .community
        .is_some_and(|c| (day + c as i64 * 11).rem_euclid(31) == 0);
    let r = h % 100;
    let class: i8 = match (spike, r) {
        (false, 0..55) | (true, 0..25) => 1,
        (false, 55..82) | (true, 25..40) => 0,
        _ => -1,
    };
    let n = COMMENTS.iter().filter(|(_, c)| *c == class).count() as u64;
    let k = ((h >> 16) % n) as usize;
    let (text, _) = COMMENTS
        .iter()
        .filter(|(_, c)| *c == class)
        .nth(k)
        .copied()
        .unwrap_or(COMMENTS[0]);
    let label = ((h >> 40) % 10 < 3).then_some(match class {
        1 => "positive",
        0 => "neutral",
        _ => "negative",
    });
    Comment { text, label }
}

pub(super) fn push_props(buf: &mut String, p: &Props, comment: Option<Comment>) {
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
    if let Some(c) = comment {
        // The texts hold no `"` or `\` to escape.
        key(buf, "text");
        buf.push('"');
        buf.push_str(c.text);
        buf.push('"');
        if let Some(label) = c.label {
            key(buf, "sentiment");
            buf.push('"');
            buf.push_str(label);
            buf.push('"');
        }
    }
    buf.push('}');
}

pub(super) fn push_hex(buf: &mut String, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        buf.push(HEX[((v >> (i * 4)) & 15) as usize] as char);
    }
}

pub(super) fn push_dec(buf: &mut String, mut v: u64, width: usize) {
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

pub(super) fn push_user(buf: &mut String, u: u32) {
    buf.push('u');
    push_dec(buf, u as u64, 8);
}

/// Splits a partition into part files of at most [`MAX_ROWS_PER_FILE`] rows.
pub(super) struct PartWriter<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) dir: &'a str,
    pub(super) writer: Option<ArrowWriter<Vec<u8>>>,
    pub(super) rows_in_part: usize,
    pub(super) parts: Vec<(Vec<u8>, u64)>,
}

impl<'a> PartWriter<'a> {
    pub(super) fn new(ctx: &'a Ctx, dir: &'a str) -> Self {
        PartWriter {
            ctx,
            dir,
            writer: None,
            rows_in_part: 0,
            parts: Vec::new(),
        }
    }

    pub(super) fn error(&self, source: ParquetError) -> GenerateError {
        GenerateError::Encode {
            path: format!("{}/part-{}.parquet", self.dir, self.parts.len()),
            source,
        }
    }

    pub(super) fn write(&mut self, batch: RecordBatch) -> Result<(), GenerateError> {
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

    pub(super) fn close_part(&mut self) -> Result<(), GenerateError> {
        if let Some(w) = self.writer.take() {
            let bytes = w.into_inner().map_err(|e| self.error(e))?;
            self.parts.push((bytes, self.rows_in_part as u64));
            self.rows_in_part = 0;
        }
        Ok(())
    }

    /// The part files; an empty day still gets one (empty) file.
    pub(super) fn finish(mut self) -> Result<Vec<(Vec<u8>, u64)>, GenerateError> {
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

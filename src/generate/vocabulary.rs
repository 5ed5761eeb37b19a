//! Vocabulary: event types, channels, regions and occupations with their weights.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
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
    pub(super) fn name(self) -> &'static str {
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

pub(super) const CHANNELS: [&str; 6] = ["wechat", "mini_program", "wecom", "app", "web", "discord"];
pub(super) const CHANNEL_WEIGHTS: [f64; 6] = [0.34, 0.22, 0.14, 0.14, 0.10, 0.06];

/// Session start weights per hour of the day in China time (UTC+8).
pub(super) const LOCAL_HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.0, 0.6, 0.4, 0.4, 0.6, 1.5, 3.0, 4.0, 4.0, 4.0, 5.0, 7.0, 6.0, 4.0, 4.0, 4.0, 5.0, 6.0,
    7.0, 9.0, 10.0, 8.0, 5.0,
];

pub(super) const REGIONS: [(&str, f64, i32); 13] = [
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

pub(super) const OCCUPATIONS: [&str; 10] = [
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
pub(super) const OCCUPATION_WEIGHTS: [f64; 10] =
    [0.28, 0.18, 0.12, 0.09, 0.07, 0.08, 0.05, 0.06, 0.04, 0.03];

/// Comment texts by sentiment (1 positive, 0 neutral, −1 negative), half in
/// Chinese, half in English, as members write them: the lexicon of
/// `sentiment()` reads most of them right and a few (sarcasm, slang) wrong.
pub(super) const COMMENTS: [(&str, i8); 48] = [
    ("这个活动太棒了", 1),
    ("非常喜欢，已经推荐给朋友", 1),
    ("质量很好，物流也快，满意", 1),
    ("群主很耐心，感谢分享", 1),
    ("性价比高，还会回购", 1),
    ("打卡第三天，收获很大", 1),
    ("内容很有用，学到了", 1),
    ("客服态度很好，点赞", 1),
    ("Love this community, thanks!", 1),
    ("Great tips, really helpful", 1),
    ("Amazing deal, totally worth it", 1),
    ("The new feature works perfectly", 1),
    ("Best group I've joined this year", 1),
    ("So happy with my order", 1),
    ("Thanks for the quick reply, very friendly", 1),
    ("Nice post, I enjoyed reading it", 1),
    ("请问活动几点开始", 0),
    ("已下单，等发货", 0),
    ("这个在哪里买", 0),
    ("明天的直播是几点", 0),
    ("收到", 0),
    ("我也想参加", 0),
    ("What time does the event start?", 0),
    ("Where can I find the link", 0),
    ("Ordered yesterday, waiting for delivery", 0),
    ("Is there a size chart", 0),
    ("Joined from the invite", 0),
    ("same here", 0),
    ("质量太差，再也不买了", -1),
    ("客服态度差，很失望", -1),
    ("发货太慢了，等了一周", -1),
    ("不好用，想退货", -1),
    ("广告太多了，取关", -1),
    ("价格太贵，不值", -1),
    ("东西坏了也没人管", -1),
    ("这不就是割韭菜吗", -1),
    ("Terrible service, never buying again", -1),
    ("The app keeps crashing, so annoying", -1),
    ("Disappointed, the item arrived damaged", -1),
    ("Way too expensive for what it is", -1),
    ("Not helpful at all", -1),
    ("Waste of money", -1),
    ("Great, another delay", -1),
    ("Refund still missing after two weeks", -1),
    ("不错", 1),
    ("Good", 1),
    ("还行吧", 0),
    ("ok", 0),
];

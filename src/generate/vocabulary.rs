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

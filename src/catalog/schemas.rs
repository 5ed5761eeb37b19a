//! The schemas of the sources, defined once: `events` (docs/events.md#events), `users` and `deletions`. The generator writes these too.

use super::*;

/// The events schema of docs/events.md#events (all columns nullable in storage; validity is
/// decided by `stg_events`).
pub fn events_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("event_id"),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        s("user_id"),
        s("community_id"),
        s("event_type"),
        s("content_id"),
        s("session_id"),
        Field::new("amount", DataType::Float64, true),
        s("order_id"),
        s("referrer_id"),
        s("channel"),
        s("properties"),
    ]))
}

/// The `deletions` schema (docs/events.md#deletions).
pub fn deletions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, true),
        Field::new(
            "requested_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// The `users` schema (docs/events.md#users); `shoal generate` writes it too.
pub fn users_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        s("user_id"),
        Field::new(
            "signup_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        s("gender"),
        Field::new("birth_year", DataType::Int64, true),
        s("region"),
        Field::new("city_tier", DataType::Int64, true),
        s("occupation"),
    ]))
}

/// The partition column every daily table and the events source carry.
pub const DT: &str = "dt";

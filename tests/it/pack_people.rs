//! activation_daily, member_comparison and user_segments.lifecycle_band
//! (docs/metrics.md) on hand-built histories.

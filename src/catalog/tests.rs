//! Unit tests of locations, listing, schema checks and messages.

use super::*;

#[test]
fn locations_normalise_to_directories() {
    let l = Location::parse("s3://bucket/events", FsPath::new("/p")).unwrap();
    assert_eq!(l.url().as_str(), "s3://bucket/events/");
    assert_eq!(l.store_key(), "s3://bucket");
    assert_eq!(l.prefix().as_ref(), "events");
    let l = Location::parse("data/events", FsPath::new("/proj")).unwrap();
    assert_eq!(l.url().as_str(), "file:///proj/data/events/");
    assert_eq!(l.store_key(), "file://");
    assert_eq!(l.prefix().as_ref(), "proj/data/events");
    assert_eq!(l.join("x").url().as_str(), "file:///proj/data/events/x/");
    let m = Location::parse("memory://t1/root", FsPath::new("/p")).unwrap();
    assert_eq!(m.store_key(), "memory://t1");
}

#[test]
fn parquet_messages_lose_their_wrappers() {
    assert_eq!(
        tidy_parquet_message("Parquet error: Parquet error: Invalid Parquet file. Corrupt footer"),
        "Invalid Parquet file. Corrupt footer"
    );
    assert_eq!(
        tidy_parquet_message(
            "External: Parquet argument error: Parquet error: encountered non UTF-8 data"
        ),
        "encountered non UTF-8 data"
    );
}

#[test]
fn type_compatibility() {
    use DataType::*;
    assert!(compatible(&Utf8, &Utf8View));
    assert!(compatible(&Utf8, &LargeUtf8));
    assert!(!compatible(&Utf8, &Int64));
    assert!(compatible(
        &Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        &Timestamp(TimeUnit::Nanosecond, None)
    ));
    assert!(!compatible(&Timestamp(TimeUnit::Microsecond, None), &Utf8));
    assert!(compatible(&Float64, &Int32));
    assert!(compatible(&Int64, &Int32));
}

#[tokio::test]
async fn partitions_are_listed_and_sorted() {
    use object_store::ObjectStoreExt;
    let store = object_store::memory::InMemory::new();
    for p in [
        "ev/dt=2026-01-02/a.parquet",
        "ev/dt=2026-01-01/b.parquet",
        "ev/_SUCCESS",
        "ev/junk/c.parquet",
    ] {
        store.put(&Path::from(p), "x".into()).await.unwrap();
    }
    let loc = Location::parse("memory://x/ev", FsPath::new("/")).unwrap();
    let parts = list_partitions(&store, &loc).await.unwrap();
    let days: Vec<String> = parts.iter().map(|p| p.day.to_string()).collect();
    assert_eq!(days, ["2026-01-01", "2026-01-02"]);
    let files = list_files(&store, &loc, &loc.prefix()).await.unwrap();
    assert_eq!(files.len(), 3, "_SUCCESS is not a data file");
}

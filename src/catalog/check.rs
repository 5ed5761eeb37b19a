//! Input checks: every file a run reads has the events columns with compatible types (footers only), and, after a model failed on input, the first file that does not decode.

use super::*;

/// Whether a file column type can be read as the expected table type.
pub(super) fn compatible(expected: &DataType, found: &DataType) -> bool {
    use DataType::*;
    let stringy = |t: &DataType| match t {
        Utf8 | LargeUtf8 | Utf8View => true,
        Dictionary(_, v) => matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View),
        _ => false,
    };
    match expected {
        Utf8 => stringy(found),
        Timestamp(_, _) => matches!(found, Timestamp(_, _)),
        Float64 => found.is_numeric(),
        Int64 => found.is_integer(),
        other => other == found,
    }
}

/// The object_store error behind a DataFusion error, if storage failed.
pub fn storage_cause(err: &datafusion::error::DataFusionError) -> Option<&object_store::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(datafusion::error::DataFusionError::ObjectStore(os)) =
            e.downcast_ref::<datafusion::error::DataFusionError>()
        {
            return Some(os.as_ref());
        }
        if let Some(os) = e.downcast_ref::<object_store::Error>() {
            return Some(os);
        }
        cur = e.source();
    }
    None
}

/// Reads the footer of each file and checks it against `expected`: every
/// column present with a compatible type (extra columns are ignored).
pub async fn check_parquet_schemas(
    state: &dyn datafusion::catalog::Session,
    store: Arc<dyn ObjectStore>,
    location: &Location,
    files: &[ObjectMeta],
    expected: &Schema,
    required: &[&str],
) -> Result<(), CatalogError> {
    for meta in files {
        let url = location.object_url(&meta.location);
        let found = ParquetFormat::default()
            .infer_schema(state, &store, std::slice::from_ref(meta))
            .await
            .map_err(|e| match storage_cause(&e) {
                Some(cause) => CatalogError::Read {
                    url: url.clone(),
                    message: cause.to_string(),
                },
                None => CatalogError::Unreadable {
                    url: url.clone(),
                    message: format!(
                        "{} (is it a complete Parquet file? replace or remove it)",
                        tidy_parquet_message(&e.strip_backtrace())
                    ),
                },
            })?;
        for field in expected.fields() {
            match found.field_with_name(field.name()) {
                Ok(f) if compatible(field.data_type(), f.data_type()) => {}
                Ok(f) => {
                    let hint = if matches!(
                        f.data_type(),
                        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                    ) {
                        " (a BYTE_ARRAY column without the STRING/UTF8 annotation: bytes that need not be text; write the column as a UTF-8 string)"
                    } else {
                        ""
                    };
                    return Err(CatalogError::Schema {
                        url,
                        column: field.name().clone(),
                        message: format!(
                            "expected {} but the file has {}{hint}",
                            field.data_type(),
                            f.data_type()
                        ),
                    });
                }
                Err(_) if required.contains(&field.name().as_str()) || required.is_empty() => {
                    // A column the table does not know, close to the missing
                    // name, is most likely the same column renamed.
                    let unknown = found
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .filter(|n| expected.field_with_name(n).is_err());
                    let hint = crate::names::suggest(field.name(), unknown)
                        .map(|s| {
                            format!(
                                " (did you mean {s:?}? the column seems renamed: write it as {:?})",
                                field.name()
                            )
                        })
                        .unwrap_or_default();
                    return Err(CatalogError::Schema {
                        url,
                        column: field.name().clone(),
                        message: format!(
                            "missing (expected type {}){hint}; the file has columns: {}",
                            field.data_type(),
                            found
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
                Err(_) => {}
            }
        }
    }
    Ok(())
}

/// A reader message without the wrappers errors pick up on their way out
/// ("Parquet error: Parquet error: …", "External: …").
pub(super) fn tidy_parquet_message(text: &str) -> String {
    let mut t = text.trim();
    loop {
        let before = t;
        for prefix in [
            "Parquet error: ",
            "External: ",
            "Parquet argument error: ",
            "Arrow error: ",
        ] {
            t = t.strip_prefix(prefix).unwrap_or(t);
        }
        if t == before {
            return t.to_string();
        }
    }
}

/// Reads every row of each file (whole, into memory: this is the failure
/// path) and returns the first file that cannot be decoded (corrupt pages, non-UTF-8 bytes in a string column): its URL and
/// the reader's message. Used after a model failed on input, to name the
/// file; storage errors are not blamed on a file (`None`).
pub async fn find_undecodable(
    store: Arc<dyn ObjectStore>,
    location: &Location,
    files: &[ObjectMeta],
) -> Option<(String, String)> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::errors::ParquetError;
    use object_store::ObjectStoreExt;
    for meta in files {
        // A storage error is not the file's fault.
        let bytes = match store.get(&meta.location).await {
            Ok(got) => match got.bytes().await {
                Ok(b) => b,
                Err(_) => return None,
            },
            Err(_) => return None,
        };
        let result: Result<(), ParquetError> = (|| {
            for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
                batch?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            return Some((
                location.object_url(&meta.location),
                tidy_parquet_message(&e.to_string()),
            ));
        }
    }
    None
}

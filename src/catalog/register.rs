//! Registration: sources and outputs as Parquet (or CSV) listing tables in a session; an optional source that is absent is an empty table.

use super::*;

/// Listing options for Parquet files, with a `dt` Date32 partition column when `hive_dt`.
pub fn parquet_listing_options(hive_dt: bool) -> ListingOptions {
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if hive_dt {
        opts.with_table_partition_cols(vec![(DT.to_string(), DataType::Date32)])
    } else {
        opts
    }
}

/// Registers a Parquet listing table over `location` with a known schema
/// (files are cast to it; nothing is read now).
pub fn register_listing(
    ctx: &SessionContext,
    name: &str,
    location: &Location,
    schema: SchemaRef,
    hive_dt: bool,
) -> Result<(), CatalogError> {
    let reg = |source| CatalogError::Register {
        name: name.to_string(),
        source,
    };
    let url = ListingTableUrl::parse(location.url().as_str()).map_err(reg)?;
    let config = ListingTableConfig::new(url)
        .with_listing_options(parquet_listing_options(hive_dt))
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(reg)?;
    ctx.register_table(name, Arc::new(table)).map_err(reg)?;
    Ok(())
}

/// Registers an empty table with `schema` (an optional source that is absent).
pub fn register_empty(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
) -> Result<(), CatalogError> {
    let reg = |source| CatalogError::Register {
        name: name.to_string(),
        source,
    };
    let table = MemTable::try_new(schema, vec![vec![]]).map_err(reg)?;
    ctx.register_table(name, Arc::new(table)).map_err(reg)?;
    Ok(())
}

/// Registers the optional `users` / `deletions` source: a listing table over
/// its files cast to `schema`, or an empty table when it is absent and optional.
///
/// `empty_dir`: where an absent source is an empty listing table
/// (`<empty_dir>/<name>/`, a prefix nothing writes to) instead of an
/// in-memory table — a Ballista scheduler can only receive tables that
/// serialize, and a listing table does.
pub async fn register_side_source(
    ctx: &SessionContext,
    stores: &Stores,
    name: &str,
    source: Option<&SourceConfig>,
    project_dir: &FsPath,
    schema: SchemaRef,
    empty_dir: Option<&Location>,
) -> Result<(), CatalogError> {
    let register_empty = |ctx: &SessionContext, name: &str, schema: SchemaRef| match empty_dir {
        Some(dir) => register_listing(ctx, name, &dir.join(name), schema, false),
        None => register_empty(ctx, name, schema),
    };
    let Some(source) = source else {
        return register_empty(ctx, name, schema);
    };
    let location = Location::parse(&source.location, project_dir)?;
    stores.register(ctx, &location)?;
    let store = stores.store_for(&location)?;
    let files = list_files(store.as_ref(), &location, &location.prefix()).await?;
    if files.is_empty() {
        if source.optional {
            return register_empty(ctx, name, schema);
        }
        return Err(CatalogError::Missing {
            url: location.to_string(),
            message: format!(
                "source {name:?} has no files; add them or set `optional: true` under sources.{name}"
            ),
        });
    }
    let hive = source.partitioning == Partitioning::HiveDt;
    match source.format {
        SourceFormat::Parquet => {
            check_parquet_schemas(
                &ctx.state(),
                store,
                &location,
                &files,
                &schema,
                &["user_id"],
            )
            .await?;
            // Columns a file lacks are read as NULL; user_id was checked above.
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            if hive {
                fields.retain(|f| f.name() != DT);
            }
            register_listing(ctx, name, &location, Arc::new(Schema::new(fields)), hive)
        }
        SourceFormat::Csv => {
            let reg = |source| CatalogError::Register {
                name: name.to_string(),
                source,
            };
            let url = ListingTableUrl::parse(location.url().as_str()).map_err(reg)?;
            let opts = ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
                .with_file_extension(".csv");
            let config = ListingTableConfig::new(url)
                .with_listing_options(opts)
                .with_schema(schema);
            let table = ListingTable::try_new(config).map_err(reg)?;
            ctx.register_table(name, Arc::new(table)).map_err(reg)?;
            Ok(())
        }
    }
}

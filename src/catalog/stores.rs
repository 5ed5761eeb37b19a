//! Object stores by `scheme://host`, built once from the `storage:` options (credentials from the environment or `${env:…}`, retries), and registered in DataFusion sessions.

use super::*;

/// Object stores by `scheme://host`, built from the `storage:` options.
#[derive(Clone)]
pub struct Stores {
    storage: StorageConfig,
    opened: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// The in-memory stores of this process, by `memory://host`, shared so that
/// the generator, the run and the tests see the same data.
pub(super) fn memory_stores() -> &'static Mutex<HashMap<String, Arc<dyn ObjectStore>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

impl Stores {
    /// Stores configured from `storage:`.
    pub fn new(storage: StorageConfig) -> Self {
        Self {
            storage,
            opened: Default::default(),
        }
    }

    /// The store holding `location`, opened once per `scheme://host`.
    pub fn store_for(&self, location: &Location) -> Result<Arc<dyn ObjectStore>, CatalogError> {
        let key = location.store_key();
        let mut opened = self.opened.lock().expect("store map poisoned");
        if let Some(s) = opened.get(&key) {
            return Ok(Arc::clone(s));
        }
        let store = self.build(location)?;
        opened.insert(key, Arc::clone(&store));
        Ok(store)
    }

    /// Registers the store of `location` in a DataFusion session.
    pub fn register(&self, ctx: &SessionContext, location: &Location) -> Result<(), CatalogError> {
        let store = self.store_for(location)?;
        ctx.runtime_env()
            .register_object_store(location.object_store_url().as_ref(), store);
        Ok(())
    }

    fn build(&self, location: &Location) -> Result<Arc<dyn ObjectStore>, CatalogError> {
        let url = location.url();
        let key = location.store_key();
        let err = |message: String| CatalogError::Store {
            url: key.clone(),
            message,
        };
        let retry = retry_config(&self.storage.retry);
        match url.scheme() {
            "file" => Ok(Arc::new(object_store::local::LocalFileSystem::new())),
            "memory" => {
                let mut mem = memory_stores().lock().expect("memory stores poisoned");
                Ok(Arc::clone(mem.entry(key.clone()).or_insert_with(|| {
                    Arc::new(object_store::memory::InMemory::new()) as Arc<dyn ObjectStore>
                })))
            }
            "s3" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.s3.0 {
                    let ck = k.parse().map_err(|_| {
                        err(format!("storage.s3.{k}: not an S3 option (see object_store AmazonS3ConfigKey, e.g. region, endpoint, allow_http)"))
                    })?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.gcs.0 {
                    let ck = k.parse().map_err(|_| {
                        err(format!(
                            "storage.gcs.{k}: not a Google Cloud Storage option"
                        ))
                    })?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            "az" | "abfs" | "abfss" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry);
                for (k, v) in &self.storage.azure.0 {
                    let ck = k
                        .parse()
                        .map_err(|_| err(format!("storage.azure.{k}: not an Azure option")))?;
                    b = b.with_config(ck, v);
                }
                Ok(Arc::new(b.build().map_err(|e| err(e.to_string()))?))
            }
            other => Err(err(format!("unsupported scheme {other:?}"))),
        }
    }
}

pub(super) fn retry_config(r: &RetrySettings) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(r.initial_backoff_ms),
            max_backoff: Duration::from_millis(r.max_backoff_ms),
            base: 2.0,
        },
        max_retries: r.max_retries,
        retry_timeout: Duration::from_secs(r.timeout_secs),
    }
}

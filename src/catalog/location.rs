//! A location: a configured path or URL, normalised to a directory URL (ending in `/`) in some object store.

use super::*;

/// A directory-like location in some object store, normalised to a URL
/// ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    url: Url,
}

impl Location {
    /// Parses a configured location; relative paths are taken from `project_dir`.
    pub fn parse(raw: &str, project_dir: &FsPath) -> Result<Self, CatalogError> {
        let bad = |message: String| CatalogError::BadLocation {
            location: raw.to_string(),
            message,
        };
        let mut url = if raw.contains("://") {
            Url::parse(raw).map_err(|e| bad(format!("not a valid URL: {e}")))?
        } else {
            let p = project_dir.join(raw);
            let abs = std::path::absolute(&p).map_err(|e| bad(e.to_string()))?;
            Url::from_directory_path(&abs).map_err(|_| bad("not an absolute path".into()))?
        };
        if url.scheme() == "s3a" {
            url =
                Url::parse(&raw.replacen("s3a://", "s3://", 1)).map_err(|e| bad(e.to_string()))?;
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Ok(Self { url })
    }

    /// The URL, ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `scheme://host` identifying the object store.
    pub fn store_key(&self) -> String {
        format!(
            "{}://{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or("")
        )
    }

    /// The DataFusion object store URL.
    pub fn object_store_url(&self) -> ObjectStoreUrl {
        ObjectStoreUrl::parse(self.store_key()).expect("scheme://host is a valid URL")
    }

    /// The prefix inside the store.
    pub fn prefix(&self) -> Path {
        Path::from_url_path(self.url.path()).unwrap_or_default()
    }

    /// A sub-directory location.
    pub fn join(&self, name: &str) -> Location {
        let url = self.url.join(&format!("{name}/")).expect("relative join");
        Location { url }
    }

    /// The full URL of an object path of this location's store (for messages).
    pub fn object_url(&self, path: &Path) -> String {
        format!("{}/{}", self.store_key(), path)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

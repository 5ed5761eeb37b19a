//! The output lock: one object, `<output>/_shoal/lock`, created with a
//! conditional put (create only if absent), so two runs never write one
//! output at once. A lock left by a dead process on the same host is
//! taken over; on a store without conditional writes shoal runs unlocked
//! and says so.

use std::path::Path as FsPath;

use chrono::Utc;
use object_store::ObjectStoreExt;

use super::{Output, SinkError};

/// The lock object that keeps two runs from writing one output at once.
#[derive(Debug, Clone)]
pub struct Lock {
    path: object_store::path::Path,
    taken: bool,
}

/// Takes the lock of `output` for `run_id`, or says who holds it.
pub async fn acquire(output: &Output, run_id: &str) -> Result<Lock, SinkError> {
    use object_store::{PutMode, PutOptions, PutPayload};
    let path = output.meta_dir().prefix().join("lock");
    let host = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = serde_json::json!({
        "run_id": run_id, "pid": std::process::id(), "host": host, "started_at": Utc::now(),
    })
    .to_string();
    for _ in 0..2 {
        let put = output
            .store
            .put_opts(
                &path,
                PutPayload::from(body.clone().into_bytes()),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await;
        match put {
            Ok(_) => return Ok(Lock { path, taken: true }),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let holder = match output.store.get(&path).await {
                    Ok(r) => r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
                    Err(_) => None,
                };
                // A lock left by a dead process on this host is taken over.
                let stale = holder.as_ref().is_some_and(|h| {
                    h["host"].as_str() == Some(host.as_str())
                        && h["pid"]
                            .as_u64()
                            .is_some_and(|pid| !FsPath::new(&format!("/proc/{pid}")).exists())
                });
                if stale {
                    let _ = output.store.delete(&path).await;
                    continue;
                }
                return Err(SinkError::Locked {
                    url: output.root.object_url(&path),
                    message: format!(
                        "another shoal run holds the output lock ({}); wait for it to finish, or delete the lock object if that run is dead",
                        holder
                            .map(|h| h.to_string())
                            .unwrap_or_else(|| "unreadable lock".into())
                    ),
                });
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                tracing::warn!(
                    "the output store does not support conditional writes: running without a lock"
                );
                return Ok(Lock { path, taken: false });
            }
            Err(e) => {
                return Err(SinkError::Storage {
                    url: output.root.object_url(&path),
                    message: e.to_string(),
                });
            }
        }
    }
    Err(SinkError::Locked {
        url: output.root.object_url(&path),
        message: "could not take the output lock".into(),
    })
}

/// Releases a lock taken by [`acquire`] (a warning if it cannot be deleted).
pub async fn release(output: &Output, lock: &Lock) {
    if lock.taken
        && let Err(e) = output.store.delete(&lock.path).await
    {
        tracing::warn!("cannot remove the lock {}: {e}", lock.path);
    }
}

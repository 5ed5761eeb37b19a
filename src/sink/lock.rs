//! The output lease: one object, `<output>/_shoal/lock`, that keeps two
//! runs from writing one output at once.
//!
//! - It is created with a conditional put (create only if absent), so of
//!   two runs starting together exactly one gets it.
//! - It names its holder and when it expires (`output.lease`, default one
//!   minute); the holder renews it every third of that while it runs.
//! - Another run takes it over only once it has expired (or, on the same
//!   host, when its process is gone). The takeover is itself conditional:
//!   the taker first creates `lock.takeover.<lease id>`, which only one
//!   racer can, so two runs that both find a dead lease cannot both win.
//! - A holder that finds its lease gone or taken (it was paused past the
//!   expiry) stops committing: [`Lease::check`] fails, and each model's
//!   commit asks it first.
//!
//! On a store without conditional writes shoal runs unlocked and says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::{Output, SinkError};

/// What the lease object holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeaseBody {
    /// The run holding the output.
    pub run_id: String,
    /// Host name of its process.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it took the lease.
    pub acquired_at: DateTime<Utc>,
    /// Until when it holds it unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// A lease taken by [`acquire`]; renewed in the background until [`release`].
#[derive(Debug)]
pub struct Lease {
    path: Path,
    taken: bool,
    lost: Arc<AtomicBool>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    url: String,
}

/// Type kept for callers that name the output lock.
pub type Lock = Lease;

/// What a run's models ask before each commit: whether the run still
/// holds its lease.
#[derive(Debug, Clone)]
pub struct LeaseGuard {
    lost: Arc<AtomicBool>,
    url: String,
}

impl LeaseGuard {
    /// A guard that never fails (no lease is held).
    pub fn unheld() -> Self {
        Self {
            lost: Arc::new(AtomicBool::new(false)),
            url: String::new(),
        }
    }

    /// Fails when the lease was lost (expired and taken over, or deleted)
    /// while the run went on: nothing more may be committed.
    pub fn check(&self) -> Result<(), SinkError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(SinkError::Locked {
                url: self.url.clone(),
                message: "this run lost the output lease (it was paused past its expiry and another run took the output over); nothing more is committed: run it again".into(),
            });
        }
        Ok(())
    }
}

impl Lease {
    /// The guard the run's commits check.
    pub fn guard(&self) -> LeaseGuard {
        LeaseGuard {
            lost: Arc::clone(&self.lost),
            url: self.url.clone(),
        }
    }

    /// A lease that is not held (tests, dry runs).
    pub fn none() -> Self {
        Self {
            path: Path::from("_shoal/lock"),
            taken: false,
            lost: Arc::new(AtomicBool::new(false)),
            renewer: None,
            url: String::new(),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whether the lease's holder is certainly gone: expired, or on this host
/// with a process id that is ours or no longer runs.
fn is_dead(body: &LeaseBody, now: DateTime<Utc>, host: &str) -> bool {
    if body.expires_at < now {
        return true;
    }
    body.host == host
        && (body.pid == std::process::id()
            || !std::path::Path::new(&format!("/proc/{}", body.pid)).exists())
}

async fn read_body(store: &dyn ObjectStore, path: &Path) -> Option<LeaseBody> {
    read_lease(store, path).await.ok().flatten()
}

/// The lease object: `Ok(None)` when there is none, `Err(text)` when it
/// holds something that is not a lease.
async fn read_lease(store: &dyn ObjectStore, path: &Path) -> Result<Option<LeaseBody>, String> {
    let got = match store.get(path).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let bytes = got.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect())
}

async fn create(store: &dyn ObjectStore, path: &Path, bytes: Vec<u8>) -> object_store::Result<()> {
    store
        .put_opts(
            path,
            PutPayload::from(bytes),
            PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            },
        )
        .await
        .map(|_| ())
}

/// Takes the lease of `output` for `run_id` for `ttl`, or says who holds it.
pub async fn acquire(output: &Output, run_id: &str, ttl: Duration) -> Result<Lease, SinkError> {
    let path = output.meta_dir().prefix().join("lock");
    let url = output.root.object_url(&path);
    let host = host_name();
    let store = Arc::clone(&output.store);
    let body = |now: DateTime<Utc>| LeaseBody {
        run_id: run_id.to_string(),
        host: host.clone(),
        pid: std::process::id(),
        acquired_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(1)),
    };
    let storage = |e: object_store::Error| SinkError::Storage {
        url: url.clone(),
        message: e.to_string(),
    };
    for _ in 0..3 {
        let mine = body(Utc::now());
        match create(
            store.as_ref(),
            &path,
            serde_json::to_vec(&mine).expect("json"),
        )
        .await
        {
            Ok(()) => {
                let lost = Arc::new(AtomicBool::new(false));
                let renewer = tokio::spawn(renew(
                    Arc::clone(&store),
                    path.clone(),
                    mine,
                    ttl,
                    Arc::clone(&lost),
                ));
                return Ok(Lease {
                    path,
                    taken: true,
                    lost,
                    renewer: Some(renewer),
                    url,
                });
            }
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(object_store::Error::NotImplemented { .. }) => {
                tracing::warn!(
                    "the output store does not support conditional writes: running without a lease"
                );
                return Ok(Lease::none());
            }
            Err(e) => return Err(storage(e)),
        }
        let holder = match read_lease(store.as_ref(), &path).await {
            Ok(Some(h)) => h,
            Ok(None) => {
                // Released in between: try again.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(text) => {
                return Err(SinkError::Locked {
                    url,
                    message: format!(
                        "the output lease holds something that is not a lease ({text}); delete it once no shoal run writes this output"
                    ),
                });
            }
        };
        if !is_dead(&holder, Utc::now(), &host) {
            return Err(SinkError::Locked {
                url,
                message: format!(
                    "run {} (host {}, pid {}) holds the output lease until {} (renewed while it runs); wait for it to finish",
                    holder.run_id,
                    holder.host,
                    holder.pid,
                    holder.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
                ),
            });
        }
        // Take over a dead lease: only the run that creates the takeover
        // marker for this lease may delete it.
        let marker = output.meta_dir().prefix().join(
            format!(
                "lock.takeover.{}.{}",
                holder.run_id,
                holder.acquired_at.timestamp_micros()
            )
            .as_str(),
        );
        match create(store.as_ref(), &marker, run_id.as_bytes().to_vec()).await {
            Ok(()) => {
                tracing::warn!(
                    holder = %holder.run_id,
                    host = %holder.host,
                    "taking over the output lease of a run that is gone"
                );
                // The lease may have been renewed between the read and the
                // marker: delete it only if it is still the dead one.
                if read_body(store.as_ref(), &path).await.as_ref() == Some(&holder) {
                    match store.delete(&path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(storage(e)),
                    }
                }
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                return Err(SinkError::Locked {
                    url,
                    message: format!(
                        "another run is taking over the expired lease of run {}; wait for it to finish",
                        holder.run_id
                    ),
                });
            }
            Err(e) => return Err(storage(e)),
        }
    }
    Err(SinkError::Locked {
        url,
        message: "could not take the output lease; another run keeps taking it".into(),
    })
}

/// Renews the lease every third of `ttl` until aborted; marks it lost when
/// the object no longer is this run's.
async fn renew(
    store: Arc<dyn ObjectStore>,
    path: Path,
    mut body: LeaseBody,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    let every = (ttl / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        match read_body(store.as_ref(), &path).await {
            Some(current) if current.run_id == body.run_id => {}
            _ => {
                tracing::error!(run_id = %body.run_id, "the output lease was taken over or removed; this run commits nothing more");
                lost.store(true, Ordering::SeqCst);
                return;
            }
        }
        if body.expires_at < Utc::now() {
            // Renewed too late: another run may already have taken over.
            tracing::error!(run_id = %body.run_id, "the output lease expired before it was renewed; this run commits nothing more");
            lost.store(true, Ordering::SeqCst);
            return;
        }
        // The lease counts as renewed only once the store has the new
        // expiry: a renewal that fails leaves the old one in force.
        let mut renewed = body.clone();
        renewed.expires_at =
            Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(1));
        let put = store
            .put(
                &path,
                PutPayload::from(serde_json::to_vec(&renewed).expect("json")),
            )
            .await;
        match put {
            Ok(_) => body = renewed,
            Err(e) => tracing::warn!("cannot renew the output lease: {e}; retrying"),
        }
    }
}

/// Releases a lease taken by [`acquire`] (a warning if it cannot be deleted).
pub async fn release(output: &Output, lease: &mut Lease) {
    if let Some(r) = lease.renewer.take() {
        r.abort();
        let _ = r.await;
    }
    if !lease.taken || lease.lost.load(Ordering::SeqCst) {
        return;
    }
    if let Err(e) = output.store.delete(&lease.path).await {
        tracing::warn!("cannot remove the lease {}: {e}", lease.path);
    }
    // Takeover markers of leases that are long gone.
    let meta = output.meta_dir().prefix();
    if let Ok(list) = output
        .store
        .list_with_delimiter(Some(&meta))
        .await
        .map(|l| l.objects)
    {
        for o in list {
            if o.location
                .filename()
                .is_some_and(|f| f.starts_with("lock.takeover."))
            {
                let _ = output.store.delete(&o.location).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(host: &str, pid: u32, expires_in: i64) -> LeaseBody {
        let now = Utc::now();
        LeaseBody {
            run_id: "r".into(),
            host: host.into(),
            pid,
            acquired_at: now,
            expires_at: now + chrono::Duration::seconds(expires_in),
        }
    }

    #[test]
    fn a_lease_is_dead_when_expired_or_its_local_process_is_gone() {
        let now = Utc::now();
        // Expired: dead wherever it was taken.
        assert!(is_dead(&body("elsewhere", 1, -1), now, "here"));
        // Live lease on another host: never judged by pid.
        assert!(!is_dead(&body("elsewhere", 999_999_999, 60), now, "here"));
        // Same host, our own pid (a restarted container): not a live holder.
        assert!(is_dead(&body("here", std::process::id(), 60), now, "here"));
        // Same host, a pid that runs (1 always does).
        assert!(!is_dead(&body("here", 1, 60), now, "here"));
    }
}

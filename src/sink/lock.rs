//! The output lease: one object, `<output>/_shoal/lock`, that keeps two
//! runs from writing one output at once.
//!
//! - It is created with a conditional put (create only if absent), so of
//!   two runs starting together exactly one gets it.
//! - It names its holder, a generation, and when it expires (`output.lease`,
//!   default one minute); the holder renews it every third of that while it
//!   runs.
//! - Every change to a lease that exists — a renewal, the holder's release,
//!   another run's takeover — first *claims* its current generation by
//!   creating `lock.claim.<run id>.<acquired>.<generation>`, again with a
//!   conditional put. Only one claim per generation can succeed, so a
//!   renewal and a takeover that race cannot both win, two takers cannot
//!   both win, and a holder that lost its lease cannot delete or overwrite
//!   the lease of the run that took over. This needs nothing but
//!   create-if-absent, which local disk, S3, GCS and Azure all have.
//! - Another run takes it over only once it has expired (or, on the same
//!   host, when its process is gone). A holder writes a renewal only while
//!   a sixth of the lease is left, so once the lease has expired its own
//!   claim of the generation is void: takers then claim the next
//!   generation (a holder killed between its claim and its write, or one
//!   whose release could not delete the lease, cannot block the output).
//! - A holder stops committing as soon as its lease is lost or has expired
//!   by its own clock, renewed or not: [`LeaseGuard::check`] fails, and each
//!   model's commit asks it first. Expiry is judged by the clocks of the
//!   hosts involved, so they must roughly agree (well within a lease).
//!
//! On a store without conditional writes shoal runs unlocked and says so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// How many times it was renewed; each change claims the current one.
    #[serde(default)]
    pub generation: u64,
}

/// What the holder knows of its own lease, shared by the renewer, the
/// guards and the release.
#[derive(Debug)]
struct Held {
    lost: AtomicBool,
    /// The newest body the store accepted (none: no lease is held).
    body: Mutex<Option<LeaseBody>>,
}

impl Held {
    fn new(body: Option<LeaseBody>) -> Arc<Self> {
        Arc::new(Self {
            lost: AtomicBool::new(false),
            body: Mutex::new(body),
        })
    }

    fn body(&self) -> Option<LeaseBody> {
        self.body.lock().expect("lease state").clone()
    }

    fn holds(&self, now: DateTime<Utc>) -> bool {
        !self.lost.load(Ordering::SeqCst)
            && self
                .body
                .lock()
                .expect("lease state")
                .as_ref()
                .is_none_or(|b| now <= b.expires_at)
    }
}

/// A lease taken by [`acquire`]; renewed in the background until [`release`].
#[derive(Debug)]
pub struct Lease {
    path: Path,
    meta: Path,
    held: Arc<Held>,
    /// The run whose dead lease this one took over, if any.
    took_over: Option<String>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    url: String,
}

/// Type kept for callers that name the output lock.
pub type Lock = Lease;

/// What a run's models ask before each commit: whether the run still
/// holds its lease.
#[derive(Debug, Clone)]
pub struct LeaseGuard {
    held: Arc<Held>,
    url: String,
}

impl LeaseGuard {
    /// A guard that never fails (no lease is held).
    pub fn unheld() -> Self {
        Self {
            held: Held::new(None),
            url: String::new(),
        }
    }

    /// Fails when the lease was lost (taken over or deleted) or has expired
    /// without a renewal while the run went on: nothing more may be
    /// committed.
    pub fn check(&self) -> Result<(), SinkError> {
        if !self.held.holds(Utc::now()) {
            return Err(SinkError::Locked {
                url: self.url.clone(),
                message: "this run lost the output lease (it could not be renewed before it expired, or another run took the output over); nothing more is committed: run it again".into(),
            });
        }
        Ok(())
    }
}

impl Lease {
    /// The guard the run's commits check.
    pub fn guard(&self) -> LeaseGuard {
        LeaseGuard {
            held: Arc::clone(&self.held),
            url: self.url.clone(),
        }
    }

    /// A lease that is not held (tests, dry runs).
    pub fn none() -> Self {
        Self {
            path: Path::from("_shoal/lock"),
            meta: Path::from("_shoal"),
            held: Held::new(None),
            took_over: None,
            stop: None,
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

fn claim_path(meta: &Path, lease: &LeaseBody) -> Path {
    meta.clone().join(
        format!(
            "lock.claim.{}.{}.{}",
            lease.run_id,
            lease.acquired_at.timestamp_micros(),
            lease.generation
        )
        .as_str(),
    )
}

/// Claims `lease`'s current generation for the run `by` and returns who
/// holds the claim: `by` when this run made it (also when an earlier
/// attempt of it, whose answer was lost, did), else the run that did.
async fn claimant(
    store: &dyn ObjectStore,
    meta: &Path,
    lease: &LeaseBody,
    by: &str,
) -> object_store::Result<String> {
    let path = claim_path(meta, lease);
    match create(store, &path, by.as_bytes().to_vec()).await {
        Ok(()) => Ok(by.to_string()),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let got = store.get(&path).await?.bytes().await?;
            Ok(String::from_utf8_lossy(&got).into_owned())
        }
        Err(e) => Err(e),
    }
}

/// Whether the run `by` holds the claim of `lease`'s current generation.
async fn claim(
    store: &dyn ObjectStore,
    meta: &Path,
    lease: &LeaseBody,
    by: &str,
) -> object_store::Result<bool> {
    Ok(claimant(store, meta, lease, by).await? == by)
}

/// Claims a dead lease for the taker `by`. When its holder had claimed the
/// generation itself (it died between its claim and its write, or
/// released the lease but could not delete it), that claim is void — a
/// holder never writes a lease past its expiry — and takers contend for
/// the next generation instead, which the holder can no longer reach.
async fn claim_dead(
    store: &dyn ObjectStore,
    meta: &Path,
    holder: &LeaseBody,
    by: &str,
) -> object_store::Result<bool> {
    let owner = claimant(store, meta, holder, by).await?;
    if owner != holder.run_id {
        return Ok(owner == by);
    }
    let mut next = holder.clone();
    next.generation += 1;
    claim(store, meta, &next, by).await
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(1))
}

/// Takes the lease of `output` for `run_id` for `ttl`, or says who holds it.
pub async fn acquire(output: &Output, run_id: &str, ttl: Duration) -> Result<Lease, SinkError> {
    let meta = output.meta_dir().prefix();
    let path = meta.clone().join("lock");
    let url = output.root.object_url(&path);
    let host = host_name();
    let store = Arc::clone(&output.store);
    let storage = |e: object_store::Error| SinkError::Storage {
        url: url.clone(),
        message: e.to_string(),
    };
    let mut took_over = None;
    for _ in 0..3 {
        let now = Utc::now();
        let mine = LeaseBody {
            run_id: run_id.to_string(),
            host: host.clone(),
            pid: std::process::id(),
            acquired_at: now,
            expires_at: expiry(now, ttl),
            generation: 0,
        };
        let held = match create(
            store.as_ref(),
            &path,
            serde_json::to_vec(&mine).expect("json"),
        )
        .await
        {
            Ok(()) => Some(mine),
            Err(object_store::Error::AlreadyExists { .. }) => None,
            Err(object_store::Error::NotImplemented { .. }) => {
                tracing::warn!(
                    "the output store does not support conditional writes: running without a lease"
                );
                return Ok(Lease::none());
            }
            Err(e) => return Err(storage(e)),
        };
        let holder = match held {
            Some(mine) => {
                return Ok(start(store, path, meta, mine, ttl, took_over, url));
            }
            None => match read_lease(store.as_ref(), &path).await {
                Ok(Some(h)) if h.run_id == run_id => {
                    // Our own create, whose answer was lost and retried.
                    return Ok(start(store, path, meta, h, ttl, took_over, url));
                }
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
            },
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
        // Take over a dead lease: only the run that claims its generation
        // may delete it, and the holder cannot renew it any more.
        if !claim_dead(store.as_ref(), &meta, &holder, run_id)
            .await
            .map_err(storage)?
        {
            return Err(SinkError::Locked {
                url,
                message: format!(
                    "the lease of run {} expired, but that run renewed it or another run is taking it over at this moment; wait for it to finish",
                    holder.run_id
                ),
            });
        }
        tracing::warn!(
            holder = %holder.run_id,
            host = %holder.host,
            "taking over the output lease of a run that is gone"
        );
        // Nobody can change a claimed generation: delete it if it is still
        // there (the holder may have released it meanwhile).
        if read_lease(store.as_ref(), &path)
            .await
            .ok()
            .flatten()
            .as_ref()
            == Some(&holder)
        {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        took_over = Some(holder.run_id);
    }
    Err(SinkError::Locked {
        url,
        message: "could not take the output lease; another run keeps taking it".into(),
    })
}

fn start(
    store: Arc<dyn ObjectStore>,
    path: Path,
    meta: Path,
    mine: LeaseBody,
    ttl: Duration,
    took_over: Option<String>,
    url: String,
) -> Lease {
    let held = Held::new(Some(mine));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let renewer = tokio::spawn(renew(
        store,
        path.clone(),
        meta.clone(),
        ttl,
        Arc::clone(&held),
        stopped,
    ));
    Lease {
        path,
        meta,
        held,
        took_over,
        stop: Some(stop),
        renewer: Some(renewer),
        url,
    }
}

/// What one renewal attempt came to.
#[derive(Debug, PartialEq)]
enum Renewal {
    Renewed,
    /// The lease is no longer this run's: why.
    Lost(&'static str),
    /// The store failed; the old expiry stays in force.
    Failed(String),
}

/// Renews the lease once: claims its generation, then writes the next one.
async fn renew_once(
    store: &dyn ObjectStore,
    path: &Path,
    meta: &Path,
    held: &Held,
    ttl: Duration,
) -> Renewal {
    let Some(body) = held.body() else {
        return Renewal::Lost("no lease is held");
    };
    // A renewal is written well before the expiry or not at all: a taker
    // may claim the next generation once the lease has expired.
    let margin = chrono::Duration::from_std(ttl / 6).unwrap_or(chrono::Duration::seconds(10));
    if !held.holds(Utc::now() + margin) {
        return Renewal::Lost("the lease expired before it was renewed");
    }
    match claim(store, meta, &body, &body.run_id).await {
        Ok(true) => {}
        Ok(false) => return Renewal::Lost("another run took the lease over"),
        Err(e) => return Renewal::Failed(e.to_string()),
    }
    if !held.holds(Utc::now() + margin) {
        return Renewal::Lost("the lease expired before it was renewed");
    }
    // This run holds the claim of its generation: nobody else can change
    // the lease before it expires, so a plain put is safe (and can be
    // retried).
    let mut next = body.clone();
    next.generation += 1;
    next.expires_at = expiry(Utc::now(), ttl);
    match store
        .put(
            path,
            PutPayload::from(serde_json::to_vec(&next).expect("json")),
        )
        .await
    {
        Ok(_) => {
            *held.body.lock().expect("lease state") = Some(next);
            Renewal::Renewed
        }
        Err(e) => Renewal::Failed(e.to_string()),
    }
}

/// Renews the lease every third of `ttl` until told to stop; marks it lost
/// when it is no longer this run's.
async fn renew(
    store: Arc<dyn ObjectStore>,
    path: Path,
    meta: Path,
    ttl: Duration,
    held: Arc<Held>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = (ttl / 3).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match renew_once(store.as_ref(), &path, &meta, &held, ttl).await {
            Renewal::Renewed => {}
            Renewal::Lost(why) => {
                tracing::error!("{why}; this run commits nothing more");
                held.lost.store(true, Ordering::SeqCst);
                return;
            }
            Renewal::Failed(e) => tracing::warn!("cannot renew the output lease: {e}; retrying"),
        }
    }
}

/// Releases a lease taken by [`acquire`] (a warning if it cannot be deleted).
pub async fn release(output: &Output, lease: &mut Lease) {
    if let Some(stop) = lease.stop.take() {
        let _ = stop.send(true);
    }
    if let Some(r) = lease.renewer.take() {
        // The renewer finishes the renewal it is in, so no put of it can
        // land after the lease is deleted.
        let _ = r.await;
    }
    let Some(body) = lease.held.body() else {
        return;
    };
    if lease.held.lost.load(Ordering::SeqCst) {
        return;
    }
    let store = output.store.as_ref();
    match claim(store, &lease.meta, &body, &body.run_id).await {
        Ok(true) => {
            if let Err(e) = store.delete(&lease.path).await {
                tracing::warn!("cannot remove the lease {}: {e}", lease.path);
            }
        }
        Ok(false) => {
            tracing::warn!("the output lease was taken over by another run before this one ended");
        }
        Err(e) => tracing::warn!("cannot release the output lease {}: {e}", lease.path),
    }
    // Claims of this run's lease and of the one it took over.
    let mine: Vec<String> = std::iter::once(&body.run_id)
        .chain(lease.took_over.as_ref())
        .map(|r| format!("lock.claim.{r}."))
        .collect();
    if let Ok(list) = store
        .list_with_delimiter(Some(&lease.meta))
        .await
        .map(|l| l.objects)
    {
        for o in list {
            if o.location
                .filename()
                .is_some_and(|f| mine.iter().any(|m| f.starts_with(m.as_str())))
            {
                let _ = store.delete(&o.location).await;
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
            generation: 0,
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

    fn store_with(lease: &LeaseBody) -> (object_store::memory::InMemory, Path, Path) {
        let store = object_store::memory::InMemory::new();
        let meta = Path::from("_shoal");
        let path = meta.clone().join("lock");
        futures::executor::block_on(
            store.put(&path, PutPayload::from(serde_json::to_vec(lease).unwrap())),
        )
        .unwrap();
        (store, path, meta)
    }

    fn stored(store: &object_store::memory::InMemory, path: &Path) -> LeaseBody {
        futures::executor::block_on(read_lease(store, path))
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_renewal_claims_its_generation_so_a_late_taker_cannot_win() {
        let mine = body("here", 1, 60);
        let (store, path, meta) = store_with(&mine);
        let held = Held::new(Some(mine.clone()));
        let ttl = Duration::from_secs(60);
        assert_eq!(
            renew_once(&store, &path, &meta, &held, ttl).await,
            Renewal::Renewed
        );
        // Generation 0 is claimed by the holder, and the store has 1.
        assert_eq!(stored(&store, &path).generation, 1);
        // A taker that read generation 0 before the renewal loses its claim.
        assert!(!claim(&store, &meta, &mine, "taker").await.unwrap());
        // The holder's retried claim (a lost answer) is still its own.
        assert!(claim(&store, &meta, &mine, &mine.run_id).await.unwrap());
        assert_eq!(
            renew_once(&store, &path, &meta, &held, ttl).await,
            Renewal::Renewed
        );
        assert_eq!(stored(&store, &path).generation, 2);
    }

    #[tokio::test]
    async fn a_taker_that_claims_first_makes_the_renewal_lose() {
        let mine = body("here", 1, 60);
        let (store, path, meta) = store_with(&mine);
        let held = Held::new(Some(mine.clone()));
        // Another run claims the generation the holder is about to renew.
        assert!(claim(&store, &meta, &mine, "taker").await.unwrap());
        assert_eq!(
            renew_once(&store, &path, &meta, &held, Duration::from_secs(60)).await,
            Renewal::Lost("another run took the lease over")
        );
        // The holder wrote nothing: the lease the taker claimed is intact.
        assert_eq!(stored(&store, &path), mine);
    }

    #[tokio::test]
    async fn an_expired_lease_is_neither_renewed_nor_committed_under() {
        let mine = body("here", 1, -1);
        let (store, path, meta) = store_with(&mine);
        let held = Held::new(Some(mine.clone()));
        let guard = LeaseGuard {
            held: Arc::clone(&held),
            url: String::new(),
        };
        // Expired by the holder's own clock, before anyone took it over.
        assert!(guard.check().is_err());
        assert_eq!(
            renew_once(&store, &path, &meta, &held, Duration::from_secs(60)).await,
            Renewal::Lost("the lease expired before it was renewed")
        );
        assert!(LeaseGuard::unheld().check().is_ok());
    }

    #[tokio::test]
    async fn a_holder_that_died_after_its_claim_does_not_block_the_output() {
        // The holder claimed generation 0 to renew it, then died.
        let dead = body("elsewhere", 1, -1);
        let (store, _path, meta) = store_with(&dead);
        assert!(claim(&store, &meta, &dead, &dead.run_id).await.unwrap());
        // One of two takers wins, through the next generation.
        assert!(claim_dead(&store, &meta, &dead, "taker-1").await.unwrap());
        assert!(!claim_dead(&store, &meta, &dead, "taker-2").await.unwrap());
        // A lease claimed by a taker stays that taker's.
        let other = body("elsewhere", 2, -1);
        let (store, _path, meta) = store_with(&other);
        assert!(claim(&store, &meta, &other, "taker-1").await.unwrap());
        assert!(!claim_dead(&store, &meta, &other, "taker-2").await.unwrap());
    }
}

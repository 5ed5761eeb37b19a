//! `shoal scheduler` and `shoal executor`: a Ballista cluster with shoal's
//! functions and object stores.

use crate::catalog::Stores;
use crate::cli::args::{ExecutorArgs, Global};
use crate::distributed::{self, ExecutorOptions, SchedulerOptions};
use crate::{Error, ExitStatus, Result};

/// The object stores a Ballista scheduler or executor opens, from the
/// `storage:` section of the config (every other section is the client's).
/// Without a config file, object_store's defaults and the environment.
fn cluster_stores(g: &Global) -> Result<Stores> {
    let path = g.project_dir.join(&g.config);
    let storage = if path.exists() {
        crate::config::load_config(&path, &g.project_dir, &g.set)?
            .config
            .storage
    } else {
        tracing::warn!(
            "{}: no config file; object stores use their defaults and the environment (AWS_*, GOOGLE_*, AZURE_*)",
            path.display()
        );
        Default::default()
    };
    Ok(Stores::new(storage))
}

pub async fn scheduler(
    g: &Global,
    bind: std::net::SocketAddr,
    external_host: String,
) -> Result<ExitStatus> {
    let stores = cluster_stores(g)?;
    let opts = SchedulerOptions {
        bind,
        external_host,
    };
    distributed::start_scheduler(stores, opts)
        .await
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(ExitStatus::Success)
}

pub async fn executor(g: &Global, a: ExecutorArgs) -> Result<ExitStatus> {
    let (host, sched_port) = a
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            Error::Usage(format!("--scheduler {:?}: expected HOST:PORT", a.scheduler))
        })?;
    let memory_pool_bytes = match &g.memory_limit {
        Some(m) => Some(crate::config::parse_size(m).ok_or_else(|| {
            Error::Usage(format!("--memory-limit {m:?}: expected a size like 8GiB"))
        })? as u64),
        None => None,
    };
    let stores = cluster_stores(g)?;
    let opts = ExecutorOptions {
        scheduler_host: host,
        scheduler_port: sched_port,
        bind_host: a.bind_host,
        external_host: a.external_host,
        port: a.port,
        grpc_port: a.grpc_port,
        vcores: a.vcores,
        work_dir: a.work_dir,
        memory_pool_bytes,
    };
    distributed::start_executor(stores, opts)
        .await
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(ExitStatus::Success)
}

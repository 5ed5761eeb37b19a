//! A real S3-compatible server for tests (moto's `moto_server`, from the
//! environment `.ci/pyenv` creates), a fault-injecting HTTP proxy in front
//! of it, and helpers to mirror a bucket prefix to local disk and compare
//! output warehouses table by table.
//!
//! The proxy sits *below* object_store's HTTP client, so a 503 it returns is
//! retried by object_store's own `RetryConfig` (configured from
//! `storage.retry`) exactly as a 503 from AWS would be.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;

/// Access key id the tests use against moto (moto accepts any credentials).
pub const KEY_ID: &str = "shoaltestkeyid";
/// Secret the tests use unless a test sets its own.
pub const SECRET: &str = "shoal-test-secret-not-distinctive";

/// A `moto_server` child process on 127.0.0.1; killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    log: PathBuf,
    /// With [`Moto::start_with_auth`]: the file of `KEYID STATUS METHOD PATH`
    /// lines, one per request.
    record: Option<PathBuf>,
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

pub fn python() -> PathBuf {
    let out = Command::new(crate::common::repo_root().join(".ci/pyenv"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!(".ci/pyenv: cannot run it: {e}"));
    assert!(
        out.status.success(),
        ".ci/pyenv failed ({}); it creates the Python environment with moto's S3 server \
         (needs python3 and network access to PyPI the first time)",
        out.status
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Moto {
    /// Starts moto_server on a free port and waits until it answers HTTP.
    /// Fails the test (in CI and locally alike) when it cannot start: these
    /// tests are the only ones that exercise a real S3 API.
    pub fn start() -> Self {
        let py = python();
        let server = py.with_file_name("moto_server");
        assert!(
            server.exists(),
            "{}: not found; rerun .ci/pyenv (it installs moto[server])",
            server.display()
        );
        let log = std::env::temp_dir().join(format!(
            "shoal-moto-{}-{:?}.log",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut last_log = String::new();
        for attempt in 0..3 {
            let port = free_port();
            let logfile = std::fs::File::create(&log).unwrap();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(logfile.try_clone().unwrap())
                .stderr(logfile)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: cannot start: {e}", server.display()));
            let mut moto = Moto {
                child,
                port,
                log: log.clone(),
                record: None,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = moto.child.try_wait() {
                    eprintln!(
                        "moto_server exited ({status}) on attempt {attempt}:\n{}",
                        moto.log_text()
                    );
                    break;
                }
                if http(port, "GET", "/", &[]).is_ok_and(|(code, _)| code == 200) {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // Dropping it kills it; try another port.
            last_log = moto.log_text();
            drop(moto);
        }
        panic!("moto_server did not start on 127.0.0.1 (3 attempts, 30 s each); log:\n{last_log}");
    }

    /// An S3 server that admits only given credentials
    /// (`tests/py/s3_auth_server.py`): moto behind a filter that checks each
    /// request's SigV4 signature, `keys` (id, secret) and the tests' own
    /// `KEY_ID` the only ones it accepts (403 otherwise), `buckets` created
    /// before. Every request's access key id is recorded
    /// ([`Moto::key_ids_seen`]).
    pub fn start_with_auth(buckets: &[&str], keys: &[(&str, &str)]) -> Self {
        let py = python();
        let script = crate::common::repo_root().join("tests/py/s3_auth_server.py");
        let id = format!("{}-{:?}", std::process::id(), std::thread::current().id());
        let log = std::env::temp_dir().join(format!("shoal-moto-auth-{id}.log"));
        let record = std::env::temp_dir().join(format!("shoal-moto-auth-{id}.keys"));
        let mut last_log = String::new();
        for attempt in 0..3 {
            let _ = std::fs::remove_file(&record);
            let port = free_port();
            let logfile = std::fs::File::create(&log).unwrap();
            let mut cmd = Command::new(&py);
            cmd.arg(&script)
                .args(["--port", &port.to_string(), "--record"])
                .arg(&record);
            for b in buckets {
                cmd.args(["--bucket", b]);
            }
            // The tests' own client ([`mirror`]) signs with KEY_ID.
            for (id, secret) in keys.iter().chain(&[(KEY_ID, SECRET)]) {
                cmd.args(["--key", &format!("{id}:{secret}")]);
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(logfile.try_clone().unwrap())
                .stderr(logfile)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: cannot start: {e}", script.display()));
            let mut moto = Moto {
                child,
                port,
                log: log.clone(),
                record: Some(record.clone()),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = moto.child.try_wait() {
                    eprintln!(
                        "s3_auth_server exited ({status}) on attempt {attempt}:\n{}",
                        moto.log_text()
                    );
                    break;
                }
                if moto.log_text().lines().any(|l| l == "ready") {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last_log = moto.log_text();
            drop(moto);
        }
        panic!("s3_auth_server did not start (3 attempts); log:\n{last_log}");
    }

    /// With [`Moto::start_with_auth`]: `(access key id, HTTP status)` of every
    /// request so far (`-` for an unsigned one).
    pub fn key_ids_seen(&self) -> Vec<(String, u16)> {
        let path = self.record.as_ref().expect("started with start_with_auth");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split(' ');
                Some((f.next()?.to_string(), f.next()?.parse().ok()?))
            })
            .collect()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub fn create_bucket(&self, bucket: &str) {
        let (code, body) = http(self.port, "PUT", &format!("/{bucket}"), &[]).unwrap();
        assert_eq!(code, 200, "creating bucket {bucket}: {body}");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One plain HTTP/1.1 request; returns status and body.
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    Ok((code, body.to_string()))
}

/// Which requests a fault rule hits.
#[derive(Debug, Clone)]
pub struct Rule {
    /// HTTP methods (`GET`, `PUT`, …).
    pub methods: Vec<&'static str>,
    /// Substring of the request target (path and query; keys in queries are %-encoded,
    /// so `/warehouse/` matches objects, not listings).
    pub path_contains: String,
    /// Only requests carrying this header (lowercase name), e.g. `x-amz-copy-source` for copies.
    pub header: Option<&'static str>,
    /// Let this many matching requests through first.
    pub skip: usize,
    /// Faults to inject; `None` = every matching request (a permanent fault).
    pub times: Option<usize>,
    /// Status to answer with (503 SlowDown by default).
    pub status: u16,
    /// Instead of answering: hold the request this long, then drop the
    /// connection without a response (a timeout, when longer than the
    /// client's `storage.s3.timeout`).
    pub stall: Option<Duration>,
}

impl Rule {
    /// `times` transient 503s on requests of `methods` whose path contains `path`.
    pub fn transient(methods: &[&'static str], path: &str, times: usize) -> Self {
        Rule {
            methods: methods.to_vec(),
            path_contains: path.to_string(),
            header: None,
            skip: 0,
            times: Some(times),
            status: 503,
            stall: None,
        }
    }

    /// A 503 on every request of `methods` whose path contains `path`.
    pub fn permanent(methods: &[&'static str], path: &str) -> Self {
        Rule {
            times: None,
            ..Rule::transient(methods, path, 0)
        }
    }

    fn matches(&self, method: &str, path: &str, headers: &str) -> bool {
        self.methods.contains(&method)
            && path.contains(&self.path_contains)
            && self
                .header
                .is_none_or(|h| headers.contains(&format!("\r\n{h}:")))
    }
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<(Rule, usize, usize)>, // rule, seen, injected
    log: Vec<String>,
}

/// An HTTP proxy in front of moto that answers chosen requests with an
/// error instead of forwarding them. One request per connection (it answers
/// `Connection: close`), which keeps it simple and lets hyper open a fresh
/// connection for every retry, as it would after a real 503.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state: Arc<Mutex<ProxyState>> = Default::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &st);
                });
            }
        });
        FaultProxy { port, state, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the fault rules (counters restart).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        let mut s = self.state.lock().unwrap();
        s.rules = rules.into_iter().map(|r| (r, 0, 0)).collect();
        s.log.clear();
    }

    /// Faults injected per rule, in rule order.
    pub fn injected(&self) -> Vec<usize> {
        self.state
            .lock()
            .unwrap()
            .rules
            .iter()
            .map(|r| r.2)
            .collect()
    }

    /// `METHOD path -> fate` for every request since the rules were set.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<String>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Ok(Some(head));
        }
    }
}

/// Removes `Connection:` headers and adds `Connection: close`.
fn force_close(head: &str) -> String {
    let mut out = String::new();
    for line in head.split_inclusive("\r\n") {
        if line == "\r\n" {
            out.push_str("Connection: close\r\n\r\n");
        } else if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
        }
    }
    out
}

fn serve(client: TcpStream, upstream: u16, state: &Mutex<ProxyState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    let lower = head.to_ascii_lowercase();
    let mut parts = head.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let len: usize = lower
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        !lower.contains("transfer-encoding: chunked"),
        "fault proxy: chunked request bodies are not supported: {method} {target}"
    );
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let fault = {
        let mut s = state.lock().unwrap();
        let mut fault = None;
        for (rule, seen, injected) in s.rules.iter_mut() {
            if !rule.matches(&method, &target, &lower) {
                continue;
            }
            *seen += 1;
            if *seen > rule.skip && rule.times.is_none_or(|t| *injected < t) {
                *injected += 1;
                fault = Some((rule.status, rule.stall));
                break;
            }
        }
        s.log.push(format!(
            "{method} {target} -> {}",
            match fault {
                None => "forwarded".to_string(),
                Some((_, Some(d))) => format!("stalled {d:?}"),
                Some((c, None)) => c.to_string(),
            }
        ));
        fault
    };
    let mut client = client;
    if let Some((_, Some(stall))) = fault {
        std::thread::sleep(stall);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    if let Some((code, None)) = fault {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>\
                   <Message>injected by the test's fault proxy</Message></Error>";
        let reason = if code == 503 {
            "Service Unavailable"
        } else {
            "Error"
        };
        write!(
            client,
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        )?;
        client.flush()?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(force_close(&head).as_bytes())?;
    up.write_all(&body)?;
    up.flush()?;
    let mut up_reader = BufReader::new(up);
    let Some(resp_head) = read_head(&mut up_reader)? else {
        return Ok(());
    };
    client.write_all(force_close(&resp_head).as_bytes())?;
    let mut rest = Vec::new();
    up_reader.read_to_end(&mut rest)?;
    client.write_all(&rest)?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Config text for a project whose sources and output are in `bucket` on
/// an S3 endpoint, with short retries so permanent faults surface fast.
pub fn s3_config(endpoint: &str, bucket: &str, data_prefix: &str, extra_s3: &str) -> String {
    crate::common::CONFIG
        .replace(
            "location: data/events",
            &format!("location: s3://{bucket}/{data_prefix}/events"),
        )
        .replace(
            "location: data/users",
            &format!("location: s3://{bucket}/{data_prefix}/users"),
        )
        .replace(
            "location: data/deletions",
            &format!("location: s3://{bucket}/{data_prefix}/deletions"),
        )
        .replace(
            "output: { location: warehouse }\n",
            &s3_output(endpoint, bucket, extra_s3),
        )
}

/// The `output:` and `storage:` keys of a project whose output is
/// `s3://bucket/warehouse` on an S3 endpoint, with short retries.
pub fn s3_output(endpoint: &str, bucket: &str, extra_s3: &str) -> String {
    format!(
        "output: {{ location: s3://{bucket}/warehouse }}\n\
         storage:\n  s3: {{ endpoint: \"{endpoint}\", allow_http: \"true\", region: us-east-1{extra_s3} }}\n  \
         retry: {{ max_retries: 4, initial_backoff_ms: 10, max_backoff_ms: 100, timeout_secs: 20 }}\n"
    )
}

/// The storage options a Python `deltalake` reader needs for the server.
pub fn delta_rs_storage_options(port: u16) -> String {
    serde_json::json!({
        "AWS_ENDPOINT_URL": format!("http://127.0.0.1:{port}"),
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    })
    .to_string()
}

/// Runs the binary with `--config` and S3 credentials in the environment.
pub fn shoal_s3(
    p: &crate::common::TempProject,
    config: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> crate::common::Run {
    let mut cmd = crate::common::shoal_command();
    cmd.args(args)
        .arg("--project-dir")
        .arg(p.path())
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .current_dir(p.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if !args.contains(&"--log-format") {
        cmd.args(["--log-format", "text"]);
    }
    let out = cmd.output().expect("run shoal");
    crate::common::Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        out,
        dir: p.path().to_path_buf(),
    }
}

/// An S3 client of `bucket` on the server with the test credentials, and
/// a runtime to drive it.
pub fn test_client(
    port: u16,
    bucket: &str,
) -> (object_store::aws::AmazonS3, tokio::runtime::Runtime) {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(KEY_ID)
        .with_secret_access_key(SECRET)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (store, rt)
}

/// A put-if-absent (`If-None-Match: *`) of `key` on the server: whether
/// it created the object (`false`: it existed and the server refused).
pub fn create_if_absent(port: u16, bucket: &str, key: &str) -> bool {
    use object_store::{ObjectStore, PutMode, PutOptions};
    let (store, rt) = test_client(port, bucket);
    rt.block_on(async {
        let put = store
            .put_opts(
                &object_store::path::Path::from(key),
                "{}".into(),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await;
        match put {
            Ok(_) => true,
            Err(object_store::Error::AlreadyExists { .. }) => false,
            Err(e) => panic!("PUT s3://{bucket}/{key} with If-None-Match: {e}"),
        }
    })
}

/// Downloads every object under `s3://bucket/prefix/` into `to` (with
/// object_store and the test credentials) and returns the keys.
pub fn mirror(port: u16, bucket: &str, prefix: &str, to: &Path) -> Vec<String> {
    use futures::TryStreamExt;
    use object_store::{ObjectStore, ObjectStoreExt};
    let (store, rt) = test_client(port, bucket);
    let _ = std::fs::remove_dir_all(to);
    rt.block_on(async {
        let prefix = object_store::path::Path::from(prefix);
        let metas: Vec<_> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("listing s3://{bucket}/{prefix}: {e}"));
        let mut keys = Vec::new();
        for m in metas {
            let rel = m
                .location
                .prefix_match(&prefix)
                .unwrap()
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/");
            let got = match store.get(&m.location).await {
                Ok(r) => r.bytes().await,
                Err(e) => Err(e),
            };
            let bytes = got.unwrap_or_else(|e| panic!("GET s3://{bucket}/{}: {e}", m.location));
            let dest = to.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(&dest, &bytes).unwrap();
            keys.push(m.location.to_string());
        }
        keys.sort();
        keys
    })
}

/// Every file (relative path) under a directory, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

/// The model tables of a warehouse directory: every top-level dir but
/// `_shoal` that holds a Delta log or Parquet files (a run killed before
/// its first commit can leave a directory with neither).
pub fn tables_in(warehouse: &Path) -> Vec<String> {
    let is_table = |dir: &Path| {
        dir.join("_delta_log").is_dir() || files_under(dir).iter().any(|f| f.ends_with(".parquet"))
    };
    let mut out: Vec<String> = std::fs::read_dir(warehouse)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir() && is_table(&e.path()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A table's schema and rows as text: one line per row, rows sorted, floats
/// to 12 significant digits (parallel sums may differ in the last bits).
pub fn table_text(dir: &Path) -> (String, Vec<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        crate::common::register_table_dir(&ctx, "t", dir).await;
        let df = ctx.sql("select * from t").await.unwrap();
        let schema = df
            .schema()
            .fields()
            .iter()
            .map(|f| format!("{}:{}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ");
        let batches = df.collect().await.unwrap();
        let mut lines = batch_lines(&batches);
        lines.sort();
        (schema, lines)
    })
}

fn batch_lines(batches: &[RecordBatch]) -> Vec<String> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Float64Type;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = vec![];
    for b in batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .zip(&fmts)
                .map(|(c, fm)| match c.data_type() {
                    DataType::Float64 if !c.is_null(r) => {
                        format!("{:.11e}", c.as_primitive::<Float64Type>().value(r))
                    }
                    _ => fm.value(r).to_string(),
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

/// Every table of a warehouse as (schema, sorted rows).
pub fn warehouse_tables(warehouse: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    tables_in(warehouse)
        .into_iter()
        .map(|t| {
            let text = table_text(&warehouse.join(&t));
            (t, text)
        })
        .collect()
}

/// Asserts two warehouses hold the same tables with the same rows; names the
/// first difference.
pub fn assert_same_tables(
    what: &str,
    expected: &BTreeMap<String, (String, Vec<String>)>,
    actual: &BTreeMap<String, (String, Vec<String>)>,
) {
    let names = |m: &BTreeMap<String, (String, Vec<String>)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{what}: table names differ");
    for (t, (schema, rows)) in expected {
        let (a_schema, a_rows) = &actual[t];
        assert_eq!(a_schema, schema, "{what}: schema of {t} differs");
        if a_rows != rows {
            let missing: Vec<_> = rows
                .iter()
                .filter(|r| !a_rows.contains(r))
                .take(3)
                .collect();
            let extra: Vec<_> = a_rows
                .iter()
                .filter(|r| !rows.contains(r))
                .take(3)
                .collect();
            let mut repeated: Vec<_> = a_rows
                .windows(2)
                .filter(|w| w[0] == w[1])
                .map(|w| &w[0])
                .collect();
            repeated.dedup();
            panic!(
                "{what}: table {t}: {} rows expected, {} found\nmissing (first 3): {missing:#?}\nunexpected (first 3): {extra:#?}\n\
                 {} distinct rows appear more than once (a doubled partition?), e.g. {:?}",
                rows.len(),
                a_rows.len(),
                repeated.len(),
                repeated.first()
            );
        }
    }
}

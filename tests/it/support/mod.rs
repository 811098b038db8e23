//! Test support shared by every module: the `gaptrack` binary and what it printed,
//! snapshots of directories, child processes with time limits, the loopback S3 (moto)
//! and Azure (Azurite) servers, and the few raw HTTP calls that set them up.
//!
//! The servers are found through environment variables that `.ci/run` exports:
//! `GAPTRACK_MOTO` (moto's `moto_server`) and `GAPTRACK_AZURITE` (`azurite-blob`). They
//! listen on a free port of 127.0.0.1 only and are killed when the test ends.

#![allow(dead_code)]

mod put_filter;
pub use put_filter::{take_one, PutFilter, PutFiltered};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The `gaptrack` binary, without a store from the environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gaptrack"));
    c.env_remove("GAPTRACK_STORE");
    c
}

/// `gaptrack --store STORE ARGS…`, run to its end.
pub fn run(store: &Path, args: &[&str]) -> std::process::Output {
    bin().arg("--store").arg(store).args(args).output().unwrap()
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The fixture waves of tests/data/fixture/ (three waves, specs and data).
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture")
}

/// Copies the fixture waves into `dir` so a test may edit them.
pub fn copy_fixture(dir: &Path) {
    for e in std::fs::read_dir(fixture()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// A copy of the fixture waves in `tmp/data`, for a test that edits them.
pub fn fixture_copy(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    std::fs::create_dir(&data).unwrap();
    copy_fixture(&data);
    data
}

/// `gaptrack ingest` of the waves 2019, 2020 and 2021 of `dir` into `store`.
pub fn ingest_all(store: &Path, dir: &Path) -> std::process::Output {
    ingest_waves(store, dir, &["2019", "2020", "2021"])
}

/// The score waves (disagree codes, themes; tests/reference/make_score_reference.py).
pub const SCORE_WAVES: [&str; 5] = ["s2020-published", "s2021", "s2022", "s2023", "s2024"];

pub fn scores() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scores")
}

/// The panel waves: some respondents in several of them (tests/reference/make_panel_waves.py).
pub const PANEL_WAVES: [&str; 4] = ["p2021", "p2022", "p2023", "p2024"];

pub fn panel() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/panel")
}

/// `gaptrack ingest` of the waves `<dir>/<id>.toml` into `store`, in one command.
pub fn ingest_waves(store: &Path, dir: &Path, waves: &[&str]) -> std::process::Output {
    let mut args = vec!["ingest".to_string()];
    for w in waves {
        args.push(dir.join(format!("{w}.toml")).display().to_string());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(store, &a)
}

/// Publishes the report of `store` to `out` (`report --out OUT ARGS…`), which must
/// succeed; what it wrote, for a test that checks a later command leaves it as it was.
pub fn publish(
    store: &Path,
    out: &Path,
    args: &[&str],
) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut a = vec!["report", "--out", out.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = run(store, &a);
    assert!(o.status.success(), "{}", stderr(&o));
    snapshot(out)
}

/// A command that must be refused: it exited `code`, its standard error says each of
/// `says`, and the publication `out` is still `good` byte for byte.
pub fn assert_refused(
    o: &std::process::Output,
    code: i32,
    says: &[&str],
    out: &Path,
    good: &std::collections::BTreeMap<PathBuf, Option<Vec<u8>>>,
) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    for s in says {
        assert!(stderr(o).contains(s), "{s:?} not in {}", stderr(o));
    }
    assert_eq!(&snapshot(out), good, "the publication changed");
}

/// Every file (with its bytes) and directory (`None`) under `dir`: a store or an output
/// directory is "unchanged" when this is equal.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), None);
                stack.push(p);
            } else {
                out.insert(p.clone(), Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// What a finished process printed.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A running process whose output is collected in the background.
pub struct Running {
    child: Child,
    what: String,
    started: Instant,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = r.read_to_end(&mut b);
        b
    })
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let what = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Running {
            child,
            what,
            started: Instant::now(),
            out,
            err,
        }
    }

    /// Waits at most `limit`; a process still running then is killed and the test fails.
    pub fn wait(mut self, limit: Duration) -> Out {
        let status = wait_with_limit(&mut self.child, limit)
            .unwrap_or_else(|| panic!("killed after {limit:?}: {}", self.what));
        let seconds = self.started.elapsed().as_secs_f64();
        let stdout = self
            .out
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        Out {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            seconds,
        }
    }
}

impl Running {
    /// Sends SIGKILL (`kill -9`: no handler, no cleanup) if the process still runs, and
    /// collects its output. Returns whether it was still running, i.e. whether it was
    /// killed.
    pub fn kill9(mut self) -> (bool, Out) {
        let running = matches!(self.child.try_wait(), Ok(None));
        if running {
            // std's Child::kill sends SIGKILL on Unix.
            let _ = self.child.kill();
        }
        (running, self.wait(Duration::from_secs(30)))
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait for a child") {
            return Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Time limit of one gaptrack command in these tests.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// The gaptrack binary with a clean environment for cloud access: no inherited cloud
/// credentials, endpoints or proxies (so that nothing is sent off the machine), then
/// `env`.
pub fn gaptrack(env: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gaptrack"));
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let u = k.to_ascii_uppercase();
        if [
            "AWS_",
            "AZURE_",
            "AZURITE_",
            "GOOGLE_",
            "GAPTRACK_",
            "OBJECT_STORE_",
        ]
        .iter()
        .any(|p| u.starts_with(p))
            || u.ends_with("_PROXY")
        {
            c.env_remove(k);
        }
    }
    c.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs a gaptrack command to its end (bounded by [`COMMAND_LIMIT`]).
pub fn run_gaptrack(env: &[(String, String)], args: &[&str]) -> Out {
    let mut c = gaptrack(env);
    c.args(args);
    Running::spawn(c).wait(COMMAND_LIMIT)
}

// --- Servers -------------------------------------------------------------------------------

/// A server process on 127.0.0.1:`port`, killed when dropped.
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A port of 127.0.0.1 that is free now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The program an environment variable names; the test fails with `how` when it is
/// missing.
fn tool(var: &str, how: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
        Some(p) => panic!(
            "{var}={} does not name a file. {how}",
            Path::new(&p).display()
        ),
        None => panic!("{var} is not set. {how}"),
    }
}

/// Starts `program args…` (with `{port}` and `{dir}` substituted) on a free port and waits
/// until it accepts connections (at most 60 s); tries three ports.
fn start(name: &'static str, program: &Path, args: &[&str]) -> Server {
    let mut last = String::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("server dir");
        let port = free_port();
        let log = dir.path().join(format!("{name}.log"));
        let logf = std::fs::File::create(&log).expect("server log");
        let mut cmd = Command::new(program);
        for a in args {
            cmd.arg(
                a.replace("{port}", &port.to_string())
                    .replace("{dir}", &dir.path().display().to_string()),
            );
        }
        cmd.stdin(Stdio::null())
            .stdout(logf.try_clone().expect("log"))
            .stderr(logf)
            .env("NO_PROXY", "127.0.0.1,localhost");
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", program.display()));
        let mut server = Server {
            name,
            port,
            child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                last = format!(
                    "{name} exited ({status}) before it listened: {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
                break;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return server;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{name} did not listen on {addr} within 60 s: {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("{last}")
}

/// moto's S3 server (`GAPTRACK_MOTO`).
pub fn moto() -> Server {
    let program = tool(
        "GAPTRACK_MOTO",
        "The S3 tests need moto's server on loopback. `.ci/run` installs it: \
         python3 -m venv ~/.cache/gaptrack-venv && ~/.cache/gaptrack-venv/bin/pip install 'moto[server]', \
         then export GAPTRACK_MOTO=~/.cache/gaptrack-venv/bin/moto_server",
    );
    start("moto", &program, &["-H", "127.0.0.1", "-p", "{port}"])
}

/// Azurite's blob server (`GAPTRACK_AZURITE`).
pub fn azurite() -> Server {
    let program = tool(
        "GAPTRACK_AZURITE",
        "The Azure tests need Azurite on loopback. `.ci/run` installs it: \
         npm install --prefix ~/.cache/gaptrack-azurite azurite, \
         then export GAPTRACK_AZURITE=~/.cache/gaptrack-azurite/node_modules/.bin/azurite-blob",
    );
    start(
        "azurite",
        &program,
        &[
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "{port}",
            "--location",
            "{dir}",
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ],
    )
}

// --- Raw HTTP for the setup ----------------------------------------------------------------

/// Sends one HTTP/1.1 request to 127.0.0.1:`port`; returns the status and the body.
pub fn http(port: u16, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, resp)
}

/// Creates an S3 bucket on moto (moto accepts an unsigned CreateBucket).
pub fn create_bucket(server: &Server, bucket: &str) {
    let (status, resp) = http(
        server.port,
        &format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            server.port
        ),
    );
    assert_eq!(status, 200, "creating bucket {bucket}: {resp}");
}

/// The account and key every Azurite has (published in Azurite's documentation).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Creates a blob container on Azurite (a SharedKey-signed Create Container).
pub fn create_container(server: &Server, container: &str) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{a}/{a}/{container}\nrestype:container",
        a = AZURITE_ACCOUNT
    );
    let sig = b64_encode(&hmac_sha256(&b64_decode(AZURITE_KEY), to_sign.as_bytes()));
    let (status, resp) = http(
        server.port,
        &format!(
            "PUT /{a}/{container}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\
             x-ms-date: {date}\r\nx-ms-version: {version}\r\nContent-Length: 0\r\n\
             Authorization: SharedKey {a}:{sig}\r\nConnection: close\r\n\r\n",
            a = AZURITE_ACCOUNT,
            p = server.port
        ),
    );
    assert_eq!(status, 201, "creating container {container}: {resp}");
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let mut inner = Sha256::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    inner.update(msg);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    outer.update(inner);
    outer.finalize().into()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= n {
                out.push(B64[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn b64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = B64.iter().position(|&x| x == c) else {
            continue;
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A fake HTTP server: answers every request with `status` and records the request
/// lines it saw. Stops after `max` requests, after 60 s, or when asked.
pub struct FakeHttp {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<JoinHandle<Vec<String>>>,
}

impl FakeHttp {
    pub fn start(status: &'static str, max: usize) -> FakeHttp {
        FakeHttp::start_with(status, max, |_| {
            "<Error><Code>Fake</Code></Error>".to_string()
        })
    }

    /// Like [`FakeHttp::start`], answering each request (its whole text) with the body
    /// `respond` makes of it.
    pub fn start_with(
        status: &'static str,
        max: usize,
        respond: impl Fn(&str) -> String + Send + 'static,
    ) -> FakeHttp {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while seen.len() < max
                && Instant::now() < deadline
                && !stopped.load(std::sync::atomic::Ordering::SeqCst)
            {
                match l.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).ok();
                        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                        let mut buf = [0u8; 8192];
                        let n = s.read(&mut buf).unwrap_or(0);
                        let req = String::from_utf8_lossy(&buf[..n]).to_string();
                        seen.push(req.lines().next().unwrap_or("").to_string());
                        let body = respond(&req);
                        let _ = s.write_all(
                            format!(
                                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            seen
        });
        FakeHttp {
            port,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the server; returns the request lines it saw.
    pub fn requests(mut self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.take().unwrap().join().unwrap()
    }
}

// --- A proxy that injects transient faults -----------------------------------------------

/// What a [`FaultProxy`] did to the requests it saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests read from clients.
    pub requests: u64,
    /// Answered `503 Slow Down` without being forwarded.
    pub status_503: u64,
    /// Connection closed before the request was forwarded.
    pub dropped_before: u64,
    /// Forwarded (the server acted on it), then the connection closed without an answer.
    pub dropped_after: u64,
}

impl FaultStats {
    pub fn faults(&self) -> u64 {
        self.status_503 + self.dropped_before + self.dropped_after
    }
}

struct ProxyState {
    /// Faulty requests per 1000.
    rate_per_mille: u64,
    rng: u64,
    stats: FaultStats,
}

/// An HTTP/1.1 proxy on 127.0.0.1 in front of a server on 127.0.0.1:`upstream`, one
/// request per connection. A share of the requests (drawn from a seeded generator, in
/// the order they arrive) fails: half of the faults are answered `503 Slow Down` as S3
/// does when throttling, a quarter have their connection closed before the request is
/// forwarded, and a quarter are forwarded (so the server acts on them) and then have
/// their connection closed without an answer: the client cannot tell whether a write
/// happened. Stops when dropped.
pub struct FaultProxy {
    pub port: u16,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Status503,
    DropBefore,
    DropAfter,
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes.
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    // The upstream connection serves this one request.
    let mut out = Vec::with_capacity(buf.len() + 20);
    for line in head.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&buf[head_end..head_end + len]);
    Some(out)
}

fn forward(upstream: u16, request: &[u8]) -> Option<Vec<u8>> {
    let mut u = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    u.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    u.write_all(request).ok()?;
    let mut resp = Vec::new();
    u.read_to_end(&mut resp).ok()?;
    Some(resp)
}

fn serve_one(mut client: TcpStream, upstream: u16, state: &std::sync::Mutex<ProxyState>) {
    client.set_nonblocking(false).ok();
    client.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let fault = {
        let mut st = state.lock().unwrap();
        st.stats.requests += 1;
        st.rng = st
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let draw = (st.rng >> 33) % 4000;
        let fault = if draw >= st.rate_per_mille * 4 {
            Fault::None
        } else {
            match draw % 4 {
                0 | 1 => Fault::Status503,
                2 => Fault::DropBefore,
                _ => Fault::DropAfter,
            }
        };
        match fault {
            Fault::Status503 => st.stats.status_503 += 1,
            Fault::DropBefore => st.stats.dropped_before += 1,
            Fault::DropAfter => st.stats.dropped_after += 1,
            Fault::None => {}
        }
        fault
    };
    match fault {
        Fault::Status503 => {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let _ = client.write_all(
                format!(
                    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Fault::DropBefore => {}
        Fault::DropAfter => {
            let _ = forward(upstream, &request);
        }
        Fault::None => {
            if let Some(resp) = forward(upstream, &request) {
                let _ = client.write_all(&resp);
            }
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

impl FaultProxy {
    /// A proxy to 127.0.0.1:`upstream` that fails `rate_percent` % of the requests, drawn
    /// from `seed`.
    pub fn start(upstream: u16, rate_percent: u64, seed: u64) -> FaultProxy {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let state = std::sync::Arc::new(std::sync::Mutex::new(ProxyState {
            rate_per_mille: rate_percent * 10,
            rng: seed,
            stats: FaultStats::default(),
        }));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (st, stopped) = (state.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            // At most an hour, whatever happens to the test.
            let deadline = Instant::now() + Duration::from_secs(3600);
            while !stopped.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                match l.accept() {
                    Ok((s, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || serve_one(s, upstream, &st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultProxy {
            port,
            state,
            stop,
            handle: Some(handle),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the share of faulty requests (0 for a clean pass through).
    pub fn set_rate(&self, rate_percent: u64) {
        self.state.lock().unwrap().rate_per_mille = rate_percent * 10;
    }

    pub fn stats(&self) -> FaultStats {
        self.state.lock().unwrap().stats
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Width and height of a PNG, from its IHDR chunk.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[1..4], b"PNG", "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Runs `cmd` with `input` on its standard input; its output.
pub fn with_stdin(mut cmd: Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

//! `gaptrack serve`: the read-only session of `query`, opened once and shared, over Arrow
//! Flight SQL and the PostgreSQL wire protocol (see docs/serve.md).

pub mod auth;
pub mod engine;
pub mod flight;
pub mod pg;
pub mod pg_catalog;
pub mod pg_session;
pub mod pg_types;
pub mod relations;
pub mod result_cache;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::sql::{AsOf, Settings, Variance};
use crate::store::Store;
use auth::Secret;
use engine::{Engine, QueryLimits};

/// The arguments of `gaptrack serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Serve Arrow Flight SQL on HOST:PORT (port 0: a free one; the address is printed).
    #[arg(long, value_name = "HOST:PORT")]
    pub flight: Option<String>,
    /// Serve the PostgreSQL wire protocol on HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub postgres: Option<String>,
    /// Serve the store as it was at a catalog version or a time (no reopening).
    #[arg(long, value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
    /// Base below which `low_base` is true.
    #[arg(long, default_value_t = 30)]
    pub min_base: i64,
    /// Which base the thresholds compare with: n (respondents) or n_eff (effective base).
    #[arg(long, value_enum, default_value_t = crate::sql::BaseOn::N)]
    pub min_base_on: crate::sql::BaseOn,
    /// Seconds one query may run, from planning to its last row.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub query_timeout: u64,
    /// Memory one query may hold (512M, 2G, 10%) [default: a quarter of GAPTRACK_MEMORY_LIMIT].
    #[arg(long, value_name = "SIZE")]
    pub query_memory: Option<String>,
    /// Queries running at once (more wait for a place).
    #[arg(long, default_value_t = 8)]
    pub max_queries: usize,
    /// Results kept for repeated queries, keyed by statement and catalog version (0: none).
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    pub result_cache: String,
    /// Open connections per protocol; more are closed at once.
    #[arg(long, default_value_t = 64)]
    pub max_connections: usize,
    /// Read the Flight SQL bearer token from this file (else GAPTRACK_SERVE_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Read the PostgreSQL password of user `gaptrack` from this file (else
    /// GAPTRACK_SERVE_PASSWORD).
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// TLS certificate chain (PEM) for both protocols.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `HOST:PORT`, `:PORT` or `PORT` (127.0.0.1 by default), resolved.
async fn resolve(spec: &str, flag: &str) -> Result<Vec<SocketAddr>> {
    let spec = spec.trim();
    let full = if spec.chars().all(|c| c.is_ascii_digit()) {
        format!("127.0.0.1:{spec}")
    } else if let Some(port) = spec.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        spec.to_string()
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&full)
        .await
        .map_err(|e| Error::Usage(format!("--{flag} {spec:?}: not a HOST:PORT ({e})")))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Usage(format!("--{flag} {spec:?}: no address")));
    }
    Ok(addrs)
}

/// Refuses a non-loopback address without the protocol's secret.
fn require_secret(
    addrs: &[SocketAddr],
    secret: &Option<Secret>,
    flag: &str,
    var: &str,
    file_flag: &str,
) -> Result<()> {
    if secret.is_none() && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(Error::Usage(format!(
            "--{flag} {}: listening beyond this machine needs authentication: set {var} or give {file_flag} (not started)",
            addrs[0]
        )));
    }
    Ok(())
}

fn read_pem(path: &PathBuf, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::Usage(format!(
            "--tls-{what} {}: cannot read it: {}",
            path.display(),
            crate::spec::io_reason(&e)
        ))
    })
}

/// The server's TLS configuration for the PostgreSQL listener.
fn pg_tls(cert: &[u8], key: &[u8]) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let bad = |what: &str, e: &dyn std::fmt::Display| Error::Usage(format!("--tls-{what}: {e}"));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad("cert", &e))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad("key", &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("cert", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("key", &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, store_url: &str, variance: Variance) -> Result<()> {
    if args.flight.is_none() && args.postgres.is_none() {
        return Err(Error::Usage(
            "give --flight HOST:PORT and/or --postgres HOST:PORT".into(),
        ));
    }
    let secrets = Secrets {
        token: auth::load(
            "GAPTRACK_SERVE_TOKEN",
            args.token_file.as_deref(),
            "--token-file",
        )?,
        password: auth::load(
            "GAPTRACK_SERVE_PASSWORD",
            args.password_file.as_deref(),
            "--password-file",
        )?,
    };
    let flight_addrs = match &args.flight {
        Some(s) => Some(resolve(s, "flight").await?),
        None => None,
    };
    let pg_addrs = match &args.postgres {
        Some(s) => Some(resolve(s, "postgres").await?),
        None => None,
    };
    secrets.check(flight_addrs.as_deref(), pg_addrs.as_deref())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some((read_pem(c, "cert")?, read_pem(k, "key")?)),
        _ => None,
    };
    let engine = open_engine(&args, store_url, variance, pg_addrs.is_some()).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut lines = String::new();
    let listen = Listen {
        engine,
        max_connections: args.max_connections,
        stop: stop_rx,
    };
    if let Some(addrs) = flight_addrs {
        let (line, task) = listen
            .flight(&addrs, secrets.token.clone(), tls.as_ref())
            .await?;
        lines.push_str(&line);
        tasks.push(task);
    }
    if let Some(addrs) = pg_addrs {
        let acceptor = match &tls {
            Some((c, k)) => Some(pg_tls(c, k)?),
            None => None,
        };
        let (line, task) = listen
            .postgres(&addrs, secrets.password.clone(), acceptor)
            .await?;
        lines.push_str(&line);
        tasks.push(task);
    }
    print!("{lines}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tracing::info!(
        event = "serve_started",
        "{}",
        lines.trim_end().replace('\n', ", ")
    );

    wait_for_signal().await;
    let _ = stop_tx.send(true);
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(5), t).await {
            Ok(Ok(Err(e))) => return Err(e),
            _ => continue,
        }
    }
    Ok(())
}

/// The Flight SQL bearer token and the PostgreSQL password, where given.
struct Secrets {
    token: Option<auth::Secret>,
    password: Option<auth::Secret>,
}

impl Secrets {
    /// A listener off loopback needs its protocol's secret.
    fn check(&self, flight: Option<&[SocketAddr]>, pg: Option<&[SocketAddr]>) -> Result<()> {
        if let Some(a) = flight {
            require_secret(
                a,
                &self.token,
                "flight",
                "GAPTRACK_SERVE_TOKEN",
                "--token-file",
            )?;
        }
        if let Some(a) = pg {
            require_secret(
                a,
                &self.password,
                "postgres",
                "GAPTRACK_SERVE_PASSWORD",
                "--password-file",
            )?;
        }
        Ok(())
    }
}

/// The per-query limits of `args`: memory (a quarter of GAPTRACK_MEMORY_LIMIT unless
/// `--query-memory`), time and queries at once.
fn query_limits(args: &ServeArgs) -> Result<QueryLimits> {
    let base = crate::sql::runtime::Limits::from_env()?.memory;
    let memory = match &args.query_memory {
        Some(s) => crate::sql::runtime::parse_size(s, Some(base))
            .map_err(|m| Error::Usage(format!("--query-memory {s:?}: {m}")))?,
        None => (base / 4).max(64 << 20),
    };
    let result_cache = crate::sql::runtime::parse_size(&args.result_cache, Some(base))
        .map_err(|m| Error::Usage(format!("--result-cache {:?}: {m}", args.result_cache)))?;
    Ok(QueryLimits {
        memory,
        timeout: Duration::from_secs(args.query_timeout.max(1)),
        concurrent: args.max_queries.max(1),
        result_cache: result_cache as usize,
    })
}

/// The engine over the store (with the `pg_catalog` tables when PostgreSQL is served).
async fn open_engine(
    args: &ServeArgs,
    store_url: &str,
    variance: Variance,
    with_pg: bool,
) -> Result<Arc<Engine>> {
    let limits = query_limits(args)?;
    let store = Store::open(store_url)?;
    store.require_existing().await?;
    let settings = Settings {
        min_base: args.min_base,
        min_base_on: args.min_base_on,
        variance,
        ..Settings::default()
    };
    let engine = Engine::open(
        store,
        args.as_of.clone(),
        settings,
        limits,
        Box::new(move |s| {
            Box::pin(async move {
                if with_pg {
                    pg_catalog::install(s).await?;
                }
                Ok(())
            })
        }),
    )
    .await?;
    Ok(Arc::new(engine))
}

/// What every listener shares: the engine, the connection cap and the stop signal.
struct Listen {
    engine: Arc<Engine>,
    max_connections: usize,
    stop: tokio::sync::watch::Receiver<bool>,
}

type Task = tokio::task::JoinHandle<Result<()>>;

impl Listen {
    /// Starts Arrow Flight SQL on `addrs`; returns the line that names its address.
    async fn flight(
        &self,
        addrs: &[SocketAddr],
        token: Option<auth::Secret>,
        tls: Option<&(Vec<u8>, Vec<u8>)>,
    ) -> Result<(String, Task)> {
        let listener = bind(addrs, "flight").await?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("--flight", e))?;
        let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
        let line = format!("flight: {scheme}://{local}\n");
        let svc = arrow_flight::flight_service_server::FlightServiceServer::with_interceptor(
            flight::FlightSql::new(self.engine.clone()),
            auth::interceptor(token),
        );
        let tls_cfg = tls.map(|(c, k)| {
            tonic::transport::ServerTlsConfig::new()
                .identity(tonic::transport::Identity::from_pem(c, k))
        });
        let incoming = capped(listener, self.max_connections, "flight");
        let mut stop = self.stop.clone();
        // A certificate tonic cannot use stops the server before it says it listens.
        let mut builder = tonic::transport::Server::builder();
        if let Some(t) = tls_cfg {
            // Two TLS backends are linked (aws-lc-rs here, ring by a dependency): tonic
            // takes the process default, so name ours (a second call changes nothing).
            let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
            builder = builder
                .tls_config(t)
                .map_err(|e| Error::Usage(format!("--tls-cert/--tls-key: {e}")))?;
        }
        let task = tokio::spawn(async move {
            builder
                .add_service(svc)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
                .map_err(|e| Error::Other(format!("the Flight SQL server failed: {e}")))
        });
        Ok((line, task))
    }

    /// Starts the PostgreSQL wire protocol on `addrs`; returns the line that names its
    /// address. A connection beyond the cap is closed at once (and logged).
    async fn postgres(
        &self,
        addrs: &[SocketAddr],
        password: Option<auth::Secret>,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> Result<(String, Task)> {
        let listener = bind(addrs, "postgres").await?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("--postgres", e))?;
        let ssl = if acceptor.is_some() {
            "require"
        } else {
            "disable"
        };
        let line = format!(
            "postgres: postgresql://{}@{local}/gaptrack?sslmode={ssl}\n",
            auth::PG_USER
        );
        let server = Arc::new(pg::PgServer::new(self.engine.clone(), password));
        let conns = Arc::new(Semaphore::new(self.max_connections.max(1)));
        let mut stop = self.stop.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        let Ok(permit) = conns.clone().try_acquire_owned() else {
                            tracing::warn!(event = "serve_connection_refused", "postgres: too many connections (--max-connections)");
                            continue;
                        };
                        let handlers = Arc::new(pg::Handlers { server: server.clone() });
                        let tls = acceptor.clone();
                        tokio::spawn(async move {
                            let _permit = permit;
                            let _ = pgwire::tokio::process_socket(socket, tls, handlers).await;
                        });
                    }
                }
            }
        });
        Ok((line, task))
    }
}

async fn bind(addrs: &[SocketAddr], flag: &str) -> Result<TcpListener> {
    let mut last = None;
    for a in addrs {
        match TcpListener::bind(a).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some((a, e)),
        }
    }
    let (a, e) = last.expect("at least one address");
    Err(Error::Other(format!("--{flag} {a}: cannot listen: {e}")))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Accepted connections, at most `max` open at once (more are closed at once).
fn capped(
    listener: TcpListener,
    max: usize,
    what: &'static str,
) -> impl futures::Stream<Item = std::io::Result<Capped>> {
    let permits = Arc::new(Semaphore::new(max.max(1)));
    futures::stream::unfold((listener, permits), move |(listener, permits)| async move {
        loop {
            let (io, _) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => return Some((Err(e), (listener, permits))),
            };
            match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let _ = io.set_nodelay(true);
                    return Some((
                        Ok(Capped {
                            io,
                            _permit: permit,
                        }),
                        (listener, permits),
                    ));
                }
                Err(_) => {
                    tracing::warn!(
                        event = "serve_connection_refused",
                        "{what}: too many connections (--max-connections)"
                    );
                    continue;
                }
            }
        }
    })
}

/// A connection that holds its place among the open ones until closed.
pub struct Capped {
    io: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl tonic::transport::server::Connected for Capped {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;
    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl tokio::io::AsyncRead for Capped {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

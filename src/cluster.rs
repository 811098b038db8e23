//! `gaptrack cluster scheduler` and `gaptrack cluster executor`: Apache Ballista's
//! scheduler and executor, with what gaptrack's plans need registered (its functions,
//! the codec of its tables, the object stores its tables name; see
//! [`crate::sql::cluster`]). Clients send plans with `--cluster df://HOST:PORT`; see
//! docs/cluster.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionConfig;

use crate::error::{Error, Result};
use crate::sql::cluster as plans;

/// The arguments of `gaptrack cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: Role,
}

#[derive(Debug, clap::Subcommand)]
pub enum Role {
    /// Run a Ballista scheduler: clients send it their plans (`--cluster df://HOST:PORT`),
    /// it splits them into stages and hands the tasks to the executors.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
        /// The host name executors and clients reach this scheduler by (default: the
        /// address of --bind).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// Run a Ballista executor: it registers with the scheduler, runs the tasks it is
    /// given, reading the store's files from their object store with the credentials
    /// of its own environment, and serves its shuffle output to the other executors.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Address for the shuffle data (Arrow Flight); tasks arrive on --grpc-port.
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: SocketAddr,
        /// Port for the scheduler's task calls (default: the port of --bind plus one).
        #[arg(long)]
        grpc_port: Option<u16>,
        /// The host name the scheduler and other executors reach this executor by
        /// (default: the address of --bind).
        #[arg(long)]
        external_host: Option<String>,
        /// Tasks run at once (default: the number of cores).
        #[arg(long)]
        concurrent_tasks: Option<usize>,
        /// Memory for the tasks, shared evenly between them (512M, 4G; default: a share
        /// of the machine's memory, as Ballista chooses).
        #[arg(long, value_parser = |s: &str| crate::sql::runtime::parse_size(s, None))]
        memory: Option<u64>,
        /// Directory for shuffle files (default: a temporary directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

/// Runs the scheduler or executor until it is stopped (Ctrl-C or SIGTERM).
pub async fn run(args: ClusterArgs) -> Result<()> {
    match args.role {
        Role::Scheduler {
            bind,
            external_host,
        } => scheduler(bind, external_host).await,
        Role::Executor {
            scheduler,
            bind,
            grpc_port,
            external_host,
            concurrent_tasks,
            memory,
            work_dir,
        } => {
            let (host, port) = scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| {
                    Error::Usage(format!("--scheduler {scheduler:?}: give HOST:PORT"))
                })?;
            let mut c = ExecutorProcessConfig {
                bind_host: bind.ip().to_string(),
                port: bind.port(),
                grpc_port: grpc_port.unwrap_or(bind.port().saturating_add(1)),
                external_host: Some(external_host.unwrap_or_else(|| bind.ip().to_string())),
                scheduler_host: host,
                scheduler_port: port,
                // Wait for a scheduler started at the same time.
                scheduler_connect_timeout_seconds: 30,
                work_dir: work_dir.map(|d| d.display().to_string()),
                memory_pool_size: memory,
                print_thread_info: false,
                // Three heartbeats in the scheduler's timeout (Ballista's default: 60 s).
                executor_heartbeat_interval_seconds: EXECUTOR_TIMEOUT_SECONDS / 3,
                ..Default::default()
            };
            if let Some(n) = concurrent_tasks {
                c.vcores = n.max(1);
            }
            executor(c).await
        }
    }
}

/// Seconds without a heartbeat after which the scheduler counts an executor as dead.
const EXECUTOR_TIMEOUT_SECONDS: u64 = 30;

/// The session config of a cluster's plans: Ballista's, with gaptrack's codec.
fn config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(Arc::new(plans::LogicalCodec::default()))
}

/// The scheduler's session: DataFusion's planner (gaptrack's own operators stay on the
/// client's machine) with gaptrack's functions and stores.
fn scheduler_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    Ok(plans::state_builder(config, RuntimeEnvBuilder::new())?
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .build())
}

fn ballista(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("{what}: {e}"))
}

async fn scheduler(bind: SocketAddr, external_host: Option<String>) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: external_host.unwrap_or_else(|| bind.ip().to_string()),
        override_config_producer: Some(Arc::new(config)),
        override_session_builder: Some(Arc::new(scheduler_state)),
        override_logical_codec: Some(Arc::new(plans::LogicalCodec::default())),
        // An executor that stops sending heartbeats is dead after 30 s, not Ballista's
        // 180 s: its tasks are run again elsewhere (or the query fails) within a minute.
        executor_timeout_seconds: EXECUTOR_TIMEOUT_SECONDS,
        expire_dead_executor_interval_seconds: 5,
        no_executors_grace_period_seconds: EXECUTOR_TIMEOUT_SECONDS,
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ballista("starting the scheduler", e))?;
    eprintln!("gaptrack cluster scheduler: listening on {bind}");
    start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| ballista("scheduler", e))
}

/// Every function a plan may name: DataFusion's, Ballista's and gaptrack's.
fn function_registry() -> BallistaFunctionRegistry {
    let mut r = BallistaFunctionRegistry::default();
    for f in plans::scalar_functions() {
        r.scalar_functions.insert(f.name().to_string(), f);
    }
    for f in plans::aggregate_functions() {
        r.aggregate_functions.insert(f.name().to_string(), f);
    }
    for f in plans::window_functions() {
        r.window_functions.insert(f.name().to_string(), f);
    }
    r
}

async fn executor(mut c: ExecutorProcessConfig) -> Result<()> {
    c.override_function_registry = Some(Arc::new(function_registry()));
    c.override_runtime_producer = Some(Arc::new(|_: &SessionConfig| {
        plans::runtime_env(RuntimeEnvBuilder::new())
    }));
    c.override_config_producer = Some(Arc::new(config));
    c.override_logical_codec = Some(Arc::new(plans::LogicalCodec::default()));
    eprintln!(
        "gaptrack cluster executor: data on {}:{}, tasks on port {}, scheduler {}:{}",
        c.bind_host, c.port, c.grpc_port, c.scheduler_host, c.scheduler_port
    );
    start_executor_process(Arc::new(c))
        .await
        .map_err(|e| ballista("executor", e))
}

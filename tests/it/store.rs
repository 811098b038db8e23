//! Store conformance: one suite of store behaviour (create, load, replace, remove,
//! history, query, report, run), written once against a store URL and run on every
//! backend: local disk and S3 (moto) and Azure (Azurite) through the `gaptrack` binary,
//! and `memory://` in-process through the library (a memory store lives in one process).
//!
//! Then: concurrent `gaptrack ingest` processes on one store (local disk and S3) never
//! lose or mix a wave; and no credential ever appears in what gaptrack prints.
//!
//! The S3 and Azure servers are started on a free port of 127.0.0.1 by each test and
//! killed at its end (see `support/`); `.ci/run` installs them and exports
//! `GAPTRACK_MOTO` and `GAPTRACK_AZURITE`.

mod crash;
mod faults;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::support::{self, run_gaptrack, Out, Running, Server, COMMAND_LIMIT};
use gaptrack::commands::{self, Context};
use gaptrack::store::Store;
use object_store::ObjectStore;

// --- Test waves ----------------------------------------------------------------------------

/// A generated wave: its spec file and what the store must say about it.
#[derive(Debug, Clone)]
struct Wave {
    id: String,
    spec: PathBuf,
    respondents: usize,
    /// (statement, group) -> (n, pct)
    agreement: BTreeMap<(String, String), (i64, f64)>,
}

const STATEMENTS: [&str; 2] = ["s1", "s2"];

/// Writes `<stem>.toml` and `<stem>.csv` into `dir`: wave `id`, `per_group` respondents
/// in each of marketing and sales, answers drawn from `seed`. Every few answers is the
/// missing code 9, and some are blank.
fn make_wave(dir: &Path, stem: &str, id: &str, date: &str, seed: u64, per_group: usize) -> Wave {
    std::fs::create_dir_all(dir).unwrap();
    let spec = format!(
        r#"wave = "{id}"
date = "{date}"
title = "Wave {id}, seed {seed}"
source = "{stem}.csv"

[respondent]
id = "id"
group = "dept"

[groups]
marketing = ["Marketing", "Mktg"]
sales = ["Sales"]

[scale]
points = 5
agree = [4, 5]
missing = [9]

[statements.s1]
column = "q1"
text = "Our marketing team understands our customers"

[statements.s2]
column = "q2"
text = "Sales and marketing agree on what a good lead is"
"#
    );
    let mut csv = String::from("id,dept,q1,q2\n");
    let mut counts: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    for i in 0..per_group * 2 {
        let (raw, grp) = match i % 4 {
            0 => ("Sales", "sales"),
            1 => ("Marketing", "marketing"),
            2 => (" sales ", "sales"),
            _ => ("Mktg", "marketing"),
        };
        let mut cells = Vec::new();
        for st in STATEMENTS {
            let r = next() % 13;
            let cell = match r {
                0 => "9".to_string(),
                1 => String::new(),
                _ => (1 + next() % 5).to_string(),
            };
            if let Ok(v) = cell.parse::<i64>() {
                if v != 9 {
                    let e = counts.entry((st.to_string(), grp.to_string())).or_default();
                    e.0 += 1;
                    e.1 += (v >= 4) as i64;
                }
            }
            cells.push(cell);
        }
        csv.push_str(&format!("{stem}-r{i},{raw},{},{}\n", cells[0], cells[1]));
    }
    std::fs::write(dir.join(format!("{stem}.toml")), spec).unwrap();
    std::fs::write(dir.join(format!("{stem}.csv")), csv).unwrap();
    Wave {
        id: id.to_string(),
        spec: dir.join(format!("{stem}.toml")),
        respondents: per_group * 2,
        agreement: counts
            .into_iter()
            .map(|(k, (n, a))| (k, (n, 100.0 * a as f64 / n as f64)))
            .collect(),
    }
}

/// A wave whose data holds an answer off the scale (exit 3).
fn make_invalid_wave(dir: &Path) -> PathBuf {
    let w = make_wave(dir, "bad", "bad", "2023-01-31", 99, 6);
    let csv = dir.join("bad.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = "bad-x,Sales,7,1".into();
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    w.spec
}

// --- Reading results -----------------------------------------------------------------------

/// Rows of a CSV text (no quoted commas in what these tests select).
fn rows(csv: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = csv.lines();
    let Some(head) = lines.next() else {
        return vec![];
    };
    let cols: Vec<&str> = head.split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            cols.iter()
                .zip(l.split(','))
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(v: &str) -> f64 {
    v.parse()
        .unwrap_or_else(|_| panic!("{v:?} is not a number"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

// --- Drivers: the CLI, or the library in-process -------------------------------------------

/// Runs gaptrack's commands against one store.
trait Driver {
    fn ingest(&self, specs: &[&Path]) -> Out;
    fn query_csv(&self, sql: &str, as_of: Option<&str>) -> Out;
    fn remove(&self, wave: &str) -> Out;
    /// `history --format csv`: at least the columns version, operation, wave.
    fn history_csv(&self) -> Out;
    fn report(&self, out: &str) -> Out;
    fn run_config(&self, config: &Path) -> Out;
    /// `vacuum` with these arguments (`--retain-hours N`, `--dry-run`).
    fn vacuum(&self, args: &[&str]) -> Out;
    /// Leaves the rows of a load that the catalog does not name in the data tables of
    /// `raw` (as a load killed before its catalog commit does); returns its load id.
    fn leave_orphan(&self, raw: &Store, spec: &Path) -> String;
}

/// The `gaptrack` binary with an environment.
struct Cli {
    store: String,
    env: Vec<(String, String)>,
}

impl Cli {
    fn cmd(&self, args: &[&str]) -> Out {
        let mut a = vec!["--store", self.store.as_str()];
        a.extend_from_slice(args);
        run_gaptrack(&self.env, &a)
    }
}

impl Driver for Cli {
    fn ingest(&self, specs: &[&Path]) -> Out {
        let mut a = vec!["ingest".to_string()];
        a.extend(specs.iter().map(|p| p.display().to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        self.cmd(&a)
    }
    fn query_csv(&self, sql: &str, as_of: Option<&str>) -> Out {
        let mut a = vec!["query", sql, "--format", "csv"];
        if let Some(v) = as_of {
            a.extend(["--as-of", v]);
        }
        self.cmd(&a)
    }
    fn remove(&self, wave: &str) -> Out {
        self.cmd(&["remove", wave])
    }
    fn history_csv(&self) -> Out {
        self.cmd(&["history", "--format", "csv"])
    }
    fn report(&self, out: &str) -> Out {
        self.cmd(&["report", "--out", out])
    }
    fn run_config(&self, config: &Path) -> Out {
        let c = config.display().to_string();
        run_gaptrack(&self.env, &["run", "--config", &c])
    }
    fn vacuum(&self, args: &[&str]) -> Out {
        let mut a = vec!["vacuum"];
        a.extend_from_slice(args);
        self.cmd(&a)
    }
    /// An ingest killed with SIGKILL once its data is committed, before its catalog commit.
    fn leave_orphan(&self, raw: &Store, spec: &Path) -> String {
        let before: BTreeSet<_> = raw_loads(raw, "responses").into_keys().collect();
        let halt = tempfile::tempdir().unwrap();
        let mut env = self.env.clone();
        env.push(kv("GAPTRACK_TEST_HALT_AT", "data_committed"));
        env.push(kv(
            "GAPTRACK_TEST_HALT_DIR",
            &halt.path().display().to_string(),
        ));
        let mut c = support::gaptrack(&env);
        c.args([
            "--store",
            &self.store,
            "ingest",
            &spec.display().to_string(),
        ]);
        let mut p = Running::spawn(c);
        let flag = halt.path().join("data_committed");
        let deadline = Instant::now() + COMMAND_LIMIT;
        while !flag.exists() && !p.exited() && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (killed, out) = p.kill9();
        assert!(
            killed && flag.exists(),
            "the load did not halt: {}",
            out.both()
        );
        let after: BTreeSet<_> = raw_loads(raw, "responses").into_keys().collect();
        let new: Vec<_> = after.difference(&before).collect();
        assert_eq!(new.len(), 1, "{new:?}");
        new[0].1.clone()
    }
}

/// The library, in this process: the command line's own command functions
/// (`gaptrack::commands`), so that the memory store runs the CLI's code.
struct Lib {
    store: String,
}

impl Lib {
    fn ctx(&self) -> Context {
        Context {
            store: Some(self.store.clone()),
            ..Context::default()
        }
    }
}

fn lib_out(started: Instant, r: gaptrack::Result<String>) -> Out {
    let seconds = started.elapsed().as_secs_f64();
    match r {
        Ok(stdout) => Out {
            code: 0,
            stdout,
            stderr: String::new(),
            seconds,
        },
        Err(e) => Out {
            code: e.exit_code() as i32,
            stdout: String::new(),
            stderr: format!("error: {e}\n"),
            seconds,
        },
    }
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

impl Driver for Lib {
    fn ingest(&self, specs: &[&Path]) -> Out {
        let t = Instant::now();
        let paths: Vec<PathBuf> = specs.iter().map(|p| p.to_path_buf()).collect();
        lib_out(
            t,
            block_on(commands::ingest(&self.ctx(), &paths, false, false)),
        )
    }
    fn query_csv(&self, sql: &str, as_of: Option<&str>) -> Out {
        use gaptrack::sql::{query::OutputFormat, AsOf};
        let t = Instant::now();
        let q = commands::QueryRequest {
            sql: Some(sql.to_string()),
            file: None,
            format: OutputFormat::Csv,
            output: None,
            params: vec![],
            as_of: as_of.map(|v| AsOf::parse(v).unwrap()),
            min_base: 30,
            min_base_on: gaptrack::sql::BaseOn::N,
        };
        lib_out(
            t,
            block_on(async {
                let mut out = Vec::new();
                for (schema, rows) in commands::query(&self.ctx(), &q).await? {
                    commands::output::write_stream(q.format, schema, rows, &mut out).await?;
                }
                Ok(utf8(out))
            }),
        )
    }
    fn remove(&self, wave: &str) -> Out {
        let t = Instant::now();
        lib_out(t, block_on(commands::remove(&self.ctx(), wave)))
    }
    fn history_csv(&self) -> Out {
        use gaptrack::sql::query::OutputFormat;
        let t = Instant::now();
        let h = block_on(commands::history(&self.ctx(), OutputFormat::Csv));
        lib_out(t, h.map(utf8))
    }
    fn report(&self, out: &str) -> Out {
        use gaptrack::report::ReportFormat;
        let t = Instant::now();
        let r = commands::ReportRequest {
            out: out.to_string(),
            pair: ("marketing".into(), "sales".into()),
            min_base: 30,
            min_base_on: gaptrack::sql::BaseOn::N,
            suppress_below: 10,
            formats: ReportFormat::all(),
            as_of: None,
            by: vec![],
            baseline: None,
            words: Default::default(),
        };
        lib_out(t, block_on(commands::report(&self.ctx(), &r)))
    }
    fn run_config(&self, config: &Path) -> Out {
        let t = Instant::now();
        // As `gaptrack run --config`: the store is the config's.
        lib_out(
            t,
            block_on(commands::run(&Context::default(), config, false)),
        )
    }
    fn vacuum(&self, args: &[&str]) -> Out {
        let t = Instant::now();
        let dry_run = args.contains(&"--dry-run");
        let force = args.contains(&"--force");
        let hours = args
            .iter()
            .position(|a| *a == "--retain-hours")
            .map(|i| args[i + 1].parse().unwrap())
            .unwrap_or(gaptrack::vacuum::DEFAULT_RETAIN_HOURS);
        lib_out(
            t,
            block_on(commands::vacuum(&self.ctx(), hours, dry_run, force)),
        )
    }
    /// In process the load cannot be killed: its rows are appended through deltalake.
    fn leave_orphan(&self, raw: &Store, spec: &Path) -> String {
        let wave = if spec.file_stem().is_some_and(|s| s == "w2") {
            "w2"
        } else {
            panic!("{}", spec.display())
        };
        let load_id = "20200101T000000-0123456789ab";
        add_orphan_load(raw, wave, load_id);
        load_id.to_string()
    }
}

// --- Backends ------------------------------------------------------------------------------

/// Where a test's stores live, and how the test itself reads them.
struct Backend {
    name: &'static str,
    /// Root under which each test names its stores (no trailing slash).
    root: String,
    /// Environment of the gaptrack processes.
    env: Vec<(String, String)>,
    /// The bucket's or container's object store, configured explicitly (the test process
    /// does not read cloud credentials from its own environment).
    objects: Option<Arc<dyn ObjectStore>>,
    _server: Option<Server>,
    _tmp: Option<tempfile::TempDir>,
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

impl Backend {
    fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    /// A [`Store`] on `url` opened in this process.
    fn store(&self, url: &str) -> Store {
        match &self.objects {
            Some(os) => {
                let u = url::Url::parse(url).unwrap();
                Store::with_object_store(&u, url, os.clone()).unwrap()
            }
            None => Store::open(url).unwrap(),
        }
    }

    fn cli(&self, store: &str) -> Cli {
        Cli {
            store: store.to_string(),
            env: self.env.clone(),
        }
    }

    fn local() -> Backend {
        let tmp = tempfile::tempdir().unwrap();
        Backend {
            name: "local",
            root: tmp.path().display().to_string(),
            env: vec![],
            objects: None,
            _server: None,
            _tmp: Some(tmp),
        }
    }

    fn memory(tag: &str) -> Backend {
        Backend {
            name: "memory",
            root: format!("memory:///{tag}"),
            env: vec![],
            objects: None,
            _server: None,
            _tmp: None,
        }
    }

    /// moto with a fresh bucket; credentials and endpoint only from the standard AWS
    /// variables (AWS_ENDPOINT_URL, not object_store's own AWS_ENDPOINT).
    fn s3(access_key: &str, secret: &str) -> Backend {
        let server = support::moto();
        let bucket = "gaptrack-test";
        support::create_bucket(&server, bucket);
        let env = vec![
            kv("AWS_ENDPOINT_URL", &server.endpoint()),
            kv("AWS_ALLOW_HTTP", "true"),
            kv("AWS_ACCESS_KEY_ID", access_key),
            kv("AWS_SECRET_ACCESS_KEY", secret),
            kv("AWS_REGION", "eu-west-1"),
        ];
        let os = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(server.endpoint())
            .with_allow_http(true)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret)
            .with_region("eu-west-1")
            .build()
            .unwrap();
        Backend {
            name: "s3",
            root: format!("s3://{bucket}"),
            env,
            objects: Some(Arc::new(os)),
            _server: Some(server),
            _tmp: None,
        }
    }

    /// Azurite with a fresh container, reached as the emulator
    /// (AZURE_STORAGE_USE_EMULATOR, AZURITE_BLOB_STORAGE_URL) with its well-known account.
    fn azure(scheme: &str) -> Backend {
        let server = support::azurite();
        let container = "gaptrack";
        support::create_container(&server, container);
        let env = vec![
            kv("AZURE_STORAGE_USE_EMULATOR", "true"),
            kv("AZURITE_BLOB_STORAGE_URL", &server.endpoint()),
        ];
        Backend {
            name: "azure",
            root: format!("{scheme}://{container}"),
            env,
            objects: Some(azure_objects(&server, container, support::AZURITE_KEY)),
            _server: Some(server),
            _tmp: None,
        }
    }
}

fn azure_objects(server: &Server, container: &str, key: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        object_store::azure::MicrosoftAzureBuilder::new()
            .with_account(support::AZURITE_ACCOUNT)
            .with_access_key(key)
            .with_container_name(container)
            .with_endpoint(format!(
                "{}/{}",
                server.endpoint(),
                support::AZURITE_ACCOUNT
            ))
            .with_allow_http(true)
            .build()
            .unwrap(),
    )
}

/// (wave, load_id) -> rows, of one raw data table (every row, live or not).
fn raw_loads(store: &Store, table: &str) -> BTreeMap<(String, String), i64> {
    use arrow::array::AsArray;
    use datafusion::prelude::SessionContext;
    block_on(async {
        let Some(t) = store.load(table, None).await.unwrap() else {
            return BTreeMap::new();
        };
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("t", t.table_provider().await.unwrap())
            .unwrap();
        let batches = ctx
            .sql("SELECT wave, load_id, count(*) AS n FROM t GROUP BY wave, load_id")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for b in batches {
            let w = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            let l = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8).unwrap();
            let n = b.column(2).as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                out.insert(
                    (
                        w.as_string::<i32>().value(i).to_string(),
                        l.as_string::<i32>().value(i).to_string(),
                    ),
                    n.value(i),
                );
            }
        }
        out
    })
}

/// The live (wave, load_id) pairs of the catalog.
fn live_loads(store: &Store) -> BTreeSet<(String, String)> {
    block_on(gaptrack::catalog::current(store))
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.wave, e.load_id))
        .collect()
}

/// Data files under a table that its current version does not reference (listed from
/// the object store, compared with the Delta snapshot's files).
fn unreferenced_files(store: &Store, table: &str) -> Vec<String> {
    use futures::TryStreamExt;
    block_on(async {
        let Some(t) = store.load(table, None).await.unwrap() else {
            return vec![];
        };
        let live: BTreeSet<String> = t
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .map(|f| percent_decode(&f.path()))
            .collect();
        let (root, _) = store.object_store();
        let prefix = store.path(table);
        let objects: Vec<object_store::ObjectMeta> =
            root.list(Some(&prefix)).try_collect().await.unwrap();
        objects
            .into_iter()
            .map(|m| m.location.to_string())
            .filter(|p| p.ends_with(".parquet"))
            .map(|p| p[prefix.as_ref().len() + 1..].to_string())
            // Checkpoints are the log's, not data files.
            .filter(|p| !p.starts_with("_delta_log/"))
            .filter(|p| !live.contains(&percent_decode(p)))
            .collect()
    })
}

/// Appends rows under a made-up load id that no catalog names (what a load killed after
/// writing its data leaves) to `cellstats`, through deltalake directly.
fn add_orphan_load(store: &Store, wave: &str, load_id: &str) {
    use gaptrack::tables::{cellstats_batch, CellStat};
    let batch = cellstats_batch(
        wave,
        load_id,
        &[CellStat {
            statement: "s1".into(),
            grp: "sales".into(),
            n: Some(1),
            sum_w: Some(1.0),
            sum_wa: Some(1.0),
            sum_w2: Some(1.0),
            sum_w2a: Some(1.0),
            pct: 100.0,
        }],
    )
    .unwrap();
    block_on(async {
        let t = store.load("cellstats", None).await.unwrap().unwrap();
        t.write(vec![batch])
            .with_save_mode(deltalake::protocol::SaveMode::Append)
            .await
            .unwrap();
    });
}

/// Every data table holds the rows of the live loads and of no other load.
fn assert_no_stray_rows(store: &Store, what: &str) {
    let live = live_loads(store);
    for table in gaptrack::store::DATA_TABLES {
        let loads: BTreeSet<(String, String)> = raw_loads(store, table).into_keys().collect();
        let stray: Vec<_> = loads.difference(&live).collect();
        assert!(
            stray.is_empty(),
            "{what}: table {table} keeps rows of loads that are not live: {stray:?} (live: {live:?})"
        );
    }
}

fn read_object(b: &Backend, dir_url: &str, name: &str) -> Vec<u8> {
    if !dir_url.contains("://") {
        return std::fs::read(Path::new(dir_url).join(name))
            .unwrap_or_else(|e| panic!("{dir_url}/{name}: {e}"));
    }
    let store = b.store(dir_url);
    block_on(store.get(name))
        .unwrap()
        .unwrap_or_else(|| panic!("{dir_url}/{name} does not exist"))
}

// --- The conformance suite -----------------------------------------------------------------

fn check(o: &Out, what: &str) {
    assert!(o.ok(), "{what} failed: {}", o.both());
}

fn agreement_of(d: &dyn Driver, wave: &str) -> BTreeMap<(String, String), (i64, f64)> {
    let o = d.query_csv(
        &format!(
            "SELECT statement, grp, n, pct FROM agreement WHERE wave = '{wave}' ORDER BY statement, grp"
        ),
        None,
    );
    check(&o, "query agreement");
    rows(&o.stdout)
        .into_iter()
        .map(|r| {
            (
                (r["statement"].clone(), r["grp"].clone()),
                (num(&r["n"]) as i64, num(&r["pct"])),
            )
        })
        .collect()
}

fn assert_agreement(d: &dyn Driver, w: &Wave) {
    let got = agreement_of(d, &w.id);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        w.agreement.keys().collect::<Vec<_>>(),
        "agreement rows of wave {}",
        w.id
    );
    for (k, (n, pct)) in &w.agreement {
        let (gn, gp) = got[k];
        assert!(
            gn == *n && close(gp, *pct),
            "wave {} {k:?}: got n={gn} pct={gp}, want n={n} pct={pct}",
            w.id
        );
    }
}

fn waves_of(d: &dyn Driver, as_of: Option<&str>) -> BTreeMap<String, i64> {
    let o = d.query_csv("SELECT wave, respondents FROM waves ORDER BY wave", as_of);
    check(&o, "query waves");
    rows(&o.stdout)
        .into_iter()
        .map(|r| (r["wave"].clone(), num(&r["respondents"]) as i64))
        .collect()
}

fn history_of(d: &dyn Driver) -> Vec<(String, String)> {
    let o = d.history_csv();
    check(&o, "history");
    rows(&o.stdout)
        .into_iter()
        .map(|r| (r["operation"].clone(), r["wave"].clone()))
        .collect()
}

fn gap(w: &Wave, st: &str) -> f64 {
    w.agreement[&(st.to_string(), "marketing".to_string())].1
        - w.agreement[&(st.to_string(), "sales".to_string())].1
}

/// The suite's state: the backend and the driver under test, the store, and the waves.
struct Suite<'a> {
    b: &'a Backend,
    d: &'a dyn Driver,
    store_url: &'a str,
    /// A fresh local directory for the wave files.
    data: &'a Path,
    /// The store, read directly by the test.
    raw: Store,
    w1: Wave,
    w2: Wave,
    /// w2 with other answers: replaces w2.
    w2b: Wave,
    /// A wave with an answer off the scale.
    bad: PathBuf,
}

/// Runs one step of the suite, named after the property it checks: a failure names the
/// backend and the property that broke. Records the step's seconds in `timings`.
fn step<T>(
    backend: &str,
    name: &str,
    timings: &mut Vec<(String, f64)>,
    f: impl FnOnce() -> T,
) -> T {
    let t = Instant::now();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => {
            timings.push((name.to_string(), t.elapsed().as_secs_f64()));
            v
        }
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            panic!("[{backend}] conformance step `{name}` failed: {what}")
        }
    }
}

/// The suite, a named step per property, in order (each step builds on the store the
/// steps before left). `d` runs commands on the store `store_url` of backend `b`;
/// `data` is a fresh local directory for the wave files.
fn conformance(b: &Backend, d: &dyn Driver, store_url: &str, data: &Path) -> Vec<(String, f64)> {
    let s = Suite {
        b,
        d,
        store_url,
        data,
        raw: b.store(store_url),
        w1: make_wave(data, "w1", "w1", "2021-03-31", 1, 16),
        w2: make_wave(data, "w2", "w2", "2022-03-31", 2, 12),
        w2b: make_wave(&data.join("v2"), "w2", "w2", "2022-03-31", 3, 14),
        bad: make_invalid_wave(&data.join("bad")),
    };
    let mut timings = Vec::new();
    let t = &mut timings;
    let name = b.name;
    step(name, "reading commands refuse a missing store", t, || {
        reading_commands_refuse_a_missing_store(&s)
    });
    step(name, "ingest loads waves", t, || ingest_loads_waves(&s));
    step(name, "unchanged waves write nothing", t, || {
        unchanged_waves_write_nothing(&s)
    });
    step(name, "replacing a wave swaps its rows", t, || {
        replacing_a_wave_swaps_its_rows(&s)
    });
    step(name, "invalid input writes nothing", t, || {
        invalid_input_writes_nothing(&s)
    });
    step(name, "gap_trend spans two waves", t, || {
        gap_trend_spans_two_waves(&s)
    });
    step(name, "report is the same bytes everywhere", t, || {
        report_is_the_same_bytes_everywhere(&s)
    });
    step(name, "remove drops a wave", t, || remove_drops_a_wave(&s));
    step(name, "history and as-of read back", t, || {
        history_and_as_of_read_back(&s)
    });
    let (jw1, versions) = step(name, "run twice changes nothing the second time", t, || {
        run_twice_changes_nothing_the_second_time(&s)
    });
    step(name, "vacuum removes only unreferenced data", t, || {
        vacuum_removes_only_unreferenced_data(&s, &jw1, versions)
    });
    timings
}

/// Before the first load no store exists: reading commands say so (exit 3, naming
/// the location) instead of answering from an empty store, and create nothing.
fn reading_commands_refuse_a_missing_store(s: &Suite) {
    let b = s.b;
    let d = s.d;
    let store_url = s.store_url;
    let raw = &s.raw;
    let never = b.url(&format!(
        "{}-never-published",
        store_url.rsplit('/').find(|s| !s.is_empty()).unwrap()
    ));
    for (what, o) in [
        (
            "query",
            d.query_csv("SELECT count(*) AS n FROM waves", None),
        ),
        ("history", d.history_csv()),
        ("remove", d.remove("w1")),
        ("report", d.report(&never)),
    ] {
        assert_eq!(o.code, 3, "{what}: {}", o.both());
        assert!(
            o.stderr.contains("no gaptrack store exists"),
            "{what}: {}",
            o.both()
        );
    }
    assert!(!block_on(raw.has_table("waves")).unwrap());
    assert!(block_on(b.store(&never).get("trend.csv"))
        .unwrap()
        .is_none());
}

/// Load two waves.
fn ingest_loads_waves(s: &Suite) {
    let d = s.d;
    let w1 = &s.w1;
    let w2 = &s.w2;
    let o = d.ingest(&[&w1.spec, &w2.spec]);
    check(&o, "ingest w1 w2");
    assert!(
        o.stdout.contains("w1: loaded") && o.stdout.contains("w2: loaded"),
        "{}",
        o.both()
    );
    assert_eq!(
        waves_of(d, None),
        BTreeMap::from([("w1".into(), 32), ("w2".into(), 24)])
    );
    assert_agreement(d, w1);
    assert_agreement(d, w2);
    let o = d.query_csv(
        "SELECT wave, count(*) AS n FROM responses GROUP BY wave ORDER BY wave",
        None,
    );
    check(&o, "count responses");
    assert_eq!(o.stdout, "wave,n\nw1,64\nw2,48\n");
}

/// Byte-identical again: nothing is written.
fn unchanged_waves_write_nothing(s: &Suite) {
    let d = s.d;
    let w1 = &s.w1;
    let w2 = &s.w2;
    let o = d.ingest(&[&w1.spec, &w2.spec]);
    check(&o, "ingest unchanged");
    assert_eq!(o.stdout.matches(": unchanged").count(), 2, "{}", o.both());
    assert_eq!(history_of(d).len(), 2);
}

/// Replace w2.
fn replacing_a_wave_swaps_its_rows(s: &Suite) {
    let d = s.d;
    let raw = &s.raw;
    let w2b = &s.w2b;
    let o = d.ingest(&[&w2b.spec]);
    check(&o, "ingest w2 again");
    assert!(o.stdout.contains("w2: replaced"), "{}", o.both());
    assert_eq!(waves_of(d, None)["w2"], 28);
    assert_agreement(d, w2b);
    assert_no_stray_rows(raw, "after replace");
}

/// Invalid input: exit 3, nothing written.
fn invalid_input_writes_nothing(s: &Suite) {
    let d = s.d;
    let bad = s.bad.as_path();
    let o = d.ingest(&[bad]);
    assert_eq!(o.code, 3, "{}", o.both());
    assert_eq!(history_of(d).len(), 3);
}

/// The views over two waves.
fn gap_trend_spans_two_waves(s: &Suite) {
    let d = s.d;
    let w1 = &s.w1;
    let w2b = &s.w2b;
    let o = d.query_csv(
        "SELECT statement, wave, prev_wave, change_pp FROM gap_trend \
         WHERE group_a = 'marketing' AND group_b = 'sales' ORDER BY statement",
        None,
    );
    check(&o, "query gap_trend");
    let trend = rows(&o.stdout);
    assert_eq!(trend.len(), 2, "{}", o.stdout);
    for r in &trend {
        assert_eq!((r["wave"].as_str(), r["prev_wave"].as_str()), ("w2", "w1"));
        let want = gap(w2b, &r["statement"]) - gap(w1, &r["statement"]);
        assert!(close(num(&r["change_pp"]), want), "{r:?}: want {want}");
    }
    // That statement kept gap_trend's rows in the store; the next one answers the same.
    let kept = kept_results(&s.raw);
    assert!(
        kept.iter().any(|p| p.ends_with("/gap_trend.arrows")),
        "{kept:?}"
    );
    let again = d.query_csv(
        "SELECT statement, wave, prev_wave, change_pp FROM gap_trend \
         WHERE group_a = 'marketing' AND group_b = 'sales' ORDER BY statement",
        None,
    );
    check(&again, "query gap_trend again");
    assert_eq!(again.stdout, o.stdout);
}

/// The paths of the kept view results in the store.
fn kept_results(store: &Store) -> Vec<String> {
    use futures::TryStreamExt;
    let (root, _) = store.object_store();
    let prefix = store.path(gaptrack::store::KEPT_RESULTS);
    let found: Vec<object_store::ObjectMeta> =
        block_on(root.list(Some(&prefix)).try_collect()).unwrap_or_default();
    found.into_iter().map(|m| m.location.to_string()).collect()
}

/// Report into the store's backend and into a local directory: the same bytes.
fn report_is_the_same_bytes_everywhere(s: &Suite) {
    let b = s.b;
    let d = s.d;
    let store_url = s.store_url;
    let data = s.data;
    let cloud_out = b.url(&format!(
        "{}-report",
        store_url.rsplit('/').find(|s| !s.is_empty()).unwrap()
    ));
    let local_out = data.join("report").display().to_string();
    check(&d.report(&cloud_out), "report to the backend");
    check(&d.report(&local_out), "report to a directory");
    for f in ["trend.csv", "trend.json", "trend.md", "index.html"] {
        assert_eq!(
            read_object(b, &cloud_out, f),
            read_object(b, &local_out, f),
            "{f} differs between {cloud_out} and {local_out}"
        );
    }
    let csv = String::from_utf8(read_object(b, &cloud_out, "trend.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
}

/// Remove w1.
fn remove_drops_a_wave(s: &Suite) {
    let d = s.d;
    let raw = &s.raw;
    check(&d.remove("w1"), "remove w1");
    assert_eq!(waves_of(d, None).keys().collect::<Vec<_>>(), ["w2"]);
    let o = d.remove("w1");
    assert_eq!(o.code, 3, "{}", o.both());
    assert_no_stray_rows(raw, "after remove");
}

/// History, and reading the store as it was.
fn history_and_as_of_read_back(s: &Suite) {
    let d = s.d;
    let h = history_of(d);
    let expect: Vec<(String, String)> = [
        ("loaded", "w1"),
        ("loaded", "w2"),
        ("replaced", "w2"),
        ("removed", "w1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(h, expect);
    assert_eq!(
        waves_of(d, Some("1")),
        BTreeMap::from([("w1".into(), 32), ("w2".into(), 24)])
    );
}

/// The scheduled job on the same store: loads w1 again, then a second run changes
/// nothing and publishes the same bytes.
fn run_twice_changes_nothing_the_second_time(s: &Suite) -> (Wave, usize) {
    let b = s.b;
    let d = s.d;
    let store_url = s.store_url;
    let data = s.data;
    let raw = &s.raw;
    let jobs = data.join("job");
    let jw1 = make_wave(&jobs, "w1", "w1", "2021-03-31", 1, 16);
    let _ = make_wave(&jobs, "w2", "w2", "2022-03-31", 3, 14);
    let job_out = b.url(&format!(
        "{}-job-report",
        store_url.rsplit('/').find(|s| !s.is_empty()).unwrap()
    ));
    let config = data.join("pipeline.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"{store_url}\"\nwaves = [\"{}/*.toml\"]\n[report]\nout = \"{job_out}\"\n",
            jobs.display()
        ),
    )
    .unwrap();
    let o = d.run_config(&config);
    check(&o, "run");
    assert!(o.stdout.contains("w1: loaded"), "{}", o.both());
    assert!(o.stdout.contains("w2: unchanged"), "{}", o.both());
    assert_agreement(d, &jw1);
    let first: Vec<Vec<u8>> = ["trend.csv", "index.html"]
        .iter()
        .map(|f| read_object(b, &job_out, f))
        .collect();
    let versions = history_of(d).len();
    let o = d.run_config(&config);
    check(&o, "run again");
    assert_eq!(o.stdout.matches(": unchanged").count(), 2, "{}", o.both());
    assert_eq!(history_of(d).len(), versions, "a second run wrote a commit");
    let second: Vec<Vec<u8>> = ["trend.csv", "index.html"]
        .iter()
        .map(|f| read_object(b, &job_out, f))
        .collect();
    assert!(first == second, "a second run published different bytes");
    assert_no_stray_rows(raw, "after run");
    (jw1, versions)
}

/// Vacuum: rows of a load the catalog does not name go, once older than the
/// retention; then every file no table references; the data stays as it was.
fn vacuum_removes_only_unreferenced_data(s: &Suite, jw1: &Wave, versions: usize) {
    let d = s.d;
    let data = s.data;
    let raw = &s.raw;
    let changed_w2 = make_wave(&data.join("orphan"), "w2", "w2", "2022-03-31", 5, 10);
    let orphan = d.leave_orphan(raw, &changed_w2.spec);
    let orphan = orphan.as_str();
    let with_orphan = raw_loads(raw, "cellstats");
    assert!(with_orphan.contains_key(&("w2".to_string(), orphan.to_string())));
    let before_waves = waves_of(d, None);
    let before_counts = d.query_csv(
        "SELECT wave, count(*) AS n, sum(value) AS s, count(DISTINCT respondent) AS r \
         FROM responses GROUP BY wave ORDER BY wave",
        None,
    );
    check(&before_counts, "responses checksum");
    let stale: usize = gaptrack::store::DATA_TABLES
        .iter()
        .map(|tb| unreferenced_files(raw, tb).len())
        .sum();
    assert!(
        stale > 0,
        "the replaced and removed loads left no files to vacuum"
    );
    // Its file was written just now: with a retention of an hour it is kept, and a dry
    // run changes nothing.
    let o = d.vacuum(&["--retain-hours", "1", "--dry-run"]);
    check(&o, "vacuum dry run");
    assert!(
        o.stdout.contains(&format!("kept load {orphan} of wave w2")),
        "{}",
        o.both()
    );
    let o = d.vacuum(&["--retain-hours", "0", "--force", "--dry-run"]);
    check(&o, "vacuum dry run, no retention");
    assert!(
        o.stdout
            .contains(&format!("would delete load {orphan} of wave w2")),
        "{}",
        o.both()
    );
    assert_eq!(raw_loads(raw, "cellstats"), with_orphan);
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, "vacuum");
    assert!(
        o.stdout
            .contains(&format!("deleted load {orphan} of wave w2")),
        "{}",
        o.both()
    );
    assert_no_stray_rows(raw, "after vacuum");
    for tb in gaptrack::store::DATA_TABLES.iter().chain(["waves"].iter()) {
        let left = unreferenced_files(raw, tb);
        assert!(
            left.is_empty(),
            "{tb} keeps unreferenced files after vacuum: {left:?}"
        );
    }
    let removed: usize = o
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("vacuum: removed "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(removed > stale, "{}", o.both());
    assert_eq!(waves_of(d, None), before_waves);
    assert_agreement(d, jw1);
    let after_counts = d.query_csv(
        "SELECT wave, count(*) AS n, sum(value) AS s, count(DISTINCT respondent) AS r \
         FROM responses GROUP BY wave ORDER BY wave",
        None,
    );
    assert_eq!(after_counts.stdout, before_counts.stdout);
    // Nothing is left to do; history shows no vacuum.
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, "vacuum again");
    assert!(
        o.stdout
            .contains("deleted 0 loads not in the catalog; removed 0 files, 0 bytes"),
        "{}",
        o.both()
    );
    assert_eq!(history_of(d).len(), versions);
}

fn report_timings(backend: &str, started: Instant, timings: &[(String, f64)]) {
    let steps: Vec<String> = timings
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}s"))
        .collect();
    println!(
        "[{backend}] conformance passed in {:.1}s ({})",
        started.elapsed().as_secs_f64(),
        steps.join(", ")
    );
}

#[test]
fn conformance_local_disk() {
    let t = Instant::now();
    let b = Backend::local();
    let data = tempfile::tempdir().unwrap();
    let store = b.url("warehouse");
    let timings = conformance(&b, &b.cli(&store), &store, data.path());
    report_timings(b.name, t, &timings);
}

#[test]
fn conformance_memory_in_process() {
    let t = Instant::now();
    let b = Backend::memory("conformance");
    let data = tempfile::tempdir().unwrap();
    let store = b.url("warehouse");
    let d = Lib {
        store: store.clone(),
    };
    let timings = conformance(&b, &d, &store, data.path());
    report_timings(b.name, t, &timings);
}

#[test]
fn conformance_s3() {
    let t = Instant::now();
    let b = Backend::s3("GAPTRACKTESTKEYID0001", "gaptrack-test-secret-0001");
    let data = tempfile::tempdir().unwrap();
    let store = b.url("team/warehouse");
    let timings = conformance(&b, &b.cli(&store), &store, data.path());
    report_timings(b.name, t, &timings);
}

#[test]
fn conformance_azure() {
    let t = Instant::now();
    let b = Backend::azure("az");
    let data = tempfile::tempdir().unwrap();
    let store = b.url("team/warehouse");
    let timings = conformance(&b, &b.cli(&store), &store, data.path());
    report_timings(b.name, t, &timings);

    // The same container as abfs:// (fsspec form) reads the same store.
    let abfs = store.replacen("az://", "abfs://", 1);
    let d = b.cli(&abfs);
    assert_eq!(waves_of(&d, None).keys().collect::<Vec<_>>(), ["w1", "w2"]);
}

/// A failing step of the conformance suite names the backend and the property.
#[test]
fn a_failing_conformance_step_names_its_property() {
    let mut timings = Vec::new();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        step("memory", "remove drops a wave", &mut timings, || {
            panic!("wave w1 is still there")
        })
    }));
    std::panic::set_hook(hook);
    let p = r.expect_err("the step did not fail");
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        msg,
        "[memory] conformance step `remove drops a wave` failed: wave w1 is still there"
    );
    assert!(timings.is_empty());
    let v = step("memory", "ok", &mut timings, || 7);
    assert_eq!((v, timings.len(), timings[0].0.as_str()), (7, 1, "ok"));
}

/// `text` with every "(1.23s)" as "(S)".
fn without_seconds(text: &str) -> String {
    let mut parts = text.split('(');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        let secs = p
            .find("s)")
            .filter(|&i| i > 0 && p[..i].chars().all(|c| c.is_ascii_digit() || c == '.'));
        match secs {
            Some(i) => out.push_str(&format!("(S){}", &p[i + 2..])),
            None => out.push_str(&format!("({p}")),
        }
    }
    out
}

/// The in-process driver runs the command line's own command functions: what they
/// return is, byte for byte (but the seconds), what the `gaptrack` binary prints.
#[test]
fn commands_in_process_print_what_the_binary_prints() {
    let data = tempfile::tempdir().unwrap();
    let stores = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 16);
    let w2 = make_wave(data.path(), "w2", "w2", "2022-03-31", 2, 12);
    let cli_store = stores.path().join("cli").display().to_string();
    let cli = Cli {
        store: cli_store,
        env: vec![],
    };
    let lib = Lib {
        store: stores.path().join("lib").display().to_string(),
    };
    let both = |what: &str, run: &dyn Fn(&dyn Driver) -> Out| {
        let (a, b) = (run(&cli), run(&lib));
        assert_eq!(
            (a.code, b.code),
            (0, 0),
            "{what}: {} / {}",
            a.both(),
            b.both()
        );
        let (a, b) = (without_seconds(&a.stdout), without_seconds(&b.stdout));
        assert!(!a.is_empty(), "{what}");
        assert_eq!(a, b, "{what}");
    };
    both("ingest", &|d| d.ingest(&[&w1.spec, &w2.spec]));
    both("ingest unchanged", &|d| d.ingest(&[&w1.spec]));
    both("query", &|d| {
        d.query_csv(
            "SELECT * FROM gaps ORDER BY statement, group_a, group_b, wave",
            None,
        )
    });
    both("remove", &|d| d.remove("w1"));
    both("vacuum", &|d| d.vacuum(&["--dry-run"]));
}

// --- Concurrent writers --------------------------------------------------------------------

/// Commit retries logged by a process, by what was being committed.
fn retries(o: &Out) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in o.stderr.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event"] == "commit_retry" {
            let what = v["what"].as_str().unwrap_or("?");
            let what = what
                .split(' ')
                .take(1)
                .chain(what.split(' ').skip(1).take(1))
                .collect::<Vec<_>>()
                .join(" ");
            *out.entry(what).or_default() += 1;
        }
    }
    out
}

fn add(stats: &mut BTreeMap<String, usize>, prefix: &str, r: BTreeMap<String, usize>) {
    for (k, n) in r {
        *stats
            .entry(format!("{prefix}: retries of {k}"))
            .or_default() += n;
    }
}

fn ingest_proc(b: &Backend, store: &str, spec: &Path, barrier: Option<&Path>) -> Running {
    let mut c = support::gaptrack(&b.env);
    c.args(["--store", store, "-v", "--log-format", "json", "ingest"])
        .arg(spec);
    if let Some(dir) = barrier {
        c.env("GAPTRACK_TEST_COMMIT_BARRIER", dir);
    }
    Running::spawn(c)
}

/// Two ingest processes at once. With `barrier`, both are held once they have read the
/// catalog and released together, so that their catalog commits race on one version.
fn ingest_pair(b: &Backend, store: &str, x: &Path, y: &Path, barrier: Option<&Path>) -> (Out, Out) {
    let px = ingest_proc(b, store, x, barrier);
    let py = ingest_proc(b, store, y, barrier);
    if let Some(dir) = barrier {
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let ready = std::fs::read_dir(dir)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "ready")
                })
                .count();
            if ready >= 2 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::fs::write(dir.join("go"), b"").unwrap();
    }
    (px.wait(COMMAND_LIMIT), py.wait(COMMAND_LIMIT))
}

/// Two `gaptrack ingest` processes at once, `rounds` times: on different waves both
/// land; on the same wave one wins, the other exits 0 (it ran after) or 4, and the wave
/// is exactly one of the two loads.
fn concurrent_writers(b: &Backend, rounds: usize) {
    let data = tempfile::tempdir().unwrap();
    let mut stats = BTreeMap::<String, usize>::new();
    let started = Instant::now();
    for round in 0..rounds {
        // Different waves, on a fresh store: both race to create every table.
        let store = b.url(&format!("concurrent-{round}"));
        let dir = data.path().join(format!("r{round}"));
        let wa = make_wave(
            &dir,
            "a",
            &format!("a{round}"),
            "2021-01-31",
            10 + round as u64,
            20,
        );
        let wb = make_wave(
            &dir,
            "b",
            &format!("b{round}"),
            "2022-01-31",
            20 + round as u64,
            22,
        );
        // Odd rounds hold both writers until both have read the catalog.
        let barrier = (round % 2 == 1).then(|| dir.join("barrier-ab"));
        if let Some(d) = &barrier {
            std::fs::create_dir_all(d).unwrap();
        }
        let (oa, ob) = ingest_pair(b, &store, &wa.spec, &wb.spec, barrier.as_deref());
        check(&oa, "concurrent ingest a");
        check(&ob, "concurrent ingest b");
        let catalog_retries = retries(&oa).get("committing wave").copied().unwrap_or(0)
            + retries(&ob).get("committing wave").copied().unwrap_or(0);
        if barrier.is_some() {
            assert!(
                catalog_retries >= 1,
                "held writers of different waves: no catalog commit was retried:\n{}\n{}",
                oa.both(),
                ob.both()
            );
        }
        add(&mut stats, "different waves", retries(&oa));
        add(&mut stats, "different waves", retries(&ob));
        let d = b.cli(&store);
        assert_eq!(
            waves_of(&d, None),
            BTreeMap::from([
                (wa.id.clone(), wa.respondents as i64),
                (wb.id.clone(), wb.respondents as i64)
            ]),
            "round {round}"
        );
        assert_agreement(&d, &wa);
        assert_agreement(&d, &wb);
        let raw = b.store(&store);
        assert_no_stray_rows(&raw, "different waves");

        // The same wave from two sources at once.
        let x1 = make_wave(
            &dir.join("x1"),
            "x",
            "x",
            "2023-01-31",
            30 + round as u64,
            18,
        );
        let x2 = make_wave(
            &dir.join("x2"),
            "x",
            "x",
            "2023-01-31",
            40 + round as u64,
            21,
        );
        let barrier = (round % 2 == 1).then(|| dir.join("barrier-x"));
        if let Some(d) = &barrier {
            std::fs::create_dir_all(d).unwrap();
        }
        let (o1, o2) = ingest_pair(b, &store, &x1.spec, &x2.spec, barrier.as_deref());
        if barrier.is_some() {
            // Both read the catalog before either committed: exactly one must lose.
            assert_eq!(
                (o1.code == 4) as u8 + (o2.code == 4) as u8,
                1,
                "held same-wave writers:\n{}\n{}",
                o1.both(),
                o2.both()
            );
        }
        for o in [&oa, &ob, &o1, &o2] {
            assert!(
                !o.stderr.contains("cleanup_failed"),
                "a cleanup failed: {}",
                o.both()
            );
        }
        for o in [&o1, &o2] {
            assert!(o.code == 0 || o.code == 4, "same wave: {}", o.both());
            if o.code == 4 {
                assert!(o.stderr.contains("conflict"), "{}", o.both());
            }
        }
        assert!(
            o1.ok() || o2.ok(),
            "neither load of x won:\n{}\n{}",
            o1.both(),
            o2.both()
        );
        add(&mut stats, "same wave", retries(&o1));
        add(&mut stats, "same wave", retries(&o2));
        *stats
            .entry("same wave: a loser exited 4".into())
            .or_default() += (o1.code == 4) as usize + (o2.code == 4) as usize;
        *stats.entry("same wave: both exited 0".into()).or_default() +=
            (o1.ok() && o2.ok()) as usize;
        let waves = waves_of(&d, None);
        let winner = match waves["x"] {
            36 => &x1,
            42 => &x2,
            n => panic!("wave x has {n} respondents: neither load"),
        };
        if o1.code == 4 {
            assert!(
                std::ptr::eq(winner, &x2),
                "x1 exited 4 but its load is live"
            );
        }
        if o2.code == 4 {
            assert!(
                std::ptr::eq(winner, &x1),
                "x2 exited 4 but its load is live"
            );
        }
        assert_agreement(&d, winner);
        let o = d.query_csv("SELECT count(*) AS n FROM responses WHERE wave = 'x'", None);
        assert_eq!(o.stdout, format!("n\n{}\n", winner.respondents * 2));
        assert_no_stray_rows(&raw, "same wave");
        assert_eq!(waves.len(), 3, "{waves:?}");
    }
    println!(
        "[{}] concurrent writers: {rounds} rounds in {:.1}s: {stats:?}",
        b.name,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn concurrent_writers_local_disk() {
    concurrent_writers(&Backend::local(), 4);
}

#[test]
fn concurrent_writers_s3() {
    concurrent_writers(
        &Backend::s3("GAPTRACKTESTKEYID0002", "gaptrack-test-secret-0002"),
        4,
    );
}

// --- Credentials are never printed ---------------------------------------------------------

/// Every form a secret could take in what gaptrack prints: as is, percent-encoded (as a
/// form value and with every reserved byte escaped), JSON-escaped, base64, hex; for a
/// base64 secret (an Azure account key) also the bytes it decodes to, in hex and base64.
/// Lists of numbers are checked by [`number_lists`].
fn forms(secret: &str) -> Vec<String> {
    let enc: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut v = vec![secret.to_string(), enc];
    let mut pct = String::new();
    for b in secret.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            pct.push(b as char);
        } else {
            pct.push_str(&format!("%{b:02X}"));
        }
    }
    v.push(pct);
    let json = serde_json::to_string(secret).unwrap();
    v.push(json.trim_matches('"').to_string());
    v.push(
        support::b64_encode(secret.as_bytes())
            .trim_end_matches('=')
            .to_string(),
    );
    v.push(hex(secret.as_bytes()));
    if let Some(d) = decoded(secret) {
        v.push(hex(&d));
        v.push(hex(&d).to_uppercase());
        let b64 = support::b64_encode(&d);
        v.push(
            b64.trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_"),
        );
    }
    v
}

/// The bytes a base64 secret decodes to (`None` if it is not base64).
fn decoded(secret: &str) -> Option<Vec<u8>> {
    let d = support::b64_decode(secret);
    (d.len() >= 8 && support::b64_encode(&d) == secret).then_some(d)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret's bytes (and what a base64 secret decodes to) as `Debug` prints a list of
/// numbers, with spaces and line breaks removed (so that `[87, 82, …]`, one number a line
/// and JSON-escaped line breaks all match): the first 12 numbers.
fn number_lists(secret: &str) -> Vec<String> {
    let mut lists = vec![secret.as_bytes().to_vec()];
    lists.extend(decoded(secret));
    let mut out = Vec::new();
    for l in lists {
        let head = &l[..l.len().min(12)];
        out.push(
            head.iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push(
            head.iter()
                .map(|b| format!("{b:x}"))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    out
}

fn squeezed(text: &str) -> String {
    text.replace("\\n", "")
        .replace("\\t", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn assert_secret_free(o: &Out, secrets: &[&str], what: &str) {
    let (out, err) = (squeezed(&o.stdout), squeezed(&o.stderr));
    for s in secrets {
        for f in forms(s) {
            assert!(
                !o.stdout.contains(&f) && !o.stderr.contains(&f),
                "{what}: a credential ({f}) was printed:\n{}",
                tail(&o.both())
            );
        }
        for l in number_lists(s) {
            assert!(
                !out.contains(&l) && !err.contains(&l),
                "{what}: a credential's bytes ({l}) were printed:\n{}",
                tail(&o.both())
            );
        }
    }
}

/// The end of a long log (a trace-level log is megabytes).
fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(20_000);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Runs `args` with every log target at trace level (`GAPTRACK_LOG=trace`), in text then
/// in JSON logs; asserts the exit codes (`first`, then `again`) and that no secret
/// appears. Returns the size of the logs (to show they were not empty).
fn secret_free_run(
    env: &[(String, String)],
    args: &[&str],
    (first, again): (i32, i32),
    secrets: &[&str],
) -> usize {
    let mut env = env.to_vec();
    env.push(kv("GAPTRACK_LOG", "trace"));
    let mut size = 0;
    for (format, code) in [("text", first), ("json", again)] {
        let mut a = vec!["--log-format", format];
        a.extend_from_slice(args);
        let o = run_gaptrack(&env, &a);
        assert_eq!(o.code, code, "{args:?}: {}", tail(&o.both()));
        assert_secret_free(&o, secrets, &format!("{args:?} --log-format {format}"));
        size += o.stderr.len();
    }
    size
}

#[test]
fn secrets_never_printed_s3() {
    let key_id = "AKIAGAPTRACKSECRET77";
    let secret = "gtSecret+Access/Key=9f8e7d6c5b4a3210ZYXW";
    let token = "gtSessionToken+/=Q1W2E3R4T5Y6U7I8O9P0";
    // A customer-provided encryption key (base64 of 32 bytes), sent with every request.
    let sse_key = support::b64_encode(b"gaptrack-sse-c-key-32-bytes-0001");
    let b = Backend::s3(key_id, secret);
    let mut env = b.env.clone();
    env.push(kv("AWS_SESSION_TOKEN", token));
    let secrets = [key_id, secret, token];
    let data = tempfile::tempdir().unwrap();
    let w = make_wave(data.path(), "w", "w", "2021-01-31", 5, 12);
    let bad = make_invalid_wave(&data.path().join("bad"));
    let store = b.url("secrets/warehouse");
    let out = b.url("secrets/report");
    let st = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["--store".to_string(), store.clone()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let spec = w.spec.display().to_string();
    let badspec = bad.display().to_string();
    let mut logged = 0;
    for (args, code) in [
        (st(&["ingest", &spec]), (0, 0)),
        (st(&["waves"]), (0, 0)),
        (st(&["query", "SELECT * FROM gaps"]), (0, 0)),
        (st(&["query", "SHOW ALL"]), (0, 0)),
        (st(&["history"]), (0, 0)),
        (st(&["report", "--out", &out]), (0, 0)),
        (st(&["ingest", &badspec]), (3, 3)),
        (st(&["remove", "nope"]), (3, 3)),
        (st(&["remove", "w"]), (0, 3)),
        // A bucket that does not exist.
        (
            vec![
                "--store".into(),
                "s3://no-such-bucket/x".into(),
                "ingest".into(),
                spec.clone(),
            ],
            (1, 1),
        ),
        // Credentials in the URL are refused, without echoing them: a key and a secret,
        // or a key id alone.
        (
            vec![
                "--store".into(),
                format!("s3://{key_id}:{secret}@gaptrack-test/x"),
                "waves".into(),
            ],
            (3, 3),
        ),
        (
            vec![
                "--store".into(),
                format!("s3://{key_id}@gaptrack-test/x"),
                "waves".into(),
            ],
            (3, 3),
        ),
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        logged += secret_free_run(&env, &a, code, &secrets);
    }
    // A customer encryption key: moto accepts or refuses it; it is never printed.
    let mut with_sse = env.clone();
    with_sse.push(kv("AWS_SSE_CUSTOMER_KEY_BASE64", &sse_key));
    with_sse.push(kv("AWS_SERVER_SIDE_ENCRYPTION", "sse-c"));
    for format in ["text", "json"] {
        let mut e = with_sse.clone();
        e.push(kv("GAPTRACK_LOG", "trace"));
        let o = run_gaptrack(
            &e,
            &["--log-format", format, "--store", &store, "ingest", &spec],
        );
        assert_secret_free(&o, &[key_id, secret, token, &sse_key], "sse-c");
        logged += o.stderr.len();
    }
    // Wrong credentials against a server that checks them: a closed port (nothing
    // listens), so the failure is a connection error after bounded retries.
    let mut dead = env.clone();
    let port = support::free_port();
    for (k, v) in dead.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = format!("http://127.0.0.1:{port}");
        }
    }
    let a = ["--store", store.as_str(), "waves"];
    logged += secret_free_run(&dead, &a, (1, 1), &secrets);
    assert!(
        logged > 100_000,
        "the trace-level runs logged almost nothing ({logged} bytes)"
    );
    println!("[s3] secrets: 28 runs at trace level, {logged} bytes of logs, no credential printed");
}

#[test]
fn secrets_never_printed_azure() {
    let server = support::azurite();
    support::create_container(&server, "gaptrack");
    let endpoint = format!("{}/{}", server.endpoint(), support::AZURITE_ACCOUNT);
    let base = vec![
        kv("AZURE_STORAGE_ACCOUNT_NAME", support::AZURITE_ACCOUNT),
        kv("AZURE_STORAGE_ENDPOINT", &endpoint),
        kv("AZURE_ALLOW_HTTP", "true"),
    ];
    let data = tempfile::tempdir().unwrap();
    let w = make_wave(data.path(), "w", "w", "2021-01-31", 6, 12);
    let spec = w.spec.display().to_string();
    let store = "az://gaptrack/secrets/warehouse";
    let mut logged = 0;
    // The real (well-known) key works and is never printed, under each of the names
    // object_store reads it from.
    for (i, var) in [
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_MASTER_KEY",
    ]
    .into_iter()
    .enumerate()
    {
        let mut good = base.clone();
        good.push(kv(var, support::AZURITE_KEY));
        let runs: Vec<(Vec<&str>, (i32, i32))> = if i == 0 {
            vec![
                (vec!["--store", store, "ingest", &spec], (0, 0)),
                (
                    vec!["--store", store, "query", "SELECT * FROM agreement"],
                    (0, 0),
                ),
                (
                    vec![
                        "--store",
                        store,
                        "report",
                        "--out",
                        "az://gaptrack/secrets/report",
                    ],
                    (0, 0),
                ),
                (vec!["--store", "az://no-such-container/x", "waves"], (1, 1)),
            ]
        } else {
            vec![(vec!["--store", store, "waves"], (0, 0))]
        };
        for (args, code) in runs {
            logged += secret_free_run(&good, &args, code, &[support::AZURITE_KEY]);
        }
    }
    // A wrong key: refused by the server.
    let wrong_key = support::b64_encode(b"gaptrack-wrong-azure-key-0123456789-secret-bytes!");
    let mut wrong = base.clone();
    wrong.push(kv("AZURE_STORAGE_ACCOUNT_KEY", &wrong_key));
    logged += secret_free_run(&wrong, &["--store", store, "waves"], (1, 1), &[&wrong_key]);
    // A SAS token (sent in every URL's query), under both names: refused by the server,
    // and neither the token nor its signature is printed.
    let sig = "GTsasSignature+Secret/Value=";
    let sas = format!(
        "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig={}",
        url::form_urlencoded::byte_serialize(sig.as_bytes()).collect::<String>()
    );
    for var in ["AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_SAS_TOKEN"] {
        let mut with_sas = base.clone();
        with_sas.push(kv(var, &sas));
        logged += secret_free_run(
            &with_sas,
            &["--store", store, "waves"],
            (1, 1),
            &[&sas, sig],
        );
    }
    // A bearer token, sent to Azurite (which refuses it over http).
    let bearer = "gtAzureBearerToken.eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ";
    let mut with_bearer = base.clone();
    with_bearer.push(kv("AZURE_STORAGE_TOKEN", bearer));
    logged += secret_free_run(
        &with_bearer,
        &["--store", store, "waves"],
        (1, 1),
        &[bearer],
    );
    // A service principal (client secret) and a workload identity (federated token file)
    // against a fake authority that refuses every token request and echoes what it got.
    let client_secret = "gtAzureClientSecret~0123456789.abcdefXYZ";
    let federated = "eyJhbGciOiJSUzI1NiJ9.Z3RGZWRlcmF0ZWRUb2tlbkJvZHk.Z3RTaWduYXR1cmVGZWRlcmF0ZWQ";
    let token_file = data.path().join("federated-token");
    std::fs::write(&token_file, federated).unwrap();
    for with_file in [false, true] {
        let fake = support::FakeHttp::start_with("401 Unauthorized", 50, |req| {
            let body = req.split("\r\n\r\n").nth(1).unwrap_or("");
            format!(r#"{{"error":"invalid_client","error_description":"got {body}"}}"#)
        });
        let mut sp = base.clone();
        sp.push(kv(
            "AZURE_CLIENT_ID",
            "00000000-0000-0000-0000-000000000001",
        ));
        sp.push(kv(
            "AZURE_TENANT_ID",
            "00000000-0000-0000-0000-000000000002",
        ));
        sp.push(kv(
            "AZURE_AUTHORITY_HOST",
            &format!("http://127.0.0.1:{}", fake.port),
        ));
        if with_file {
            sp.push(kv(
                "AZURE_FEDERATED_TOKEN_FILE",
                &token_file.display().to_string(),
            ));
        } else {
            sp.push(kv("AZURE_CLIENT_SECRET", client_secret));
        }
        logged += secret_free_run(
            &sp,
            &["--store", store, "waves"],
            (1, 1),
            &[client_secret, federated],
        );
        let seen = fake.requests();
        assert!(
            seen.iter().any(|r| r.starts_with("POST")),
            "no token request reached the fake authority: {seen:?}"
        );
    }
    assert!(
        logged > 100_000,
        "the trace-level runs logged almost nothing ({logged} bytes)"
    );
    println!(
        "[azure] secrets: 32 runs at trace level, {logged} bytes of logs, no credential printed"
    );
    drop(server);
}

/// An S3 or Azure server that refuses a request's signature answers with what it got
/// and what it expected (`<SignatureProvided>`, `<StringToSign>`, `<CanonicalRequest>`
/// with the session token in it, `<AWSAccessKeyId>`; Azure's
/// `<AuthenticationErrorDetail>` with the signature): none of it is printed. The fake
/// servers echo the signature of each request as a real one does.
#[test]
fn signatures_in_error_bodies_are_masked() {
    use std::sync::{Arc, Mutex};
    let key_id = "AKIAGAPTRACKSIGNED01";
    let secret = "gtSignSecret+Key/0123456789abcdefghijkl";
    let token = "gtSignSessionToken+0123456789/abcdefghij=";
    let sigs: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = sigs.clone();
    let s3 = support::FakeHttp::start_with("403 Forbidden", 200, move |req| {
        let sig = req
            .split("Signature=")
            .nth(1)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .collect::<String>()
            })
            .unwrap_or_default();
        seen.lock().unwrap().push(sig.clone());
        let sts = format!(
            "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/eu-west-1/s3/aws4_request\n{sig}"
        );
        let bytes: Vec<String> = sts.bytes().map(|b| format!("{b:02x}")).collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>\
             <Message>The request signature we calculated does not match the signature you provided.</Message>\
             <AWSAccessKeyId>{key_id}</AWSAccessKeyId><StringToSign>{sts}</StringToSign>\
             <SignatureProvided>{sig}</SignatureProvided><StringToSignBytes>{}</StringToSignBytes>\
             <CanonicalRequest>GET\n/bucket/x\n\nhost:127.0.0.1\nx-amz-security-token:{token}\n\nhost;x-amz-security-token\nUNSIGNED</CanonicalRequest>\
             <RequestId>1</RequestId></Error>",
            bytes.join(" ")
        )
    });
    let env = vec![
        kv("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{}", s3.port)),
        kv("AWS_ALLOW_HTTP", "true"),
        kv("AWS_ACCESS_KEY_ID", key_id),
        kv("AWS_SECRET_ACCESS_KEY", secret),
        kv("AWS_SESSION_TOKEN", token),
        kv("AWS_REGION", "eu-west-1"),
        kv("GAPTRACK_HTTP_RETRIES", "0"),
    ];
    let mut logged = 0;
    for format in ["text", "json"] {
        let mut e = env.clone();
        e.push(kv("GAPTRACK_LOG", "trace"));
        let o = run_gaptrack(
            &e,
            &["--log-format", format, "--store", "s3://bucket/x", "waves"],
        );
        assert_eq!(o.code, 1, "{}", tail(&o.both()));
        assert!(
            o.stderr.contains("SignatureDoesNotMatch"),
            "the server's answer is not in the error: {}",
            tail(&o.both())
        );
        let got: Vec<String> = sigs.lock().unwrap().clone();
        assert!(
            got.iter().any(|s| s.len() == 64),
            "no signed request: {got:?}"
        );
        let mut all: Vec<&str> = vec![key_id, secret, token];
        all.extend(got.iter().map(String::as_str).filter(|s| !s.is_empty()));
        assert_secret_free(&o, &all, &format!("s3 403 --log-format {format}"));
        logged += o.stderr.len();
    }
    drop(s3);
    // Azure: the signature of the SharedKey header, echoed as Azure Storage does.
    let key = support::b64_encode(b"gaptrack-azure-signing-key-for-the-fake-server-0001");
    let sigs: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = sigs.clone();
    let az = support::FakeHttp::start_with("403 Forbidden", 200, move |req| {
        let sig = req
            .lines()
            .find_map(|l| l.split_once("SharedKey ").map(|(_, v)| v.to_string()))
            .and_then(|v| v.split_once(':').map(|(_, s)| s.trim().to_string()))
            .unwrap_or_default();
        seen.lock().unwrap().push(sig.clone());
        format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
             <Message>Server failed to authenticate the request.</Message>\
             <AuthenticationErrorDetail>The MAC signature found in the HTTP request '{sig}' is not the same as any computed signature. Server used following string to sign: 'GET\n\nx-ms-version:2021-08-06'.</AuthenticationErrorDetail></Error>"
        )
    });
    let env = vec![
        kv("AZURE_STORAGE_ACCOUNT_NAME", "gtaccount"),
        kv("AZURE_STORAGE_ACCOUNT_KEY", &key),
        kv(
            "AZURE_STORAGE_ENDPOINT",
            &format!("http://127.0.0.1:{}/gtaccount", az.port),
        ),
        kv("AZURE_ALLOW_HTTP", "true"),
        kv("GAPTRACK_HTTP_RETRIES", "0"),
    ];
    for format in ["text", "json"] {
        let mut e = env.clone();
        e.push(kv("GAPTRACK_LOG", "trace"));
        let o = run_gaptrack(
            &e,
            &[
                "--log-format",
                format,
                "--store",
                "az://container/x",
                "waves",
            ],
        );
        assert_eq!(o.code, 1, "{}", tail(&o.both()));
        assert!(
            o.stderr.contains("AuthenticationFailed"),
            "the server's answer is not in the error: {}",
            tail(&o.both())
        );
        let got: Vec<String> = sigs.lock().unwrap().clone();
        assert!(
            got.iter().any(|s| s.len() >= 40),
            "no signed request: {got:?}"
        );
        let mut all: Vec<&str> = vec![&key];
        all.extend(got.iter().map(String::as_str).filter(|s| !s.is_empty()));
        assert_secret_free(&o, &all, &format!("azure 403 --log-format {format}"));
        logged += o.stderr.len();
    }
    println!(
        "[signatures] 4 refused runs at trace level, {logged} bytes of logs, no signature printed"
    );
}

/// GCS is compiled in; no GCS emulator is available here, so this checks the wiring
/// only: a gs:// store sends its requests to the endpoint of the service account key
/// (a fake server on loopback that refuses everything), fails with exit 1, and prints
/// no part of the key, given as `GOOGLE_SERVICE_ACCOUNT_KEY` or as a file named by
/// `GOOGLE_SERVICE_ACCOUNT`.
#[test]
fn gcs_is_wired_and_keeps_its_key() {
    let fake = support::FakeHttp::start("403 Forbidden", 50);
    let material =
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDGTgcsPRIVATEkeyMATERIAL01234567";
    let private_key = format!("-----BEGIN PRIVATE KEY-----\n{material}\nGTgcsPRIVATEkeyMATERIAL0123456789\n-----END PRIVATE KEY-----\n");
    let key = serde_json::json!({
        "private_key": private_key,
        "private_key_id": "gtgcsprivatekeyid0123",
        "client_email": "gaptrack@example.iam.gserviceaccount.com",
        "gcs_base_url": format!("http://127.0.0.1:{}", fake.port),
        "disable_oauth": true,
    })
    .to_string();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("service-account.json");
    std::fs::write(&key_file, &key).unwrap();
    let mut logged = 0;
    for env in [
        vec![kv("GOOGLE_SERVICE_ACCOUNT_KEY", &key)],
        vec![kv(
            "GOOGLE_SERVICE_ACCOUNT",
            &key_file.display().to_string(),
        )],
    ] {
        logged += secret_free_run(
            &env,
            &["--store", "gs://gt-bucket/team/wh", "waves"],
            (1, 1),
            &[
                material,
                "GTgcsPRIVATEkeyMATERIAL0123456789",
                "gtgcsprivatekeyid0123",
                &private_key,
                &key,
            ],
        );
    }
    let seen: Vec<String> = fake.requests().iter().map(|r| percent_decode(r)).collect();
    assert!(
        seen.iter()
            .any(|r| r.contains("/gt-bucket") && r.contains("team/wh/waves")),
        "no request for the store reached the endpoint: {seen:?}"
    );
    println!(
        "[gcs] {} requests reached the fake endpoint; {logged} bytes of logs",
        seen.len()
    );
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn store_urls_are_checked() {
    for (url, code) in [
        ("s3://", 3),
        ("az://", 3),
        ("gs://", 3),
        ("ftp://host/x", 3),
        ("s3://k:secretvalue123@b/x", 3),
        ("az://c/x?sig=secretvalue123", 3),
        // A user part is refused and not echoed, with or without a password.
        ("s3://AKIAsecretvalue123@bucket/x", 3),
        ("s3://:secretvalue123@bucket/x", 3),
        ("gs://secretvalue123@bucket/x", 3),
        ("az://secretvalue123:pw@container/x", 3),
        ("abfss://secretvalue123@account.example.com/x", 3),
        (
            "abfss://container:secretvalue123@account.dfs.core.windows.net/x",
            3,
        ),
        ("file://secretvalue123@localhost/tmp/x", 3),
    ] {
        let o = run_gaptrack(&[], &["--store", url, "waves"]);
        assert_eq!(o.code, code, "{url}: {}", o.both());
        assert!(o.stderr.contains("--store"), "{url}: {}", o.both());
        assert!(!o.stderr.contains("secretvalue123"), "{url}: {}", o.both());
    }
}

// --- Every past version, as it was -----------------------------------------------------------

/// What a reader sees of the store at one version: query results and the report's files.
fn state_at(store: &Store, as_of: Option<gaptrack::sql::AsOf>) -> gaptrack::Result<String> {
    use gaptrack::report::{self, ReportFormat};
    use gaptrack::sql::{query, Session, Settings};
    block_on(async {
        let session = Session::open(store, as_of, Settings::default()).await?;
        let mut out = format!("data version {:?}\n", session.catalog.version);
        for sql in [
            "SELECT wave, date, title, kind, respondents, source_sha256, loaded_at FROM waves ORDER BY wave",
            "SELECT wave, count(*) AS n, sum(value) AS s, count(agree) AS a, sum(CAST(agree AS INT)) AS y FROM responses GROUP BY wave ORDER BY wave",
            "SELECT * FROM statements ORDER BY wave, statement",
            "SELECT * FROM agreement ORDER BY wave, statement, grp",
            "SELECT * FROM gap_trend ORDER BY statement, wave",
        ] {
            let (schema, batches) = query::run(&session, sql, &[]).await?;
            let csv = query::render(query::OutputFormat::Csv, &schema, &batches)?;
            out.push_str(&String::from_utf8(csv).unwrap());
        }
        match report::build(&session, "marketing", "sales").await {
            Ok(model) => {
                for f in ReportFormat::all() {
                    // The workbook as its bytes' digest (it is not text).
                    // The chart files are many: the workbook and the page stand for them.
                    let Some(bytes) = report::render(&model, f) else {
                        continue;
                    };
                    match String::from_utf8(bytes) {
                        Ok(text) => out.push_str(&text),
                        Err(e) => out.push_str(&hex::encode(
                            <sha2::Sha256 as sha2::Digest>::digest(e.as_bytes()),
                        )),
                    }
                }
            }
            Err(e) => out.push_str(&format!("report: exit {}: {e}\n", e.exit_code())),
        }
        Ok(out)
    })
}

/// A long random history of loads, replacements and removals; afterwards, `--as-of`
/// every version (by number, and by its commit time where no other commit shares it)
/// reads exactly what was read right after that version was committed, report included.
#[test]
fn every_version_reads_back_as_it_was() {
    use gaptrack::sql::AsOf;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let store = Store::open(&tmp.path().join("store").display().to_string()).unwrap();
    let ids = ["w1", "w2", "w3", "w4"];
    let dates = ["2018-03-31", "2019-03-31", "2020-03-31", "2021-03-31"];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    // A removal followed by more commits first (a replaced wave must survive them).
    let mut plan: Vec<(usize, bool)> =
        vec![(0, false), (1, false), (0, false), (1, true), (2, false)];
    for _ in 0..20 {
        plan.push((next(4) as usize, next(4) == 0));
    }
    let mut loaded = BTreeSet::new();
    let mut seen: Vec<(i64, String)> = Vec::new();
    for (step, (i, remove)) in plan.into_iter().enumerate() {
        let id = ids[i];
        let changed = if remove {
            if !loaded.remove(id) {
                continue;
            }
            block_on(gaptrack::ingest::remove(&store, id)).map(|_| ())
        } else {
            let stem = format!("{id}-{step}");
            let w = make_wave(
                &data,
                &stem,
                id,
                dates[i],
                1000 + step as u64,
                12 + step % 5,
            );
            loaded.insert(id);
            block_on(async {
                let specs = gaptrack::ingest::load_specs(std::slice::from_ref(&w.spec))?;
                gaptrack::ingest::ingest(&store, specs, false)
                    .await
                    .map(|_| ())
            })
        };
        changed.unwrap_or_else(|e| panic!("step {step}: {e}"));
        let now = state_at(&store, None).unwrap();
        let version = block_on(gaptrack::catalog::current(&store))
            .unwrap()
            .version
            .unwrap();
        seen.push((version, now));
    }
    let history = block_on(gaptrack::catalog::history(&store)).unwrap();
    assert!(seen.len() >= 15, "{} versions", seen.len());
    for (v, expected) in &seen {
        let got = state_at(&store, Some(AsOf::Version(*v))).unwrap();
        assert!(
            got == *expected,
            "--as-of {v} differs:\n{got}\n---- at the time:\n{expected}"
        );
        let at = history.iter().position(|h| h.version == *v).unwrap();
        let ts = history[at].timestamp_ms;
        if history.get(at + 1).is_none_or(|h| h.timestamp_ms > ts) {
            let t = chrono::DateTime::from_timestamp_millis(ts).unwrap();
            let got = state_at(&store, Some(AsOf::Time(t))).unwrap();
            assert!(got == *expected, "--as-of {t} (version {v}) differs");
        }
    }
    // No version, no answer: exit 3 naming the store.
    let first = chrono::DateTime::from_timestamp_millis(history[0].timestamp_ms - 1).unwrap();
    let latest = seen.last().unwrap().0;
    for as_of in [
        AsOf::Time(first),
        AsOf::Version(latest + 1),
        AsOf::Version(999),
    ] {
        let e = state_at(&store, Some(as_of.clone())).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{as_of:?}: {e}");
        assert!(e.to_string().contains("store"), "{e}");
    }
}

// --- Publishing a report to an object store ------------------------------------------------

/// PUTs that fail once `fail_after` of them have succeeded (as a full disk or a dropped
/// connection would make them).
#[derive(Debug)]
struct FailingPuts {
    fail_after: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl support::PutFilter for FailingPuts {
    async fn put(
        &self,
        inner: &dyn ObjectStore,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        if !support::take_one(&self.fail_after) {
            return Err(object_store::Error::Generic {
                store: "test",
                source: "no space left on the device".into(),
            });
        }
        inner.put_opts(location, payload, opts).await
    }
}

/// Every object under `prefix` of `objects`, with its bytes.
fn objects_under(objects: &Arc<dyn ObjectStore>, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    use futures::StreamExt;
    use object_store::ObjectStoreExt;
    block_on(async {
        let p = object_store::path::Path::from(prefix);
        let metas: Vec<_> = objects.list(Some(&p)).collect().await;
        let mut out = BTreeMap::new();
        for m in metas {
            let m = m.unwrap();
            let b = objects
                .get(&m.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            out.insert(m.location.to_string(), b.to_vec());
        }
        out
    })
}

/// A report published to an object store: staged first, so a write that fails at any
/// point of the staging leaves the previous publication exactly as it was (and no
/// staged object behind); a publication that completes replaces the previous set,
/// removes the files the new set does not have, and its `manifest.json` verifies.
/// Fails on a version that writes each file in place (a failure leaves a mix).
#[test]
fn report_on_an_object_store_is_published_whole_or_not_at_all() {
    use gaptrack::report::{self, Manifest, ReportFormat, MANIFEST};
    use gaptrack::sql::{Session, Settings};
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 16);
    let w2 = make_wave(data.path(), "w2", "w2", "2022-03-31", 2, 12);
    let store = Store::open("memory:///publish-atomic/warehouse").unwrap();
    block_on(async {
        let specs = gaptrack::ingest::load_specs(std::slice::from_ref(&w1.spec))?;
        gaptrack::ingest::ingest(&store, specs, false).await?;
        let specs = gaptrack::ingest::load_specs(std::slice::from_ref(&w2.spec))?;
        gaptrack::ingest::ingest(&store, specs, false).await
    })
    .unwrap();
    let model = |version: i64| {
        block_on(async {
            let s = Session::open(
                &store,
                Some(gaptrack::sql::AsOf::Version(version)),
                Settings::default(),
            )
            .await?;
            report::build(&s, "marketing", "sales").await
        })
        .unwrap()
    };
    let (old, new) = (model(0), model(1));
    let inner: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let url = url::Url::parse("memory:///out/report").unwrap();
    let out_on = |fail_after: usize| {
        let os = support::PutFiltered::new(
            inner.clone(),
            FailingPuts {
                fail_after: std::sync::atomic::AtomicUsize::new(fail_after),
            },
        );
        Store::with_object_store(&url, "memory:///out/report", os).unwrap()
    };
    // The old publication: every format, data version 0.
    block_on(report::publish_to(
        &old,
        &out_on(usize::MAX),
        &ReportFormat::all(),
    ))
    .unwrap();
    let published = objects_under(&inner, "out");
    // One file per format but the charts, the CSV file's datapackage.json and CSVW
    // metadata, the manifest, and an SVG and a PNG per statement (two).
    assert_eq!(
        published.len(),
        ReportFormat::all().len() - 1 + 3 + 2 * 2,
        "{:?}",
        published.keys()
    );
    let manifest = Manifest::parse(&published["out/report/manifest.json"]).unwrap();
    assert_eq!(manifest.data_version, 0);
    assert!(manifest.verify(|n| published.get(&format!("out/report/{n}")).cloned()));

    // The new one (csv and json only) fails at each of its writes in turn.
    let new_formats = [ReportFormat::Csv, ReportFormat::Json];
    for k in 0..5 {
        let e = block_on(report::publish_to(&new, &out_on(k), &new_formats)).unwrap_err();
        assert_eq!(e.exit_code(), 1, "{e}");
        assert_eq!(
            objects_under(&inner, "out"),
            published,
            "a write failing after {k} others changed the publication"
        );
    }

    // Then it succeeds: the new set, and nothing of the old one beside it.
    let names = block_on(report::publish_to(&new, &out_on(usize::MAX), &new_formats)).unwrap();
    assert_eq!(
        names,
        [
            "trend.csv",
            "datapackage.json",
            "trend.csv-metadata.json",
            "trend.json",
            MANIFEST
        ]
    );
    let now = objects_under(&inner, "out");
    assert_eq!(
        now.keys().cloned().collect::<Vec<_>>(),
        [
            "out/report/datapackage.json",
            "out/report/manifest.json",
            "out/report/trend.csv",
            "out/report/trend.csv-metadata.json",
            "out/report/trend.json"
        ]
    );
    let manifest = Manifest::parse(&now["out/report/manifest.json"]).unwrap();
    assert_eq!(manifest.data_version, 1);
    assert!(manifest.verify(|n| now.get(&format!("out/report/{n}")).cloned()));
    // The same store state gives the same bytes, manifest included.
    block_on(report::publish_to(&new, &out_on(usize::MAX), &new_formats)).unwrap();
    assert_eq!(objects_under(&inner, "out"), now);
}

// --- Vacuum beside running loads; loads beside each other ---------------------------------

/// Adds segment `name` to a generated wave: the spec lists it, the CSV gets a column of
/// that name with the values "small" and "large" (alternating).
fn with_segment(w: &Wave, name: &str) {
    let spec = std::fs::read_to_string(&w.spec).unwrap();
    let spec = spec.replacen(
        "group = \"dept\"\n",
        &format!("group = \"dept\"\nsegments = [\"{name}\"]\n"),
        1,
    );
    std::fs::write(&w.spec, spec).unwrap();
    let csv_path = w.spec.with_extension("csv");
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let v = match i {
            0 => name,
            i if i % 2 == 0 => "small",
            _ => "large",
        };
        out.push_str(&format!("{line},{v}\n"));
    }
    std::fs::write(&csv_path, out).unwrap();
}

/// Spawns `gaptrack ingest` on `specs` with extra environment.
fn ingest_with(b: &Backend, store: &str, specs: &[&Path], env: &[(&str, &Path)]) -> Running {
    let mut c = support::gaptrack(&b.env);
    c.args(["--store", store, "-v", "--log-format", "json", "ingest"])
        .args(specs);
    for (k, v) in env {
        c.env(k, v);
    }
    Running::spawn(c)
}

/// Waits until `n` processes have written their `.ready` file into `dir`.
fn wait_ready(dir: &Path, n: usize) {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let ready = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "ready")
            })
            .count();
        if ready >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the writers did not reach the barrier"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Every view and `gaptrack waves` answer, and each wave has the respondents it should.
fn assert_readable(d: &Cli, waves: &[&Wave], what: &str) {
    for sql in [
        "SELECT count(*) AS n FROM responses",
        "SELECT count(*) AS n FROM agreement",
        "SELECT count(*) AS n FROM gaps",
        "SELECT count(*) AS n FROM statements",
    ] {
        check(&d.query_csv(sql, None), &format!("{what}: {sql}"));
    }
    check(&d.cmd(&["waves"]), &format!("{what}: gaptrack waves"));
    let got = waves_of(d, None);
    for w in waves {
        assert_eq!(
            got.get(&w.id),
            Some(&(w.respondents as i64)),
            "{what}: {got:?}"
        );
        let o = d.query_csv(
            &format!(
                "SELECT count(*) AS n FROM responses WHERE wave = '{}'",
                w.id
            ),
            None,
        );
        assert_eq!(
            o.stdout,
            format!("n\n{}\n", w.respondents * STATEMENTS.len()),
            "{what}: rows of wave {}",
            w.id
        );
        assert_agreement(d, w);
    }
}

/// A load paused after its data commits, before its catalog commit, while
/// `vacuum --retain-hours 0 --force` runs: vacuum keeps it (a live lease holds it) and the
/// load then commits complete. Below 1 hour without `--force` vacuum refuses (exit 2).
/// After vacuum, at any retention, every query and `gaptrack waves` keep working, and no
/// table keeps an unreferenced file.
#[test]
fn vacuum_spares_a_load_paused_before_its_catalog_commit() {
    let b = Backend::local();
    let store = b.url("store");
    let d = b.cli(&store);
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 16);
    let w1b = make_wave(&data.path().join("v2"), "w1", "w1", "2021-03-31", 7, 13);
    let w2 = make_wave(data.path(), "w2", "w2", "2022-03-31", 2, 12);
    check(&d.ingest(&[&w1.spec]), "ingest w1");
    check(&d.ingest(&[&w1b.spec]), "replace w1");
    let raw = b.store(&store);

    let barrier = data.path().join("barrier");
    std::fs::create_dir_all(&barrier).unwrap();
    let p = ingest_with(
        &b,
        &store,
        &[&w2.spec],
        &[("GAPTRACK_TEST_COMMIT_BARRIER", &barrier)],
    );
    wait_ready(&barrier, 1);
    let pending: Vec<_> = raw_loads(&raw, "responses")
        .into_keys()
        .filter(|(w, _)| w == "w2")
        .collect();
    assert_eq!(pending.len(), 1, "the paused load's data is committed");

    let o = d.vacuum(&["--retain-hours", "0"]);
    assert_eq!(o.code, 2, "{}", o.both());
    assert!(
        o.stderr.contains("--force") && o.stderr.contains("1 hour"),
        "{}",
        o.both()
    );
    for args in [
        &["--retain-hours", "0", "--force", "--dry-run"][..],
        &["--retain-hours", "0", "--force"][..],
    ] {
        let o = d.vacuum(args);
        check(&o, "vacuum beside a paused load");
        assert!(
            o.stdout.contains(&format!(
                "kept load {} of wave w2: not in the catalog, but held by a load in progress",
                pending[0].1
            )),
            "{}",
            o.both()
        );
    }
    assert_eq!(
        raw_loads(&raw, "responses").get(&pending[0]).copied(),
        Some((w2.respondents * STATEMENTS.len()) as i64),
        "vacuum touched the paused load"
    );
    std::fs::write(barrier.join("go"), b"").unwrap();
    let o = p.wait(COMMAND_LIMIT);
    check(&o, "the paused load");
    assert_readable(&d, &[&w1b, &w2], "after the paused load");

    for hours in ["0", "1", "168"] {
        let o = d.vacuum(&["--retain-hours", hours, "--force"]);
        check(&o, &format!("vacuum --retain-hours {hours}"));
        assert_readable(&d, &[&w1b, &w2], &format!("after vacuum {hours}"));
    }
    assert_no_stray_rows(&raw, "after vacuum");
    for tb in gaptrack::store::DATA_TABLES.iter().chain(["waves"].iter()) {
        let left = unreferenced_files(&raw, tb);
        assert!(left.is_empty(), "{tb} keeps unreferenced files: {left:?}");
    }
}

/// `vacuum --retain-hours 0 --force` run again and again while loads replace a wave in
/// another process: no load loses a file, the current version of every table (`waves`
/// too) stays complete, and every query keeps working.
#[test]
fn vacuum_racing_loads_loses_nothing() {
    let b = Backend::local();
    let store = b.url("store");
    let d = b.cli(&store);
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 16);
    check(&d.ingest(&[&w1.spec]), "ingest w1");
    let mut vacuums = 0;
    for round in 0..6 {
        let x = make_wave(
            &data.path().join(format!("r{round}")),
            "x",
            "x",
            "2023-01-31",
            30 + round,
            1500 + 10 * round as usize,
        );
        let mut p = ingest_with(&b, &store, &[&x.spec], &[]);
        while !p.exited() {
            let o = d.vacuum(&["--retain-hours", "0", "--force"]);
            check(&o, &format!("round {round}: vacuum during a load"));
            vacuums += 1;
        }
        check(&p.wait(COMMAND_LIMIT), &format!("round {round}: load"));
        assert_readable(&d, &[&w1, &x], &format!("round {round}"));
    }
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, "last vacuum");
    assert_readable(&d, &[&w1], "after the last vacuum");
    assert_no_stray_rows(&b.store(&store), "after the last vacuum");
    println!("vacuum racing loads: {vacuums} vacuums during 6 loads");
}

/// vacuum removes only data files it can attribute: a foreign file in a table directory
/// (any name, `*.parquet` too) survives, a fresh data file that no commit added and no
/// load can be found for is kept, and the unreferenced files of a load holding a live
/// lease are kept until the lease is released; a dead process's lease holds nothing.
#[test]
fn vacuum_keeps_foreign_files_and_files_of_running_loads() {
    use gaptrack::ingest::lease;
    let b = Backend::local();
    let store = b.url("store");
    let d = b.cli(&store);
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 16);
    check(&d.ingest(&[&w1.spec]), "ingest w1");
    let root = Path::new(&store);
    let running = "20300101T000000-aaaaaaaaaaaa";
    let dead = "20300101T000000-bbbbbbbbbbbb";
    let part =
        |load: &str| format!("responses/wave=w9/load_id={load}/part-00000-{load}.zstd.parquet");
    let foreign = [
        "responses/notes.txt",
        "responses/wave=w1/README",
        "cellstats/exported.parquet",
        "waves/wave=w1/part-00000-not-committed-yet.parquet",
        "waves/copy of waves.csv",
    ];
    for f in foreign
        .iter()
        .map(|s| s.to_string())
        .chain([part(running), part(dead)])
    {
        let p = root.join(&f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"not gaptrack's").unwrap();
    }
    // A lease of a process that has exited, on this host.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let info = lease::LeaseInfo {
        wave: "w9".into(),
        load_id: dead.into(),
        replaces: None,
        host: lease::host_name(),
        pid: gone_pid,
        started_ms: 0,
    };
    let dead_lease = root.join(format!("{}/{dead}.json", lease::LEASES));
    std::fs::create_dir_all(dead_lease.parent().unwrap()).unwrap();
    std::fs::write(&dead_lease, serde_json::to_vec(&info).unwrap()).unwrap();

    let raw = b.store(&store);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let held = rt
        .block_on(lease::Lease::take(&raw, "w9", running, None))
        .unwrap();
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, "vacuum");
    for f in foreign.iter().map(|s| s.to_string()).chain([part(running)]) {
        assert!(root.join(&f).exists(), "vacuum removed {f}: {}", o.both());
    }
    assert!(!root.join(part(dead)).exists(), "{}", o.both());
    assert!(!dead_lease.exists(), "the dead lease stays");
    rt.block_on(held.release());
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, "vacuum after the release");
    assert!(!root.join(part(running)).exists(), "{}", o.both());
    for f in foreign {
        assert!(root.join(f).exists(), "vacuum removed {f}: {}", o.both());
    }
    assert_readable(&d, &[&w1], "after vacuum");
}

/// Loads of different waves that each add a new segment column, released into the same
/// table version: both succeed (the schema-only commit and the append are tried again
/// on the new version), and each wave's segment values are in `responses`. In the last
/// round the two names differ only by case: one column, the spelling stored first.
#[test]
fn new_segment_columns_of_different_waves_both_load() {
    let b = Backend::local();
    let store = b.url("store");
    let d = b.cli(&store);
    let data = tempfile::tempdir().unwrap();
    let w0 = make_wave(data.path(), "w0", "w0", "2020-03-31", 1, 10);
    check(&d.ingest(&[&w0.spec]), "ingest w0");
    let mut retried = 0;
    for round in 0..4 {
        let dir = data.path().join(format!("r{round}"));
        let a = make_wave(
            &dir,
            "a",
            &format!("a{round}"),
            "2021-01-31",
            10 + round,
            20,
        );
        let bw = make_wave(
            &dir,
            "b",
            &format!("b{round}"),
            "2022-01-31",
            20 + round,
            22,
        );
        let (sa, sb) = if round == 3 {
            ("seg3".to_string(), "SEG3".to_string())
        } else {
            (format!("sa{round}"), format!("sb{round}"))
        };
        with_segment(&a, &sa);
        with_segment(&bw, &sb);
        let barrier = dir.join("barrier");
        std::fs::create_dir_all(&barrier).unwrap();
        let env = [("GAPTRACK_TEST_RESPONSES_BARRIER", barrier.as_path())];
        let pa = ingest_with(&b, &store, &[&a.spec], &env);
        let pb = ingest_with(&b, &store, &[&bw.spec], &env);
        wait_ready(&barrier, 2);
        std::fs::write(barrier.join("go"), b"").unwrap();
        let (oa, ob) = (pa.wait(COMMAND_LIMIT), pb.wait(COMMAND_LIMIT));
        check(&oa, &format!("round {round}: a"));
        check(&ob, &format!("round {round}: b"));
        retried += retries(&oa).len() + retries(&ob).len();
        if round == 3 {
            // Where both writers staged before either added its column, the second one's
            // files held the other spelling and were written again; where one started
            // after the other's column commit, it staged with the stored spelling. Either
            // way the checks below find one column and one spelling.
            let restaged = format!("{}{}", oa.stderr, ob.stderr).contains("\"event\":\"restage\"");
            println!("round 3: files written again for the stored spelling: {restaged}");
        }
        for (w, s) in [(&a, &sa), (&bw, &sb)] {
            // segstats names the segment as `responses` spells its column.
            let o = d.query_csv(
                &format!(
                    "SELECT DISTINCT segment FROM segstats WHERE wave = '{}'",
                    w.id
                ),
                None,
            );
            let stored = rows(&o.stdout)[0]["segment"].clone();
            assert!(stored.eq_ignore_ascii_case(s), "{stored} for {s}");
            let o = d.query_csv(
                &format!(
                    "SELECT \"{stored}\" AS v, count(*) AS n FROM responses WHERE wave = '{}' GROUP BY 1 ORDER BY v",
                    w.id
                ),
                None,
            );
            let half = w.respondents * STATEMENTS.len() / 2;
            assert_eq!(
                o.stdout,
                format!("v,n\nlarge,{half}\nsmall,{half}\n"),
                "round {round}: segment {s} of wave {}: {}",
                w.id,
                o.both()
            );
        }
        assert_readable(&d, &[&w0, &a, &bw], &format!("round {round}"));
    }
    let o = d.query_csv(
        "SELECT DISTINCT segment FROM segstats WHERE lower(segment) = 'seg3'",
        None,
    );
    assert_eq!(o.stdout.lines().count(), 2, "one spelling: {}", o.both());
    println!("new segment columns: {retried} kinds of retries over 4 rounds");
}

/// Two ingests race on one wave, and the one that loads another wave too loses it: it
/// says, wave by wave, what happened, and never "nothing was written". Both have read
/// the catalog and wait at their first commit; the single-wave ingest is let go first
/// and commits, then the multi-wave one, whose first commit (wave a) is retried on the
/// new catalog and whose second (wave x) finds x loaded meanwhile. (Let go together,
/// which of the two wins is up to the machine's scheduler.)
#[test]
fn a_multi_wave_ingest_that_loses_says_what_it_loaded() {
    let b = Backend::local();
    let data = tempfile::tempdir().unwrap();
    let store = b.url("store");
    let d = b.cli(&store);
    let dir = data.path();
    let a = make_wave(dir, "a", "a", "2021-01-31", 10, 12);
    let x1 = make_wave(&dir.join("x1"), "x", "x", "2023-01-31", 30, 18);
    let x2 = make_wave(&dir.join("x2"), "x", "x", "2023-01-31", 40, 21);
    let (first, second) = (dir.join("barrier1"), dir.join("barrier2"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let barrier = "GAPTRACK_TEST_COMMIT_BARRIER";
    let p1 = ingest_with(&b, &store, &[&a.spec, &x1.spec], &[(barrier, &second)]);
    let p2 = ingest_with(&b, &store, &[&x2.spec], &[(barrier, &first)]);
    wait_ready(&first, 1);
    wait_ready(&second, 1);
    std::fs::write(first.join("go"), b"").unwrap();
    let o2 = p2.wait(COMMAND_LIMIT);
    check(&o2, "the single-wave ingest");
    std::fs::write(second.join("go"), b"").unwrap();
    let o1 = p1.wait(COMMAND_LIMIT);
    assert_eq!(o1.code, 4, "{}", o1.both());
    let err = o1
        .stderr
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or("");
    assert!(
        err.contains("wave a: loaded")
            && err.contains("wave x: not loaded: conflict")
            && !err.contains("nothing was written"),
        "{}",
        o1.both()
    );
    let waves = waves_of(&d, None);
    assert_eq!(waves["a"], a.respondents as i64);
    assert_eq!(waves["x"], x2.respondents as i64);
    assert_no_stray_rows(&b.store(&store), "after the race");
}

/// Every table is checkpointed every 10 commits, so that opening a session reads a
/// checkpoint and a few commits, not the whole log: a store of 12 waves loaded one
/// command each has a checkpoint at version 9 of each table, and answers, at its latest
/// version and `--as-of` one before the checkpoint, what the waves say.
#[test]
fn tables_are_checkpointed_every_ten_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    for k in 0..12u64 {
        let id = (2001 + k).to_string();
        let w = make_wave(
            &tmp.path().join("data"),
            &id,
            &id,
            &format!("{id}-06-01"),
            k,
            20,
        );
        let o = support::run(&store, &["ingest", w.spec.to_str().unwrap()]);
        assert!(o.status.success(), "{}", support::stderr(&o));
    }
    for table in ["waves", "responses", "cellstats", "statements"] {
        let log = store.join(table).join("_delta_log");
        let files: BTreeSet<String> = std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            files.contains("00000000000000000009.checkpoint.parquet")
                && files.contains("_last_checkpoint"),
            "{table}: {files:?}"
        );
    }
    let count = "SELECT count(*) AS waves, sum(respondents) AS respondents FROM waves";
    let o = support::run(&store, &["query", count, "--format", "csv"]);
    assert_eq!(
        support::stdout(&o),
        "waves,respondents\n12,480\n",
        "{}",
        support::stderr(&o)
    );
    let o = support::run(&store, &["query", count, "--format", "csv", "--as-of", "3"]);
    assert_eq!(
        support::stdout(&o),
        "waves,respondents\n4,160\n",
        "{}",
        support::stderr(&o)
    );
}

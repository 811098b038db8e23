//! `gaptrack serve` with real clients: ADBC Flight SQL and psycopg (Python, in
//! `GAPTRACK_PYTHON`, see tests/serve/clients.py) and `psql`, against the server binary on
//! free loopback ports. Their answers are compared with `gaptrack query --format json`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;

/// The fixture waves' spec files, sorted (2019, 2020, 2021).
fn fixture_specs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    specs
}

fn ingest(store: &Path, specs: &[PathBuf]) {
    let mut args = vec!["ingest"];
    args.extend(specs.iter().map(|p| p.to_str().unwrap()));
    let o = support::run(store, &args);
    assert!(o.status.success(), "{}", support::stderr(&o));
}

/// A running `gaptrack serve`, stopped with SIGTERM when dropped.
struct Serve {
    child: Child,
    flight: Option<String>,
    pg: Option<String>,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr");
        let mut cmd = support::bin();
        cmd.arg("--store").arg(store).arg("serve").args(args);
        cmd.env_remove("GAPTRACK_SERVE_TOKEN")
            .env_remove("GAPTRACK_SERVE_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let want = args
            .iter()
            .filter(|a| a.starts_with("--flight") || a.starts_with("--postgres"))
            .count();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut flight, mut pg) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(120);
        while flight.iter().count() + pg.iter().count() < want {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "the server did not start: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            if let Some(a) = line.trim().strip_prefix("flight: ") {
                flight = Some(a.to_string());
            }
            if let Some(a) = line.trim().strip_prefix("postgres: ") {
                pg = Some(a.to_string());
            }
        }
        Serve {
            child,
            flight,
            pg,
            stderr,
            _dir: dir,
        }
    }

    /// SIGTERM, then the exit code (killed after 20 s).
    fn stop(mut self) -> i32 {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return -1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port of the PostgreSQL listener.
    fn pg_port(&self) -> String {
        let url = self.pg.as_ref().unwrap();
        let host = url.split('@').nth(1).unwrap().split('/').next().unwrap();
        host.rsplit(':').next().unwrap().to_string()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn python() -> Option<String> {
    match std::env::var("GAPTRACK_PYTHON") {
        Ok(p) => Some(p),
        Err(_) if std::env::var("GAPTRACK_SKIP_INTEROP").is_ok_and(|v| v == "1") => None,
        Err(_) => panic!(
            "set GAPTRACK_PYTHON to a Python with adbc-driver-flightsql, pyarrow and psycopg (see .ci/run)"
        ),
    }
}

/// Runs the Python script `script` (a path in the repository) with a JSON request on its
/// standard input; its JSON answer.
fn python_json(python: &str, script: &str, request: Value) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script));
    let o = support::with_stdin(cmd, request.to_string().as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs tests/serve/clients.py with a request; its JSON answer.
fn clients(python: &str, request: Value) -> Value {
    python_json(python, "tests/serve/clients.py", request)
}

fn queries(sqls: &[(&str, &[&str])]) -> Value {
    Value::Array(
        sqls.iter()
            .map(|(s, p)| serde_json::json!({"sql": s, "params": p}))
            .collect(),
    )
}

/// `gaptrack query SQL --format json` (with `--param`s), as rows.
fn query_json(store: &Path, sql: &str, params: &[(&str, &str)]) -> Vec<Value> {
    let mut args = vec![
        "query".to_string(),
        sql.to_string(),
        "--format".into(),
        "json".into(),
    ];
    for (k, v) in params {
        args.push("--param".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = support::run(store, &args);
    assert!(o.status.success(), "{sql}: {}", support::stderr(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A value in a form both sides agree on: numbers as f64 to 10 significant digits (sums
/// over partitions may differ in the last bits from run to run), times without their
/// zone mark.
fn norm(v: &Value) -> Value {
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            serde_json::json!(format!("{x:.9e}").parse::<f64>().unwrap())
        }
        Value::String(s) => {
            let s = s.replace(' ', "T");
            let s = s
                .strip_suffix('Z')
                .or_else(|| s.strip_suffix("+00:00"))
                .unwrap_or(&s);
            Value::String(s.to_string())
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

/// Rows in a canonical order (a view has no order of its own).
fn canonical(rows: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = rows.iter().map(|r| norm(r).to_string()).collect();
    out.sort();
    out
}

fn rows_of<'a>(answer: &'a Value, client: &str, i: usize) -> &'a Vec<Value> {
    let r = &answer[client][i];
    r["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{client} query {i}: {r}"))
}

const VIEWS: &[&str] = &[
    "agreement",
    "agreement_by_segment",
    "gaps",
    "gaps_by_segment",
    "gap_trend",
    "gap_vs_baseline",
    "gap_slope",
    "agreement_slope",
    "statements",
    "cellstats",
    "weighting",
    "settings",
];

/// Every view read over Flight SQL (ADBC) and over PostgreSQL (psycopg) equals
/// `gaptrack query --format json`, a prepared statement with a parameter included, and
/// the server stops on SIGTERM with exit 0.
#[test]
fn clients_read_every_view_as_query_does() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let serve = Serve::start(
        &store,
        &["--flight", "127.0.0.1:0", "--postgres", "127.0.0.1:0"],
        &[],
    );

    let stmt = query_json(
        &store,
        "SELECT statement FROM gaps ORDER BY statement LIMIT 1",
        &[],
    )[0]["statement"]
        .as_str()
        .unwrap()
        .to_string();
    let param_sql = "SELECT * FROM gaps WHERE statement = $1";
    let mut qs: Vec<(String, Vec<String>)> = VIEWS
        .iter()
        .map(|v| (format!("SELECT * FROM {v}"), vec![]))
        .collect();
    qs.push((param_sql.to_string(), vec![stmt.clone()]));
    let request = serde_json::json!({
        "flight": serve.flight,
        "pg": serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")),
        "queries": qs.iter().map(|(s, p)| serde_json::json!({"sql": s, "params": p})).collect::<Vec<_>>(),
    });
    let answer = clients(&py, request);
    for (i, (sql, params)) in qs.iter().enumerate() {
        let expected = if params.is_empty() {
            query_json(&store, sql, &[])
        } else {
            query_json(&store, &sql.replace("$1", "$s"), &[("s", &stmt)])
        };
        assert!(
            !expected.is_empty() || sql.contains("settings") || i < VIEWS.len(),
            "{sql}"
        );
        for client in ["flight", "pg"] {
            assert_eq!(
                canonical(rows_of(&answer, client, i)),
                canonical(&expected),
                "{client}: {sql}"
            );
        }
    }
    // The parameter narrowed the rows.
    let all = query_json(&store, "SELECT * FROM gaps", &[]).len();
    assert!(rows_of(&answer, "flight", VIEWS.len()).len() < all);
    // Flight results use the plain string type every Arrow reader knows.
    let types = answer["flight"][2]["types"].as_array().unwrap();
    assert!(types.iter().all(|t| t != "string_view"), "{types:?}");
    assert_eq!(serve.stop(), 0);
}

/// Writes, file reads and COPY are refused over both protocols with `query`'s message,
/// and harmless session statements are answered.
#[test]
fn writes_are_refused_over_both_protocols() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs()[..1]);
    let before = support::snapshot(&store);
    let serve = Serve::start(
        &store,
        &["--flight", "127.0.0.1:0", "--postgres", "127.0.0.1:0"],
        &[],
    );
    let writes: &[(&str, &[&str])] = &[
        ("CREATE TABLE x AS SELECT 1 AS a", &[]),
        ("INSERT INTO settings VALUES (1, 1, 'kish', 1)", &[]),
        ("DROP VIEW gaps", &[]),
        ("COPY (SELECT 1) TO '/tmp/gaptrack-serve-copy.csv'", &[]),
        (
            "CREATE EXTERNAL TABLE f STORED AS CSV LOCATION '/etc/passwd'",
            &[],
        ),
        ("SET datafusion.execution.batch_size = 1", &[]),
    ];
    let answer = clients(
        &py,
        serde_json::json!({"flight": serve.flight, "pg": serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")), "queries": queries(writes)}),
    );
    for client in ["flight", "pg"] {
        for (i, (sql, _)) in writes.iter().enumerate() {
            let err = answer[client][i]["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{client}: {sql} was not refused"));
            assert!(err.contains("read-only"), "{client}: {sql}: {err}");
        }
    }
    assert!(!Path::new("/tmp/gaptrack-serve-copy.csv").exists());
    // psql: session statements answered, a write refused.
    let psql = |sql: &str| {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &serve.pg_port(),
                "-U",
                "gaptrack",
                "-d",
                "gaptrack",
                "-X",
                "-A",
                "-t",
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "20")
            .output()
            .expect("psql (Debian postgresql-client; .ci/run installs it)")
    };
    let o = psql("SET extra_float_digits = 3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = psql("SHOW transaction isolation level");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "read committed");
    let o = psql("DELETE FROM settings");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("read-only"));
    assert_eq!(support::snapshot(&store), before, "the store was changed");
    assert_eq!(serve.stop(), 0);
}

/// `psql`'s `\dt`, `\dv` and `\d gaps` describe the session; a SELECT answers as `query`.
#[test]
fn psql_lists_and_describes_the_views() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let serve = Serve::start(&store, &["--postgres", "127.0.0.1:0"], &[]);
    let psql = |cmd: &str| {
        let o = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &serve.pg_port(),
                "-U",
                "gaptrack",
                "-d",
                "gaptrack",
                "-X",
                "-c",
                cmd,
            ])
            .env("PGCONNECT_TIMEOUT", "20")
            .output()
            .expect("psql (Debian postgresql-client; .ci/run installs it)");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{cmd}: {}{out}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    let dt = psql("\\dt");
    assert!(dt.contains("settings") && dt.contains("table"), "{dt}");
    assert!(!dt.contains("gap_trend"), "{dt}");
    let dv = psql("\\dv");
    for v in ["gaps", "gap_trend", "agreement", "waves"] {
        assert!(
            dv.lines()
                .any(|l| l.contains(&format!(" {v} ")) && l.contains("view")),
            "{v}: {dv}"
        );
    }
    let d = psql("\\d gaps");
    assert!(d.contains("View \"public.gaps\""), "{d}");
    // Every column of the view, with its PostgreSQL type.
    let cols = query_json(&store, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'gaps' AND table_schema = 'public' ORDER BY ordinal_position", &[]);
    assert!(cols.len() > 5);
    for c in &cols {
        let name = c["column_name"].as_str().unwrap();
        assert!(
            d.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{name}: {d}"
        );
    }
    assert!(d.contains("double precision") && d.contains("text"), "{d}");
    let n = psql("SELECT count(*) AS n FROM gap_trend");
    let expected =
        query_json(&store, "SELECT count(*) AS n FROM gap_trend", &[])[0]["n"].to_string();
    assert!(n.lines().any(|l| l.trim() == expected), "{n} vs {expected}");
    assert_eq!(serve.stop(), 0);
}

/// Runs tests/serve/replays/replay.py with a request; its JSON answer.
fn replay(python: &str, request: Value) -> Value {
    python_json(python, "tests/serve/replays/replay.py", request)
}

/// The values of one column of a replayed statement's answer.
fn column<'a>(result: &'a Value, name: &str) -> Vec<&'a Value> {
    let answer = &result["extended"];
    let i = answer["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|c| c == name))
        .unwrap_or_else(|| panic!("no column {name}: {result}"));
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r[i])
        .collect()
}

/// The catalog statements pgjdbc, DBeaver and Metabase send on connect and while browsing
/// (tests/serve/replays, verbatim from their sources) succeed over the extended and the
/// simple protocol with the same answers, and the answers describe the session: `gaps`
/// is a view of `public`, with the columns `gaptrack query` lists.
#[test]
fn bi_clients_metadata_queries_replay() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let serve = Serve::start(&store, &["--postgres", "127.0.0.1:0"], &[]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/replays");
    let files: Vec<String> = ["pgjdbc.sql", "dbeaver.sql", "metabase.sql"]
        .iter()
        .map(|f| dir.join(f).to_str().unwrap().to_string())
        .collect();
    let dsn = format!(
        "host=127.0.0.1 port={} user=gaptrack dbname=gaptrack",
        serve.pg_port()
    );
    let answer = replay(&python, serde_json::json!({"dsn": dsn, "files": files}));
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 41 + 28 + 19);
    // Statements known to fail, as (file, index): none.
    let known_gaps: Vec<(String, u64)> = vec![];
    let failed: Vec<(String, u64)> = results
        .iter()
        .filter(|r| r["extended"].get("error").is_some() || r["simple"].get("error").is_some())
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["index"].as_u64().unwrap(),
            )
        })
        .collect();
    let errors: Vec<&Value> = results
        .iter()
        .filter(|r| r["extended"].get("error").is_some() || r["simple"].get("error").is_some())
        .collect();
    assert_eq!(failed, known_gaps, "{errors:#?}");
    for r in results {
        assert_eq!(r["extended"], r["simple"], "{}", r["sql"]);
    }
    let find = |file: &str, needle: &str| -> Vec<&Value> {
        results
            .iter()
            .filter(|r| r["file"] == file && r["sql"].as_str().unwrap().contains(needle))
            .collect()
    };
    let one = |r: &Value| -> Value { r["extended"]["rows"][0][0].clone() };

    // The session's catalog, schema and user.
    for r in find("pgjdbc.sql", "select current_catalog") {
        assert_eq!(one(r), "gaptrack");
    }
    assert_eq!(
        one(find("pgjdbc.sql", "select current_schema()")[0]),
        "public"
    );
    let user = &find("dbeaver.sql", "SELECT current_schema(),session_user")[0]["extended"];
    assert_eq!(user["rows"][0], serde_json::json!(["public", "gaptrack"]));

    // pgjdbc getTables for public.gaps: one VIEW; for public.%: every relation of public.
    let get_tables = find("pgjdbc.sql", "AND c.relname LIKE 'gaps' ORDER BY");
    assert_eq!(get_tables.len(), 3);
    for r in get_tables {
        let rows = r["extended"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{r}");
        assert_eq!(
            rows[0].as_array().unwrap()[1..4],
            [Value::from("public"), "gaps".into(), "VIEW".into()]
        );
    }
    let public: Vec<Value> = query_json(&store, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name", &[])
        .iter()
        .map(|r| r["table_name"].clone())
        .collect();
    for r in find("pgjdbc.sql", "AND c.relname LIKE '%'") {
        // pgjdbc 42.7.3 leaves its column names unquoted: lower case.
        let quoted = r["extended"]["columns"][2] == "TABLE_NAME";
        let key = if quoted { "TABLE_NAME" } else { "table_name" };
        let mut names: Vec<Value> = column(r, key).into_iter().cloned().collect();
        names.sort_by_key(|v| v.to_string());
        assert_eq!(names, public, "{}", r["sql"]);
    }

    // getColumns of gaps: the columns `gaptrack query` lists, in order.
    let columns: Vec<Value> = query_json(&store, "SELECT column_name FROM information_schema.columns WHERE table_name = 'gaps' AND table_schema = 'public' ORDER BY ordinal_position", &[])
        .iter()
        .map(|r| r["column_name"].clone())
        .collect();
    assert!(columns.len() > 5);
    let get_columns = find("pgjdbc.sql", "c.relname LIKE 'gaps') c WHERE true");
    assert_eq!(get_columns.len(), 4);
    for r in get_columns {
        let names: Vec<Value> = column(r, "attname").into_iter().cloned().collect();
        assert_eq!(names, columns, "{}", r["sql"]);
    }

    // DBeaver's relations of schema public (oid 2200) hold the view gaps.
    let dbeaver_tables = find("dbeaver.sql", "WHERE c.relnamespace=2200 AND c.relkind");
    assert_eq!(dbeaver_tables.len(), 2);
    for r in dbeaver_tables {
        let names = column(r, "relname");
        let kinds = column(r, "relkind");
        let gaps = names.iter().position(|n| *n == "gaps");
        assert!(gaps.is_some_and(|i| kinds[i] == "v"), "{r}");
        assert!(column(r, "relnamespace").iter().all(|n| **n == 2200));
    }
    let viewdef = one(find("dbeaver.sql", "SELECT pg_get_viewdef(")[0]);
    assert!(
        viewdef.as_str().is_some_and(|d| d.contains("SELECT")),
        "{viewdef}"
    );

    // Metabase's sync of gaps: a VIEW, with the same columns.
    let mb_tables = &find("metabase.sql", "(\"c\".\"relname\" IN ('gaps'))")[0];
    assert_eq!(
        mb_tables["extended"]["rows"],
        serde_json::json!([["public", "gaps", "VIEW", null, null]])
    );
    let mb_fields = find("metabase.sql", "(\"c\".\"table_name\" IN ('gaps'))");
    let names: Vec<Value> = column(mb_fields[0], "name").into_iter().cloned().collect();
    assert_eq!(names, columns);
    assert_eq!(serve.stop(), 0);
}

/// On an address beyond loopback the server refuses to start without credentials; with
/// them, a client without the token or password is refused and one with it is answered.
#[test]
fn non_loopback_needs_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs()[..1]);
    for flag in ["--flight", "--postgres"] {
        let o = support::bin()
            .arg("--store")
            .arg(&store)
            .args(["serve", flag, "0.0.0.0:0"])
            .env_remove("GAPTRACK_SERVE_TOKEN")
            .env_remove("GAPTRACK_SERVE_PASSWORD")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", support::stderr(&o));
        assert!(
            support::stderr(&o).contains("authentication"),
            "{}",
            support::stderr(&o)
        );
    }
    let Some(py) = python() else { return };
    let token = "flight-secret-7f3a";
    let password = "pg-secret-9c1d";
    let serve = Serve::start(
        &store,
        &["--flight", "0.0.0.0:0", "--postgres", "0.0.0.0:0"],
        &[
            ("GAPTRACK_SERVE_TOKEN", token),
            ("GAPTRACK_SERVE_PASSWORD", password),
        ],
    );
    // Clients connect through loopback only.
    let local = |a: &str| {
        a.replace("0.0.0.0", "127.0.0.1")
            .replace("?sslmode=disable", "")
    };
    let flight = local(serve.flight.as_ref().unwrap());
    let pg = local(serve.pg.as_ref().unwrap());
    let q = queries(&[("SELECT count(*) AS n FROM settings", &[])]);
    let refused = clients(
        &py,
        serde_json::json!({"flight": flight, "pg": pg, "queries": q}),
    );
    assert!(
        refused["flight"][0]["error"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("unauthenticated"),
        "{refused}"
    );
    assert!(refused["pg"][0]["error"].as_str().is_some(), "{refused}");
    let wrong = clients(
        &py,
        serde_json::json!({"flight": flight, "token": "nope", "pg": pg.replace("gaptrack@", "gaptrack:nope@"), "queries": q}),
    );
    assert!(
        wrong["flight"][0]["error"].is_string() && wrong["pg"][0]["error"].is_string(),
        "{wrong}"
    );
    let ok = clients(
        &py,
        serde_json::json!({"flight": flight, "token": token, "pg": pg.replace("gaptrack@", &format!("gaptrack:{password}@")), "queries": q}),
    );
    assert_eq!(ok["flight"][0]["rows"][0]["n"], 1, "{ok}");
    assert_eq!(ok["pg"][0]["rows"][0]["n"], 1, "{ok}");
    let log = std::fs::read_to_string(&serve.stderr).unwrap();
    assert!(
        !log.contains(token) && !log.contains(password),
        "a secret was logged"
    );
    assert_eq!(serve.stop(), 0);
}

/// A wave ingested while the server runs is in the next query; `--as-of` pins a version.
/// With `--tls-cert`/`--tls-key` both protocols are encrypted: ADBC over `grpc+tls`
/// trusting the server's certificate, psql with `sslmode=verify-full`; a plaintext Flight
/// SQL client is not answered.
#[test]
fn both_protocols_speak_tls() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-addext"])
        .arg("subjectAltName=IP:127.0.0.1,DNS:localhost")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian openssl; .ci/run installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let serve = Serve::start(
        &store,
        &[
            "--flight",
            "127.0.0.1:0",
            "--postgres",
            "127.0.0.1:0",
            "--tls-cert",
            c,
            "--tls-key",
            k,
        ],
        &[],
    );
    let flight = serve.flight.clone().unwrap();
    assert!(flight.starts_with("grpc+tls://"), "{flight}");
    assert!(
        serve.pg.as_ref().unwrap().ends_with("sslmode=require"),
        "{:?}",
        serve.pg
    );
    let q = queries(&[("SELECT count(*) AS n FROM gaps", &[])]);
    let want = query_json(&store, "SELECT count(*) AS n FROM gaps", &[])[0]["n"].clone();
    let r = clients(
        &py,
        serde_json::json!({"flight": flight, "tls_root": c, "queries": q}),
    );
    assert_eq!(r["flight"][0]["rows"][0]["n"], want, "{r}");
    // Without TLS the Flight SQL listener does not answer.
    let plain = flight.replace("grpc+tls://", "grpc://");
    let r = clients(&py, serde_json::json!({"flight": plain, "queries": q}));
    assert!(r["flight"][0]["error"].is_string(), "{r}");
    // psql, verifying the certificate and the host name.
    let conninfo = format!(
        "host=127.0.0.1 port={} user=gaptrack dbname=gaptrack sslmode=verify-full sslrootcert={c}",
        serve.pg_port()
    );
    let o = Command::new("psql")
        .args([
            &conninfo,
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM gaps",
            "-c",
            "\\conninfo",
        ])
        .env("PGCONNECT_TIMEOUT", "20")
        .output()
        .expect("psql (Debian postgresql-client; .ci/run installs it)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{}{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out.lines().next().unwrap(), want.to_string(), "{out}");
    assert!(out.contains("SSL connection (protocol: TLSv1.3"), "{out}");
    assert_eq!(serve.stop(), 0);
}

#[test]
fn a_new_wave_is_visible_to_the_next_query() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let specs = fixture_specs();
    ingest(&store, &specs[..2]);
    let serve = Serve::start(
        &store,
        &["--flight", "127.0.0.1:0", "--postgres", "127.0.0.1:0"],
        &[],
    );
    let pinned = Serve::start(&store, &["--flight", "127.0.0.1:0", "--as-of", "0"], &[]);
    let q = queries(&[("SELECT count(DISTINCT wave) AS n FROM gaps", &[])]);
    let ask = |s: &Serve| {
        clients(
            &py,
            serde_json::json!({"flight": s.flight, "pg": s.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")), "queries": q}),
        )
    };
    let a = ask(&serve);
    assert_eq!(a["flight"][0]["rows"][0]["n"], 2, "{a}");
    // Asked again: the same answer (from the result cache), on both protocols.
    assert_eq!(ask(&serve), a);
    // A statement calling random() is never kept: two calls, two values.
    let twice = queries(&[("SELECT random() AS r", &[]), ("SELECT random() AS r", &[])]);
    let r = clients(
        &py,
        serde_json::json!({"flight": serve.flight, "pg": serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")), "queries": twice}),
    );
    for client in ["flight", "pg"] {
        assert_ne!(
            r[client][0]["rows"][0]["r"], r[client][1]["rows"][0]["r"],
            "{r}"
        );
    }
    ingest(&store, &specs[2..]);
    let b = ask(&serve);
    assert_eq!(b["flight"][0]["rows"][0]["n"], 3, "{b}");
    assert_eq!(b["pg"][0]["rows"][0]["n"], 3, "{b}");
    let p = ask(&pinned);
    let expected =
        query_json(&store, "SELECT count(DISTINCT wave) AS n FROM gaps", &[])[0]["n"].clone();
    assert_eq!(expected, 3);
    let at0 = {
        let o = support::run(
            &store,
            &[
                "query",
                "SELECT count(DISTINCT wave) AS n FROM gaps",
                "--as-of",
                "0",
                "--format",
                "json",
            ],
        );
        serde_json::from_slice::<Value>(&o.stdout).unwrap()[0]["n"].clone()
    };
    assert_eq!(p["flight"][0]["rows"][0]["n"], at0, "{p}");
    // A connection of the live server pins itself to version 0: with a Flight SQL
    // header or PostgreSQL startup options, or with SET over PostgreSQL.
    let pinned_conn = clients(
        &py,
        serde_json::json!({"flight": serve.flight, "pg": serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")), "as_of": "0", "queries": q}),
    );
    for client in ["flight", "pg"] {
        assert_eq!(
            pinned_conn[client][0]["rows"][0]["n"], at0,
            "{client}: {pinned_conn}"
        );
    }
    let set = queries(&[
        ("SHOW gaptrack.as_of", &[]),
        ("SET gaptrack.as_of = 0", &[]),
        ("SHOW gaptrack.as_of", &[]),
        ("SELECT count(DISTINCT wave) AS n FROM gaps", &[]),
        ("RESET gaptrack.as_of", &[]),
        ("SELECT count(DISTINCT wave) AS n FROM gaps", &[]),
        ("SET gaptrack.as_of = 'yesterday'", &[]),
        ("SET gaptrack.as_of = 999", &[]),
        ("SELECT count(DISTINCT wave) AS n FROM gaps", &[]),
    ]);
    let r = clients(
        &py,
        serde_json::json!({"pg": serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", "")), "queries": set}),
    );
    let pg = &r["pg"];
    assert_eq!(pg[0]["rows"][0]["gaptrack.as_of"], "latest", "{r}");
    assert_eq!(pg[2]["rows"][0]["gaptrack.as_of"], "0", "{r}");
    assert_eq!(pg[3]["rows"][0]["n"], at0, "{r}");
    assert_eq!(pg[5]["rows"][0]["n"], 3, "{r}");
    assert!(
        pg[6]["error"]
            .as_str()
            .unwrap()
            .contains("is not a version number"),
        "{r}"
    );
    assert!(
        pg[8]["error"].is_string(),
        "a version the store does not have: {r}"
    );
    assert_eq!(serve.stop(), 0);
    assert_eq!(pinned.stop(), 0);
}

/// A query over the per-query memory limit fails alone: another client is answered
/// while it runs, and after it.
#[test]
fn a_query_over_the_memory_limit_fails_alone() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let serve = Serve::start(
        &store,
        &[
            "--flight",
            "127.0.0.1:0",
            "--postgres",
            "127.0.0.1:0",
            "--query-memory",
            "16M",
        ],
        &[("GAPTRACK_SPILL_LIMIT", "0")],
    );
    let heavy = "SELECT a.respondent, b.respondent, array_agg(a.value) AS v FROM responses a CROSS JOIN responses b GROUP BY 1, 2";
    let light = "SELECT count(*) AS n FROM gap_trend";
    let flight = serve.flight.clone();
    let pg = serve.pg.as_ref().map(|u| u.replace("?sslmode=disable", ""));
    let py2 = py.clone();
    let heavy_run = std::thread::spawn(move || {
        clients(
            &py2,
            serde_json::json!({"flight": flight, "queries": queries(&[(heavy, &[])])}),
        )
    });
    let during = clients(
        &py,
        serde_json::json!({"pg": pg, "queries": queries(&[(light, &[])])}),
    );
    let heavy_answer = heavy_run.join().unwrap();
    let err = heavy_answer["flight"][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{heavy_answer}"));
    assert!(err.contains("--query-memory"), "{err}");
    let expected = query_json(&store, light, &[]);
    assert_eq!(canonical(rows_of(&during, "pg", 0)), canonical(&expected));
    let after = clients(
        &py,
        serde_json::json!({"flight": serve.flight, "queries": queries(&[(light, &[])])}),
    );
    assert_eq!(
        canonical(rows_of(&after, "flight", 0)),
        canonical(&expected)
    );
    assert_eq!(serve.stop(), 0);
}

/// A query longer than `--query-timeout` is cancelled with its own error (SQLSTATE
/// 57014 over PostgreSQL) while the server keeps answering; a connection beyond
/// `--max-connections` is closed at once and logged, and the next one after a place frees
/// is served.
#[test]
fn long_queries_time_out_and_connections_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    ingest(&store, &fixture_specs());
    let serve = Serve::start(
        &store,
        &[
            "--postgres",
            "127.0.0.1:0",
            "--query-timeout",
            "1",
            "--max-connections",
            "1",
        ],
        &[],
    );
    let port = serve.pg_port();
    let psql = |args: &[&str]| {
        let mut c = Command::new("psql");
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "gaptrack",
            "-d",
            "gaptrack",
            "-X",
            "-A",
            "-t",
        ])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10");
        c
    };
    // Three responses tables crossed: far longer than a second.
    let slow = "SELECT count(*) FROM responses a CROSS JOIN responses b CROSS JOIN responses c";
    let started = Instant::now();
    let o = psql(&["-v", "VERBOSITY=verbose", "-c", slow])
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "the slow query finished: {err}");
    assert!(
        err.contains("57014") && err.contains("--query-timeout"),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let o = psql(&["-c", "SELECT count(*) FROM waves"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "3");

    // One connection held open (psql waits in a shell command between two queries).
    let held = psql(&["-c", "SELECT 1", "-c", "\\! sleep 4", "-c", "SELECT 2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let o = psql(&["-c", "SELECT 3"]).output().unwrap();
    assert!(!o.status.success(), "a second connection was served");
    let held = held.wait_with_output().unwrap();
    assert!(held.status.success());
    assert_eq!(String::from_utf8_lossy(&held.stdout).trim(), "1\n2");
    let o = psql(&["-c", "SELECT 4"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "4");
    let log = std::fs::read_to_string(&serve.stderr).unwrap();
    assert!(
        log.contains("too many connections (--max-connections)"),
        "{log}"
    );
    assert_eq!(serve.stop(), 0);
}

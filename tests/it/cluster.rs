//! `gaptrack cluster` and `--cluster`: a Ballista scheduler and two executors on
//! loopback (separate processes), the store on local disk and on S3 (moto); every answer
//! equals the local session's, `EXPLAIN` shows the stages, and an executor killed in the
//! middle of a query never turns into a wrong answer.

use std::path::Path;
use std::time::Duration;

use crate::support::{self, free_port, gaptrack, run_gaptrack, Out, Running};

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// A scheduler and `executors` executors on loopback with `env`, stopped when dropped.
struct Cluster {
    scheduler: Option<Running>,
    executors: Vec<Option<Running>>,
    url: String,
}

fn wait_listening(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    fn start(env: &[(String, String)], executors: usize) -> Cluster {
        let port = free_port();
        let mut c = gaptrack(env);
        c.args([
            "cluster",
            "scheduler",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ]);
        let scheduler = Some(Running::spawn(c));
        wait_listening(port, "the scheduler");
        let executors = (0..executors)
            .map(|_| {
                let (data, tasks) = (free_port(), free_port());
                let mut c = gaptrack(env);
                c.args([
                    "cluster",
                    "executor",
                    "--scheduler",
                    &format!("127.0.0.1:{port}"),
                    "--bind",
                    &format!("127.0.0.1:{data}"),
                    "--grpc-port",
                    &tasks.to_string(),
                    "--concurrent-tasks",
                    "2",
                ]);
                let e = Running::spawn(c);
                wait_listening(data, "an executor");
                wait_listening(tasks, "an executor");
                Some(e)
            })
            .collect();
        Cluster {
            scheduler,
            executors,
            url: format!("df://127.0.0.1:{port}"),
        }
    }

    /// Kills executor `i` (SIGKILL).
    fn kill_executor(&mut self, i: usize) {
        if let Some(e) = self.executors[i].take() {
            e.kill9();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for e in self.executors.iter_mut().filter_map(Option::take) {
            e.kill9();
        }
        if let Some(s) = self.scheduler.take() {
            s.kill9();
        }
    }
}

/// `gaptrack query SQL --format csv` on `store`, locally or on `cluster`.
fn query(env: &[(String, String)], store: &str, cluster: Option<&str>, sql: &str) -> Out {
    let mut args = vec!["--store", store];
    if let Some(c) = cluster {
        args.extend(["--cluster", c]);
    }
    args.extend(["query", sql, "--format", "csv"]);
    run_gaptrack(env, &args)
}

/// The rows of a CSV answer, sorted (a view has no order of its own).
fn rows(o: &Out, what: &str) -> Vec<String> {
    assert_eq!(o.code, 0, "{what}: {}", o.both());
    let mut r: Vec<String> = o.stdout.lines().map(str::to_string).collect();
    r.sort();
    r
}

/// The statements the issue names, and an ad-hoc query of the microdata.
const QUERIES: &[&str] = &[
    "agreement",
    "gaps",
    "gap_trend",
    "gap_vs_baseline",
    "scores",
    "SELECT wave, grp, statement, count(*) AS n, sum(weight) AS w, \
     sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS share \
     FROM responses WHERE value IS NOT NULL GROUP BY wave, grp, statement",
    "SELECT r.wave, w.date, count(DISTINCT r.respondent) FROM responses r \
     JOIN waves w ON r.wave = w.wave GROUP BY r.wave, w.date",
];

/// The same rows: every field equal, numbers to the last bits a different order of
/// summation can change (1e-12 relative; the stages of a cluster add the same terms in
/// another order than one process does).
fn assert_same_rows(local: &[String], remote: &[String], what: &str) {
    assert_eq!(local.len(), remote.len(), "{what}: row counts differ");
    for (a, b) in local.iter().zip(remote) {
        let (fa, fb): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        let same = fa.len() == fb.len()
            && fa.iter().zip(&fb).all(|(x, y)| {
                x == y
                    || matches!((x.parse::<f64>(), y.parse::<f64>()),
                        (Ok(p), Ok(q)) if (p - q).abs() <= 1e-12 * p.abs().max(q.abs()))
            });
        assert!(same, "{what}: the cluster's answer differs:\n{a}\n{b}");
    }
}

fn assert_same_answers(env: &[(String, String)], store: &str, cluster: &Cluster) {
    for sql in QUERIES {
        let local = rows(&query(env, store, None, sql), sql);
        let remote = rows(&query(env, store, Some(&cluster.url), sql), sql);
        assert!(local.len() > 1, "{sql}: no rows");
        assert_same_rows(&local, &remote, sql);
    }
}

fn ingest(env: &[(String, String)], store: &str, dir: &Path) {
    let mut args = vec!["--store".to_string(), store.to_string(), "ingest".into()];
    let mut specs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    specs.sort();
    args.extend(specs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run_gaptrack(env, &args);
    assert_eq!(o.code, 0, "{}", o.both());
}

/// A store on local disk holding the fixture waves (kept while the directory lives).
fn fixture_store() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let waves = support::fixture_copy(tmp.path());
    let store = tmp.path().join("store").display().to_string();
    ingest(&[], &store, &waves);
    (tmp, store)
}

/// A store on local disk: the views, an ad-hoc query and a join equal the local answers;
/// `EXPLAIN` shows Ballista's stages; `report --cluster` publishes the same tables;
/// a scheduler nobody listens on is a clear error.
#[test]
fn cluster_answers_as_the_local_session() {
    let (tmp, store) = fixture_store();
    ingest(&[], &store, &support::panel());
    let cluster = Cluster::start(&[], 2);
    assert_same_answers(&[], &store, &cluster);
    for sql in ["score_trend", "gap_slope"] {
        let local = rows(&query(&[], &store, None, sql), sql);
        let remote = rows(&query(&[], &store, Some(&cluster.url), sql), sql);
        assert_same_rows(&local, &remote, sql);
    }

    let explain = "EXPLAIN SELECT wave, grp, count(*) FROM responses GROUP BY wave, grp";
    let o = query(&[], &store, Some(&cluster.url), explain);
    assert_eq!(o.code, 0, "{}", o.both());
    assert!(o.stdout.contains("distributed_plan"), "{}", o.stdout);
    assert!(o.stdout.contains("ShuffleWriterExec"), "{}", o.stdout);
    let o = query(&[], &store, None, explain);
    assert!(!o.stdout.contains("distributed_plan"), "{}", o.stdout);

    // The report's tables, from the cluster and locally.
    for (out, cluster) in [("local", None), ("remote", Some(cluster.url.as_str()))] {
        let dir = tmp.path().join(out).display().to_string();
        let mut args = vec!["--store", &store];
        if let Some(c) = cluster {
            args.extend(["--cluster", c]);
        }
        args.extend(["report", "--out", &dir, "--formats", "csv,json"]);
        let o = run_gaptrack(&[], &args);
        assert_eq!(o.code, 0, "{}", o.both());
    }
    let read = |d: &str| -> Vec<String> {
        let text = std::fs::read_to_string(tmp.path().join(d).join("trend.csv")).unwrap();
        text.lines().map(str::to_string).collect()
    };
    assert_same_rows(&read("local"), &read("remote"), "trend.csv");

    // GAPTRACK_CLUSTER says the same as --cluster.
    let o = query(
        &[kv("GAPTRACK_CLUSTER", &cluster.url)],
        &store,
        None,
        &format!("{explain};"),
    );
    assert!(o.stdout.contains("distributed_plan"), "{}", o.both());

    // Nobody listens there.
    let o = query(
        &[],
        &store,
        Some(&format!("df://127.0.0.1:{}", free_port())),
        "gaps",
    );
    assert_eq!(o.code, 1, "{}", o.both());
    assert!(o.stderr.contains("127.0.0.1"), "{}", o.both());
}

/// The store on S3 (moto): the executors read it with the credentials of their own
/// environment, and answer as the local session does.
#[test]
fn cluster_reads_a_store_on_s3() {
    let server = support::moto();
    support::create_bucket(&server, "cluster");
    let env = vec![
        kv("AWS_ENDPOINT_URL", &server.endpoint()),
        kv("AWS_ALLOW_HTTP", "true"),
        kv("AWS_ACCESS_KEY_ID", "testing"),
        kv("AWS_SECRET_ACCESS_KEY", "testing"),
        kv("AWS_REGION", "eu-west-1"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let waves = support::fixture_copy(tmp.path());
    let store = "s3://cluster/tracker";
    ingest(&env, store, &waves);
    let cluster = Cluster::start(&env, 2);
    assert_same_answers(&env, store, &cluster);
    // Executors without credentials cannot read it: an error, not an empty answer.
    let bare = Cluster::start(&[kv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], 1);
    let o = query(
        &env,
        store,
        Some(&bare.url),
        "SELECT count(*) FROM responses",
    );
    assert_ne!(o.code, 0, "{}", o.both());
}

/// An executor killed while a query runs: the query fails with an error, or Ballista
/// re-runs the lost tasks on the other executor and the answer is exact; never a wrong
/// answer.
#[test]
fn a_killed_executor_never_gives_a_wrong_answer() {
    let (_tmp, store) = fixture_store();
    // A self-join of the microdata: long enough to be killed in the middle.
    let sql = "SELECT a.wave, a.statement, count(*) AS pairs, sum(a.value * b.value) AS s \
               FROM responses a JOIN responses b \
               ON a.statement = b.statement AND a.wave = b.wave \
               GROUP BY a.wave, a.statement";
    let expected = rows(&query(&[], &store, None, sql), "local");
    let mut failed = 0;
    for delay in [50u64, 200, 500] {
        let mut cluster = Cluster::start(&[], 2);
        let mut c = gaptrack(&[]);
        c.args([
            "--store",
            &store,
            "--cluster",
            &cluster.url,
            "query",
            sql,
            "--format",
            "csv",
        ]);
        let running = Running::spawn(c);
        std::thread::sleep(Duration::from_millis(delay));
        cluster.kill_executor(0);
        let o = running.wait(support::COMMAND_LIMIT);
        if o.code == 0 {
            assert_same_rows(
                &expected,
                &rows(&o, sql),
                &format!("killed after {delay} ms"),
            );
        } else {
            failed += 1;
            assert!(o.stderr.starts_with("error: "), "{}", o.both());
            assert!(
                o.stdout.is_empty(),
                "a failed query printed rows: {}",
                o.both()
            );
        }
    }
    eprintln!("{failed} of 3 queries failed, the others were exact");
}

//! Transient faults between gaptrack and S3: a proxy on 127.0.0.1 in front of moto fails
//! a fixed share of the requests (503 Slow Down; connection closed before the request is
//! forwarded; request forwarded and acted on, then the connection closed without an
//! answer, so that a conditional PUT of a commit that did land is retried and finds its
//! own commit). Every command either succeeds with the results of a fault-free run on
//! another store, or fails cleanly: exit 1 (or 4), one `error:` line, no credential, and
//! the store readable at its previous state (or, for an ingest whose commit landed
//! before the failure, at the next one: the command is then safe to run again).

use super::*;
use crate::support::{FaultProxy, FaultStats};

const KEY: &str = "GAPTRACKFAULTKEY0001";
const SECRET: &str = "gaptrack-fault-secret-0001";

/// Everything a reader sees of a store, as text: waves, agreement, responses checksums.
fn visible(d: &Cli) -> String {
    let mut s = String::new();
    for sql in [
        "SELECT w.wave, w.respondents, w.source_sha256, r.n, r.s, r.r, \
         (SELECT count(*) FROM statements s WHERE s.wave = w.wave) AS st \
         FROM waves w JOIN (SELECT wave, count(*) AS n, sum(value) AS s, \
         count(DISTINCT respondent) AS r FROM responses GROUP BY wave) r ON r.wave = w.wave \
         ORDER BY w.wave",
        "SELECT wave, statement, grp, n, round(pct, 9) AS pct FROM agreement ORDER BY wave, statement, grp",
    ] {
        let o = d.query_csv(sql, None);
        if o.code == 3 && o.stderr.contains("no gaptrack store exists") {
            // Nothing was ever committed there: that too is a state (the same before
            // and after a command that failed cleanly).
            return "(no store)\n".to_string();
        }
        check(&o, &format!("fault-free read: {sql}"));
        s.push_str(&o.stdout);
    }
    s
}

/// One step of the scenario.
enum Step<'a> {
    Ingest(&'a Path),
    Remove(&'a str),
    Query(&'a str),
    Report,
}

impl Step<'_> {
    fn name(&self) -> String {
        match self {
            Step::Ingest(p) => format!("ingest {}", p.display()),
            Step::Remove(w) => format!("remove {w}"),
            Step::Query(q) => format!("query {q}"),
            Step::Report => "report".into(),
        }
    }
    fn writes(&self) -> bool {
        matches!(self, Step::Ingest(_) | Step::Remove(_))
    }
    fn run(&self, d: &Cli, out_dir: &Path) -> Out {
        match self {
            Step::Ingest(p) => d.ingest(&[p]),
            Step::Remove(w) => d.remove(w),
            Step::Query(q) => d.query_csv(q, None),
            Step::Report => d.report(&out_dir.display().to_string()),
        }
    }
}

/// Outcomes of the runs under faults.
#[derive(Debug, Default)]
struct Tally {
    runs: usize,
    succeeded: usize,
    failed_clean: usize,
    failed_after_commit: usize,
    /// Runs whose stderr shows deltalake aborting a failed upload with object_store's
    /// `BufWriter::abort` after its shutdown (a panic inside a spawned task, caught by
    /// tokio; the command still fails cleanly).
    abort_panics: usize,
    /// Commits whose answer was lost and that gaptrack recognised as its own on retry.
    recognised: usize,
    /// What the proxy did during the runs under faults.
    faults: FaultStats,
}

/// The one panic seen under faults that is not gaptrack's: deltalake's parquet writer
/// aborts a failed upload after it began shutting down, and object_store's
/// `BufWriter::abort` panics "Already shut down" in a spawned task (tokio catches it; the
/// write fails with its error). Any other panic fails the test.
fn known_abort_panic(o: &Out) -> bool {
    let panics: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("panicked at"))
        .collect();
    let known = |i: usize| {
        let after = o.stderr.lines().skip_while(|l| *l != panics[i]).nth(1);
        panics[i].contains("object_store")
            && panics[i].contains("buffered.rs")
            && after == Some("Already shut down")
    };
    !panics.is_empty() && (0..panics.len()).all(known)
}

fn assert_clean_failure(o: &Out, what: &str) {
    assert!(
        o.code == 1 || o.code == 4,
        "{what}: a transient fault must exit 1 (or 4), not {}",
        o.both()
    );
    let errors: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {}", o.both());
    assert!(errors[0].len() > 20, "{what}: {}", o.both());
    assert!(
        !o.stderr.contains("panicked") || known_abort_panic(o),
        "{what}: {}",
        o.both()
    );
    assert_secret_free(o, &[SECRET], what);
}

/// Runs the scenario on `faulty` through the proxy at `rate` %, each step until it
/// succeeds (at most `attempts` times), and compares with the fault-free `reference`.
/// With `must_succeed` false, a step that never got through is then run without faults,
/// so that the scenario goes on.
#[allow(clippy::too_many_arguments)]
fn scenario(
    proxy: &FaultProxy,
    rate: u64,
    attempts: usize,
    must_succeed: bool,
    faulty: &Cli,
    reference: &Cli,
    steps: &[Step],
    dirs: (&Path, &Path),
    tally: &mut Tally,
) {
    for (i, step) in steps.iter().enumerate() {
        let what = format!("step {i} ({}) at {rate} % faults", step.name());
        proxy.set_rate(0);
        let want = step.run(reference, dirs.0);
        check(&want, &format!("{what}: fault-free run"));
        let before = visible(faulty);
        let after_ref = visible(reference);
        let mut done = false;
        for attempt in 0..attempts {
            let s0 = proxy.stats();
            proxy.set_rate(rate);
            let o = step.run(faulty, dirs.1);
            proxy.set_rate(0);
            let s1 = proxy.stats();
            tally.faults.requests += s1.requests - s0.requests;
            tally.faults.status_503 += s1.status_503 - s0.status_503;
            tally.faults.dropped_before += s1.dropped_before - s0.dropped_before;
            tally.faults.dropped_after += s1.dropped_after - s0.dropped_after;
            tally.runs += 1;
            tally.recognised += o.stderr.lines().filter(|l| l.contains("did land")).count();
            if o.stderr.contains("panicked") && known_abort_panic(&o) {
                tally.abort_panics += 1;
            }
            let now = visible(faulty);
            if o.ok() {
                tally.succeeded += 1;
                assert_secret_free(&o, &[SECRET], &what);
                assert_eq!(
                    now, after_ref,
                    "{what}: attempt {attempt} succeeded with other data"
                );
                match step {
                    Step::Query(_) => assert_eq!(o.stdout, want.stdout, "{what}"),
                    Step::Report => {
                        for f in ["trend.csv", "trend.md"] {
                            assert_eq!(
                                std::fs::read(dirs.1.join(f)).unwrap(),
                                std::fs::read(dirs.0.join(f)).unwrap(),
                                "{what}: {f}"
                            );
                        }
                    }
                    _ => {}
                }
                done = true;
                break;
            }
            assert_clean_failure(&o, &format!("{what}, attempt {attempt}"));
            if now == before {
                tally.failed_clean += 1;
            } else {
                // Only a write whose commit landed before a later request failed.
                assert!(
                    step.writes(),
                    "{what}: a read changed the store: {}",
                    o.both()
                );
                assert_eq!(
                    now,
                    after_ref,
                    "{what}: a failed run left a third state: {}",
                    o.both()
                );
                tally.failed_after_commit += 1;
                done = true;
                break;
            }
        }
        if !done && !must_succeed {
            check(
                &step.run(faulty, dirs.1),
                &format!("{what}: without faults"),
            );
            assert_eq!(visible(faulty), after_ref, "{what}: without faults");
            done = true;
        }
        assert!(done, "{what}: no success in {attempts} attempts");
    }
}

#[test]
fn transient_faults_s3() {
    let started = Instant::now();
    let server = support::moto();
    let bucket = "gaptrack-faults";
    support::create_bucket(&server, bucket);
    let proxy = FaultProxy::start(server.port, 0, 20240517);
    let os = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_access_key_id(KEY)
        .with_secret_access_key(SECRET)
        .with_region("eu-west-1")
        .build()
        .unwrap();
    let env = vec![
        kv("AWS_ENDPOINT_URL", &proxy.endpoint()),
        kv("AWS_ALLOW_HTTP", "true"),
        kv("AWS_ACCESS_KEY_ID", KEY),
        kv("AWS_SECRET_ACCESS_KEY", SECRET),
        kv("AWS_REGION", "eu-west-1"),
    ];
    let b = Backend {
        name: "s3-faults",
        root: format!("s3://{bucket}"),
        env,
        objects: Some(Arc::new(os)),
        _server: Some(server),
        _tmp: None,
    };
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 300);
    let w2 = make_wave(data.path(), "w2", "w2", "2022-03-31", 2, 300);
    let w2b = make_wave(&data.path().join("v2"), "w2", "w2", "2022-03-31", 3, 350);
    let w3 = make_wave(data.path(), "w3", "w3", "2023-03-31", 4, 300);
    let trend = "SELECT statement, wave, prev_wave, round(change_pp, 9) AS change_pp, \
                 round(p_value, 9) AS p FROM gap_trend ORDER BY statement, wave, group_a, group_b";
    let steps = [
        Step::Ingest(&w1.spec),
        Step::Ingest(&w2.spec),
        Step::Ingest(&w2b.spec),
        Step::Report,
        Step::Remove("w1"),
        Step::Ingest(&w3.spec),
        Step::Query(trend),
    ];
    let reports = tempfile::tempdir().unwrap();
    let mut tallies = Vec::new();
    // With the default retries every command gets through; with one retry per request
    // many fail, and must fail cleanly.
    for (rate, retries, attempts, must_succeed) in [(20, None, 3, true), (20, Some("1"), 2, false)]
    {
        let tag = format!("r{rate}-{}", retries.unwrap_or("default"));
        let reference = b.cli(&b.url(&format!("{tag}/reference")));
        let mut faulty = b.cli(&b.url(&format!("{tag}/faulty")));
        // Info lines show the commits recognised after a lost answer.
        faulty.env.push(kv("GAPTRACK_LOG", "gaptrack=info"));
        if let Some(n) = retries {
            faulty.env.push(kv("GAPTRACK_HTTP_RETRIES", n));
        }
        let (ref_out, faulty_out) = (
            reports.path().join(&tag).join("ref"),
            reports.path().join(&tag).join("faulty"),
        );
        let mut tally = Tally::default();
        let t = Instant::now();
        scenario(
            &proxy,
            rate,
            attempts,
            must_succeed,
            &faulty,
            &reference,
            &steps,
            (&ref_out, &faulty_out),
            &mut tally,
        );
        // Invisible leftovers of failed runs go with vacuum; the data stays.
        proxy.set_rate(0);
        let shown = visible(&faulty);
        check(
            &faulty.vacuum(&["--retain-hours", "0", "--force"]),
            "vacuum after faults",
        );
        assert_no_stray_rows(&b.store(&faulty.store), &tag);
        assert_eq!(visible(&faulty), shown, "{tag}: vacuum changed the data");
        let faults = tally.faults;
        println!(
            "[s3 faults {tag}] {tally:?} ({:.1} % of the requests under faults failed); {:.1}s",
            100.0 * faults.faults() as f64 / faults.requests.max(1) as f64,
            t.elapsed().as_secs_f64()
        );
        assert!(faults.dropped_after > 0 && faults.status_503 > 0 && faults.dropped_before > 0);
        let share = faults.faults() as f64 / faults.requests as f64;
        assert!((0.15..0.25).contains(&share), "{tag}: {faults:?}");
        tallies.push((tag, tally));
    }
    // The first pass succeeds everywhere; the second shows failures, all clean.
    assert!(
        tallies[1].1.failed_clean + tallies[1].1.failed_after_commit > 0,
        "{tallies:?}"
    );
    println!("[s3 faults] {:.1}s in all", started.elapsed().as_secs_f64());
}

/// For the first `lost` conditional PUTs (`PutMode::Create`, what a Delta commit is) of
/// files under `_delta_log`: performs the write and then answers as a retried request
/// would after the first answer was lost, "already exists".
#[derive(Debug)]
struct LostAnswers {
    lost: std::sync::atomic::AtomicUsize,
    hits: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl support::PutFilter for LostAnswers {
    async fn put(
        &self,
        inner: &dyn ObjectStore,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        let commit = matches!(opts.mode, object_store::PutMode::Create)
            && location.as_ref().contains("_delta_log/")
            && location.as_ref().ends_with(".json");
        let r = inner.put_opts(location, payload, opts).await?;
        if commit && support::take_one(&self.lost) {
            self.hits.lock().unwrap().push(location.to_string());
            return Err(object_store::Error::AlreadyExists {
                path: location.to_string(),
                source: "the answer to the first attempt was lost".into(),
            });
        }
        Ok(r)
    }
}

/// Every commit of a load, a replacement and a removal has its answer lost once (the
/// conditional PUT landed, its retry finds the version taken): each command still
/// succeeds, writes each catalog change once, and stores each load's rows once.
#[test]
fn a_commit_whose_answer_was_lost_is_recognised() {
    use gaptrack::ingest::{ingest, load_specs, remove, Status};
    let data = tempfile::tempdir().unwrap();
    let w1 = make_wave(data.path(), "w1", "w1", "2021-03-31", 1, 20);
    let w1b = make_wave(&data.path().join("v2"), "w1", "w1", "2021-03-31", 2, 25);
    let w2 = make_wave(data.path(), "w2", "w2", "2022-03-31", 3, 15);
    let objects = support::PutFiltered::new(
        Arc::new(object_store::memory::InMemory::new()),
        LostAnswers {
            lost: std::sync::atomic::AtomicUsize::new(usize::MAX),
            hits: Default::default(),
        },
    );
    let url = url::Url::parse("memory:///lost").unwrap();
    let store = Store::with_object_store(&url, "memory:///lost", objects.clone()).unwrap();
    let load = |w: &Wave| {
        block_on(async {
            let specs = load_specs(std::slice::from_ref(&w.spec))?;
            ingest(&store, specs, false).await
        })
    };
    let o = load(&w1).unwrap();
    assert_eq!(o[0].status, Status::Loaded);
    let o = load(&w2).unwrap();
    assert_eq!(o[0].status, Status::Loaded);
    let o = load(&w1b).unwrap();
    assert_eq!(o[0].status, Status::Replaced);
    block_on(remove(&store, "w2")).unwrap();
    let hits = objects.filter.hits.lock().unwrap().clone();
    for table in ["waves", "responses", "cellstats", "statements"] {
        assert!(
            hits.iter()
                .any(|h| h.contains(&format!("{table}/_delta_log"))),
            "no lost answer on {table}: {hits:?}"
        );
    }
    // Each catalog change once.
    let h = block_on(gaptrack::catalog::history(&store)).unwrap();
    let ops: Vec<(&str, &str)> = h
        .iter()
        .map(|e| (e.operation.as_str(), e.wave.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("loaded", "w1"),
            ("loaded", "w2"),
            ("replaced", "w1"),
            ("removed", "w2")
        ]
    );
    // Each load's rows once: responses and cellstats of the live load, nothing else.
    assert_no_stray_rows(&store, "after lost answers");
    let responses = raw_loads(&store, "responses");
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(*responses.values().next().unwrap(), 2 * 50);
    let cells = raw_loads(&store, "cellstats");
    assert_eq!(
        cells.values().copied().collect::<Vec<_>>(),
        [4],
        "{cells:?}"
    );
    let got: BTreeMap<(String, String), (i64, f64)> = block_on(async {
        use gaptrack::sql::{query, Session, Settings};
        let session = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        let (schema, batches) = query::run(
            &session,
            "SELECT statement, grp, n, pct FROM agreement ORDER BY statement, grp",
            &[],
        )
        .await
        .unwrap();
        let csv = query::render(query::OutputFormat::Csv, &schema, &batches).unwrap();
        rows(&String::from_utf8(csv).unwrap())
            .into_iter()
            .map(|r| {
                (
                    (r["statement"].clone(), r["grp"].clone()),
                    (num(&r["n"]) as i64, num(&r["pct"])),
                )
            })
            .collect()
    });
    assert_eq!(got.len(), w1b.agreement.len());
    for (k, (n, pct)) in &w1b.agreement {
        assert!(
            got[k].0 == *n && close(got[k].1, *pct),
            "{k:?}: {:?}",
            got[k]
        );
    }
}

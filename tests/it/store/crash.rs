//! Crash safety with a real `kill -9`: a store holds wave A; a replacement of A by a much
//! larger version is killed with SIGKILL at many moments spread across the load (delays
//! derived from the measured duration of one uninterrupted load), and right at the points
//! of the load that matter (the test hook `GAPTRACK_TEST_HALT_AT`: all data written but
//! the catalog not yet committed; catalog committed but the replaced rows not yet
//! deleted; the replaced rows deleted from `responses` only).
//!
//! After every kill the store holds exactly the old wave or exactly the new one: in
//! `responses` (rows, sum of `value`, distinct respondents), in `waves` and in
//! `agreement`, all computed here from the CSV files; the Python `deltalake` reader,
//! joining `<store>/responses` on the catalog's load ids, finds the same. Then `gaptrack
//! vacuum --retain-hours 0` leaves no rows of other loads and no unreferenced files, and
//! the data as it was.

use super::*;

/// What `responses` must hold for one version of a wave, counted from its CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Contents {
    rows: i64,
    sum: i64,
    respondents: i64,
}

fn contents_of(spec: &Path) -> Contents {
    let csv = std::fs::read_to_string(spec.with_extension("csv")).unwrap();
    let mut c = Contents {
        rows: 0,
        sum: 0,
        respondents: 0,
    };
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        c.respondents += 1;
        for cell in line.split(',').skip(2) {
            c.rows += 1;
            if let Ok(v) = cell.trim().parse::<i64>() {
                c.sum += v;
            }
        }
    }
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Old,
    New,
}

/// Which version of wave A the store shows, checking that `responses`, `waves` and
/// `agreement` all show the same one, and that the tables are readable.
fn state_of(d: &Cli, old: &(Wave, Contents), new: &(Wave, Contents), what: &str) -> Seen {
    let o = d.query_csv(
        "SELECT count(*) AS n, coalesce(sum(value), 0) AS s, count(DISTINCT respondent) AS r \
         FROM responses WHERE wave = 'A'",
        None,
    );
    check(&o, &format!("{what}: query responses"));
    let r = &rows(&o.stdout)[0];
    let got = Contents {
        rows: num(&r["n"]) as i64,
        sum: num(&r["s"]) as i64,
        respondents: num(&r["r"]) as i64,
    };
    let seen = if got == old.1 {
        Seen::Old
    } else if got == new.1 {
        Seen::New
    } else {
        panic!(
            "{what}: responses of A are neither the old wave ({:?}) nor the new one ({:?}): {got:?}",
            old.1, new.1
        )
    };
    let (w, c) = match seen {
        Seen::Old => old,
        Seen::New => new,
    };
    assert_eq!(
        waves_of(d, None),
        BTreeMap::from([("A".to_string(), c.respondents)]),
        "{what}: waves disagrees with responses ({seen:?})"
    );
    assert_agreement(d, w);
    // Every table is readable, the whole of it.
    for t in ["statements", "cellstats", "segstats", "gaps", "gap_trend"] {
        check(
            &d.query_csv(&format!("SELECT count(*) FROM {t}"), None),
            &format!("{what}: read {t}"),
        );
    }
    seen
}

/// The live rows of each wave as Python `deltalake` reads them (catalog joined with
/// `responses` on the load id).
fn python_view(store: &str) -> serde_json::Value {
    let python = std::env::var("GAPTRACK_PYTHON")
        .expect("set GAPTRACK_PYTHON to a Python with deltalake and pyarrow (.ci/run makes one)");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/live_rows.py");
    let mut c = std::process::Command::new(python);
    c.arg(script).arg(store);
    let o = Running::spawn(c).wait(COMMAND_LIMIT);
    assert!(o.ok(), "python deltalake reader: {}", o.both());
    serde_json::from_str(&o.stdout).unwrap()
}

fn vacuum_and_check(
    b: &Backend,
    d: &Cli,
    store: &str,
    seen: Seen,
    old: &(Wave, Contents),
    new: &(Wave, Contents),
    what: &str,
) {
    let o = d.vacuum(&["--retain-hours", "0", "--force"]);
    check(&o, &format!("{what}: vacuum"));
    let raw = b.store(store);
    assert_no_stray_rows(&raw, &format!("{what}: after vacuum"));
    for t in gaptrack::store::DATA_TABLES {
        let left = unreferenced_files(&raw, t);
        assert!(
            left.is_empty(),
            "{what}: {t} keeps unreferenced files after vacuum: {left:?}"
        );
    }
    assert_eq!(
        state_of(d, old, new, what),
        seen,
        "{what}: vacuum changed the data"
    );
}

/// Where and when one load is killed.
#[derive(Debug, Clone)]
enum Moment {
    After(std::time::Duration),
    At(&'static str),
}

fn crash_suite(b: &Backend, per_group_new: usize) {
    let started = Instant::now();
    let data = tempfile::tempdir().unwrap();
    let old_w = make_wave(&data.path().join("old"), "a", "A", "2024-03-31", 11, 40);
    let new_w = make_wave(
        &data.path().join("new"),
        "a",
        "A",
        "2024-03-31",
        12,
        per_group_new,
    );
    let old = (old_w.clone(), contents_of(&old_w.spec));
    let new = (new_w.clone(), contents_of(&new_w.spec));

    // One uninterrupted replacement, on a store of its own, measures the load.
    let probe = b.cli(&b.url("probe"));
    check(&probe.ingest(&[&old.0.spec]), "probe: ingest old");
    let o = probe.ingest(&[&new.0.spec]);
    check(&o, "probe: replace with new");
    let load_secs = o.seconds;
    assert_eq!(state_of(&probe, &old, &new, "probe"), Seen::New);

    let store = b.url("crash");
    let d = b.cli(&store);
    check(&d.ingest(&[&old.0.spec]), "ingest old");
    assert_eq!(state_of(&d, &old, &new, "start"), Seen::Old);

    let mut moments: Vec<Moment> = (0..12)
        .map(|i| {
            // From the process start to 80 % of a whole load (on a busy machine a later
            // kill may come after the load finished; the moments after the catalog
            // commit are covered by the halt points below).
            let f = 0.03 + 0.77 * i as f64 / 11.0;
            Moment::After(std::time::Duration::from_secs_f64(load_secs * f))
        })
        .collect();
    moments.extend(["data_committed", "catalog_committed", "responses_cleaned"].map(Moment::At));

    let mut kills = 0;
    let mut seen_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut python_checked = 0;
    let halt = tempfile::tempdir().unwrap();
    for (i, m) in moments.iter().enumerate() {
        let what = format!("[{}] kill {i} ({m:?})", b.name);
        let mut env = b.env.clone();
        if let Moment::At(point) = m {
            env.push(kv("GAPTRACK_TEST_HALT_AT", point));
            env.push(kv(
                "GAPTRACK_TEST_HALT_DIR",
                &halt.path().display().to_string(),
            ));
        }
        let mut cmd = support::gaptrack(&env);
        cmd.args([
            "--store",
            &store,
            "ingest",
            &new.0.spec.display().to_string(),
        ]);
        let mut p = Running::spawn(cmd);
        match m {
            Moment::After(delay) => std::thread::sleep(*delay),
            Moment::At(point) => {
                let flag = halt.path().join(point);
                let deadline = Instant::now() + COMMAND_LIMIT;
                while !flag.exists() && !p.exited() && Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                assert!(flag.exists(), "{what}: the load never reached {point}");
                let _ = std::fs::remove_file(&flag);
            }
        }
        let (killed, out) = p.kill9();
        if killed {
            kills += 1;
        } else {
            // It finished first: then it must have succeeded.
            check(&out, &format!("{what}: uninterrupted load"));
        }
        let seen = state_of(&d, &old, &new, &what);
        *seen_counts
            .entry(format!(
                "{seen:?}{}",
                if killed { "" } else { " (finished)" }
            ))
            .or_default() += 1;
        match m {
            Moment::At("data_committed") => assert_eq!(seen, Seen::Old, "{what}"),
            Moment::At(_) => assert_eq!(seen, Seen::New, "{what}"),
            _ => {}
        }
        // The Python reader where the stored rows hold two loads of A.
        if b.name == "local" && matches!(m, Moment::At(_)) {
            let py = python_view(&store);
            let want = match seen {
                Seen::Old => old.1,
                Seen::New => new.1,
            };
            let a = &py["A"];
            assert_eq!(
                (
                    a["rows"].as_i64(),
                    a["sum"].as_i64(),
                    a["respondents"].as_i64()
                ),
                (Some(want.rows), Some(want.sum), Some(want.respondents)),
                "{what}: python deltalake reads {py}"
            );
            // Both loads' rows are stored until the replaced ones are cleaned up.
            let stored = if matches!(m, Moment::At("responses_cleaned")) {
                1
            } else {
                2
            };
            assert_eq!(a["stored_loads"].as_i64(), Some(stored), "{what}: {py}");
            python_checked += 1;
        }
        vacuum_and_check(b, &d, &store, seen, &old, &new, &what);
        if seen == Seen::New {
            // Back to the old version for the next kill.
            check(&d.ingest(&[&old.0.spec]), &format!("{what}: restore old"));
            assert_eq!(state_of(&d, &old, &new, &what), Seen::Old);
        }
    }
    println!(
        "[{}] crash: one load of {} rows takes {load_secs:.2}s; {kills} kills of {} runs; states after them: {seen_counts:?}; python checks {python_checked}; {:.1}s in all",
        b.name,
        new.1.rows,
        moments.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        kills >= 10,
        "only {kills} of the loads were still running when killed"
    );
    assert!(
        b.name != "local" || python_checked >= 3,
        "python checks: {python_checked}"
    );
}

#[test]
fn kill_9_during_a_replacement_local_disk() {
    let b = Backend::local();
    crash_suite(&b, 60_000);
}

#[test]
fn kill_9_during_a_replacement_s3() {
    let b = Backend::s3("GAPTRACKCRASHKEY0001", "gaptrack-crash-secret-0001");
    crash_suite(&b, 60_000);
}

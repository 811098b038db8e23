//! The order of a command's ingest: every wave resolved and validated (all problems
//! collected) before anything is committed; rim-weighted waves staged once their final
//! weights are known; then, wave by wave, the Delta commits (see [`super::commit`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use tracing::info;

use super::commit::write_wave;
use super::outcome::{self, summarize, Outcome, Status};
use super::resolve::{hash_source, resolve, validate, Resolved, Validated};
use super::stage::{discard_staged, stage_responses, Staged};
use super::wording::{self, WaveTexts};
use crate::catalog;
use crate::error::{Error, Invalid, Result};
use crate::spec::{Format, WaveSpec};
use crate::store::Store;
use crate::tables::CatalogEntry;

/// How a command ingests: set by the command line (or a caller of the library).
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Validate only; write nothing (`--dry-run`).
    pub dry_run: bool,
    /// Draw a progress bar on stderr while a wave is written (text output on a TTY).
    pub progress: bool,
    /// Every wave as with `strict = true` in its spec (`--strict`).
    pub strict: bool,
}

/// One wave of the command on its way: its resolved spec; its validated data (`None`:
/// unchanged, nothing to do); its staged `responses` files; the seconds spent so far.
struct Wave {
    r: Resolved,
    v: Option<Validated>,
    staged: Option<Staged>,
    secs: f64,
    /// Warnings on changed wordings (see [`super::wording`]).
    drift: Vec<String>,
}

/// The loaded waves of the catalog, by id.
type Loaded<'a> = HashMap<&'a str, &'a CatalogEntry>;

/// Validates and loads waves ([`super::ingest`]), with the problems already found in
/// other specs of the same command (`spec_problems`): reported together with those of
/// the data. With `options.dry_run` only validates (and still reports which waves are
/// unchanged). Any invalid wave: nothing is written, every problem is returned.
pub async fn ingest_checked(
    store: &Store,
    specs: Vec<WaveSpec>,
    spec_problems: Option<Invalid>,
    options: &IngestOptions,
) -> Result<Vec<Outcome>> {
    let cat = catalog::current(store).await?;
    let loaded: Loaded = cat.entries.iter().map(|e| (e.wave.as_str(), e)).collect();

    // 1. Resolve and validate everything; collect all problems. A microdata wave
    //    without rim weighting is validated and written in one pass: its files are
    //    staged (not committed) and removed again if any wave turns out invalid.
    let mut specs = specs;
    for s in &mut specs {
        s.strict |= options.strict;
    }
    let mut work: Vec<Wave> = Vec::new();
    let prepared: Result<()> = async {
        prepare(store, specs, spec_problems, &loaded, options, &mut work).await?;
        decide_wording(store, &cat, &mut work).await?;
        // Rim-weighted waves are written in a second pass, with their final weights.
        if !options.dry_run {
            stage_weighted(store, &loaded, options, &mut work).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = prepared {
        discard_all(store, &mut work).await;
        return Err(e);
    }
    // Logged only once every wave passed, so that on failure the errors come first.
    for w in &work {
        if w.v.is_some() {
            info!(event = "validate", outcome = "valid", wave = %w.r.spec.wave, duration = w.secs, "wave {} is valid", w.r.spec.wave);
        }
    }

    // 2. Commit the changed waves, one catalog commit each.
    commit_all(store, work, &loaded, options).await
}

/// Resolves and validates every wave into `work` (staging the files of a wave that is
/// validated and written in one pass); all problems of all waves in one error.
async fn prepare(
    store: &Store,
    specs: Vec<WaveSpec>,
    spec_problems: Option<Invalid>,
    loaded: &Loaded<'_>,
    options: &IngestOptions,
    work: &mut Vec<Wave>,
) -> Result<()> {
    let (mut errors, mut total) = match spec_problems {
        Some(i) => (i.errors, i.total),
        None => (Vec::new(), 0),
    };
    for spec in specs {
        let t0 = Instant::now();
        let r = match resolve(spec).await {
            Ok(r) => r,
            Err(Error::Invalid(i)) => {
                total += i.total;
                errors.extend(i.errors);
                continue;
            }
            Err(e) => return Err(e),
        };
        let one_pass = !options.dry_run
            && total == 0
            && r.spec.format != Format::Cells
            && r.spec.weighting.is_none();
        let known = loaded.get(r.spec.wave.as_str());
        // A new wave loaded in one pass is hashed by that pass.
        let mut r = r;
        if known.is_some() || !one_pass {
            match hash_source(&mut r).await {
                Ok(()) => {}
                Err(Error::Invalid(i)) => {
                    total += i.total;
                    errors.extend(i.errors);
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let unchanged = known.is_some_and(|e| {
            e.spec_sha256 == r.spec_sha256 && Some(&e.source_sha256) == r.source_sha256.as_ref()
        });
        if unchanged {
            let secs = t0.elapsed().as_secs_f64();
            work.push(Wave {
                r,
                v: None,
                staged: None,
                secs,
                drift: vec![],
            });
            continue;
        }
        let replaces = known.map(|e| e.load_id.clone());
        let prepared = if one_pass {
            stage_responses(store, &r, None, replaces.as_deref(), options.progress)
                .await
                .map(|(staged, s)| (Validated::Microdata(Box::new(s), None), Some(staged)))
        } else {
            validate(&r).await.map(|v| (v, None))
        };
        match prepared {
            Ok((v, staged)) => {
                let secs = t0.elapsed().as_secs_f64();
                if let Validated::Microdata(s, _) = &v {
                    texts_from_source(&mut r.spec, s);
                    r.source_sha256
                        .get_or_insert_with(|| s.source_sha256.clone());
                }
                work.push(Wave {
                    r,
                    v: Some(v),
                    staged,
                    secs,
                    drift: vec![],
                })
            }
            Err(Error::Invalid(i)) => {
                // No event here: the error lines, printed first, name the file and place.
                total += i.total;
                errors.extend(i.errors);
            }
            Err(e) => return Err(e),
        }
    }
    if total > 0 {
        return Err(Error::Invalid(Invalid { errors, total }));
    }
    Ok(())
}

/// Decides the wording of every changed wave's statements against the wave before it,
/// among the store's waves as they will be after this command (see [`super::wording`]);
/// a changed wording under `strict` makes the command invalid.
async fn decide_wording(store: &Store, cat: &catalog::Catalog, work: &mut [Wave]) -> Result<()> {
    if work.iter().all(|w| w.v.is_none()) {
        return Ok(());
    }
    let mut stored: HashMap<String, HashMap<String, String>> = HashMap::new();
    for ((wave, statement), text) in catalog::statement_texts(store, cat).await? {
        stored.entry(wave).or_default().insert(statement, text);
    }
    let changed = |w: &&Wave| w.v.is_some();
    let replaced: Vec<&str> = work
        .iter()
        .filter(changed)
        .map(|w| w.r.spec.wave.as_str())
        .collect();
    let mut waves: Vec<WaveTexts> = cat
        .entries
        .iter()
        .filter(|e| !replaced.contains(&e.wave.as_str()))
        .map(|e| WaveTexts {
            date: e.date,
            wave: e.wave.clone(),
            texts: stored.remove(&e.wave).unwrap_or_default(),
        })
        .collect();
    waves.extend(work.iter().filter(changed).map(|w| {
        WaveTexts {
            date: w.r.spec.date,
            wave: w.r.spec.wave.clone(),
            texts: w
                .r
                .spec
                .statements
                .iter()
                .filter_map(|s| Some((s.id.clone(), s.text.clone()?)))
                .collect(),
        }
    }));
    let mut errors = Vec::new();
    for w in work.iter_mut().filter(|w| w.v.is_some()) {
        let (decided, warnings, errs) = wording::decide(&w.r.spec, &waves);
        w.r.wording = decided;
        w.drift = warnings;
        errors.extend(errs);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(Invalid {
            total: errors.len(),
            errors,
        }))
    }
}

/// Stages the `responses` files of every rim-weighted wave, with its final weights.
async fn stage_weighted(
    store: &Store,
    loaded: &Loaded<'_>,
    options: &IngestOptions,
    work: &mut [Wave],
) -> Result<()> {
    for w in work.iter_mut() {
        if let Some(Validated::Microdata(_, Some(raked))) = &w.v {
            let t0 = Instant::now();
            let replaces = loaded
                .get(w.r.spec.wave.as_str())
                .map(|e| e.load_id.clone());
            let weights = Some(raked.weights.clone());
            let (s, _) =
                stage_responses(store, &w.r, weights, replaces.as_deref(), options.progress)
                    .await?;
            w.staged = Some(s);
            w.secs += t0.elapsed().as_secs_f64();
        }
    }
    Ok(())
}

/// Commits the changed waves of `work` in order, one catalog commit each; a wave that
/// fails stops the command (the waves not committed yet leave nothing behind).
async fn commit_all(
    store: &Store,
    mut work: Vec<Wave>,
    loaded: &Loaded<'_>,
    options: &IngestOptions,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    while !work.is_empty() {
        let Wave {
            r,
            v,
            staged,
            secs,
            drift,
        } = work.remove(0);
        let t0 = Instant::now();
        let Some(v) = v else {
            info!(event = "ingest", outcome = "unchanged", wave = %r.spec.wave, rows = 0u64, duration = secs, "wave {} is unchanged", r.spec.wave);
            outcomes.push(outcome::unchanged(&r, loaded[r.spec.wave.as_str()], secs));
            continue;
        };
        let mut out = summarize(&r, &v);
        out.warnings.extend(drift);
        if let Some(w) = &out.weighting {
            info!(event = "weighting", wave = %out.wave, respondents = w.respondents, n_eff = w.n_eff, weighting_efficiency = w.efficiency, weighting_iterations = w.iterations, weighting_max_residual = w.max_residual, "wave {}: rim weights n_eff {:.1} of {} (efficiency {:.1} %)", out.wave, w.n_eff, w.respondents, 100.0 * w.efficiency);
        }
        if options.dry_run {
            out.status = Status::Valid;
            out.seconds = secs;
            outcomes.push(out);
            continue;
        }
        let previous = loaded.get(r.spec.wave.as_str()).map(|e| e.load_id.clone());
        let written = write_wave(store, &r, v, staged, previous.as_deref(), options.progress).await;
        let rows = match written {
            Ok((rows, notes)) => {
                out.notes.extend(notes);
                rows
            }
            Err(e) => {
                // The waves not committed yet leave nothing behind.
                discard_all(store, &mut work).await;
                let rest: Vec<String> = work.iter().map(|w| w.r.spec.wave.clone()).collect();
                return Err(stopped_part_way(e, &outcomes, &r.spec.wave, &rest));
            }
        };
        out.rows = rows;
        out.status = if previous.is_some() {
            Status::Replaced
        } else {
            Status::Loaded
        };
        out.seconds = secs + t0.elapsed().as_secs_f64();
        log_loaded(&out);
        outcomes.push(out);
    }
    Ok(outcomes)
}

/// The `ingest` event of a wave loaded or replaced.
fn log_loaded(out: &Outcome) {
    let w = out.weighting.as_ref();
    info!(
        event = "ingest",
        outcome = out.status.as_str(),
        wave = %out.wave,
        rows = out.rows,
        duration = out.seconds,
        n_eff = w.map(|w| w.n_eff),
        weighting_efficiency = w.map(|w| w.efficiency),
        weighting_iterations = w.map(|w| w.iterations),
        weighting_max_residual = w.map(|w| w.max_residual),
        "wave {} {} ({} rows)",
        out.wave,
        out.status.as_str(),
        out.rows
    );
}

/// Removes the staged files of every wave in `work`.
async fn discard_all(store: &Store, work: &mut [Wave]) {
    // Directories last, deepest first: waves staged later may have written into the
    // directories an earlier one created (the leases' directory).
    let mut dirs: Vec<PathBuf> = Vec::new();
    for w in work.iter_mut() {
        if let Some(mut s) = w.staged.take() {
            dirs.append(&mut s.new_dirs);
            discard_staged(store, s).await;
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.dedup();
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// The error of a command that stopped at wave `failed` after committing some of its
/// waves: it says, wave by wave, what happened (`done`: the waves before, in order;
/// `rest`: the waves not reached). With nothing committed before, the error as it is
/// ("nothing was written" is then true).
fn stopped_part_way(e: Error, done: &[Outcome], failed: &str, rest: &[String]) -> Error {
    if !done
        .iter()
        .any(|o| matches!(o.status, Status::Loaded | Status::Replaced))
    {
        return e;
    }
    let (cause, why) = match &e {
        Error::Conflict(m) => (format!("conflict: {m}"), "conflict"),
        other => (other.to_string(), "error"),
    };
    let mut parts: Vec<String> = done
        .iter()
        .map(|o| format!("wave {}: {}", o.wave, o.status.as_str()))
        .collect();
    parts.push(format!("wave {failed}: not loaded: {why}"));
    parts.extend(
        rest.iter()
            .map(|w| format!("wave {w}: not loaded: not attempted")),
    );
    Error::Partial {
        message: format!(
            "{cause}. This command stopped part-way: {}. The waves loaded or replaced stay committed; run the command again to load the others",
            parts.join("; ")
        ),
        code: e.exit_code(),
    }
}

/// What a source gives for its statements (SPSS variable labels as the text of those
/// without one; the agree codes that value labels name).
fn texts_from_source(spec: &mut WaveSpec, s: &super::read::Summary) {
    for (st, t) in spec.statements.iter_mut().zip(&s.statement_texts) {
        if st.text.as_deref().is_none_or(|x| x.trim().is_empty()) && t.is_some() {
            st.text = t.clone();
        }
    }
    for (st, codes) in spec.statements.iter_mut().zip(&s.agree_codes) {
        if let Some(c) = codes {
            st.scale.agree = c.clone();
            st.scale.agree_labels.clear();
        }
    }
}

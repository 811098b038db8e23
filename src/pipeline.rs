//! The scheduled job (docs/commands.md, "The scheduled job"): `gaptrack run --config pipeline.toml` validates every
//! matched wave, ingests the new or changed ones, then publishes the report.
//!
//! Relative paths in the config (store, wave globs, report output) are resolved against
//! the directory of the config file, so a job behaves the same from any working
//! directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, InputError, Invalid, Result};
use crate::ingest::{self, IngestOptions, Outcome};
use crate::report::{self, ReportFormat};
use crate::sql::{Session, Settings};
use crate::store::Store;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: Option<Spanned<String>>,
    variance: Option<Spanned<String>>,
    cluster: Option<String>,
    waves: Spanned<Vec<String>>,
    report: Option<RawReport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    out: Spanned<String>,
    pair: Option<Spanned<String>>,
    min_base: Option<Spanned<i64>>,
    suppress_below: Option<Spanned<i64>>,
    min_base_on: Option<Spanned<String>>,
    formats: Option<Spanned<Vec<String>>>,
    by: Option<Vec<String>>,
    baseline: Option<String>,
    title: Option<String>,
    subtitle: Option<String>,
    source: Option<String>,
    byline: Option<String>,
    notes: Option<String>,
    wave_labels: Option<std::collections::BTreeMap<String, String>>,
    group_labels: Option<std::collections::BTreeMap<String, String>>,
    segment_labels: Option<std::collections::BTreeMap<String, String>>,
    statement_order: Option<Vec<String>>,
}

/// A validated pipeline config.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: String,
    /// Store location (already resolved against the config's directory when relative).
    pub store: Option<String>,
    /// The Ballista scheduler the report's queries run on (`df://HOST:PORT`).
    pub cluster: Option<String>,
    /// Wave spec files matched by the globs, sorted, deduplicated.
    pub specs: Vec<PathBuf>,
    pub report: Option<ReportConfig>,
}

#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub out: String,
    pub pair: (String, String),
    pub settings: Settings,
    pub formats: Vec<ReportFormat>,
    /// Segment breakdowns (`report --by`).
    pub by: Vec<String>,
    /// The wave of `report --baseline`.
    pub baseline: Option<String>,
    /// The publisher's words.
    pub words: report::model::Words,
}

fn resolve_location(dir: &Path, s: &str) -> String {
    if s.contains("://") || Path::new(s).is_absolute() {
        s.to_string()
    } else {
        crate::store::normalize_path(&dir.join(s))
            .display()
            .to_string()
    }
}

/// Reads and validates a pipeline config.
pub fn load(path: &Path) -> Result<Config> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(InputError::new(
            &shown,
            format!("cannot read the config: {}", crate::spec::io_reason(&e)),
        ))
    })?;
    let raw: RawConfig = toml::from_str(&text).map_err(|e| {
        let mut err = InputError::new(&shown, format!("invalid config: {}", e.message().trim()));
        err.line = e.span().map(|s| crate::spec::line_of(&text, s.start));
        Error::input(err)
    })?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let mut problems = Problems {
        shown: &shown,
        text: &text,
        found: Vec::new(),
    };
    let specs = wave_specs(&dir, &raw.waves, &mut problems);
    let report = raw
        .report
        .as_ref()
        .map(|r| report_config(&dir, r, raw.variance.as_ref(), &mut problems));
    if !problems.found.is_empty() {
        let total = problems.found.len();
        return Err(Error::Invalid(Invalid {
            errors: problems.found,
            total,
        }));
    }
    Ok(Config {
        path: shown,
        store: raw.store.map(|s| resolve_location(&dir, s.get_ref())),
        cluster: raw.cluster,
        specs,
        report,
    })
}

/// The problems of a config, each at the line of its key.
struct Problems<'a> {
    shown: &'a str,
    text: &'a str,
    found: Vec<InputError>,
}

impl Problems<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, key: &str, msg: String) {
        self.found.push(
            InputError::new(self.shown, msg)
                .line(crate::spec::line_of(self.text, span.start))
                .column(key),
        );
    }
}

/// The wave specs matched by the `waves` globs, sorted, deduplicated.
fn wave_specs(dir: &Path, waves: &Spanned<Vec<String>>, problems: &mut Problems) -> Vec<PathBuf> {
    let mut specs = Vec::new();
    if waves.get_ref().is_empty() {
        problems.at(
            waves.span(),
            "waves",
            "`waves` lists no globs of wave specs".into(),
        );
    }
    for pattern in waves.get_ref() {
        let full = resolve_location(dir, pattern);
        match glob::glob(&full) {
            Err(e) => problems.at(
                waves.span(),
                "waves",
                format!("{pattern:?} is not a valid glob: {e}"),
            ),
            Ok(paths) => {
                let mut n = 0;
                for p in paths.flatten() {
                    if p.is_file() {
                        specs.push(p);
                        n += 1;
                    }
                }
                if n == 0 {
                    problems.at(
                        waves.span(),
                        "waves",
                        format!("{pattern:?} matches no wave spec"),
                    );
                }
            }
        }
    }
    specs.sort();
    specs.dedup();
    specs
}

/// The `[report]` table (with the config's `variance`).
fn report_config(
    dir: &Path,
    r: &RawReport,
    variance: Option<&Spanned<String>>,
    problems: &mut Problems,
) -> ReportConfig {
    let pair = match &r.pair {
        None => ("marketing".to_string(), "sales".to_string()),
        Some(p) => match report::parse_pair(p.get_ref()) {
            Ok(x) => x,
            Err(m) => {
                problems.at(p.span(), "report.pair", m);
                ("marketing".into(), "sales".into())
            }
        },
    };
    let mut settings = Settings::default();
    if let Some(v) = variance {
        match crate::sql::Variance::parse(v.get_ref()) {
            Ok(v) => settings.variance = v,
            Err(m) => problems.at(v.span(), "variance", m),
        }
    }
    if let Some(m) = &r.min_base {
        if *m.get_ref() < 1 {
            problems.at(
                m.span(),
                "report.min_base",
                format!(
                    "\"{}\" is not a valid minimum base (a positive number)",
                    m.get_ref()
                ),
            );
        }
        settings.min_base = *m.get_ref();
    }
    if let Some(m) = &r.suppress_below {
        if *m.get_ref() < 0 {
            problems.at(
                m.span(),
                "report.suppress_below",
                format!("\"{}\" is not a valid suppression threshold", m.get_ref()),
            );
        }
        settings.suppress_below = *m.get_ref();
    }
    if let Some(b) = &r.min_base_on {
        match crate::sql::BaseOn::parse(b.get_ref()) {
            Ok(b) => settings.min_base_on = b,
            Err(m) => problems.at(b.span(), "report.min_base_on", m),
        }
    }
    let formats = match &r.formats {
        None => ReportFormat::all(),
        Some(f) => {
            let mut out = Vec::new();
            for s in f.get_ref() {
                match ReportFormat::parse(s) {
                    Ok(x) => out.push(x),
                    Err(m) => problems.at(f.span(), "report.formats", m),
                }
            }
            out
        }
    };
    ReportConfig {
        out: resolve_location(dir, r.out.get_ref()),
        pair,
        settings,
        formats,
        by: r.by.clone().unwrap_or_default(),
        baseline: r.baseline.clone(),
        words: report::model::Words {
            title: r.title.clone(),
            subtitle: r.subtitle.clone(),
            source: r.source.clone(),
            byline: r.byline.clone(),
            notes: r.notes.clone(),
            wave_labels: r.wave_labels.clone().unwrap_or_default(),
            group_labels: r.group_labels.clone().unwrap_or_default(),
            segment_labels: r.segment_labels.clone().unwrap_or_default(),
            statement_order: r.statement_order.clone().unwrap_or_default(),
        },
    }
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub waves: Vec<Outcome>,
    pub report_files: Vec<String>,
    pub report_out: Option<String>,
    pub data_version: Option<i64>,
    /// What was published, when the config has a `[report]`.
    pub report: Option<report::model::Report>,
}

/// Runs the job: validate all, ingest changed (with `options`), publish.
pub async fn run(config: &Config, store: &Store, options: &IngestOptions) -> Result<RunOutcome> {
    if let Some(r) = &config.report {
        // Checked before anything is loaded.
        report::refuse_inside_store(store, &r.out, "report.out")?;
    }
    if let Some(r) = config.report.as_ref().filter(|r| !r.by.is_empty()) {
        // A breakdown by a segment that neither a matched wave nor a loaded one has is
        // a config error: found before anything is loaded.
        let (specs, _) = ingest::load_specs_lenient(&config.specs)?;
        let catalog = crate::catalog::current(store).await?;
        let known: std::collections::BTreeSet<&str> = specs
            .iter()
            .filter_map(|s| s.respondent.as_ref())
            .flat_map(|x| x.segments.iter())
            .chain(catalog.entries.iter().flat_map(|e| e.segments.iter()))
            .map(String::as_str)
            .collect();
        // Segment names match without regard to case.
        if let Some(bad) =
            r.by.iter()
                .find(|b| !known.iter().any(|k| k.eq_ignore_ascii_case(b)))
        {
            return Err(Error::input(
                InputError::new(
                    &config.path,
                    format!(
                        "report.by: {bad:?} is not a segment column of any wave (segments: {})",
                        known
                            .iter()
                            .map(|k| format!("{k:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .column("report.by"),
            ));
        }
    }
    let waves = ingest::ingest_paths(store, &config.specs, options).await?;
    let mut out = RunOutcome {
        waves,
        report_files: vec![],
        report_out: None,
        data_version: None,
        report: None,
    };
    if let Some(r) = &config.report {
        let built = async {
            store.require_existing().await?;
            let engine = crate::sql::Engine::of(config.cluster.as_deref());
            let session = Session::open_on(store, None, r.settings, false, &engine).await?;
            let mut model = report::build(&session, &r.pair.0, &r.pair.1).await?;
            report::add_breakdowns(&mut model, &session, &r.by).await?;
            if let Some(b) = &r.baseline {
                report::add_baseline(&mut model, &session, b, "report.baseline").await?;
            }
            report::apply_words(&mut model, r.words.clone(), &config.path)?;
            Ok::<_, Error>((session, model))
        }
        .await;
        let (session, model) = built.map_err(|e| report_refused(config, &out.waves, e))?;
        out.report_files = report::publish(&model, &r.out, &r.formats).await?;
        out.report_out = Some(r.out.clone());
        out.data_version = session.catalog.version;
        out.report = Some(model);
        tracing::info!(event = "publish", outcome = "published", out = %r.out, files = out.report_files.len(), data_version = out.data_version.unwrap_or(-1), "report published to {}", r.out);
    }
    Ok(out)
}

/// An invalid report of a run (a pair or breakdown with nothing to show): named as the
/// config's key, and saying what the run did load, since the report left the previous
/// publication as it was.
fn report_refused(config: &Config, waves: &[Outcome], e: Error) -> Error {
    let Error::Invalid(mut inv) = e else {
        return e;
    };
    let loaded: Vec<&str> = waves
        .iter()
        .filter(|o| matches!(o.status, ingest::Status::Loaded | ingest::Status::Replaced))
        .map(|o| o.wave.as_str())
        .collect();
    for err in &mut inv.errors {
        let key = if err.file.starts_with("--pair") {
            "report.pair"
        } else if err.file.starts_with("--by") {
            "report.by"
        } else {
            continue;
        };
        let what = std::mem::replace(&mut err.file, config.path.clone());
        err.column = Some(key.to_string());
        err.message = format!(
            "{}: {}; the report was not published (the previous one is unchanged){}",
            what.trim_start_matches('-'),
            err.message,
            if loaded.is_empty() {
                String::new()
            } else {
                format!(
                    ", the waves loaded by this run stay loaded: {}",
                    loaded.join(", ")
                )
            }
        );
    }
    Error::Invalid(inv)
}

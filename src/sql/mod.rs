//! SQL over the store: a DataFusion session with the stored tables, gaptrack's views
//! (whose SQL lives in `queries/`) and statistics functions.

pub mod cache;
pub mod case_select;
pub mod cluster;
pub mod const_row;
pub mod dict_group;
pub mod eager_agg;
pub mod files;
mod lanes;
mod lazy;
pub mod output;
pub mod query;
pub mod runtime;
pub mod statements;
pub mod udf;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionConfig;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;

use crate::catalog::{self, Catalog};
use crate::error::{Error, Result};
use crate::store::{
    Store, CELLSTATS, PANELSTATS, RESPONDENT_IDS, RESPONSES, SCORESTATS, SEGSTATS, STATEMENTS,
    WAVES, WEIGHTING,
};
use crate::tables;

/// The SQL files shipped with gaptrack (embedded, so an installed binary works anywhere).
pub const QUERIES: &[(&str, &str)] = &[
    (
        "agreement_cells",
        include_str!("../../queries/agreement_cells.sql"),
    ),
    ("agreement", include_str!("../../queries/agreement.sql")),
    (
        "agreement_by_segment",
        include_str!("../../queries/agreement_by_segment.sql"),
    ),
    ("gaps_cells", include_str!("../../queries/gaps_cells.sql")),
    ("gaps", include_str!("../../queries/gaps.sql")),
    (
        "gaps_by_segment",
        include_str!("../../queries/gaps_by_segment.sql"),
    ),
    (
        "statement_series",
        include_str!("../../queries/statement_series.sql"),
    ),
    ("panel_cross", include_str!("../../queries/panel_cross.sql")),
    ("panel_waves", include_str!("../../queries/panel_waves.sql")),
    ("panel_gaps", include_str!("../../queries/panel_gaps.sql")),
    ("gap_trend", include_str!("../../queries/gap_trend.sql")),
    (
        "gap_vs_baseline",
        include_str!("../../queries/gap_vs_baseline.sql"),
    ),
    ("gap_slope", include_str!("../../queries/gap_slope.sql")),
    (
        "gap_slope_by_segment",
        include_str!("../../queries/gap_slope_by_segment.sql"),
    ),
    (
        "agreement_slope",
        include_str!("../../queries/agreement_slope.sql"),
    ),
    ("score_cells", include_str!("../../queries/score_cells.sql")),
    ("scores", include_str!("../../queries/scores.sql")),
    ("score_gaps", include_str!("../../queries/score_gaps.sql")),
    (
        "score_series",
        include_str!("../../queries/score_series.sql"),
    ),
    ("score_trend", include_str!("../../queries/score_trend.sql")),
    ("score_slope", include_str!("../../queries/score_slope.sql")),
    (
        "report_themes",
        include_str!("../../queries/report_themes.sql"),
    ),
    ("latest_gaps", include_str!("../../queries/latest_gaps.sql")),
    ("pair_trend", include_str!("../../queries/pair_trend.sql")),
    (
        "report_trend",
        include_str!("../../queries/report_trend.sql"),
    ),
    (
        "report_breakdown",
        include_str!("../../queries/report_breakdown.sql"),
    ),
    (
        "report_slope",
        include_str!("../../queries/report_slope.sql"),
    ),
    (
        "report_breakdown_slope",
        include_str!("../../queries/report_breakdown_slope.sql"),
    ),
    (
        "report_baseline",
        include_str!("../../queries/report_baseline.sql"),
    ),
];

/// The views registered from `queries/`, in dependency order.
pub const VIEWS: &[&str] = &[
    "agreement_cells",
    "agreement_wave_cells",
    "agreement",
    "agreement_by_segment",
    "gaps_cells",
    "gaps_wave_cells",
    "gaps",
    "gaps_by_segment",
    "statement_series",
    "panel_cross",
    "panel_waves",
    "panel_gaps",
    "gap_trend",
    "gap_vs_baseline",
    "gap_slope",
    "gap_slope_by_segment",
    "agreement_slope",
    "score_cells",
    "scores",
    "score_gaps",
    "score_series",
    "score_trend",
    "score_slope",
];

/// The panel views where no live load has `panelstats` rows: no rows, the same columns.
fn no_panel_view(name: &str) -> Option<&'static str> {
    Some(match name {
        "panel_cross" => {
            "SELECT CAST(NULL AS VARCHAR) AS wave, CAST(NULL AS VARCHAR) AS other_wave, \
             CAST(NULL AS VARCHAR) AS statement, CAST(NULL AS BOOLEAN) AS theme, \
             CAST(NULL AS VARCHAR) AS metric, CAST(NULL AS VARCHAR) AS grp, \
             CAST(NULL AS VARCHAR) AS other_grp, CAST(NULL AS BIGINT) AS n, \
             CAST(NULL AS DOUBLE) AS cov WHERE false"
        }
        "panel_waves" => {
            "SELECT CAST(NULL AS VARCHAR) AS wave, CAST(NULL AS VARCHAR) AS other_wave, \
             CAST(NULL AS BIGINT) AS respondents, CAST(NULL AS DOUBLE) AS f, \
             CAST(NULL AS DOUBLE) AS scale, CAST(NULL AS DOUBLE) AS other_scale WHERE false"
        }
        "panel_gaps" => {
            "SELECT CAST(NULL AS VARCHAR) AS wave, CAST(NULL AS VARCHAR) AS other_wave, \
             CAST(NULL AS VARCHAR) AS statement, CAST(NULL AS BOOLEAN) AS theme, \
             CAST(NULL AS VARCHAR) AS metric, CAST(NULL AS VARCHAR) AS group_a, \
             CAST(NULL AS VARCHAR) AS group_b, CAST(NULL AS DOUBLE) AS cov, \
             CAST(NULL AS BIGINT) AS overlap WHERE false"
        }
        _ => return None,
    })
}

/// The embedded text of `queries/NAME.sql`.
pub fn query_text(name: &str) -> Option<&'static str> {
    QUERIES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Views whose SQL is another view's with one view it reads replaced: (name, the view
/// whose SQL it is, the view read there, the view read instead). They are the
/// whole-wave cells: `wave_cellstats` is `cellstats` alone, so `agreement`, `gaps` and
/// every view over them neither read nor plan the segment tables.
const RENAMED_VIEWS: &[(&str, &str, &str, &str)] = &[
    (
        "agreement_wave_cells",
        "agreement_cells",
        "all_cellstats",
        "wave_cellstats",
    ),
    (
        "gaps_wave_cells",
        "gaps_cells",
        "agreement_cells",
        "agreement_wave_cells",
    ),
];

/// The SQL of the view `name` of [`VIEWS`].
pub fn view_sql(name: &str) -> Option<String> {
    match RENAMED_VIEWS.iter().find(|v| v.0 == name) {
        Some(&(_, of, read, instead)) => Some(rename_word(query_text(of)?, read, instead)),
        None => query_text(name).map(str::to_string),
    }
}

/// `text` with every whole word `word` (an SQL identifier) replaced by `with`.
fn rename_word(text: &str, word: &str, with: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        out.push_str(&rest[..i]);
        let before = out.chars().last();
        let after = rest[i + word.len()..].chars().next();
        let whole = !before.is_some_and(is_ident) && !after.is_some_and(is_ident);
        out.push_str(if whole { with } else { word });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The file a view's SQL comes from, for its errors.
fn view_file(name: &str) -> Option<&'static str> {
    let of = RENAMED_VIEWS
        .iter()
        .find(|v| v.0 == name)
        .map_or(name, |v| v.1);
    QUERIES.iter().find(|(n, _)| *n == of).map(|(n, _)| *n)
}

/// Runs the shipped query `queries/NAME.sql` with `params` bound to its `$name`
/// placeholders, as `gaptrack query NAME --param name=value` does, and collects its rows.
pub async fn run_shipped(
    session: &Session,
    name: &str,
    params: &[(&str, &str)],
) -> Result<Vec<RecordBatch>> {
    let sql = query_text(name).expect("the query is embedded");
    session.prepare(sql).await?;
    let df = session.ctx.sql(sql).await?;
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(query::bind(df, &params)?.collect().await?)
}

/// Variance method of the views (the default is Kish; see docs/statistics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variance {
    /// Kish effective base: var(p) = p(1−p) / n_eff, n_eff = (Σw)² / Σw².
    #[default]
    Kish,
    /// Taylor-linearized variance of a weighted proportion (weights-only design).
    Linearized,
}

impl Variance {
    pub fn as_str(self) -> &'static str {
        match self {
            Variance::Kish => "kish",
            Variance::Linearized => "linearized",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<Variance, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kish" => Ok(Variance::Kish),
            "linearized" | "linearised" | "taylor" => Ok(Variance::Linearized),
            other => Err(format!(
                "{other:?} is not a variance method (kish, linearized)"
            )),
        }
    }
}

/// Which base `low_base` and suppression compare with their thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BaseOn {
    /// The respondents who answered (`n`).
    #[default]
    #[value(name = "n")]
    N,
    /// The effective base (`n_eff`: Kish, or from the linearized variance).
    #[value(name = "n_eff")]
    NEff,
}

impl BaseOn {
    pub fn as_str(self) -> &'static str {
        match self {
            BaseOn::N => "n",
            BaseOn::NEff => "n_eff",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<BaseOn, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "n" => Ok(BaseOn::N),
            "n_eff" | "n-eff" => Ok(BaseOn::NEff),
            other => Err(format!("{other:?} is not a base (n, n_eff)")),
        }
    }
}

/// Settings the views read (from the one-row `settings` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `low_base` is `n < min_base`.
    pub min_base: i64,
    /// Reports publish no percentage for a base below this.
    pub suppress_below: i64,
    /// The base both thresholds apply to.
    pub min_base_on: BaseOn,
    pub variance: Variance,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_base: 30,
            suppress_below: 10,
            min_base_on: BaseOn::N,
            variance: Variance::Kish,
        }
    }
}

/// Which state of the store to read.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// The catalog's Delta version.
    Version(i64),
    /// The latest catalog version committed at or before this time.
    Time(chrono::DateTime<chrono::Utc>),
}

impl AsOf {
    /// Parses `--as-of`: a version number or an RFC 3339 timestamp / ISO date.
    pub fn parse(s: &str) -> std::result::Result<AsOf, String> {
        let s = s.trim();
        if let Ok(v) = s.parse::<i64>() {
            if v >= 0 {
                return Ok(AsOf::Version(v));
            }
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(AsOf::Time(t.with_timezone(&chrono::Utc)));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let t = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
            return Ok(AsOf::Time(t));
        }
        Err(format!(
            "{s:?} is not a version number or a timestamp (e.g. 12, 2026-03-01T12:00:00Z, 2026-03-01)"
        ))
    }
}

/// Which versions of the data tables a session reads.
#[derive(Clone)]
enum DataAt {
    Latest,
    /// The versions a catalog commit recorded.
    Versions(std::collections::BTreeMap<String, i64>),
    /// The latest versions committed at or before this time.
    Time(chrono::DateTime<chrono::Utc>),
}

/// A session over one consistent state of the store.
pub struct Session {
    pub ctx: SessionContext,
    pub catalog: Catalog,
    pub settings: Settings,
    /// Views of a lazy session not created yet, in dependency order (a view reads only
    /// views before it): name and body.
    pending: std::sync::Mutex<Vec<(String, String)>>,
    /// A lazy session's store tables, loaded when a statement first reads them.
    lazy: Option<lazy::Tables>,
    /// Where a lazy session keeps and finds the views' results ([`cache`]).
    cache: Option<cache::ResultCache>,
}

/// A view's `CREATE VIEW` statement, with the file it comes from in its error.
async fn create_view(ctx: &SessionContext, name: &str, body: &str) -> Result<()> {
    ctx.sql(&format!("CREATE VIEW {name} AS {body}"))
        .await
        .map_err(|e| match view_file(name) {
            Some(file) => Error::Other(format!("queries/{file}.sql: {e}")),
            None => Error::from(e),
        })?;
    Ok(())
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn quote_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn empty_table(schema: Arc<Schema>) -> Result<Arc<MemTable>> {
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?))
}

fn responses_schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new("wave", DataType::Utf8, true),
        Field::new("load_id", DataType::Utf8, true),
    ];
    fields.extend(tables::responses_file_fields());
    Arc::new(Schema::new(fields))
}

/// A session config for gaptrack: settings from the environment first
/// (`DATAFUSION_*` variables), then gaptrack's defaults.
pub fn session_config() -> Result<SessionConfig> {
    let cfg = SessionConfig::from_env()?
        .with_information_schema(true)
        .with_default_catalog_and_schema("datafusion", "public");
    Ok(cfg)
}

/// The tables of the `store` schema, with the schema each has when it does not exist.
fn store_tables() -> [(&'static str, Arc<Schema>); 9] {
    [
        (RESPONSES, responses_schema()),
        (CELLSTATS, tables::cellstats_schema()),
        (SEGSTATS, tables::segstats_schema()),
        (STATEMENTS, tables::statements_schema()),
        (WEIGHTING, tables::weighting_schema()),
        (SCORESTATS, tables::scorestats_schema()),
        (RESPONDENT_IDS, tables::respondent_ids_schema()),
        (PANELSTATS, tables::panelstats_schema()),
        (WAVES, tables::waves_schema()),
    ]
}

/// Where a session's plans run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// In this process.
    #[default]
    Local,
    /// On an Apache Ballista cluster: its scheduler's URL, `df://HOST:PORT`.
    Cluster(String),
    /// On Ballista's scheduler and executor started inside this process.
    Standalone,
}

impl Engine {
    /// The engine of `--cluster URL` (none: local).
    pub fn of(cluster: Option<&str>) -> Engine {
        match cluster.map(str::trim).filter(|c| !c.is_empty()) {
            Some(url) => Engine::Cluster(url.to_string()),
            None => Engine::Local,
        }
    }
}

/// How a session reads the store's tables: the object store URL its scans name, and
/// whether every table is read as a [`files::FilesTable`] (which a cluster plan can
/// carry) rather than as a Delta table.
#[derive(Clone)]
pub(crate) struct Scan {
    url: datafusion::execution::object_store::ObjectStoreUrl,
    files_only: bool,
    /// The statistics tables (every table but `responses`) read once into memory when
    /// they are small ([`IN_MEMORY_BYTES`]): a session that runs many statements (a
    /// report, the shell, the server) then reads their files once, not per statement.
    in_memory: bool,
}

/// The most Parquet bytes of a table that [`Scan::in_memory`] reads into memory.
const IN_MEMORY_BYTES: i64 = 32 << 20;

/// A DataFusion context with gaptrack's settings, functions and rules, the store's root
/// object store registered as `gaptrack://store`, and an empty `store` schema. On a
/// cluster, the plans go to Ballista and read the store by its own URL (see
/// [`cluster`]); gaptrack's own grouping operator is not used there.
async fn new_context(
    store: &Store,
    engine: &Engine,
) -> Result<(SessionContext, Scan, Arc<MemorySchemaProvider>)> {
    use ballista::extension::{SessionConfigExt, SessionContextExt};
    // The store's root object store, under a name of its own, for the files that
    // gaptrack scans itself.
    let (root, _) = store.object_store();
    let local = datafusion::execution::object_store::ObjectStoreUrl::parse("gaptrack://store")?;
    let limits = runtime::Limits::from_env()?;
    let ctx = match engine {
        Engine::Local => SessionContext::new_with_state(
            SessionStateBuilder::new()
                .with_config(session_config()?)
                .with_runtime_env(limits.runtime()?)
                .with_default_features()
                .with_physical_optimizer_rule(Arc::new(dict_group::DictGroupBy::new(
                    local.clone(),
                    root.clone(),
                )))
                .build(),
        ),
        Engine::Cluster(_) | Engine::Standalone => {
            let config = session_config()?
                .upgrade_for_ballista()
                .with_ballista_logical_extension_codec(Arc::new(cluster::LogicalCodec::default()))
                .with_ballista_adaptive_query_planner(cluster::adaptive());
            let state = cluster::state_builder(config, limits.runtime_builder()?)?.build();
            match engine {
                Engine::Cluster(url) => {
                    cluster::check_reachable(url).await?;
                    SessionContext::remote_with_state(url, state).await
                }
                _ => SessionContext::standalone_with_state(state).await,
            }
            .map_err(|e| Error::Other(format!("connecting to the cluster: {e}")))?
        }
    };
    udf::register(&ctx);
    ctx.add_optimizer_rule(Arc::new(case_select::CaseToSelect::default()));
    ctx.add_optimizer_rule(Arc::new(const_row::ConstantRowJoin));
    ctx.add_optimizer_rule(Arc::new(eager_agg::EagerAggregate));
    let schema = Arc::new(MemorySchemaProvider::new());
    ctx.catalog("datafusion")
        .expect("default catalog")
        .register_schema("store", schema.clone())?;
    ctx.register_object_store(local.as_ref(), root);
    let scan = match engine {
        Engine::Local => Scan {
            in_memory: false,
            url: local,
            files_only: false,
        },
        _ => Scan {
            in_memory: false,
            url: cluster::plan_url(store)?,
            files_only: true,
        },
    };
    Ok((ctx, scan, schema))
}

/// The tables of the `store` schema as Delta tables at the session's versions (`None`
/// where a table does not exist there).
async fn load_tables(
    store: &Store,
    cat: &Catalog,
    waves: &Option<deltalake::DeltaTable>,
    data_at: &DataAt,
    names: &[(&'static str, Arc<Schema>)],
) -> Result<Vec<Option<deltalake::DeltaTable>>> {
    // The tables' logs are read concurrently. Every read runs to its end before an
    // error is returned: a read dropped half-way leaves deltalake's blocking log
    // replay without its receiver, which panics.
    futures::future::join_all(names.iter().map(|(name, _)| async move {
        if *name == WAVES {
            // The catalog's own table, already loaded at the catalog's version.
            match (cat.version, waves) {
                (Some(v), Some(t)) if t.version().map(|tv| tv as i64) == Some(v) => {
                    Ok(Some(t.clone()))
                }
                (Some(v), _) => store.load(name, Some(v)).await,
                (None, _) => Ok(None),
            }
        } else {
            match data_at {
                DataAt::Latest => store.load(name, None).await,
                DataAt::Versions(v) => match v.get(*name) {
                    Some(v) => store.load(name, Some(*v)).await,
                    // The table did not exist yet at that catalog version.
                    None => Ok(None),
                },
                DataAt::Time(t) => store.load_at_time(name, *t).await,
            }
        }
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>>>()
}

/// What [`register_tables`] found: the versions read, whether `store.responses` holds
/// only the live loads' files, and whether any live load has `panelstats` rows.
struct Registered {
    versions: Vec<(&'static str, Option<i64>)>,
    responses_live_only: bool,
    panel: bool,
}

/// Whether `table` has a file of a live load (by its `load_id` partition).
fn has_live_files(table: &deltalake::DeltaTable, live: &std::collections::HashSet<&str>) -> bool {
    table.snapshot().is_ok_and(|s| {
        s.log_data().iter().any(|f| {
            f.partition_values_map()
                .get("load_id")
                .cloned()
                .flatten()
                .is_some_and(|l| live.contains(l.as_str()))
        })
    })
}

/// Registers the loaded tables in the `store` schema: `responses` (and with
/// [`Scan::files_only`] every table) as its files, the others as Delta tables.
async fn register_tables(
    ctx: &SessionContext,
    schema: &Arc<MemorySchemaProvider>,
    store: &Store,
    scan: &Scan,
    cat: &Catalog,
    names: Vec<(&'static str, Arc<Schema>)>,
    loaded: Vec<Option<deltalake::DeltaTable>>,
) -> Result<Registered> {
    let live_ids: std::collections::HashSet<&str> =
        cat.entries.iter().map(|e| e.load_id.as_str()).collect();
    let views = ctx
        .state()
        .config_options()
        .execution
        .parquet
        .schema_force_view_types;
    let mut versions = Vec::new();
    let mut responses_live_only = false;
    let mut panel = false;
    for ((name, empty), table) in names.into_iter().zip(loaded) {
        if name == PANELSTATS {
            panel = table.as_ref().is_some_and(|t| has_live_files(t, &live_ids));
        }
        let provider: Arc<dyn datafusion::catalog::TableProvider> = match table {
            Some(t) => {
                versions.push((name, t.version().map(|v| v as i64)));
                // `responses`: the live loads' files only.
                let live = (name == RESPONSES).then_some(&live_ids);
                let files = if name == RESPONSES || scan.files_only {
                    files::FilesTable::try_new(store, scan.url.clone(), name, &t, live, views)?
                } else {
                    None
                };
                match files {
                    Some(p) => {
                        responses_live_only |= name == RESPONSES;
                        Arc::new(p)
                    }
                    None if scan.files_only => {
                        return Err(Error::Other(format!(
                            "the {name} table holds deletion vectors, which a cluster cannot \
                             read; query it without --cluster"
                        )))
                    }
                    None => {
                        t.update_datafusion_session(&ctx.state())
                            .map_err(|e| Error::delta(format!("reading {name}"), e))?;
                        let provider = t.table_provider().await?;
                        if scan.in_memory && parquet_bytes(&t) <= IN_MEMORY_BYTES {
                            in_memory(ctx, provider).await?
                        } else {
                            provider
                        }
                    }
                }
            }
            None if scan.files_only => Arc::new(files::FilesTable::empty(empty, scan.url.clone())),
            None => empty_table(empty)?,
        };
        schema.register_table(name.to_string(), provider)?;
    }

    Ok(Registered {
        versions,
        responses_live_only,
        panel,
    })
}

/// The size of a table's data files at its loaded version.
fn parquet_bytes(t: &deltalake::DeltaTable) -> i64 {
    t.snapshot()
        .map(|s| s.log_data().iter().map(|f| f.size()).sum())
        .unwrap_or(i64::MAX)
}

/// A table's rows, read now, as an in-memory table.
async fn in_memory(
    ctx: &SessionContext,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let schema = provider.schema();
    let batches = ctx.read_table(provider)?.collect().await?;
    Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
}

/// The one-row `settings` table.
fn settings_batch(settings: &Settings, data_version: Option<i64>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("min_base", DataType::Int64, false),
            Field::new("suppress_below", DataType::Int64, false),
            Field::new("min_base_on", DataType::Utf8, false),
            Field::new("variance", DataType::Utf8, false),
            Field::new("data_version", DataType::Int64, true),
        ])),
        vec![
            Arc::new(arrow::array::Int64Array::from(vec![settings.min_base])),
            Arc::new(arrow::array::Int64Array::from(vec![
                settings.suppress_below,
            ])),
            Arc::new(arrow::array::StringArray::from(vec![settings
                .min_base_on
                .as_str()])),
            Arc::new(arrow::array::StringArray::from(vec![settings
                .variance
                .as_str()])),
            Arc::new(arrow::array::Int64Array::from(vec![data_version])),
        ],
    )?)
}

/// The `settings` table as a query of constants.
fn settings_sql(settings: &Settings, data_version: Option<i64>) -> String {
    format!(
        "SELECT CAST({} AS BIGINT) AS min_base, CAST({} AS BIGINT) AS suppress_below, \
         {} AS min_base_on, {} AS variance, CAST({} AS BIGINT) AS data_version",
        settings.min_base,
        settings.suppress_below,
        quote_lit(settings.min_base_on.as_str()),
        quote_lit(settings.variance.as_str()),
        data_version.map_or("NULL".to_string(), |v| v.to_string())
    )
}

/// The segment columns of `store.responses`: every column beyond the fixed ones (the
/// table gains one when a wave brings a new segment), as `, "name"` list items.
async fn segment_columns(schema: &Arc<MemorySchemaProvider>) -> Result<String> {
    Ok(schema
        .table(RESPONSES)
        .await?
        .map(|t| {
            t.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !tables::is_responses_column(n))
                .map(|n| format!(", {}", quote_ident(&n)))
                .collect()
        })
        .unwrap_or_default())
}

/// The `min_code, max_code, wording` columns of the `statements` view, and its
/// `disagree_codes`. Stores written before the range columns existed have only `points`
/// (a 1..points scale), from which they follow; the later columns are NULL there.
async fn statement_range_columns(schema: &Arc<MemorySchemaProvider>) -> Result<String> {
    let table = schema.table(STATEMENTS).await?;
    let has_column = |c: &str| {
        table
            .as_ref()
            .is_some_and(|t| t.schema().field_with_name(c).is_ok())
    };
    let (has, has_wording) = (has_column("min_code"), has_column("wording"));
    let from_points = "CASE WHEN points IS NOT NULL THEN CAST(1 AS INT) END";
    let range = if has {
        format!(
            "COALESCE(min_code, {from_points}) AS min_code, COALESCE(max_code, points) AS max_code"
        )
    } else {
        format!("{from_points} AS min_code, points AS max_code")
    };
    // `wording` came later still: NULL for the waves loaded before it.
    let wording = if has_wording {
        "wording"
    } else {
        "CAST(NULL AS VARCHAR) AS wording"
    };
    let disagree = if has_column("disagree_codes") {
        "disagree_codes"
    } else {
        "CAST(NULL AS VARCHAR) AS disagree_codes"
    };
    Ok(format!("{range}, {wording}, {disagree}"))
}

/// The views over the `store` tables that hold only the live loads' rows, and
/// `all_cellstats`; the statistics views of `queries/` follow them.
fn base_views(
    cat: &Catalog,
    seg_cols: &str,
    range: &str,
    responses_live_only: bool,
) -> Vec<(String, String)> {
    let live_of = |column: &str| {
        if cat.entries.is_empty() {
            "FALSE".to_string()
        } else {
            let ids: Vec<String> = cat.entries.iter().map(|e| quote_lit(&e.load_id)).collect();
            format!("{column} IN ({})", ids.join(", "))
        }
    };
    let live = live_of("load_id");
    let base_views = [
        (
            "waves",
            "SELECT wave, date, title, kind, respondents, source, source_sha256, loaded_at, spec, spec_sha256 \
             FROM store.waves"
                .to_string(),
        ),
        (
            "statements",
            format!(
                "SELECT wave, statement, text, series_break, source_column, points, {range}, agree_codes, missing_codes \
                 FROM store.statements WHERE {live}"
            ),
        ),
        (
            "responses",
            format!(
                "SELECT wave, respondent, grp, weight, statement, value, agree{seg_cols} \
                 FROM store.responses WHERE {}",
                if responses_live_only { "TRUE" } else { &live }
            ),
        ),
        (
            "cellstats",
            format!(
                "SELECT wave, statement, grp, n, sum_w, sum_wa, sum_w2, sum_w2a, pct \
                 FROM store.cellstats WHERE {live}"
            ),
        ),
        (
            "segstats",
            format!(
                "SELECT wave, segment, segment_value, statement, grp, n, sum_w, sum_wa, sum_w2, sum_w2a, pct \
                 FROM store.segstats WHERE {live}"
            ),
        ),
        (
            "weighting",
            format!(
                "SELECT wave, margin, category, target_share, unweighted_share, design_share, weighted_share, \
                        respondents, n_eff, efficiency, iterations, max_residual, min_weight_ratio, max_weight_ratio \
                 FROM store.weighting WHERE {live}"
            ),
        ),
        (
            "scorestats",
            format!(
                "SELECT wave, segment, segment_value, statement, theme, members, grp, metric, n, \
                        sum_w, sum_w2, sum_ws, sum_ws2, sum_w2s, sum_w2s2 \
                 FROM store.scorestats WHERE {live}"
            ),
        ),
        (
            "panelstats",
            format!(
                "SELECT wave, other_wave, statement, theme, metric, grp, other_grp, n, \
                        sum_ww, sum_wwy, sum_wwy_other, sum_wwyy \
                 FROM store.panelstats WHERE {live} AND {}",
                live_of("other_load_id")
            ),
        ),
        (
            "wave_cellstats",
            "SELECT CAST(NULL AS VARCHAR) AS segment, CAST(NULL AS VARCHAR) AS segment_value, \
                    wave, statement, grp, n, sum_w, sum_wa, sum_w2, sum_w2a, pct FROM cellstats"
                .to_string(),
        ),
        (
            "all_cellstats",
            "SELECT segment, segment_value, wave, statement, grp, n, sum_w, sum_wa, sum_w2, sum_w2a, pct \
             FROM wave_cellstats \
             UNION ALL \
             SELECT segment, segment_value, wave, statement, grp, n, sum_w, sum_wa, sum_w2, sum_w2a, pct \
             FROM segstats"
                .to_string(),
        ),
    ];
    base_views
        .into_iter()
        .map(|(name, sql)| (name.to_string(), sql))
        .collect()
}

impl Session {
    /// Opens a session over the store's latest state (or `as_of`).
    pub async fn open(store: &Store, as_of: Option<AsOf>, settings: Settings) -> Result<Session> {
        Self::open_on(store, as_of, settings, false, &Engine::Local).await
    }

    /// Like [`Session::open`], but each view is planned only when a statement first
    /// reads it (see [`Session::prepare`]): a query over one table does not pay for
    /// planning the whole view stack.
    pub async fn open_lazy(
        store: &Store,
        as_of: Option<AsOf>,
        settings: Settings,
    ) -> Result<Session> {
        Self::open_on(store, as_of, settings, true, &Engine::Local).await
    }

    /// Like [`Session::open`] (or [`Session::open_lazy`] with `lazy`), with the plans run
    /// by `engine`.
    pub async fn open_on(
        store: &Store,
        as_of: Option<AsOf>,
        settings: Settings,
        lazy: bool,
        engine: &Engine,
    ) -> Result<Session> {
        let started = std::time::Instant::now();
        // A concurrent load may commit (and clean up what it replaced) while we read:
        // read the catalog, then the data, then check the catalog did not move.
        for _ in 0..5 {
            let (cat, waves) = match &as_of {
                None => catalog::at_with_table(store, None).await?,
                Some(AsOf::Version(v)) => catalog::at_with_table(store, Some(*v)).await?,
                Some(AsOf::Time(t)) => {
                    let v = catalog::version_at(store, *t).await?;
                    catalog::at_with_table(store, Some(v)).await?
                }
            };
            // The data tables: their latest versions, or for `--as-of` the versions the
            // catalog commit recorded (by the commit's time for older commits).
            let data_at = match (&as_of, &cat.tables, cat.version) {
                (None, _, _) | (_, _, None) => DataAt::Latest,
                (Some(_), Some(versions), _) => DataAt::Versions(versions.clone()),
                (Some(_), None, Some(v)) => match store.commit_written_at(WAVES, v).await? {
                    Some(t) => DataAt::Time(t),
                    None => DataAt::Latest,
                },
            };
            let session =
                Self::build(store, cat, waves.clone(), &data_at, settings, lazy, engine).await?;
            if as_of.is_some() {
                return Ok(session);
            }
            // Did the catalog move meanwhile? Its log's latest version says so; read the
            // catalog again only where that cannot be listed.
            let now = match &waves {
                Some(t) => match t.get_latest_version().await {
                    Ok(v) => Some(v as i64),
                    Err(_) => catalog::current(store).await?.version,
                },
                None => catalog::current(store).await?.version,
            };
            if now == session.catalog.version {
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                    "session opened"
                );
                return Ok(session);
            }
        }
        Err(Error::Conflict(
            "the store kept changing while it was being read".into(),
        ))
    }

    async fn build(
        store: &Store,
        cat: Catalog,
        waves: Option<deltalake::DeltaTable>,
        data_at: &DataAt,
        settings: Settings,
        lazy: bool,
        engine: &Engine,
    ) -> Result<Session> {
        let (ctx, mut scan, schema) = new_context(store, engine).await?;
        // A lazy session runs one statement; an eager one may run many.
        scan.in_memory = !lazy && !scan.files_only;
        if scan.files_only {
            // A view of constants: a cluster plan cannot carry an in-memory table.
            create_view(&ctx, "settings", &settings_sql(&settings, cat.version)).await?;
        } else {
            let row = settings_batch(&settings, cat.version)?;
            ctx.register_table("settings", Arc::new(const_row::ConstantRow::new(row)?))?;
        }
        // A lazy session reads each table when a statement first needs it (see
        // `lazy::Tables::ensure` for how it stays one state of the store); others read
        // every table now.
        if lazy {
            let cache = match scan.files_only {
                true => None,
                false => cache::ResultCache::new(store, &cat, &settings),
            };
            let tables = lazy::Tables::new(store, scan, schema, waves, data_at.clone());
            let mut views = base_views(&cat, "", lazy::RANGE_PLACEHOLDER, false);
            for name in VIEWS {
                views.push((name.to_string(), view_sql(name).expect("view sql")));
            }
            return Ok(Session {
                ctx,
                catalog: cat,
                settings,
                pending: std::sync::Mutex::new(views),
                lazy: Some(tables),
                cache,
            });
        }
        let names = store_tables().to_vec();
        let loaded = load_tables(store, &cat, &waves, data_at, &names).await?;
        let Registered {
            versions,
            responses_live_only,
            panel,
        } = register_tables(&ctx, &schema, store, &scan, &cat, names, loaded).await?;
        let seg_cols = segment_columns(&schema).await?;
        let range = statement_range_columns(&schema).await?;
        let mut views = base_views(&cat, &seg_cols, &range, responses_live_only);
        for name in VIEWS {
            let body = match (panel, no_panel_view(name)) {
                // No two live waves share respondents: the panel views are empty, and
                // the planner drops the trend views' joins with them.
                (false, Some(empty)) => empty.to_string(),
                _ => view_sql(name).expect("view sql"),
            };
            views.push((name.to_string(), body));
        }
        let views_started = std::time::Instant::now();
        if !lazy {
            for (name, body) in std::mem::take(&mut views) {
                create_view(&ctx, &name, &body).await?;
            }
        }
        tracing::debug!(
            ?versions,
            views_ms = views_started.elapsed().as_secs_f64() * 1e3,
            "session built"
        );
        Ok(Session {
            ctx,
            catalog: cat,
            settings,
            pending: std::sync::Mutex::new(views),
            lazy: None,
            cache: None,
        })
    }

    fn pending(&self) -> Vec<(String, String)> {
        self.pending.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The names of the session's tables and views (created or not yet), sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .map(|s| s.table_names())
            .unwrap_or_default();
        names.extend(self.pending().into_iter().map(|(n, _)| n));
        names.sort();
        names.dedup();
        names
    }

    /// Whether `name` is a table or view of the session (created or not yet).
    pub fn has_table(&self, name: &str) -> bool {
        self.ctx.table_exist(name).unwrap_or(false)
            || self
                .pending
                .lock()
                .is_ok_and(|p| p.iter().any(|(n, _)| n == name))
    }

    /// Creates the views `sql` reads, directly or through other views (a lazy session
    /// creates its views here; for others this does nothing). A statement that lists
    /// tables (`information_schema`, `SHOW TABLES`) or cannot be parsed gets all of
    /// them, so that it sees the session as [`Session::open`] builds it.
    pub async fn prepare(&self, sql: &str) -> Result<()> {
        // A lazy session may still have store tables to read (`store.NAME`).
        if self.pending().is_empty() && self.lazy.is_none() {
            return Ok(());
        }
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        // The tables a statement reads: (views and tables of the session, store tables);
        // None where it lists them all or cannot be parsed.
        let reads = |sql: &str| -> Option<(Vec<String>, Vec<String>)> {
            let statement = state.sql_to_statement(sql, &dialect).ok()?;
            let refs = state.resolve_table_references(&statement).ok()?;
            let (mut names, mut stored) = (Vec::new(), Vec::new());
            for r in refs {
                match r.schema() {
                    None => names.push(r.table().to_string()),
                    Some("information_schema") => return None,
                    Some("store") => stored.push(r.table().to_string()),
                    Some(_) => {}
                }
            }
            Some((names, stored))
        };
        let read = reads(sql);
        let direct = read.as_ref().map(|(names, _)| names.as_slice());
        let compute = self.use_kept(direct.unwrap_or_default()).await?;
        let pending = self.pending();
        let (mut needed, stored) = closure(&pending, read.clone(), &reads, false);
        let mut bodies: std::collections::HashMap<String, String> = Default::default();
        if let Some(lazy) = &self.lazy {
            // Where no live load has `panelstats` rows the panel views are empty: read
            // `panelstats` with the tables the other views need, and the tables only the
            // panel views read (`scorestats`) only where it has rows.
            let loaded = if stored.contains(PANELSTATS) {
                let (fewer, mut first) = closure(&pending, read.clone(), &reads, true);
                first.insert(PANELSTATS.to_string());
                let loaded = lazy.ensure(&self.ctx, &self.catalog, &first).await?;
                if loaded.panel {
                    drop(loaded);
                    lazy.ensure(&self.ctx, &self.catalog, &stored).await?
                } else {
                    needed = fewer;
                    loaded
                }
            } else {
                lazy.ensure(&self.ctx, &self.catalog, &stored).await?
            };
            for (name, body) in lazy.base_views(&loaded, &self.catalog).await? {
                bodies.insert(name, body);
            }
            if !loaded.panel {
                for name in VIEWS {
                    if let Some(empty) = no_panel_view(name) {
                        bodies.insert(name.to_string(), empty.to_string());
                    }
                }
            }
        }
        for (name, body) in &pending {
            if needed.contains(name) {
                let body = bodies.get(name).unwrap_or(body);
                create_view(&self.ctx, name, body).await?;
            }
        }
        if let Ok(mut p) = self.pending.lock() {
            p.retain(|(n, _)| !needed.contains(n));
        }
        self.keep(&compute).await
    }

    /// Reads the kept results ([`cache`]) of the views in `names` not created yet and
    /// registers each found as the table of that name; returns the views with none.
    async fn use_kept(&self, names: &[String]) -> Result<Vec<String>> {
        let Some(cache) = &self.cache else {
            return Ok(Vec::new());
        };
        let pending = self.pending();
        let mut views: Vec<&String> = names
            .iter()
            .filter(|n| VIEWS.contains(&n.as_str()) && pending.iter().any(|(p, _)| p == *n))
            .collect();
        views.sort();
        views.dedup();
        let kept = futures::future::join_all(views.iter().map(|v| cache.get(v))).await;
        let mut missing = Vec::new();
        for (view, kept) in views.into_iter().zip(kept) {
            let Some((schema, batches)) = kept else {
                missing.push(view.clone());
                continue;
            };
            self.ctx
                .register_table(view.as_str(), cache::table(schema, batches)?)?;
            if let Ok(mut p) = self.pending.lock() {
                p.retain(|(n, _)| n != view);
            }
        }
        Ok(missing)
    }

    /// Computes each view of `views` (created by now) whole, keeps its rows and puts
    /// them in the view's place, so the statement reads what the next one will.
    async fn keep(&self, views: &[String]) -> Result<()> {
        let Some(cache) = &self.cache else {
            return Ok(());
        };
        for view in views {
            let df = self.ctx.table(view.as_str()).await?;
            let declared = df.schema().as_arrow().clone();
            let batches = df.collect().await.map_err(query::execution_error)?;
            let schema = nullable_where_any(&declared, &batches);
            let Ok(batches) = batches
                .into_iter()
                .map(|b| b.with_schema(schema.clone()))
                .collect::<std::result::Result<Vec<_>, _>>()
            else {
                tracing::debug!(view, "rows unlike the view's schema: not kept");
                continue;
            };
            cache.put(view, &schema, &batches).await;
            self.ctx.deregister_table(view.as_str())?;
            self.ctx
                .register_table(view.as_str(), cache::table(schema, batches)?)?;
        }
        Ok(())
    }
}

/// `schema` with every column nullable that is in `schema` or in one of the batches (a
/// view may declare a column free of NULLs that its plan's batches allow).
fn nullable_where_any(schema: &Schema, batches: &[RecordBatch]) -> Arc<Schema> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let nullable = f.is_nullable()
                || batches
                    .iter()
                    .any(|b| b.schema().fields().get(i).is_some_and(|g| g.is_nullable()));
            f.as_ref().clone().with_nullable(nullable)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

type Names = std::collections::HashSet<String>;

/// The session views and store tables an SQL text reads (`None`: it needs them all).
type Reads<'a> = &'a dyn Fn(&str) -> Option<(Vec<String>, Vec<String>)>;

/// The views of `pending` that a statement reads, directly or through other views, and
/// the store tables they read; `read` is what the statement itself reads (`reads` of its
/// text). With `empty_panel` the panel views are taken as their empty forms
/// ([`no_panel_view`]), which read nothing.
fn closure(
    pending: &[(String, String)],
    read: Option<(Vec<String>, Vec<String>)>,
    reads: Reads,
    empty_panel: bool,
) -> (Names, Names) {
    let every_table = || store_tables().iter().map(|(n, _)| n.to_string()).collect();
    let (mut needed, mut stored): (Names, Names) = match read {
        Some((names, s)) => (names.into_iter().collect(), s.into_iter().collect()),
        None => (
            pending.iter().map(|(n, _)| n.clone()).collect(),
            every_table(),
        ),
    };
    // Views read only views before them: one backward pass closes the set.
    for (name, body) in pending.iter().rev() {
        if !needed.contains(name) || (empty_panel && no_panel_view(name).is_some()) {
            continue;
        }
        match reads(body) {
            Some((names, s)) => {
                needed.extend(names);
                stored.extend(s);
            }
            None => {
                needed.extend(pending.iter().map(|(n, _)| n.clone()));
                stored.extend(every_table());
            }
        }
    }
    (needed, stored)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh store holding the fixture waves of `tests/data/fixture/`.
    pub(crate) async fn fixture_store() -> (tempfile::TempDir, Store) {
        store_of("fixture").await
    }

    /// A fresh store holding the waves of `tests/data/DIR/`.
    async fn store_of(dir: &str) -> (tempfile::TempDir, Store) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let mut specs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        specs.sort();
        let specs = crate::ingest::load_specs(&specs).unwrap();
        crate::ingest::ingest(&store, specs, false).await.unwrap();
        (dir, store)
    }

    /// The rows as CSV lines, sorted (a view has no order of its own).
    fn csv(batches: &[RecordBatch]) -> Vec<String> {
        let mut out = Vec::new();
        {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(false)
                .build(&mut out);
            for b in batches {
                w.write(b).unwrap();
            }
        }
        let mut lines: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    /// Where waves share respondents the lazy session reads what the panel views read
    /// too, and every view answers as in a session with all of them.
    #[tokio::test]
    async fn lazy_panel_views_answer_as_eager_ones() {
        let (_dir, store) = store_of("panel").await;
        let eager = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        let trend = query_text("gap_trend").unwrap();
        let (_, a) = query::run(&eager, trend, &[]).await.unwrap();
        let lazy = Session::open_lazy(&store, None, Settings::default())
            .await
            .unwrap();
        let (_, b) = query::run(&lazy, trend, &[]).await.unwrap();
        assert_eq!(csv(&a), csv(&b));
        let schema = lazy.ctx.catalog("datafusion").unwrap().schema("store");
        let mut read = schema.unwrap().table_names();
        read.sort();
        assert_eq!(
            read,
            [
                "cellstats",
                "panelstats",
                "scorestats",
                "statements",
                "waves"
            ]
        );
        // The panel terms are there: some change has respondents in both waves.
        let sql = "SELECT max(overlap) FROM gap_trend";
        let (_, rows) = query::run(&lazy, sql, &[]).await.unwrap();
        assert!(
            csv(&rows)[0].parse::<i64>().unwrap() > 0,
            "{:?}",
            csv(&rows)
        );
        // That statement kept gap_trend's rows (see `cache`).
        let kept = cache::ResultCache::new(&store, &lazy.catalog, &Settings::default());
        assert!(kept.unwrap().get("gap_trend").await.is_some());
        for view in VIEWS {
            let sql = format!("SELECT * FROM {view}");
            let fresh = Session::open_lazy(&store, None, Settings::default())
                .await
                .unwrap();
            let (_, a) = query::run(&eager, &sql, &[]).await.unwrap();
            let (_, b) = query::run(&fresh, &sql, &[]).await.unwrap();
            assert_eq!(csv(&a), csv(&b), "{view}");
        }
    }

    /// A whole-wave view reads the same rows from the whole-wave cells as from the
    /// rows of all cells with no segment.
    #[tokio::test]
    async fn wave_cells_are_the_cells_without_segment() {
        let (_dir, store) = fixture_store().await;
        let session = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        for (view, of) in [
            ("agreement_wave_cells", "agreement_cells"),
            ("gaps_wave_cells", "gaps_cells"),
        ] {
            let (_, a) = query::run(&session, &format!("SELECT * FROM {view}"), &[])
                .await
                .unwrap();
            let sql = format!("SELECT * FROM {of} WHERE segment IS NULL");
            let (_, b) = query::run(&session, &sql, &[]).await.unwrap();
            assert!(!csv(&a).is_empty());
            assert_eq!(csv(&a), csv(&b), "{view}");
        }
        assert_eq!(
            rename_word(
                "FROM all_cellstats x JOIN all_cellstats_2 my_all_cellstats",
                "all_cellstats",
                "w"
            ),
            "FROM w x JOIN all_cellstats_2 my_all_cellstats"
        );
    }

    /// A lazy session plans only the views a statement reads, and answers every
    /// statement as a session with all views does.
    #[tokio::test]
    async fn lazy_views_answer_as_eager_ones() {
        let (_dir, store) = fixture_store().await;
        let eager = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        let lazy = Session::open_lazy(&store, None, Settings::default())
            .await
            .unwrap();
        // No store table is read before a statement needs it; SELECT 1 needs none.
        let stored = |s: &Session| {
            let mut names = s
                .ctx
                .catalog("datafusion")
                .and_then(|c| c.schema("store"))
                .map(|x| x.table_names())
                .unwrap_or_default();
            names.sort();
            names
        };
        query::run(&lazy, "SELECT 1", &[]).await.unwrap();
        assert!(stored(&lazy).is_empty(), "{:?}", stored(&lazy));
        assert!(!lazy.ctx.table_exist("gap_trend").unwrap());
        assert!(lazy.has_table("gap_trend") && lazy.has_table("waves"));
        assert!(!lazy.has_table("no_such_view"));

        let trend = query_text("gap_trend").unwrap();
        let (_, a) = query::run(&eager, trend, &[]).await.unwrap();
        let (_, b) = query::run(&lazy, trend, &[]).await.unwrap();
        assert_eq!(csv(&a), csv(&b));
        assert!(a.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
        // The eager session answered from its statistics tables read into memory; the
        // lazy one from their files; `responses` stays files in both.
        let in_memory = |s: &Session, t: &str| {
            let schema = s
                .ctx
                .catalog("datafusion")
                .unwrap()
                .schema("store")
                .unwrap();
            let t = futures::executor::block_on(schema.table(t))
                .unwrap()
                .unwrap();
            (t.as_ref() as &dyn std::any::Any).is::<MemTable>()
        };
        assert!(in_memory(&eager, "cellstats") && in_memory(&eager, "statements"));
        assert!(!in_memory(&lazy, "cellstats") && !in_memory(&eager, "responses"));
        // gap_trend reads gaps -> gaps_wave_cells -> agreement_wave_cells ->
        // wave_cellstats ...; the segment views stay unplanned.
        for v in [
            "gaps",
            "gaps_wave_cells",
            "agreement_wave_cells",
            "wave_cellstats",
            "statements",
            "panel_gaps",
        ] {
            assert!(lazy.ctx.table_exist(v).unwrap(), "{v}");
        }
        for v in [
            "gaps_cells",
            "agreement_cells",
            "all_cellstats",
            "gaps_by_segment",
            "agreement_by_segment",
            "responses",
            "weighting",
        ] {
            assert!(!lazy.ctx.table_exist(v).unwrap(), "{v}");
        }
        // ... and it read only the tables under them: no segment statistics, and no
        // scores, which only the panel views read, as no two of these waves share
        // respondents.
        assert_eq!(
            stored(&lazy),
            ["cellstats", "panelstats", "statements", "waves"]
        );

        // Listing the tables plans them all first.
        let list = "SELECT table_name FROM information_schema.tables \
                    WHERE table_schema = 'public' ORDER BY table_name";
        let (_, a) = query::run(&eager, list, &[]).await.unwrap();
        let (_, b) = query::run(&lazy, list, &[]).await.unwrap();
        assert_eq!(csv(&a), csv(&b));
        assert!(lazy.ctx.table_exist("gaps_by_segment").unwrap());
        // Every view is planned now; a store table no view reads is still read on demand.
        let ids = "SELECT count(*) FROM store.respondent_ids";
        let (_, a) = query::run(&eager, ids, &[]).await.unwrap();
        let (_, b) = query::run(&lazy, ids, &[]).await.unwrap();
        assert_eq!(csv(&a), csv(&b));
    }

    /// Ballista's standalone mode (scheduler and executor in this process): the views
    /// and an ad-hoc query answer as a local session does, and `EXPLAIN` shows the
    /// stages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn standalone_cluster_answers_as_a_local_session() {
        let (_dir, store) = fixture_store().await;
        let local = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        let remote = Session::open_on(&store, None, Settings::default(), true, &Engine::Standalone)
            .await
            .unwrap();
        for sql in [
            "SELECT * FROM agreement",
            "SELECT * FROM gap_trend",
            "SELECT * FROM score_slope",
            "SELECT wave, grp, sum(weight) FROM responses GROUP BY wave, grp",
        ] {
            let (_, a) = query::run(&local, sql, &[]).await.unwrap();
            let (_, b) = query::run(&remote, sql, &[]).await.unwrap();
            assert!(!a.is_empty(), "{sql}");
            assert_eq!(csv(&a), csv(&b), "{sql}");
        }
        let (_, plan) = query::run(&remote, "EXPLAIN SELECT count(*) FROM responses", &[])
            .await
            .unwrap();
        assert!(csv(&plan).iter().any(|l| l.starts_with("distributed_plan")));
    }

    /// Writes a two-group wave with `weights[g][i]` and answers `answers[g][s][i]` (0 is
    /// an empty cell) into `dir`, as `<id>.toml` / `<id>.csv`.
    fn write_wave(
        dir: &std::path::Path,
        id: &str,
        date: &str,
        weights: &[Vec<f64>; 2],
        answers: &[Vec<Vec<u8>>; 2],
    ) -> std::path::PathBuf {
        let statements = answers[0].len();
        let mut spec = format!(
            "wave = \"{id}\"\ndate = \"{date}\"\nsource = \"{id}.csv\"\n\n[respondent]\nid = \"id\"\ngroup = \"grp\"\nweight = \"w\"\nsegments = [\"size\"]\n\n[scale]\npoints = 5\nagree = [4, 5]\n"
        );
        for s in 0..statements {
            spec.push_str(&format!(
                "\n[statements.s{s}]\ncolumn = \"q{s}\"\ntext = \"Statement {s}\"\n"
            ));
        }
        let mut csv = String::from("id,grp,w,size");
        for s in 0..statements {
            csv.push_str(&format!(",q{s}"));
        }
        csv.push('\n');
        for (g, name) in ["marketing", "sales"].iter().enumerate() {
            for (i, w) in weights[g].iter().enumerate() {
                csv.push_str(&format!(
                    "{name}-{i},{name},{w:?},{}",
                    ["small", "large"][i % 2]
                ));
                for answers in &answers[g] {
                    match answers[i] {
                        0 => csv.push(','),
                        a => csv.push_str(&format!(",{a}")),
                    }
                }
                csv.push('\n');
            }
        }
        std::fs::write(dir.join(format!("{id}.csv")), csv).unwrap();
        let path = dir.join(format!("{id}.toml"));
        std::fs::write(&path, spec).unwrap();
        path
    }

    /// Every number the views give for valid data is on its domain, and no view fails.
    fn check_views(rows: &[RecordBatch], what: &str) {
        use arrow::array::AsArray;
        use arrow::datatypes::Float64Type;
        for b in rows {
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                let Some(c) = c.as_primitive_opt::<Float64Type>() else {
                    continue;
                };
                for v in c.iter().flatten() {
                    assert!(v.is_finite(), "{what}: {} = {v}", f.name());
                    let ok = match f.name().as_str() {
                        "pct" | "pct_a" | "pct_b" => (0.0..=100.0).contains(&v),
                        // (a slope's interval is in points per year, of either sign)
                        "ci_low" | "ci_high"
                            if what.starts_with("agreement") && !what.contains("_slope") =>
                        {
                            (0.0..=100.0).contains(&v)
                        }
                        "se" | "n_eff" => v >= 0.0,
                        "p_value" | "q_value" | "nonlinearity_p" => (0.0..=1.0).contains(&v),
                        _ => true,
                    };
                    assert!(ok, "{what}: {} = {v}", f.name());
                }
            }
        }
    }

    /// Random weights (with the sums that round a proportion past 100 %), cells where all
    /// or none agree, a single respondent, one weight dwarfing the others: every view
    /// answers, under both variance methods.
    #[tokio::test]
    async fn views_never_fail_on_valid_weights() {
        let mut x: u64 = 0x2545f4914f6cdd1d;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for case in 0..16 {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
            let mut specs = Vec::new();
            for (k, date) in ["2020-01-31", "2021-01-31"].iter().enumerate() {
                let mut weights: [Vec<f64>; 2] = [vec![], vec![]];
                let mut answers: [Vec<Vec<u8>>; 2] = [vec![vec![]; 4], vec![vec![]; 4]];
                for g in 0..2 {
                    let n = [1, 2, 30, 1 + next(40) as usize][(case + g + k) % 4];
                    for i in 0..n {
                        weights[g].push(match next(8) {
                            0 => 1.0,
                            1 => 0.5008,
                            2 => [1e-6, 1e6, 0.1, 3.3][next(4) as usize],
                            _ => 0.1 + next(100_000) as f64 / 33_333.0,
                        });
                        // s0: all agree, s1: none agree, s2: mixed, s3: mostly empty.
                        answers[g][0].push(4 + next(2) as u8);
                        answers[g][1].push(1 + next(3) as u8);
                        answers[g][2].push(1 + next(5) as u8);
                        answers[g][3].push(if i == 0 { 5 } else { 0 });
                    }
                }
                let id = format!("w{k}");
                specs.push(write_wave(dir.path(), &id, date, &weights, &answers));
            }
            let specs = crate::ingest::load_specs(&specs).unwrap();
            crate::ingest::ingest(&store, specs, false).await.unwrap();
            for variance in [Variance::Kish, Variance::Linearized] {
                let settings = Settings {
                    variance,
                    ..Settings::default()
                };
                let session = Session::open(&store, None, settings).await.unwrap();
                for view in VIEWS {
                    let what = format!("{view} (case {case}, {variance:?})");
                    let sql = format!("SELECT * FROM {view}");
                    let (_, rows) = query::run(&session, &sql, &[])
                        .await
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    check_views(&rows, &what);
                }
            }
        }
    }

    /// 29 respondents of weight 1 and one of 0.5008, all agreeing: 100 · Σw·a / Σw rounds
    /// to 100.00000000000001; the stored and shown figure is 100.
    #[tokio::test]
    async fn all_agree_is_exactly_one_hundred_percent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
        let mut w = vec![1.0; 29];
        w.push(0.5008);
        let x: f64 = w.iter().sum();
        assert!(100.0 * x / x > 100.0, "the sum no longer rounds past 100");
        let weights = [w.clone(), w];
        let answers = [vec![vec![5u8; 30]; 4], vec![vec![4u8; 30]; 4]];
        let spec = write_wave(dir.path(), "w", "2021-01-31", &weights, &answers);
        let specs = crate::ingest::load_specs(&[spec]).unwrap();
        crate::ingest::ingest(&store, specs, false).await.unwrap();
        let session = Session::open(&store, None, Settings::default())
            .await
            .unwrap();
        let (_, rows) = query::run(
            &session,
            "SELECT min(pct), max(pct), min(se), max(se) FROM agreement",
            &[],
        )
        .await
        .unwrap();
        assert_eq!(csv(&rows), vec!["100.0,100.0,0.0,0.0"]);
    }
}

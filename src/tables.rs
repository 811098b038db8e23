//! Schemas of the stored tables and the row types written to them. Every table is a
//! Delta table of plain types (strings, longs, doubles, booleans, dates, UTC timestamps,
//! one string map) that every Delta reader accepts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use chrono::NaiveDate;
use deltalake::kernel::{DataType, StructField};

use crate::error::{Error, Result};

pub const PARTITIONS: [&str; 2] = ["wave", "load_id"];

/// The Delta properties every store table is created with: a checkpoint every 10
/// commits (Delta's default is 100), so that reading a table's state reads its latest
/// checkpoint and at most 9 commits after it, however many waves the store holds.
pub const TABLE_PROPERTIES: [(&str, Option<&str>); 1] = [("delta.checkpointInterval", Some("10"))];

/// Columns of the `responses` table (long microdata).
pub fn responses_columns() -> Vec<StructField> {
    vec![
        StructField::new("wave", DataType::STRING, true),
        StructField::new("load_id", DataType::STRING, true),
        StructField::new("respondent", DataType::STRING, true),
        StructField::new("grp", DataType::STRING, true),
        StructField::new("weight", DataType::DOUBLE, true),
        StructField::new("statement", DataType::STRING, true),
        StructField::new("value", DataType::INTEGER, true),
        StructField::new("agree", DataType::BOOLEAN, true),
    ]
}

/// Whether `name` is one of the fixed [`responses_columns`] (any other column of the
/// table is a segment).
pub fn is_responses_column(name: &str) -> bool {
    responses_columns()
        .iter()
        .any(|f| f.name().eq_ignore_ascii_case(name))
}

/// The Arrow fields of a `responses` data file before its segment columns:
/// [`responses_columns`] without the partition columns `wave` and `load_id`.
pub fn responses_file_fields() -> Vec<Field> {
    arrow_fields(&responses_columns(), |f| !PARTITIONS.contains(&f))
}

/// A segment column of `responses` (one per segment name seen in any wave).
pub fn segment_column(name: &str) -> StructField {
    StructField::new(name, DataType::STRING, true)
}

/// One row of `cellstats`: the sufficient statistics of wave × statement × group.
#[derive(Debug, Clone, PartialEq)]
pub struct CellStat {
    pub statement: String,
    pub grp: String,
    /// Respondents with an answer; `None` for a published figure without a base.
    pub n: Option<i64>,
    pub sum_w: Option<f64>,
    pub sum_wa: Option<f64>,
    pub sum_w2: Option<f64>,
    pub sum_w2a: Option<f64>,
    /// Percent agreeing (0-100).
    pub pct: f64,
}

pub fn cellstats_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("wave", ArrowType::Utf8, true),
        Field::new("load_id", ArrowType::Utf8, true),
        Field::new("statement", ArrowType::Utf8, true),
        Field::new("grp", ArrowType::Utf8, true),
        Field::new("n", ArrowType::Int64, true),
        Field::new("sum_w", ArrowType::Float64, true),
        Field::new("sum_wa", ArrowType::Float64, true),
        Field::new("sum_w2", ArrowType::Float64, true),
        Field::new("sum_w2a", ArrowType::Float64, true),
        Field::new("pct", ArrowType::Float64, true),
    ]))
}

fn strings(n: usize, v: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![Some(v); n]))
}

/// A column of one string of each row.
fn text<'a, T>(rows: &'a [T], f: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
}

/// A column of one string or null of each row.
fn opt_text<'a, T>(rows: &'a [T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter(rows.iter().map(f)))
}

/// A column of one number of each row.
fn floats<T>(rows: &[T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
}

/// A column of one number or null of each row.
fn opt_floats<T>(rows: &[T], f: impl Fn(&T) -> Option<f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter(rows.iter().map(f)))
}

pub fn cellstats_batch(wave: &str, load_id: &str, rows: &[CellStat]) -> Result<RecordBatch> {
    let n = rows.len();
    let cols: Vec<ArrayRef> = vec![
        strings(n, wave),
        strings(n, load_id),
        text(rows, |r| r.statement.as_str()),
        text(rows, |r| r.grp.as_str()),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.n))),
        opt_floats(rows, |r| r.sum_w),
        opt_floats(rows, |r| r.sum_wa),
        opt_floats(rows, |r| r.sum_w2),
        opt_floats(rows, |r| r.sum_w2a),
        floats(rows, |r| r.pct),
    ];
    Ok(RecordBatch::try_new(cellstats_schema(), cols)?)
}

/// Sufficient statistics of a score s over the respondents of a cell (`scorestats`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: i64,
    pub sum_w: f64,
    pub sum_w2: f64,
    /// Σw·s, Σw·s², Σw²·s, Σw²·s²
    pub sum_ws: f64,
    pub sum_ws2: f64,
    pub sum_w2s: f64,
    pub sum_w2s2: f64,
}

impl Moments {
    #[inline]
    pub fn add(&mut self, w: f64, s: f64) {
        let w2 = w * w;
        self.n += 1;
        self.sum_w += w;
        self.sum_w2 += w2;
        self.sum_ws += w * s;
        self.sum_ws2 += w * s * s;
        self.sum_w2s += w2 * s;
        self.sum_w2s2 += w2 * s * s;
    }
}

/// One score cell of a wave × group (and statement or theme, metric).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreStat {
    /// A statement id, or a theme id.
    pub statement: String,
    pub theme: bool,
    /// A theme's member statements, comma-separated in id order.
    pub members: Option<String>,
    pub grp: String,
    pub metric: &'static str,
    pub m: Moments,
}

/// One row of `scorestats`: a score cell of the whole wave (`segment` None) or of one
/// segment value (segment, value).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    pub segment: Option<(String, String)>,
    pub stat: ScoreStat,
}

impl ScoreRow {
    /// The order rows are written in.
    pub fn key(&self) -> (&Option<(String, String)>, &str, &str, &str) {
        let s = &self.stat;
        (&self.segment, &s.statement, &s.grp, s.metric)
    }
}

pub fn scorestats_schema() -> SchemaRef {
    let f = |n: &str, t: ArrowType| Field::new(n, t, true);
    let mut fields = vec![
        f("wave", ArrowType::Utf8),
        f("load_id", ArrowType::Utf8),
        f("segment", ArrowType::Utf8),
        f("segment_value", ArrowType::Utf8),
        f("statement", ArrowType::Utf8),
        f("theme", ArrowType::Boolean),
        f("members", ArrowType::Utf8),
        f("grp", ArrowType::Utf8),
        f("metric", ArrowType::Utf8),
        f("n", ArrowType::Int64),
    ];
    for n in [
        "sum_w", "sum_w2", "sum_ws", "sum_ws2", "sum_w2s", "sum_w2s2",
    ] {
        fields.push(f(n, ArrowType::Float64));
    }
    Arc::new(Schema::new(fields))
}

pub fn scorestats_batch(wave: &str, load_id: &str, rows: &[ScoreRow]) -> Result<RecordBatch> {
    let n = rows.len();
    let m = |f: fn(&Moments) -> f64| floats(rows, move |r| f(&r.stat.m));
    let cols: Vec<ArrayRef> = vec![
        strings(n, wave),
        strings(n, load_id),
        opt_text(rows, |r| r.segment.as_ref().map(|s| s.0.as_str())),
        opt_text(rows, |r| r.segment.as_ref().map(|s| s.1.as_str())),
        text(rows, |r| r.stat.statement.as_str()),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.stat.theme)),
        )),
        opt_text(rows, |r| r.stat.members.as_deref()),
        text(rows, |r| r.stat.grp.as_str()),
        text(rows, |r| r.stat.metric),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.stat.m.n),
        )),
        m(|x| x.sum_w),
        m(|x| x.sum_w2),
        m(|x| x.sum_ws),
        m(|x| x.sum_ws2),
        m(|x| x.sum_w2s),
        m(|x| x.sum_w2s2),
    ];
    Ok(RecordBatch::try_new(scorestats_schema(), cols)?)
}

/// `respondent_ids`: one row per respondent of a microdata load, a 64-bit hash of the id
/// ([`id_hash`]): what finds the respondents two waves share without reading `responses`.
pub fn respondent_ids_columns() -> Vec<StructField> {
    vec![
        StructField::new("wave", DataType::STRING, true),
        StructField::new("load_id", DataType::STRING, true),
        StructField::new("id_hash", DataType::LONG, true),
    ]
}

/// [`respondent_ids_columns`] as an Arrow schema.
pub fn respondent_ids_schema() -> SchemaRef {
    arrow_schema(&respondent_ids_columns(), |_| true)
}

/// The columns of a `respondent_ids` data file: the partition columns (`wave`,
/// `load_id`) are in the file's path and its add action, not in the file.
pub fn respondent_ids_file_schema() -> SchemaRef {
    arrow_schema(&respondent_ids_columns(), |f| !PARTITIONS.contains(&f))
}

/// The Arrow schema of the Delta columns whose names `keep` accepts.
fn arrow_schema(columns: &[StructField], keep: impl Fn(&str) -> bool) -> SchemaRef {
    Arc::new(Schema::new(arrow_fields(columns, keep)))
}

/// The Arrow fields of the Delta columns whose names `keep` accepts.
fn arrow_fields(columns: &[StructField], keep: impl Fn(&str) -> bool) -> Vec<Field> {
    use delta_kernel::engine::arrow_conversion::TryFromKernel;
    columns
        .iter()
        .filter(|f| keep(f.name()))
        .map(|f| Field::try_from_kernel(f).expect("gaptrack's columns have Arrow types"))
        .collect()
}

/// The stored hash of a respondent id: 64-bit FNV-1a of its UTF-8 bytes (stable across
/// versions and platforms; a match is only a candidate, confirmed on the ids).
pub fn id_hash(id: &str) -> u64 {
    let mut h = Fnv1a::default();
    std::hash::Hasher::write(&mut h, id.as_bytes());
    std::hash::Hasher::finish(&h)
}

/// FNV-1a, 64 bits, over the bytes written (no length prefix: hash with
/// [`std::hash::Hasher::write`], not `Hash::hash`).
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hasher of [`id_hash`].
pub type IdHash = std::hash::BuildHasherDefault<Fnv1a>;

/// One row of `panelstats`: the cross sums of the respondents a load shares with another
/// live wave, for one statement or theme, metric and pair of groups (`grp` in this wave,
/// `other_grp` in the other). y is the score in this wave, y' in the other, w and w'
/// the weights; only respondents with a score in both waves. A row with `statement`
/// None counts the respondents in both waves per pair of groups (answers or not).
#[derive(Debug, Clone, PartialEq)]
pub struct PanelStat {
    pub statement: Option<String>,
    pub theme: bool,
    pub metric: Option<&'static str>,
    pub grp: String,
    pub other_grp: String,
    pub n: i64,
    /// Σww', Σww'y, Σww'y', Σww'yy'
    pub sum_ww: f64,
    pub sum_wwy: f64,
    pub sum_wwy_other: f64,
    pub sum_wwyy: f64,
}

pub fn panelstats_schema() -> SchemaRef {
    let f = |n: &str, t: ArrowType| Field::new(n, t, true);
    let mut fields = vec![
        f("wave", ArrowType::Utf8),
        f("load_id", ArrowType::Utf8),
        f("other_wave", ArrowType::Utf8),
        f("other_load_id", ArrowType::Utf8),
        f("statement", ArrowType::Utf8),
        f("theme", ArrowType::Boolean),
        f("metric", ArrowType::Utf8),
        f("grp", ArrowType::Utf8),
        f("other_grp", ArrowType::Utf8),
        f("n", ArrowType::Int64),
    ];
    for n in ["sum_ww", "sum_wwy", "sum_wwy_other", "sum_wwyy"] {
        fields.push(f(n, ArrowType::Float64));
    }
    Arc::new(Schema::new(fields))
}

/// The `panelstats` rows of load `load_id` of `wave` against load `other_load` of `other`.
pub fn panelstats_batch(
    (wave, load_id): (&str, &str),
    (other, other_load): (&str, &str),
    rows: &[PanelStat],
) -> Result<RecordBatch> {
    let n = rows.len();
    let sums = |f: fn(&PanelStat) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.statement.as_ref().map(|_| f(r))),
        ))
    };
    let cols: Vec<ArrayRef> = vec![
        strings(n, wave),
        strings(n, load_id),
        strings(n, other),
        strings(n, other_load),
        opt_text(rows, |r| r.statement.as_deref()),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.theme)))),
        opt_text(rows, |r| r.metric),
        text(rows, |r| r.grp.as_str()),
        text(rows, |r| r.other_grp.as_str()),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.n))),
        sums(|r| r.sum_ww),
        sums(|r| r.sum_wwy),
        sums(|r| r.sum_wwy_other),
        sums(|r| r.sum_wwyy),
    ];
    Ok(RecordBatch::try_new(panelstats_schema(), cols)?)
}

/// One row of `segstats`: the sufficient statistics of wave × segment value × statement
/// × group.
#[derive(Debug, Clone, PartialEq)]
pub struct SegStat {
    pub segment: String,
    pub segment_value: String,
    pub cell: CellStat,
}

pub fn segstats_schema() -> SchemaRef {
    let mut fields: Vec<Field> = vec![
        Field::new("wave", ArrowType::Utf8, true),
        Field::new("load_id", ArrowType::Utf8, true),
        Field::new("segment", ArrowType::Utf8, true),
        Field::new("segment_value", ArrowType::Utf8, true),
    ];
    fields.extend(
        cellstats_schema()
            .fields()
            .iter()
            .skip(2)
            .map(|f| f.as_ref().clone()),
    );
    Arc::new(Schema::new(fields))
}

pub fn segstats_batch(wave: &str, load_id: &str, rows: &[SegStat]) -> Result<RecordBatch> {
    let cells: Vec<CellStat> = rows.iter().map(|r| r.cell.clone()).collect();
    let base = cellstats_batch(wave, load_id, &cells)?;
    let mut cols: Vec<ArrayRef> = vec![
        base.column(0).clone(),
        base.column(1).clone(),
        text(rows, |r| r.segment.as_str()),
        text(rows, |r| r.segment_value.as_str()),
    ];
    cols.extend(base.columns().iter().skip(2).cloned());
    Ok(RecordBatch::try_new(segstats_schema(), cols)?)
}

/// The `weighting` table: one row per wave × weighting column × category of a raked
/// wave, with the wave's weighting efficiency repeated on each row.
pub fn weighting_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("wave", ArrowType::Utf8, true),
        Field::new("load_id", ArrowType::Utf8, true),
        Field::new("margin", ArrowType::Utf8, true),
        Field::new("category", ArrowType::Utf8, true),
        Field::new("target_share", ArrowType::Float64, true),
        Field::new("unweighted_share", ArrowType::Float64, true),
        Field::new("design_share", ArrowType::Float64, true),
        Field::new("weighted_share", ArrowType::Float64, true),
        Field::new("respondents", ArrowType::Int64, true),
        Field::new("n_eff", ArrowType::Float64, true),
        Field::new("efficiency", ArrowType::Float64, true),
        Field::new("iterations", ArrowType::Int64, true),
        Field::new("max_residual", ArrowType::Float64, true),
        Field::new("min_weight_ratio", ArrowType::Float64, true),
        Field::new("max_weight_ratio", ArrowType::Float64, true),
    ]))
}

pub fn weighting_batch(
    wave: &str,
    load_id: &str,
    r: &crate::stats::rake::Report,
) -> Result<RecordBatch> {
    let n = r.rows.len();
    let f = |v: f64| -> ArrayRef { Arc::new(Float64Array::from(vec![v; n])) };
    let cols: Vec<ArrayRef> = vec![
        strings(n, wave),
        strings(n, load_id),
        text(&r.rows, |x| x.margin.as_str()),
        text(&r.rows, |x| x.category.as_str()),
        floats(&r.rows, |x| x.target_share),
        floats(&r.rows, |x| x.unweighted_share),
        floats(&r.rows, |x| x.design_share),
        floats(&r.rows, |x| x.weighted_share),
        Arc::new(Int64Array::from(vec![r.respondents as i64; n])),
        f(r.n_eff),
        f(r.efficiency),
        Arc::new(Int64Array::from(vec![i64::from(r.iterations); n])),
        f(r.max_residual),
        f(r.min_ratio),
        f(r.max_ratio),
    ];
    Ok(RecordBatch::try_new(weighting_schema(), cols)?)
}

/// One row of `statements`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRow {
    pub statement: String,
    pub text: Option<String>,
    pub series_break: bool,
    /// The wording against the wave before (`first`, `same`, `series_break`,
    /// `same_series`, `changed`); `None` without a text.
    pub wording: Option<String>,
    pub column: Option<String>,
    /// Scale points of a 1..N scale (NULL for any other range, and for `cells`).
    pub points: Option<i32>,
    /// The range of valid answers (NULL for `cells`).
    pub min_code: Option<i32>,
    pub max_code: Option<i32>,
    pub agree_codes: Option<String>,
    pub missing_codes: Option<String>,
    /// NULL where the statement has no disagree codes.
    pub disagree_codes: Option<String>,
}

pub fn statements_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("wave", ArrowType::Utf8, true),
        Field::new("load_id", ArrowType::Utf8, true),
        Field::new("statement", ArrowType::Utf8, true),
        Field::new("text", ArrowType::Utf8, true),
        Field::new("series_break", ArrowType::Boolean, true),
        Field::new("source_column", ArrowType::Utf8, true),
        Field::new("points", ArrowType::Int32, true),
        Field::new("agree_codes", ArrowType::Utf8, true),
        Field::new("missing_codes", ArrowType::Utf8, true),
        Field::new("min_code", ArrowType::Int32, true),
        Field::new("max_code", ArrowType::Int32, true),
        Field::new("wording", ArrowType::Utf8, true),
        Field::new("disagree_codes", ArrowType::Utf8, true),
    ]))
}

pub fn statements_batch(wave: &str, load_id: &str, rows: &[StatementRow]) -> Result<RecordBatch> {
    let n = rows.len();
    let cols: Vec<ArrayRef> = vec![
        strings(n, wave),
        strings(n, load_id),
        text(rows, |r| r.statement.as_str()),
        opt_text(rows, |r| r.text.as_deref()),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.series_break)),
        )),
        opt_text(rows, |r| r.column.as_deref()),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.points))),
        opt_text(rows, |r| r.agree_codes.as_deref()),
        opt_text(rows, |r| r.missing_codes.as_deref()),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.min_code))),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.max_code))),
        opt_text(rows, |r| r.wording.as_deref()),
        opt_text(rows, |r| r.disagree_codes.as_deref()),
    ];
    Ok(RecordBatch::try_new(statements_schema(), cols)?)
}

/// One row of the `waves` catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub wave: String,
    pub load_id: String,
    pub date: NaiveDate,
    pub title: Option<String>,
    /// "microdata" or "cells".
    pub kind: String,
    /// Respondents (microdata), `None` for published figures.
    pub respondents: Option<i64>,
    /// Source as written in the spec.
    pub source: String,
    pub source_sha256: String,
    pub spec: String,
    pub spec_sha256: String,
    /// Microseconds since the epoch, UTC.
    pub loaded_at: i64,
    /// Segment columns of the wave (microdata).
    pub segments: Vec<String>,
}

pub fn waves_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("wave", ArrowType::Utf8, true),
        Field::new("load_id", ArrowType::Utf8, true),
        Field::new("date", ArrowType::Date32, true),
        Field::new("title", ArrowType::Utf8, true),
        Field::new("kind", ArrowType::Utf8, true),
        Field::new("respondents", ArrowType::Int64, true),
        Field::new("source", ArrowType::Utf8, true),
        Field::new("source_sha256", ArrowType::Utf8, true),
        Field::new("spec", ArrowType::Utf8, true),
        Field::new("spec_sha256", ArrowType::Utf8, true),
        Field::new(
            "loaded_at",
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("segments", ArrowType::Utf8, true),
    ]))
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    (d - epoch).num_days() as i32
}

pub fn waves_batch(rows: &[CatalogEntry]) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = vec![
        text(rows, |r| r.wave.as_str()),
        text(rows, |r| r.load_id.as_str()),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| days_since_epoch(r.date)),
        )),
        opt_text(rows, |r| r.title.as_deref()),
        text(rows, |r| r.kind.as_str()),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.respondents))),
        text(rows, |r| r.source.as_str()),
        text(rows, |r| r.source_sha256.as_str()),
        text(rows, |r| r.spec.as_str()),
        text(rows, |r| r.spec_sha256.as_str()),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.loaded_at))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.segments.join(",")),
        )),
    ];
    Ok(RecordBatch::try_new(waves_schema(), cols)?)
}

/// Reads catalog rows back from record batches (any string type the scan returns).
pub fn catalog_from_batches(batches: &[RecordBatch]) -> Result<Vec<CatalogEntry>> {
    use arrow::compute::cast;
    let mut out = Vec::new();
    for b in batches {
        let col = |name: &str, ty: &ArrowType| -> Result<ArrayRef> {
            let c = b
                .column_by_name(name)
                .ok_or_else(|| Error::Other(format!("the waves table has no column {name}")))?;
            Ok(cast(c, ty)?)
        };
        let s = |name: &str| -> Result<StringArray> {
            Ok(col(name, &ArrowType::Utf8)?
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("utf8")
                .clone())
        };
        let wave = s("wave")?;
        let load_id = s("load_id")?;
        let title = s("title")?;
        let kind = s("kind")?;
        let source = s("source")?;
        let source_sha = s("source_sha256")?;
        let spec = s("spec")?;
        let spec_sha = s("spec_sha256")?;
        let segments = s("segments")?;
        let date = col("date", &ArrowType::Date32)?;
        let date = date.as_any().downcast_ref::<Date32Array>().expect("date32");
        let resp = col("respondents", &ArrowType::Int64)?;
        let resp = resp.as_any().downcast_ref::<Int64Array>().expect("int64");
        let loaded = col(
            "loaded_at",
            &ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let loaded = loaded
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .expect("ts");
        use arrow::array::Array;
        for i in 0..b.num_rows() {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            out.push(CatalogEntry {
                wave: wave.value(i).to_string(),
                load_id: load_id.value(i).to_string(),
                date: epoch + chrono::Duration::days(date.value(i) as i64),
                title: (!title.is_null(i)).then(|| title.value(i).to_string()),
                kind: kind.value(i).to_string(),
                respondents: (!resp.is_null(i)).then(|| resp.value(i)),
                source: source.value(i).to_string(),
                source_sha256: source_sha.value(i).to_string(),
                spec: spec.value(i).to_string(),
                spec_sha256: spec_sha.value(i).to_string(),
                loaded_at: loaded.value(i),
                segments: segments
                    .value(i)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| (a.date, &a.wave).cmp(&(b.date, &b.wave)));
    Ok(out)
}

/// Commit metadata gaptrack writes with each catalog commit (key `gaptrack` in the
/// commit info), read back by `history` and `--as-of`: `data_versions` are the commits
/// of this load's own rows, `table_versions` the versions of every data table that hold
/// the rows of every load this catalog version names (what `--as-of` reads).
pub fn commit_metadata(
    operation: &str,
    wave: &str,
    load_id: Option<&str>,
    source_sha256: Option<&str>,
    data_versions: &HashMap<String, i64>,
    table_versions: &BTreeMap<String, i64>,
) -> Vec<(String, serde_json::Value)> {
    let mut m = serde_json::Map::new();
    m.insert("operation".into(), operation.into());
    m.insert("wave".into(), wave.into());
    if let Some(l) = load_id {
        m.insert("load_id".into(), l.into());
    }
    if let Some(s) = source_sha256 {
        m.insert("source_sha256".into(), s.into());
    }
    let mut dv: Vec<_> = data_versions.iter().collect();
    dv.sort();
    let mut tv = serde_json::Map::new();
    for (k, v) in dv {
        tv.insert(k.clone(), (*v).into());
    }
    m.insert("data_versions".into(), serde_json::Value::Object(tv));
    let tables = table_versions
        .iter()
        .map(|(k, v)| (k.clone(), (*v).into()))
        .collect();
    m.insert("table_versions".into(), serde_json::Value::Object(tables));
    vec![("gaptrack".to_string(), serde_json::Value::Object(m))]
}

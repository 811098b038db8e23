//! The Parquet data files of `responses`, written straight from the reader's keys.
//!
//! A wave of R respondents and S statements has R × S long rows, but only R distinct
//! respondents, weights and segment values, S statements and a handful of groups and
//! codes. The reader already knows every row's dictionary key, so the files are written
//! dictionary-encoded without looking a value up again: respondent, group, weight and
//! segment columns are runs of S equal keys (RLE), the statement column is the key
//! sequence 0..S repeated (bit-packed), and only `value` and `agree` vary per row.
//! A general Arrow → Parquet writer would build 5 × R × S strings and hash each one to
//! find the same keys (see BENCHMARKS.md).
//!
//! Files are standard Parquet (format v1 data pages, `RLE_DICTIONARY`/`PLAIN`, zstd,
//! chunk statistics) that any reader opens; tests read them back with the Parquet reader,
//! and tests/it/interop.rs with Python `deltalake` and Polars.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, SchemaDescriptor};
use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::ingest::read::{CellAcc, Row};
use crate::ingest::scores::{Block, Scoring};

/// Long rows per row group (rounded down to whole respondents).
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Long rows per data page (rounded down to whole respondents).
const PAGE_ROWS: usize = 1 << 16;
/// Key of a NULL value.
const NULL: u32 = u32::MAX;

/// The keys of one row group's respondents, filled by the reader.
#[derive(Default)]
pub struct Chunk {
    /// Respondent ids, concatenated; `id_ends[i]` ends the i-th.
    ids: Vec<u8>,
    id_ends: Vec<u32>,
    /// Per respondent: its group's key, weight, and per wave segment its value's key.
    groups: Vec<u32>,
    weights: Vec<f64>,
    segments: Vec<Vec<u32>>,
    /// Per wave segment: this chunk's own dictionary (the values it uses, in order of
    /// first use) and each entry's load-wide key (stable across chunks).
    seg_values: Vec<Vec<String>>,
    seg_global: Vec<Vec<u32>>,
    /// Per long row: the value's key and agreement (0 no, 1 yes, 2 NULL).
    values: Vec<u32>,
    agree: Vec<u8>,
    /// The group and code dictionaries as of this chunk (they only grow, and stay small).
    dicts: Dicts,
}

impl Chunk {
    pub fn respondents(&self) -> usize {
        self.id_ends.len()
    }
}

#[derive(Default, Clone)]
struct Dicts {
    groups: Arc<Vec<String>>,
    values: Arc<Vec<i32>>,
}

/// The key of a code already given one: by table for 0..256, else by its place in
/// `codes` (every code in `codes` below 256 is in the table).
#[inline]
fn known_key(small: &[u32; 256], codes: &[i32], code: i32) -> Option<u32> {
    if (0..256).contains(&code) {
        let k = small[code as usize];
        return (k != NULL).then_some(k);
    }
    codes.iter().position(|&c| c == code).map(|k| k as u32)
}

/// Turns rows into [`Chunk`]s: assigns the dictionary keys.
pub struct Keyer {
    statements: usize,
    per_chunk: usize,
    groups: Vec<String>,
    /// Codes 0..=255 by direct lookup, others by search.
    small_codes: [u32; 256],
    codes: Vec<i32>,
    /// Per wave segment: the load-wide key of each value, and this chunk's key of
    /// each load-wide key it uses.
    segments: Vec<(FxHashMap<String, u32>, FxHashMap<u32, u32>)>,
    dirty: bool,
    dicts: Dicts,
    chunk: Chunk,
}

impl Keyer {
    pub fn new(statements: usize, segments: usize) -> Self {
        Self::with_group_rows(statements, segments, ROW_GROUP_ROWS)
    }

    /// With row groups of about `group_rows` long rows (whole respondents).
    pub fn with_group_rows(statements: usize, segments: usize, group_rows: usize) -> Self {
        let per_chunk = (group_rows / statements.max(1)).max(1);
        let mut k = Keyer {
            statements,
            per_chunk,
            groups: Vec::new(),
            small_codes: [NULL; 256],
            codes: Vec::new(),
            segments: (0..segments)
                .map(|_| (FxHashMap::default(), FxHashMap::default()))
                .collect(),
            dirty: true,
            dicts: Dicts::default(),
            chunk: Chunk::default(),
        };
        k.chunk = k.empty_chunk();
        k
    }

    fn empty_chunk(&self) -> Chunk {
        let rows = self.per_chunk * self.statements;
        Chunk {
            ids: Vec::with_capacity(self.per_chunk * 12),
            id_ends: Vec::with_capacity(self.per_chunk),
            groups: Vec::with_capacity(self.per_chunk),
            weights: Vec::with_capacity(self.per_chunk),
            segments: (0..self.segments.len())
                .map(|_| Vec::with_capacity(self.per_chunk))
                .collect(),
            seg_values: vec![Vec::new(); self.segments.len()],
            seg_global: vec![Vec::new(); self.segments.len()],
            values: Vec::with_capacity(rows),
            agree: Vec::with_capacity(rows),
            dicts: Dicts::default(),
        }
    }

    fn code_key(&mut self, code: i32) -> u32 {
        if let Some(k) = known_key(&self.small_codes, &self.codes, code) {
            return k;
        }
        self.codes.push(code);
        self.dirty = true;
        let k = (self.codes.len() - 1) as u32;
        if (0..256).contains(&code) {
            self.small_codes[code as usize] = k;
        }
        k
    }

    /// Adds a respondent; returns a full chunk when one is ready.
    pub fn push(&mut self, row: &Row) -> Option<Chunk> {
        let c = &mut self.chunk;
        c.ids.extend_from_slice(row.id.as_bytes());
        c.id_ends.push(c.ids.len() as u32);
        let g = row.group_key;
        if g >= self.groups.len() {
            self.groups.resize(g + 1, String::new());
            self.groups[g] = row.group.to_string();
            self.dirty = true;
        }
        c.groups.push(g as u32);
        c.weights.push(row.weight);
        for (j, v) in row.segments.iter().enumerate() {
            let key = match v {
                None => NULL,
                Some(v) => {
                    let (global, local) = &mut self.segments[j];
                    let g = match global.get(v.as_str()) {
                        Some(&k) => k,
                        None => {
                            let k = global.len() as u32;
                            global.insert(v.clone(), k);
                            k
                        }
                    };
                    let c = &mut self.chunk;
                    *local.entry(g).or_insert_with(|| {
                        c.seg_values[j].push(v.clone());
                        c.seg_global[j].push(g);
                        (c.seg_values[j].len() - 1) as u32
                    })
                }
            };
            self.chunk.segments[j].push(key);
        }
        // Codes not seen before get their keys first; then every key is a lookup.
        for &v in row.values.iter().flatten() {
            self.code_key(v);
        }
        let (small, codes) = (&self.small_codes, &self.codes);
        self.chunk.values.extend(
            row.values
                .iter()
                .map(|v| v.and_then(|v| known_key(small, codes, v)).unwrap_or(NULL)),
        );
        self.chunk
            .agree
            .extend(row.agree.iter().map(|a| a.map_or(2, u8::from)));
        // Also bounded in id bytes, so that offsets and pages stay far below 4 GiB.
        let full = self.chunk.respondents() >= self.per_chunk || self.chunk.ids.len() >= 1 << 28;
        full.then(|| self.take())
    }

    /// The chunk being filled (possibly empty).
    pub fn take(&mut self) -> Chunk {
        if self.dirty {
            self.dicts = Dicts {
                groups: Arc::new(self.groups.clone()),
                values: Arc::new(self.codes.clone()),
            };
            self.dirty = false;
        }
        for (_, local) in &mut self.segments {
            local.clear();
        }
        let fresh = self.empty_chunk();
        let mut c = std::mem::replace(&mut self.chunk, fresh);
        c.dicts = self.dicts.clone();
        c
    }
}

/// Min, max and NULL count of one column of a file, for the Delta log's `stats`.
#[derive(Debug, Clone, PartialEq)]
pub enum ColStats {
    Str(Option<(Vec<u8>, Vec<u8>)>, u64),
    F64(Option<(f64, f64)>, u64),
    I32(Option<(i32, i32)>, u64),
    Bool(Option<(bool, bool)>, u64),
}

impl ColStats {
    fn merge(&mut self, o: &ColStats) {
        fn mm<T: PartialOrd + Clone>(a: &mut Option<(T, T)>, b: &Option<(T, T)>) {
            match (a.as_mut(), b) {
                (_, None) => {}
                (None, Some(b)) => *a = Some(b.clone()),
                (Some(a), Some(b)) => {
                    if b.0 < a.0 {
                        a.0 = b.0.clone();
                    }
                    if b.1 > a.1 {
                        a.1 = b.1.clone();
                    }
                }
            }
        }
        match (self, o) {
            (ColStats::Str(a, n), ColStats::Str(b, m)) => {
                mm(a, b);
                *n += m
            }
            (ColStats::F64(a, n), ColStats::F64(b, m)) => {
                mm(a, b);
                *n += m
            }
            (ColStats::I32(a, n), ColStats::I32(b, m)) => {
                mm(a, b);
                *n += m
            }
            (ColStats::Bool(a, n), ColStats::Bool(b, m)) => {
                mm(a, b);
                *n += m
            }
            _ => {}
        }
    }

    fn parquet(&self) -> Statistics {
        match self {
            ColStats::Str(mm, n) => Statistics::byte_array(
                mm.as_ref().map(|m| ByteArray::from(m.0.clone())),
                mm.as_ref().map(|m| ByteArray::from(m.1.clone())),
                None,
                Some(*n),
                false,
            ),
            ColStats::F64(mm, n) => {
                Statistics::double(mm.map(|m| m.0), mm.map(|m| m.1), None, Some(*n), false)
            }
            ColStats::I32(mm, n) => {
                Statistics::int32(mm.map(|m| m.0), mm.map(|m| m.1), None, Some(*n), false)
            }
            ColStats::Bool(mm, n) => {
                Statistics::boolean(mm.map(|m| m.0), mm.map(|m| m.1), None, Some(*n), false)
            }
        }
    }

    fn nulls(&self) -> u64 {
        match self {
            ColStats::Str(_, n)
            | ColStats::F64(_, n)
            | ColStats::I32(_, n)
            | ColStats::Bool(_, n) => *n,
        }
    }

    /// (min, max) as JSON values, where the column has a non-NULL value.
    fn json(&self) -> Option<(serde_json::Value, serde_json::Value)> {
        use serde_json::Value;
        match self {
            ColStats::Str(m, _) => m.as_ref().map(|(a, b)| {
                (
                    Value::from(String::from_utf8_lossy(a).into_owned()),
                    Value::from(String::from_utf8_lossy(b).into_owned()),
                )
            }),
            ColStats::F64(m, _) => m.map(|(a, b)| (Value::from(a), Value::from(b))),
            ColStats::I32(m, _) => m.map(|(a, b)| (Value::from(a), Value::from(b))),
            ColStats::Bool(m, _) => m.map(|(a, b)| (Value::from(a), Value::from(b))),
        }
    }
}

/// The Delta `stats` JSON of a file: `numRecords`, `minValues`, `maxValues`, `nullCount`.
pub fn delta_stats(names: &[String], stats: &[ColStats], rows: u64) -> String {
    let mut min = serde_json::Map::new();
    let mut max = serde_json::Map::new();
    let mut nulls = serde_json::Map::new();
    for (name, s) in names.iter().zip(stats) {
        if let Some((a, b)) = s.json() {
            min.insert(name.clone(), a);
            max.insert(name.clone(), b);
        }
        nulls.insert(name.clone(), serde_json::Value::from(s.nulls()));
    }
    serde_json::json!({
        "numRecords": rows,
        "minValues": min,
        "maxValues": max,
        "nullCount": nulls,
    })
    .to_string()
}

/// Writes the row groups of one file into memory, to be drained after each row group.
pub struct FileEncoder {
    writer: SerializedFileWriter<Vec<u8>>,
    schema: Arc<SchemaDescriptor>,
    statements: Arc<Vec<String>>,
    compressor: zstd::bulk::Compressor<'static>,
    pub names: Vec<String>,
    pub stats: Vec<ColStats>,
    pub rows: u64,
    page_rows: usize,
}

fn perr(e: parquet::errors::ParquetError) -> Error {
    Error::Other(format!("encoding a responses file: {e}"))
}

impl FileEncoder {
    /// `segments`: the file's segment column names, in the wave's segment order.
    pub fn new(statements: Arc<Vec<String>>, segments: &[String]) -> Result<Self> {
        use arrow::datatypes::{DataType, Field, Schema};
        let mut fields = crate::tables::responses_file_fields();
        fields.extend(segments.iter().map(|s| Field::new(s, DataType::Utf8, true)));
        let arrow_schema = Schema::new(fields);
        let schema = Arc::new(
            parquet::arrow::ArrowSchemaConverter::new()
                .convert(&arrow_schema)
                .map_err(perr)?,
        );
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).map_err(perr)?))
            .build();
        let writer =
            SerializedFileWriter::new(Vec::new(), schema.root_schema_ptr(), Arc::new(props))
                .map_err(perr)?;
        let names: Vec<String> = arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        Ok(FileEncoder {
            writer,
            schema,
            statements,
            compressor: zstd::bulk::Compressor::new(1)
                .map_err(|e| Error::Other(format!("zstd: {e}")))?,
            stats: Vec::new(),
            names,
            rows: 0,
            page_rows: PAGE_ROWS,
        })
    }

    /// Bytes written so far that have not been taken.
    pub fn take_bytes(&mut self) -> Result<Vec<u8>> {
        self.writer.flush().map_err(|e| Error::io("encoding", e))?;
        Ok(std::mem::take(self.writer.inner_mut()))
    }

    /// Writes the footer; returns the remaining bytes and the file's Delta stats.
    pub fn finish(mut self) -> Result<(Vec<u8>, String)> {
        self.writer.finish().map_err(perr)?;
        let rest = std::mem::take(self.writer.inner_mut());
        Ok((rest, delta_stats(&self.names, &self.stats, self.rows)))
    }

    /// Encodes one chunk as a row group.
    pub fn write(&mut self, c: &Chunk) -> Result<()> {
        let r = c.respondents();
        if r == 0 {
            return Ok(());
        }
        let s = self.statements.len();
        let n = r * s;
        let per_page = (self.page_rows / s.max(1)).max(1);
        let pages: Vec<(usize, usize)> = (0..r)
            .step_by(per_page)
            .map(|a| (a, (a + per_page).min(r)))
            .collect();
        let cols = self.schema.columns().to_vec();
        let mut chunks: Vec<(Bytes, ColumnCloseResult)> = Vec::with_capacity(cols.len());
        let mut stats: Vec<ColStats> = Vec::with_capacity(cols.len());
        let comp = &mut self.compressor;
        // Each column is compressed as soon as it is encoded.
        let mut add = |i: usize, col: ColumnData| -> Result<()> {
            chunks.push(column(comp, &cols[i], col.dict, col.pages, &col.stats)?);
            stats.push(col.stats);
            Ok(())
        };
        add(0, respondent_column(c, &pages, s))?;
        add(1, group_column(c, &pages, s))?;
        add(2, weight_column(c, &pages, s))?;
        add(3, statement_column(&self.statements, &pages))?;
        add(4, value_column(c, &pages, s))?;
        add(5, agree_column(c, &pages, s))?;
        for j in 0..c.segments.len() {
            add(6 + j, segment_column(c, j, &pages, s))?;
        }

        let mut rg = self.writer.next_row_group().map_err(perr)?;
        for (bytes, close) in chunks {
            rg.append_column(&bytes, close).map_err(perr)?;
        }
        rg.close().map_err(perr)?;
        if self.stats.is_empty() {
            self.stats = stats;
        } else {
            for (a, b) in self.stats.iter_mut().zip(&stats) {
                a.merge(b);
            }
        }
        self.rows += n as u64;
        Ok(())
    }
}

/// One column of a row group before compression: the dictionary page (PLAIN values,
/// count), the data pages (bytes, values, encoding), the statistics.
struct ColumnData {
    dict: Option<(Vec<u8>, usize)>,
    pages: Vec<(Vec<u8>, usize, Encoding)>,
    stats: ColStats,
}

/// `respondent`: a dictionary of the chunk's ids, a run of S per respondent. `pages`:
/// the respondents of each data page; `s`: the statements.
fn respondent_column(c: &Chunk, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let r = c.respondents();
    let id = |i: usize| -> &[u8] {
        let a = if i == 0 { 0 } else { c.id_ends[i - 1] as usize };
        &c.ids[a..c.id_ends[i] as usize]
    };
    let mut dict = Vec::with_capacity(c.ids.len() + 4 * r);
    let (mut lo, mut hi) = (id(0), id(0));
    for i in 0..r {
        let v = id(i);
        dict.extend_from_slice(&(v.len() as u32).to_le_bytes());
        dict.extend_from_slice(v);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let stats = ColStats::Str(Some((lo.to_vec(), hi.to_vec())), 0);
    let bw = bit_width(r);
    ColumnData {
        dict: Some((dict, r)),
        pages: per_respondent_pages(pages, s, bw, |i| i as u32),
        stats,
    }
}

/// `grp`: the groups seen so far, a run of S per respondent.
fn group_column(c: &Chunk, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let (dict, stats) = str_dict(&c.dicts.groups, c.groups.iter().copied(), 0);
    let bw = bit_width(c.dicts.groups.len());
    ColumnData {
        dict: Some((dict, c.dicts.groups.len())),
        pages: per_respondent_pages(pages, s, bw, |i| c.groups[i]),
        stats,
    }
}

/// `weight`: the chunk's distinct weights, a run of S per respondent.
fn weight_column(c: &Chunk, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let mut wkeys: FxHashMap<u64, u32> = FxHashMap::default();
    let mut wdict: Vec<u8> = Vec::new();
    let mut wk: Vec<u32> = Vec::with_capacity(c.respondents());
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &w in &c.weights {
        let next = wkeys.len() as u32;
        let k = *wkeys.entry(w.to_bits()).or_insert_with(|| {
            wdict.extend_from_slice(&w.to_le_bytes());
            next
        });
        wk.push(k);
        lo = lo.min(w);
        hi = hi.max(w);
    }
    let bw = bit_width(wkeys.len());
    ColumnData {
        dict: Some((wdict, wkeys.len())),
        pages: per_respondent_pages(pages, s, bw, |i| wk[i]),
        stats: ColStats::F64(Some((lo, hi)), 0),
    }
}

/// `statement`: keys 0..S for every respondent.
fn statement_column(statements: &[String], pages: &[(usize, usize)]) -> ColumnData {
    let s = statements.len();
    let (dict, stats) = str_dict(statements, 0..s as u32, 0);
    let bw = bit_width(s);
    let pages = pages
        .iter()
        .map(|&(a, b)| {
            dict_page_data(s * (b - a), None, bw, |e| {
                for _ in a..b {
                    for k in 0..s as u32 {
                        e.push(k)
                    }
                }
            })
        })
        .collect();
    ColumnData {
        dict: Some((dict, s)),
        pages,
        stats,
    }
}

/// `value`: per row, NULL for an empty cell.
fn value_column(c: &Chunk, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let codes = &c.dicts.values;
    let mut used = vec![false; codes.len()];
    let mut nulls = 0u64;
    for &k in &c.values {
        if k == NULL {
            nulls += 1;
        } else {
            used[k as usize] = true;
        }
    }
    let mm = codes
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(c, _)| *c)
        .fold(None, |m: Option<(i32, i32)>, v| match m {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        });
    let mut dict = Vec::with_capacity(codes.len() * 4);
    for c in codes.iter() {
        dict.extend_from_slice(&c.to_le_bytes());
    }
    let bw = bit_width(codes.len());
    let pages = pages
        .iter()
        .map(|&(a, b)| {
            let keys = &c.values[a * s..b * s];
            let mut page = present_levels(keys.iter().map(|&k| k != NULL));
            let mut e = Rle::new(bw);
            for &k in keys {
                if k != NULL {
                    e.push(k)
                }
            }
            page.push(bw);
            page.extend_from_slice(&e.finish());
            (page, keys.len(), Encoding::RLE_DICTIONARY)
        })
        .collect();
    ColumnData {
        dict: Some((dict, codes.len())),
        pages,
        stats: ColStats::I32(mm, nulls),
    }
}

/// `agree`: PLAIN booleans, NULL where missing.
fn agree_column(c: &Chunk, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let (mut yes, mut no, mut nulls) = (false, false, 0u64);
    for &a in &c.agree {
        match a {
            0 => no = true,
            1 => yes = true,
            _ => nulls += 1,
        }
    }
    let mm = match (no, yes) {
        (false, false) => None,
        (true, false) => Some((false, false)),
        (false, true) => Some((true, true)),
        (true, true) => Some((false, true)),
    };
    let pages = pages
        .iter()
        .map(|&(a, b)| {
            let vals = &c.agree[a * s..b * s];
            let mut page = present_levels(vals.iter().map(|&v| v != 2));
            let mut bits = Vec::with_capacity(vals.len() / 8 + 1);
            let (mut acc, mut nb) = (0u8, 0u32);
            for &v in vals {
                if v != 2 {
                    acc |= v << nb;
                    nb += 1;
                    if nb == 8 {
                        bits.push(acc);
                        acc = 0;
                        nb = 0;
                    }
                }
            }
            if nb > 0 {
                bits.push(acc);
            }
            page.extend_from_slice(&bits);
            (page, vals.len(), Encoding::PLAIN)
        })
        .collect();
    ColumnData {
        dict: None,
        pages,
        stats: ColStats::Bool(mm, nulls),
    }
}

/// The `j`-th segment column: the chunk's dictionary of its values, a run of S per
/// respondent.
fn segment_column(c: &Chunk, j: usize, pages: &[(usize, usize)], s: usize) -> ColumnData {
    let keys = &c.segments[j];
    let values = &c.seg_values[j];
    let (dict, mut stats) = str_dict(values, keys.iter().copied().filter(|&k| k != NULL), 0);
    let null_resp = keys.iter().filter(|&&k| k == NULL).count();
    if let ColStats::Str(_, n) = &mut stats {
        *n = (null_resp * s) as u64;
    }
    let bw = bit_width(values.len());
    let pages = pages
        .iter()
        .map(|&(a, b)| {
            let keys = &keys[a..b];
            dict_page_data(
                s * (b - a),
                Some(&mut |d: &mut Rle| {
                    for &k in keys {
                        d.run((k != NULL) as u32, s)
                    }
                }),
                bw,
                |e| {
                    for &k in keys {
                        if k != NULL {
                            e.run(k, s)
                        }
                    }
                },
            )
        })
        .collect();
    ColumnData {
        dict: Some((dict, values.len())),
        pages,
        stats,
    }
}

/// The data pages of a column with one key per respondent, repeated for its S rows.
fn per_respondent_pages(
    pages: &[(usize, usize)],
    s: usize,
    bw: u8,
    key: impl Fn(usize) -> u32,
) -> Vec<(Vec<u8>, usize, Encoding)> {
    pages
        .iter()
        .map(|&(a, b)| {
            dict_page_data(s * (b - a), None, bw, |e| {
                for i in a..b {
                    e.run(key(i), s)
                }
            })
        })
        .collect()
}

/// A PLAIN dictionary of strings, and the statistics of the keys used.
fn str_dict(values: &[String], used: impl Iterator<Item = u32>, nulls: u64) -> (Vec<u8>, ColStats) {
    let mut dict = Vec::with_capacity(values.iter().map(|v| v.len() + 4).sum());
    for v in values {
        dict.extend_from_slice(&(v.len() as u32).to_le_bytes());
        dict.extend_from_slice(v.as_bytes());
    }
    let mut seen = vec![false; values.len()];
    for k in used {
        seen[k as usize] = true;
    }
    let mut mm: Option<(&str, &str)> = None;
    for (v, _) in values.iter().zip(&seen).filter(|(_, s)| **s) {
        mm = Some(match mm {
            None => (v, v),
            Some((a, b)) => (a.min(v), b.max(v)),
        });
    }
    let mm = mm.map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec()));
    (dict, ColStats::Str(mm, nulls))
}

/// Bits of a dictionary key for a dictionary of `n` entries (at least 1).
fn bit_width(n: usize) -> u8 {
    let max = n.saturating_sub(1) as u64;
    (64 - max.leading_zeros()).max(1) as u8
}

/// Definition levels of a v1 data page: a 4-byte length, then the RLE/bit-packed runs.
fn levels(def: Rle) -> Vec<u8> {
    let d = def.finish();
    let mut page = Vec::with_capacity(d.len() + 4 + 64);
    page.extend_from_slice(&(d.len() as u32).to_le_bytes());
    page.extend_from_slice(&d);
    page
}

/// Definition levels of a v1 data page, 1 where a value is present: one bit-packed run
/// (what [`Rle::push`] of each level writes), without the intermediate values.
fn present_levels(present: impl ExactSizeIterator<Item = bool>) -> Vec<u8> {
    let n = present.len();
    if n == 0 {
        return levels(Rle::new(1));
    }
    let groups = n.div_ceil(8);
    let mut run = Vec::with_capacity(groups + 10);
    varint(&mut run, ((groups as u64) << 1) | 1);
    let (mut byte, mut k) = (0u8, 0u32);
    for p in present {
        byte |= u8::from(p) << k;
        k += 1;
        if k == 8 {
            run.push(byte);
            (byte, k) = (0, 0);
        }
    }
    if k > 0 {
        run.push(byte);
    }
    let mut page = Vec::with_capacity(run.len() + 4 + n / 8 + 64);
    page.extend_from_slice(&(run.len() as u32).to_le_bytes());
    page.extend_from_slice(&run);
    page
}

type DefFn<'a> = Option<&'a mut dyn FnMut(&mut Rle)>;

/// The uncompressed bytes of an `RLE_DICTIONARY` data page of `rows` values: the
/// definition levels (all 1 unless `def` writes them) and the keys.
fn dict_page_data(
    rows: usize,
    def: DefFn,
    bw: u8,
    keys: impl FnOnce(&mut Rle),
) -> (Vec<u8>, usize, Encoding) {
    let mut d = Rle::new(1);
    match def {
        Some(f) => f(&mut d),
        None => d.run(1, rows),
    }
    let mut page = levels(d);
    let mut e = Rle::new(bw);
    keys(&mut e);
    page.push(bw);
    page.extend_from_slice(&e.finish());
    (page, rows, Encoding::RLE_DICTIONARY)
}

/// One column chunk: the dictionary page (PLAIN values, count) and the data pages.
fn column(
    comp: &mut zstd::bulk::Compressor<'static>,
    descr: &ColumnDescPtr,
    dict: Option<(Vec<u8>, usize)>,
    pages: Vec<(Vec<u8>, usize, Encoding)>,
    stats: &ColStats,
) -> Result<(Bytes, ColumnCloseResult)> {
    let mut sink = TrackedWrite::new(Vec::new());
    let mut compress = |b: &[u8]| -> Result<Bytes> {
        comp.compress(b)
            .map(Bytes::from)
            .map_err(|e| Error::Other(format!("zstd: {e}")))
    };
    let (mut dict_offset, mut data_offset) = (None, None);
    let (mut compressed, mut uncompressed, mut values) = (0i64, 0i64, 0i64);
    let mut encodings = vec![Encoding::RLE];
    {
        let mut pw = SerializedPageWriter::new(&mut sink);
        if let Some((plain, count)) = dict {
            let size = plain.len();
            let page = Page::DictionaryPage {
                buf: compress(&plain)?,
                num_values: count as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = pw
                .write_page(CompressedPage::new(page, size))
                .map_err(perr)?;
            dict_offset = Some(spec.offset as i64);
            compressed += spec.compressed_size as i64;
            uncompressed += spec.uncompressed_size as i64;
            encodings.push(Encoding::PLAIN);
        }
        for (data, rows, encoding) in pages {
            let size = data.len();
            let page = Page::DataPage {
                buf: compress(&data)?,
                num_values: rows as u32,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            let spec = pw
                .write_page(CompressedPage::new(page, size))
                .map_err(perr)?;
            data_offset.get_or_insert(spec.offset as i64);
            compressed += spec.compressed_size as i64;
            uncompressed += spec.uncompressed_size as i64;
            values += rows as i64;
            if !encodings.contains(&encoding) {
                encodings.push(encoding);
            }
        }
        pw.close().map_err(perr)?;
    }
    let bytes = Bytes::from(sink.into_inner().map_err(perr)?);
    let metadata = ColumnChunkMetaData::builder(descr.clone())
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).map_err(perr)?))
        .set_encodings(encodings)
        .set_num_values(values)
        .set_total_compressed_size(compressed)
        .set_total_uncompressed_size(uncompressed)
        .set_data_page_offset(data_offset.unwrap_or(0))
        .set_dictionary_page_offset(dict_offset)
        .set_statistics(stats.parquet())
        .build()
        .map_err(perr)?;
    Ok((
        bytes,
        ColumnCloseResult {
            bytes_written: compressed as u64,
            rows_written: values as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        },
    ))
}

/// Parquet's RLE / bit-packing hybrid encoding (without the length prefix).
pub struct Rle {
    out: Vec<u8>,
    bw: u8,
    /// Values waiting to be bit-packed: a multiple of 8 except while filling a group.
    packed: Vec<u32>,
}

impl Rle {
    pub fn new(bw: u8) -> Self {
        Rle {
            out: Vec::new(),
            bw,
            packed: Vec::new(),
        }
    }

    /// One value (what `run(v, 1)` does: a value alone is bit-packed).
    #[inline]
    pub fn push(&mut self, v: u32) {
        self.packed.push(v)
    }

    /// `len` copies of `v`.
    pub fn run(&mut self, v: u32, mut len: usize) {
        let rem = self.packed.len() % 8;
        if rem != 0 {
            let k = len.min(8 - rem);
            self.packed.extend(std::iter::repeat_n(v, k));
            len -= k;
        }
        if len == 0 {
            return;
        }
        if len >= 8 {
            self.flush_packed();
            varint(&mut self.out, (len as u64) << 1);
            let bytes = (self.bw as usize).div_ceil(8);
            self.out.extend_from_slice(&v.to_le_bytes()[..bytes]);
        } else {
            self.packed.extend(std::iter::repeat_n(v, len));
        }
    }

    fn flush_packed(&mut self) {
        if self.packed.is_empty() {
            return;
        }
        while self.packed.len() % 8 != 0 {
            self.packed.push(0);
        }
        varint(&mut self.out, (((self.packed.len() / 8) as u64) << 1) | 1);
        let bw = usize::from(self.bw);
        if bw <= 8 {
            // Eight values of at most 8 bits: one 64-bit word, `bw` bytes of it.
            self.out.reserve(self.packed.len() / 8 * bw);
            for group in self.packed.chunks_exact(8) {
                let word = group
                    .iter()
                    .enumerate()
                    .fold(0u64, |acc, (i, &v)| acc | (u64::from(v) << (i * bw)));
                self.out.extend_from_slice(&word.to_le_bytes()[..bw]);
            }
        } else {
            let (mut acc, mut nb) = (0u64, 0u32);
            for &v in &self.packed {
                acc |= (v as u64) << nb;
                nb += self.bw as u32;
                while nb >= 8 {
                    self.out.push(acc as u8);
                    acc >>= 8;
                    nb -= 8;
                }
            }
        }
        self.packed.clear();
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.flush_packed();
        self.out
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Per segment value × statement × group statistics, accumulated from the chunks (in
/// respondent order, so the sums are those of a sequential pass): the code histograms
/// of [`Block`], from which the `cellstats` sums follow.
pub struct SegAcc {
    scoring: Scoring,
    /// (segment index, group key, load-wide value key) -> the score accumulators
    /// (FxHash: one lookup per respondent and segment.)
    blocks: FxHashMap<(usize, u32, u32), Block>,
    /// (segment index, load-wide value key) -> the value
    names: FxHashMap<(usize, u32), String>,
}

/// A segment value's cells: (segment index, group, value, per-statement accumulators,
/// score accumulators).
pub type SegCells = Vec<(usize, String, String, Vec<CellAcc>, Block)>;

impl SegAcc {
    pub fn new(scoring: Scoring) -> SegAcc {
        SegAcc {
            scoring,
            blocks: FxHashMap::default(),
            names: FxHashMap::default(),
        }
    }

    pub fn add(&mut self, c: &Chunk, statements: usize) {
        let codes = &c.dicts.values;
        // One respondent's answers (code, agreement) and their histogram slots, taken
        // once for all its segments.
        let mut answers: Vec<Option<(i64, bool)>> = vec![None; statements];
        let mut slots = Vec::with_capacity(statements);
        for i in 0..c.respondents() {
            let mut taken = false;
            for (j, keys) in c.segments.iter().enumerate() {
                let k = keys[i];
                if k == NULL {
                    continue;
                }
                if !taken {
                    let agree = &c.agree[i * statements..(i + 1) * statements];
                    let values = &c.values[i * statements..(i + 1) * statements];
                    for ((a, &ag), &v) in answers.iter_mut().zip(agree).zip(values) {
                        *a = (ag != 2).then(|| (i64::from(codes[v as usize]), ag == 1));
                    }
                    self.scoring.slots(|st| answers[st], &mut slots);
                    taken = true;
                }
                let g = c.seg_global[j][k as usize];
                let scoring = &self.scoring;
                let scores = match self.blocks.entry((j, c.groups[i], g)) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        self.names
                            .entry((j, g))
                            .or_insert_with(|| c.seg_values[j][k as usize].clone());
                        e.insert(scoring.block())
                    }
                };
                scoring.add_slots(scores, c.weights[i], &slots, |st| answers[st]);
            }
        }
    }

    /// The accumulated cells, given the last chunk's dictionaries and the agree codes of
    /// `scoring` (a source's value labels may name them: known once it is read).
    pub fn into_cells(self, last: &Chunk, scoring: &Scoring) -> SegCells {
        self.blocks
            .into_iter()
            .map(|((j, g, v), scores)| {
                (
                    j,
                    last.dicts.groups[g as usize].clone(),
                    self.names[&(j, v)].clone(),
                    scoring.cells(&scores),
                    scores,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding (a reference for the tests).
    fn decode(mut b: &[u8], bw: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |b: &mut &[u8]| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let x = b[0];
                *b = &b[1..];
                v |= ((x & 0x7f) as u64) << shift;
                if x < 0x80 {
                    return v;
                }
                shift += 7;
            }
        };
        while out.len() < n {
            let h = read_varint(&mut b);
            if h & 1 == 0 {
                let bytes = (bw as usize).div_ceil(8);
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&b[..bytes]);
                b = &b[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (h >> 1) as usize,
                ));
            } else {
                let count = (h >> 1) as usize * 8;
                let (mut acc, mut nb, mut i) = (0u64, 0u32, 0);
                for _ in 0..count {
                    while nb < bw as u32 {
                        acc |= (b[i] as u64) << nb;
                        i += 1;
                        nb += 8;
                    }
                    out.push((acc & ((1u64 << bw) - 1)) as u32);
                    acc >>= bw;
                    nb -= bw as u32;
                }
                b = &b[i..];
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn hybrid_round_trips() {
        let cases: Vec<(u8, Vec<(u32, usize)>)> = vec![
            (1, vec![(1, 1000)]),
            (1, vec![(1, 3), (0, 2), (1, 9), (0, 1)]),
            (6, (0..200).map(|i| (i % 40, 1)).collect()),
            (3, vec![(5, 7), (2, 40), (7, 1), (1, 8), (0, 15)]),
            (
                17,
                (0..500)
                    .map(|i| ((i * 7919) % 100_000, 1 + (i as usize % 11)))
                    .collect(),
            ),
            (32, vec![(u32::MAX - 1, 3), (7, 20)]),
            (8, (0..301).map(|i| ((i * 37) % 256, 1)).collect()),
            (5, (0..77).map(|i| (i % 32, 1 + (i as usize % 3))).collect()),
        ];
        for (bw, runs) in cases {
            let mut e = Rle::new(bw);
            let mut want = Vec::new();
            for &(v, len) in &runs {
                e.run(v, len);
                want.extend(std::iter::repeat_n(v, len));
            }
            let got = decode(&e.finish(), bw, want.len());
            assert_eq!(got, want, "bit width {bw}");
            // Value by value.
            let mut e = Rle::new(bw);
            for &v in &want {
                e.push(v);
            }
            assert_eq!(
                decode(&e.finish(), bw, want.len()),
                want,
                "push, width {bw}"
            );
        }
    }

    /// A row group's dictionary of a segment holds the values it uses, not every value
    /// seen so far (a segment with many values would otherwise repeat them all in every
    /// row group); the load-wide keys stay stable for the segment statistics.
    #[test]
    fn segment_dictionaries_are_per_row_group() {
        let mut keyer = Keyer::with_group_rows(1, 1, 2);
        let mut chunks = Vec::new();
        for (i, v) in ["a", "b", "c", "a"].iter().enumerate() {
            let id = format!("r{i}");
            let segments = vec![Some(v.to_string())];
            let row = Row {
                loc: crate::ingest::read::validate::Loc::Line(i as u64 + 2),
                id: &id,
                group: "g",
                group_key: 0,
                weight: 1.0,
                segments: &segments,
                values: &[Some(4)],
                agree: &[Some(true)],
            };
            chunks.extend(keyer.push(&row));
        }
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].seg_values[0], ["a", "b"]);
        assert_eq!(chunks[0].seg_global[0], [0, 1]);
        assert_eq!(chunks[1].seg_values[0], ["c", "a"]);
        assert_eq!(chunks[1].seg_global[0], [2, 0]);
        assert_eq!(chunks[1].segments[0], [0, 1]);
        let scoring = crate::ingest::scores::Scoring::uniform(1, 1, &[-1, 0, 0, 1, 1]);
        let mut acc = SegAcc::new(scoring.clone());
        for c in &chunks {
            acc.add(c, 1);
        }
        let mut cells: Vec<(String, u64)> = acc
            .into_cells(&chunks[1], &scoring)
            .into_iter()
            .map(|(_, _, v, a, _)| (v, a[0].n as u64))
            .collect();
        cells.sort();
        assert_eq!(cells, [("a".into(), 2), ("b".into(), 1), ("c".into(), 1)]);
    }

    #[test]
    fn present_levels_are_the_pushed_levels() {
        for n in [0usize, 1, 7, 8, 9, 100, 1001] {
            let present: Vec<bool> = (0..n).map(|i| i % 3 != 1 && i % 7 != 0).collect();
            let mut def = Rle::new(1);
            for &p in &present {
                def.push(u32::from(p));
            }
            assert_eq!(
                present_levels(present.iter().copied()),
                levels(def),
                "{n} levels"
            );
        }
    }

    #[test]
    fn bit_widths() {
        assert_eq!(bit_width(0), 1);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(2), 1);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(40), 6);
        assert_eq!(bit_width(64), 6);
        assert_eq!(bit_width(65), 7);
    }
    /// Rows written through the keyer and the encoder read back, row for row, with the
    /// Parquet crate's own reader; its chunk statistics and the Delta stats agree with
    /// the data. Small row groups and pages, so that there are many of each.
    #[test]
    fn files_read_back_as_the_rows_written() {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::{Float64Type, Int32Type};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        type Expected = (
            String,
            String,
            f64,
            String,
            Option<i32>,
            Option<bool>,
            Option<String>,
            Option<String>,
        );
        let stmts: Vec<String> = ["s_b", "s_a", "s_c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = stmts.len();
        let groups = ["sales", "marketing", "it"];
        let industries = ["Tech", "Retail", "Banking", "Zoo"];
        let mut keyer = Keyer::with_group_rows(s, 2, 3 * 7);
        let mut enc =
            FileEncoder::new(Arc::new(stmts.clone()), &["industry".into(), "size".into()]).unwrap();
        enc.page_rows = 3 * 2;
        let mut bytes = Vec::new();
        let mut want: Vec<Expected> = Vec::new();
        let mut group_keys: Vec<&str> = Vec::new();
        let n = 101;
        let mut chunks = 0;
        for i in 0..n {
            let id = format!("r{:03}", (i * 37) % 1000);
            let g = groups[(i / 3) % 3];
            if !group_keys.contains(&g) {
                group_keys.push(g);
            }
            let gk = group_keys.iter().position(|x| *x == g).unwrap();
            let weight = [0.5, 1.25, 2.0, 0.5][i % 4];
            let segments = vec![
                (i % 5 != 0).then(|| industries[i % 4].to_string()),
                // The second segment is empty until respondent 60.
                (i >= 60).then(|| format!("{}-{}", i % 2, i % 2 + 9)),
            ];
            let values: Vec<Option<i32>> = (0..s)
                .map(|k| match (i + k) % 7 {
                    0 => None,
                    1 => Some(9),
                    2 => Some(300),
                    x => Some(x as i32 - 2),
                })
                .collect();
            let agree: Vec<Option<bool>> = values
                .iter()
                .map(|v| v.filter(|v| (1..=5).contains(v)).map(|v| v >= 4))
                .collect();
            for k in 0..s {
                want.push((
                    id.clone(),
                    g.to_string(),
                    weight,
                    stmts[k].clone(),
                    values[k],
                    agree[k],
                    segments[0].clone(),
                    segments[1].clone(),
                ));
            }
            let row = Row {
                loc: crate::ingest::read::validate::Loc::Line(i as u64 + 2),
                id: &id,
                group: g,
                group_key: gk,
                weight,
                segments: &segments,
                values: &values,
                agree: &agree,
            };
            if let Some(c) = keyer.push(&row) {
                enc.write(&c).unwrap();
                bytes.extend(enc.take_bytes().unwrap());
                chunks += 1;
            }
        }
        let last = keyer.take();
        enc.write(&last).unwrap();
        assert_eq!(enc.rows, (n * s) as u64);
        let (names, stats) = (enc.names.clone(), enc.stats.clone());
        let (rest, stats_json) = enc.finish().unwrap();
        assert_eq!(stats_json, delta_stats(&names, &stats, (n * s) as u64));
        bytes.extend(rest);
        assert_eq!(chunks, n / 7);

        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
        let md = reader.metadata().clone();
        assert_eq!(md.num_row_groups(), n.div_ceil(7));
        let mut got: Vec<Expected> = Vec::new();
        for b in reader.build().unwrap() {
            let b = b.unwrap();
            let st = |i: usize, r: usize| {
                let a = b.column(i).as_string::<i32>();
                a.is_valid(r).then(|| a.value(r).to_string())
            };
            for r in 0..b.num_rows() {
                let v = b.column(4).as_primitive::<Int32Type>();
                let a = b.column(5).as_boolean();
                got.push((
                    st(0, r).unwrap(),
                    st(1, r).unwrap(),
                    b.column(2).as_primitive::<Float64Type>().value(r),
                    st(3, r).unwrap(),
                    v.is_valid(r).then(|| v.value(r)),
                    a.is_valid(r).then(|| a.value(r)),
                    st(6, r),
                    st(7, r),
                ));
            }
        }
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "row {i}");
        }

        // Chunk statistics: those of each row group's rows.
        let mut start = 0;
        for rg in md.row_groups() {
            let rows = &want[start..start + rg.num_rows() as usize];
            start += rg.num_rows() as usize;
            let strs = |f: &dyn Fn(&Expected) -> Option<String>| {
                let v: Vec<String> = rows.iter().filter_map(f).collect();
                (
                    v.iter().min().cloned().map(|s| s.into_bytes()),
                    v.iter().max().cloned().map(|s| s.into_bytes()),
                    rows.len() - v.len(),
                )
            };
            for (col, f) in [
                (
                    0usize,
                    &(|r: &Expected| Some(r.0.clone())) as &dyn Fn(&Expected) -> Option<String>,
                ),
                (1, &|r: &Expected| Some(r.1.clone())),
                (3, &|r: &Expected| Some(r.3.clone())),
                (6, &|r: &Expected| r.6.clone()),
                (7, &|r: &Expected| r.7.clone()),
            ] {
                let (lo, hi, nulls) = strs(f);
                let Some(Statistics::ByteArray(got)) = rg.column(col).statistics() else {
                    panic!("column {col}: no byte array statistics");
                };
                assert_eq!(
                    got.min_opt().map(|b| b.data().to_vec()),
                    lo,
                    "column {col} min"
                );
                assert_eq!(
                    got.max_opt().map(|b| b.data().to_vec()),
                    hi,
                    "column {col} max"
                );
                assert_eq!(
                    got.null_count_opt(),
                    Some(nulls as u64),
                    "column {col} nulls"
                );
            }
            let vals: Vec<i32> = rows.iter().filter_map(|r| r.4).collect();
            let Some(Statistics::Int32(v)) = rg.column(4).statistics() else {
                panic!()
            };
            assert_eq!(v.min_opt(), vals.iter().min());
            assert_eq!(v.max_opt(), vals.iter().max());
            assert_eq!(v.null_count_opt(), Some((rows.len() - vals.len()) as u64));
            let Some(Statistics::Double(w)) = rg.column(2).statistics() else {
                panic!()
            };
            let ws: Vec<f64> = rows.iter().map(|r| r.2).collect();
            assert_eq!(w.min_opt(), ws.iter().copied().reduce(f64::min).as_ref());
            assert_eq!(w.max_opt(), ws.iter().copied().reduce(f64::max).as_ref());
        }

        // The Delta stats of the file.
        let json: serde_json::Value = serde_json::from_str(&stats_json).unwrap();
        assert_eq!(json["numRecords"], (n * s) as u64);
        assert_eq!(json["minValues"]["respondent"], "r000");
        assert_eq!(json["maxValues"]["respondent"], "r999");
        assert_eq!(json["minValues"]["statement"], "s_a");
        assert_eq!(json["maxValues"]["industry"], "Zoo");
        assert_eq!(json["minValues"]["value"], 1);
        assert_eq!(json["maxValues"]["value"], 300);
        assert_eq!(json["minValues"]["weight"], 0.5);
        assert_eq!(json["maxValues"]["agree"], true);
        let null_values = want.iter().filter(|r| r.4.is_none()).count();
        assert_eq!(json["nullCount"]["value"], null_values as u64);
        assert_eq!(json["nullCount"]["size"], (60 * s) as u64);
        assert_eq!(json["nullCount"]["grp"], 0);
    }
}

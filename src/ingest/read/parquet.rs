//! Parquet microdata (`format = "parquet"`, `.parquet`): read with the `parquet` crate's
//! Arrow reader in batches, only the spec's columns (projection). Columns of integers,
//! floats, decimals, strings (also large, view and dictionary-encoded) and booleans are
//! accepted; each value is turned into its text once per batch (a float 4.0 is the
//! answer 4, 4.5 is not a whole number; null is an empty cell) and validated by the same
//! [`Validator`] as CSV. Messages name the 1-based row ("row N"): a Parquet file has no
//! lines.

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;

use super::validate::{
    available, find_columns, missing_columns_error, needed_columns, respondent, Fields, Loc, Row,
    Summary, Validator,
};
use crate::error::{Error, InputError, Result};
use crate::spec::WaveSpec;

/// Rows per batch read.
const BATCH: usize = 8192;

/// `true` for the column types read.
fn readable(t: &DataType) -> bool {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Null => true,
        DataType::Dictionary(_, v) => readable(v),
        _ => false,
    }
}

/// One row of a batch: per file column, its values as text (`None` for a column not read).
struct BatchRow<'b> {
    columns: &'b [Option<StringArray>],
    index: usize,
    row: u64,
}

impl Fields for BatchRow<'_> {
    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        match &self.columns[i] {
            Some(a) if a.is_valid(self.index) => a.value(self.index).as_bytes(),
            _ => b"",
        }
    }
    fn loc(&self, _i: usize) -> Loc {
        Loc::Row(self.row)
    }
}

/// Reads a Parquet source (a file, or bytes) whose raw bytes hash to `sha256`.
pub(crate) fn read<T: ChunkReader + 'static>(
    spec: &WaveSpec,
    input: T,
    shown: &str,
    sha256: String,
    bytes: u64,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    let resp = respondent(spec)?;
    let file_err = |msg: String| Error::input(InputError::new(shown, msg));
    let builder = ParquetRecordBatchReaderBuilder::try_new(input).map_err(|e| {
        file_err(format!(
            "the file is not a readable Parquet file ({e}); check `format` and `source`"
        ))
    })?;
    let schema = builder.schema().clone();
    let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let cols = find_columns(spec, resp, &header, "is not a column of the file").map_err(|m| {
        missing_columns_error(
            shown,
            m,
            &format!("the file has columns {}", available(&header)),
            None,
        )
    })?;
    // The file's columns the spec reads, each once.
    let mut wanted: Vec<usize> = Vec::new();
    for n in needed_columns(spec) {
        if let Some(i) = header.iter().position(|h| *h == n) {
            if !wanted.contains(&i) {
                wanted.push(i);
            }
        }
    }
    wanted.sort_unstable();
    for &i in &wanted {
        let t = schema.field(i).data_type();
        if !readable(t) {
            return Err(Error::input(
                InputError::new(
                    shown,
                    format!(
                        "the column has type {t}: gaptrack reads columns of integers, floats, decimals, strings and booleans"
                    ),
                )
                .column(&header[i]),
            ));
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| file_err(format!("cannot read the Parquet file: {e}")))?;
    let mut v = Validator::new(spec, resp, shown, cols, weights);
    let mut columns: Vec<Option<StringArray>> = vec![None; header.len()];
    let mut row: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| {
            Error::input(
                InputError::new(shown, format!("cannot read the Parquet file: {e}")).row(row + 1),
            )
        })?;
        for (k, &i) in wanted.iter().enumerate() {
            let text = arrow::compute::cast(batch.column(k), &DataType::Utf8).map_err(|e| {
                Error::input(
                    InputError::new(shown, format!("cannot read the column as text: {e}"))
                        .row(row + 1)
                        .column(&header[i]),
                )
            })?;
            columns[i] = Some(text.as_string::<i32>().clone());
        }
        for index in 0..batch.num_rows() {
            row += 1;
            v.record(
                &BatchRow {
                    columns: &columns,
                    index,
                    row,
                },
                &mut on_row,
            )?;
        }
    }
    let no_rows = InputError::new(
        shown,
        "the file has no rows: expected one row per respondent",
    );
    let mut summary = v.finish(no_rows)?;
    summary.bytes = bytes;
    summary.source_sha256 = sha256;
    Ok(summary)
}

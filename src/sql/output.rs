//! Rows written out as they come, in every output format of `query` (and of `waves` and
//! `history`, which print rows too): a result of any size is never held in memory whole.
//!
//! The `table` format is for people: it lines up columns over blocks of up to
//! [`TABLE_BLOCK_ROWS`] rows (one table for a result that fits a block, as before; a
//! longer result prints one table per block).

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;

use crate::error::{Error, Result};
use crate::sql::query::OutputFormat;

/// Rows of the `table` format lined up together.
pub const TABLE_BLOCK_ROWS: usize = 10_000;

enum Sink<W: Write + Send> {
    Table {
        out: W,
        block: Vec<RecordBatch>,
        rows: usize,
        printed: bool,
    },
    Csv(Box<arrow::csv::Writer<W>>),
    Json(Box<arrow::json::ArrayWriter<W>>),
    Parquet(Box<parquet::arrow::ArrowWriter<W>>, Arc<Schema>),
}

/// Writes batches in one output format to `W`.
pub struct RowWriter<W: Write + Send> {
    schema: Arc<Schema>,
    sink: Sink<W>,
    rows: u64,
}

fn parquet_err(e: parquet::errors::ParquetError) -> Error {
    Error::Other(format!("writing parquet: {e}"))
}

impl<W: Write + Send> RowWriter<W> {
    pub fn new(format: OutputFormat, schema: Arc<Schema>, out: W) -> Result<Self> {
        let sink = match format {
            OutputFormat::Table => Sink::Table {
                out,
                block: Vec::new(),
                rows: 0,
                printed: false,
            },
            OutputFormat::Csv => Sink::Csv(Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(out),
            )),
            OutputFormat::Json => Sink::Json(Box::new(arrow::json::ArrayWriter::new(out))),
            OutputFormat::Parquet => {
                let portable = portable_schema(&schema);
                let w = parquet::arrow::ArrowWriter::try_new(
                    out,
                    portable.clone(),
                    Some(crate::ingest::writer_properties()),
                )
                .map_err(parquet_err)?;
                Sink::Parquet(Box::new(w), portable)
            }
        };
        Ok(RowWriter {
            schema,
            sink,
            rows: 0,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        match &mut self.sink {
            Sink::Table {
                out,
                block,
                rows,
                printed,
            } => {
                if batch.num_rows() == 0 {
                    return Ok(());
                }
                *rows += batch.num_rows();
                block.push(batch.clone());
                if *rows >= TABLE_BLOCK_ROWS {
                    print_table(out, block)?;
                    block.clear();
                    *rows = 0;
                    *printed = true;
                }
                Ok(())
            }
            Sink::Csv(w) => Ok(w.write(batch)?),
            Sink::Json(w) => Ok(w.write(batch)?),
            Sink::Parquet(w, portable) => {
                let batch = portable_batch(batch, portable)?;
                w.write(&batch).map_err(parquet_err)
            }
        }
    }

    /// Ends the output (a CSV header, `[]` or "no rows" for an empty result) and returns
    /// the writer.
    pub fn finish(self) -> Result<W> {
        let no_rows = self.rows == 0;
        let mut out = match self.sink {
            Sink::Table {
                mut out,
                block,
                printed,
                ..
            } => {
                if !block.is_empty() {
                    print_table(&mut out, &block)?;
                } else if !printed {
                    let names: Vec<&str> = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    writeln!(out, "(no rows; columns: {})", names.join(", ")).map_err(write_err)?;
                }
                out
            }
            Sink::Csv(mut w) => {
                if no_rows {
                    w.write(&RecordBatch::new_empty(self.schema.clone()))?;
                }
                w.into_inner()
            }
            Sink::Json(mut w) => {
                // `[]` for no rows.
                w.finish()?;
                let mut out = w.into_inner();
                out.write_all(b"\n").map_err(write_err)?;
                out
            }
            Sink::Parquet(w, _) => w.into_inner().map_err(parquet_err)?,
        };
        out.flush().map_err(write_err)?;
        Ok(out)
    }
}

fn write_err(e: std::io::Error) -> Error {
    Error::io("writing the result", e)
}

fn print_table<W: Write>(out: &mut W, block: &[RecordBatch]) -> Result<()> {
    let s = arrow::util::pretty::pretty_format_batches(block)?;
    writeln!(out, "{s}").map_err(write_err)
}

/// The schema a Parquet file is written with: string and binary views as plain strings
/// and binaries, which every Parquet reader knows.
fn portable_schema(schema: &Schema) -> Arc<Schema> {
    use arrow::datatypes::{DataType, Field};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View => DataType::Utf8,
                DataType::BinaryView => DataType::Binary,
                t => t.clone(),
            };
            f.as_ref().clone().with_data_type(t)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn portable_batch(batch: &RecordBatch, schema: &Arc<Schema>) -> Result<RecordBatch> {
    if batch.schema().as_ref() == schema.as_ref() {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Renders batches in one output format into memory.
pub fn render(
    format: OutputFormat,
    schema: &Arc<Schema>,
    batches: &[RecordBatch],
) -> Result<Vec<u8>> {
    let mut w = RowWriter::new(format, schema.clone(), Vec::new())?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

//! The scan's file reader: the files' Parquet metadata with an Arrow schema that reads
//! the grouping columns as dictionaries.

use futures::FutureExt;
use object_store::ObjectStore;
use std::ops::Range;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use datafusion::common::Result;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    DefaultParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder};

use super::rule::is_string;

/// Hands the scan the files' Parquet metadata with an Arrow schema that reads the chosen
/// string columns as dictionaries (the reader then keeps the Parquet keys).
#[derive(Debug)]
pub(super) struct DictReaderFactory {
    inner: DefaultParquetFileReaderFactory,
    columns: Arc<Vec<String>>,
}

impl DictReaderFactory {
    /// Readers of `store`'s files that read the string columns `columns` as dictionaries.
    pub(super) fn new(store: Arc<dyn ObjectStore>, columns: Vec<String>) -> Self {
        DictReaderFactory {
            inner: DefaultParquetFileReaderFactory::new(store),
            columns: Arc::new(columns),
        }
    }
}

impl ParquetFileReaderFactory for DictReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let inner = self.inner.create_reader(
            partition_index,
            partitioned_file,
            metadata_size_hint,
            metrics,
        )?;
        Ok(Box::new(DictReader {
            inner,
            columns: Arc::clone(&self.columns),
        }))
    }
}

struct DictReader {
    inner: Box<dyn AsyncFileReader + Send>,
    columns: Arc<Vec<String>>,
}

impl AsyncFileReader for DictReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let meta = self.inner.get_metadata(options).await?;
            with_dictionary_schema(&meta, &self.columns)
        }
        .boxed()
    }
}

/// `meta` with an `ARROW:schema` entry that reads `columns` (where they are strings) as
/// `Dictionary(Int32, Utf8)`.
fn with_dictionary_schema(
    meta: &Arc<ParquetMetaData>,
    columns: &[String],
) -> parquet::errors::Result<Arc<ParquetMetaData>> {
    let fm = meta.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(fm.schema_descr(), fm.key_value_metadata())?;
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if columns.iter().any(|c| c == f.name()) && is_string(f.data_type()) {
                changed = true;
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    if !changed {
        return Ok(Arc::clone(meta));
    }
    let encoded = parquet::arrow::encode_arrow_schema(&Schema::new(fields));
    let mut kv: Vec<KeyValue> = fm
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|e| e.key != parquet::arrow::ARROW_SCHEMA_META_KEY)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    kv.push(KeyValue::new(
        parquet::arrow::ARROW_SCHEMA_META_KEY.to_string(),
        encoded,
    ));
    let new_fm = FileMetaData::new(
        fm.version(),
        fm.num_rows(),
        fm.created_by().map(str::to_string),
        Some(kv),
        fm.schema_descr_ptr(),
        fm.column_orders().cloned(),
    );
    let built = ParquetMetaDataBuilder::new(new_fm)
        .set_row_groups(meta.row_groups().to_vec())
        .set_column_index(meta.column_index().cloned())
        .set_offset_index(meta.offset_index().cloned())
        .build();
    Ok(Arc::new(built))
}

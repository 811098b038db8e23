//! A stored table as a DataFusion table: the Parquet files a Delta snapshot lists (for
//! `store.responses`, only those of the loads the catalog names), scanned by DataFusion's
//! own Parquet source.
//!
//! The files of loads that are not live (replaced, removed, or interrupted before their
//! catalog commit) are not even opened. The Delta partition columns (`wave`, `load_id`)
//! come from the files' partition values, as constant columns; strings are read as
//! string views (as `datafusion.execution.parquet.schema_force_view_types` says, true by
//! default), so that a `GROUP BY` over them takes DataFusion's column-wise grouping (see
//! BENCHMARKS.md).
//!
//! The table is plain data (an object store URL, the files, their sizes and partition
//! values), so a cluster session sends it to Ballista's scheduler as it is
//! ([`FilesTable::encode`], [`FilesTable::decode`]).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::TableType;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::Store;

/// A table's Parquet files, scanned as one table.
#[derive(Debug)]
pub struct FilesTable {
    /// The file columns, then the partition columns.
    schema: SchemaRef,
    file_schema: SchemaRef,
    partition_cols: Vec<FieldRef>,
    url: ObjectStoreUrl,
    files: Vec<PartitionedFile>,
}

/// What [`FilesTable::encode`] writes: the URL and the files; the schema travels with
/// the plan.
#[derive(Serialize, Deserialize)]
struct Encoded {
    url: String,
    partition_cols: Vec<String>,
    /// Path inside the object store, size in bytes, partition values.
    files: Vec<(String, u64, Vec<Option<String>>)>,
}

/// Strings read as string views (unless `views` is off).
fn view(f: &Field, views: bool) -> Field {
    match f.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 if views => {
            f.clone().with_data_type(DataType::Utf8View)
        }
        _ => f.clone(),
    }
}

/// A partition value of a column of type `t`.
fn partition_value(t: &DataType, v: Option<String>) -> ScalarValue {
    match t {
        DataType::Utf8View => ScalarValue::Utf8View(v),
        DataType::LargeUtf8 => ScalarValue::LargeUtf8(v),
        _ => ScalarValue::Utf8(v),
    }
}

impl FilesTable {
    /// The files of the Delta table `name` (whose load is in `live`, when given). `None`
    /// when the table holds something this reader does not handle (deletion vectors):
    /// the caller then uses the Delta provider.
    pub fn try_new(
        store: &Store,
        url: ObjectStoreUrl,
        name: &str,
        table: &DeltaTable,
        live: Option<&HashSet<&str>>,
        views: bool,
    ) -> Result<Option<Self>> {
        let snapshot = table
            .snapshot()
            .map_err(|e| Error::delta(format!("reading the {name} table"), e))?;
        let delta_schema: Schema = snapshot.snapshot().arrow_schema().as_ref().clone();
        let partitions: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        let file_fields: Vec<Field> = delta_schema
            .fields()
            .iter()
            .filter(|f| !partitions.contains(f.name()))
            .map(|f| view(f, views))
            .collect();
        let partition_cols: Vec<FieldRef> = partitions
            .iter()
            .map(|p| Arc::new(view(&Field::new(p, DataType::Utf8, true), views)))
            .collect();
        let mut files = Vec::new();
        for f in snapshot.log_data().iter() {
            if f.deletion_vector_descriptor().is_some() {
                return Ok(None);
            }
            let pv = f.partition_values_map();
            let values: Vec<Option<String>> = partitions
                .iter()
                .map(|k| pv.get(k).cloned().flatten())
                .collect();
            let load = partitions.iter().position(|p| p == "load_id");
            if let (Some(live), Some(i)) = (live, load) {
                match &values[i] {
                    Some(l) if live.contains(l.as_str()) => {}
                    _ => continue,
                }
            }
            let path = store.path(&format!("{name}/{}", f.object_store_path()));
            files.push((path.to_string(), f.size().max(0) as u64, values));
        }
        // Oldest first, as the waves were loaded; a deterministic plan.
        files.sort();
        Ok(Some(Self::new(
            Arc::new(Schema::new(file_fields)),
            partition_cols,
            url,
            files,
        )))
    }

    fn new(
        file_schema: SchemaRef,
        partition_cols: Vec<FieldRef>,
        url: ObjectStoreUrl,
        files: Vec<(String, u64, Vec<Option<String>>)>,
    ) -> Self {
        let mut all: Vec<Field> = file_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        all.extend(partition_cols.iter().map(|f| f.as_ref().clone()));
        let files = files
            .into_iter()
            .map(|(path, size, values)| {
                let values = partition_cols
                    .iter()
                    .zip(values)
                    .map(|(f, v)| partition_value(f.data_type(), v))
                    .collect();
                PartitionedFile::new(path, size).with_partition_values(values)
            })
            .collect();
        FilesTable {
            schema: Arc::new(Schema::new(all)),
            file_schema,
            partition_cols,
            url,
            files,
        }
    }

    /// A table of no files with this schema.
    pub fn empty(schema: SchemaRef, url: ObjectStoreUrl) -> Self {
        Self::new(schema, vec![], url, vec![])
    }

    /// The table as bytes (see [`FilesTable::decode`]).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let files = self
            .files
            .iter()
            .map(|f| {
                let values = f
                    .partition_values
                    .iter()
                    .map(|v| match v {
                        ScalarValue::Utf8View(s)
                        | ScalarValue::Utf8(s)
                        | ScalarValue::LargeUtf8(s) => s.clone(),
                        other => Some(other.to_string()),
                    })
                    .collect();
                (
                    f.object_meta.location.to_string(),
                    f.object_meta.size,
                    values,
                )
            })
            .collect();
        let e = Encoded {
            url: self.url.as_str().to_string(),
            partition_cols: self
                .partition_cols
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            files,
        };
        serde_json::to_vec(&e).map_err(|e| Error::Other(e.to_string()))
    }

    /// The table [`FilesTable::encode`] wrote, with its `schema` (file columns, then the
    /// partition columns).
    pub fn decode(buf: &[u8], schema: &Schema) -> Result<Self> {
        let e: Encoded = serde_json::from_slice(buf)
            .map_err(|e| Error::Other(format!("not a gaptrack table: {e}")))?;
        let (parts, fields): (Vec<FieldRef>, Vec<FieldRef>) = schema
            .fields()
            .iter()
            .cloned()
            .partition(|f| e.partition_cols.contains(f.name()));
        let url = ObjectStoreUrl::parse(&e.url)?;
        Ok(Self::new(
            Arc::new(Schema::new(fields)),
            parts,
            url,
            e.files,
        ))
    }
}

#[async_trait]
impl TableProvider for FilesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // Used to skip row groups by their statistics; rows are filtered above.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if self.files.is_empty() {
            // An empty in-memory source rather than `EmptyExec`: a cluster's executors
            // report the same operators for it as its scheduler planned.
            let exec: Arc<dyn ExecutionPlan> = MemorySourceConfig::try_new_exec(
                &[vec![]],
                self.schema.clone(),
                projection.cloned(),
            )?;
            return Ok(exec);
        }
        let table_schema =
            datafusion::datasource::table_schema::TableSchema::builder(self.file_schema.clone())
                .with_table_partition_cols(self.partition_cols.clone())
                .build();
        let options = datafusion::config::TableParquetOptions {
            global: state.config_options().execution.parquet.clone(),
            ..Default::default()
        };
        let mut source = ParquetSource::new(table_schema).with_table_parquet_options(options);
        if let Some(f) = conjunction(filters.iter().cloned()) {
            let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            let predicate = state.create_physical_expr(f, &df_schema)?;
            source = source.with_predicate(predicate);
        }
        let config = FileScanConfigBuilder::new(self.url.clone(), Arc::new(source))
            .with_file_group(FileGroup::new(self.files.clone()))
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

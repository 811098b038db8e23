//! `store.responses` as a DataFusion table: the Parquet files of the loads the catalog
//! names, taken from the Delta snapshot's file list, scanned by DataFusion's own Parquet
//! source.
//!
//! The files of loads that are not live (replaced, removed, or interrupted before their
//! catalog commit) are not even opened. `wave` and `load_id` come from the files' Delta
//! partition values, as constant columns; strings are read as string views (as
//! `datafusion.execution.parquet.schema_force_view_types` says, true by default), so that
//! a `GROUP BY` over them takes DataFusion's column-wise grouping (see BENCHMARKS.md).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::TableType;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;

use crate::error::{Error, Result};
use crate::store::{Store, RESPONSES};

/// Live `responses` files, scanned as one table.
#[derive(Debug)]
pub struct ResponsesTable {
    /// The file columns, then `wave` and `load_id`.
    schema: SchemaRef,
    file_schema: SchemaRef,
    partition_cols: Vec<FieldRef>,
    url: ObjectStoreUrl,
    files: Vec<PartitionedFile>,
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

impl ResponsesTable {
    /// The files of `table` whose load is in `live`. `None` when the table holds
    /// something this reader does not handle (deletion vectors): the caller then uses
    /// the Delta provider.
    pub fn try_new(
        store: &Store,
        url: ObjectStoreUrl,
        table: &DeltaTable,
        live: &HashSet<&str>,
        views: bool,
    ) -> Result<Option<Self>> {
        let snapshot = table
            .snapshot()
            .map_err(|e| Error::delta("reading the responses table", e))?;
        let delta_schema: Schema = snapshot.snapshot().arrow_schema().as_ref().clone();
        let partitions = ["wave", "load_id"];
        let file_fields: Vec<Field> = delta_schema
            .fields()
            .iter()
            .filter(|f| !partitions.contains(&f.name().as_str()))
            .map(|f| view(f, views))
            .collect();
        let partition_cols: Vec<FieldRef> = partitions
            .iter()
            .map(|p| Arc::new(view(&Field::new(*p, DataType::Utf8, true), views)))
            .collect();
        let file_schema = Arc::new(Schema::new(file_fields.clone()));
        let mut all = file_fields;
        all.extend(partition_cols.iter().map(|f| f.as_ref().clone()));
        let schema = Arc::new(Schema::new(all));

        let mut files = Vec::new();
        for f in snapshot.log_data().iter() {
            if f.deletion_vector_descriptor().is_some() {
                return Ok(None);
            }
            let pv = f.partition_values_map();
            let get = |k: &str| pv.get(k).cloned().flatten();
            let (Some(wave), Some(load_id)) = (get("wave"), get("load_id")) else {
                continue;
            };
            if !live.contains(load_id.as_str()) {
                continue;
            }
            let path = store.path(&format!("{RESPONSES}/{}", f.object_store_path()));
            files.push(
                PartitionedFile::new(path.to_string(), f.size().max(0) as u64)
                    .with_partition_values(if views {
                        vec![
                            ScalarValue::Utf8View(Some(wave)),
                            ScalarValue::Utf8View(Some(load_id)),
                        ]
                    } else {
                        vec![
                            ScalarValue::Utf8(Some(wave)),
                            ScalarValue::Utf8(Some(load_id)),
                        ]
                    }),
            );
        }
        // Oldest first, as the waves were loaded; a deterministic plan.
        files.sort_by(|a, b| a.object_meta.location.cmp(&b.object_meta.location));
        Ok(Some(ResponsesTable {
            schema,
            file_schema,
            partition_cols,
            url,
            files,
        }))
    }
}

#[async_trait]
impl TableProvider for ResponsesTable {
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
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
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

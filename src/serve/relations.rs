//! The tables and views of a session, as the metadata calls of both protocols list them.

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::datasource::TableType;

use crate::sql::Session;

/// One table or view.
#[derive(Debug, Clone)]
pub struct Relation {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub view: bool,
    pub columns: Arc<Schema>,
}

/// Schemas no client is shown: the PostgreSQL catalog gaptrack answers from.
pub const HIDDEN_SCHEMAS: &[&str] = &["pg_catalog"];

/// Every relation of the session's catalogs, sorted by catalog, schema and name.
pub async fn list(session: &Session) -> datafusion::error::Result<Vec<Relation>> {
    let ctx = &session.ctx;
    let mut out = Vec::new();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            if HIDDEN_SCHEMAS.contains(&schema_name.as_str()) {
                continue;
            }
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            for name in schema.table_names() {
                let Some(table) = schema.table(&name).await? else {
                    continue;
                };
                out.push(Relation {
                    catalog: catalog_name.clone(),
                    schema: schema_name.clone(),
                    name,
                    view: table.table_type() == TableType::View,
                    columns: table.schema(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.catalog, &a.schema, &a.name).cmp(&(&b.catalog, &b.schema, &b.name)));
    Ok(out)
}

/// The schemas of the session's catalogs (`(catalog, schema)`), sorted.
pub fn schemas(session: &Session) -> Vec<(String, String)> {
    let ctx = &session.ctx;
    let mut out = Vec::new();
    for catalog_name in ctx.catalog_names() {
        if let Some(catalog) = ctx.catalog(&catalog_name) {
            for s in catalog.schema_names() {
                if !HIDDEN_SCHEMAS.contains(&s.as_str()) {
                    out.push((catalog_name.clone(), s));
                }
            }
        }
    }
    out.sort();
    out
}

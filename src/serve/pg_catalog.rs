//! What PostgreSQL clients expect besides SQL over the tables: the session statements
//! they send on connect (`SET`, `SHOW`, `BEGIN`, …), and a small `pg_catalog` (namespaces,
//! relations, columns, types) built from the session, with the few functions and
//! spellings psql's `\d` queries use.
//!
//! Tables are relkind `r`, views `v`; the catalogs gaptrack has nothing in (indexes,
//! constraints, triggers, policies, rules, inheritance, defaults, collations,
//! descriptions, statistics objects, publications) exist and are empty, and a subquery
//! over one of them is NULL (or FALSE under `EXISTS`).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};

use super::relations::{self, Relation};
use crate::error::{Error, Result};
use crate::sql::Session;

/// Catalogs that are always empty in gaptrack.
const EMPTY: &[(&str, &[(&str, DataType)])] = &[
    (
        "pg_attrdef",
        &[
            ("oid", DataType::Int64),
            ("adrelid", DataType::Int64),
            ("adnum", DataType::Int16),
            ("adbin", DataType::Utf8),
        ],
    ),
    (
        "pg_collation",
        &[("oid", DataType::Int64), ("collname", DataType::Utf8)],
    ),
    (
        "pg_description",
        &[
            ("objoid", DataType::Int64),
            ("classoid", DataType::Int64),
            ("objsubid", DataType::Int32),
            ("description", DataType::Utf8),
        ],
    ),
    (
        "pg_index",
        &[
            ("indexrelid", DataType::Int64),
            ("indrelid", DataType::Int64),
            ("indisprimary", DataType::Boolean),
            ("indisunique", DataType::Boolean),
        ],
    ),
    (
        "pg_inherits",
        &[
            ("inhrelid", DataType::Int64),
            ("inhparent", DataType::Int64),
            ("inhseqno", DataType::Int32),
        ],
    ),
    (
        "pg_constraint",
        &[
            ("oid", DataType::Int64),
            ("conname", DataType::Utf8),
            ("conrelid", DataType::Int64),
            ("contype", DataType::Utf8),
        ],
    ),
    (
        "pg_trigger",
        &[
            ("oid", DataType::Int64),
            ("tgrelid", DataType::Int64),
            ("tgname", DataType::Utf8),
        ],
    ),
    (
        "pg_policy",
        &[
            ("oid", DataType::Int64),
            ("polname", DataType::Utf8),
            ("polrelid", DataType::Int64),
        ],
    ),
    (
        "pg_rewrite",
        &[
            ("oid", DataType::Int64),
            ("rulename", DataType::Utf8),
            ("ev_class", DataType::Int64),
        ],
    ),
    (
        "pg_statistic_ext",
        &[
            ("oid", DataType::Int64),
            ("stxrelid", DataType::Int64),
            ("stxname", DataType::Utf8),
        ],
    ),
    (
        "pg_publication",
        &[("oid", DataType::Int64), ("pubname", DataType::Utf8)],
    ),
    (
        "pg_publication_rel",
        &[
            ("oid", DataType::Int64),
            ("prpubid", DataType::Int64),
            ("prrelid", DataType::Int64),
        ],
    ),
    (
        "pg_publication_namespace",
        &[
            ("oid", DataType::Int64),
            ("pnpubid", DataType::Int64),
            ("pnnspid", DataType::Int64),
        ],
    ),
];

/// PostgreSQL's type oids and names for the types gaptrack sends.
const TYPES: &[(i64, &str, &str)] = &[
    (16, "bool", "boolean"),
    (20, "int8", "bigint"),
    (21, "int2", "smallint"),
    (23, "int4", "integer"),
    (25, "text", "text"),
    (700, "float4", "real"),
    (701, "float8", "double precision"),
    (1043, "varchar", "character varying"),
    (1082, "date", "date"),
    (1114, "timestamp", "timestamp without time zone"),
    (1184, "timestamptz", "timestamp with time zone"),
];

const PG_CATALOG_OID: i64 = 11;
const FIRST_OID: i64 = 16_384;

fn namespace_oid(name: &str, all: &[(String, String)]) -> i64 {
    match name {
        "pg_catalog" => PG_CATALOG_OID,
        "public" => 2200,
        "information_schema" => 13_000,
        _ => 13_100 + all.iter().position(|(_, s)| s == name).unwrap_or(0) as i64,
    }
}

fn table(cols: Vec<(&str, DataType)>, data: Vec<ArrayRef>) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(
        cols.into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), data)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

fn strings<'a>(v: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

/// Adds the `pg_catalog` schema and functions to a newly opened session.
pub async fn install(session: &Session) -> Result<()> {
    let ctx = &session.ctx;
    let all_schemas = relations::schemas(session);
    let rels: Vec<Relation> = relations::list(session)
        .await?
        .into_iter()
        .filter(|r| r.catalog == "datafusion")
        .collect();
    let pg = Arc::new(MemorySchemaProvider::new());
    pg.register_table("pg_namespace".into(), namespace_table(&all_schemas)?)?;
    pg.register_table("pg_class".into(), class_table(&rels, &all_schemas)?)?;
    pg.register_table("pg_attribute".into(), attribute_table(&rels)?)?;
    pg.register_table("pg_type".into(), type_table()?)?;
    pg.register_table("pg_database".into(), database_table()?)?;
    pg.register_table(
        "pg_am".into(),
        table(
            vec![("oid", DataType::Int64), ("amname", DataType::Utf8)],
            vec![Arc::new(Int64Array::from(vec![2])), strings(["heap"])],
        )?,
    )?;
    for (name, cols) in EMPTY {
        let schema = Arc::new(Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ));
        pg.register_table(
            name.to_string(),
            Arc::new(MemTable::try_new(schema, vec![vec![]])?),
        )?;
    }
    ctx.catalog("datafusion")
        .ok_or_else(|| Error::Other("the session has no default catalog".into()))?
        .register_schema("pg_catalog", pg)?;
    let visible: std::collections::HashSet<i64> = rels
        .iter()
        .enumerate()
        .filter(|(_, r)| r.schema == "public")
        .map(|(i, _)| FIRST_OID + i as i64)
        .collect();
    register_functions(ctx, Arc::new(visible));
    Ok(())
}

/// `pg_namespace`: the session's schemas and `pg_catalog`.
fn namespace_table(all_schemas: &[(String, String)]) -> Result<Arc<MemTable>> {
    let mut nsp: Vec<(i64, String)> = all_schemas
        .iter()
        .filter(|(c, _)| c == "datafusion")
        .map(|(_, s)| (namespace_oid(s, all_schemas), s.clone()))
        .collect();
    nsp.push((PG_CATALOG_OID, "pg_catalog".into()));
    table(
        vec![
            ("oid", DataType::Int64),
            ("nspname", DataType::Utf8),
            ("nspowner", DataType::Int64),
        ],
        vec![
            Arc::new(Int64Array::from_iter_values(nsp.iter().map(|n| n.0))),
            strings(nsp.iter().map(|n| n.1.as_str())),
            Arc::new(Int64Array::from_iter_values(nsp.iter().map(|_| 10))),
        ],
    )
}

/// `pg_type`: the types the result columns are given.
fn type_table() -> Result<Arc<MemTable>> {
    let ints = |f: &dyn Fn(&(i64, &str, &str)) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(TYPES.iter().map(f)))
    };
    table(
        vec![
            ("oid", DataType::Int64),
            ("typname", DataType::Utf8),
            ("typnamespace", DataType::Int64),
            ("typcollation", DataType::Int64),
            ("typtype", DataType::Utf8),
            ("typrelid", DataType::Int64),
            ("typelem", DataType::Int64),
            ("typbasetype", DataType::Int64),
        ],
        vec![
            ints(&|t| t.0),
            strings(TYPES.iter().map(|t| t.1)),
            ints(&|_| PG_CATALOG_OID),
            // text and varchar collate by the default collation (100).
            ints(&|t| if t.0 == 25 || t.0 == 1043 { 100 } else { 0 }),
            strings(TYPES.iter().map(|_| "b")),
            ints(&|_| 0),
            ints(&|_| 0),
            ints(&|_| 0),
        ],
    )
}

/// `pg_database`: the one database, `gaptrack`.
fn database_table() -> Result<Arc<MemTable>> {
    table(
        vec![
            ("oid", DataType::Int64),
            ("datname", DataType::Utf8),
            ("datdba", DataType::Int64),
            ("encoding", DataType::Int32),
            ("datallowconn", DataType::Boolean),
        ],
        vec![
            Arc::new(Int64Array::from(vec![16_383])),
            strings(["gaptrack"]),
            Arc::new(Int64Array::from(vec![10])),
            Arc::new(Int32Array::from(vec![6])),
            Arc::new(BooleanArray::from(vec![true])),
        ],
    )
}

fn class_table(rels: &[Relation], all: &[(String, String)]) -> Result<Arc<MemTable>> {
    let n = rels.len();
    let i64s = |f: &dyn Fn(usize, &Relation) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            rels.iter().enumerate().map(|(i, r)| f(i, r)),
        ))
    };
    let falses = || -> ArrayRef { Arc::new(BooleanArray::from(vec![false; n])) };
    table(
        vec![
            ("oid", DataType::Int64),
            ("relname", DataType::Utf8),
            ("relnamespace", DataType::Int64),
            ("relkind", DataType::Utf8),
            ("relowner", DataType::Int64),
            ("relam", DataType::Int64),
            ("relnatts", DataType::Int16),
            ("relchecks", DataType::Int16),
            ("relhasindex", DataType::Boolean),
            ("relhasrules", DataType::Boolean),
            ("relhastriggers", DataType::Boolean),
            ("relrowsecurity", DataType::Boolean),
            ("relforcerowsecurity", DataType::Boolean),
            ("relispartition", DataType::Boolean),
            ("reloptions", DataType::Utf8),
            ("reltablespace", DataType::Int64),
            ("reloftype", DataType::Int64),
            ("relpersistence", DataType::Utf8),
            ("relreplident", DataType::Utf8),
            ("reltoastrelid", DataType::Int64),
        ],
        vec![
            i64s(&|i, _| FIRST_OID + i as i64),
            strings(rels.iter().map(|r| r.name.as_str())),
            i64s(&|_, r| namespace_oid(&r.schema, all)),
            strings(rels.iter().map(|r| if r.view { "v" } else { "r" })),
            i64s(&|_, _| 10),
            i64s(&|_, r| if r.view { 0 } else { 2 }),
            Arc::new(Int16Array::from_iter_values(
                rels.iter().map(|r| r.columns.fields().len() as i16),
            )),
            Arc::new(Int16Array::from(vec![0i16; n])),
            falses(),
            falses(),
            falses(),
            falses(),
            falses(),
            falses(),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            i64s(&|_, _| 0),
            i64s(&|_, _| 0),
            strings(rels.iter().map(|_| "p")),
            strings(rels.iter().map(|_| "d")),
            i64s(&|_, _| 0),
        ],
    )
}

fn attribute_table(rels: &[Relation]) -> Result<Arc<MemTable>> {
    let mut relid = Vec::new();
    let mut name = Vec::new();
    let mut typid = Vec::new();
    let mut num = Vec::new();
    let mut notnull = Vec::new();
    for (i, r) in rels.iter().enumerate() {
        for (j, f) in r.columns.fields().iter().enumerate() {
            relid.push(FIRST_OID + i as i64);
            name.push(f.name().clone());
            typid.push(super::pg_types::pg_type(f.data_type()).oid() as i64);
            num.push(j as i16 + 1);
            notnull.push(!f.is_nullable());
        }
    }
    let n = relid.len();
    table(
        vec![
            ("attrelid", DataType::Int64),
            ("attname", DataType::Utf8),
            ("atttypid", DataType::Int64),
            ("atttypmod", DataType::Int32),
            ("attnum", DataType::Int16),
            ("attnotnull", DataType::Boolean),
            ("attisdropped", DataType::Boolean),
            ("atthasdef", DataType::Boolean),
            ("attcollation", DataType::Int64),
            ("attidentity", DataType::Utf8),
            ("attgenerated", DataType::Utf8),
        ],
        vec![
            Arc::new(Int64Array::from(relid)),
            Arc::new(StringArray::from(name)),
            Arc::new(Int64Array::from(typid)),
            Arc::new(Int32Array::from(vec![-1; n])),
            Arc::new(Int16Array::from(num)),
            Arc::new(BooleanArray::from(notnull)),
            Arc::new(BooleanArray::from(vec![false; n])),
            Arc::new(BooleanArray::from(vec![false; n])),
            Arc::new(Int64Array::from(vec![0; n])),
            strings(vec![""; n]),
            strings(vec![""; n]),
        ],
    )
}

/// `pg_table_is_visible`, `pg_get_userbyid`, `format_type`.
fn register_functions(
    ctx: &datafusion::prelude::SessionContext,
    visible: Arc<std::collections::HashSet<i64>>,
) {
    let visible = create_udf(
        "pg_table_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            // Visible where the search path (public) finds it: the relations of public.
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let oids =
                arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&arrays[0]);
            let visible: BooleanArray = oids
                .iter()
                .map(|o| o.map(|o| visible.contains(&o)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(visible)))
        }),
    );
    let owner = create_udf(
        "pg_get_userbyid",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let n = arrays[0].len();
            Ok(ColumnarValue::Array(Arc::new(StringArray::from(
                vec![super::auth::PG_USER; n],
            ))))
        }),
    );
    let format_type = create_udf(
        "format_type",
        vec![DataType::Int64, DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let oids =
                arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&arrays[0]);
            let names: StringArray = oids
                .iter()
                .map(|o| o.and_then(|o| TYPES.iter().find(|t| t.0 == o).map(|t| t.2)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(names)))
        }),
    );
    for f in [visible, owner, format_type] {
        ctx.register_udf(f);
    }
}

//! What PostgreSQL clients expect besides SQL over the tables: the session statements
//! they send on connect (`SET`, `SHOW`, `BEGIN`, …), and a small `pg_catalog` (namespaces,
//! relations, columns, types, roles, settings) built from the session, with the functions
//! and spellings the catalog queries of psql, JDBC drivers and BI tools use.
//!
//! Tables are relkind `r`, views `v`; the catalogs gaptrack has nothing in (indexes,
//! constraints, triggers, policies, rules, inheritance, defaults, collations, enums,
//! dependencies, descriptions, statistics) exist and are empty, and a scalar subquery
//! over one of them is NULL (or FALSE under `EXISTS`). The `information_schema` views
//! PostgreSQL clients read with PostgreSQL's own columns (`columns`, `table_constraints`,
//! `key_column_usage`) are here too, as `information_schema_*`.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Float32Array, Int16Array, Int32Array,
    Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema};
use datafusion::catalog::{
    MemorySchemaProvider, SchemaProvider, TableFunctionArgs, TableFunctionImpl,
};
use datafusion::common::ScalarValue;
use datafusion::datasource::{MemTable, TableProvider, ViewTable};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use regex::Regex;

use super::relations::{self, Relation};
use crate::error::{Error, Result};
use crate::sql::Session;

/// Column names and types of one catalog table.
type Columns = Vec<(&'static str, DataType)>;

/// A list of `int2`, as in `pg_index.indkey` and `pg_constraint.conkey`.
fn int2_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int16, true)))
}

fn text_columns(names: &[&'static str]) -> Columns {
    names.iter().map(|n| (*n, DataType::Utf8)).collect()
}

fn bool_columns(names: &[&'static str]) -> Columns {
    names.iter().map(|n| (*n, DataType::Boolean)).collect()
}

/// Catalogs that are always empty in gaptrack, with the columns clients read:
/// `name:type` pairs, the types `oid` (int8), `int2`, `int4`, `float4`, `text`, `bool`
/// and `int2[]`.
const EMPTY_CATALOGS: &[(&str, &str)] = &[
    ("pg_attrdef", "oid:oid adrelid:oid adnum:int2 adbin:text"),
    ("pg_collation", "oid:oid collname:text"),
    (
        "pg_description",
        "objoid:oid classoid:oid objsubid:int4 description:text",
    ),
    (
        "pg_shdescription",
        "objoid:oid classoid:oid description:text",
    ),
    (
        "pg_index",
        "indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisprimary:bool \
         indisunique:bool indisclustered:bool indisvalid:bool indkey:int2[] indexprs:text \
         indpred:text",
    ),
    ("pg_inherits", "inhrelid:oid inhparent:oid inhseqno:int4"),
    (
        "pg_constraint",
        "oid:oid conname:text connamespace:oid contype:text condeferrable:bool \
         condeferred:bool convalidated:bool conrelid:oid contypid:oid conindid:oid \
         confrelid:oid confupdtype:text confdeltype:text confmatchtype:text conkey:int2[] \
         confkey:int2[] conbin:text",
    ),
    ("pg_trigger", "oid:oid tgrelid:oid tgname:text"),
    ("pg_policy", "oid:oid polname:text polrelid:oid"),
    ("pg_rewrite", "oid:oid rulename:text ev_class:oid"),
    ("pg_statistic_ext", "oid:oid stxrelid:oid stxname:text"),
    ("pg_publication", "oid:oid pubname:text"),
    ("pg_publication_rel", "oid:oid prpubid:oid prrelid:oid"),
    (
        "pg_publication_namespace",
        "oid:oid pnpubid:oid pnnspid:oid",
    ),
    (
        "pg_enum",
        "oid:oid enumtypid:oid enumsortorder:float4 enumlabel:text",
    ),
    (
        "pg_depend",
        "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 \
         deptype:text",
    ),
    (
        "pg_stat_user_tables",
        "relid:oid schemaname:text relname:text seq_scan:oid n_tup_ins:oid n_tup_upd:oid \
         n_tup_del:oid n_live_tup:oid n_dead_tup:oid",
    ),
    (
        "pg_matviews",
        "schemaname:text matviewname:text matviewowner:text tablespace:text hasindexes:bool \
         ispopulated:bool definition:text",
    ),
    (
        "information_schema_table_constraints",
        "constraint_catalog:text constraint_schema:text constraint_name:text \
         table_catalog:text table_schema:text table_name:text constraint_type:text \
         is_deferrable:text initially_deferred:text enforced:text nulls_distinct:text",
    ),
    (
        "information_schema_key_column_usage",
        "constraint_catalog:text constraint_schema:text constraint_name:text \
         table_catalog:text table_schema:text table_name:text column_name:text \
         ordinal_position:int4 position_in_unique_constraint:int4",
    ),
];

/// The columns of a declaration of [`EMPTY_CATALOGS`].
fn declared_columns(declaration: &'static str) -> Columns {
    declaration
        .split_whitespace()
        .map(|pair| {
            let (name, ty) = pair.split_once(':').expect("name:type");
            let ty = match ty {
                "oid" => DataType::Int64,
                "int2" => DataType::Int16,
                "int4" => DataType::Int32,
                "float4" => DataType::Float32,
                "bool" => DataType::Boolean,
                "int2[]" => int2_list(),
                _ => DataType::Utf8,
            };
            (name, ty)
        })
        .collect()
}

/// One PostgreSQL type gaptrack sends: oid, name, SQL name, length, category, input
/// function.
type PgType = (
    i64,
    &'static str,
    &'static str,
    i16,
    &'static str,
    &'static str,
);

/// PostgreSQL's types for the types gaptrack sends.
const TYPES: &[PgType] = &[
    (16, "bool", "boolean", 1, "B", "boolin"),
    (20, "int8", "bigint", 8, "N", "int8in"),
    (21, "int2", "smallint", 2, "N", "int2in"),
    (23, "int4", "integer", 4, "N", "int4in"),
    (25, "text", "text", -1, "S", "textin"),
    (700, "float4", "real", 4, "N", "float4in"),
    (701, "float8", "double precision", 8, "N", "float8in"),
    (1043, "varchar", "character varying", -1, "S", "varcharin"),
    (1082, "date", "date", 4, "D", "date_in"),
    (
        1114,
        "timestamp",
        "timestamp without time zone",
        8,
        "D",
        "timestamp_in",
    ),
    (
        1184,
        "timestamptz",
        "timestamp with time zone",
        8,
        "D",
        "timestamptz_in",
    ),
];

fn pg_type_of(oid: i64) -> Option<&'static PgType> {
    TYPES.iter().find(|t| t.0 == oid)
}

const PG_CATALOG_OID: i64 = 11;
const FIRST_OID: i64 = 16_384;
const DATABASE: &str = "gaptrack";

/// PostgreSQL's fixed oids of the catalog tables clients name in `'…'::regclass`.
const CATALOG_OIDS: &[(&str, i64)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_database", 1262),
    ("pg_namespace", 2615),
    ("pg_constraint", 2606),
    ("pg_description", 2609),
    ("pg_index", 2610),
];

fn namespace_oid(name: &str, all: &[(String, String)]) -> i64 {
    match name {
        "pg_catalog" => PG_CATALOG_OID,
        "public" => 2200,
        "information_schema" => 13_000,
        _ => 13_100 + all.iter().position(|(_, s)| s == name).unwrap_or(0) as i64,
    }
}

fn df_table(
    cols: Vec<(&str, DataType)>,
    data: Vec<ArrayRef>,
) -> datafusion::error::Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(
        cols.into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), data)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

fn table(cols: Vec<(&str, DataType)>, data: Vec<ArrayRef>) -> Result<Arc<MemTable>> {
    Ok(df_table(cols, data)?)
}

fn empty_table(cols: &Columns) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?))
}

fn strings<'a>(v: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

fn nulls(t: DataType, n: usize) -> ArrayRef {
    new_null_array(&t, n)
}

fn bools(v: bool, n: usize) -> ArrayRef {
    Arc::new(BooleanArray::from(vec![v; n]))
}

fn i64s(v: impl IntoIterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(v))
}

/// What the functions need to know of the session: relation oids by name, the
/// relations the search path finds, and the views' definitions.
struct Known {
    visible: HashSet<i64>,
    oids: HashMap<String, i64>,
    views: HashMap<i64, String>,
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
    let views = view_definitions(ctx, &rels).await;
    let pg = Arc::new(MemorySchemaProvider::new());
    for (name, t) in filled_tables(&rels, &all_schemas, &views)? {
        pg.register_table(name.to_string(), t)?;
    }
    for (name, declaration) in EMPTY_CATALOGS {
        let cols = declared_columns(declaration);
        pg.register_table(name.to_string(), empty_table(&cols)?)?;
    }
    ctx.catalog("datafusion")
        .ok_or_else(|| Error::Other("the session has no default catalog".into()))?
        .register_schema("pg_catalog", pg)?;
    let known = Known {
        visible: rels
            .iter()
            .enumerate()
            .filter(|(_, r)| r.schema == "public")
            .map(|(i, _)| FIRST_OID + i as i64)
            .collect(),
        oids: relation_oids(&rels),
        views,
    };
    register_functions(ctx, Arc::new(known));
    ctx.register_udtf("pg_get_keywords", Arc::new(Keywords));
    Ok(())
}

/// The catalog tables with rows.
fn filled_tables(
    rels: &[Relation],
    all_schemas: &[(String, String)],
    views: &HashMap<i64, String>,
) -> Result<Vec<(&'static str, Arc<MemTable>)>> {
    Ok(vec![
        ("pg_namespace", namespace_table(all_schemas)?),
        ("pg_class", class_table(rels, all_schemas)?),
        ("pg_attribute", attribute_table(rels)?),
        ("pg_type", type_table()?),
        ("pg_database", database_table()?),
        (
            "pg_am",
            table(
                vec![("oid", DataType::Int64), ("amname", DataType::Utf8)],
                vec![i64s([2]), strings(["heap"])],
            )?,
        ),
        ("pg_roles", roles_table()?),
        ("pg_settings", settings_table()?),
        ("pg_tables", tables_table(rels)?),
        ("pg_views", views_table(rels, views)?),
        ("information_schema_columns", columns_table(rels)?),
    ])
}

/// Relation oids by the names `'…'::regclass` may give: `schema.name`, and `name` alone
/// for the catalogs and for the relations of `public`.
fn relation_oids(rels: &[Relation]) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for (name, oid) in CATALOG_OIDS {
        out.insert(name.to_string(), *oid);
        out.insert(format!("pg_catalog.{name}"), *oid);
    }
    for (i, r) in rels.iter().enumerate() {
        let oid = FIRST_OID + i as i64;
        out.insert(format!("{}.{}", r.schema, r.name), oid);
        if r.schema == "public" {
            out.insert(r.name.clone(), oid);
        }
    }
    out
}

/// The text after `AS` of each view's `CREATE VIEW`, by the view's oid.
async fn view_definitions(ctx: &SessionContext, rels: &[Relation]) -> HashMap<i64, String> {
    let mut out = HashMap::new();
    let Some(catalog) = ctx.catalog("datafusion") else {
        return out;
    };
    for (i, r) in rels.iter().enumerate().filter(|(_, r)| r.view) {
        let Some(schema) = catalog.schema(&r.schema) else {
            continue;
        };
        let Ok(Some(provider)) = schema.table(&r.name).await else {
            continue;
        };
        let any: &dyn std::any::Any = provider.as_ref();
        if let Some(def) = any.downcast_ref::<ViewTable>().and_then(|v| v.definition()) {
            out.insert(FIRST_OID + i as i64, view_body(def));
        }
    }
    out
}

/// The query of a `CREATE VIEW name AS query` statement (the text itself otherwise).
fn view_body(def: &str) -> String {
    static CREATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)^\s*create\s+(?:or\s+replace\s+)?view\s+\S+\s+as\s+(.*)$")
            .expect("static regex")
    });
    let body = CREATE
        .captures(def)
        .and_then(|c| c.get(1))
        .map_or(def, |m| m.as_str());
    body.trim().trim_end_matches(';').trim_end().to_string()
}

/// `pg_namespace`: the session's schemas and `pg_catalog`.
fn namespace_table(all_schemas: &[(String, String)]) -> Result<Arc<MemTable>> {
    let mut nsp: Vec<(i64, String)> = all_schemas
        .iter()
        .filter(|(c, _)| c == "datafusion")
        .map(|(_, s)| (namespace_oid(s, all_schemas), s.clone()))
        .collect();
    nsp.push((PG_CATALOG_OID, "pg_catalog".into()));
    let n = nsp.len();
    table(
        vec![
            ("oid", DataType::Int64),
            ("nspname", DataType::Utf8),
            ("nspowner", DataType::Int64),
            ("nspacl", DataType::Utf8),
        ],
        vec![
            i64s(nsp.iter().map(|n| n.0)),
            strings(nsp.iter().map(|n| n.1.as_str())),
            i64s(nsp.iter().map(|_| 10)),
            nulls(DataType::Utf8, n),
        ],
    )
}

/// `pg_type`: the types the result columns are given.
fn type_table() -> Result<Arc<MemTable>> {
    let n = TYPES.len();
    let ints = |f: &dyn Fn(&PgType) -> i64| -> ArrayRef { i64s(TYPES.iter().map(f)) };
    let texts = |f: &dyn Fn(&PgType) -> &'static str| -> ArrayRef { strings(TYPES.iter().map(f)) };
    table(
        vec![
            ("oid", DataType::Int64),
            ("typname", DataType::Utf8),
            ("typnamespace", DataType::Int64),
            ("typowner", DataType::Int64),
            ("typlen", DataType::Int16),
            ("typbyval", DataType::Boolean),
            ("typtype", DataType::Utf8),
            ("typcategory", DataType::Utf8),
            ("typispreferred", DataType::Boolean),
            ("typisdefined", DataType::Boolean),
            ("typdelim", DataType::Utf8),
            ("typrelid", DataType::Int64),
            ("typelem", DataType::Int64),
            ("typarray", DataType::Int64),
            ("typinput", DataType::Utf8),
            ("typoutput", DataType::Utf8),
            ("typnotnull", DataType::Boolean),
            ("typbasetype", DataType::Int64),
            ("typtypmod", DataType::Int32),
            ("typndims", DataType::Int32),
            ("typcollation", DataType::Int64),
            ("typdefault", DataType::Utf8),
        ],
        vec![
            ints(&|t| t.0),
            texts(&|t| t.1),
            ints(&|_| PG_CATALOG_OID),
            ints(&|_| 10),
            Arc::new(Int16Array::from_iter_values(TYPES.iter().map(|t| t.3))),
            Arc::new(BooleanArray::from_iter(TYPES.iter().map(|t| Some(t.3 > 0)))),
            texts(&|_| "b"),
            texts(&|t| t.4),
            bools(false, n),
            bools(true, n),
            texts(&|_| ","),
            ints(&|_| 0),
            ints(&|_| 0),
            ints(&|_| 0),
            texts(&|t| t.5),
            texts(&|t| t.5.trim_end_matches("in").trim_end_matches('_')),
            bools(false, n),
            ints(&|_| 0),
            Arc::new(Int32Array::from(vec![-1; n])),
            Arc::new(Int32Array::from(vec![0; n])),
            // text and varchar collate by the default collation (100).
            ints(&|t| if t.0 == 25 || t.0 == 1043 { 100 } else { 0 }),
            nulls(DataType::Utf8, n),
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
            ("datlocprovider", DataType::Utf8),
            ("datistemplate", DataType::Boolean),
            ("datallowconn", DataType::Boolean),
            ("datconnlimit", DataType::Int32),
            ("dattablespace", DataType::Int64),
            ("datcollate", DataType::Utf8),
            ("datctype", DataType::Utf8),
            ("datacl", DataType::Utf8),
        ],
        vec![
            i64s([16_383]),
            strings([DATABASE]),
            i64s([10]),
            Arc::new(Int32Array::from(vec![6])),
            strings(["c"]),
            bools(false, 1),
            bools(true, 1),
            Arc::new(Int32Array::from(vec![-1])),
            i64s([1663]),
            strings(["C"]),
            strings(["C"]),
            nulls(DataType::Utf8, 1),
        ],
    )
}

/// `pg_roles`: the one role, gaptrack's user, which may read and not write.
fn roles_table() -> Result<Arc<MemTable>> {
    let mut cols = vec![("oid", DataType::Int64), ("rolname", DataType::Utf8)];
    cols.extend(bool_columns(&[
        "rolsuper",
        "rolinherit",
        "rolcreaterole",
        "rolcreatedb",
        "rolcanlogin",
        "rolreplication",
        "rolbypassrls",
    ]));
    cols.extend([
        ("rolconnlimit", DataType::Int32),
        ("rolpassword", DataType::Utf8),
        ("rolvaliduntil", DataType::Utf8),
        ("rolconfig", DataType::Utf8),
    ]);
    table(
        cols,
        vec![
            i64s([10]),
            strings([super::auth::PG_USER]),
            bools(false, 1),
            bools(true, 1),
            bools(false, 1),
            bools(false, 1),
            bools(true, 1),
            bools(false, 1),
            bools(false, 1),
            Arc::new(Int32Array::from(vec![-1])),
            strings(["********"]),
            nulls(DataType::Utf8, 1),
            nulls(DataType::Utf8, 1),
        ],
    )
}

/// `pg_settings`: the settings `SHOW` answers.
fn settings_table() -> Result<Arc<MemTable>> {
    let rows: Vec<(&str, &str)> = super::pg_session::shown_settings()
        .iter()
        .filter(|(name, _)| !name.contains(' '))
        .copied()
        .collect();
    let n = rows.len();
    table(
        text_columns(&[
            "name",
            "setting",
            "unit",
            "category",
            "short_desc",
            "context",
            "vartype",
            "source",
            "boot_val",
            "reset_val",
        ]),
        vec![
            strings(rows.iter().map(|r| r.0)),
            strings(rows.iter().map(|r| r.1)),
            nulls(DataType::Utf8, n),
            strings(rows.iter().map(|_| "")),
            strings(rows.iter().map(|_| "")),
            strings(rows.iter().map(|_| "user")),
            strings(rows.iter().map(|_| "string")),
            strings(rows.iter().map(|_| "default")),
            strings(rows.iter().map(|r| r.1)),
            strings(rows.iter().map(|r| r.1)),
        ],
    )
}

/// `pg_tables`: the session's tables.
fn tables_table(rels: &[Relation]) -> Result<Arc<MemTable>> {
    let t: Vec<&Relation> = rels.iter().filter(|r| !r.view).collect();
    let n = t.len();
    let mut cols = text_columns(&["schemaname", "tablename", "tableowner", "tablespace"]);
    cols.extend(bool_columns(&[
        "hasindexes",
        "hasrules",
        "hastriggers",
        "rowsecurity",
    ]));
    table(
        cols,
        vec![
            strings(t.iter().map(|r| r.schema.as_str())),
            strings(t.iter().map(|r| r.name.as_str())),
            strings(t.iter().map(|_| super::auth::PG_USER)),
            nulls(DataType::Utf8, n),
            bools(false, n),
            bools(false, n),
            bools(false, n),
            bools(false, n),
        ],
    )
}

/// `pg_views`: the session's views, with their definitions where known.
fn views_table(rels: &[Relation], views: &HashMap<i64, String>) -> Result<Arc<MemTable>> {
    let v: Vec<(i64, &Relation)> = rels
        .iter()
        .enumerate()
        .filter(|(_, r)| r.view)
        .map(|(i, r)| (FIRST_OID + i as i64, r))
        .collect();
    table(
        text_columns(&["schemaname", "viewname", "viewowner", "definition"]),
        vec![
            strings(v.iter().map(|(_, r)| r.schema.as_str())),
            strings(v.iter().map(|(_, r)| r.name.as_str())),
            strings(v.iter().map(|_| super::auth::PG_USER)),
            Arc::new(StringArray::from_iter(
                v.iter().map(|(oid, _)| views.get(oid).map(String::as_str)),
            )),
        ],
    )
}

/// `information_schema.columns` with PostgreSQL's columns (`udt_name`, `is_identity`, …):
/// the columns of the session's tables and views.
fn columns_table(rels: &[Relation]) -> Result<Arc<MemTable>> {
    let mut rows: Vec<(&Relation, &Field, i32)> = Vec::new();
    for r in rels {
        for (j, f) in r.columns.fields().iter().enumerate() {
            rows.push((r, f.as_ref(), j as i32 + 1));
        }
    }
    let n = rows.len();
    let ty = |f: &Field| {
        let oid = super::pg_types::pg_type(f.data_type()).oid() as i64;
        pg_type_of(oid).copied().unwrap_or(TYPES[4])
    };
    let texts = |f: &dyn Fn(&(&Relation, &Field, i32)) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    table(
        vec![
            ("table_catalog", DataType::Utf8),
            ("table_schema", DataType::Utf8),
            ("table_name", DataType::Utf8),
            ("column_name", DataType::Utf8),
            ("ordinal_position", DataType::Int32),
            ("column_default", DataType::Utf8),
            ("is_nullable", DataType::Utf8),
            ("data_type", DataType::Utf8),
            ("character_maximum_length", DataType::Int32),
            ("numeric_precision", DataType::Int32),
            ("numeric_scale", DataType::Int32),
            ("udt_catalog", DataType::Utf8),
            ("udt_schema", DataType::Utf8),
            ("udt_name", DataType::Utf8),
            ("is_identity", DataType::Utf8),
            ("is_generated", DataType::Utf8),
            ("is_updatable", DataType::Utf8),
        ],
        vec![
            texts(&|_| DATABASE.into()),
            texts(&|r| r.0.schema.clone()),
            texts(&|r| r.0.name.clone()),
            texts(&|r| r.1.name().clone()),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.2))),
            nulls(DataType::Utf8, n),
            texts(&|r| if r.1.is_nullable() { "YES" } else { "NO" }.into()),
            texts(&|r| ty(r.1).2.into()),
            nulls(DataType::Int32, n),
            nulls(DataType::Int32, n),
            nulls(DataType::Int32, n),
            texts(&|_| DATABASE.into()),
            texts(&|_| "pg_catalog".into()),
            texts(&|r| ty(r.1).1.into()),
            texts(&|_| "NO".into()),
            texts(&|_| "NEVER".into()),
            texts(&|_| "NO".into()),
        ],
    )
}

fn class_table(rels: &[Relation], all: &[(String, String)]) -> Result<Arc<MemTable>> {
    let n = rels.len();
    let ints = |f: &dyn Fn(usize, &Relation) -> i64| -> ArrayRef {
        i64s(rels.iter().enumerate().map(|(i, r)| f(i, r)))
    };
    let mut cols = vec![
        ("oid", DataType::Int64),
        ("relname", DataType::Utf8),
        ("relnamespace", DataType::Int64),
        ("reltype", DataType::Int64),
        ("reloftype", DataType::Int64),
        ("relowner", DataType::Int64),
        ("relam", DataType::Int64),
        ("reltablespace", DataType::Int64),
        ("reltoastrelid", DataType::Int64),
        ("relkind", DataType::Utf8),
        ("relpersistence", DataType::Utf8),
        ("relreplident", DataType::Utf8),
        ("relnatts", DataType::Int16),
        ("relchecks", DataType::Int16),
        ("relpages", DataType::Int32),
        ("reltuples", DataType::Float32),
    ];
    cols.extend(bool_columns(&[
        "relhasindex",
        "relisshared",
        "relhasrules",
        "relhastriggers",
        "relhassubclass",
        "relrowsecurity",
        "relforcerowsecurity",
        "relispartition",
    ]));
    cols.extend(text_columns(&["reloptions", "relacl", "relpartbound"]));
    let mut data = vec![
        ints(&|i, _| FIRST_OID + i as i64),
        strings(rels.iter().map(|r| r.name.as_str())),
        ints(&|_, r| namespace_oid(&r.schema, all)),
        ints(&|_, _| 0),
        ints(&|_, _| 0),
        ints(&|_, _| 10),
        ints(&|_, r| if r.view { 0 } else { 2 }),
        ints(&|_, _| 0),
        ints(&|_, _| 0),
        strings(rels.iter().map(|r| if r.view { "v" } else { "r" })),
        strings(rels.iter().map(|_| "p")),
        strings(rels.iter().map(|_| "d")),
        Arc::new(Int16Array::from_iter_values(
            rels.iter().map(|r| r.columns.fields().len() as i16),
        )),
        Arc::new(Int16Array::from(vec![0i16; n])),
        Arc::new(Int32Array::from(vec![0; n])),
        // -1: never analyzed, the row count unknown.
        Arc::new(Float32Array::from(vec![-1.0; n])),
    ];
    data.extend((0..8).map(|_| bools(false, n)));
    data.extend((0..3).map(|_| nulls(DataType::Utf8, n)));
    table(cols, data)
}

fn attribute_table(rels: &[Relation]) -> Result<Arc<MemTable>> {
    let mut relid = Vec::new();
    let mut name = Vec::new();
    let mut typid = Vec::new();
    let mut len = Vec::new();
    let mut num = Vec::new();
    let mut notnull = Vec::new();
    for (i, r) in rels.iter().enumerate() {
        for (j, f) in r.columns.fields().iter().enumerate() {
            let oid = super::pg_types::pg_type(f.data_type()).oid() as i64;
            relid.push(FIRST_OID + i as i64);
            name.push(f.name().clone());
            typid.push(oid);
            len.push(pg_type_of(oid).map_or(-1, |t| t.3));
            num.push(j as i16 + 1);
            notnull.push(!f.is_nullable());
        }
    }
    let n = relid.len();
    let mut cols = vec![
        ("attrelid", DataType::Int64),
        ("attname", DataType::Utf8),
        ("atttypid", DataType::Int64),
        ("attlen", DataType::Int16),
        ("attnum", DataType::Int16),
        ("attndims", DataType::Int32),
        ("atttypmod", DataType::Int32),
        ("attnotnull", DataType::Boolean),
        ("attisdropped", DataType::Boolean),
        ("atthasdef", DataType::Boolean),
        ("attislocal", DataType::Boolean),
        ("attinhcount", DataType::Int32),
        ("attcollation", DataType::Int64),
    ];
    cols.extend(text_columns(&[
        "attidentity",
        "attgenerated",
        "attacl",
        "attoptions",
        "attfdwoptions",
    ]));
    table(
        cols,
        vec![
            Arc::new(Int64Array::from(relid)),
            Arc::new(StringArray::from(name)),
            Arc::new(Int64Array::from(typid)),
            Arc::new(Int16Array::from(len)),
            Arc::new(Int16Array::from(num)),
            Arc::new(Int32Array::from(vec![0; n])),
            Arc::new(Int32Array::from(vec![-1; n])),
            Arc::new(BooleanArray::from(notnull)),
            bools(false, n),
            bools(false, n),
            bools(true, n),
            Arc::new(Int32Array::from(vec![0; n])),
            i64s(vec![0; n]),
            strings(vec![""; n]),
            strings(vec![""; n]),
            nulls(DataType::Utf8, n),
            nulls(DataType::Utf8, n),
            nulls(DataType::Utf8, n),
        ],
    )
}

/// `pg_get_keywords()`: the words the SQL parser knows, reserved where they cannot be a
/// column alias.
#[derive(Debug)]
struct Keywords;

impl TableFunctionImpl for Keywords {
    fn call_with_args(
        &self,
        _args: TableFunctionArgs,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        use datafusion::sql::sqlparser::keywords::{ALL_KEYWORDS, RESERVED_FOR_COLUMN_ALIAS};
        let reserved: HashSet<String> = RESERVED_FOR_COLUMN_ALIAS
            .iter()
            .map(|k| format!("{k:?}").to_ascii_lowercase())
            .collect();
        let words: Vec<String> = ALL_KEYWORDS
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let code = |w: &String| if reserved.contains(w) { "R" } else { "U" };
        let desc = |w: &String| {
            if reserved.contains(w) {
                "reserved"
            } else {
                "unreserved"
            }
        };
        Ok(df_table(
            text_columns(&["word", "catcode", "catdesc"]),
            vec![
                strings(words.iter().map(String::as_str)),
                strings(words.iter().map(code)),
                strings(words.iter().map(desc)),
            ],
        )?)
    }
}

type Body = dyn Fn(&[ArrayRef], usize) -> datafusion::error::Result<ArrayRef> + Send + Sync;

/// A PostgreSQL function taking any arguments, computed over whole columns.
struct PgFn {
    name: &'static str,
    signature: Signature,
    ret: DataType,
    body: Arc<Body>,
}

impl std::fmt::Debug for PgFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgFn({})", self.name)
    }
}

impl PartialEq for PgFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PgFn {}

impl Hash for PgFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for PgFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(self.ret.clone())
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if scalar { 1 } else { args.number_rows };
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<datafusion::error::Result<_>>()?;
        let out = (self.body)(&arrays, rows)?;
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        })
    }
}

fn pg_fn(
    name: &'static str,
    ret: DataType,
    body: impl Fn(&[ArrayRef], usize) -> datafusion::error::Result<ArrayRef> + Send + Sync + 'static,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(PgFn {
        name,
        signature: Signature::one_of(
            vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
            Volatility::Immutable,
        ),
        ret,
        body: Arc::new(body),
    })
}

/// A function whose value is the same on every row.
fn constant(name: &'static str, value: ScalarValue) -> ScalarUDF {
    let ret = value.data_type();
    pg_fn(name, ret, move |_, n| value.to_array_of_size(n))
}

/// Argument `i` as text (NULL where absent).
fn text_arg(args: &[ArrayRef], i: usize, n: usize) -> datafusion::error::Result<StringArray> {
    let a = match args.get(i) {
        Some(a) => arrow::compute::cast(a, &DataType::Utf8)?,
        None => new_null_array(&DataType::Utf8, n),
    };
    Ok(a.as_string::<i32>().clone())
}

/// Argument `i` as `int8` (NULL where absent).
fn int_arg(args: &[ArrayRef], i: usize, n: usize) -> datafusion::error::Result<Int64Array> {
    let a = match args.get(i) {
        Some(a) => arrow::compute::cast(a, &DataType::Int64)?,
        None => new_null_array(&DataType::Int64, n),
    };
    Ok(a.as_primitive::<Int64Type>().clone())
}

/// `current_schemas(implicit)`: the search path, with `pg_catalog` first when implicit
/// schemas are asked for.
fn current_schemas() -> ScalarUDF {
    let ret = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    pg_fn("current_schemas", ret, |args, n| {
        let implicit = arrow::compute::cast(&args[0], &DataType::Boolean)?;
        let implicit = implicit.as_boolean();
        let mut b = ListBuilder::new(StringBuilder::new());
        for i in 0..n {
            if implicit.is_valid(i) && implicit.value(i) {
                b.values().append_value("pg_catalog");
            }
            b.values().append_value("public");
            b.append(true);
        }
        Ok(Arc::new(b.finish()))
    })
}

/// `array_upper(array, 1)`: the last index of a one-based array, NULL if it is empty.
fn array_upper() -> ScalarUDF {
    pg_fn("array_upper", DataType::Int64, |args, n| {
        let dim = int_arg(args, 1, n)?;
        let lists = args[0].as_list::<i32>();
        let out: Int64Array = (0..n)
            .map(|i| {
                let len = lists.is_valid(i).then(|| lists.value_length(i) as i64);
                len.filter(|l| *l > 0 && dim.is_valid(i) && dim.value(i) == 1)
            })
            .collect();
        Ok(Arc::new(out))
    })
}

/// `has_*_privilege(…, privilege)`: gaptrack's user may read (`SELECT`, `USAGE`,
/// `CONNECT`) and not write.
fn privilege(name: &'static str) -> ScalarUDF {
    pg_fn(name, DataType::Boolean, |args, n| {
        let wanted = text_arg(args, args.len().saturating_sub(1), n)?;
        let out: BooleanArray = wanted
            .iter()
            .map(|p| {
                p.map(|p| {
                    let p = p.to_ascii_lowercase();
                    ["select", "usage", "connect"].iter().any(|r| p.contains(r))
                })
            })
            .collect();
        Ok(Arc::new(out))
    })
}

/// `format(fmt, …)` with `%s`, `%I` (identifier), `%L` (literal) and `%%`.
fn format_fn() -> ScalarUDF {
    pg_fn("format", DataType::Utf8, |args, n| {
        let texts = (0..args.len())
            .map(|i| text_arg(args, i, n))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        let out: StringArray = (0..n)
            .map(|row| {
                let value = |i: usize| {
                    texts
                        .get(i)
                        .filter(|a| a.is_valid(row))
                        .map(|a| a.value(row))
                };
                value(0).map(|fmt| format_row(fmt, &|i| value(i + 1)))
            })
            .collect();
        Ok(Arc::new(out))
    })
}

/// One row of `format`: `arg(i)` is the i-th value after the format.
fn format_row<'a>(fmt: &str, arg: &dyn Fn(usize) -> Option<&'a str>) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars.next();
        if spec == Some('%') {
            out.push('%');
            continue;
        }
        let v = arg(next);
        next += 1;
        match (spec, v) {
            (Some('I'), Some(v)) => out.push_str(&quote_ident(v)),
            (Some('L'), Some(v)) => out.push_str(&crate::sql::quote_lit(v)),
            (Some('L'), None) => out.push_str("NULL"),
            (_, v) => out.push_str(v.unwrap_or("")),
        }
    }
    out
}

/// An identifier, double-quoted unless it is lower-case letters, digits and `_`.
fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `regclass_oid(name)`: the oid `'name'::regclass` gives (NULL for an unknown name).
fn regclass_oid(known: Arc<Known>) -> ScalarUDF {
    pg_fn("regclass_oid", DataType::Int64, move |args, n| {
        let names = text_arg(args, 0, n)?;
        let out: Int64Array = names
            .iter()
            .map(|s| {
                let s = s?.replace('"', "");
                known
                    .oids
                    .get(&s)
                    .or_else(|| known.oids.get(&s.to_ascii_lowercase()))
                    .copied()
            })
            .collect();
        Ok(Arc::new(out))
    })
}

/// `pg_get_viewdef(oid [, pretty])`: the query of a view.
fn viewdef(known: Arc<Known>) -> ScalarUDF {
    pg_fn("pg_get_viewdef", DataType::Utf8, move |args, n| {
        let oids = int_arg(args, 0, n)?;
        let out: StringArray = oids
            .iter()
            .map(|o| o.and_then(|o| known.views.get(&o).map(String::as_str)))
            .collect();
        Ok(Arc::new(out))
    })
}

/// `_pg_expandarray(int2[])`: the (element, index) pairs of a key. gaptrack has no keys,
/// so it is only planned over the empty `pg_index` and `pg_constraint`: NULL.
fn expandarray() -> ScalarUDF {
    let ret = DataType::Struct(Fields::from(vec![
        Field::new("x", DataType::Int16, true),
        Field::new("n", DataType::Int32, true),
    ]));
    let t = ret.clone();
    pg_fn("_pg_expandarray", ret, move |_, n| {
        Ok(new_null_array(&t, n))
    })
}

/// `pg_table_is_visible`, `pg_get_userbyid`, `format_type`, and the other functions of
/// `pg_catalog` clients call.
fn register_functions(ctx: &SessionContext, known: Arc<Known>) {
    let seen = known.clone();
    let visible = create_udf(
        "pg_table_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            // Visible where the search path (public) finds it: the relations of public.
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let oids = arrays[0].as_primitive::<Int64Type>();
            let visible: BooleanArray = oids
                .iter()
                .map(|o| o.map(|o| seen.visible.contains(&o)))
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
            let oids = arrays[0].as_primitive::<Int64Type>();
            let names: StringArray = oids
                .iter()
                .map(|o| o.and_then(pg_type_of).map(|t| t.2))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(names)))
        }),
    );
    for f in [visible, owner, format_type] {
        ctx.register_udf(f);
    }
    for f in more_functions(known) {
        ctx.register_udf(f);
    }
}

/// The session functions, descriptions and privileges.
fn more_functions(known: Arc<Known>) -> Vec<ScalarUDF> {
    let text = |s: &str| ScalarValue::Utf8(Some(s.to_string()));
    let none = ScalarValue::Utf8(None);
    let user = super::auth::PG_USER;
    let mut out = vec![
        constant("current_database", text(DATABASE)),
        constant("current_catalog", text(DATABASE)),
        constant("current_schema", text("public")),
        constant("current_user", text(user)),
        constant("current_role", text(user)),
        constant("session_user", text(user)),
        // gaptrack keeps no defaults, partitions, comments or size accounting.
        constant("pg_get_expr", none.clone()),
        constant("pg_get_partkeydef", none.clone()),
        constant("col_description", none.clone()),
        constant("obj_description", none.clone()),
        constant("shobj_description", none),
        constant("pg_database_size", ScalarValue::Int64(None)),
        current_schemas(),
        array_upper(),
        format_fn(),
        expandarray(),
        regclass_oid(known.clone()),
        viewdef(known),
    ];
    for name in [
        "has_table_privilege",
        "has_any_column_privilege",
        "has_column_privilege",
        "has_schema_privilege",
        "has_database_privilege",
    ] {
        out.push(privilege(name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_quotes_identifiers_and_literals() {
        let args = ["public", "Gap Table", "it's"];
        let arg = |i: usize| args.get(i).copied();
        assert_eq!(
            format_row("%s.%I %L 100%%", &arg),
            "public.\"Gap Table\" 'it''s' 100%"
        );
        assert_eq!(format_row("%I.%I", &arg), "public.\"Gap Table\"");
    }

    #[test]
    fn a_view_definition_is_its_query() {
        assert_eq!(
            view_body("CREATE VIEW gaps AS SELECT a FROM t;"),
            "SELECT a FROM t"
        );
        assert_eq!(view_body("SELECT 1"), "SELECT 1");
    }
}

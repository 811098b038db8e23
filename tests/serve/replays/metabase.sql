-- Replay corpus: SQL that Metabase's PostgreSQL driver sends when testing a connection and syncing database
-- gaptrack (tables and fields), for a PostgreSQL 16 server.
-- Repository: https://github.com/metabase/metabase  (licence: AGPL-3.0 for everything outside enterprise/;
--   LICENSE.txt: 'Outside of the top-level "enterprise" directory, source code ... is licensed under the AGPL.')
-- The repository is too large to clone here; files were read from a stored index, each at the commit it reports:
--   src/metabase/driver/postgres.clj                           @ 008fd6675457cdd62da2265628bed3b725a607ea
--   deps.edn                                                   @ 008fd6675457cdd62da2265628bed3b725a607ea
--       (org.postgresql/postgresql 42.7.7, com.github.seancorfield/honeysql 2.7.1340)
--   src/metabase/driver/sql_jdbc/execute.clj                   @ 0041072d8fccaf81c6fbc2982a78bd347f6acafd
--   src/metabase/driver/sql_jdbc/connection.clj                @ 003c3790a0ccacc317ee8db0301736ed79db60f3
--   src/metabase/driver/sql_jdbc/sync/describe_table.clj       @ 00c37c6669cda403ee73601d8d7c8b2926d3de42
--   src/metabase/driver/sql_jdbc/sync/describe_database.clj    (driver-api / have-privilege-fn version; commit not reported by the index)
--   src/metabase/driver/sql_jdbc.clj (driver/syncable-schemas, driver/can-connect?), src/metabase/sync/fetch_metadata.clj,
--   src/metabase/db/spec.clj (ApplicationName), src/metabase/config.clj: same-era versions, commit not reported by the index
--
-- Metabase builds most of this SQL with HoneySQL (sql/format ... :dialect :ansi). The HoneySQL forms of postgres.clj
-- @008fd667 were copied verbatim and rendered with HoneySQL from github seancorfield/honeysql develop @35545fac
-- (2.6.1196+, Oct 2024: 2.7.1340 itself was not available here). The rendered get-tables-sql matches, parameters
-- aside, a capture of a running Metabase's wire text found in public code, which supports the rendering.
-- HoneySQL emits '?' for every non-inline value; pgjdbc sends them as $1.. with types from setObject
-- (Long -> int8, String -> varchar). Below they are filled in as literals (0, '^pg_', 'public', ...).
-- Format: one statement per entry, each ended by a line holding only ';'. Text otherwise exactly as built;
-- a ';' that Metabase itself puts at the end of a statement is kept.
-- The pgjdbc-level statements use pgjdbc REL42.7.7 (see pgjdbc.sql section B).
-- Not listed: Connection.isValid() on every c3p0 checkout (testConnectionOnCheckout) sends an empty query string;
-- setReadOnly(true)/setAutoCommit(true)/setHoldability send nothing with pgjdbc defaults (readOnlyMode=transaction).
-- Not run for gaps: the per-table SELECT probe (describe-database/simple-select-probe-query) is only used for
-- FOREIGN TABLEs on Postgres, so it is not listed; describe-indexes-sql is disabled (#_:index-info in postgres.clj).
-- ApplicationName = config/mb-version-and-process-identifier = "Metabase <tag> [<process uuid>]"; the tag and uuid
-- below are illustrative.

-- ---------------------------------------------------------------------
-- 1. Test connection: driver/can-connect? :sql-jdbc -> sql-jdbc.conn/can-connect? (fresh unpooled connection)
-- ---------------------------------------------------------------------

-- pgjdbc 42.7.7 ConnectionFactoryImpl.runInitialQueries: ApplicationName from metabase.db.spec/spec :postgres
SET application_name = 'Metabase v0.56.0 [4d0a6bd5-8a1e-4e4a-9c1b-0d6c7e1f2a3b]'
;

-- metabase.driver.sql-jdbc.connection/can-connect-with-spec? (jdbc/query jdbc-spec ["SELECT 1"])
SELECT 1
;


-- ---------------------------------------------------------------------
-- 2. Sync. Every new pooled connection first gets the same 'SET application_name' as above. Every top-level
--    sql-jdbc.execute/do-with-connection-with-options checkout runs set-best-transaction-level! first
--    (nested checkouts inside one do not).
-- ---------------------------------------------------------------------

-- pgjdbc 42.7.7 ConnectionFactoryImpl.runInitialQueries (new pooled connection)
SET application_name = 'Metabase v0.56.0 [4d0a6bd5-8a1e-4e4a-9c1b-0d6c7e1f2a3b]'
;

-- sql-jdbc.execute/set-best-transaction-level! -> .setTransactionIsolation TRANSACTION_READ_UNCOMMITTED -> pgjdbc PgConnection.setTransactionIsolation
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- driver/db-default-timezone :postgres (sync-timezone)
show timezone;
;

-- sql-jdbc.execute/set-best-transaction-level! (checkout for driver/syncable-schemas)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- pgjdbc 42.7.7 PgConnection.getCatalog, first metadata call on this connection (driver/syncable-schemas :sql-jdbc -> filtered-syncable-schemas -> all-schemas -> DatabaseMetaData.getSchemas)
select current_catalog
;

-- pgjdbc 42.7.7 PgDatabaseMetaData.getSchemas() via describe-database/all-schemas (Metabase then drops information_schema, pg_catalog, metabase_cache*)
SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM"
;

-- sql-jdbc.execute/set-best-transaction-level! (checkout for describe-syncable-tables, driver/describe-database* :postgres)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- sql-jdbc.sync/current-user-table-privileges :postgres (describe-database/have-privilege-fn -> build-privilege-map; also run by the sync-table-privileges step)
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t
;

-- postgres.clj get-tables-sql / get-tables (describe-syncable-tables; syncable schemas = #{"public"}, table-names nil)
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC
;

-- postgres.clj enum-types (sql-jdbc.sync/describe-fields-pre-process-xf :postgres; jdbc/query on the pooled spec, no checkout options)
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)
;

-- sql-jdbc.execute/set-best-transaction-level! (checkout for sql-jdbc.execute/reducible-query)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- postgres.clj sql-jdbc.sync/describe-fields-sql :postgres, :schema-names ["public"] (sync-fields: fetch-metadata/fields-metadata :schema-names (sync-util/sync-schemas database))
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('public')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('public')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC
;

-- sql-jdbc.execute/set-best-transaction-level! (checkout for describe-fks reducible-query)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
;

-- postgres.clj sql-jdbc.sync/describe-fks-sql :postgres, :schema-names ["public"] (sync-fks for the database)
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ('public')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC
;


-- ---------------------------------------------------------------------
-- 3. Same functions, single-table variants (re-sync of one table / 'Sync table schema' for gaps)
-- ---------------------------------------------------------------------

-- postgres.clj get-tables-sql with table-names ["gaps"] (get-tables database ["public"] ["gaps"])
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) AND ("c"."relname" IN ('gaps')) ORDER BY "type" ASC, "schema" ASC, "name" ASC
;

-- postgres.clj describe-fields-sql, :table-names ["gaps"] :schema-names ["public"] (fetch-metadata/table-fields-metadata)
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('public')) AND ("c"."table_name" IN ('gaps')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('public')) AND ("pc"."relname" IN ('gaps')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC
;

-- postgres.clj describe-fks-sql, :schema-names ["public"] :table-names ["gaps"] (sync-fks-for-table!)
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_table"."relname" IN ('gaps')) AND ("fk_ns"."nspname" IN ('public')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC
;

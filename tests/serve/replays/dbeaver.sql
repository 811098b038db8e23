-- Replay corpus: SQL that DBeaver (Community, PostgreSQL plugin) sends when it connects to a PostgreSQL 16 server
-- and the user expands database gaptrack -> Schemas -> public -> Views/Tables -> gaps -> Columns.
-- Repository: https://github.com/dbeaver/dbeaver  (licence: Apache License 2.0)
-- Tag read: 24.2.3 = a0f387c68bc73dee96cbd01b0b09e8f892d773eb (snapshot HEAD 2428359b, 24.2.3-21, has no change to these files)
-- Files: plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java,
--        .../model/PostgreDatabase.java, .../model/PostgreSchema.java, .../model/PostgreExecutionContext.java,
--        .../model/PostgreDataTypeCache.java, .../model/PostgreViewBase.java, .../postgresql/PostgreUtils.java,
--        plugins/org.jkiss.dbeaver.model.jdbc/src/org/jkiss/dbeaver/model/impl/jdbc/{JDBCDataSource,JDBCExecutionContext,JDBCRemoteInstance,JDBCSQLDialect}.java,
--        plugins/org.jkiss.dbeaver.model/src/org/jkiss/dbeaver/model/DBUtils.java (client application name)
-- JDBC driver: DBeaver downloads maven:/org.postgresql:postgresql:RELEASE[42.7.2] (latest pgjdbc, 42.7.2 as fallback);
--   statements marked 'pgjdbc' are the driver's own (text from pgjdbc REL42.7.13, see pgjdbc.sql).
--
-- Format: one statement per entry, each ended by a line holding only ';'. Text exactly as built (DBeaver's '\n'
-- newlines kept). Values bound by DBeaver with setString/setLong are shown inline: on the wire they are $1..
-- parameters of an extended-protocol prepared statement (setString -> varchar, setLong -> int8).
-- Defaults assumed: connect to database gaptrack only ('Show all databases' off), auto-commit on, no bootstrap
-- queries, no default schema/role set in the connection, no navigator filters, separate metadata connection
-- (default), 'read all data types' off, not read-only. Server PostgreSQL 16 (branches >= 7.3, >= 10, >= 12 taken).
-- OIDs: DBeaver binds object OIDs it has just read: 2200 is the OID of schema public (fixed in PostgreSQL and in
-- this project's pg_catalog); 16384 stands for the OID the server returned for relation public.gaps.
-- Connection.isValid() keep-alive checks send an empty query string (pgjdbc), not listed.

-- ---------------------------------------------------------------------
-- 1. Main connection ('Main <gaptrack>'): PostgreDatabase(monitor, dataSource, "gaptrack") -> initializeMainContext
-- ---------------------------------------------------------------------

-- pgjdbc ConnectionFactoryImpl.runInitialQueries (DBeaver passes no ApplicationName property, so the driver default is set first)
SET application_name = 'PostgreSQL JDBC Driver'
;

-- PostgreDataSource.openConnection -> Connection.setClientInfo("ApplicationName", DBUtils.getClientApplicationName(container, context, purpose)) -> pgjdbc PgConnection.setClientInfo
SET application_name = 'DBeaver 24.2.3 - Main <gaptrack>'
;

-- PostgreExecutionContext.refreshDefaults (via PostgreDataSource.initializeContextState)
SELECT current_schema(),session_user
;

-- PostgreDatabase.SchemaCache.prepareLookupStatement (refreshDefaults pre-caches schemas: getDefaultCatalog().getSchemas)
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname
;

-- PostgreExecutionContext.refreshDefaults
SHOW search_path
;


-- ---------------------------------------------------------------------
-- 2. Metadata connection ('Metadata <gaptrack>'): PostgreDatabase.checkInstanceConnection -> initializeMetaContext
--    (schemas are already cached, so refreshDefaults does not re-read pg_namespace)
-- ---------------------------------------------------------------------

-- pgjdbc ConnectionFactoryImpl.runInitialQueries
SET application_name = 'PostgreSQL JDBC Driver'
;

-- PostgreDataSource.openConnection -> setClientInfo("ApplicationName", ...)
SET application_name = 'DBeaver 24.2.3 - Metadata <gaptrack>'
;

-- PostgreExecutionContext.refreshDefaults
SELECT current_schema(),session_user
;

-- PostgreExecutionContext.refreshDefaults
SHOW search_path
;


-- ---------------------------------------------------------------------
-- 3. Data source initialisation (PostgreDataSource.initializeRemoteInstance, then initialize)
-- ---------------------------------------------------------------------

-- PostgreDatabase.readDatabaseInfo (datname bound with setString)
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='gaptrack'
;

-- PostgreDataSource.SettingCache.prepareLookupStatement: initializeRemoteInstance preloads OPTION_STANDARD_CONFORMING_STRINGS (setString)
select * from pg_catalog.pg_settings where name='standard_conforming_strings'
;

-- pgjdbc PgDatabaseMetaData.getSQLKeywords, called by JDBCDataSource.initialize -> JDBCSQLDialect.initDriverSettings -> loadDriverKeywords
select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,catalog,catalog_name,ceil,ceiling,chain,char,char_length,character,character_length,character_set_catalog,character_set_name,character_set_schema,characteristics,characters,check,checked,class_origin,clob,close,coalesce,cobol,code_units,collate,collation,collation_catalog,collation_name,collation_schema,collect,column,column_name,command_function,command_function_code,commit,committed,condition,condition_number,connect,connection_name,constraint,constraint_catalog,constraint_name,constraint_schema,constraints,constructors,contains,continue,convert,corr,corresponding,count,covar_pop,covar_samp,create,cross,cube,cume_dist,current,current_collation,current_date,current_default_transform_group,current_path,current_role,current_time,current_timestamp,current_transform_group_for_type,current_user,cursor,cursor_name,cycle,data,date,datetime_interval_code,datetime_interval_precision,day,deallocate,dec,decimal,declare,default,defaults,deferrable,deferred,defined,definer,degree,delete,dense_rank,depth,deref,derived,desc,describe,descriptor,deterministic,diagnostics,disconnect,dispatch,distinct,domain,double,drop,dynamic,dynamic_function,dynamic_function_code,each,element,else,end,end-exec,equals,escape,every,except,exception,exclude,excluding,exec,execute,exists,exp,external,extract,false,fetch,filter,final,first,float,floor,following,for,foreign,fortran,found,free,from,full,function,fusion,g,general,get,global,go,goto,grant,granted,group,grouping,having,hierarchy,hold,hour,identity,immediate,implementation,in,including,increment,indicator,initially,inner,inout,input,insensitive,insert,instance,instantiable,int,integer,intersect,intersection,interval,into,invoker,is,isolation,join,k,key,key_member,key_type,language,large,last,lateral,leading,left,length,level,like,ln,local,localtime,localtimestamp,locator,lower,m,map,match,matched,max,maxvalue,member,merge,message_length,message_octet_length,message_text,method,min,minute,minvalue,mod,modifies,module,month,more,multiset,mumps,name,names,national,natural,nchar,nclob,nesting,new,next,no,none,normalize,normalized,not,"null",nullable,nullif,nulls,number,numeric,object,octet_length,octets,of,old,on,only,open,option,options,or,order,ordering,ordinality,others,out,outer,output,over,overlaps,overlay,overriding,pad,parameter,parameter_mode,parameter_name,parameter_ordinal_position,parameter_specific_catalog,parameter_specific_name,parameter_specific_schema,partial,partition,pascal,path,percent_rank,percentile_cont,percentile_disc,placing,pli,position,power,preceding,precision,prepare,preserve,primary,prior,privileges,procedure,public,range,rank,read,reads,real,recursive,ref,references,referencing,regr_avgx,regr_avgy,regr_count,regr_intercept,regr_r2,regr_slope,regr_sxx,regr_sxy,regr_syy,relative,release,repeatable,restart,result,return,returned_cardinality,returned_length,returned_octet_length,returned_sqlstate,returns,revoke,right,role,rollback,rollup,routine,routine_catalog,routine_name,routine_schema,row,row_count,row_number,rows,savepoint,scale,schema,schema_name,scope_catalog,scope_name,scope_schema,scroll,search,second,section,security,select,self,sensitive,sequence,serializable,server_name,session,session_user,set,sets,similar,simple,size,smallint,some,source,space,specific,specific_name,specifictype,sql,sqlexception,sqlstate,sqlwarning,sqrt,start,state,statement,static,stddev_pop,stddev_samp,structure,style,subclass_origin,submultiset,substring,sum,symmetric,system,system_user,table,table_name,tablesample,temporary,then,ties,time,timestamp,timezone_hour,timezone_minute,to,top_level_count,trailing,transaction,transaction_active,transactions_committed,transactions_rolled_back,transform,transforms,translate,translation,treat,trigger,trigger_catalog,trigger_name,trigger_schema,trim,true,type,uescape,unbounded,uncommitted,under,union,unique,unknown,unnamed,unnest,update,upper,usage,user,user_defined_type_catalog,user_defined_type_code,user_defined_type_name,user_defined_type_schema,using,value,values,var_pop,var_samp,varchar,varying,view,when,whenever,where,width_bucket,window,with,within,without,work,write,year,zone}'::text[])
;

-- PostgreDataSource.initialize
SELECT version()
;

-- PostgreDataSource.initialize (server >= 12): PostgreUtils.isMetaObjectExists(session, "pg_enum", "*") -> getQueryForSystemColumnChecking
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1
;

-- PostgreDataSource.initialize: PostgreUtils.isMetaObjectExists(session, "pg_class", "reltype")
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1
;

-- PostgreDatabase.cacheDataTypes (getDefaultInstance().cacheDataTypes(monitor, true)); server >= 10 so typcategory is assumed, readAllTypes=false
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
;

-- PostgreDatabase.EnumValueCache.prepareObjectsStatement (cacheDataTypes -> initEnumTypesCache; pg_enum exists)
SELECT * FROM pg_catalog.pg_enum
;


-- ---------------------------------------------------------------------
-- 4. Navigator: database gaptrack -> Schemas (already cached: no query) -> public -> Tables / Views
-- ---------------------------------------------------------------------

-- PostgreSchema.TableCache.prepareLookupStatement (all relations of schema public; c.relnamespace bound with setLong)
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c')
;

-- 5. Navigator: view gaps -> Columns

-- PostgreSchema.TableCache.prepareChildrenStatement(forTable = gaps) (c.oid bound with setLong)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=16384
ORDER BY a.attnum
;


-- ---------------------------------------------------------------------
-- 6. Same code paths, other common triggers / non-default settings
-- ---------------------------------------------------------------------

-- PostgreSchema.TableCache.prepareLookupStatement(objectName = "gaps") -- single-relation lookup (e.g. resolving public.gaps from the SQL editor)
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c') AND relname='gaps'
;

-- PostgreSchema.TableCache.prepareChildrenStatement(forTable = null) -- columns of every relation in the schema (structure caching / autocomplete)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=2200
ORDER BY a.attnum
;

-- PostgreDatabase.RoleCache.prepareObjectsStatement -- first time an object's Owner property is shown (PostgreTableBase/PostgreSchema.getOwner -> getRoleById)
SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a 
left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid
ORDER BY a.rolname
;

-- PostgreViewBase.getObjectDefinitionText -> fetchViewQueryResultIfItNull -- opening the view's Source/DDL tab
SELECT pg_get_viewdef(16384, true)
;

-- PostgreDataSource.SettingCache (no name) -- Database -> Administer -> Settings
select * from pg_catalog.pg_settings
;

-- 'Show all databases' on: PostgreDataSource.loadAvailableDatabases opens a bootstrap connection 'Read PostgreSQL database list'

-- pgjdbc ConnectionFactoryImpl.runInitialQueries (bootstrap connection)
SET application_name = 'PostgreSQL JDBC Driver'
;

-- PostgreDataSource.openConnection -> setClientInfo (context == null, purpose 'Read PostgreSQL database list')
SET application_name = 'DBeaver 24.2.3 - Read PostgreSQL database list'
;

-- PostgreDataSource.prepareReadDatabaseListStatement (show templates/unavailable off; db.datname bound with setString)
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate OR db.datname ='gaptrack'
ORDER BY db.datname
;

-- PostgreDataSource.collectObjectStatistics ('Show database statistics' on; one database, oid bound with setLong; 16385 stands for gaptrack's pg_database.oid)
SELECT db.datname,pg_database_size(db.oid) FROM pg_catalog.pg_database db WHERE db.oid=16385
;

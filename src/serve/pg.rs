//! The PostgreSQL wire protocol over the shared session: simple and extended queries,
//! the session statements clients send on connect, password login (user `gaptrack`).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, StreamExt};
use pgwire::api::auth::md5pass::{hash_md5_password, Md5PasswordAuthStartupHandler};
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DataRowEncoder, DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo,
    QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{NoopQueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::auth::{Secret, PG_USER};
use super::engine::Engine;
use super::{pg_session, pg_types};
use crate::error::Error;

/// The handlers of one server (shared by its connections).
pub struct PgServer {
    engine: Arc<Engine>,
    password: Option<Secret>,
    parser: Arc<NoopQueryParser>,
}

impl PgServer {
    pub fn new(engine: Arc<Engine>, password: Option<Secret>) -> PgServer {
        PgServer {
            engine,
            password,
            parser: Arc::new(NoopQueryParser::new()),
        }
    }
}

/// A gaptrack error as a PostgreSQL error (SQLSTATE by kind; the text redacted).
pub fn pg_error(e: Error) -> PgWireError {
    let code = match &e {
        Error::Query(m) if m.contains("read-only") => "25006",
        Error::Query(m) if m.contains("--query-timeout") => "57014",
        Error::Query(m) if m.contains("memory") => "53200",
        Error::Query(_) | Error::Usage(_) | Error::Invalid(_) => "42601",
        _ => "XX000",
    };
    let msg = crate::store::redact(&e.to_string());
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        msg,
    )))
}

fn user_error(code: &str, msg: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        msg.into(),
    )))
}

impl PgServer {
    /// Answers one statement: a session statement, or a query over the session.
    async fn answer<C: ClientInfo>(
        &self,
        client: &mut C,
        sql: &str,
        params: &[(String, String)],
        format: &Format,
    ) -> PgWireResult<Response> {
        tracing::debug!(event = "pg_statement", sql = %crate::store::redact(sql));
        if let Some(st) = pg_session::as_of_statement(sql) {
            return as_of_answer(client, st);
        }
        if let Some(r) = pg_session::session_statement(sql)? {
            return Ok(r);
        }
        let as_of = connection_as_of(client)?;
        let sql = pg_session::rewrite(sql);
        let (schema, rows) = self
            .engine
            .execute(&sql, params, as_of.as_ref())
            .await
            .map_err(pg_error)?;
        let fields = Arc::new(pg_types::fields(&schema, format));
        let out = fields.clone();
        let data = rows
            .map(move |b| match b {
                Ok(b) => pg_types::encode(&b, &out),
                Err(e) => vec![Err(pg_error(e))],
            })
            .flat_map(futures::stream::iter);
        Ok(Response::Query(QueryResponse::new(fields, data)))
    }

    /// The result columns and parameter types of a statement, without running it.
    async fn describe<C: ClientInfo>(
        &self,
        client: &C,
        sql: &str,
        format: &Format,
    ) -> PgWireResult<(Vec<Type>, Vec<FieldInfo>)> {
        match pg_session::as_of_statement(sql) {
            Some(pg_session::AsOfStatement::Show) => return Ok((vec![], vec![as_of_field()])),
            Some(_) => return Ok((vec![], vec![])),
            None => {}
        }
        if let Some(fields) = pg_session::session_statement_fields(sql) {
            return Ok((vec![], fields));
        }
        let as_of = connection_as_of(client)?;
        let sql = pg_session::rewrite(sql);
        let (schema, params) = self
            .engine
            .describe(&sql, as_of.as_ref())
            .await
            .map_err(pg_error)?;
        let types = params.iter().map(|(_, t)| pg_types::pg_type(t)).collect();
        Ok((types, pg_types::fields(&schema, format)))
    }
}

/// The version the connection reads (`gaptrack.as_of`), refused in words when it is
/// not a version or a time.
fn connection_as_of<C: ClientInfo>(client: &C) -> PgWireResult<Option<crate::sql::AsOf>> {
    pg_session::connection_as_of(client.metadata())
        .map_err(|m| user_error("22023", format!("{}: {m}", pg_session::AS_OF)))
}

/// The one column of `SHOW gaptrack.as_of`.
fn as_of_field() -> FieldInfo {
    FieldInfo::new(
        pg_session::AS_OF.to_string(),
        None,
        None,
        Type::TEXT,
        FieldFormat::Text,
    )
}

/// `SET`, `RESET` or `SHOW` of the connection's version. A value that is not a version
/// or a time is refused at once; a version the store does not have, at the next query.
fn as_of_answer<C: ClientInfo>(
    client: &mut C,
    st: pg_session::AsOfStatement,
) -> PgWireResult<Response> {
    use pg_session::AsOfStatement;
    match st {
        AsOfStatement::Set(v) => {
            crate::sql::AsOf::parse(&v)
                .map_err(|m| user_error("22023", format!("{}: {m}", pg_session::AS_OF)))?;
            client
                .metadata_mut()
                .insert(pg_session::AS_OF.to_string(), v);
            Ok(Response::Execution(Tag::new("SET")))
        }
        AsOfStatement::Reset => {
            // Empty: the server's version, whatever the startup options said.
            client
                .metadata_mut()
                .insert(pg_session::AS_OF.to_string(), String::new());
            Ok(Response::Execution(Tag::new("RESET")))
        }
        AsOfStatement::Show => {
            let value = match connection_as_of(client)? {
                None => "latest".to_string(),
                Some(crate::sql::AsOf::Version(v)) => v.to_string(),
                Some(crate::sql::AsOf::Time(t)) => t.to_rfc3339(),
            };
            let fields = Arc::new(vec![as_of_field()]);
            let mut enc = DataRowEncoder::new(fields.clone());
            enc.encode_field(&value)?;
            let row = enc.take_row();
            Ok(Response::Query(QueryResponse::new(
                fields,
                futures::stream::iter(vec![Ok(row)]),
            )))
        }
    }
}

/// The parameters of a bound portal as `$1`, `$2`, … text.
fn portal_params(portal: &Portal<String>) -> PgWireResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for i in 0..portal.parameter_len() {
        let ty = portal
            .statement
            .parameter_types
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or(Type::UNKNOWN);
        let Some(raw) = portal.parameters.get(i).cloned().flatten() else {
            continue;
        };
        let text = if portal.parameter_format.is_binary(i) {
            pg_types::binary_param(&raw, &ty)?
        } else {
            String::from_utf8(raw.to_vec())
                .map_err(|_| user_error("22021", format!("parameter ${} is not UTF-8", i + 1)))?
        };
        out.push(((i + 1).to_string(), text));
    }
    Ok(out)
}

#[async_trait]
impl SimpleQueryHandler for PgServer {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut out = Vec::new();
        for statement in pg_session::split(query) {
            match self
                .answer(client, &statement, &[], &Format::UnifiedText)
                .await
            {
                Ok(r) => out.push(r),
                Err(PgWireError::UserError(e)) => {
                    out.push(Response::Error(e));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl ExtendedQueryHandler for PgServer {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let params = portal_params(portal)?;
        self.answer(
            client,
            &portal.statement.statement,
            &params,
            &portal.result_column_format,
        )
        .await
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (mut types, fields) = self
            .describe(client, &target.statement, &Format::UnifiedBinary)
            .await?;
        // Types the client gave when it prepared the statement win.
        for (i, t) in target.parameter_types.iter().enumerate() {
            match (t, types.get_mut(i)) {
                (Some(t), Some(slot)) if *t != Type::UNKNOWN => *slot = t.clone(),
                _ => {}
            }
        }
        Ok(DescribeStatementResponse::new(types, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (_, fields) = self
            .describe(
                client,
                &portal.statement.statement,
                &portal.result_column_format,
            )
            .await?;
        Ok(DescribePortalResponse::new(fields))
    }
}

/// The password of user `gaptrack`, for MD5 login.
#[derive(Debug)]
struct PasswordSource(Secret);

#[async_trait]
impl AuthSource for PasswordSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        if login.user() != Some(PG_USER) {
            return Err(user_error(
                "28P01",
                format!("password authentication failed: the user is {PG_USER}"),
            ));
        }
        let salt = salt();
        let hash = hash_md5_password(PG_USER, self.0.expose(), &salt);
        Ok(Password::new(Some(salt.to_vec()), hash.as_bytes().to_vec()))
    }
}

/// Four unpredictable bytes for one login.
fn salt() -> [u8; 4] {
    use sha2::Digest;
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let d = sha2::Sha256::digest(h.finish().to_le_bytes());
    [d[0], d[1], d[2], d[3]]
}

/// No login (loopback without a password).
struct NoLogin;
impl NoopStartupHandler for NoLogin {}

/// The handlers of one connection.
pub struct Handlers {
    pub server: Arc<PgServer>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.server.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.server.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(Startup {
            md5: self.server.password.clone().map(|p| {
                Md5PasswordAuthStartupHandler::new(
                    Arc::new(PasswordSource(p)),
                    Arc::new(DefaultServerParameterProvider::default()),
                )
            }),
        })
    }
}

/// MD5 login where a password is set, none otherwise.
struct Startup {
    md5: Option<Md5PasswordAuthStartupHandler<PasswordSource, DefaultServerParameterProvider>>,
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match &self.md5 {
            Some(h) => h.on_startup(client, message).await,
            None => NoLogin.on_startup(client, message).await,
        }
    }
}

//! Arrow Flight SQL over the shared session: statements, prepared statements with
//! parameters, and the metadata calls clients make on connect.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt,
    SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use super::engine::Engine;
use super::relations;
use crate::error::Error;
use crate::sql::AsOf;

/// Prepared statements kept at most (the oldest is dropped past this).
const MAX_PREPARED: usize = 10_000;

#[derive(Clone)]
struct Prepared {
    sql: String,
    params: Vec<(String, String)>,
}

/// The Flight SQL service.
pub struct FlightSql {
    engine: Arc<Engine>,
    prepared: Mutex<(u64, BTreeMap<u64, Prepared>)>,
    info: SqlInfoData,
}

type DoGetStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;

/// A gaptrack error as a gRPC status (its text redacted like every message).
pub fn status(e: Error) -> Status {
    let msg = crate::store::redact(&e.to_string());
    match e {
        Error::Query(_) | Error::Usage(_) | Error::Invalid(_) => Status::invalid_argument(msg),
        Error::Conflict(_) => Status::aborted(msg),
        _ => Status::internal(msg),
    }
}

/// The types every Arrow reader knows: view types become their plain forms.
pub fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, v) => plain_type(v),
        other => other.clone(),
    }
}

pub fn plain_schema(s: &Schema) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        s.fields()
            .iter()
            .map(|f| Field::new(f.name(), plain_type(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
        s.metadata().clone(),
    ))
}

fn plain_batch(schema: &SchemaRef, b: RecordBatch) -> Result<RecordBatch, FlightError> {
    let cols = b
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

impl FlightSql {
    pub fn new(engine: Arc<Engine>) -> FlightSql {
        let mut b = SqlInfoDataBuilder::new();
        b.append(SqlInfo::FlightSqlServerName, "gaptrack");
        b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
        b.append(SqlInfo::FlightSqlServerReadOnly, true);
        b.append(SqlInfo::FlightSqlServerSql, true);
        b.append(SqlInfo::FlightSqlServerSubstrait, false);
        b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
        b.append(SqlInfo::FlightSqlServerCancel, false);
        b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        let info = b.build().expect("static SQL info");
        FlightSql {
            engine,
            prepared: Mutex::new((0, BTreeMap::new())),
            info,
        }
    }

    fn prepared(&self, handle: &[u8]) -> Result<Prepared, Status> {
        let id = std::str::from_utf8(handle)
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let map = self.prepared.lock().map_err(|_| Status::internal("lock"))?;
        id.and_then(|id| map.1.get(&id).cloned()).ok_or_else(|| {
            Status::not_found("no such prepared statement (closed, or the server restarted)")
        })
    }

    /// The schema a statement's rows will have, and a FlightInfo that fetches them.
    async fn info_for(
        &self,
        sql: &str,
        params: &[(String, String)],
        ticket: Vec<u8>,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let as_of = as_of_header(&request)?;
        let descriptor = request.into_inner();
        let schema = self
            .engine
            .schema(sql, params, as_of.as_ref())
            .await
            .map_err(status)?;
        let schema = plain_schema(&schema);
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[(String, String)],
        as_of: Option<AsOf>,
    ) -> Result<DoGetStream, Status> {
        let (schema, rows) = self
            .engine
            .execute(sql, params, as_of.as_ref())
            .await
            .map_err(status)?;
        let schema = plain_schema(&schema);
        let out = schema.clone();
        let batches = rows.map(move |r| match r {
            Ok(b) => plain_batch(&out, b),
            Err(e) => Err(FlightError::Tonic(Box::new(status(e)))),
        });
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from);
        Ok(Box::pin(stream))
    }

    fn one_batch(schema: SchemaRef, batch: Result<RecordBatch, FlightError>) -> DoGetStream {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { batch }))
            .map_err(Status::from);
        Box::pin(stream)
    }

    fn metadata_info<M: ProstMessageExt>(
        cmd: &M,
        schema: &Schema,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = Ticket::new(cmd.as_any().encode_to_vec());
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }
}

/// The values of a parameter batch's first row as `$1`, `$2`, … text.
async fn bind_params(stream: PeekableFlightDataStream) -> Result<Vec<(String, String)>, Status> {
    // The first message (the one that named the statement) carries the parameters' schema.
    let batches: Vec<RecordBatch> =
        arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(
            stream.map_err(FlightError::from),
        )
        .try_collect()
        .await
        .map_err(|e| Status::invalid_argument(format!("reading the parameters: {e}")))?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > 1 {
        return Err(Status::invalid_argument(
            "one row of parameters at a time: gaptrack runs each statement once",
        ));
    }
    let mut params = Vec::new();
    if let Some(b) = batches.iter().find(|b| b.num_rows() == 1) {
        for (i, col) in b.columns().iter().enumerate() {
            if col.is_null(0) {
                continue;
            }
            let v = arrow::util::display::array_value_to_string(col, 0)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            params.push(((i + 1).to_string(), v));
        }
    }
    Ok(params)
}

#[tonic::async_trait]
impl FlightSqlService for FlightSql {
    type FlightService = FlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        // The credentials were checked before this call; a client that logs in with a
        // user and password gets the bearer token it then sends.
        let token = super::auth::handshake_token(request.metadata());
        let out = futures::stream::iter(vec![Ok(HandshakeResponse {
            protocol_version: 0,
            payload: Default::default(),
        })]);
        let mut resp: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(out));
        if let Some(t) = token {
            resp.metadata_mut().insert("authorization", t);
        }
        Ok(resp)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = TicketStatementQuery {
            statement_handle: query.query.clone().into_bytes().into(),
        };
        self.info_for(&query.query, &[], ticket.as_any().encode_to_vec(), request)
            .await
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let p = self.prepared(&cmd.prepared_statement_handle)?;
        self.info_for(&p.sql, &p.params, cmd.as_any().encode_to_vec(), request)
            .await
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let sql = String::from_utf8(ticket.statement_handle.to_vec())
            .map_err(|_| Status::invalid_argument("the ticket is not a statement"))?;
        let as_of = as_of_header(&request)?;
        Ok(Response::new(self.rows(&sql, &[], as_of).await?))
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let p = self.prepared(&cmd.prepared_statement_handle)?;
        let as_of = as_of_header(&request)?;
        Ok(Response::new(self.rows(&p.sql, &p.params, as_of).await?))
    }

    async fn do_put_prepared_statement_query(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let handle = cmd.prepared_statement_handle.clone();
        self.prepared(&handle)?;
        let params = bind_params(request.into_inner()).await?;
        let id = std::str::from_utf8(&handle)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        let mut map = self.prepared.lock().map_err(|_| Status::internal("lock"))?;
        if let Some(p) = map.1.get_mut(&id) {
            p.params = params;
        }
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle),
        })
    }

    async fn do_put_statement_update(
        &self,
        cmd: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        // Whatever it is, it is refused: by its kind where it writes.
        match self.engine.describe(&cmd.query, None).await {
            Err(e) => Err(status(e)),
            Ok(_) => Err(Status::invalid_argument(
                "gaptrack serve is read-only: run queries as queries, not updates",
            )),
        }
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let as_of = as_of_header(&request)?;
        let (schema, params) = self
            .engine
            .describe(&query.query, as_of.as_ref())
            .await
            .map_err(status)?;
        let options = arrow::ipc::writer::IpcWriteOptions::default();
        let encode = |s: &Schema| -> Result<bytes::Bytes, Status> {
            let IpcMessage(b) = SchemaAsIpc::new(s, &options)
                .try_into()
                .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
            Ok(b)
        };
        let param_schema = Schema::new(
            params
                .iter()
                .map(|(k, t)| Field::new(k, plain_type(t), true))
                .collect::<Vec<_>>(),
        );
        let dataset_schema = encode(&plain_schema(&schema))?;
        let parameter_schema = encode(&param_schema)?;
        let mut map = self.prepared.lock().map_err(|_| Status::internal("lock"))?;
        map.0 += 1;
        let id = map.0;
        map.1.insert(
            id,
            Prepared {
                sql: query.query,
                params: Vec::new(),
            },
        );
        while map.1.len() > MAX_PREPARED {
            map.1.pop_first();
        }
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: id.to_string().into_bytes().into(),
            dataset_schema,
            parameter_schema,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        if let Some(id) = std::str::from_utf8(&query.prepared_statement_handle)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            if let Ok(mut map) = self.prepared.lock() {
                map.1.remove(&id);
            }
        }
        Ok(())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&self.info).schema();
        Self::metadata_info(&query, &schema, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let b = query.into_builder(&self.info);
        Ok(Response::new(Self::one_batch(b.schema(), b.build())))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::metadata_info(&query, &schema, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let cur = self.engine.session().await.map_err(status)?;
        let mut b = query.into_builder();
        let mut names = cur.session.ctx.catalog_names();
        names.sort();
        for c in names {
            b.append(c);
        }
        Ok(Response::new(Self::one_batch(b.schema(), b.build())))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::metadata_info(&query, &schema, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let cur = self.engine.session().await.map_err(status)?;
        let mut b = query.into_builder();
        for (c, s) in relations::schemas(&cur.session) {
            b.append(c, s);
        }
        Ok(Response::new(Self::one_batch(b.schema(), b.build())))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::metadata_info(&query, &schema, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let cur = self.engine.session().await.map_err(status)?;
        let list = relations::list(&cur.session)
            .await
            .map_err(|e| status(e.into()))?;
        let mut b = query.into_builder();
        for r in list {
            let kind = if r.view { "VIEW" } else { "TABLE" };
            b.append(
                &r.catalog,
                &r.schema,
                &r.name,
                kind,
                &plain_schema(&r.columns),
            )
            .map_err(|e| Status::internal(e.to_string()))?;
        }
        Ok(Response::new(Self::one_batch(b.schema(), b.build())))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::metadata_info(&query, &schema, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut b = query.into_builder();
        b.append("TABLE");
        b.append("VIEW");
        Ok(Response::new(Self::one_batch(b.schema(), b.build())))
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Err(Status::unimplemented(format!(
            "gaptrack does not answer {}",
            message.type_url
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// The header a client picks the store's version with (every call of a connection
/// carries it; e.g. ADBC's `adbc.flight.sql.rpc.call_header.x-gaptrack-as-of`).
pub const AS_OF_HEADER: &str = "x-gaptrack-as-of";

/// The version a call asks for in its `x-gaptrack-as-of` header, if any.
fn as_of_header<T>(request: &Request<T>) -> Result<Option<AsOf>, Status> {
    let Some(v) = request.metadata().get(AS_OF_HEADER) else {
        return Ok(None);
    };
    let text = v
        .to_str()
        .map_err(|_| Status::invalid_argument(format!("{AS_OF_HEADER} is not text")))?;
    AsOf::parse(text)
        .map(Some)
        .map_err(|m| Status::invalid_argument(format!("{AS_OF_HEADER}: {m}")))
}

"""Real clients of `gaptrack serve`, for tests/it/serve.rs.

Reads a JSON request on stdin:
  {"flight": "grpc://127.0.0.1:PORT" | null, "token": str | null,
   "pg": "postgresql://..." | null, "as_of": str | null, "tls_root": PEM path | null,
   "queries": [{"sql": "...", "params": [...]}]}
and runs every query with ADBC Flight SQL (adbc-driver-flightsql + pyarrow) and with
psycopg 3 (PostgreSQL wire, server-side parameters), printing
  {"flight": [RESULT...], "pg": [RESULT...]}
where RESULT is {"rows": [{column: value}...], "columns": [...]} or {"error": "..."}.
Null values are left out of a row (as `gaptrack query --format json` does); dates and
times are ISO 8601 text.
"""

import datetime
import decimal
import json
import sys


def plain(v):
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def rows_of(columns, tuples):
    out = []
    for t in tuples:
        out.append({c: plain(v) for c, v in zip(columns, t) if v is not None})
    return out


def run_flight(uri, token, queries, as_of=None, tls_root=None):
    import adbc_driver_flightsql.dbapi as flight_sql

    db_kwargs = {}
    if token is not None:
        db_kwargs["adbc.flight.sql.authorization_header"] = "Bearer " + token
    if as_of is not None:
        # A header on every call of the connection picks the store's version.
        db_kwargs["adbc.flight.sql.rpc.call_header.x-gaptrack-as-of"] = as_of
    if tls_root is not None:
        # The server's own (self-signed) certificate as the only trusted root.
        with open(tls_root) as f:
            db_kwargs["adbc.flight.sql.client_option.tls_root_certs"] = f.read()
    kwargs = {"db_kwargs": db_kwargs} if db_kwargs else {}
    results = []
    try:
        conn = flight_sql.connect(uri, **kwargs)
    except Exception as e:  # noqa: BLE001 - the error is the answer
        return [{"error": str(e)} for _ in queries]
    with conn:
        for q in queries:
            cur = conn.cursor()
            try:
                params = q.get("params") or None
                cur.execute(q["sql"], parameters=tuple(params) if params else None)
                table = cur.fetch_arrow_table()
                cols = table.column_names
                res = {"columns": cols, "rows": rows_of(cols, zip(*[table.column(c).to_pylist() for c in cols]))}
                res["types"] = [str(f.type) for f in table.schema]
                if params:
                    # The prepared statement's schema, as the server announced it.
                    cur.adbc_prepare(q["sql"])
                results.append(res)
            except Exception as e:  # noqa: BLE001
                results.append({"error": str(e)})
            finally:
                cur.close()
    return results


def run_pg(dsn, queries, as_of=None):
    import psycopg

    results = []
    try:
        # The startup option picks the store's version for the whole connection.
        options = {"options": "-c gaptrack.as_of=" + as_of} if as_of is not None else {}
        conn = psycopg.connect(dsn, autocommit=False, **options)
    except Exception as e:  # noqa: BLE001
        return [{"error": str(e)} for _ in queries]
    with conn:
        for q in queries:
            try:
                with conn.cursor() as cur:
                    params = q.get("params") or None
                    sql = q["sql"]
                    if params:
                        for i in range(len(params), 0, -1):
                            sql = sql.replace("$%d" % i, "%s")
                    cur.execute(sql, params)
                    if cur.description is None:
                        results.append({"status": cur.statusmessage})
                        continue
                    cols = [d.name for d in cur.description]
                    results.append({"columns": cols, "rows": rows_of(cols, cur.fetchall())})
            except Exception as e:  # noqa: BLE001
                conn.rollback()
                results.append({"error": str(e)})
    return results


def main():
    req = json.load(sys.stdin)
    out = {}
    if req.get("flight"):
        out["flight"] = run_flight(req["flight"], req.get("token"), req["queries"], req.get("as_of"),
                                   req.get("tls_root"))
    if req.get("pg"):
        out["pg"] = run_pg(req["pg"], req["queries"], req.get("as_of"))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

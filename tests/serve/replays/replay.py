"""Replays the catalog statements of real PostgreSQL clients, for tests/it/serve.rs.

Reads a JSON request on stdin:
  {"dsn": "host=... port=... user=gaptrack dbname=gaptrack", "files": [path...]}
Every entry of a file (text up to a line holding only ';', its '-- ' comment lines left
out) is run on a fresh autocommit connection with psycopg 3, twice: over the extended
protocol (unnamed statement, prepare=False) and over the simple protocol. Prints
  {"results": [{"file": name, "index": i, "sql": text,
                "extended": RESULT, "simple": RESULT}...]}
where RESULT is {"columns": [...], "rows": [[value...]...]} (values as JSON, other values
as text) or {"error": "..."}.
"""

import json
import os
import re
import sys

import psycopg


def entries(path):
    text = open(path, encoding="utf-8").read()
    for part in re.split(r"^;\s*$", text, flags=re.M):
        lines = [l for l in part.splitlines() if not l.strip().startswith("--")]
        sql = "\n".join(lines).strip()
        if sql:
            yield sql


def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return str(v)


def run(dsn, sql, simple):
    try:
        factory = psycopg.ClientCursor if simple else psycopg.Cursor
        with psycopg.connect(dsn, autocommit=True, cursor_factory=factory) as conn:
            cur = conn.cursor()
            if simple:
                cur.execute(sql)
            else:
                cur.execute(sql, prepare=False)
            if cur.description is None:
                return {"columns": [], "rows": []}
            columns = [d.name for d in cur.description]
            return {"columns": columns, "rows": [[plain(v) for v in r] for r in cur.fetchall()]}
    except Exception as e:  # noqa: BLE001 - the error is the answer
        return {"error": str(e).splitlines()[0] if str(e) else repr(e)}


def main():
    request = json.load(sys.stdin)
    results = []
    for path in request["files"]:
        for i, sql in enumerate(entries(path)):
            results.append(
                {
                    "file": os.path.basename(path),
                    "index": i,
                    "sql": sql,
                    "extended": run(request["dsn"], sql, simple=False),
                    "simple": run(request["dsn"], sql, simple=True),
                }
            )
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()

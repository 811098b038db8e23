"""Warm `SELECT * FROM gap_trend` over Flight SQL against a `gaptrack query gap_trend` process.

    python bench/serve_bench.py GAPTRACK_BINARY STORE [REPS]
    SERVE_ARGS="--result-cache 0" python bench/serve_bench.py ...   # without the result cache

Starts `gaptrack serve --flight 127.0.0.1:0` on STORE, runs the query once on each side to
warm up, then REPS times alternating: over a kept-open ADBC Flight SQL connection, and as a
new `gaptrack query gap_trend --format csv` process. Prints the medians and their ratio, then
runs 8 clients at once (each its own connection, 5 queries each) and checks every answer equals
the first. Needs adbc-driver-flightsql and pyarrow.
"""

import concurrent.futures
import os
import signal
import statistics
import subprocess
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql

SQL = "SELECT * FROM gap_trend"


def main():
    binary, store = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPTRACK_SERVE_")}
    server = subprocess.Popen(
        [binary, "--store", store, "serve", "--flight", "127.0.0.1:0",
         *os.environ.get("SERVE_ARGS", "").split()],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        line = server.stdout.readline().strip()
        uri = line.split("flight: ", 1)[1]
        conn = flight_sql.connect(uri)
        cur = conn.cursor()

        def flight():
            cur.execute(SQL)
            return cur.fetch_arrow_table()

        def process():
            subprocess.run(
                [binary, "--store", store, "query", "gap_trend", "--format", "csv"],
                check=True, stdout=subprocess.DEVNULL, env=env,
            )

        reference = flight()
        process()
        t_flight, t_process = [], []
        for _ in range(reps):
            t0 = time.perf_counter(); flight(); t_flight.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); process(); t_process.append(time.perf_counter() - t0)
        mf, mp = statistics.median(t_flight), statistics.median(t_process)
        print(f"rows: {reference.num_rows}")
        print(f"flight sql (warm): median {mf * 1e3:.1f} ms over {reps}")
        print(f"query process:     median {mp * 1e3:.1f} ms over {reps}")
        print(f"ratio: {mf / mp:.3f}")

        def client(_):
            c = flight_sql.connect(uri)
            with c:
                k = c.cursor()
                ok = 0
                for _ in range(5):
                    k.execute(SQL)
                    t = k.fetch_arrow_table()
                    key = [(n, "ascending") for n in reference.column_names]
                    ok += t.sort_by(key).equals(reference.sort_by(key))
                return ok

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            oks = list(pool.map(client, range(8)))
        print(f"8 concurrent clients x 5 queries: {sum(oks)}/40 equal to the first answer "
              f"({time.perf_counter() - t0:.1f} s)")
        conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

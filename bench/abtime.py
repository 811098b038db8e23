#!/usr/bin/env python3
"""Alternating whole-process timings of shell commands, at millisecond resolution.

    bench/abtime.py REPS LABEL 'COMMAND' [LABEL 'COMMAND' ...]

Runs each command once per round, in turn, REPS rounds, and prints the median, minimum
and maximum wall time of each (a command that fails stops the run). GNU time, which
bench/run.sh uses, reports 10 ms steps; this is for the commands that take tens of ms.
"""
import statistics
import subprocess
import sys
import time


def main():
    reps = int(sys.argv[1])
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    times = {label: [] for label, _ in pairs}
    for _ in range(reps):
        for label, cmd in pairs:
            start = time.perf_counter()
            run = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - start
            if run.returncode:
                sys.exit(f"FAILED: {label}: {run.stderr.decode()[-500:]}")
            times[label].append(elapsed * 1000)
    for label, ms in times.items():
        print(f"{label:<24} median {statistics.median(ms):8.1f} ms  min {min(ms):8.1f}  "
              f"max {max(ms):8.1f}  n={len(ms)}")


if __name__ == "__main__":
    main()

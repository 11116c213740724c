#!/usr/bin/env python3
"""The runner's own CPU time for one `tenancy` command, on a terminal and off one.

Runs the command (default: `migrate`, a no-op re-run once every tenant is
migrated) alternately with stdout and stderr on a pseudo-terminal and on a
pipe, --runs times each, and prints the median user+system CPU seconds of the
runner process of each, and their ratio, and the median wall-clock seconds.
The database comes from DATABASE_URL, as for the command itself.

--before SQL runs that statement (untimed) before every run: to time a real
migration each time, undo the previous one first:

    DATABASE_URL=... .venv/bin/python scripts/progress_cpu.py --runs 3 -- migrate
    DATABASE_URL=... .venv/bin/python scripts/progress_cpu.py --runs 2 --before "DO \\$\\$ DECLARE t text;
        BEGIN FOR t IN SELECT tenant_id FROM tenancy.tenants LOOP
        PERFORM count(*) FROM tenancy.rollback_tenant(t); COMMIT; END LOOP; END \\$\\$" -- migrate

(one tenant rolled back per transaction: one statement for all of them would
hold every tenant's locks at once)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import psycopg


def cpu_seconds(argv: list[str], terminal: bool) -> tuple[float, int]:
    """(user + system CPU seconds, exit code) of one run of argv."""
    if terminal:
        master, slave = os.openpty()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # EIO: the child closed the terminal
                break
        os.close(master)
    else:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for _ in iter(lambda: proc.stdout.read(65536), b""):  # type: ignore[union-attr]
            pass
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs on each side (default 3)")
    p.add_argument("--before", metavar="SQL", help="statement run on DATABASE_URL before every run (untimed)")
    p.add_argument("command", nargs="*", default=["migrate"], help="tenancy command and flags (default: migrate)")
    args = p.parse_args()
    argv = [sys.executable, "-m", "runner.cli", *args.command]
    env_term = os.environ.get("TERM") or "xterm"
    os.environ["TERM"] = env_term
    on: list[float] = []
    off: list[float] = []
    wall: dict[bool, list[float]] = {True: [], False: []}
    for i in range(args.runs):
        for terminal in (True, False) if i % 2 == 0 else (False, True):
            if args.before:
                with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                    conn.execute(args.before)
            started = time.perf_counter()
            seconds, code = cpu_seconds(argv, terminal)
            wall[terminal].append(time.perf_counter() - started)
            if code not in (0, 1):
                print(f"`tenancy {' '.join(args.command)}` exited {code}", file=sys.stderr)
                return 2
            (on if terminal else off).append(seconds)
    t, n = statistics.median(on), statistics.median(off)
    print(f"runner CPU seconds, median of {args.runs}: terminal {t:.2f}, no terminal {n:.2f}, ratio {t / n:.3f}")
    print(f"  terminal runs: {', '.join(f'{s:.2f}' for s in on)}; no terminal: {', '.join(f'{s:.2f}' for s in off)}")
    print(
        f"wall-clock seconds, median of {args.runs}: terminal {statistics.median(wall[True]):.2f}, "
        f"no terminal {statistics.median(wall[False]):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

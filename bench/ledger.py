"""Ledger throughput: one batched writer, 4 durable writer processes, verification.

    .venv/bin/python bench/ledger.py [--events 200000] [--writers 4]

Targets (issue 2, on a 2-core machine): >= 50,000 events/s from one writer with
batched commits, >= 5,000 events/s from 4 processes with each event durable
against a process crash before it is acknowledged, >= 300,000 events/s verified.

Each figure is printed with a named peer measured in the same run, on the same
bytes, so the ratio says what the ledger costs over doing without it:
  * writes: plain sqlite3 (WAL, synchronous=NORMAL) inserting the same event
    bytes with no chain, no index and no validation;
  * verify: a bare in-memory SHA-256 chain over the same bytes (no database).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stockade.ledger import open_ledger
from stockade.state import StateDir

BATCH = 1000


def details(i: int) -> dict[str, object]:
    # Typical of a DLP decision: a rule id, a location, a masked preview, a keyed hash.
    return {"rule_id": "aws-access-key", "path": "src/app/settings.py", "line": i % 400,
            "preview": "AKIA************WXYZ", "fingerprint": "hmac-sha256:3f1c0a9b7d2e4f6a8c0b"}


def single_writer(state: StateDir, url: str, n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds)"""
    with open_ledger(url, state=state) as ledger:
        start, cpu = time.perf_counter(), time.process_time()
        for base in range(0, n, BATCH):
            with ledger.batch() as b:
                for i in range(base, min(n, base + BATCH)):
                    b.append("policy.decision", details=details(i), session=f"s{i % 64}",
                             decision="redact")
        return time.perf_counter() - start, time.process_time() - cpu


def plain_sqlite_peer(url_path: Path, tmp: Path) -> float:
    """Insert the single-writer ledger's bytes again into a bare table."""
    src = sqlite3.connect(url_path)
    rows = src.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
    src.close()
    db = sqlite3.connect(tmp / "peer.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, data TEXT)")
    start = time.perf_counter()
    for base in range(0, len(rows), BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?, ?)", rows[base:base + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _writer(url: str, home: str, n: int, name: str, ready: Any, go: Any, cpu: Any) -> None:
    os.environ["STOCKADE_HOME"] = home
    with open_ledger(url, state=StateDir(Path(home))) as ledger:
        ready.release()
        go.wait()
        start = time.process_time()
        for i in range(n):
            # One append, one transaction: durable against a crash before it returns.
            ledger.append("policy.decision", details=details(i), session=name,
                          decision="allow")
        cpu.put(time.process_time() - start)


def many_writers(state: StateDir, url: str, n: int, writers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds summed over the writers)"""
    with open_ledger(url, state=state):
        pass  # created once, as `stockade init` does
    ctx = mp.get_context("spawn")
    ready, go, cpu = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    share = n // writers
    procs = [ctx.Process(target=_writer,
                         args=(url, str(state.root), share, f"w{k}", ready, go, cpu))
             for k in range(writers)]
    for p in procs:
        p.start()
    for _ in procs:  # every writer imported and opened before the clock starts
        ready.acquire()
    start = time.perf_counter()
    go.set()
    cpu_total = sum(cpu.get() for _ in procs)
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    if any(p.exitcode != 0 for p in procs):
        sys.exit("a writer process failed")
    return elapsed, cpu_total


def verify_rate(state: StateDir, url: str) -> tuple[int, float, float]:
    """(events, wall seconds, CPU seconds)"""
    with open_ledger(url, state=state, create=False) as ledger:
        start, cpu = time.perf_counter(), time.process_time()
        report = ledger.verify()
        return report.events, time.perf_counter() - start, time.process_time() - cpu


def bare_chain_peer(path: Path) -> tuple[int, float]:
    db = sqlite3.connect(path)
    datas = [bytes(d) for (d,) in db.execute("SELECT CAST(data AS BLOB) FROM events ORDER BY seq")]
    db.close()
    sha = hashlib.sha256
    prev = bytes(32)
    start = time.perf_counter()
    for data in datas:
        prev = sha(b"\x00" + prev + data).digest()
    return len(datas), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    n = args.events
    with tempfile.TemporaryDirectory(prefix="stockade-bench-") as tmpdir:
        tmp = Path(tmpdir)
        state = StateDir(tmp / "home").ensure()
        single = tmp / "single.db"
        multi = tmp / "multi.db"

        t_single, c_single = single_writer(state, f"sqlite:///{single}", n)
        t_peer_w = plain_sqlite_peer(single, tmp)
        t_multi, c_multi = many_writers(state, f"sqlite:///{multi}", n, args.writers)
        multi_events, _, _ = verify_rate(state, f"sqlite:///{multi}")  # linear and intact?
        events, t_verify, c_verify = verify_rate(state, f"sqlite:///{single}")
        _, t_peer_v = bare_chain_peer(single)
        size = single.stat().st_size

    def line(what: str, count: int, secs: float, cpu: float, target: int, peer: float | None,
             peer_name: str) -> None:
        rate = count / secs
        ok = "ok " if rate >= target else "LOW"
        ratio = f"  {rate / (count / peer):.2f}x {peer_name}" if peer else ""
        print(f"{ok} {what:<40} {rate:>9,.0f} events/s (target {target:,}; "
              f"{cpu / count * 1e6:.1f} CPU-us/event){ratio}")

    load = os.getloadavg()[0]
    print(f"stockade ledger bench: {n:,} events, {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
          f"{size / n:.0f} bytes/event on disk")
    line("1 writer, batched commits (1000/txn)", n, t_single, c_single, 50_000, t_peer_w,
         "plain sqlite3 insert")
    share = n // args.writers * args.writers
    line(f"{args.writers} writer processes, each event durable", share, t_multi, c_multi, 5_000,
         None, "")
    line("verify (chain + signed checkpoints)", events, t_verify, c_verify, 300_000, t_peer_v,
         "bare in-memory SHA-256 chain")
    if load > (os.cpu_count() or 1):
        print(f"    note: load average was {load:.1f} on {os.cpu_count()} CPUs when the bench "
              "ended; other work was competing, the figures are low")
    if multi_events != share:
        sys.exit(f"multi-writer ledger holds {multi_events} events, expected {share}")
    print(f"    multi-writer ledger verified: {multi_events:,} events in one linear chain")


if __name__ == "__main__":
    main()

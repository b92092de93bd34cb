"""Score the DLP engine on the labelled dev corpus.

    .venv/bin/python bench/dlp_quality.py [CORPUS_DIR] [--out findings.json] [--python]

CORPUS_DIR defaults to ../shared/bench/dlp-dev (relative to the repo root);
its ``corpus/``, ``truth.jsonl`` and ``score.py`` are used as shipped.
Prints score.py's table plus the scan throughput and the in-process time to
scan one Claude Code request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from stockade.dlp import Engine  # noqa: E402


def scan_corpus(engine: Engine, corpus: Path) -> tuple[list[dict[str, object]], int, float]:
    rows: list[dict[str, object]] = []
    total = 0
    elapsed = 0.0
    for path in sorted(corpus.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        text = data.decode("utf-8", "replace")
        total += len(data)
        rel = path.relative_to(corpus).as_posix()
        t0 = time.perf_counter()
        findings = engine.scan(text, path=rel)
        elapsed += time.perf_counter() - t0
        for f in findings:
            if f.suppressed_by:
                continue
            rows.append({"file": rel, "line": f.line, "end_line": f.end_line, "kind": f.rule_id,
                         "label": f.label if f.label in ("secret", "pii") else "secret"})
    return rows, total, elapsed


def request_time(engine: Engine, sample: Path, repeat: int = 200) -> float:
    text = sample.read_text(encoding="utf-8")
    engine.scan(text)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            engine.scan(text)
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dev", nargs="?", default=str(REPO.parent / "shared" / "bench" / "dlp-dev"))
    ap.add_argument("--out", help="write findings JSON here (default: a temporary file)")
    ap.add_argument("--python", action="store_true", help="pure-Python path (no hyperscan)")
    ap.add_argument("--no-kinds", action="store_true")
    a = ap.parse_args(argv)
    dev = Path(a.dev)
    t0 = time.perf_counter()
    engine = Engine(accelerate=False if a.python else None)
    build = time.perf_counter() - t0
    rows, nbytes, secs = scan_corpus(engine, dev / "corpus")
    out = a.out or os.path.join(tempfile.mkdtemp(), "findings.json")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(rows, fh)
    cmd = [sys.executable, str(dev / "score.py"), str(dev / "truth.jsonl"), out, "--name", "stockade"]
    if a.no_kinds:
        cmd.append("--no-kinds")
    subprocess.run(cmd, check=False)
    print()
    print(f"engine: {'hyperscan' if engine.accelerated else 'pure python'}, {len(engine.rule_ids())} rules, "
          f"built in {build * 1000:.0f} ms")
    print(f"corpus: {nbytes / 1e6:.2f} MB in {secs:.2f} s in-process = {nbytes / 1e6 / secs:.1f} MB/s")
    sample = REPO.parent / "shared" / "agents" / "examples" / "claude_request_turn1.json"
    if sample.exists():
        print(f"claude request ({sample.stat().st_size / 1000:.0f} KB): "
              f"{request_time(engine, sample) * 1000:.3f} ms per scan")
    return 0


if __name__ == "__main__":
    sys.exit(main())

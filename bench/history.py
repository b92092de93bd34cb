"""`stockade history` throughput on a generated set of realistic sessions.

    .venv/bin/python bench/history.py [--mb 200] [--jobs 2] [--repeat 1] [--no-peers]

Generates (once, cached in bench/.cache/history-<MB>mb/) a home holding
Claude Code transcripts, Codex session logs and Aider histories of the shapes
tests/history/fakehome.py writes: prompts, files read (the Python standard
library's sources stand in for a code base), command output, the model's
replies, with a planted secret or personal value in about one session in ten.
The issue's figure is on 1 GB: ``--mb 1000``.

Then measures, in the same run and on the same files:

* `stockade history --home H --since all --format json --jobs N` (DLP
  included), end to end: wall time, MB/s of transcript, max RSS;
* the peers: gitleaks (`gitleaks dir`, from bench/dlp.py's peers venv) and
  `stockade scan --all-files` over the raw files, when available;

and prints the ratios.  Pinned to ``--jobs`` CPUs with taskset where there
are more.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "history"))

from dlp import ensure_peers, tree_bytes
from fakehome import AiderHistory, ClaudeSession, Clock, CodexSession

from stockade.dlp.fakes import GENERATORS, sample

PLANT_RULES = sorted(r for r in GENERATORS if not r.endswith("private_key") and "k8s" not in r)


def _sources() -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts)
    out = []
    for p in files[:600]:
        try:
            t = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if 500 < len(t) < 60000:
            out.append(t)
    return out


def generate(mb: int, seed: int = 1) -> tuple[Path, int]:
    """A home of about ``mb`` MB of transcripts; (home, planted values)."""
    target = CACHE / f"history-{mb}mb"
    marker = target / ".complete"
    if marker.exists():
        return target / "home", int(marker.read_text())
    if target.exists():
        shutil.rmtree(target)
    home = target / "home"
    rng = random.Random(seed)
    pool = _sources()
    want = mb * 1_000_000
    total = 0
    planted = 0
    n = 0
    start = datetime.now(UTC) - timedelta(days=80)
    while total < want:
        n += 1
        clock = Clock(start + timedelta(minutes=37 * n))
        project = f"/home/dev/src/project{n % 40}"
        secret = None
        if n % 10 == 0:
            planted += 1
            secret = sample(rng.choice(PLANT_RULES), rng).text
        kind = n % 20
        if kind < 11:
            s = ClaudeSession(home, project, clock=clock, rng=rng)
            for turn in range(rng.randint(8, 30)):
                s.prompt(f"step {turn}: refactor the parser and keep the tests green")
                body = rng.choice(pool)
                if secret and turn == 3:
                    body = body[: len(body) // 2] + "\n" + secret + "\n" + body[len(body) // 2:]
                s.read_file(f"{project}/mod{turn}.py", body)
                s.tool("Bash", {"command": f"pytest -q tests/test_mod{turn}.py"},
                       rng.choice(pool)[:3000])
                s.say("I changed the function as asked; the tests pass now.\n" + rng.choice(pool)[:1500])
            s.write()
        elif kind < 18:
            x = CodexSession(home, project, clock=clock, rng=rng)
            for turn in range(rng.randint(8, 30)):
                x.prompt(f"task {turn}: add type hints to the module")
                body = rng.choice(pool)
                if secret and turn == 2:
                    body = secret + "\n" + body
                x.run(f"sed -n 1,400p src/mod{turn}.py", body)
                x.say("Done; here is the diff.\n" + rng.choice(pool)[:1200])
            x.write()
        else:
            a = AiderHistory(home / "src" / f"aider{n % 30}")
            a.start(clock.now)
            for turn in range(rng.randint(5, 20)):
                a.user(f"please fix the bug in mod{turn}.py" + (f"\n{secret}" if secret and turn == 1 else ""))
                a.tool(f"Added mod{turn}.py to the chat.")
                a.assistant(rng.choice(pool)[:6000])
                a.tool(f"Applied edit to mod{turn}.py")
            a.write()
        if n % 50 == 0:  # measuring the tree is slow: every 50 sessions is close enough
            total = tree_bytes(home)
            print(f"  generated {total / 1e6:.0f} MB ...", file=sys.stderr)
    marker.write_text(str(planted))
    return home, planted


def timed(argv: list[str], *, timeout: float = 3600) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and the children it waited for, max RSS KB).

    CPU time is reported beside wall time because this machine may be shared:
    wall time then measures the neighbours too, CPU time does not."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise TimeoutError(argv[0])
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise RuntimeError(f"exit {code}: {err.strip().splitlines()[-1:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def best(argv: list[str], repeat: int) -> tuple[float, float, int] | str:
    runs = []
    for _ in range(repeat):
        try:
            runs.append(timed(argv))
        except (TimeoutError, RuntimeError) as exc:
            return f"failed: {exc}"
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def transcript_files(home: Path) -> list[Path]:
    out = list((home / ".claude").rglob("*.jsonl")) + list((home / ".codex").rglob("*.jsonl"))
    out += list(home.rglob(".aider.chat.history.md"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=200, help="size of the generated set (default 200; the issue: 1000)")
    ap.add_argument("--jobs", type=int, default=2, help="CPUs to use (default 2)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args(argv)

    def note(msg: str) -> None:
        print(msg, file=sys.stderr)

    note(f"generating {args.mb} MB of sessions (cached) ...")
    home, planted = generate(args.mb)
    nbytes = tree_bytes(home)
    files = transcript_files(home)
    pin: list[str] = []
    if shutil.which("taskset") and (os.cpu_count() or 1) > args.jobs:
        pin = ["taskset", "-c", ",".join(str(i) for i in range(args.jobs))]
    cpus = min(args.jobs, os.cpu_count() or 1)
    print(f"set: {nbytes / 1e6:.0f} MB in {len(files)} transcript files, {planted} planted values; "
          f"{cpus} CPUs{' (taskset)' if pin else ''}")

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env = dict(os.environ, STOCKADE_HOME=str(t / "state"), STOCKADE_DEPS_OFFLINE="1")
        out = t / "history.json"
        argv_h = [*pin, sys.executable, "-m", "stockade", "history", "--home", str(home), "--since", "all",
                  "--format", "json", "--out", str(out), "--jobs", str(args.jobs)]
        os.environ.update(STOCKADE_HOME=env["STOCKADE_HOME"], STOCKADE_DEPS_OFFLINE="1")
        res = best(argv_h, args.repeat)
        if isinstance(res, str):
            print(f"stockade history: {res}")
            return 1
        wall, cpu, rss = res
        data = json.loads(out.read_text())
        mb = nbytes / 1e6
        mine = mb / wall
        # what `cpus` dedicated CPUs would do: the machine may be shared
        mine_cpu = mb / (cpu / cpus)
        print(f"stockade history   {wall:7.2f} s wall {mine:7.1f} MB/s | {cpu:7.2f} CPU s "
              f"{mine_cpu:7.1f} MB/s on {cpus} dedicated CPUs | max RSS {rss / 1024:5.0f} MB  "
              f"({len(data['sessions'])} sessions, {len(data['exposures'])} exposures, "
              f"{len(data['actions'])} actions, {len(data['skipped'])} skipped)")
        peers: dict[str, list[str]] = {}
        if not args.no_peers:
            found = ensure_peers(note)
            if "gitleaks" in found:
                peers["gitleaks dir"] = [*pin, *found["gitleaks"], "dir", str(home), "--report-format",
                                         "json", "--report-path", str(t / "gl.json"), "--no-banner",
                                         "--log-level", "error", "--max-target-megabytes", "0"]
        peers["stockade scan"] = [*pin, sys.executable, "-m", "stockade", "scan", "--all-files",
                                  "--format", "json", "--jobs", str(args.jobs), str(home)]
        for name, argv_p in peers.items():
            r = best(argv_p, args.repeat)
            if isinstance(r, str):
                print(f"{name:<18} {r}")
                continue
            pw, pcpu, prss = r
            print(f"{name:<18} {pw:7.2f} s wall {mb / pw:7.1f} MB/s | {pcpu:7.2f} CPU s "
                  f"{mb / (pcpu / cpus):7.1f} MB/s on {cpus} dedicated CPUs | max RSS {prss / 1024:5.0f} MB"
                  f"  -> stockade history: {pw / wall:.2f}x its wall speed, {pcpu / cpu:.2f}x its CPU "
                  "efficiency")
    try:
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs"
              + ("  (shared machine: trust the CPU figures)" if load > (os.cpu_count() or 1) else ""))
    except OSError:
        pass
    goal = mine_cpu
    print(f"goal: >= 50 MB/s on 2 CPUs with DLP: {'met' if goal >= 50 else 'NOT met'} "
          f"({goal:.1f} MB/s on {cpus} dedicated CPUs, {mine:.1f} MB/s wall clock here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

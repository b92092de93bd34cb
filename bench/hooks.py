"""Start-up cost of `stockade hook claude-code`, per tool call.

Claude Code starts the hook as a new process for every tool call, so the
figure that matters is the wall time of one invocation, measured from spawn
until the answer's pipe closes (what the client waits for).  The peer,
measured in the same run and interleaved with it, is a Python hook that only
reads stdin and prints ``{}``.  Target: median <= 40 ms and <= 2x the peer.

    .venv/bin/python bench/hooks.py [--runs 60]

Cases: the captured PreToolUse shape (Bash `echo hello > out.txt`, allowed),
the same with a denied command (its reason goes through the DLP engine), a
Read of a workspace file, and an allowed `curl` (the host is matched by
stockade.config.domains).  The first
calls (policy cache cold) are reported separately.  Each call starts after
the previous call's detached ledger writer has finished (as between real
tool calls, which a model turn separates).  Besides wall time, the
CPU time (user + system) of each spawned process is shown: on a busy machine
it is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

NOOP = "import sys; sys.stdin.buffer.read(); sys.stdout.write('{}\\n')"


def payload(cwd: str, tool: str, tool_input: dict[str, object]) -> bytes:
    session = str(uuid.uuid4())
    return json.dumps({
        "session_id": session,
        "transcript_path": f"{cwd}/.claude/projects/x/{session}.jsonl",
        "cwd": cwd, "prompt_id": str(uuid.uuid4()), "permission_mode": "default",
        "effort": {"level": "high"}, "hook_event_name": "PreToolUse", "tool_name": tool,
        "tool_input": tool_input, "tool_use_id": "toolu_" + uuid.uuid4().hex[:24],
    }).encode()


def once(argv: list[str], data: bytes, env: dict[str, str], cwd: str,
         expect: bytes | None = None) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, input=data, capture_output=True, env=env, cwd=cwd, check=False)
    dt = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0 or (expect is not None and (
            expect not in proc.stdout if expect else proc.stdout.strip())):
        raise SystemExit(f"unexpected answer ({proc.returncode}): {proc.stdout[-300:]!r} "
                         f"{proc.stderr.decode()[-400:]}")
    return dt, proc.stdout


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=60)
    args = ap.parse_args()
    py = sys.executable
    root = Path(__file__).resolve().parent.parent
    # Installed packages have their bytecode compiled; make sure ours is too.
    subprocess.run([py, "-m", "compileall", "-q", str(root / "src" / "stockade")],
                   check=False, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = os.path.join(tmp, "proj")
        os.makedirs(ws)
        Path(ws, "README.md").write_text("hello\n")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.join(tmp, "home"),
               "STOCKADE_HOME": os.path.join(tmp, "state"), "LANG": "C.UTF-8",
               "STOCKADE_MANAGED_POLICY": os.path.join(tmp, "no-managed.yaml"),
               "CLAUDE_PROJECT_DIR": ws}
        os.makedirs(env["HOME"])
        Path(env["STOCKADE_MANAGED_POLICY"]).write_text("version: 1\n")
        hook = [py, "-m", "stockade", "hook", "claude-code"]
        # what `python -m stockade hook` costs once __main__ routes `hook`
        # past argparse (stockade.commands.hook.main_fast)
        fast = [py, "-c", "import sys; from stockade.commands.hook import main_fast; "
                "sys.exit(main_fast(['claude-code']))"]
        noop = [py, "-c", NOOP]
        expect = {"Bash allow (captured shape)": b"", "Bash deny": b'"deny"', "Read allow": b"",
                  "Bash curl allowed host": b""}
        cases = {
            "Bash allow (captured shape)": payload(ws, "Bash", {
                "command": "echo hello > out.txt", "description": "Write hello to out.txt"}),
            "Bash deny": payload(ws, "Bash", {"command": "cat ~/.aws/credentials"}),
            "Read allow": payload(ws, "Read", {"file_path": f"{ws}/README.md"}),
            "Bash curl allowed host": payload(ws, "Bash", {
                "command": "curl -sSf https://pypi.org/simple/requests/"}),
        }

        spool = Path(env["STOCKADE_HOME"]) / "hook-spool"

        def settle() -> None:
            # Tool calls are seconds apart (a model turn in between); let the
            # previous call's detached ledger writer finish, untimed.
            deadline = time.monotonic() + 10
            while spool.exists() and any(spool.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.01)

        first = []
        for _ in range(3):
            settle()
            first.append(once(hook, cases["Bash allow (captured shape)"], env, ws, b"")[0])
        for _ in range(5):
            once(noop, b"{}", env, ws)
        results: dict[str, list[float]] = {name: [] for name in cases}
        results["Bash allow, fast entry"] = []
        cpu: dict[str, list[float]] = {name: [] for name in results}
        cpu_peer: list[float] = []

        def timed(name: str | None, argv: list[str], data: bytes) -> float:
            settle()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            want = None if name is None else expect.get(name, b"")
            dt = once(argv, data, env, ws, want)[0]
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            c = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
            (cpu_peer if name is None else cpu[name]).append(c)
            return dt

        peer: list[float] = []
        for _ in range(args.runs):
            peer.append(timed(None, noop, cases["Bash allow (captured shape)"]))
            for name, data in cases.items():
                results[name].append(timed(name, hook, data))
            results["Bash allow, fast entry"].append(
                timed("Bash allow, fast entry", fast, cases["Bash allow (captured shape)"]))
        time.sleep(0.5)  # let the detached ledger writers finish before cleanup
        pm, p90 = statistics.median(peer), pct(peer, 0.9)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs each, "
              f"load average {os.getloadavg()[0]:.2f}")
        cm = statistics.median(cpu_peer)
        print(f"{'case':<30} {'median ms':>10} {'p90 ms':>8} {'x no-op':>8} {'cpu ms':>7} "
              f"{'cpu x':>6}")
        print(f"{'no-op python hook (peer)':<30} {pm:>10.1f} {p90:>8.1f} {1.0:>8.2f} {cm:>7.1f} "
              f"{1.0:>6.2f}")
        for name, vals in results.items():
            m = statistics.median(vals)
            c = statistics.median(cpu[name])
            print(f"{name:<30} {m:>10.1f} {pct(vals, 0.9):>8.1f} {m / pm:>8.2f} {c:>7.1f} "
                  f"{c / cm:>6.2f}")
        print(f"first calls (policy cache cold, then warm): "
              f"{', '.join(f'{x:.0f}' for x in first)} ms")
        for label in ("Bash allow (captured shape)", "Bash allow, fast entry"):
            m = statistics.median(results[label])
            print(f"target for {label}: median <= 40 ms and <= 2x no-op -> "
                  f"{'met' if m <= 40 and m <= 2 * pm else 'NOT met'} ({m:.1f} ms, {m / pm:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark `stockade run` against its peers, in one run on one machine.

    .venv/bin/python bench/sandbox.py [--runs 20] [--mb 100] [--downloads 7]
                                      [--baseline-src OLD/src]

1. start-up: median / p90 wall time of `stockade run -- true` against bare
   bubblewrap with the same namespaces, the Python and CLI floors, `codex
   sandbox -- true` (the Codex CLI the end-to-end tests install in .e2e) and
   Anthropic's `srt` (npm @anthropic-ai/sandbox-runtime, looked for in
   bench/.cache, needs socat and ripgrep), all in the same interleaved
   rounds; a peer that is not installed is skipped with a note saying how to
   install it.  Issue 6's target (60 ms where bwrap took ~5 ms, codex sandbox
   ~105 ms and srt ~288 ms) is then read as a ratio to each peer measured in
   this run, since absolute times differ from machine to machine;
2. egress proxy throughput: a 100 MB download from a loopback server with
   curl inside the sandbox through the proxy (the sandbox's 127.0.0.1:3128,
   accepted by the launcher's proxy -> server), a fresh `stockade run` each
   time, against the same curl run directly on the host, alternating.  The
   ratio is of curl's total time (first byte included); the first byte and
   the rate after it are shown apart.  A floor peer, `socat` relaying the
   same download through one extra TCP hop with a 4 MiB buffer (no sandbox,
   no policy), shows what any relay costs on this machine (skipped with a
   note when socat is not installed: `apt-get install socat`).

Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRAPPER = """import sys
from stockade import cli
cli.COMMANDS.setdefault("run", ("stockade.commands.run", "run an agent in the sandbox"))
sys.exit(cli.main())
"""


def timed(cmd: list[str], *, runs: int, env: dict[str, str] | None = None,
          cwd: str | None = None) -> list[float]:
    return interleaved([(cmd, env, cwd)], runs=runs)[0]


def interleaved(cmds: list[tuple[list[str], dict[str, str] | None, str | None]], *,
                runs: int) -> list[list[float]]:
    """Wall times (ms) of each command, run round-robin so that a burst of load
    from elsewhere falls on all of them alike."""
    out: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, (cmd, env, cwd) in enumerate(cmds):
            before = _child_cpu()
            t = time.perf_counter()
            r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            out[i].append((time.perf_counter() - t) * 1000)
            CPU.setdefault(" ".join(cmd), []).append((_child_cpu() - before) * 1000)
            if r.returncode != 0:
                raise SystemExit(f"{cmd[:3]}... failed: {r.stderr.decode()[-500:]}")
            _quiesce(cmd[0])
    return out


def _quiesce(program: str, *, within: float = 2.0) -> None:
    """Wait for what a command left running to finish: `stockade run`'s
    recorder signs the session's checkpoint after the launcher has exited,
    and that work would otherwise fall on whichever command runs next (it
    made an identical copy of stockade measure ~15 ms slower in the slot
    after it)."""
    mark = program.encode()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if mark in f.read():
                        break
            except OSError:
                continue
        else:
            return
        time.sleep(0.002)


# command -> CPU ms (user + system, every process it waited for) per run: on a
# loaded machine wall time says how long you waited, CPU time what it cost
CPU: dict[str, list[float]] = {}


def _child_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def stats(label: str, ms: list[float], ref: float | None = None,
          cmd: list[str] | None = None) -> float:
    med = statistics.median(ms)
    p90 = sorted(ms)[max(0, int(len(ms) * 0.9) - 1)]
    ratio = f"  ({med / ref:.1f}x bare bwrap)" if ref else ""
    cpu = CPU.get(" ".join(cmd)) if cmd else None
    used = f"   cpu {statistics.median(cpu):6.1f} ms" if cpu else ""
    print(f"  {label:<34} median {med:7.1f} ms   p90 {p90:7.1f} ms{used}{ratio}")
    return med


def bare_bwrap_argv(bwrap: str) -> list[str]:
    argv = [bwrap, "--unshare-user", "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL"]
    for top in ("usr", "bin", "sbin", "lib", "lib64", "etc"):
        p = "/" + top
        if os.path.islink(p):
            argv += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            argv += ["--ro-bind", p, p]
    return argv + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "true"]


# issue 6: "Measured here: bwrap ~5 ms, `codex sandbox` ~105 ms, `srt` ~288 ms.
# Target: stockade <= 60 ms median including its proxy."  Read on this machine
# as a ratio to each of those peers, measured in the same rounds.
TARGET_MS = 60.0
ISSUE_PEERS_MS = {"bare bwrap": 5.0, "codex sandbox": 105.0, "srt": 288.0}



def peer_srt(tmp: Path, ws: Path) -> tuple[list[str], dict[str, str]] | str:
    """Anthropic's sandbox-runtime, from bench/.cache."""
    cand = HERE / ".cache" / "node_modules" / ".bin" / "srt"
    if not cand.exists():
        return ("not installed: npm install --prefix bench/.cache "
                "@anthropic-ai/sandbox-runtime")
    if not (shutil.which("socat") and shutil.which("rg")):
        return "it needs socat and ripgrep: apt-get install socat ripgrep"
    settings = tmp / "srt.json"
    settings.write_text(json.dumps({"network": {"allowedDomains": [], "deniedDomains": []},
                                    "filesystem": {"denyRead": [], "allowWrite": [str(ws)],
                                                   "denyWrite": []}}))
    return [str(cand), "--settings", str(settings), "true"], dict(os.environ)


def peer_codex(tmp: Path, ws: Path) -> tuple[list[str], dict[str, str]] | str:
    """`codex sandbox -- true` (its default, read-only policy), from the Codex
    CLI the end-to-end tests install (.e2e) or bench/.cache.  Its home may not
    be under /tmp (it refuses to put its helpers there), so it gets one in
    bench/.cache."""
    for cand in (HERE.parent / ".e2e" / "node_modules" / ".bin" / "codex",
                 HERE / ".cache" / "node_modules" / ".bin" / "codex"):
        if cand.exists():
            break
    else:
        return "not installed: npm install --prefix bench/.cache @openai/codex"
    home = HERE / ".cache" / "codex-home"
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "CODEX_HOME": str(home / ".codex"), "LANG": "C.UTF-8"}
    return [str(cand), "sandbox", "--", "true"], env


class BigServer:
    """Serves one file over HTTP with sendfile, as fast as the kernel allows."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                c.close()
                return
            data += chunk
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % self.size)
        with open(self.path, "rb") as f:
            c.sendfile(f)
        c.close()


class Floor:
    """``socat`` relaying to the server through one more TCP hop, with a 4 MiB
    buffer (its fastest setting here; the default 8 KiB is far slower): what
    any user-space relay costs on this machine, with no sandbox and no policy."""

    BUF = 4 << 20

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}/blob"
        self.label = "socat relay (floor)"

    @classmethod
    def start(cls, target: int) -> Floor | None:
        socat = shutil.which("socat")
        if socat is None:
            return None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([socat, "-b", str(cls.BUF),
                                 f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                                 f"TCP:127.0.0.1:{target}"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return cls(proc, port)
            except OSError:
                time.sleep(0.02)
        proc.kill()
        proc.wait()
        return None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--downloads", type=int, default=7)
    ap.add_argument("--baseline-src", metavar="DIR",
                    help="also measure the stockade in DIR (an older src/, e.g. from "
                         "`git archive HEAD src | tar -x -C /tmp/base`), interleaved")
    args = ap.parse_args()
    bwrap = shutil.which("bwrap")
    if not bwrap:
        raise SystemExit("bench needs bubblewrap: apt-get install bubblewrap")
    tmp = Path(tempfile.mkdtemp(prefix="stockade-bench-"))
    ws = tmp / "ws"
    ws.mkdir()
    home = tmp / "home"
    home.mkdir()
    wrapper = tmp / "stockade"
    wrapper.write_text(f"#!{sys.executable}\n" + WRAPPER)
    wrapper.chmod(0o755)
    baseline = None
    if args.baseline_src:
        baseline = tmp / "stockade-baseline"
        src_dir = os.path.abspath(args.baseline_src)
        baseline.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {src_dir!r})\n"
                            + WRAPPER)
        baseline.chmod(0o755)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp / "state"), "XDG_CACHE_HOME": str(tmp / "cache")}
    policy = tmp / "policy.yaml"
    policy.write_text("version: 1\nnetwork:\n  allow_private: [127.0.0.1/32]\n")
    print(f"# {os.cpu_count()} CPUs, {sys.version.split()[0]}, "
          f"{subprocess.run([bwrap, '--version'], capture_output=True, text=True).stdout.strip()}")
    stock = [str(wrapper), "run", "--policy", str(policy), "--", "true"]
    timed(stock, runs=2, env=env, cwd=str(ws))  # warm caches (DLP engine, pyc, policy view)
    cmds = [
        (bare_bwrap_argv(bwrap), None, None),
        ([sys.executable, "-c", "pass"], None, None),
        ([str(wrapper), "--version"], env, str(ws)),
        (stock, env, str(ws)),
    ]
    labels = ["bare bwrap (same namespaces)", "python -c pass (floor)",
              "stockade --version (CLI floor)", "stockade run -- true"]
    if baseline is not None:
        base_stock = [str(baseline), *stock[1:]]
        # its own state: the policy-view cache keeps one entry per state dir
        benv = dict(env, STOCKADE_HOME=str(tmp / "state-baseline"))
        timed(base_stock, runs=2, env=benv, cwd=str(ws))
        cmds.append((base_stock, benv, str(ws)))
        labels.append("baseline stockade run -- true")
    # the peers of issue 6, in the same rounds: the target is read against them
    peers: dict[str, int] = {}
    skipped: list[str] = []
    for name, found in (("codex sandbox", peer_codex(tmp, ws)), ("srt (sandbox-runtime)",
                                                                  peer_srt(tmp, ws))):
        if isinstance(found, str):
            skipped.append(f"  {name}: skipped ({found})")
            continue
        try:
            timed(found[0], runs=1, env=found[1], cwd=str(ws))
        except SystemExit as exc:
            skipped.append(f"  {name}: skipped ({str(exc)[:200]})")
            continue
        peers[name] = len(cmds)
        cmds.append((found[0], found[1], str(ws)))
        labels.append(name)
    print(f"start-up (`-- true`), {args.runs} runs each, interleaved; {load()}:")
    times = interleaved(cmds, runs=args.runs)
    ref = stats(labels[0], times[0], cmd=cmds[0][0])
    meds = [ref]
    for label, ms, (cmd, _, _) in zip(labels[1:], times[1:], cmds[1:]):
        meds.append(stats(label, ms, ref, cmd=cmd))
    print("  (cpu: the process and the children it reaped; stockade's ledger recorder signs the "
          "session's checkpoint after the launcher exits, reaped by init: not counted)")
    for line in skipped:
        print(line)
    ours = meds[3]
    print(f"  issue 6's target, {TARGET_MS:.0f} ms where its peers took "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in ISSUE_PEERS_MS.items())
          + ", read as a ratio to each peer measured in this run:")
    for name, at in (("bare bwrap", 0), *((k, i) for k, i in peers.items())):
        there = ISSUE_PEERS_MS[name.split(" (")[0]]
        want, got = TARGET_MS / there, ours / meds[at]
        print(f"    vs {name:<24} target <= {want:5.2f}x   stockade {got:5.2f}x   "
              f"(= {want * meds[at]:5.1f} ms here)   {'met' if got <= want else 'NOT met'}")

    if args.downloads < 1 or args.mb < 1:
        print("egress proxy: skipped (--downloads 0 or --mb 0)")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    print(f"egress proxy, {args.mb} MB download from a loopback server, {args.downloads} runs "
          f"each, alternating; {load()}:")
    blob = tmp / "blob"
    with open(blob, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(args.mb):
            f.write(chunk)
    srv = BigServer(str(blob), args.mb << 20)
    url = f"http://127.0.0.1:{srv.port}/blob"
    curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}",
            "--noproxy", ""]
    floor = Floor.start(srv.port)
    rows: dict[str, list[tuple[float, float]]] = {"direct": [], "through stockade": []}
    if floor is not None:
        rows[floor.label] = []
    if baseline is not None:
        rows["through baseline"] = []

    def fetch(argv: list[str], what: str, run_env: dict[str, str] = env) -> tuple[float, float]:
        r = subprocess.run(argv, capture_output=True, text=True, env=run_env, cwd=str(ws),
                           check=False)
        if r.returncode != 0:
            raise SystemExit(f"{what} download failed: {r.stderr[-500:]}")
        first, total = r.stdout.split()
        return float(first), float(total)

    # The baseline gets its own state: the policy-view cache keeps one entry,
    # so sharing it would make every run of both a cold one.
    base_env = dict(env, STOCKADE_HOME=str(tmp / "state-baseline"))

    def through(stockade: Path, run_env: dict[str, str]) -> tuple[float, float]:
        return fetch([str(stockade), "run", "--policy", str(policy), "--", *curl, "-x",
                      "http://127.0.0.1:3128", url], "proxied", run_env)

    try:
        for _ in range(args.downloads):  # alternating, for the same reason as above
            rows["direct"].append(fetch([*curl, url], "direct"))
            rows["through stockade"].append(through(wrapper, env))
            if floor is not None:
                rows[floor.label].append(fetch([*curl, floor.url], "socat"))
            if baseline is not None:
                rows["through baseline"].append(through(baseline, base_env))
    finally:
        if floor is not None:
            floor.stop()
    d = statistics.median(t for _, t in rows["direct"])
    for label, runs in rows.items():
        total = statistics.median(t for _, t in runs)
        first = statistics.median(f for f, _ in runs)
        rate = statistics.median(args.mb / max(t - f, 1e-6) for f, t in runs)
        ratio = "" if label == "direct" else f"  = {d / total:4.0%} of direct"
        print(f"  {label:<25} {total * 1000:6.0f} ms total ({args.mb / total:5.0f} MB/s)"
              f"   first byte {first * 1000:5.1f} ms   then {rate:5.0f} MB/s{ratio}")
    if floor is None:
        print("  socat floor: skipped (socat not installed: apt-get install socat)")
    print(f"# {load()}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

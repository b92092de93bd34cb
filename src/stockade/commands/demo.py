"""`stockade demo`: a demonstration session on the built-in defaults.

Every step runs the real `stockade` commands as a user would type them, with
state kept in a throw-away directory, and the session ends by verifying the
ledger and saying where it is.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

from stockade.errors import EnvironmentProblem, UsageError

MARKER = ".stockade-demo-dir"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=".stockade-demo", type=Path,
                        help="where the demo keeps its state and workspace (recreated each run)")


def _fake_aws_pair() -> tuple[str, str]:
    """Random values in the real format, made now: nothing secret-looking is
    shipped.  Drawn again when the DLP engine would take a draw for a
    placeholder (a key ID ending in "XXXX" is one): the demo shows what
    happens to a real-looking key, not to a stand-in."""
    from stockade.dlp import Engine

    engine = Engine.default()
    upper = string.ascii_uppercase + "234567"
    alphabet = string.ascii_letters + string.digits + "+/"
    while True:
        key_id = "AKIA" + "".join(secrets.choice(upper) for _ in range(16))
        secret = "".join(secrets.choice(alphabet) for _ in range(40))
        text = f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
        flagged = {text[f.start:f.end] for f in engine.scan(text)}
        if {key_id, secret} <= flagged:
            return key_id, secret


class _Demo:
    def __init__(self, root: Path):
        self.root = root.absolute()
        self.state = self.root / "state"
        self.ws = self.root / "workspace"
        self.env = dict(os.environ)
        self.env["STOCKADE_HOME"] = str(self.state)
        self.env.pop("STOCKADE_POLICY", None)
        self.env.pop("STOCKADE_LEDGER", None)
        # The demo runs on the embedded defaults: no user policy file.
        self.env["XDG_CONFIG_HOME"] = str(self.root / "config")
        self.env["STOCKADE_MANAGED_POLICY"] = str(self.root / "no-managed-policy.yaml")
        self.procs: list[subprocess.Popen[bytes]] = []

    def stockade(self, *args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-P", "-m", "stockade", *args]
        print(f"\n$ stockade {' '.join(args)}", flush=True)
        proc = subprocess.run(cmd, env=self.env, cwd=self.ws, text=True, capture_output=True,
                              check=False)
        if not quiet:
            sys.stdout.write(_indent(proc.stdout))
        sys.stdout.write(_indent(proc.stderr))
        if check and proc.returncode != 0:
            raise EnvironmentProblem(f"demo step `stockade {args[0]}` failed "
                                     f"with exit {proc.returncode}",
                                     hint="see its output above")
        return proc

    def setup(self) -> tuple[str, str]:
        if self.root.exists():
            # Only ever delete a directory an earlier demo made (`--dir .` must not
            # wipe the user's work).
            if not (self.root / MARKER).exists():
                if any(self.root.iterdir()):
                    raise UsageError(
                        f"{self.root} exists and was not made by `stockade demo`",
                        hint="pass --dir with a new or empty directory")
            else:
                shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).write_text("made by `stockade demo`; deleted by the next run\n")
        self.ws.mkdir(parents=True)
        (self.root / "config").mkdir()
        # Stands in for a missing /etc/stockade/policy.yaml.  Where a security team
        # installed one, it stays in force (the loader ignores this override then):
        # the demo never runs with less than the company's policy.
        (self.root / "no-managed-policy.yaml").write_text("version: 1\n")
        key_id, secret = _fake_aws_pair()
        (self.ws / "README.md").write_text("# demo project\n\nA tiny project the agent works on.\n")
        (self.ws / ".env").write_text(
            f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\nDEBUG=1\n")
        return key_id, secret

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def _section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: argparse.Namespace) -> int:
    demo = _Demo(args.dir)
    try:
        return _run(demo)
    finally:
        demo.close()


def _run(demo: _Demo) -> int:
    from stockade.demo import upstream

    _section("1. a fresh installation: state, keys and the built-in policy")
    key_id, secret = demo.setup()
    demo.stockade("init")
    demo.stockade("policy", "show", "--format", "yaml", quiet=True)
    print("    (the effective policy: the built-in defaults; `stockade policy show` prints it all)")

    _section("2. what is in the workspace? (`stockade scan` never prints a value)")
    scan = demo.stockade("scan", ".", "--all-files", check=False)
    if scan.returncode != 1:
        raise EnvironmentProblem("the demo expected `stockade scan` to find the planted key")

    _section("3. a scripted agent in the sandbox, talking to its model through the gateway")
    received = demo.root / "vendor-received.jsonl"
    model = upstream.serve(received)
    model_url = f"http://127.0.0.1:{model.server_address[1]}"
    gateway_url = _start_gateway(demo, model_url)
    # The agent is a stdlib-only script in the workspace, run by the base interpreter:
    # inside the sandbox only system directories and the workspace exist.
    from stockade.demo import agent as agent_module

    shutil.copyfile(agent_module.__file__, demo.ws / "agent.py")
    python = _system_python()
    agent = demo.stockade("run", "--workspace", str(demo.ws), "--gateway", gateway_url, "--",
                          python, "agent.py", check=False)
    model.shutdown()

    _section("4. what the model vendor received")
    bodies = received.read_text() if received.exists() else ""
    leaked = key_id in bodies or secret in bodies
    print(f"    requests received: {len(bodies.splitlines())}")
    print(f"    the AWS key from .env reached the vendor: {'YES' if leaked else 'no'}")
    for line in bodies.splitlines():
        msg = json.loads(line)["messages"][-1]["content"]
        if "configuration" in str(msg):
            shown = str(msg).replace("\n", " | ")
            print(f"    the secret-bearing prompt as the vendor saw it: {shown[:160]}")
    task_ok = (demo.ws / "hello.py").exists()
    print(f"    the legitimate task wrote hello.py: {'yes' if task_ok else 'NO'}")

    _section("5. the ledger: every decision, hash-chained and signed")
    demo.stockade("ledger", "tail", "-n", "12")
    demo.stockade("ledger", "checkpoint")
    demo.stockade("ledger", "verify")

    ledger = demo.state / "ledger.db"
    print(f"\nThe demo's ledger is {ledger}")
    exe = _stockade_command()
    print(f"Read it with:    STOCKADE_HOME={demo.state} {exe} ledger tail -n 50")
    print(f"Verify it with:  STOCKADE_HOME={demo.state} {exe} ledger verify")
    ok = task_ok and not leaked and agent.returncode == 0
    print("\ndemo " + ("passed: task done, exfiltration refused, secret kept in-house"
                       if ok else "FAILED: see above"))
    return 0 if ok else 1


def _stockade_command() -> str:
    """How the user can call stockade: the command beside this interpreter, if any."""
    beside = Path(sys.executable).parent / "stockade"
    if shutil.which("stockade") == str(beside) or not beside.exists():
        return "stockade" if shutil.which("stockade") else f"{sys.executable} -m stockade"
    return os.path.relpath(beside) if not os.path.relpath(beside).startswith("..") else str(beside)


def _system_python() -> str:
    """The real interpreter behind this (possibly virtual) environment."""
    base = Path(os.path.realpath(sys.base_prefix)) / "bin"
    for name in (f"python{sys.version_info.major}.{sys.version_info.minor}", "python3"):
        if (base / name).exists():
            return str(base / name)
    return os.path.realpath(sys.executable)


def _start_gateway(demo: _Demo, model_url: str) -> str:
    ready = demo.root / "gateway.url"
    cmd = [sys.executable, "-P", "-m", "stockade", "gateway", "--listen", "127.0.0.1:0",
           "--upstream", f"anthropic={model_url}", "--ready-file", str(ready)]
    print(f"\n$ stockade gateway --listen 127.0.0.1:0 --upstream anthropic={model_url}", flush=True)
    log = (demo.root / "gateway.log").open("wb")
    proc = subprocess.Popen(cmd, env=demo.env, cwd=demo.ws, stdout=log, stderr=subprocess.STDOUT)
    demo.procs.append(proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            url = ready.read_text().strip()
            print(f"    gateway listening on {url}")
            return url
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise EnvironmentProblem("the gateway did not start",
                             hint=f"see {demo.root / 'gateway.log'}")

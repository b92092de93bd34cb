"""``stockade gateway`` for one sandbox session, started when first needed.

When ``stockade run`` is given no gateway (``--gateway`` / ``$STOCKADE_GATEWAY_URL``),
the agent's model bridge (``127.0.0.1:3129`` inside) leads to a gateway of its
own: the same policy and workspace (``repository:`` routes match it), loopback
port 0, ``--ready-file``, found through the running interpreter
(``sys.executable -m stockade``), never ``PATH``.  It starts on the first
connection to the bridge (or, for an agent preset, right after the agent does),
so ``stockade run -- true`` never pays for it, and it is stopped when the
session ends.

It runs with the user's own environment (outside the sandbox: the vendor keys
the agent never sees), plus ``STOCKADE_SESSION`` so the gateway's ledger
events carry the sandbox session's id.  With a vendor key there it is in team
mode and wants a stockade key: the launcher gives the agent a per-session key,
made at start and revoked at the end (:mod:`stockade.sandbox.recorder` does
both, off the start-up path).
"""

from __future__ import annotations

import _thread
import os
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

START_TIMEOUT = 60.0  # the DLP engine and asyncio load on a slow machine
STOP_TIMEOUT = 5.0


class SessionGateway:
    """Looks like :class:`stockade.sandbox.deps.GatewayTarget` to the launcher."""

    base_path = ""
    scheme = "http"
    per_session = True

    def __init__(self, *, session: str, workspace: str, policy_file: str | None,
                 env: Mapping[str, str], key: str | None = None,
                 on_start: Callable[[dict[str, object]], None] | None = None) -> None:
        self.session = session
        self.workspace = workspace
        self.policy_file = policy_file
        self.env = env
        self.key = key  # the per-session stockade key (team mode), or None
        self.on_start = on_start
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = _thread.allocate_lock()  # not threading: start-up path
        self._proc: object = None
        self._dir: str | None = None
        self._addr: tuple[str, int] | None = None
        self._failed: str | None = None
        self._closed = False

    def __repr__(self) -> str:  # never the key
        return f"SessionGateway(session={self.session!r}, port={self.port})"

    def argv(self, ready_file: str) -> list[str]:
        # sys.executable itself, not its real path: a venv interpreter is a
        # symlink, and only through it does Python find the venv (and stockade).
        # -P: `-m` would put the current directory first on sys.path, and a
        # `stockade/` package the agent wrote there would run out here, with
        # the vendor keys (tests/sandbox/test_rt_gateway_imports_from_workspace.py)
        argv = [sys.executable, "-P", "-m", "stockade", "gateway",
                "--listen", "127.0.0.1:0", "--ready-file", ready_file,
                "--workspace", self.workspace]
        if self.policy_file:
            argv += ["--policy", os.path.abspath(os.path.expanduser(self.policy_file))]
        return argv

    def address(self) -> tuple[str, int] | None:
        """Start the gateway once and say where it listens; None when it cannot
        start (the agent's connection is cut, and the reason printed once)."""
        with self._lock:
            if self._addr is not None or self._failed is not None or self._closed:
                return self._addr
            try:
                self._addr = self._start()
            except Exception as exc:  # noqa: BLE001 - reported, then the bridge cuts
                self._failed = str(exc) or type(exc).__name__
                if not self._closed:  # a session that ended meanwhile is no news
                    print(f"stockade: the session gateway did not start: {self._failed}",
                          file=sys.stderr)
                self._stop()
            return self._addr

    def _start(self) -> tuple[str, int]:
        import subprocess
        import tempfile

        self._dir = tempfile.mkdtemp(prefix="stockade-gw-")
        ready = os.path.join(self._dir, "ready")
        log_path = os.path.join(self._dir, "stderr")
        env = dict(self.env, STOCKADE_SESSION=self.session)
        with open(log_path, "wb") as log:
            # and not in the workspace either: nothing there is the gateway's
            proc = subprocess.Popen(self.argv(ready), env=env, cwd=self._dir,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log, start_new_session=True)
        self._proc = proc
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(ready):
            if self._closed:
                raise RuntimeError("the session ended")
            if proc.poll() is not None:
                raise RuntimeError(_last_line(log_path) or f"it exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {START_TIMEOUT:.0f} s")
            time.sleep(0.02)
        with open(ready, encoding="utf-8") as f:
            base = f.read().strip()
        from urllib.parse import urlsplit

        u = urlsplit(base)
        if u.hostname is None or u.port is None:
            raise RuntimeError(f"its ready file says {base[:80]!r}")
        self.host, self.port = u.hostname, u.port
        if self.on_start is not None:
            self.on_start({"listen": f"{u.hostname}:{u.port}", "pid": proc.pid,
                           "team_mode": self.key is not None})
        return u.hostname, u.port

    def _stop(self) -> None:
        if self._proc is None and self._dir is None:
            return  # never started (`-- true`): no imports at the session's end
        import shutil
        import subprocess

        proc, self._proc = self._proc, None
        if isinstance(proc, subprocess.Popen):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def started(self) -> bool:
        return self._addr is not None

    def close(self) -> None:
        """Stop the gateway (if it ever started); no new start after this.
        A start under way sees the flag within one poll and gives up."""
        self._closed = True
        with self._lock:
            self._stop()


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f.read()[-4000:].splitlines() if ln.strip()]
    except OSError:
        return ""
    # the gateway's own diagnostic ("stockade: error: ..."), never its environment
    return lines[-1][:300] if lines else ""


__all__ = ["SessionGateway"]

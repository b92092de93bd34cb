"""``stockade run``: one sandboxed agent session, start to finish.

    check the platform and bubblewrap -> load the policy -> open the ledger and
    record session.start -> scrub the environment -> plan the mounts -> start the
    egress proxy (and the gateway bridge) on Unix sockets -> run bubblewrap with
    the seccomp filter -> relay signals, record every connection -> record
    session.end -> exit with the agent's status.

Fails closed: no bubblewrap, no user namespaces, no ledger, no DLP engine ->
nothing runs (unless the user asked for ``--unsafe-no-sandbox``, which is
recorded, and still gets the scrubbed environment).  The
ledger is written from this thread only; proxy threads hand their events over
a queue.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockade.errors import EnvironmentProblem, UsageError
from stockade.sandbox import deps as _deps
from stockade.sandbox.hosts import (
    MODEL_HOSTS,
    is_model_host,
    looks_like_encoded_data,
    masked_host,
)
from stockade.sandbox.verdicts import redact_argv

PROXY_PORT = 3128
GATEWAY_PORT = 3129
LOOPBACK_NO_PROXY = "localhost,127.0.0.1,::1"

BWRAP_HINT = (
    "install bubblewrap: `sudo apt-get install bubblewrap` (Debian/Ubuntu), "
    "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch)"
)
USERNS_HINT = (
    "enable unprivileged user namespaces: `sudo sysctl -w kernel.unprivileged_userns_clone=1` "
    "(Debian), `sudo sysctl -w user.max_user_namespaces=15000` (if 0), or on Ubuntu 23.10+ "
    "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (or give bwrap an AppArmor "
    "profile that allows userns); inside a container, run it with --privileged or a seccomp "
    "profile that allows clone(CLONE_NEWUSER)"
)


@dataclass(frozen=True, slots=True)
class RunRequest:
    command: tuple[str, ...]
    workspace: str
    env: Mapping[str, str] = field(repr=False)
    policy_file: str | None = None
    observe: bool = False
    unsafe_no_sandbox: bool = False
    gateway_url: str | None = None
    preset: bool = True
    bwrap: str | None = None  # explicit path (tests); else found on PATH or /usr/bin


@dataclass
class Stats:
    connections: int = 0
    denied: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    hosts: set[str] = field(default_factory=set)


# -- pure helpers ------------------------------------------------------------
def new_session_id() -> str:
    return time.strftime("s-%Y%m%d-%H%M%S-") + os.urandom(3).hex()


def proxy_env(*, proxy_port: int = PROXY_PORT) -> dict[str, str]:
    """Every variable common tools read to find their HTTP proxy."""
    url = f"http://127.0.0.1:{proxy_port}"
    env = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "npm_config_proxy", "npm_config_https_proxy", "YARN_HTTP_PROXY",
                 "YARN_HTTPS_PROXY", "CARGO_HTTP_PROXY", "GLOBAL_AGENT_HTTP_PROXY",
                 "GLOBAL_AGENT_HTTPS_PROXY", "PIP_PROXY"):
        env[name] = url
    for name in ("NO_PROXY", "no_proxy", "GLOBAL_AGENT_NO_PROXY", "npm_config_noproxy"):
        env[name] = LOOPBACK_NO_PROXY
    env["NODE_USE_ENV_PROXY"] = "1"
    env["JAVA_TOOL_OPTIONS"] = (
        f"-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={proxy_port} -Dhttps.proxyHost=127.0.0.1 "
        f"-Dhttps.proxyPort={proxy_port} -Dhttp.nonProxyHosts=localhost|127.0.0.1"
    )
    return env


def gateway_env(gw: _deps.GatewayTarget | None, preset_env: Mapping[str, str],
                *, port: int = GATEWAY_PORT) -> dict[str, str]:
    if gw is None:
        return {}
    base = f"http://127.0.0.1:{port}{gw.base_path}"
    urls = {"anthropic": base, "openai": base + "/v1"}
    env = {"ANTHROPIC_BASE_URL": urls["anthropic"], "OPENAI_BASE_URL": urls["openai"]}
    for name, what in preset_env.items():
        if what == "key":
            if gw.key:
                env[name] = gw.key
        else:
            env[name] = urls[what]
    return env


def sanitised_gitconfig(text: str) -> str:
    """Only ``user.name`` and ``user.email``: a real ~/.gitconfig may carry
    credentials (``url.<token>.insteadOf``) or helpers that run host programs."""
    section = ""
    keep: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
            continue
        key = line.split("=", 1)[0].strip().lower()
        if section == "user" and key in ("name", "email") and "=" in line:
            keep.append(f"\t{key} = {line.split('=', 1)[1].strip()}")
    return "[user]\n" + "\n".join(keep) + "\n" if keep else ""


def check_workspace(ws: str, *, home: str | None, state: str, deny_read: Sequence[str]) -> None:
    from stockade.sandbox.layout import _under

    if not os.path.isdir(ws):
        raise UsageError(f"workspace {ws} is not a directory")
    if ws == "/" or (home and _under(home, ws)):
        raise UsageError(
            f"refusing to use {ws} as the workspace: it contains your home directory",
            hint="run stockade from (or pass --workspace) the project directory itself")
    if _under(ws, state):
        raise UsageError(f"refusing to use stockade's own state directory {state} as workspace")
    for d in deny_read:
        if _under(ws, d):
            raise UsageError(f"workspace {ws} is inside filesystem.deny_read entry {d}")


def find_bwrap(explicit: str | None, env: Mapping[str, str], *, workspace: str) -> str:
    """The bubblewrap to run: the system's ``/usr/bin/bwrap`` when there is
    one, else the first on ``$PATH`` that the agent cannot have planted there
    (relative entries and anything inside the workspace are skipped)."""
    from stockade.sandbox.layout import _under

    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise EnvironmentProblem(f"bubblewrap not found at {explicit}", hint=BWRAP_HINT)
    if os.access("/usr/bin/bwrap", os.X_OK):
        return "/usr/bin/bwrap"
    ws = os.path.realpath(workspace)
    for entry in (env.get("PATH") or "").split(os.pathsep):
        if not os.path.isabs(entry) or _under(os.path.normpath(entry), ws):
            continue
        cand = os.path.join(entry, "bwrap")
        real = os.path.realpath(cand)
        if _under(real, ws) or not (os.path.isfile(real) and os.access(real, os.X_OK)):
            continue
        return cand
    raise EnvironmentProblem(
        "bubblewrap (bwrap) is not installed; stockade run will not start an agent "
        "without a sandbox", hint=BWRAP_HINT + "; or, at your own risk, --unsafe-no-sandbox")


def diagnose_bwrap(bwrap: str) -> EnvironmentProblem:
    """bubblewrap failed before starting the agent: say why, and what to enable."""
    probe = subprocess.run([bwrap, "--unshare-user", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True, timeout=10, check=False)
    err = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ""
    if probe.returncode != 0:
        low = err.lower()
        if any(w in low for w in ("namespace", "uid map", "permission", "not permitted")):
            return EnvironmentProblem(
                f"the kernel refused bubblewrap a user namespace ({err})", hint=USERNS_HINT)
        return EnvironmentProblem(f"bubblewrap cannot run here ({err or probe.returncode})",
                                  hint=USERNS_HINT)
    return EnvironmentProblem(
        "bubblewrap could not set up the sandbox (see its message above)",
        hint="report this with the output of STOCKADE_DEBUG=1 stockade run ...")


# -- the session ---------------------------------------------------------------
class _Session:
    def __init__(self, req: RunRequest, d: Any) -> None:
        self.req = req
        self.d = d
        self.id = new_session_id()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stats = Stats()
        self.recorder: Any = None
        self.proxy: Any = None
        self.record_broken = False
        self.view: _deps.PolicyView | None = None
        self._host_key: bytes | None = None

    # ledger, from the main thread only
    def record(self, kind: str, details: Mapping[str, Any], decision: str | None = None) -> None:
        try:
            self.recorder.append(kind, details=details, session=self.id, decision=decision)
        except Exception as exc:  # noqa: BLE001 - fail closed from here on
            if not self.record_broken:
                self.record_broken = True
                print(f"stockade: the ledger failed ({type(exc).__name__}); refusing every "
                      "further connection of this session", file=sys.stderr)
            if self.proxy is not None:
                self.proxy.refuse_all = ("stockade: the ledger cannot record this session, "
                                         "so no connection is allowed")

    def host_hash(self, host: str) -> str | None:
        """The keyed hash the ledger keeps of a name it must not store."""
        from stockade.state import StateDir, keyed_hash

        if self._host_key is None:
            try:
                self._host_key = StateDir.default().ensure().hmac_key()
            except Exception:  # noqa: BLE001 - then only the masked preview is kept
                return None
        return keyed_hash(host, self._host_key)

    def on_net(self, ev: Any) -> None:
        assert self.view is not None
        details = ev.to_dict()
        host = ev.host
        if looks_like_encoded_data(host):
            # DNS exfiltration: the name is the payload, so the ledger (and
            # every report read from it) keeps a preview and a keyed hash.
            host = masked_host(ev.host)
            details["host"] = host
            details["encoded_name"] = True
            digest = self.host_hash(ev.host)
            if digest is not None:
                details["host_hmac"] = digest
        if ev.kind == "net.deny":
            self.stats.denied += 1
            self.record("net.deny", details, "deny")
            return
        in_policy = bool(_safe(self.view.allow, ev.host, ev.port))
        details["in_policy"] = in_policy
        if ev.kind == "net.open":
            self.record("net.open", details, "allow" if in_policy else "observe")
            return
        self.stats.connections += 1
        self.stats.bytes_up += ev.bytes_up
        self.stats.bytes_down += ev.bytes_down
        self.stats.hosts.add(host)
        self.record("net.connect", details, "allow" if in_policy else "observe")


def resolved_paths(paths: Sequence[str]) -> tuple[str, ...]:
    """Each path as written and as it resolves (symlinks anywhere in it)."""
    return tuple(sorted({*paths, *(os.path.realpath(p) for p in paths)}))


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001
        return False


def run_session(req: RunRequest, d: Any = _deps) -> int:
    """Run ``req.command`` in the sandbox; returns its exit status."""
    if not req.command:
        raise UsageError("no command given", hint="stockade run [OPTIONS] -- COMMAND [ARGS...]")
    if not sys.platform.startswith("linux") and not req.unsafe_no_sandbox:
        raise EnvironmentProblem(
            f"stockade run needs Linux with bubblewrap; {sys.platform} is not supported yet "
            "(a macOS Seatbelt backend is planned)",
            hint="run the agent in a Linux VM or container, or pass --unsafe-no-sandbox")
    ws = os.path.realpath(req.workspace)
    bwrap = None if req.unsafe_no_sandbox else find_bwrap(req.bwrap, req.env, workspace=ws)
    s = _Session(req, d)
    view = d.load_view(policy_file=req.policy_file, workspace=ws)
    s.view = view
    # Every check compares resolved paths: a symlinked $HOME or deny_read
    # entry names the same directory as its target.
    home = os.path.realpath(req.env["HOME"]) if req.env.get("HOME") else None
    deny_read = resolved_paths(view.deny_read)
    state = d.state_root()
    check_workspace(ws, home=home, state=os.path.realpath(state), deny_read=deny_read)
    try:
        return _run(s, ws=ws, bwrap=bwrap, view=view, home=home, state=state,
                    deny_read=deny_read)
    finally:
        if s.recorder is not None:
            with contextlib.suppress(Exception):
                s.recorder.close()


def _open_and_start(s: _Session, details: Mapping[str, Any]) -> None:
    """Open the ledger and record session.start; the agent waits for this."""
    view = getattr(s, "view", None)
    s.recorder = s.d.open_recorder(getattr(view, "ledger", None))
    s.record("session.start", details, "allow")
    if s.record_broken:
        raise EnvironmentProblem("cannot record the session in the ledger; not starting the agent",
                                 hint="check `stockade ledger verify` and the state directory")


def _run(s: _Session, *, ws: str, bwrap: str | None, view: _deps.PolicyView,
         home: str | None, state: str, deny_read: tuple[str, ...]) -> int:
    from stockade.sandbox.envscrub import scrub
    from stockade.sandbox.presets import preset_for
    from stockade.sandbox.verdicts import Verdicts

    req, d = s.req, s.d
    t0 = time.monotonic()
    preset = preset_for(req.command, home=home) if req.preset else None
    # the DLP engine loads only if some value is new since the last session
    # with the same rule set; a failure drops (or redacts) the value
    verdicts = Verdicts.open(state, custom_rules=view.dlp_rules, deps=d)
    scrubbed = scrub(dict(req.env), passthrough=view.env_passthrough, looks_secret=verdicts.flags)
    command = redact_argv(req.command, looks_secret=verdicts.flags)
    verdicts.save()
    if verdicts.unavailable is not None and bwrap is not None:
        why = getattr(verdicts.unavailable, "message", type(verdicts.unavailable).__name__)
        raise EnvironmentProblem(
            "the DLP engine cannot be loaded, so the environment cannot be inspected; "
            f"stockade run will not start an agent ({why})",
            hint=_deps.DLP_HINT + "; or, at your own risk, --unsafe-no-sandbox")
    gw = d.ensure_gateway(url=req.gateway_url, env=req.env, session=s.id)
    mode = "unsafe-no-sandbox" if bwrap is None else ("observe" if req.observe else "enforce")
    start_details: dict[str, Any] = {
        "command": command,
        "workspace": ws,
        "policy_digest": view.digest,
        "policy": view.source,
        "mode": mode,
        "preset": preset.name if preset else None,
        "gateway": f"{gw.host}:{gw.port}" if gw else None,
        "env_dropped": sorted(x.name for x in scrubbed.dropped),
        "env_dlp": "unavailable" if verdicts.unavailable is not None else "ok",
    }
    if bwrap is None:
        return _unsandboxed(s, ws=ws, env=scrubbed.kept, mode=mode, t0=t0,
                            start_details=start_details)
    return _sandboxed(s, ws=ws, bwrap=bwrap, view=view, home=home, state=state, gw=gw,
                      env=scrubbed.kept, preset=preset, t0=t0, start_details=start_details,
                      deny_read=deny_read)


def _unsandboxed(s: _Session, *, ws: str, env: dict[str, str], mode: str, t0: float,
                 start_details: Mapping[str, Any]) -> int:
    """``--unsafe-no-sandbox``: no isolation, but the same scrubbed environment
    and the same ledger record."""
    _open_and_start(s, start_details)
    print("stockade: WARNING: running WITHOUT a sandbox (--unsafe-no-sandbox); "
          "this session is recorded as unsafe", file=sys.stderr)
    env = dict(env, STOCKADE_SESSION=s.id)
    try:
        rc = subprocess.call(list(s.req.command), cwd=ws, env=env)
        error = None
    except OSError as exc:
        print(f"stockade: cannot run {s.req.command[0]}: {exc.strerror}", file=sys.stderr)
        rc, error = 127, f"cannot run the command: {exc.strerror}"
    if rc < 0:
        rc = 128 - rc
    end: dict[str, Any] = {"exit_status": rc, "mode": mode,
                           "duration_ms": int((time.monotonic() - t0) * 1000)}
    if error:
        end["error"] = error
    s.record("session.end", end)
    return rc


def _model_hosts(view: _deps.PolicyView) -> tuple[str, ...]:
    from stockade.sandbox.hosts import canonical_host

    return tuple(canonical_host(h) or h.lower() for h in view.model_hosts)


def _sandboxed(s: _Session, *, ws: str, bwrap: str, view: _deps.PolicyView, home: str | None,
               state: str, gw: Any, env: dict[str, str], preset: Any, t0: float,
               start_details: Mapping[str, Any], deny_read: tuple[str, ...]) -> int:
    import shutil
    import tempfile

    from stockade.sandbox.layout import Layout, build_argv, plan
    from stockade.sandbox.proxy import EgressProxy, ProxyConfig
    from stockade.sandbox.seccomp import build_filter

    req = s.req
    base = req.env.get("XDG_RUNTIME_DIR")
    if not base or not os.access(base, os.W_OK):
        base = None
    rt = tempfile.mkdtemp(prefix="stockade-", dir=base)
    created_dirs: list[str] = []
    created_files: list[str] = []
    proxy = None
    bridge = None
    try:
        os.mkdir(f"{rt}/empty", 0o555)
        _write(f"{rt}/empty.json", "{}\n")
        _write(f"{rt}/empty.file", "")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forwarder.py")
        shutil.copyfile(src, f"{rt}/forwarder.py")
        gitconfig = None
        if home and os.path.isfile(f"{home}/.gitconfig"):
            try:
                with open(f"{home}/.gitconfig", encoding="utf-8", errors="replace") as f:
                    text = sanitised_gitconfig(f.read())
            except OSError:
                text = ""
            gitconfig = f"{rt}/gitconfig"
            _write(gitconfig, text)

        # environment
        env = dict(env)
        env.update(proxy_env())
        env.update(gateway_env(gw, preset.gateway_env if preset else {}))
        if preset:
            env.update(preset.env)
        env["TMPDIR"] = "/tmp"
        env["STOCKADE_SESSION"] = s.id
        env["STOCKADE_SANDBOX"] = "1"
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["HOME"] = home or "/tmp"  # resolved: the sandbox's home is mounted there

        hidden = set(resolved_paths((state, rt, *(preset.hidden if preset else ()))))
        hidden |= {p for p in resolved_paths(view.policy_files) if not _inside(p, ws)}
        layout = Layout(
            workspace=ws, home=home, runtime_dir=rt, empty_dir=f"{rt}/empty",
            empty_json=f"{rt}/empty.json",
            empty_file=f"{rt}/empty.file", write=tuple(p for p in view.write if p != ws),
            read=view.read, deny_read=deny_read, hidden=tuple(sorted(hidden)),
            extras=preset.extras if preset else (), gitconfig=gitconfig,
            interpreter_prefix=d_interp(s.d),
        )
        p = plan(layout)
        for dpath in p.create_dirs:
            try:
                os.mkdir(dpath, 0o755)
                created_dirs.append(dpath)
            except FileExistsError:
                pass
        for fpath in p.create_files:
            try:
                os.close(os.open(fpath, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                created_files.append(fpath)
            except FileExistsError:
                pass

        # egress proxy + gateway bridge
        extra_models = _model_hosts(view)
        allow_fn = view.allow
        observe = req.observe

        def allow(host: str, port: int) -> bool:
            if is_model_host(host, extra_models) or looks_like_encoded_data(host):
                return False
            if observe:
                return True
            # an allow_private entry (a CIDR or host) is itself a destination
            return bool(allow_fn(host, port) or view.allow_private(host))

        def explain(host: str, port: int) -> str:
            if looks_like_encoded_data(host):
                return (f"stockade: refusing {host[:80]}: the name looks like encoded data "
                        "(DNS exfiltration), so it is not even looked up")
            if is_model_host(host, extra_models):
                return (f"stockade: {host} is a model API; it is reached only through the "
                        "stockade gateway (ANTHROPIC_BASE_URL / OPENAI_BASE_URL)")
            return f"stockade: {host} is not in network.allow of {view.source}"

        def on_event(ev: Any) -> None:
            s.events.put(("net", ev))

        upstream = None
        if view.upstream_proxy:
            from urllib.parse import urlsplit

            u = urlsplit(view.upstream_proxy)
            if u.hostname:
                upstream = (u.hostname, u.port or 3128)
        proxy = EgressProxy(ProxyConfig(
            allow=allow, explain=explain,
            private_ok=lambda host, ip: bool(view.allow_private(ip) or view.allow_private(host)),
            on_event=on_event, upstream=upstream))
        s.proxy = proxy
        proxy.serve_unix(f"{rt}/proxy.sock")
        routes = ["--listen", f"{PROXY_PORT}=/run/stockade/proxy.sock"]
        if gw is not None:
            bridge = _GatewayBridge(gw.host, gw.port)
            bridge.serve_unix(f"{rt}/gateway.sock")
            routes += ["--listen", f"{GATEWAY_PORT}=/run/stockade/gateway.sock"]

        # The sandbox starts while the ledger opens; the forwarder holds the
        # agent back until session.start is recorded (a byte on go_r).
        go_r, go_w = os.pipe()
        py = os.path.realpath(sys.executable)
        command = [py, "-I", "-S", "/run/stockade/forwarder.py", *routes, "--go-fd", str(go_r),
                   "--", *req.command]
        seccomp_fd = os.memfd_create("stockade-seccomp", 0)
        os.write(seccomp_fd, build_filter())
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
        status_r, status_w = os.pipe()
        argv = build_argv(bwrap=bwrap, plan_args=p.args, seccomp_fd=seccomp_fd,
                          status_fd=status_w, command=command)
        if os.environ.get("STOCKADE_DEBUG"):
            shown = argv[:len(argv) - len(req.command)] + list(start_details["command"])
            print("stockade: " + " ".join(shown), file=sys.stderr)
        try:
            proc = subprocess.Popen(argv, env=env, cwd=ws, pass_fds=(seccomp_fd, status_w, go_r))
        finally:
            os.close(seccomp_fd)
            os.close(status_w)
            os.close(go_r)
        try:
            _open_and_start(s, start_details)
        except BaseException:
            os.close(go_w)  # EOF: the forwarder exits without running the agent
            proc.kill()
            proc.wait()
            os.close(status_r)
            raise
        try:
            os.write(go_w, b"1")
        except BrokenPipeError:
            pass  # bubblewrap is gone already: _supervise sees it exit
        finally:
            os.close(go_w)
        rc, started = _supervise(s, proc, status_r)
        if not started and rc != 0:
            err = diagnose_bwrap(bwrap)
            s.record("session.end", {"exit_status": rc, "error": err.message, "mode": "failed"})
            raise err
        proxy.close()
        _drain(s, deadline=time.monotonic() + 0.5)
        st = s.stats
        s.record("session.end", {
            "exit_status": rc, "duration_ms": int((time.monotonic() - t0) * 1000),
            "connections": st.connections, "denied": st.denied, "bytes_up": st.bytes_up,
            "bytes_down": st.bytes_down, "hosts": sorted(st.hosts)[:100],
        })
        return rc
    finally:
        if proxy is not None:
            proxy.close()
        if bridge is not None:
            bridge.close()
        for fpath in reversed(created_files):
            try:
                if os.path.getsize(fpath) == 0:
                    os.unlink(fpath)
            except OSError:
                pass
        for dpath in reversed(created_dirs):
            try:
                os.rmdir(dpath)
            except OSError:
                pass
        shutil.rmtree(rt, ignore_errors=True)


def d_interp(d: Any) -> str:
    return str(d.interpreter_prefix())


def _inside(p: str, ws: str) -> bool:
    from stockade.sandbox.layout import _under

    return _under(p, ws)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o444)


def _supervise(s: _Session, proc: subprocess.Popen[bytes], status_r: int) -> tuple[int, bool]:
    """Wait for bubblewrap, relaying signals to the agent and recording
    proxy events as they come.  Returns (exit status, whether the agent started)."""
    child: list[int] = []

    def read_status() -> None:
        import json

        buf = b""
        with os.fdopen(status_r, "rb") as f:
            for line in f:
                buf = line
                try:
                    msg = json.loads(buf)
                except ValueError:
                    continue
                if "child-pid" in msg:
                    child.append(int(msg["child-pid"]))
                    s.events.put(("started", None))

    def wait() -> None:
        proc.wait()
        s.events.put(("exit", None))

    status = threading.Thread(target=read_status, daemon=True)
    status.start()
    threading.Thread(target=wait, daemon=True).start()

    def forward(signum: int, _frame: Any) -> None:
        target = child[0] if child else proc.pid
        try:
            os.kill(target, signum)
        except OSError:
            pass

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            old[sig] = signal.signal(sig, forward)
    started = False
    try:
        while True:
            kind, payload = s.events.get()
            if kind == "net":
                s.on_net(payload)
            elif kind == "started":
                started = True
            elif kind == "exit":
                break
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    rc = proc.returncode if proc.returncode is not None else proc.wait()
    # bubblewrap has exited, so its status pipe is at EOF: read it to the end
    # before deciding whether the agent ever started
    status.join(timeout=2.0)
    started = started or bool(child)
    if rc < 0:  # bwrap itself killed by a signal
        rc = 128 - rc
    return rc, started


def _drain(s: _Session, *, deadline: float) -> None:
    """Record what the proxy still has to say once its connections are cut."""
    while True:
        try:
            kind, payload = s.events.get_nowait()
        except queue.Empty:
            if s.proxy is None or not s.proxy.busy() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
            continue
        if kind == "net":
            s.on_net(payload)


class _GatewayBridge:
    """Unix socket in the sandbox's /run/stockade -> the gateway's TCP port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock: socket.socket | None = None

    def serve_unix(self, path: str) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, 0o666)
        s.listen(64)
        self.sock = s
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        from stockade.sandbox.pump import pump

        assert self.sock is not None
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return

            def one(c: socket.socket = conn) -> None:
                try:
                    up = socket.create_connection((self.host, self.port), timeout=10)
                except OSError:
                    c.close()
                    return
                up.settimeout(None)
                pump(c, up)

            threading.Thread(target=one, daemon=True).start()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


__all__ = [
    "MODEL_HOSTS",
    "RunRequest",
    "check_workspace",
    "find_bwrap",
    "gateway_env",
    "is_model_host",
    "looks_like_encoded_data",
    "proxy_env",
    "redact_argv",
    "resolved_paths",
    "run_session",
    "sanitised_gitconfig",
]

"""``stockade run``: one sandboxed agent session, start to finish.

    (the CLI has forked the ledger recorder) -> check the platform and
    bubblewrap -> the policy view (cached) -> scrub the environment -> plan the
    mounts -> start bubblewrap with the seccomp filter -> record session.start
    while the proxy ports are opened in the sandbox's network namespace from
    outside -> the go: the agent starts -> serve the proxy (built while the
    sandbox started) and the gateway bridge (on first use), relay signals,
    record every connection -> record session.end (the recorder signs the
    checkpoint after this process exits) -> exit with the agent's status.

Fails closed: no bubblewrap, no user namespaces, no ledger, no DLP engine ->
nothing runs (unless the user asked for ``--unsafe-no-sandbox``, which is
recorded, and still gets the scrubbed environment).  What is recorded is
decided in this thread only (the recorder process just writes it); proxy and
bridge threads hand their events over a queue.
"""

from __future__ import annotations

import os
import sys
import time
from _queue import Empty, SimpleQueue  # queue.SimpleQueue, without importing queue

from stockade.errors import EnvironmentProblem, UsageError
from stockade.sandbox import deps as _deps
from stockade.sandbox.hosts import (
    MODEL_HOSTS,
    is_model_host,
    looks_like_encoded_data,
    masked_host,
)
from stockade.sandbox.refusals import Refusals, reason_for
from stockade.sandbox.threads import Flag, background
from stockade.sandbox.verdicts import REDACTED, redact_argv

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, NamedTuple

    from stockade.sandbox.layout import Extra
    from stockade.sandbox.spawn import Proc
else:
    from stockade.lite import NamedTuple

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


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class RunRequest(NamedTuple):
    command: tuple[str, ...]
    workspace: str
    env: Mapping[str, str]
    policy_file: str | None = None
    observe: bool = False
    unsafe_no_sandbox: bool = False
    gateway_url: str | None = None
    preset: bool = True
    bwrap: str | None = None  # explicit path (tests); else found on PATH or /usr/bin

    def __repr__(self) -> str:  # never the environment: it holds credentials
        return (f"RunRequest(command=<{len(self.command)} args>, workspace={self.workspace!r}, "
                f"env=<{len(self.env)} variables>)")


class Stats:
    """What the session's connections added up to (session.end)."""

    def __init__(self) -> None:
        self.connections = 0
        self.denied = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.hosts: set[str] = set()


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
    if gw.key and not preset_env:
        # any SDK-based agent: its key is the gateway's token, never a vendor key
        env["ANTHROPIC_API_KEY"] = env["OPENAI_API_KEY"] = gw.key
    for name, what in preset_env.items():
        if what == "key":
            if gw.key:
                env[name] = gw.key
        else:
            env[name] = urls[what]
    return env


COPY_MAX = 64 << 20  # bytes of a file a preset shows as a session copy


def _session_copies(copies: Sequence[tuple[str, tuple[str, ...]]], rt: str) -> list[Extra]:
    """A preset's files shown as copies made for this session in ``rt``
    (writable inside; thrown away with ``rt``), without the top-level JSON
    keys named.  One that is missing is not shown (the agent starts without
    it); one whose keys must go but that is not a JSON object is not shown
    either (never the key)."""
    from stockade.pathtext import read_regular
    from stockade.sandbox.layout import Extra

    out: list[Extra] = []
    for n, (path, drop) in enumerate(copies):
        # not through a link (its target may be one the agent could write,
        # or point it at another file of the host's next time), only a
        # regular file, and only so much of it
        data = read_regular(path, COPY_MAX + 1)
        if data is None or len(data) > COPY_MAX:
            if os.path.lexists(path):
                why = ("it is a symbolic link" if os.path.islink(path)
                       else f"it is over {COPY_MAX >> 20} MiB" if data is not None
                       else "it is not a regular file that can be read")
                print(f"stockade: {path} is not shown in the sandbox ({why})", file=sys.stderr)
            continue  # missing: made afresh inside, thrown away
        if drop:
            import json

            try:
                doc = json.loads(data)
            except (ValueError, RecursionError):  # not JSON, or nested too deep
                doc = None
            if not isinstance(doc, dict):
                print(f"stockade: {path} is not shown in the sandbox (it is not a JSON object, "
                      f"so {', '.join(drop)} could not be left out)", file=sys.stderr)
                continue
            if any(k in doc for k in drop):
                data = json.dumps({k: v for k, v in doc.items() if k not in drop},
                                  indent=2).encode()
        copy = f"{rt}/copy-{n}"
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with open(fd, "wb") as f:
            f.write(data)
        out.append(Extra(path, "rw", src=copy))
    return out


def sanitised_gitconfig(text: str) -> str:
    """Only ``user.name`` and ``user.email``: a real ~/.gitconfig may carry
    credentials (``url.<token>.insteadOf``) or helpers that run host programs.
    Read with the lenient git-config reader, written back quoted."""
    from stockade.sandbox.gitconfig import lenient_pairs

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace(
            "\n", "\\n").replace("\t", "\\t").replace("\b", "\\b") + '"'

    keep = [f"\t{k.split('.')[1]} = {quoted(v)}" for k, v in lenient_pairs(text)
            if k in ("user.name", "user.email")]
    return "[user]\n" + "\n".join(keep) + "\n" if keep else ""


def dropped_note(dropped: Sequence[Any], *, held_by_gateway: Sequence[str]) -> str | None:
    """One line naming the credential-like variables the agent will not see
    (names only, never values): a tool failing inside for want of its token
    should not be a mystery.  Host handles (SSH_AUTH_SOCK) and proxy settings
    are replaced, not withheld; model keys go to the gateway."""
    names = sorted({d.name for d in dropped
                    if d.reason not in ("host-handle", "proxy") and d.name not in held_by_gateway})
    if not names:
        return None
    shown = [n if n.isascii() and n.replace("_", "").isalnum() else "<unusual name>"
             for n in names[:12]]
    more = f" and {len(names) - 12} more" if len(names) > 12 else ""
    return (f"stockade: not passed to the agent (they look like credentials): "
            f"{', '.join(shown)}{more}; to pass one anyway, list its name in "
            "sandbox.env_passthrough")


def check_not_too_wide(ws: str, *, home: str | None) -> None:
    """Before the policy loads: its default ``filesystem.write`` is the
    workspace, and a workspace of ``/`` would otherwise be blamed on the
    built-in default policy."""
    from stockade.sandbox.layout import _under

    if ws == "/" or (home and _under(home, ws)):
        what = "is the root directory, which contains" if ws == "/" else "contains"
        raise UsageError(
            f"refusing to use {ws} as the workspace: it {what} your home directory, and "
            "the agent may write everywhere in its workspace",
            hint="cd to the project directory first (or pass --workspace DIR)")


def check_workspace(ws: str, *, home: str | None, state: str, deny_read: Sequence[str]) -> None:
    from stockade.sandbox.layout import _under

    if not os.path.isdir(ws):
        raise UsageError(f"workspace {ws} is not a directory",
                         hint="pass --workspace an existing project directory")
    check_not_too_wide(ws, home=home)
    if os.path.islink(os.path.join(ws, ".git")):
        # a mount cannot pin a symbolic link: the agent could replace it with
        # a .git of its making, whose config the user's own git would run
        raise UsageError(f"{ws}/.git is a symbolic link, which the sandbox cannot guard",
                         hint="run stockade in the directory it points to's checkout, or make "
                              ".git a directory or a `gitdir:` file")
    if _under(ws, state):
        raise UsageError(f"refusing to use stockade's own state directory {state} as workspace")
    for d in deny_read:
        if _under(ws, d):
            raise UsageError(f"workspace {ws} is inside filesystem.deny_read entry {d}")


def check_grants(grants: Sequence[str]) -> None:
    """Every ``filesystem.read``/``write`` grant still is the directory it was
    resolved to when the policy was loaded (possibly sessions ago: the view is
    cached).  bubblewrap follows symlinks in a bind's source, so a grant the
    agent could replace with a symlink (one under the workspace, or under
    another write grant) would show the next session whatever it points to."""
    for p in grants:
        real = os.path.realpath(p)
        if real != p:
            raise UsageError(
                f"filesystem grant {p} is now a symlink (to {real}); refusing to show its "
                "target to the agent",
                hint="something (perhaps an earlier agent session) replaced the directory; "
                     "remove the symlink, or name the real directory in the policy")


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
    import subprocess

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
        self.events: SimpleQueue[tuple[str, Any]] = SimpleQueue()
        self.stats = Stats()
        self.recorder: Any = None
        self.forked: Any = None  # the recorder process, until the ledger is open
        self.proxy: Any = None
        self.record_broken = False
        self.start_pending = False  # session.start sent to the recorder, answer not read
        self.recorder_gone = False
        self.closing = False  # the session is closing its recorder itself
        self.view: _deps.PolicyView | None = None
        self._host_key: bytes | None = None
        self._key_id: str | None = None
        self.refusals = Refusals()

    # the per-session gateway key: made and revoked by the recorder process
    # when there is one (it has the state modules loaded), else here
    def make_session_key(self) -> str:
        view = self.view
        user, team = self.d.session_key_owner(getattr(view, "identity", {}) or {}, self.req.env)
        worker = self.forked or (self.recorder if hasattr(self.recorder, "session_key") else None)
        if worker is not None:
            key, self._key_id = worker.session_key(user=user, team=team)
        else:
            key, self._key_id = self.d.create_session_key(user=user, team=team)
        return str(key)

    def revoke_session_key(self) -> None:
        key_id, self._key_id = self._key_id, None
        if key_id is None:
            return
        worker = self.forked or (self.recorder if hasattr(self.recorder, "revoke_key") else None)
        try:
            if worker is not None:
                worker.revoke_key(key_id)
            else:
                self.d.revoke_session_key(key_id)
        except Exception as exc:  # noqa: BLE001 - said, and recorded when possible
            print(f"stockade: could not revoke this session's gateway key {key_id} "
                  f"({type(exc).__name__}); run `stockade keys revoke {key_id}`", file=sys.stderr)

    # ledger, from the main thread only
    def record(self, kind: str, details: Mapping[str, Any], decision: str | None = None) -> None:
        # the end and its checkpoint in one round trip to the recorder process
        both = getattr(self.recorder, "append_then_checkpoint_later", None) \
            if kind == "session.end" and os.getpid() != 1 else None
        try:
            if both is not None:
                failed = both(kind, details=details, session=self.id, decision=decision)
                if failed is not None:
                    self._checkpoint_failed(failed)
                return
            self.recorder.append(kind, details=details, session=self.id, decision=decision)
        except Exception as exc:  # noqa: BLE001 - fail closed from here on
            if not self.record_broken:
                self.record_broken = True
                print(f"stockade: the ledger failed ({type(exc).__name__}); refusing every "
                      "further connection of this session", file=sys.stderr)
            if self.proxy is not None:
                self.proxy.refuse_all = ("stockade: the ledger cannot record this session, "
                                         "so no connection is allowed")
            return
        if kind == "session.end":
            self.checkpoint()

    def checkpoint(self) -> None:
        """A signed checkpoint over the session's last event, so a ledger whose
        tail is cut off later fails `stockade ledger verify` (the ledger only
        checkpoints every ``checkpoint_every`` events by itself)."""
        # the recorder process signs after this process is gone (the wait
        # for cryptography and the signature is not the user's), else here
        # (not when this process is a pid namespace's init, e.g. a container's
        # entrypoint: its exit kills the recorder before it could sign)
        later = None if os.getpid() == 1 else getattr(self.recorder, "checkpoint_later", None)
        sign = later or getattr(self.recorder, "checkpoint", None)
        if sign is None:
            return
        try:
            sign()
        except Exception as exc:  # noqa: BLE001 - the session itself is recorded
            self._checkpoint_failed(exc)

    @staticmethod
    def _checkpoint_failed(exc: Exception) -> None:
        message = getattr(exc, "message", type(exc).__name__)
        print(f"stockade: could not sign a ledger checkpoint at the end of this session "
              f"({message})\n  hint: run `stockade ledger verify`", file=sys.stderr)

    def on_gateway(self, info: Mapping[str, Any]) -> None:
        """The session's gateway started: record it, and have the recorder stop
        it should this launcher die without doing so itself."""
        self.record("session.gateway", info)
        pid = info.get("pid")
        watch = getattr(self.recorder, "watch", None)
        if isinstance(pid, int) and watch is not None:
            try:
                watch(pid)
            except Exception as exc:  # noqa: BLE001 - the normal end still stops it
                print(f"stockade: cannot tie the session gateway to this session "
                      f"({type(exc).__name__})", file=sys.stderr)

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
        view = self.view
        self.refusals.add(host, ev.port, reason_for(
            details, kind=ev.kind, source=view.source,
            is_model=lambda h: is_model_host(h, _model_hosts(view))))
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


def run_session(req: RunRequest, d: Any = _deps, *, recorder: Any = None) -> int:
    """Run ``req.command`` in the sandbox; returns its exit status.  ``recorder``:
    a :class:`~stockade.sandbox.recorder.ForkedRecorder` started early (the
    CLI does), else the ledger is opened in this process through ``d``."""
    try:
        return _run_session(req, d, recorder)
    finally:
        if recorder is not None:
            try:
                recorder.close()
            except Exception:  # noqa: BLE001, S110 - closing after the session, whatever it was
                pass


def _run_session(req: RunRequest, d: Any, recorder: Any) -> int:
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
    s.forked = recorder
    if not os.path.isdir(ws):
        raise UsageError(f"workspace {req.workspace} is not a directory",
                         hint="pass --workspace an existing project directory (or leave it out "
                              "to use the current directory)")
    check_not_too_wide(ws, home=os.path.realpath(req.env["HOME"]) if req.env.get("HOME") else None)
    try:
        view = d.load_view(policy_file=req.policy_file, workspace=ws)
        s.view = view
        if s.forked is not None:  # the recorder opens the ledger meanwhile
            s.forked.begin_open(view.ledger)
        # Every check compares resolved paths: a symlinked $HOME or deny_read
        # entry names the same directory as its target.
        home = os.path.realpath(req.env["HOME"]) if req.env.get("HOME") else None
        deny_read = resolved_paths(view.deny_read)
        state = d.state_root()
        check_workspace(ws, home=home, state=os.path.realpath(state), deny_read=deny_read)
        check_grants((*view.read, *view.write))
        return _run(s, ws=ws, bwrap=bwrap, view=view, home=home, state=state,
                    deny_read=deny_read)
    finally:
        s.closing = True
        for rec in (s.recorder, s.forked):
            if rec is not None:
                try:
                    rec.close()
                except Exception:  # noqa: BLE001, S110 - closing after the session
                    pass


def _open_and_start(s: _Session, details: Mapping[str, Any]) -> None:
    """Open the ledger and record session.start; the agent waits for this."""
    _begin_start(s, details)
    _end_start(s, details)


def _begin_start(s: _Session, details: Mapping[str, Any]) -> None:
    """With the recorder process: ask it to open the ledger and record
    session.start, without waiting (it works while the sandbox starts)."""
    if s.forked is None:
        return
    settings = getattr(getattr(s, "view", None), "ledger", None)
    s.forked.begin_open_and_append(settings, "session.start", details=details, session=s.id,
                                   decision="allow")
    s.recorder, s.forked = s.forked, None
    s.start_pending = True


def _end_start(s: _Session, details: Mapping[str, Any]) -> None:
    """session.start is recorded (or the agent is not started)."""
    if s.start_pending:
        s.start_pending = False
        try:
            s.recorder.end_open_and_append()
        except Exception as exc:  # noqa: BLE001 - fail closed, as record() does
            s.record_broken = True
            raise EnvironmentProblem(
                f"cannot record the session in the ledger; not starting the agent "
                f"({getattr(exc, 'message', type(exc).__name__)})",
                hint="check `stockade ledger verify` and the state directory") from None
        return
    if s.recorder is None:
        s.recorder = s.d.open_recorder(getattr(getattr(s, "view", None), "ledger", None))
    s.record("session.start", details, "allow")
    if s.record_broken:
        raise EnvironmentProblem("cannot record the session in the ledger; not starting the agent",
                                 hint="check `stockade ledger verify` and the state directory")


def _run(s: _Session, *, ws: str, bwrap: str | None, view: _deps.PolicyView,
         home: str | None, state: str, deny_read: tuple[str, ...]) -> int:
    from stockade.sandbox.envscrub import scrub
    from stockade.sandbox.presets import login_warning, preset_for
    from stockade.sandbox.verdicts import Verdicts

    req, d = s.req, s.d
    t0 = time.monotonic()
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
    key: str | None = None
    if bwrap is not None and not (req.gateway_url or req.env.get("STOCKADE_GATEWAY_URL")) \
            and any(req.env.get(k) for k in view.model_key_envs):
        # the session's own gateway will hold a vendor key (team mode): the
        # agent gets a stockade key of its own instead, revoked at the end
        key = s.make_session_key()
    try:
        gw = d.ensure_gateway(url=req.gateway_url, env=req.env, session=s.id,
                              workspace=ws if bwrap is not None else None,
                              policy_file=req.policy_file, key=key)
        if getattr(gw, "per_session", False):
            gw.on_start = lambda info: s.events.put(("gateway", info))
        # personal mode: the gateway passes the agent's own login through, so
        # the agent's stored login is shown (read-only); team mode hides it
        personal = gw is not None and not getattr(gw, "key", None)
        preset = preset_for(req.command, home=home, personal=personal) if req.preset else None
        note = dropped_note(scrubbed.dropped, held_by_gateway=view.model_key_envs
                            if gw is not None else ())
        if note:
            print(note, file=sys.stderr)
        warning = login_warning(preset, home=home, env=scrubbed.kept, personal=personal,
                                now=time.time())
        if warning:
            print(warning, file=sys.stderr)
        return _run_with(s, ws=ws, bwrap=bwrap, view=view, home=home, state=state,
                         deny_read=deny_read, preset=preset, scrubbed=scrubbed,
                         command=command, verdicts=verdicts, gw=gw, t0=t0)
    finally:
        s.revoke_session_key()


def _run_with(s: _Session, *, ws: str, bwrap: str | None, view: _deps.PolicyView,
              home: str | None, state: str, deny_read: tuple[str, ...], preset: Any,
              scrubbed: Any, command: list[str], verdicts: Any, gw: Any, t0: float) -> int:
    req = s.req
    mode = "unsafe-no-sandbox" if bwrap is None else ("observe" if req.observe else "enforce")
    start_details: dict[str, Any] = {
        "command": command,
        "workspace": ws,
        "policy_digest": view.digest,
        "policy": view.source,
        "mode": mode,
        "preset": preset.name if preset else None,
        "gateway": None if gw is None else (
            "per-session" if getattr(gw, "per_session", False) else f"{gw.host}:{gw.port}"),
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
        import subprocess

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
    from stockade.sandbox.cmdcheck import unreachable
    from stockade.sandbox.layout import DOT_FILE, JSON_FILE, Layout, build_argv, plan
    from stockade.sandbox.spawn import GO_TRAMPOLINE, Proc, make_runtime_dir, remove_tree, shell_fds
    from stockade.sandbox.standins import StandIns

    req = s.req
    # the session's runtime folder (stand-ins, sanitised gitconfig): in memory
    # where there is a place for it (tmpfs: a disk's metadata writes were up
    # to ms of a start), else $TMPDIR or /tmp
    base = next((b for b in (req.env.get("XDG_RUNTIME_DIR"), "/dev/shm")
                 if b and os.path.isdir(b) and os.access(b, os.W_OK | os.X_OK)), None)
    opener: PortOpener | None = None
    proc: Proc | None = None
    sandbox_fd: int | None = None  # a pidfd of the sandbox's first process, once known
    wall_start = time.time() - 1.0  # before anything of the agent's (ctime is in whole ticks)
    rt = make_runtime_dir(base)
    standins: StandIns | None = None
    acceptors: list[Acceptor] = []
    go_w = -1  # the agent's go: written once session.start is recorded
    try:
        os.mkdir(f"{rt}/empty", 0o555)
        _write(f"{rt}/empty.json", JSON_FILE)
        _write(f"{rt}/empty.file", "")
        gitconfig = None
        if home and os.path.isfile(f"{home}/.gitconfig"):
            try:
                with open(f"{home}/.gitconfig", encoding="utf-8", errors="replace") as f:
                    text = sanitised_gitconfig(f.read())
            except OSError:
                text = ""
            gitconfig = f"{rt}/gitconfig"
            _write(gitconfig, text)
        extras = (*preset.extras, *_session_copies(preset.copies, rt)) if preset else ()

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

        # the runtime folder and, when it is this user's own, its parent:
        # no other session's stand-ins either (spawn.runtime_parent)
        rt_parent = os.path.dirname(rt)
        own = (rt_parent,) if os.path.basename(rt_parent) == f"stockade-{os.getuid()}" else ()
        # the stand-in lock: one for all of this user's sessions, whatever
        # their state directory or runtime base (sandbox/standins.py)
        shared = _standins_folder()
        hidden = set(resolved_paths((state, rt, *own, *((shared,) if shared else ()),
                                     *(preset.hidden if preset else ()))))
        hidden |= {p for p in resolved_paths(view.policy_files) if not _inside(p, ws)}
        layout = Layout(
            workspace=ws, home=home, runtime_dir=rt, empty_dir=f"{rt}/empty",
            empty_json=f"{rt}/empty.json",
            empty_file=f"{rt}/empty.file", write=tuple(p for p in view.write if p != ws),
            read=view.read, deny_read=deny_read, hidden=tuple(sorted(hidden)),
            extras=extras, gitconfig=gitconfig,
            interpreter_prefix=d_interp(s.d),
        )
        # held shared until the session is over: no other session removes a
        # stand-in while this one relies on it (sandbox/standins.py)
        try:
            standins = StandIns(state, shared=shared)
        except TimeoutError as exc:
            raise EnvironmentProblem(f"{exc}; not starting the agent",
                                     hint="try again; if it persists, look for a hung stockade "
                                          "run") from None
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot use the state directory {state} ({exc.strerror or exc}); not starting "
                "the agent", hint="check that it is yours and writable (or set STOCKADE_HOME)"
            ) from None
        p = plan(layout)
        missing = unreachable(req.command[0], env=env, workspace=ws, visible=p.visible,
                              masked=(*deny_read, *hidden), policy=view.source)
        if missing:
            print(missing, file=sys.stderr)  # nothing started: no session to record
            return 127
        for dpath in p.create_dirs:
            standins.create_dir(dpath)
        for fpath in p.create_files:
            standins.create_file(fpath)
        for fpath in p.create_dot_files:
            standins.create_file(fpath, DOT_FILE.encode())
        for fpath in p.create_json_files:
            standins.create_file(fpath, JSON_FILE.encode())
        for fpath in p.create_inert_files:
            standins.create_file(fpath, inert=True)

        # The sandbox's first command waits for a go on a pipe only this
        # process can write (GO_TRAMPOLINE); meanwhile the proxy ports are
        # opened in its network namespace from outside (sandbox/netns.py) and
        # session.start is recorded.  EOF on the pipe (this process died)
        # means no: the agent never runs unrecorded.
        ports = [PROXY_PORT] + ([GATEWAY_PORT] if gw is not None else [])
        go_r, go_w = os.pipe()
        ack_r, ack_w = os.pipe()
        # bubblewrap reads its seccomp filter last, after the mounts, just
        # before it runs the command: the filter is built and written while
        # they are made (_send_filter), not before the spawn
        seccomp_fd, seccomp_w = os.pipe()
        status_r, status_w = os.pipe()
        go_at, ack_at = shell_fds((seccomp_fd, status_w))
        command = ["/bin/sh", "-c", GO_TRAMPOLINE.format(go=go_at, ack=ack_at), "stockade-go",
                   *req.command]
        argv = build_argv(bwrap=bwrap, plan_args=p.args, seccomp_fd=seccomp_fd,
                          status_fd=status_w, command=command)
        if os.environ.get("STOCKADE_DEBUG"):
            shown = argv[:len(argv) - len(req.command)] + list(start_details["command"])
            print("stockade: " + " ".join(shown), file=sys.stderr)
        try:
            proc = Proc(argv, env=env, pass_fds=(seccomp_fd, status_w),
                        dup_to={go_r: go_at, ack_w: ack_at})
        finally:
            os.close(seccomp_fd)
            os.close(status_w)
            os.close(go_r)
            os.close(ack_w)
            if proc is None:
                os.close(seccomp_w)
        # What serves the started sandbox loads while bubblewrap mounts (~1.3
        # ms, with _socket): the agent waits for the mounts, not for the go.
        from stockade.sandbox.netns import NetnsError

        child_fd: int | None = None
        child_pid: int | None = None
        try:
            # before any fork (the port opener's): a copy of the pipe's end
            # left open would keep bubblewrap waiting for the rest
            _send_filter(seccomp_w)
            from stockade.sandbox.netns import PortOpener, first_status_line
            from stockade.sandbox.ports import Acceptor, LazyProxy, bridge

            s.proxy = LazyProxy(lambda: _make_proxy(s, view))
            # forked now, while bubblewrap mounts (and this process still has
            # one thread): it gets ready to join the sandbox's namespaces off
            # the start's critical path (~1-5 ms of it when forked earlier)
            opener = PortOpener()
            _begin_start(s, start_details)  # the recorder works while the sandbox starts
            try:
                first, _ = first_status_line(status_r)
                child_pid = int(first["child-pid"])  # type: ignore[call-overload]
                child_fd = _pidfd(child_pid)  # before it can exit and its pid be reused
                net_ns = first.get("net-namespace")
                listeners = opener.listen_inside(
                    child_pid, ports, net_ns=net_ns if isinstance(net_ns, int) else None)
            except (NetnsError, KeyError, TypeError, ValueError) as exc:
                if _exits_by_itself(proc, within=1.0):
                    raise _NoSandbox from None  # bubblewrap failed, and said why
                raise NetnsError(str(exc)) from None
            _end_start(s, start_details)
        except BaseException as exc:
            proc.kill()  # before the go pipe closes: EOF alone would be a "no" too
            proc.wait()
            if child_fd is not None:
                # still mounting, maybe: gone before its mount points are
                # removed below (else it says so on the terminal)
                _stop_sandbox(child_fd)
                child_fd = None
            os.close(status_r)
            os.close(ack_r)
            os.close(go_w)
            go_w = -1
            if isinstance(exc, (_NoSandbox, NetnsError)):
                err = diagnose_bwrap(bwrap) if isinstance(exc, _NoSandbox) else EnvironmentProblem(
                    f"{exc}; not starting the agent",
                    hint="report this with the output of STOCKADE_DEBUG=1 stockade run ...")
                if s.recorder is not None and not s.record_broken:
                    s.record("session.end", {"exit_status": proc.returncode,
                                             "error": err.message, "mode": "failed"})
                raise err from None
            raise
        sandbox_fd, child_fd = child_fd, None
        # session.start is recorded: the go first, the threads after (each
        # start is a hand-over of the interpreter lock); the agent's first
        # connections wait in the listening sockets' backlog meanwhile
        old_signals = _forward_signals(proc, child_pid)
        try:
            os.write(go_w, b"1\n")
            os.close(go_w)
            go_w = -1
            proxy_port = listeners.pop(PROXY_PORT, None)
            if proxy_port is not None:
                acceptors.append(Acceptor(proxy_port, s.proxy))
            gw_port = listeners.pop(GATEWAY_PORT, None)
            if gw_port is not None and gw is not None:
                target = gw.address
                acceptors.append(Acceptor(gw_port, lambda c: bridge(c, target)))
            for extra in listeners.values():
                extra.close()
            _watch_recorder(s)
            # The proxy is built while the agent starts (while bubblewrap
            # mounts, even): the agent's first connection finds it ready (~2
            # ms of its first byte otherwise, mostly loading _socket).  Not
            # before the go: on two cores it held the interpreter lock
            # against the start-up itself.  Not later either: it would then
            # take that lock from the session's end (measured with the cheap
            # build: ~3 ms more per `-- true` when built on the agent's start).
            # The probe loads the policy's matchers; the name never resolves
            # (RFC 2606) and is not recorded.
            background(_warm_proxy, s.proxy)
            if preset is not None and getattr(gw, "per_session", False):
                # an agent preset talks to its model first thing: warm the gateway now
                background(gw.address)
        except BaseException:
            proc.kill()  # the agent may not run unserved and unwatched
            proc.wait()
            _restore_signals(old_signals)
            raise
        try:
            rc, started = _supervise(s, proc, status_r, ack_r=ack_r)
        finally:
            _restore_signals(old_signals)
        if s.recorder_gone:
            # fail closed: the agent was stopped the moment its recorder died;
            # what it left in the workspace is still said (it cannot be recorded)
            _audit_git(ws, since=wall_start)
            raise EnvironmentProblem(
                "the ledger recorder died during the session, so the agent was stopped "
                f"(it would have run unrecorded; exit status {rc})",
                hint="check `stockade ledger verify` and the state directory, then run it again")
        if not started and rc != 0:
            err = diagnose_bwrap(bwrap)
            s.record("session.end", {"exit_status": rc, "error": err.message, "mode": "failed"})
            raise err
        for acc in acceptors:
            acc.close()
        s.proxy.close()
        _drain(s, deadline=time.monotonic() + 0.5)
        st = s.stats
        git_risks = _audit_git(ws, since=wall_start)
        end = {
            "exit_status": rc, "duration_ms": int((time.monotonic() - t0) * 1000),
            "connections": st.connections, "denied": st.denied, "bytes_up": st.bytes_up,
            "bytes_down": st.bytes_down, "hosts": sorted(st.hosts)[:100],
        }
        if git_risks is not None:
            end["git_repos_running_programs"] = git_risks
        s.record("session.end", end)
        _tell_refusals(s)
        return rc
    finally:
        if gw is not None and hasattr(gw, "close"):
            gw.close()  # the session's own gateway ends with it
        for acc in acceptors:
            acc.close()
        if s.proxy is not None:
            s.proxy.close()
        if go_w >= 0:
            os.close(go_w)
        if proc is not None and proc.poll() is None:
            proc.kill()  # whatever went wrong: the sandbox goes before its stand-ins do
            proc.wait()
        # bubblewrap's outer process exits when the agent does (or dies of a
        # signal, Ctrl-C): the sandbox's first process, and whatever the agent
        # left running, die of it (--die-with-parent) only asynchronously.
        # All of them are gone before their stand-ins are removed; if they
        # cannot be seen gone, the stand-ins stay (listed for the next
        # session that ends alone).
        gone = _stop_sandbox(sandbox_fd) if sandbox_fd is not None else True
        if standins is not None and gone:
            standins.release()
        elif standins is not None:
            print("stockade: the sandbox did not end within 1 s; its guard stand-ins are left "
                  "in the workspace for the next session to remove", file=sys.stderr)
        if opener is not None:
            opener.close()
        remove_tree(rt)


def _audit_git(ws: str, *, since: float) -> list[dict[str, Any]] | None:
    """Repositories the agent made or changed in the workspace whose config
    or hooks run programs (sandbox/gitaudit.py): said on stderr, and
    returned for the ledger (path components that look like credentials
    masked); None when there is nothing to say."""
    from stockade.sandbox.envscrub import has_url_password, high_entropy_token
    from stockade.sandbox.gitaudit import audit, describe

    try:
        found = audit(ws, since=since)
    except Exception as exc:  # noqa: BLE001 - said and recorded; the session itself is over
        why = f"not checked: {type(exc).__name__}"
        print(f"stockade: could not check the workspace for git repositories ({why})",
              file=sys.stderr)
        return [{"path": None, "why": [why]}]

    def masked(text: str) -> str:
        # folder and hook names are the agent's: one that looks like a
        # credential is not repeated
        return "/".join(REDACTED if high_entropy_token(p) or has_url_password(p) else p
                        for p in text.split("/"))

    safe = found._replace(risky=tuple(
        r._replace(path=masked(r.path), why=tuple(masked(w) for w in r.why))
        for r in found.risky))
    try:
        note = describe(safe, ws)
        if note:
            print(note, file=sys.stderr)
    except Exception:  # noqa: BLE001, S110 - the ledger still gets it (e.g. stderr closed)
        pass
    if not found.risky and found.complete:
        return None
    return [{"path": r.path, "why": list(r.why)} for r in safe.risky] + (
        [] if found.complete else [{"path": None, "why": [
            "not fully checked: too large, or a folder could not be read"]}])


def _forward_signals(proc: Proc, init_pid: int) -> dict[int, Any]:
    """From now on SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this process go
    to the agent (the sandbox's pid 2): its pid 1 is bubblewrap's init, which,
    as a pid namespace's init without handlers, ignores every signal from
    outside but SIGKILL.  Without an agent, to bubblewrap (whose death takes
    the sandbox with it).  Installed before the go, so no signal finds the
    default action (this process dead, the agent killed unrecorded).  Returns
    the handlers to restore."""
    # _signal: the signal module builds enums, which nothing here needs
    import _signal  # type: ignore[import-not-found]

    def forward(signum: int, _frame: Any) -> None:
        target = _agent_pid(init_pid)
        try:
            os.kill(target or proc.pid, signum)
        except OSError:
            pass

    old: dict[int, Any] = {}
    try:
        for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT):
            old[sig] = _signal.signal(sig, forward)
    except ValueError:  # not the main thread (a test's): nothing installed there
        _restore_signals(old)
        old = {}
    return old


def _restore_signals(old: dict[int, Any]) -> None:
    import _signal

    for sig, h in old.items():
        _signal.signal(sig, h)


def _agent_pid(init_pid: int) -> int | None:
    """The first child of the sandbox's init (the agent, once the trampoline
    has become it), in this pid namespace; None when there is none."""
    try:
        with open(f"/proc/{init_pid}/task/{init_pid}/children", encoding="ascii") as f:
            kids = f.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids and kids[0].isdigit() else None


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None  # already gone


def _stop_sandbox(fd: int, *, within: float = 1.0) -> bool:
    """Kill the sandbox's first process (and so its pid namespace) and wait
    until it is gone; by a pidfd opened while it was known to be alive, so a
    recycled pid is never signalled.  True once it is gone (at once when it
    was); closes ``fd``.  _signal, not signal: the enums' import is ~1 ms of
    every session's end."""
    import _signal
    import select

    try:
        try:
            _signal.pidfd_send_signal(fd, _signal.SIGKILL)
        except ProcessLookupError:
            pass  # gone already (a zombie, or reaped)
        return bool(select.select([fd], [], [], within)[0])
    except OSError:
        return False
    finally:
        os.close(fd)


def _standins_folder() -> str | None:
    """This user's own folder in /dev/shm (0700, hidden from every sandbox),
    where all of the user's sessions keep the stand-in lock; None when there
    is none to be had (the state directory's lock is used then)."""
    from stockade.sandbox.spawn import runtime_parent

    if not (os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK)):
        return None
    folder = runtime_parent("/dev/shm")
    return folder if os.path.basename(folder) == f"stockade-{os.getuid()}" else None


def _send_filter(fd: int) -> None:
    """Write the seccomp filter on the pipe bubblewrap reads it from, then
    close it.  One write of at most PIPE_BUF bytes into an empty pipe: all
    of it or none (so no prefix of it, which the kernel could accept as a
    weaker program, is ever loaded).  Without it (this process died first)
    bubblewrap's prctl fails on the empty program, and the go never comes
    (tests/sandbox/test_sandbox_seccomp_pipe.py)."""
    try:
        from select import PIPE_BUF

        from stockade.sandbox.seccomp import build_filter

        program = build_filter()
        if len(program) > PIPE_BUF:
            raise ValueError(f"the seccomp filter ({len(program)} bytes) is over PIPE_BUF")
        if os.write(fd, program) != len(program):
            raise OSError("a short write of the seccomp filter")  # not on Linux (PIPE_BUF)
    except BrokenPipeError:
        pass  # bubblewrap is gone: its status pipe says so next
    finally:
        os.close(fd)


def _warm_proxy(proxy: Any) -> None:
    try:
        proxy.warm(("warm-up.invalid", 443))
    except Exception:  # noqa: BLE001, S110 - the agent's first connection builds it and says why
        pass


class _NoSandbox(Exception):
    """bubblewrap exited before the sandbox existed (it said why on stderr)."""


def _exits_by_itself(proc: Proc, *, within: float) -> bool:
    """Did bubblewrap exit with an error by itself (within ``within`` seconds)?"""
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return proc.returncode != 0


def _tell_refusals(s: _Session) -> None:
    """One line per refused destination, on the launcher's stderr, once the
    agent is gone (its terminal is the user's again)."""
    for line in s.refusals.lines(session=s.id):
        print(line, file=sys.stderr)


def _make_proxy(s: _Session, view: _deps.PolicyView) -> Any:
    """The egress proxy for this session (built on its first connection)."""
    from stockade.sandbox.proxy import EgressProxy, ProxyConfig

    extra_models = _model_hosts(view)
    allow_fn = view.allow
    observe = s.req.observe

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
    return EgressProxy(ProxyConfig(
        allow=allow, explain=explain,
        private_ok=lambda host, ip: bool(view.allow_private(ip) or view.allow_private(host)),
        on_event=on_event, upstream=upstream))


def d_interp(d: Any) -> str:
    return str(d.interpreter_prefix())


def _inside(p: str, ws: str) -> bool:
    from stockade.sandbox.layout import _under

    return _under(p, ws)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o444)


def _supervise(s: _Session, proc: Proc, status_r: int, *, ack_r: int) -> tuple[int, bool]:
    """Wait for bubblewrap, recording proxy events as they come (signals are
    relayed by :func:`_forward_signals`).  ``ack_r``: the trampoline's line
    just before it becomes the agent.  Returns (exit status, whether the
    agent started)."""

    status_done = Flag()
    ack_done = Flag()

    def read_status() -> None:
        # drained to the end: bubblewrap writes its exit code there last, and
        # a closed pipe would kill it with SIGPIPE instead
        try:
            with os.fdopen(status_r, "rb") as f:
                while f.read(4096):
                    pass
        finally:
            status_done.set()

    def read_ack() -> None:
        try:
            with os.fdopen(ack_r, "rb") as f:
                if f.read(1):
                    s.events.put(("started", None))
        finally:
            ack_done.set()

    def wait() -> None:
        proc.wait()
        s.events.put(("exit", None))

    background(read_status)
    background(read_ack)
    background(wait)

    started = False
    while True:
        kind, payload = s.events.get()
        if kind == "net":
            s.on_net(payload)
        elif kind == "gateway":
            s.on_gateway(payload)
        elif kind == "started":
            started = True
        elif kind == "recorder-gone" and not s.recorder_gone:
            s.recorder_gone = True
            print("stockade: the ledger recorder died; stopping the agent", file=sys.stderr)
            if s.proxy is not None:
                s.proxy.refuse_all = ("stockade: the ledger cannot record this session, "
                                      "so no connection is allowed")
            proc.kill()  # bubblewrap: the sandbox's pid 1 and everything under it go
        elif kind == "exit":
            break
    rc = proc.returncode if proc.returncode is not None else proc.wait()
    # bubblewrap has exited, so the trampoline's pipe is at EOF: read it to
    # the end before deciding whether the agent ever started
    ack_done.wait(timeout=2.0)
    status_done.wait(timeout=2.0)
    while not started:
        try:
            kind, payload = s.events.get_nowait()
        except Empty:
            break
        if kind == "started":
            started = True
        elif kind == "net":
            s.on_net(payload)
        elif kind == "gateway":
            s.on_gateway(payload)
    if rc < 0:  # bwrap itself killed by a signal
        rc = 128 - rc
    return rc, started


def _watch_recorder(s: _Session) -> None:
    """Tell the main thread when the recorder process dies, whatever the agent
    is doing: an agent that makes no connection would otherwise run on with
    nothing able to record it (the death is only seen on the next record)."""
    pid = getattr(s.recorder, "pid", None)
    if not isinstance(pid, int):
        return  # recorded in this process: nothing to watch
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        s.events.put(("recorder-gone", None))  # already reaped, or no pidfd: fail closed
        return

    def watch() -> None:
        import select

        try:
            select.select([pidfd], [], [])
        except (OSError, ValueError):
            return
        finally:
            os.close(pidfd)
        if not getattr(s, "closing", False):
            s.events.put(("recorder-gone", None))

    background(watch)


def _drain(s: _Session, *, deadline: float) -> None:
    """Record what the proxy still has to say once its connections are cut."""
    while True:
        try:
            kind, payload = s.events.get_nowait()
        except Empty:
            if s.proxy is None or not s.proxy.busy() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
            continue
        if kind == "net":
            s.on_net(payload)
        elif kind == "gateway":
            s.on_gateway(payload)


__all__ = [
    "MODEL_HOSTS",
    "RunRequest",
    "check_grants",
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

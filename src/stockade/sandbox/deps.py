"""The sandbox's one seam to the rest of stockade.

Everything ``stockade run`` needs from other packages goes through here, so the
launcher codes against a few small functions and tests can swap them:

* :func:`load_view`: the policy (``stockade.config.load_policy``) reduced to
  what the sandbox enforces (:class:`PolicyView`);
* :func:`open_recorder`: the ledger (``stockade.ledger.open_ledger``);
* :func:`dlp_flags` / :func:`dlp_rules_digest`: the DLP engine's verdict on an
  environment value or a command argument, and what identifies the rule set
  it came from;
* :func:`ensure_gateway`: where the agent's model traffic goes.

Imports happen inside the functions: ``stockade run -- true`` pays only for
what it uses.
"""

from __future__ import annotations

import os
from types import MappingProxyType

from stockade.errors import EnvironmentProblem, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, NamedTuple, Protocol
else:
    from stockade.lite import NamedTuple

    Protocol = object


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class PolicyView(NamedTuple):
    """What the sandbox enforces, taken from the effective policy."""

    source: str  # shown in refusals: "network.allow of <source>"
    digest: str
    workspace: str
    write: tuple[str, ...]
    read: tuple[str, ...]
    deny_read: tuple[str, ...]
    env_passthrough: tuple[str, ...]
    allow: Callable[[str, int], bool]
    allow_private: Callable[[str], bool]
    upstream_proxy: str | None
    model_hosts: tuple[str, ...] = ()  # from models.upstreams
    # models.upstreams[*].key_env: a gateway with one of them set is in team mode
    model_key_envs: tuple[str, ...] = ()
    dlp_rules: tuple[Any, ...] = ()  # dlp.rules (stockade.dlp.spec.CustomRule)
    policy_files: tuple[str, ...] = ()  # every layer's file: read-only or hidden inside
    identity: Mapping[str, str] = MappingProxyType({})
    ledger: Any = None  # stockade.ledgerconf.LedgerSettings


def load_view(*, policy_file: str | None, workspace: str) -> PolicyView:
    """The policy as the sandbox enforces it, from the authenticated cache
    (:mod:`stockade.sandbox.viewcache`) when nothing it depends on changed."""
    from stockade.sandbox import viewcache

    env = os.environ
    state = state_root()
    key = viewcache.cache_key(policy_file=policy_file, workspace=workspace, env=env)
    data = viewcache.read(state, key)
    if data is not None:
        try:
            return view_from_data(data)
        except (TypeError, ValueError, KeyError):
            pass  # another shape: load the policy
    view, data = _load_view(policy_file=policy_file, workspace=workspace)
    # A file that changed while it was read: what was loaded may be either
    # version, so it belongs under neither key.
    if data is not None and viewcache.cache_key(policy_file=policy_file, workspace=workspace,
                                                env=env) == key:
        viewcache.write(state, key, data)
    return view


def _strs(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError("expected a list of strings")
    return tuple(v)


def _opt_str(v: Any) -> str | None:
    if v is not None and not isinstance(v, str):
        raise TypeError("expected a string or null")
    return v


class LedgerFields(NamedTuple):
    """``stockade.ledgerconf.LedgerSettings``'s fields, as the cache keeps them
    (the recorder process builds the real thing; a dataclass costs start-up)."""

    url: str | None
    durability: str = "process"
    checkpoint_every: int = 1000


class _LazyNetwork:
    """``network.allow`` / ``network.allow_private`` matching for a cached view,
    on the policy's own primitives (:mod:`stockade.config.domains`), built on
    the first question.  The same two rules as
    :class:`stockade.config.model.NetworkPolicy` (tests/sandbox holds them to
    the same answers), without importing the policy model and its dataclasses
    while the agent's first connection waits."""

    def __init__(self, allow: tuple[str, ...], allow_private: tuple[str, ...],
                 upstream_proxy: str | None) -> None:
        self.allow = allow
        self.allow_private = allow_private
        self.upstream_proxy = upstream_proxy
        self._patterns: tuple[Any, ...] | None = None

    def allows(self, host: str, port: int | None = None) -> bool:
        from stockade.config.domains import host_allowed, parse_pattern

        if self._patterns is None:
            self._patterns = tuple(parse_pattern(a) for a in self.allow)
        return host_allowed(self._patterns, host, port)

    def allows_private(self, host: str) -> bool:
        from stockade.config.domains import private_allowed

        return private_allowed(self.allow_private, host)


def view_from_data(data: Mapping[str, Any]) -> PolicyView:
    """A :class:`PolicyView` from the plain form (lists, dicts, strings) :func:`_load_view` caches."""
    net, led, ident = data["network"], data["ledger"], data["identity"]
    if not isinstance(ident, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in ident.items()):
        raise TypeError("identity")
    every = led["checkpoint_every"]
    if not isinstance(led["durability"], str) or type(every) is not int:
        raise TypeError("ledger")
    network = _LazyNetwork(_strs(net["allow"]), _strs(net["allow_private"]),
                           _opt_str(data["upstream_proxy"]))
    for name in ("source", "digest", "workspace"):
        if not isinstance(data[name], str):
            raise TypeError(name)
    return PolicyView(
        ledger=LedgerFields(url=_opt_str(led["url"]), durability=led["durability"],
                            checkpoint_every=every),
        source=data["source"],
        digest=data["digest"],
        workspace=data["workspace"],
        write=_strs(data["write"]),
        read=_strs(data["read"]),
        deny_read=_strs(data["deny_read"]),
        env_passthrough=_strs(data["env_passthrough"]),
        allow=network.allows,
        allow_private=network.allows_private,
        upstream_proxy=network.upstream_proxy,
        model_hosts=_strs(data["model_hosts"]),
        model_key_envs=_strs(data["model_key_envs"]),
        dlp_rules=(),
        policy_files=_strs(data["policy_files"]),
        identity=dict(ident),
    )


def _load_view(*, policy_file: str | None,
               workspace: str) -> tuple[PolicyView, dict[str, Any] | None]:
    """The view from the policy itself, and its cacheable form (None when the
    cache cannot hold it faithfully: custom DLP rules are objects, and a
    ledger URL other than sqlite may carry a password)."""
    from pathlib import Path
    from urllib.parse import urlsplit

    from stockade.config import load_policy

    pol = load_policy(policy_file=policy_file, workspace=Path(workspace))
    files = tuple(str(Path(li.file).expanduser().absolute()) for li in pol.layers if li.file)
    # Name the layer that actually set network.allow, so a refusal points at
    # the file (and line) to change.
    origin = pol.source_of("network.allow")
    source = "the built-in default policy" if origin == "default" else origin
    hosts = []
    key_envs = []
    for up in pol.models.upstreams.values():
        host = urlsplit(up.url).hostname
        if host:
            hosts.append(host.lower())
        if up.key_env:
            key_envs.append(up.key_env)
    ident = {k: v for k, v in (("user", pol.identity.user), ("team", pol.identity.team)) if v}
    from stockade.ledgerconf import ledger_settings

    ledger = ledger_settings(policy=pol)
    view = PolicyView(
        ledger=ledger,
        source=source,
        digest=pol.digest,
        workspace=pol.workspace,
        write=tuple(pol.filesystem.write),
        read=tuple(pol.filesystem.read),
        deny_read=tuple(pol.filesystem.deny_read),
        env_passthrough=tuple(pol.sandbox.env_passthrough),
        allow=pol.network_allows,
        allow_private=pol.network.allows_private,
        upstream_proxy=pol.network.upstream_proxy,
        model_hosts=tuple(hosts),
        model_key_envs=tuple(key_envs),
        dlp_rules=tuple(pol.dlp.rules),
        policy_files=files,
        identity=ident,
    )
    if view.dlp_rules or (ledger.url is not None and not ledger.url.startswith("sqlite:")):
        return view, None
    data = {
        "source": view.source, "digest": view.digest, "workspace": view.workspace,
        "write": list(view.write), "read": list(view.read), "deny_read": list(view.deny_read),
        "env_passthrough": list(view.env_passthrough),
        "network": {"allow": list(pol.network.allow),
                    "allow_private": list(pol.network.allow_private)},
        "upstream_proxy": view.upstream_proxy, "model_hosts": list(view.model_hosts),
        "model_key_envs": list(view.model_key_envs),
        "policy_files": list(view.policy_files), "identity": dict(ident),
        "ledger": {"url": ledger.url, "durability": ledger.durability,
                   "checkpoint_every": ledger.checkpoint_every},
    }
    return view, data


class Recorder(Protocol):
    def append(self, kind: str, *, details: Mapping[str, Any], session: str | None = None,
               decision: str | None = None) -> object: ...

    def close(self) -> None: ...


def open_recorder(settings: Any = None) -> Recorder:
    """The ledger, where every sandbox event goes (raises LedgerError)."""
    from stockade.ledger import open_ledger
    from stockade.ledgerconf import ledger_settings

    st = settings or ledger_settings()
    return open_ledger(st.url, durability=st.durability,
                       checkpoint_every=st.checkpoint_every)


def state_root() -> str:
    """``stockade.state.default_root()``, without importing that module (its
    keys, dataclasses and pathlib) before the sandbox starts; a test holds the
    two to the same answer."""
    home = os.environ.get("STOCKADE_HOME")
    if home:
        return _absolute(os.path.expanduser(home))
    xdg = os.environ.get("XDG_DATA_HOME")
    base = os.path.expanduser(xdg) if xdg else os.path.join(os.path.expanduser("~"),
                                                              ".local", "share")
    return _absolute(os.path.join(base, "stockade"))


def _absolute(path: str) -> str:
    """``str(Path(path).absolute())``: made absolute, ``.`` and repeated
    slashes dropped, ``..`` kept (pathlib does not resolve it either)."""
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


DLP_HINT = ("reinstall stockade: the DLP engine (stockade.dlp) is part of it; "
            "`stockade doctor` shows what is missing")


class DlpUnavailable(EnvironmentProblem):
    """The DLP engine cannot be loaded: values it would have judged cannot be
    judged, so they are not passed on (and the sandbox does not start)."""


def dlp_rules_digest(custom_rules: Sequence[Any] = (), *, folder: str | None = None) -> str:
    """What identifies the DLP rule set without building the engine: the
    engine's own source files (built-in rules, validators, thresholds) and the
    policy's custom rules.  A verdict cached under one digest is never used
    under another, so a rule added or changed takes effect at once.
    Raises :class:`DlpUnavailable` when the engine is not installed.

    The files' bytes are hashed, not what ``stat`` says of them: on read-only
    images (squashfs, erofs: Apptainer, snaps, composefs) and on FUSE or NFS
    mounts, two releases that differ in a same-size edit can show the same
    size, inode and times, and a verdict of the old rules would stand."""
    import stockade
    from stockade.sandbox.viewcache import sha256

    h = sha256(b"stockade-dlp-rules\0")
    # the package's files, found without importing it (its __init__ and
    # pathlib are not needed to read them)
    if folder is None:
        folder = os.path.join(os.path.dirname(os.path.abspath(str(stockade.__file__))), "dlp")
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
        if "__init__.py" not in names:
            raise FileNotFoundError(folder)
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read() + b"\0")
    except OSError as exc:
        raise DlpUnavailable(f"the DLP engine is not installed ({type(exc).__name__})",
                             hint=DLP_HINT) from exc
    h.update(repr(tuple(custom_rules)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:24]


def dlp_flags(custom_rules: Sequence[Any] = ()) -> Callable[[str], bool]:
    """``value -> bool``: does the DLP engine (built-in rules and the policy's
    ``dlp.rules``) find a protected value in it?  Raises
    :class:`DlpUnavailable` when the engine cannot be loaded: the caller must
    not treat an unjudged value as clean."""
    try:
        from stockade.dlp import Engine
    except ImportError as exc:
        raise DlpUnavailable(f"the DLP engine cannot be loaded ({type(exc).__name__})",
                             hint=DLP_HINT) from exc
    engine = Engine(custom_rules=tuple(custom_rules)) if custom_rules else Engine.default()

    def flags(value: str) -> bool:
        return bool(engine.scan(value))

    return flags


class GatewayTarget(NamedTuple):
    """Where the in-sandbox gateway port leads (a TCP address on the host)."""

    host: str
    port: int
    base_path: str  # "" or "/prefix"
    # the per-session token the agent presents; never a vendor key
    key: str | None
    scheme: str = "http"

    def __repr__(self) -> str:  # never the token
        return (f"GatewayTarget(host={self.host!r}, port={self.port!r}, "
                f"base_path={self.base_path!r}, scheme={self.scheme!r})")

    def address(self) -> tuple[str, int] | None:
        """Where to connect now (a per-session gateway starts here)."""
        return self.host, self.port


def ensure_gateway(*, url: str | None, env: Mapping[str, str], session: str,
                   workspace: str | None = None, policy_file: str | None = None,
                   key: str | None = None) -> Any:
    """The gateway this session's model traffic goes to.

    The one named by ``--gateway URL`` (or ``$STOCKADE_GATEWAY_URL``), with the
    token from ``$STOCKADE_GATEWAY_KEY``; else, given the ``workspace``, a
    gateway of the session's own (:class:`stockade.sandbox.sessiongw.SessionGateway`),
    started on first use with the same policy and workspace, the agent
    presenting ``key`` (the per-session stockade key; None in personal mode).
    None means the agent has no model access at all (model API hosts stay
    unreachable through the egress proxy either way).
    """
    url = url or env.get("STOCKADE_GATEWAY_URL")
    if not url:
        if workspace is None:
            return None
        from stockade.sandbox.sessiongw import SessionGateway

        return SessionGateway(session=session, workspace=workspace, policy_file=policy_file,
                              env=env, key=key)
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        # never echo what may be a credential in the URL's user-info part
        shown = f"{parts.scheme}://<redacted>@{parts.hostname or ''}" if "@" in parts.netloc \
            else repr(url)
        raise UsageError(f"--gateway {shown} is not an http(s) URL without user-info",
                         hint="for example --gateway http://127.0.0.1:8787 (the session token "
                              "goes in $STOCKADE_GATEWAY_KEY)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UsageError("--gateway has a bad port",
                         hint="for example --gateway http://127.0.0.1:8787") from None
    return GatewayTarget(parts.hostname, port, parts.path.rstrip("/"),
                         env.get("STOCKADE_GATEWAY_KEY"), parts.scheme)


def session_key_owner(identity: Mapping[str, str],
                      env: Mapping[str, str]) -> tuple[str, str | None]:
    """Whom a per-session key stands for: the policy's identity, else the login."""
    import re

    ok = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
    user = identity.get("user") or env.get("USER") or env.get("LOGNAME") or "stockade-run"
    if not ok.fullmatch(user):
        user = "stockade-run"
    team = identity.get("team")
    return user, team if team and ok.fullmatch(team) else None


def create_session_key(*, user: str, team: str | None) -> tuple[str, str]:
    """A stockade key for one session: (the key, its id to revoke)."""
    from stockade.gateway.keys import create_key
    from stockade.state import StateDir

    key, rec = create_key(StateDir.default(), user=user, team=team)
    return key, rec.id


def revoke_session_key(key_id: str) -> None:
    from stockade.gateway.keys import revoke_key
    from stockade.state import StateDir

    revoke_key(StateDir.default(), key_id)


def interpreter_prefix() -> str:
    """The real installation of the running interpreter (visible inside: the
    agents' hooks run ``python -P -m stockade hook`` there)."""
    import sys

    return os.path.realpath(sys.base_prefix)


__all__ = [
    "DlpUnavailable",
    "GatewayTarget",
    "LedgerFields",
    "PolicyView",
    "Recorder",
    "dlp_flags",
    "dlp_rules_digest",
    "create_session_key",
    "ensure_gateway",
    "interpreter_prefix",
    "load_view",
    "open_recorder",
    "revoke_session_key",
    "session_key_owner",
    "state_root",
]

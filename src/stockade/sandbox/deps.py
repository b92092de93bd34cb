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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stockade.errors import EnvironmentProblem, UsageError


@dataclass(frozen=True, slots=True)
class PolicyView:
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
    dlp_rules: tuple[Any, ...] = ()  # dlp.rules (stockade.dlp.spec.CustomRule)
    policy_files: tuple[str, ...] = ()  # every layer's file: read-only or hidden inside
    identity: Mapping[str, str] = field(default_factory=dict)
    ledger: Any = None  # stockade.ledgerconf.LedgerSettings


def load_view(*, policy_file: str | None, workspace: str) -> PolicyView:
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
    for up in pol.models.upstreams.values():
        host = urlsplit(up.url).hostname
        if host:
            hosts.append(host.lower())
    ident = {k: v for k, v in (("user", pol.identity.user), ("team", pol.identity.team)) if v}
    from stockade.ledgerconf import ledger_settings

    return PolicyView(
        ledger=ledger_settings(policy=pol),
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
        dlp_rules=tuple(pol.dlp.rules),
        policy_files=files,
        identity=ident,
    )


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
    from stockade.state import default_root

    return str(default_root())


DLP_HINT = ("reinstall stockade: the DLP engine (stockade.dlp) is part of it; "
            "`stockade doctor` shows what is missing")


class DlpUnavailable(EnvironmentProblem):
    """The DLP engine cannot be loaded: values it would have judged cannot be
    judged, so they are not passed on (and the sandbox does not start)."""


def dlp_rules_digest(custom_rules: Sequence[Any] = ()) -> str:
    """What identifies the DLP rule set without building the engine: the
    engine's own source (built-in rules, validators, thresholds) and the
    policy's custom rules.  A verdict cached under one digest is never used
    under another, so a rule added or changed takes effect at once.
    Raises :class:`DlpUnavailable` when the engine is not installed."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha256(b"stockade-dlp-rules\0")
    try:
        import stockade.dlp as pkg

        for f in sorted(Path(str(pkg.__file__)).parent.glob("*.py")):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    except (ImportError, OSError) as exc:
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


@dataclass(frozen=True, slots=True)
class GatewayTarget:
    """Where the in-sandbox gateway port leads (a TCP address on the host)."""

    host: str
    port: int
    base_path: str  # "" or "/prefix"
    # the per-session token the agent presents; never a vendor key
    key: str | None = field(repr=False)
    scheme: str = "http"


def ensure_gateway(*, url: str | None, env: Mapping[str, str], session: str) -> GatewayTarget | None:
    """The gateway this session's model traffic goes to.

    Today: the one named by ``--gateway URL`` (or ``$STOCKADE_GATEWAY_URL``), with
    the token from ``$STOCKADE_GATEWAY_KEY``.  Later: start ``stockade gateway`` for
    the session with the same policy and a fresh token, and return it here; the
    launcher does not change.  None means the agent has no model access at all
    (model API hosts stay unreachable through the egress proxy either way).
    """
    from urllib.parse import urlsplit

    del session  # used once the gateway is started per session
    url = url or env.get("STOCKADE_GATEWAY_URL")
    if not url:
        return None
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


def interpreter_prefix() -> str:
    """The real installation of the running interpreter (for the forwarder)."""
    import sys

    return os.path.realpath(sys.base_prefix)


__all__ = [
    "DlpUnavailable",
    "GatewayTarget",
    "PolicyView",
    "Recorder",
    "dlp_flags",
    "dlp_rules_digest",
    "ensure_gateway",
    "interpreter_prefix",
    "load_view",
    "open_recorder",
    "state_root",
]

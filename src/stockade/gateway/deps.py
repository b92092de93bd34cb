"""The one place the gateway touches the policy loader, the DLP engine and the ledger.

Each of those is owned elsewhere; this module turns their objects into what
the gateway needs (a :class:`~stockade.gateway.config.GatewayConfig`, a
``scan(text) -> list[Finding]`` callable, a ``record(...) -> event id``
callable) so a change on their side is a change here only.
"""

from __future__ import annotations

import getpass
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockade.errors import InternalError, LedgerError
from stockade.gateway.config import (
    DEFAULT_UPSTREAMS,
    GatewayConfig,
    Limits,
    Route,
    Upstream,
)
from stockade.model import Actor, Finding
from stockade.state import StateDir

Scanner = Callable[[str], Sequence[Finding]]


def load_config(
    *,
    policy_file: str | None,
    workspace: str | None,
    upstream_overrides: Sequence[Upstream] = (),
    limits: Limits = Limits(),
) -> tuple[GatewayConfig, Any]:
    """The gateway's configuration and the loaded policy object (for the DLP engine
    and the ledger).  ``--upstream`` overrides replace policy upstreams by name."""
    from stockade.config import load_policy

    policy = load_policy(policy_file=policy_file, workspace=workspace)
    upstreams: dict[str, Upstream] = {}
    for name, up in policy.models.upstreams.items():
        proto = up.protocol if up.protocol in ("anthropic", "chat", "responses") else "chat"
        upstreams[name] = Upstream(name=name, url=up.url.rstrip("/"), protocol=proto,
                                   key_env=up.key_env, models=tuple(up.models))
    if not upstreams:
        for name, (url, key_env, proto) in DEFAULT_UPSTREAMS.items():
            upstreams[name] = Upstream(name=name, url=url, protocol=proto, key_env=key_env)
    for over in upstream_overrides:
        old = upstreams.get(over.name)
        upstreams[over.name] = Upstream(
            name=over.name, url=over.url,
            protocol=old.protocol if old else over.protocol,
            key_env=old.key_env if old else over.key_env,
            models=old.models if old else (),
        )
    routes = tuple(Route(upstream=r.upstream, label=r.label, team=r.team,
                         repository=r.repository, model=r.model) for r in policy.models.routes)
    actions = dict(policy.dlp.actions) or {"secret": "redact", "pii": "redact"}
    content = policy.ledger.content if policy.ledger.content in (
        "full", "redacted", "hash", "none") else "redacted"
    cfg = GatewayConfig(
        upstreams=upstreams, routes=routes, actions=actions,
        ledger_content=content,  # type: ignore[arg-type]
        user=policy.identity.user or _login(), team=policy.identity.team, limits=limits,
    )
    return cfg, policy


def _login() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name is not an error
        return None


def dlp_scanner(policy: Any, *, fingerprint_key: bytes | None = None) -> tuple[Scanner, str]:
    """The DLP engine for this policy (custom rules, dictionaries, allowlist), and
    its name.  Without ``stockade.dlp.Engine`` the gateway would use
    :func:`_interim_scanner` and say so at start-up."""
    try:
        from stockade.dlp import Engine
    except ImportError:  # pragma: no cover - only while the DLP package is absent
        return _interim_scanner, "interim (stockade.dlp.Engine not available)"
    dlp_policy = getattr(policy, "dlp", None)
    if dlp_policy is None:
        engine = Engine.default()
    else:
        engine = Engine(custom_rules=dlp_policy.rules, dictionaries=dlp_policy.dictionaries,
                        allowlist=dlp_policy.allowlist, fingerprint_key=fingerprint_key)
    scan = engine.scan

    def run(text: str) -> Sequence[Finding]:
        return scan(text)

    name = "stockade.dlp" + (" (hyperscan)" if engine.accelerated else "")
    return run, name


_INTERIM_RULES = (
    ("aws-access-key-id", "secret", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", "secret", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("private-key", "secret", re.compile(
        r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----")),
)


def _interim_scanner(text: str) -> list[Finding]:
    """A few unambiguous secret shapes, used only while the DLP engine is missing."""
    out: list[Finding] = []
    for rule_id, label, rx in _INTERIM_RULES:
        for m in rx.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            out.append(Finding(rule_id=rule_id, label=label, start=m.start(), end=m.end(),
                               line=line, column=col, end_line=line, end_column=col,
                               confidence=0.9, preview=m.group()[:4] + "****"))
    return sorted(out, key=lambda f: f.start)


@dataclass
class LedgerSink:
    """Appends gateway events; returns the event's id as users look it up."""

    append: Callable[..., Any]
    close: Callable[[], None]

    def record(self, kind: str, *, details: Mapping[str, Any], session: str | None,
               decision: str | None, actor: Actor | None) -> str:
        try:
            ev = self.append(kind, details=dict(details), session=session,
                             decision=decision, actor=actor)
        except Exception as exc:  # noqa: BLE001 - the caller fails closed on this
            raise LedgerError(f"ledger append failed: {type(exc).__name__}") from None
        for attr in ("event_id", "id", "seq"):
            val = getattr(ev, attr, None)
            if val is not None:
                return str(val)
        if isinstance(ev, (int, str)):
            return str(ev)
        raise InternalError("ledger append returned no event id")


def open_ledger_sink(policy: Any, state: StateDir) -> LedgerSink:
    from stockade.ledger import open_ledger

    lp = getattr(policy, "ledger", None)
    kwargs: dict[str, Any] = {"state": state}
    if lp is not None:
        kwargs.update(durability=lp.durability, checkpoint_every=lp.checkpoint_every)
    ledger = open_ledger(getattr(lp, "url", None), **kwargs)
    return LedgerSink(append=ledger.append, close=getattr(ledger, "close", lambda: None))


class MemoryLedger:
    """An in-process ledger for tests and benchmarks of the gateway alone."""

    def __init__(self, path: Path | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._path = path

    def append(self, kind: str, *, details: dict[str, Any], session: str | None = None,
               decision: str | None = None, actor: Actor | None = None) -> int:
        with self._lock:
            ev = {"seq": len(self.events) + 1, "kind": kind, "details": details,
                  "session": session, "decision": decision,
                  "actor": actor.to_dict() if actor else None}
            self.events.append(ev)
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(ev) + "\n")
            return int(ev["seq"])

    def sink(self) -> LedgerSink:
        return LedgerSink(append=self.append, close=lambda: None)

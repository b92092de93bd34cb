"""The one place the gateway touches the policy loader, the DLP engine and the ledger.

Each of those is owned elsewhere; this module turns their objects into what
the gateway needs (a :class:`~stockade.gateway.config.GatewayConfig`, a
``scan(text) -> list[Finding]`` callable, a ``record(...) -> event id``
callable) so a change on their side is a change here only.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

from stockade.errors import EnvironmentProblem, InternalError, LedgerError
from stockade.gateway.config import (
    DEFAULT_UPSTREAMS,
    GatewayConfig,
    Limits,
    Upstream,
)
from stockade.model import Actor, Finding
from stockade.state import StateDir
from stockade.ledger.core import LedgerBusy as LedgerBusy  # re-exported for the recorder
from stockade.ledger.core import nowait

# for the recorder: appends on the event loop that store at once or give up
ledger_nowait = nowait

Scanner = Callable[[str], Sequence[Finding]]
DEFAULT_LIMITS = Limits()


def load_config(
    *,
    policy_file: str | None,
    workspace: str | None,
    upstream_overrides: Sequence[Upstream] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[GatewayConfig, Any]:
    """The gateway's configuration and the loaded policy object (for the DLP engine
    and the ledger).  ``--upstream`` overrides replace policy upstreams by name."""
    from stockade.config import load_policy

    policy = load_policy(policy_file=policy_file, workspace=workspace)
    return config_from_policy(policy, upstream_overrides=upstream_overrides,
                              limits=limits), policy


def config_from_policy(policy: Any, *, upstream_overrides: Sequence[Upstream] = (),
                       limits: Limits = DEFAULT_LIMITS) -> GatewayConfig:
    """Pure: a loaded policy (+ overrides) -> :class:`GatewayConfig`.  Anything the
    gateway could not carry out as written raises (never a silent default)."""
    upstreams: dict[str, Upstream] = {}
    for name, up in policy.models.upstreams.items():
        upstreams[name] = Upstream(name=name, url=up.url.rstrip("/"), protocol=up.protocol,
                                   key_env=up.key_env, models=tuple(up.models),
                                   fallback=tuple(up.fallback),
                                   max_tokens=getattr(up, "max_tokens", None))
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
            fallback=old.fallback if old else (),
            max_tokens=old.max_tokens if old else None,
        )
    return GatewayConfig(
        upstreams=upstreams, routes=tuple(policy.models.routes),
        actions=dict(policy.dlp.actions) or {"secret": "redact", "pii": "redact"},
        ledger_content=policy.ledger.content,
        user=policy.identity.user or _login(), team=policy.identity.team,
        limits=limits,
    )


def _login() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name is not an error
        return None


def dlp_scanner(policy: Any, *, fingerprint_key: bytes | None = None) -> tuple[Scanner, str]:
    """The DLP engine for this policy (custom rules, dictionaries, allowlist), and
    its name.  Without the engine there is no gateway: it refuses to start rather
    than forward anything a lesser scanner would miss."""
    try:
        from stockade.dlp import Engine
    except ImportError as exc:
        raise EnvironmentProblem(
            f"the DLP engine (stockade.dlp) cannot be loaded: {type(exc).__name__}: {exc}",
            hint="reinstall stockade (pip install --force-reinstall stockade); the gateway "
                 "will not forward requests it cannot inspect") from None
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


class Record(NamedTuple):
    """One gateway event to store (see :meth:`LedgerSink.record_many`)."""

    kind: str
    details: Mapping[str, Any]
    session: str | None
    decision: str | None
    actor: Actor | None


@dataclass
class LedgerSink:
    """Appends gateway events; returns the event's id as users look it up.

    ``batch``: the ledger's ``Ledger.batch`` (one transaction for many events),
    when it has one; without it events are appended one by one."""

    append: Callable[..., Any]
    close: Callable[[], None]
    batch: Callable[[], AbstractContextManager[Any]] | None = None

    def record_many(self, records: Sequence[Record]) -> list[str | Exception]:
        """Store ``records``; one result each, in order: the event id, or the error
        that kept it out.  A :class:`~stockade.ledger.LedgerBusy` result (only under
        ``nowait``) means nothing of it was stored: append it where waiting is allowed.
        With ``batch``, all that could be rendered is stored in one transaction (all
        or none: a failed commit fails each of them)."""
        if self.batch is None:
            return self._one_by_one(records)
        results: list[str | Exception | None] = []
        kept: list[int] = []
        try:
            with self.batch() as b:
                for i, r in enumerate(records):
                    try:
                        b.append(r.kind, details=dict(r.details), session=r.session,
                                 decision=r.decision, actor=r.actor)
                    except Exception as exc:  # noqa: BLE001 - this event only; logged by the caller
                        results.append(LedgerError(f"ledger append failed: "
                                                   f"{type(exc).__name__}"))
                        continue
                    results.append(None)
                    kept.append(i)
            seqs = b.seqs
        except LedgerBusy as exc:
            return [exc if r is None else r for r in results]
        except Exception as exc:  # noqa: BLE001 - the caller fails closed on this
            err = LedgerError(f"ledger append failed: {type(exc).__name__}")
            return [err if r is None else r for r in results]
        for i, seq in zip(kept, seqs, strict=True):
            results[i] = str(seq)
        return [r for r in results if r is not None]

    def _one_by_one(self, records: Sequence[Record]) -> list[str | Exception]:
        out: list[str | Exception] = []
        for n, r in enumerate(records):
            try:
                out.append(self.record(r.kind, details=r.details, session=r.session,
                                       decision=r.decision, actor=r.actor))
            except LedgerBusy as exc:  # under nowait: this one and the rest go to the thread
                return out + [exc] * (len(records) - n)
            except LedgerError as exc:
                out.append(exc)
        return out

    def record(self, kind: str, *, details: Mapping[str, Any], session: str | None,
               decision: str | None, actor: Actor | None) -> str:
        try:
            ev = self.append(kind, details=dict(details), session=session,
                             decision=decision, actor=actor)
        except LedgerBusy:
            raise  # nothing stored (under nowait): the caller appends it where it may wait
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
    return LedgerSink(append=ledger.append, close=getattr(ledger, "close", lambda: None),
                      batch=getattr(ledger, "batch", None))

"""The tamper-evident ledger: one append-only, hash-chained record of
everything stockade sees and decides.

    from stockade.ledger import open_ledger

    with open_ledger() as ledger:                       # $STOCKADE_HOME/ledger.db
        ev = ledger.append("tool.call", session="s1", decision="allow",
                           details={"tool": "Bash", "rule_ids": []})
        report = ledger.verify()                        # raises LedgerTamperError

Details must never hold a protected value: store rule ids, locations, masked
previews and keyed hashes.  See docs/ledger.md for the format.

The names below are loaded on first use (PEP 562): ``import stockade.ledger``
costs nothing, and a process that only appends (the sandbox's recorder, a
hook) never loads what only verifying needs.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from stockade.ledger.checkpoint import Checkpoint, key_fingerprint, load_public_key
    from stockade.ledger.core import (
        Batch,
        Ledger,
        LedgerBusy,
        NewEvent,
        NoWait,
        nowait,
        open_ledger,
    )
    from stockade.ledger.event import (
        Event,
        canonical_json,
        default_actor,
        format_ts,
        parse_ts,
        validate_kind,
    )
    from stockade.ledger.verify import VerifyReport

# public name -> the module that defines it
_WHERE = {
    "Checkpoint": "checkpoint", "key_fingerprint": "checkpoint",
    "load_public_key": "checkpoint",
    "Batch": "core", "Ledger": "core", "LedgerBusy": "core", "NewEvent": "core",
    "NoWait": "core", "nowait": "core", "open_ledger": "core",
    "Event": "event", "canonical_json": "event", "default_actor": "event",
    "format_ts": "event", "parse_ts": "event", "validate_kind": "event",
    "VerifyReport": "verify",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(f"{__name__}.{module}")  # not importlib: it brings warnings (start-up path)
    value = getattr(sys.modules[f"{__name__}.{module}"], name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})

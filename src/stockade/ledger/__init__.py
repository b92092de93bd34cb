"""The tamper-evident ledger: one append-only, hash-chained record of
everything stockade sees and decides.

    from stockade.ledger import open_ledger

    with open_ledger() as ledger:                       # $STOCKADE_HOME/ledger.db
        ev = ledger.append("tool.call", session="s1", decision="allow",
                           details={"tool": "Bash", "rule_ids": []})
        report = ledger.verify()                        # raises LedgerTamperError

Details must never hold a protected value: store rule ids, locations, masked
previews and keyed hashes.  See docs/ledger.md for the format.
"""

from stockade.ledger.checkpoint import Checkpoint, key_fingerprint, load_public_key
from stockade.ledger.core import Batch, Ledger, LedgerBusy, NewEvent, NoWait, nowait, open_ledger
from stockade.ledger.event import (
    Event,
    canonical_json,
    default_actor,
    format_ts,
    parse_ts,
    validate_kind,
)
from stockade.ledger.verify import VerifyReport

__all__ = [
    "Batch",
    "Checkpoint",
    "Event",
    "Ledger",
    "LedgerBusy",
    "NewEvent",
    "NoWait",
    "VerifyReport",
    "canonical_json",
    "default_actor",
    "format_ts",
    "key_fingerprint",
    "load_public_key",
    "nowait",
    "open_ledger",
    "parse_ts",
    "validate_kind",
]

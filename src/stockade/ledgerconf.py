"""Which ledger a process writes to, and how: one rule for every component.

Precedence: an explicit URL (``--ledger``), then ``$STOCKADE_LEDGER``, then the
policy's ``ledger.url``, then the state directory's ``ledger.db``.  Durability
and checkpoint interval come from the policy's ``ledger`` section.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

ENV_LEDGER = "STOCKADE_LEDGER"


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    url: str | None
    durability: str = "process"
    checkpoint_every: int = 1000


def ledger_settings(*, explicit_url: str | None = None, policy: Any = None) -> LedgerSettings:
    """``policy`` is a loaded :class:`stockade.config.Policy` or ``None``."""
    lp = getattr(policy, "ledger", None)
    url = explicit_url or os.environ.get(ENV_LEDGER) or getattr(lp, "url", None)
    return LedgerSettings(
        url=url,
        durability=getattr(lp, "durability", None) or "process",
        checkpoint_every=int(getattr(lp, "checkpoint_every", None) or 1000),
    )

"""An in-process ledger for tests of the gateway alone (no sqlite, no signing)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from stockade.gateway.deps import LedgerSink
from stockade.model import Actor


class MemoryLedger:
    """Keeps events as plain dicts in ``events``; optionally mirrors them to a JSONL file."""

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

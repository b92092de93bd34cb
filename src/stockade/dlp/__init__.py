"""Data-loss prevention: find credentials, personal data and policy-defined
terms in text.

    from stockade.dlp import Engine
    findings = Engine.default().scan(text, path="config/app.env")

Findings carry offsets, a masked preview and optionally a keyed fingerprint,
never the value.  The engine is imported lazily (PEP 562): importing
``stockade.dlp.spec`` for a policy must not pay for compiling the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stockade.dlp.engine import MAX_SPAN, Engine
    from stockade.dlp.rule import RuleInfo

__all__ = ["MAX_SPAN", "Engine", "RuleInfo"]


def __getattr__(name: str) -> Any:
    if name in ("MAX_SPAN", "Engine"):
        from stockade.dlp import engine

        return getattr(engine, name)
    if name == "RuleInfo":
        from stockade.dlp.rule import RuleInfo

        return RuleInfo
    raise AttributeError(f"module 'stockade.dlp' has no attribute {name!r}")

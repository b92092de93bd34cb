"""Data-loss prevention: find credentials, personal data and policy-defined
terms in text.

    from stockade.dlp import Engine
    findings = Engine.default().scan(text, path="config/app.env")

Findings carry offsets, a masked preview and optionally a keyed fingerprint,
never the value.
"""

from stockade.dlp.engine import MAX_SPAN, Engine
from stockade.dlp.rule import RuleInfo

__all__ = ["MAX_SPAN", "Engine", "RuleInfo"]

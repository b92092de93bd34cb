"""Masked previews: enough to recognise a finding, never enough to use it."""

from __future__ import annotations

_MAX_STARS = 12


def mask(value: str, *, keep_prefix: int = 0) -> str:
    """Keep at most a known, non-secret prefix (``ghp_``, ``AKIA``) and the
    last two characters, never more than a quarter of the value in all;
    everything else becomes ``*`` (at most a dozen, so long values stay short
    and the length is not spelled out)."""
    value = value.replace("\r", "").replace("\n", " ")
    n = len(value)
    budget = n // 4
    head = keep_prefix if 0 < keep_prefix <= budget else 0
    tail = 2 if n >= 16 and head + 2 <= budget else 0
    hidden = n - head - tail
    stars = "*" * max(3, min(hidden, _MAX_STARS))
    return value[:head] + stars + (value[n - tail :] if tail else "")

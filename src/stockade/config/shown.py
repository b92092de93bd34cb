"""How a policy error shows a value the user wrote.

Policy errors are printed by every command (run, gateway, the hooks), so a
key pasted into the wrong place must not come back out on the terminal, in
CI logs or in the ledger.  A value is echoed only when it is clearly
harmless: short, one word of ordinary characters, no long letter+digit run,
and the DLP engine finds nothing in it.  Anything else is shown as its first
characters and its length, like the ``key_env`` check always did.
"""

from __future__ import annotations

import re

# Short words, domains, paths and enum values: what a typo usually looks like.
_PLAIN = re.compile(r"[A-Za-z0-9_.:/*~@+\-\[\]${}]{1,64}")
# A long run mixing letters and digits reads like a random token even when no
# rule knows its format.
_TOKENISH = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}"
)


def masked(text: str) -> str:
    """A preview of a value that may be a credential: its first characters
    and its length, never enough to use it."""
    t = text.strip()
    if len(t) < 12:
        return f"a {len(t)}-character value"
    return f"{t[:4]!r}... ({len(t)} characters)"


def harmless(text: str) -> bool:
    """True when ``text`` can be echoed: see the module docstring."""
    if not _PLAIN.fullmatch(text) or _TOKENISH.search(text):
        return False
    # Imported here: loading a valid policy must not pay for compiling rules.
    try:
        from stockade.dlp import Engine

        return not Engine.default().scan(text)
    except Exception:  # noqa: BLE001 - no engine (broken install): mask, fail closed
        return False


def shown(value: object) -> str:
    """``value`` as an error message may show it: quoted when harmless,
    masked otherwise; non-strings by their type (a number is harmless)."""
    if isinstance(value, str):
        return repr(value) if harmless(value) else masked(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return str(value)
    return f"a {type(value).__name__}"


def bare(value: str) -> str:
    """Like :func:`shown` but unquoted, for a value inside a sentence or hint."""
    return value if harmless(value) else masked(value)


def shown_path(key: str) -> str:
    """A dotted key path with every part that is not harmless masked."""
    parts = key.split(".")
    if all(harmless(p) for p in parts if p):
        return key
    return ".".join(p if not p or harmless(p) else f"<{masked(p)}>" for p in parts)


__all__ = ["bare", "harmless", "masked", "shown", "shown_path"]

"""Reversible redaction: protected values out, typed placeholders in, and back.

``redact`` replaces each finding's value by a placeholder such as
``STOCKADE_REDACTED_SECRET_AWS_ACCESS_KEY_ID_3_k2m9x4q7w1ht``.  The shape is
chosen for the model on the other side of the gateway:

* only ``[A-Za-z0-9_]``, so JSON escaping, shell quoting and most tokenisers
  leave it intact and the model can copy it verbatim;
* it names the kind of value (label and rule), so the model understands what
  stands there and does not try to "fix" it;
* it ends with a per-vault random nonce, so it cannot collide with text that
  was already in the request, nor with another vault's placeholders.

``restore`` (whole text) and :class:`Restorer` (streamed text) put the values
back.  The restorer holds back only a suffix that could still become a
placeholder, never more, so streamed output is delayed by at most one
placeholder's length.  In JSON-string mode (tool-call arguments streamed as
partial JSON) a restored value is JSON-escaped, so a PEM key's newlines become
``\\n`` and the arguments still parse.

The :class:`Vault` keeps values in memory only.  Its repr shows counts; it
refuses to be pickled or copied by accident; ``unsafe_export`` is the one
explicit way out.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from typing import Any, NoReturn

from stockade.errors import StockadeError
from stockade.model import Finding

PREFIX = "STOCKADE_REDACTED_"
_NONCE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_NONCE_LEN = 12  # 36**12 ~ 2**62: a collision with real text is not a concern
_KIND_MAX = 48
_NON_WORD = re.compile(r"[^A-Z0-9]+")


class VaultError(StockadeError):
    """A vault was misused (e.g. an export from another format)."""


def _kind(finding: Finding) -> str:
    """``SECRET_AWS_ACCESS_KEY_ID`` from label ``secret`` and rule ``aws-access-key-id``.

    Only capitals, digits and single underscores; never contains the nonce
    alphabet's lower case, never contains PREFIX (so the last PREFIX before a
    nonce is always the start of the placeholder)."""
    label = _NON_WORD.sub("_", finding.label.upper()).strip("_") or "VALUE"
    rule = _NON_WORD.sub("_", finding.rule_id.upper()).strip("_")
    if rule.startswith(label + "_") or rule == label:
        rule = rule[len(label) + 1:]
    kind = f"{label}_{rule}" if rule else label
    kind = kind[:_KIND_MAX].rstrip("_")
    if "STOCKADE" in kind:
        kind = label if "STOCKADE" not in label else "VALUE"
    return kind


class Vault:
    """Placeholder <-> value map for one conversation or request.

    Values live only in this object's memory.  ``repr`` shows counts only.
    """

    __slots__ = ("_by_placeholder", "_by_value", "_nonce", "_origin", "_version")

    def __init__(self, *, nonce: str | None = None) -> None:
        if nonce is None:
            nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(_NONCE_LEN))
        if len(nonce) < 8 or any(c not in _NONCE_ALPHABET for c in nonce):
            raise VaultError("vault nonce must be at least 8 characters of [a-z0-9]")
        self._nonce = nonce
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._origin: dict[str, tuple[str, str]] = {}  # value -> (rule id, label)
        self._version = 0

    # -- the map ---------------------------------------------------------
    @property
    def nonce(self) -> str:
        return self._nonce

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def placeholder_for(self, value: str, *, kind: str,
                        origin: tuple[str, str] | None = None) -> str:
        """The placeholder for ``value``; the same value always gets the same one.
        ``origin``: (rule id, label) of the finding it was (see :meth:`known`)."""
        existing = self._by_value.get(value)
        if existing is not None:
            return existing
        placeholder = f"{PREFIX}{kind}_{len(self._by_placeholder) + 1}_{self._nonce}"
        self._by_value[value] = placeholder
        self._by_placeholder[placeholder] = value
        if origin is not None:
            self._origin[value] = origin
        self._version += 1
        return placeholder

    def known(self) -> list[tuple[str, str, str]]:
        """(value, rule id, label) of every value this vault holds with its
        origin: a value restored into a response comes back in the next
        request's history, where the context that found it may be gone."""
        return [(v, *o) for v, o in self._origin.items()]

    def value_of(self, placeholder: str) -> str | None:
        return self._by_placeholder.get(placeholder)

    def placeholders(self) -> tuple[str, ...]:
        return tuple(self._by_placeholder)

    @property
    def version(self) -> int:
        """Changes whenever a placeholder is added (restorers cache on it)."""
        return self._version

    def restorer(self, *, json_string: bool = False) -> Restorer:
        """A streaming restorer; ``json_string=True`` JSON-escapes restored values."""
        return Restorer(self, json_string=json_string)

    # -- never leak by accident ------------------------------------------
    def __repr__(self) -> str:
        return f"Vault(placeholders={len(self._by_placeholder)})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise VaultError(
            "a vault cannot be pickled or copied",
            hint="use Vault.unsafe_export() if the values must leave this process",
        )

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def unsafe_export(self) -> dict[str, Any]:
        """Every value in clear.  The one explicit way to serialise a vault."""
        return {
            "version": 1,
            "nonce": self._nonce,
            "entries": [[p, v] for p, v in self._by_placeholder.items()],
        }

    @classmethod
    def unsafe_import(cls, data: dict[str, Any]) -> Vault:
        if not isinstance(data, dict) or data.get("version") != 1:
            raise VaultError("not a stockade vault export (version 1)")
        vault = cls(nonce=str(data.get("nonce", "")))
        for item in data.get("entries", []):
            placeholder, value = item
            if not (isinstance(placeholder, str) and isinstance(value, str)):
                raise VaultError("vault export entries must be [placeholder, value] strings")
            if not placeholder.startswith(PREFIX) or not placeholder.endswith("_" + vault.nonce):
                raise VaultError("vault export holds a placeholder of another vault")
            vault._by_value.setdefault(value, placeholder)
            vault._by_placeholder[placeholder] = value
        vault._version = len(vault._by_placeholder)
        return vault


def merged_spans(findings: Iterable[Finding], length: int) -> list[tuple[int, int, Finding]]:
    """Findings as sorted, merged, in-range spans.

    The engine promises sorted, non-overlapping findings; redaction must not
    leak if it is handed anything else, so overlaps are merged (the first
    finding names the merged span)."""
    spans: list[tuple[int, int, Finding]] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        start, end = max(0, f.start), min(length, f.end)
        if end <= start:
            continue
        if spans and start < spans[-1][1]:
            prev_start, prev_end, prev = spans[-1]
            spans[-1] = (prev_start, max(prev_end, end), prev)
        else:
            spans.append((start, end, f))
    return spans


def mask_findings(text: str, findings: Iterable[Finding]) -> str:
    """``text`` for display: each finding replaced by its masked preview.
    Overlapping findings are merged first (a policy rule may overlap a
    built-in one), so no tail of a value is left in clear."""
    from stockade.dlp.mask import mask

    out: list[str] = []
    pos = 0
    for start, end, f in merged_spans(findings, len(text)):
        out.append(text[pos:start])
        out.append(f.preview if (start, end) == (f.start, f.end) else mask(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def redact(
    text: str, findings: Iterable[Finding], *, vault: Vault | None = None
) -> tuple[str, Vault]:
    """Replace each finding's value in ``text`` by its placeholder.

    Pass the conversation's ``vault`` to keep placeholders stable across
    requests; a new vault is created otherwise.  Returns the redacted text and
    the vault that can restore it."""
    if vault is None:
        vault = Vault()
    parts: list[str] = []
    pos = 0
    for start, end, finding in merged_spans(findings, len(text)):
        parts.append(text[pos:start])
        parts.append(vault.placeholder_for(text[start:end], kind=_kind(finding),
                                           origin=(finding.rule_id, finding.label)))
        pos = end
    if not parts:
        return text, vault
    parts.append(text[pos:])
    return "".join(parts), vault


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _restore_complete(text: str, vault: Vault, *, json_string: bool) -> str:
    """Replace every complete placeholder of ``vault`` in ``text``."""
    nonce = vault.nonce
    find = text.find
    if find(nonce) < 0:
        return text
    parts: list[str] = []
    pos = 0
    search = 0
    while True:
        j = find(nonce, search)
        if j < 0:
            break
        end = j + len(nonce)
        # A placeholder's kind never contains PREFIX, so the last PREFIX before
        # the nonce is where this placeholder (if it is one) starts.
        start = text.rfind(PREFIX, pos, j)
        value = vault.value_of(text[start:end]) if start >= 0 else None
        if value is not None:
            parts.append(text[pos:start])
            parts.append(_json_escape(value) if json_string else value)
            pos = end
        search = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def restore(text: str, vault: Vault, *, json_string: bool = False) -> str:
    """Put the values back into ``text``.  Unknown placeholders stay as they are.

    With ``json_string=True`` the text is (part of) a JSON document and the
    values are JSON-escaped (for placeholders inside JSON strings)."""
    return _restore_complete(text, vault, json_string=json_string)


class Restorer:
    """Restores placeholders in a stream of chunks.

    ``feed`` returns what can be released now; it keeps back only a suffix
    that is a proper prefix of one of the vault's placeholders.  ``flush``
    releases the rest at the end of the stream.
    """

    __slots__ = ("_held", "_json", "_max", "_prefix_version", "_prefixes", "_vault")

    def __init__(self, vault: Vault, *, json_string: bool = False) -> None:
        self._vault = vault
        self._json = json_string
        self._held = ""
        self._prefixes: frozenset[str] = frozenset()
        self._prefix_version = -1
        self._max = 0

    def __repr__(self) -> str:
        return f"Restorer(json_string={self._json}, held_chars={len(self._held)})"

    def _refresh(self) -> None:
        if self._prefix_version == self._vault.version:
            return
        prefixes: set[str] = set()
        longest = 0
        for p in self._vault.placeholders():
            longest = max(longest, len(p))
            prefixes.update(p[:i] for i in range(1, len(p)))
        self._prefixes = frozenset(prefixes)
        self._max = longest
        self._prefix_version = self._vault.version

    def _hold_from(self, buf: str) -> int:
        """Index where the longest suffix that may still grow into a placeholder starts."""
        self._refresh()
        if not self._prefixes:
            return len(buf)
        first = max(0, len(buf) - self._max + 1)
        k = buf.find("S", first)
        while k >= 0:
            if buf[k:] in self._prefixes:
                return k
            k = buf.find("S", k + 1)
        return len(buf)

    def feed(self, chunk: str) -> str:
        buf = self._held + chunk if self._held else chunk
        cut = self._hold_from(buf)
        self._held = buf[cut:]
        return _restore_complete(buf[:cut], self._vault, json_string=self._json)

    def flush(self) -> str:
        buf, self._held = self._held, ""
        return _restore_complete(buf, self._vault, json_string=self._json)


__all__ = ["PREFIX", "Restorer", "Vault", "VaultError", "redact", "restore"]

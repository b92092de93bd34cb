"""Canonical JSON: the one serialisation that is hashed or signed anywhere.

Keys sorted, no whitespace, UTF-8, and no NaN or infinity (they are not JSON,
and ``float('nan') != float('nan')`` would make equal data hash differently).
The ledger stores and chains these bytes; the policy digest hashes them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# json's own C encoder and scanner, which json.dumps/json.loads drive for
# these options, used without importing json: json brings re and enum (~8 ms
# of the `stockade run` recorder's start and of every hook's ledger write).
# tests/core/test_canonical.py holds both to json, byte for byte.
_c_str: Callable[[str], str] | None
_c_make_encoder: Any
_c_make_scanner: Any
try:
    from _json import encode_basestring as _c_str
    from _json import make_encoder as _c_make_encoder
    from _json import make_scanner as _c_make_scanner
except ImportError:  # pragma: no cover - an interpreter without the C accelerator
    _c_str = _c_make_encoder = _c_make_scanner = None


def _not_json(o: object) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False)``."""
    if _c_make_encoder is None or _c_str is None:  # pragma: no cover
        import json

        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    if isinstance(obj, str):
        return _c_str(obj)
    # a new encoder per call, as JSONEncoder.iterencode makes one: its
    # circular-reference markers must not outlive a failed call
    encode = _c_make_encoder({}, _not_json, _c_str, None, ":", ",", True, False, False)
    return "".join(encode(obj, 0))


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not canonical JSON")


class _Context:
    """What json's C scanner reads off a JSONDecoder (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict[str, str] = {}  # noqa: RUF012 - the scanner's, cleared by it after each call


class _JsonContext(_Context):
    """json.loads's defaults: NaN and +-Infinity read as floats."""

    parse_constant = staticmethod({"-Infinity": float("-inf"), "Infinity": float("inf"),  # type: ignore[assignment]
                                   "NaN": float("nan")}.__getitem__)


_scan = None if _c_make_scanner is None else _c_make_scanner(_Context())
_scan_json = None if _c_make_scanner is None else _c_make_scanner(_JsonContext())


_WHITESPACE = " \t\n\r"  # JSON's


def loads(data: str | bytes, *, constants: bool = False) -> Any:
    """``json.loads(data)`` for a UTF-8 document, without importing json.
    NaN and Infinity are refused (canonical JSON has none) unless
    ``constants``; bytes must be UTF-8.  Raises ValueError."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    scan = _scan_json if constants else _scan
    if scan is None:  # pragma: no cover
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        obj, end = scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"expecting a JSON value at {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"extra data at {end}")
    return obj


def canonical_json(obj: Any) -> bytes:
    """Raises ValueError for NaN or infinity, TypeError for non-JSON types."""
    return dumps(obj).encode("utf-8")


__all__ = ["canonical_json", "dumps", "loads"]

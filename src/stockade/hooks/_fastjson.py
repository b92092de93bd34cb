"""JSON for the hook's hot path, on the C scanner and string encoder.

``import json`` pulls in the regular-expression engine for its pure-Python
fallbacks; a hook call pays that on every tool call.  Same results as
``json.loads`` / ``json.dumps(ensure_ascii=False, separators=(",", ":"))``
for the JSON types; anything else raises TypeError.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stockade.canonical import loads as _loads

_encode_str: Any
try:
    import _json

    _encode_str = _json.encode_basestring
except (ImportError, AttributeError):  # pragma: no cover - a Python without _json
    _encode_str = None


def loads(data: bytes | str) -> Any:
    """json.loads (NaN and Infinity included), on stockade.canonical's use of
    the C scanner; a UTF-8 byte-order mark is refused, as json refuses it."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if text.startswith("\ufeff"):
        raise ValueError("unexpected UTF-8 BOM")
    return _loads(text, constants=True)


def dumps(obj: Any) -> str:
    if _encode_str is None:  # pragma: no cover
        import json

        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    out: list[str] = []
    _dump(obj, out, 0)
    return "".join(out)


def _dump(obj: Any, out: list[str], depth: int) -> None:
    if depth > 200:
        raise ValueError("nesting too deep")
    if isinstance(obj, str):
        out.append(_encode_str(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise ValueError("non-finite float")
        out.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError("JSON object keys must be strings")
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(k))
            out.append(":")
            _dump(v, out, depth + 1)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _dump(v, out, depth + 1)
        out.append("]")
    else:
        raise TypeError(f"{type(obj).__name__} is not JSON")


__all__ = ["dumps", "loads"]

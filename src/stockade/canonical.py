"""Canonical JSON: the one serialisation that is hashed or signed anywhere.

Keys sorted, no whitespace, UTF-8, and no NaN or infinity (they are not JSON,
and ``float('nan') != float('nan')`` would make equal data hash differently).
The ledger stores and chains these bytes; the policy digest hashes them.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any

# One encoder, made once: json.dumps with options builds a new one per call.
dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def canonical_json(obj: Any) -> bytes:
    """Raises ValueError for NaN or infinity, TypeError for non-JSON types."""
    return dumps(obj).encode("utf-8")


__all__ = ["canonical_json", "dumps"]

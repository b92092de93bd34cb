"""The hash chain.  Pure; no I/O.

    leaf_n = SHA-256(0x00 || leaf_{n-1} || stored_bytes_n),   leaf_0 = 32 zero bytes

Checkpoint signatures use the 0x01 prefix (see ``checkpoint.py``), so a leaf
hash can never be passed off as a signed checkpoint message or the reverse.
"""

from __future__ import annotations

import hashlib

LEAF_PREFIX = b"\x00"
CHECKPOINT_PREFIX = b"\x01"
GENESIS = bytes(32)


def leaf_hash(prev: bytes, stored: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + prev + stored).digest()

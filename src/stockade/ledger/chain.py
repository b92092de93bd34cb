"""The hash chain.  Pure; no I/O.

    leaf_n = SHA-256(0x00 || leaf_{n-1} || stored_bytes_n),   leaf_0 = 32 zero bytes

Checkpoint signatures use the 0x01 prefix (see ``checkpoint.py``), so a leaf
hash can never be passed off as a signed checkpoint message or the reverse.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from hashlib import _Hash
    from hashlib import sha256 as _builtin_sha256
else:
    # Python's own SHA-256, not hashlib's: hashlib loads OpenSSL first (~3 ms
    # of every appending process's start, the sandbox's recorder and each hook
    # call among them) for a few hashes.  The digests are the same.
    try:
        from _sha256 import sha256 as _builtin_sha256
    except ImportError:  # pragma: no cover - Python 3.12+ names it _sha2
        try:
            from _sha2 import sha256 as _builtin_sha256
        except ImportError:  # a build without it: OpenSSL's, whatever it costs
            from hashlib import sha256 as _builtin_sha256

LEAF_PREFIX = b"\x00"
CHECKPOINT_PREFIX = b"\x01"
GENESIS = bytes(32)


def sha256_impl() -> Callable[[bytes], _Hash]:
    """A SHA-256 constructor: OpenSSL's when this process has loaded hashlib
    anyway (about twice as fast on an event's few hundred bytes, which counts
    when a gateway appends thousands), else the builtin one (see above)."""
    hashlib = sys.modules.get("hashlib")
    return _builtin_sha256 if hashlib is None else hashlib.sha256


def leaf_hash(prev: bytes, stored: bytes) -> bytes:
    return sha256_impl()(LEAF_PREFIX + prev + stored).digest()

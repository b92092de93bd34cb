"""Signed checkpoints, and the checkpoint file kept beside the ledger.

A checkpoint says "this ledger held ``seq`` events and its chain head was
``head``", signed with the Ed25519 key in the state directory.  The latest one
is also written to a separate file, atomically, so that deleting the tail of
the ledger *and* its checkpoint rows is still detected; ``stockade ledger
checkpoint --export`` prints it for a witness machine.
"""

from __future__ import annotations

import binascii
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from stockade.lite import NamedTuple

from stockade.errors import EnvironmentProblem, LedgerError, LedgerTamperError
from stockade.ledger.chain import CHECKPOINT_PREFIX, sha256_impl
from stockade.ledger.event import canonical_json
from stockade.state import SIGNING_KEY_FILE

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from stockade.state import StateDir

# `cryptography` is imported where it is used: appending an event (hooks run
# once per tool call) should not pay for loading it, nor for OpenSSL's
# hashlib, which only checkpoints need.  base64 is not used (binascii does
# the same without re); json only to write a checkpoint file, and to read one
# stockade.canonical cannot (see _json_loads).

FORMAT_VERSION = 1
_DOMAIN = CHECKPOINT_PREFIX + b"stockade-ledger-checkpoint-v1\n"


def _json_loads(raw: str | bytes) -> Any:
    """json.loads.  First without importing json: the ledger's end-of-session
    path reads checkpoints, and json brings re and enum (see canonical.py);
    what that reader refuses (a file saved as UTF-16 or with a byte-order
    mark, which json reads) goes to json itself, so no witness file that
    verified before is now called altered."""
    from stockade.canonical import loads

    try:
        return loads(raw)
    except ValueError:
        import json

        return json.loads(raw)


def _json_dumps(obj: Any, **options: Any) -> str:
    import json

    return json.dumps(obj, **options)


class Checkpoint(NamedTuple):
    """One signed checkpoint; immutable.  A NamedTuple rather than a frozen
    dataclass: this module is loaded by every process that appends."""

    ledger_id: str
    seq: int
    head: bytes
    ts: str
    key_fingerprint: str
    signature: bytes

    def signed_message(self) -> bytes:
        return signed_message(
            ledger_id=self.ledger_id, seq=self.seq, head=self.head, ts=self.ts,
            key_fingerprint=self.key_fingerprint,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "ledger": self.ledger_id,
            "seq": self.seq,
            "head": self.head.hex(),
            "ts": self.ts,
            "key_fingerprint": self.key_fingerprint,
            # base64.b64encode, without base64 (it imports re)
            "signature": binascii.b2a_base64(self.signature, newline=False).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        """Raises ValueError when ``data`` is not a checkpoint."""
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError("not a version 1 stockade checkpoint")
        try:
            seq, ledger, ts, fp = data["seq"], data["ledger"], data["ts"], data["key_fingerprint"]
            head = bytes.fromhex(data["head"])
            sig = data["signature"]
            # base64.b64decode(sig, validate=True), without base64 (it imports re)
            signature = binascii.a2b_base64(sig.encode("ascii") if isinstance(sig, str) else sig,
                                            strict_mode=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ValueError(f"malformed checkpoint ({type(exc).__name__})") from exc
        # seq 0 is the checkpoint a new ledger signs when it is created (head:
        # 32 zero bytes); it anchors the ledger id before any event exists.
        if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0
                and isinstance(ledger, str)
                and isinstance(ts, str) and isinstance(fp, str) and len(head) == 32):
            raise ValueError("malformed checkpoint fields")
        return cls(ledger_id=ledger, seq=seq, head=head, ts=ts, key_fingerprint=fp,
                   signature=signature)


def signed_message(*, ledger_id: str, seq: int, head: bytes, ts: str,
                   key_fingerprint: str) -> bytes:
    body = {"head": head.hex(), "key": key_fingerprint, "ledger": ledger_id, "seq": seq, "ts": ts}
    return _DOMAIN + canonical_json(body)


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    # public_bytes_raw(), not public_bytes(Encoding.Raw, ...): importing
    # cryptography's serialization package costs ~12 ms, and the end of every
    # `stockade run` session signs a checkpoint
    raw = public_key.public_bytes_raw()
    return "sha256:" + sha256_impl()(raw).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Accepts a PEM public key, or the JSON printed by `checkpoint --export`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = pem.strip()
    if text.startswith(b"{"):
        try:
            text = _json_loads(text)["public_key_pem"].encode("ascii")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LedgerError("the public key file is JSON without a public_key_pem field",
                              exit_code=2) from exc
    try:
        key = serialization.load_pem_public_key(text)
    except ValueError as exc:
        raise LedgerError("the public key is not a PEM public key", exit_code=2,
                          hint="pass the ledger-signing.pub file or a `checkpoint --export` "
                               "JSON") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError("the public key is not an Ed25519 key", exit_code=2)
    return key


def signing_key(state: StateDir) -> Ed25519PrivateKey:
    """The state directory's checkpoint key, typed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = state.signing_key()
    if not isinstance(key, Ed25519PrivateKey):  # pragma: no cover - state.py checks this
        raise LedgerError("the ledger signing key is not an Ed25519 key")
    return key


# DER of an unencrypted PKCS#8 Ed25519 private key, up to the 32-byte seed: the
# form StateDir writes (RFC 8410).
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")
_PEM_BEGIN, _PEM_END = b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----"


def signing_seed(state: StateDir) -> bytes:
    """The 32-byte seed of the state directory's checkpoint key.

    The ledger loads it before it stores anything, so that a ledger that cannot
    sign refuses to grow.  stockade's own key file is decoded here without
    importing `cryptography` (tens of milliseconds, and a hook's ledger writer
    starts once per tool call); a key in any other form goes through
    cryptography's loader.  Raises EnvironmentProblem when there is no usable key.
    """
    path = state.keys_file(SIGNING_KEY_FILE)  # text, not a Path: pathlib is not loaded here
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except FileNotFoundError as exc:
        raise EnvironmentProblem(
            f"ledger signing key {path} is missing", hint="run `stockade init`"
        ) from exc
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot read the ledger signing key {path}: {exc.strerror}"
        ) from exc
    lines = pem.strip().splitlines()
    if len(lines) >= 3 and lines[0].strip() == _PEM_BEGIN and lines[-1].strip() == _PEM_END:
        try:
            # base64.b64decode(..., validate=True) without importing base64
            der = binascii.a2b_base64(b"".join(x.strip() for x in lines[1:-1]), strict_mode=True)
        except (binascii.Error, ValueError):
            der = b""
        if len(der) == 48 and der[:16] == _PKCS8_ED25519:
            return der[16:]
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = signing_key(state)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # not PEM, or encrypted
        raise EnvironmentProblem(f"{path} is not an Ed25519 private key") from exc
    return key.private_bytes_raw()


def key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed)


def sign(key: Ed25519PrivateKey, *, ledger_id: str, seq: int, head: bytes, ts: str) -> Checkpoint:
    fp = key_fingerprint(key.public_key())
    message = signed_message(ledger_id=ledger_id, seq=seq, head=head, ts=ts, key_fingerprint=fp)
    return Checkpoint(ledger_id=ledger_id, seq=seq, head=head, ts=ts, key_fingerprint=fp,
                      signature=key.sign(message))


def check(cp: Checkpoint, public_key: Ed25519PublicKey, *, ledger_id: str, source: str) -> None:
    """Raise LedgerTamperError unless ``cp`` is a valid signature by ``public_key``
    over this ledger."""
    from cryptography.exceptions import InvalidSignature

    expected_fp = key_fingerprint(public_key)
    if cp.ledger_id != ledger_id:
        raise LedgerTamperError(
            f"{source} belongs to another ledger (id {cp.ledger_id}, this ledger is {ledger_id}): "
            "the ledger database was replaced",
            seq=cp.seq,
            hint="if you replaced the ledger on purpose, move the old checkpoint file away",
        )
    if cp.key_fingerprint != expected_fp:
        raise LedgerTamperError(
            f"{source} was signed by key {cp.key_fingerprint}, "
            f"not the trusted key {expected_fp}",
            seq=cp.seq,
        )
    try:
        public_key.verify(cp.signature, cp.signed_message())
    except InvalidSignature:
        raise LedgerTamperError(
            f"{source} has a bad signature: it was forged or altered",
            seq=cp.seq,
        ) from None


def read_file(path: str | Path) -> Checkpoint | None:
    """The checkpoint in ``path``; None when there is no file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read checkpoint file {path}: {exc.strerror}") from exc
    try:
        return Checkpoint.from_dict(_json_loads(raw))
    except ValueError as exc:
        raise LedgerTamperError(
            f"checkpoint file {path} is not a valid checkpoint ({exc}): it was altered",
        ) from None


def write_file(path: Path, cp: Checkpoint, *, extra: dict[str, Any] | None = None,
               fsync: bool) -> None:
    """Replace ``path`` atomically: a reader sees the old or the new checkpoint."""
    body = cp.to_dict()
    if extra:
        body.update(extra)
    data = _json_dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if fsync:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LedgerError(f"cannot write checkpoint file {path}: {exc.strerror}") from exc

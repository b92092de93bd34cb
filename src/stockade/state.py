"""Where stockade keeps its own state, and the keys in it.

State lives in ``$STOCKADE_HOME`` when set, else ``$XDG_DATA_HOME/stockade``
(``~/.local/share/stockade``).  It holds the default ledger, the Ed25519 key
that signs ledger checkpoints and the HMAC key behind every keyed hash of a
protected value.  Nothing here may ever be visible inside a sandbox.

``stockade init`` creates it explicitly; any command that needs it calls
:meth:`StateDir.ensure`, which creates what is missing and never overwrites.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stockade.errors import EnvironmentProblem

SIGNING_KEY_FILE = "ledger-signing.key"
PUBLIC_KEY_FILE = "ledger-signing.pub"
HMAC_KEY_FILE = "fingerprint.key"


def default_root() -> Path:
    home = os.environ.get("STOCKADE_HOME")
    if home:
        return Path(home).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "stockade").absolute()


def keyed_hash(value: str | bytes, key: bytes) -> str:
    """A keyed fingerprint of a protected value: lets two findings be matched
    without the value ever being stored.  Short enough to read, long enough
    (80 bits) not to collide in practice."""
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()[:20]


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600; never overwrite an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StateDir:
    root: Path

    @classmethod
    def default(cls) -> StateDir:
        return cls(default_root())

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.db"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.ledger_path}"

    def ensure(self) -> StateDir:
        """Create the directory and keys if missing.  Idempotent."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.keys_dir.mkdir(exist_ok=True, mode=0o700)
            self._ensure_signing_key()
            self._ensure_hmac_key()
        except PermissionError as exc:
            raise EnvironmentProblem(
                f"cannot create stockade state in {self.root}: {exc.strerror}",
                hint="set STOCKADE_HOME to a directory you can write",
            ) from exc
        return self

    def _ensure_signing_key(self) -> None:
        key_path = self.keys_dir / SIGNING_KEY_FILE
        pub_path = self.keys_dir / PUBLIC_KEY_FILE
        if key_path.exists() and pub_path.exists():
            return  # the common case: no need to import cryptography (hooks start per call)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not key_path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                _write_private(key_path, pem)
            except FileExistsError:
                pass  # another process won the race; use its key
        if not pub_path.exists():
            pub = self.signing_key().public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            tmp = pub_path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(pub)
            os.replace(tmp, pub_path)

    def _ensure_hmac_key(self) -> None:
        path = self.keys_dir / HMAC_KEY_FILE
        if not path.exists():
            try:
                _write_private(path, secrets.token_bytes(32))
            except FileExistsError:
                pass

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 private key that signs ledger checkpoints."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = self.keys_dir / SIGNING_KEY_FILE
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise EnvironmentProblem(
                f"ledger signing key {path} is missing", hint="run `stockade init`"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise EnvironmentProblem(f"{path} is not an Ed25519 private key")
        return key

    def public_key_pem(self) -> bytes:
        path = self.keys_dir / PUBLIC_KEY_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise EnvironmentProblem(
                f"ledger public key {path} is missing", hint="run `stockade init`"
            ) from exc

    def hmac_key(self) -> bytes:
        path = self.keys_dir / HMAC_KEY_FILE
        try:
            key = path.read_bytes()
        except FileNotFoundError as exc:
            raise EnvironmentProblem(
                f"fingerprint key {path} is missing", hint="run `stockade init`"
            ) from exc
        if len(key) < 32:
            # A short or empty key would make every keyed hash guessable.
            raise EnvironmentProblem(
                f"fingerprint key {path} is {len(key)} bytes; it must be 32",
                hint="move the file away and run `stockade init` to create a new key "
                     "(earlier fingerprints will no longer match)")
        return key

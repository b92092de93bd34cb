"""Where stockade keeps its own state, and the keys in it.

State lives in ``$STOCKADE_HOME`` when set, else ``$XDG_DATA_HOME/stockade``
(``~/.local/share/stockade``).  It holds the default ledger, the Ed25519 key
that signs ledger checkpoints and the HMAC key behind every keyed hash of a
protected value.  Nothing here may ever be visible inside a sandbox.

``stockade init`` creates it explicitly; any command that needs it calls
:meth:`StateDir.ensure`, which creates what is missing and never overwrites.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any, NoReturn

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stockade import pathtext
from stockade.errors import EnvironmentProblem

# Every process that appends to the ledger imports this module, so it imports
# little: pathlib, hmac/hashlib (OpenSSL) and secrets are loaded where they are
# used, and StateDir is no dataclass.  What the ledger needs (its URL, ensure(),
# the key files) works on text paths.

SIGNING_KEY_FILE = "ledger-signing.key"
PUBLIC_KEY_FILE = "ledger-signing.pub"
HMAC_KEY_FILE = "fingerprint.key"


def default_root() -> Path:
    from pathlib import Path

    return Path(default_root_text())


def default_root_text() -> str:
    """``str(default_root())``, without importing pathlib."""
    home = os.environ.get("STOCKADE_HOME")
    if home:
        return pathtext.absolute(pathtext.expanduser(home))
    xdg = os.environ.get("XDG_DATA_HOME")
    base = pathtext.expanduser(xdg or "~/.local/share")
    return pathtext.absolute(base + "/stockade")


def keyed_hash(value: str | bytes, key: bytes) -> str:
    """A keyed fingerprint of a protected value: lets two findings be matched
    without the value ever being stored.  Short enough to read, long enough
    (80 bits) not to collide in practice."""
    import hashlib  # here, not at the top: see there
    import hmac

    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()[:20]


def _write_private(path: str | Path, data: bytes) -> None:
    """Create ``path`` with mode 0600; never overwrite an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class StateDir:
    """A state directory: ``StateDir(path)``, or :meth:`default`.

    Immutable, compared and hashed by its path.  A small class rather than a
    frozen dataclass, holding the path as text until :attr:`root` is asked
    for: the ledger's writers use it without loading dataclasses or pathlib
    (see the top of the module).
    """

    __slots__ = ("_dir", "_path")
    __match_args__ = ("root",)
    _dir: str  # the path as Path would print it
    _path: Path | None  # made on first use of .root

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        if not isinstance(text, str):
            raise TypeError(f"StateDir() needs a path, not {type(root).__name__}")
        object.__setattr__(self, "_dir", pathtext.normpath(text))
        object.__setattr__(self, "_path", None)

    @classmethod
    def default(cls) -> StateDir:
        return cls(default_root_text())

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, StateDir):
            return NotImplemented
        return self._dir == other._dir

    def __hash__(self) -> int:
        return hash(self._dir)

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(root={self.root!r})"

    def __reduce__(self) -> tuple[type[StateDir], tuple[str]]:
        return type(self), (self._dir,)

    @property
    def root(self) -> Path:
        path = self._path
        if path is None:
            from pathlib import Path

            path = Path(self._dir)
            object.__setattr__(self, "_path", path)
        return path

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.db"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self._join('ledger.db')}"

    def keys_file(self, name: str) -> str:
        """``str(self.keys_dir / name)``, without pathlib."""
        return self._join("keys", name)

    def _join(self, *names: str) -> str:
        return pathtext.join(self._dir, *names)

    def ensure(self) -> StateDir:
        """Create the directory and keys if missing.  Idempotent."""
        try:
            pathtext.mkdir(self._dir, parents=True, mode=0o700)
            pathtext.mkdir(self._join("keys"), mode=0o700)
            self._ensure_signing_key()
            self._ensure_hmac_key()
        except PermissionError as exc:
            raise EnvironmentProblem(
                f"cannot create stockade state in {self._dir}: {exc.strerror}",
                hint="set STOCKADE_HOME to a directory you can write",
            ) from exc
        return self

    def _ensure_signing_key(self) -> None:
        if pathtext.exists(self.keys_file(SIGNING_KEY_FILE)) \
                and pathtext.exists(self.keys_file(PUBLIC_KEY_FILE)):
            return  # the common case: no need to import cryptography (hooks start per call)
        key_path = self.keys_dir / SIGNING_KEY_FILE
        pub_path = self.keys_dir / PUBLIC_KEY_FILE
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
        path = self.keys_file(HMAC_KEY_FILE)
        if not pathtext.exists(path):
            import secrets

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

"""The DLP engine's say on what ``stockade run`` passes on or records.

* :class:`Verdicts`: the engine's verdict on a value (an environment value, a
  command argument), remembered by keyed hash so that a session start with an
  unchanged environment does not rebuild the engine.  Verdicts are kept per
  rule set (:func:`stockade.sandbox.deps.dlp_rules_digest`): a rule added to
  the engine or to the policy's ``dlp.rules`` takes effect at the next start.
  An engine that cannot load raises :class:`~stockade.sandbox.deps.DlpUnavailable`
  from :meth:`Verdicts.flags` and is remembered in :attr:`Verdicts.unavailable`;
  nothing is ever judged clean without it.
* :func:`redact_argv` (pure): the command as the ledger keeps it.
"""

from __future__ import annotations

import os

from stockade.sandbox.envscrub import has_url_password, high_entropy_token, name_reason

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

REDACTED = "<redacted>"
CACHE_PREFIX = "sandbox-verdicts-"
_LEGACY_CACHE = "sandbox-env-verdicts.txt"
_MAX_ENTRIES = 4096
# ``-u user:password`` (curl, wget, httpie ...): the one option whose value is
# a credential by shape rather than by name.
_USER_OPTIONS = frozenset({"-u", "--user", "--proxy-user", "-U", "--http-user", "--ftp-user"})
# An option's or variable's name: up to two dashes, a letter, then letters,
# digits and "_.-" (checked without `re`: see envscrub).
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_REST = _NAME_START | frozenset("0123456789_.-")


class Verdicts:
    """``flags(value) -> bool`` with a cache of keyed hashes on disk."""

    def __init__(self, *, path: str | None, key: bytes | None, known: set[str],
                 load_engine: Callable[[], Callable[[str], bool]]) -> None:
        self.path, self.key, self.known = path, key, known
        self._load_engine = load_engine
        self._engine: Callable[[str], bool] | None = None
        self.unavailable: Exception | None = None
        self.dirty = False

    @classmethod
    def open(cls, state: str, *, custom_rules: Sequence[Any], deps: Any) -> Verdicts:
        from stockade.sandbox.deps import DlpUnavailable

        def load() -> Callable[[str], bool]:
            return deps.dlp_flags(custom_rules)  # type: ignore[no-any-return]

        try:
            digest = deps.dlp_rules_digest(custom_rules)
        except DlpUnavailable as exc:
            v = cls(path=None, key=None, known=set(), load_engine=load)
            v.unavailable = exc
            return v
        key = _hmac_key(state)
        if key is None:
            return cls(path=None, key=None, known=set(), load_engine=load)
        path = os.path.join(state, f"{CACHE_PREFIX}{digest}.txt")
        try:
            with open(path, encoding="utf-8") as f:  # keyed hashes: ASCII, and utf-8
                #                                       is loaded already (ascii is not)
                known = set(f.read().split())
        except (OSError, ValueError):
            known = set()
        return cls(path=path, key=key, known=known, load_engine=load)

    def _h(self, value: str) -> str:
        # HMAC-SHA256 as stockade.state.keyed_hash, without importing the
        # state module (and hmac, secrets) before the sandbox starts
        from stockade.sandbox.viewcache import mac

        assert self.key is not None
        return mac(self.key, value.encode("utf-8", "surrogatepass"))[:32]

    def flags(self, value: str) -> bool:
        """Does the engine find a protected value in ``value``?  Raises when the
        engine cannot load (the caller drops or redacts the value)."""
        h = self._h(value) if self.key is not None else None
        if h is not None:
            if "c:" + h in self.known:
                return False
            if "f:" + h in self.known:
                return True
        if self._engine is None:
            if self.unavailable is not None:
                raise self.unavailable
            try:
                self._engine = self._load_engine()
            except Exception as exc:
                self.unavailable = exc
                raise
        flagged = bool(self._engine(value))
        if h is not None:
            self.known.add(("f:" if flagged else "c:") + h)
            self.dirty = True
        return flagged

    def save(self) -> None:
        """Write the cache (best effort) and drop caches of other rule sets."""
        if not (self.dirty and self.path):
            return
        keep = sorted(self.known)[-_MAX_ENTRIES:]
        tmp = f"{self.path}.{os.getpid()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(keep) + "\n")
            os.replace(tmp, self.path)
        except OSError:
            return
        folder = os.path.dirname(self.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return
        for name in names:
            stale = name == _LEGACY_CACHE or (
                name.startswith(CACHE_PREFIX) and name.endswith(".txt")
                and os.path.join(folder, name) != self.path)
            if stale:
                try:
                    os.unlink(os.path.join(folder, name))
                except OSError:
                    pass


def _hmac_key(state: str) -> bytes | None:
    """The state directory's fingerprint key, or None (a first session:
    nothing is cached until the ledger made the key)."""
    from stockade.sandbox.viewcache import read_key

    return read_key(state)


def _credential_option(option: str) -> bool:
    """``--password``, ``--api-key``, ``TOKEN`` (as in ``env TOKEN=...``): an
    option or variable whose name says its value is a credential (the same
    rule as for environment variable names)."""
    bare = option.lstrip("-")
    if len(option) - len(bare) > 2 or not bare or bare[0] not in _NAME_START \
            or not all(c in _NAME_REST for c in bare):
        return False
    name = bare.replace("-", "_").replace(".", "_")
    # options run their words together (redis's requirepass and masterauth),
    # so a credential word at the end of the name counts too
    return name_reason(name) == "name" or name.upper().endswith(_GLUED_SECRET_WORDS)


_GLUED_SECRET_WORDS = ("PASS", "PASSWD", "PASSWORD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY",
                       "AUTH")


def _secretish(arg: str, prev: str | None, looks_secret: Callable[[str], bool]) -> bool:
    if has_url_password(arg) or high_entropy_token(arg):
        return True
    name, eq, _ = arg.partition("=")
    if eq and _credential_option(name):
        return True
    if prev is not None:
        # the value of a credential option may itself start with a dash
        # (token_urlsafe makes one in 64): hiding an option name that
        # happens to follow is the safe side
        if _credential_option(prev) and prev.startswith("-") and "=" not in prev:
            return True
        if prev in _USER_OPTIONS and ":" in arg and not arg.startswith("-"):
            return True
    try:
        return looks_secret(arg) or (prev is not None and looks_secret(prev + " " + arg))
    except Exception:  # noqa: BLE001 - an argument that cannot be judged is not recorded
        return True


def redact_argv(argv: Sequence[str], *, looks_secret: Callable[[str], bool]) -> list[str]:
    """The command for the ledger: the program, and every argument except
    those that hold a protected value, alone or with the option before it
    (``--password X``, ``-u user:pw``, ``https://u:pw@host``, ``TOKEN=...``).
    ``looks_secret`` is the DLP engine's verdict; when it raises, the argument
    is redacted."""
    if not argv:
        return []
    out = [argv[0]]
    prev: str | None = None
    for arg in argv[1:]:
        out.append(REDACTED if _secretish(arg, prev, looks_secret) else arg)
        prev = arg
    return out


__all__ = ["REDACTED", "Verdicts", "redact_argv"]

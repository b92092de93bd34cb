"""The part of the policy the hook rules read, as plain data.

Built from :class:`stockade.config.Policy` by :mod:`stockade.hooks.deps` and
cached between hook calls as JSON (one process per tool call: loading YAML
every time would be the whole time budget).  Matching here follows the
policy's own semantics, with the policy's own code (``stockade.config.paths``
and ``stockade.config.domains``): containment is component-wise, both the
lexical and the symlink-resolved form of a path are checked, deny wins.
"""

from __future__ import annotations

import os

from stockade.config.paths import is_under
from stockade.hooks._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Loopback is the agent's own machine (its test servers), never egress.  Only
# exact names: `127.evil.com` is a name anyone can register.  The unspecified
# addresses are here too because connecting to them reaches this host.
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


class HookPolicy(Record):
    workspace: str
    home: str
    write: tuple[str, ...]
    deny_read: tuple[str, ...]
    network_allow: tuple[str, ...]
    default_action: str = "allow"
    # tools.default came from a policy file rather than the built-in default:
    # only then does "allow" let a tool stockade does not know run unasked
    default_explicit: bool = False
    deny_commands: tuple[str, ...] = ()
    ask_commands: tuple[str, ...] = ()
    protected_branches: tuple[str, ...] = ("main", "master", "release/*")
    mcp: dict[str, tuple[str, ...]] = {}  # never mutated
    post_dlp: str = "warn"
    post_injection: str = "warn"
    # stockade's own files: hook settings, policies, state (never writable)
    protected: tuple[str, ...] = ()
    identity_user: str | None = None
    identity_team: str | None = None
    digest: str = ""

    # -- JSON cache form --------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d = self._asdict()
        d["mcp"] = {k: list(v) for k, v in self.mcp.items()}
        return d

    @classmethod
    def from_json(cls, d: Any) -> HookPolicy:
        """The view from its cache form.  Every field must be there with its
        type: a cache written by other code is rebuilt, never guessed at."""
        if not isinstance(d, dict) or set(d) != set(cls._fields):
            raise ValueError("cached policy view has other fields")
        kw: dict[str, Any] = {}
        for name in cls._fields:
            v = d[name]
            if name in _TUPLES:
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise ValueError(f"cached policy view: {name} is not a list of strings")
                v = tuple(v)
            elif name == "mcp":
                if not isinstance(v, dict) or not all(
                        isinstance(t, list) and all(isinstance(x, str) for x in t)
                        for t in v.values()):
                    raise ValueError("cached policy view: mcp is not a map of lists")
                v = {k: tuple(t) for k, t in v.items()}
            elif name == "default_explicit":
                if not isinstance(v, bool):
                    raise ValueError("cached policy view: default_explicit is not a boolean")
            elif name in ("identity_user", "identity_team"):
                if v is not None and not isinstance(v, str):
                    raise ValueError(f"cached policy view: {name} is not a string")
            elif not isinstance(v, str):
                raise ValueError(f"cached policy view: {name} is not a string")
            kw[name] = v
        return cls(**kw)

    # -- questions the rules ask -----------------------------------------
    def read_denied(self, path: str) -> str | None:
        """The deny_read entry covering absolute ``path``, if any."""
        for d in self.deny_read:
            if is_under(path, d):
                return d
            real = _realpath(d)
            if real != d and is_under(path, real):
                return d
        return None

    def read_denied_inside(self, path: str) -> str | None:
        """A deny_read entry at or under ``path`` (what reading all of
        ``path`` would read too)."""
        for d in self.deny_read:
            if is_under(d, path) or is_under(_realpath(d), path):
                return d
        return None

    def write_allowed(self, path: str) -> bool:
        if self.read_denied(path) or self.protected_hit(path):
            return False
        for w in self.write:
            if is_under(path, w):
                return True
            real = _realpath(w)
            if real != w and is_under(path, real):
                return True
        return False

    def protected_hit(self, path: str) -> str | None:
        for p in self.protected:
            if is_under(path, p):
                return p
        return None

    def protected_inside(self, path: str) -> str | None:
        """A protected path at or under ``path`` (deleting or moving ``path``
        would take it along)."""
        for p in self.protected:
            if is_under(p, path) or is_under(_realpath(p), path):
                return p
        return None

    def host_allowed(self, host: str, port: int | None = None) -> bool:
        h = host.strip().lower().rstrip(".")
        if h.startswith("[") and h.endswith("]"):
            h = h[1:-1]
        if is_loopback(h):
            return True
        from stockade.config import domains  # only for a non-loopback host

        return domains.host_allowed(_patterns(self.network_allow), h, port)


_TUPLES = frozenset({"write", "deny_read", "network_allow", "deny_commands", "ask_commands",
                     "protected_branches", "protected"})


def is_loopback(host: str) -> bool:
    """``host`` (lower case, no brackets) names this machine."""
    if host in _LOOPBACK_NAMES:
        return True
    if not host or not (host[0].isdigit() or ":" in host):
        return False  # not an IP literal: skip importing ipaddress
    import ipaddress

    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


_REAL: dict[str, str] = {}
_PATTERNS: dict[tuple[str, ...], tuple[Any, ...]] = {}


def _realpath(path: str) -> str:
    """Policy paths resolved once per process (a hook call is one process)."""
    real = _REAL.get(path)
    if real is None:
        real = _REAL[path] = os.path.realpath(path)
    return real


def _patterns(allow: tuple[str, ...]) -> tuple[Any, ...]:
    """``network.allow`` parsed by the policy's own parser, once per process.
    An entry it refuses (the loader would have refused it too) matches
    nothing."""
    got = _PATTERNS.get(allow)
    if got is None:
        from stockade.config import domains  # only for a non-loopback host
        parsed = []
        for raw in allow:
            try:
                parsed.append(domains.parse_pattern(raw))
            except ValueError:
                continue
        got = _PATTERNS[allow] = tuple(parsed)
    return got


__all__ = ["HookPolicy", "is_loopback", "is_under"]

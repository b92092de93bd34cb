"""The part of the policy the hook rules read, as plain data.

Built from :class:`stockade.config.Policy` by :mod:`stockade.hooks.deps` and
cached between hook calls as JSON (one process per tool call: loading YAML
every time would be the whole time budget).  Matching here follows the
policy's own semantics: containment is component-wise, both the lexical and
the symlink-resolved form of a path are checked, deny wins.
"""

from __future__ import annotations

import os

from stockade.hooks._record import Record
from stockade.hooks.paths import is_under

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Loopback is the agent's own machine (its test servers), never egress.
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "ip6-localhost")


class HookPolicy(Record):
    workspace: str
    home: str
    write: tuple[str, ...]
    deny_read: tuple[str, ...]
    network_allow: tuple[str, ...]
    default_action: str = "allow"
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
    def from_json(cls, d: dict[str, Any]) -> HookPolicy:
        kw = dict(d)
        for k in ("write", "deny_read", "network_allow", "deny_commands", "ask_commands",
                  "protected_branches", "protected"):
            kw[k] = tuple(kw.get(k) or ())
        kw["mcp"] = {k: tuple(v) for k, v in (kw.get("mcp") or {}).items()}
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

    def host_allowed(self, host: str, port: int | None = None) -> bool:
        h = host.strip().lower().rstrip(".")
        if h.startswith("[") and h.endswith("]"):
            h = h[1:-1]
        if h in _LOOPBACK or h.startswith("127."):
            return True
        return domain_allows(self.network_allow, h, port)


_REAL: dict[str, str] = {}


def _realpath(path: str) -> str:
    """Policy paths resolved once per process (a hook call is one process)."""
    real = _REAL.get(path)
    if real is None:
        real = _REAL[path] = os.path.realpath(path)
    return real


def domain_allows(allow: tuple[str, ...], host: str, port: int | None) -> bool:
    """``network.allow`` semantics (docs/policy.md): an exact name or IP, or
    ``*.suffix`` for names strictly below the suffix; ``host:port`` limits
    the port.  Kept here, not imported from stockade.config, because that
    package pulls in the YAML loader (tens of ms per hook call)."""
    h = host.strip().lower().rstrip(".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if not h:
        return False
    for pat in allow:
        p = pat.strip().lower()
        pport: int | None = None
        if p.startswith("["):
            inner, _, rest = p[1:].partition("]")
            p = inner
            if rest.startswith(":") and rest[1:].isdigit():
                pport = int(rest[1:])
        elif p.count(":") == 1:
            p, _, ps = p.partition(":")
            pport = int(ps) if ps.isdigit() else None
        if pport is not None and port != pport:
            continue
        if p.startswith("*."):
            suffix = p[1:]
            if h.endswith(suffix) and len(h) > len(suffix):
                return True
        elif h == p:
            return True
    return False


__all__ = ["HookPolicy", "domain_allows"]

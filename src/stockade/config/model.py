"""The effective policy: frozen data, one class per section.

Built once by :func:`stockade.config.load_policy`; every other module reads
it and never changes it.  Matching helpers are pure (apart from resolving
symlinks in :meth:`Policy.is_read_denied` / :meth:`Policy.is_write_allowed`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from stockade.config import paths
from stockade.config.domains import (
    DomainPattern,
    host_allowed,
    parse_pattern,
    private_allowed,
)

if TYPE_CHECKING:
    # Only for annotations: importing stockade.dlp runs the DLP engine's
    # package import, which `stockade hook` should not pay for on every call.
    from stockade.dlp.spec import AllowEntry, CustomRule, Dictionary

DLP_ACTIONS = ("allow", "redact", "block")  # plus "route:<upstream>"
DLP_DEFAULT_ACTION = "block"  # for a label no layer names
TOOL_ACTIONS = ("allow", "ask", "deny")  # tools.default
POST_TOOL_ACTIONS = ("warn", "block")
DEPENDENCY_ACTIONS = ("allow", "warn", "ask", "block")
LEDGER_CONTENT = ("full", "redacted", "hash", "none")
LEDGER_DURABILITY = ("process", "power-loss")
PROTOCOLS = ("anthropic", "chat", "responses")


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    user: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class FilesystemPolicy:
    """Absolute, normalised paths (tokens already expanded)."""

    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    deny_read: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """``allow`` entries are normalised patterns (``pypi.org``, ``*.github.com``,
    ``host:8443``); ``allow_private`` entries are CIDRs, IPs or host names."""

    allow: tuple[str, ...] = ()
    allow_private: tuple[str, ...] = ()
    upstream_proxy: str | None = None
    _patterns: tuple[DomainPattern, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(parse_pattern(a) for a in self.allow))

    def allows(self, host: str, port: int | None = None) -> bool:
        """Is ``host`` (name or IP literal) on the allow list for ``port``?"""
        return host_allowed(self._patterns, host, port)

    def allows_private(self, host: str) -> bool:
        """Is ``host`` (an IP, or a name) listed in ``allow_private``?"""
        return private_allowed(self.allow_private, host)


@dataclass(frozen=True, slots=True)
class Upstream:
    """A model API stockade may forward to.  ``key_env`` names the environment
    variable holding the real key (never the key itself)."""

    name: str
    url: str
    key_env: str | None = None
    protocol: str = "chat"
    # (model glob, upstream model name) in file order: first match wins.
    models: tuple[tuple[str, str], ...] = ()
    # upstreams to try, in order, when this one cannot be reached; never used for a
    # request routed here because of a data label (see stockade.gateway.config)
    fallback: tuple[str, ...] = ()
    # the most output tokens a request may ask of this upstream: a self-hosted server
    # refuses a request whose max_tokens does not fit its context (Claude Code asks
    # for 32000+); larger asks are lowered to this
    max_tokens: int | None = None

    def map_model(self, model: str) -> str:
        """The model name to send upstream for the ``model`` the agent asked for."""
        for pattern, target in self.models:
            if fnmatchcase(model, pattern):
                return target
        return model


@dataclass(frozen=True, slots=True)
class Route:
    """Send a request to ``upstream`` when every given criterion matches.
    An entry with no criterion matches everything."""

    upstream: str
    label: str | None = None
    team: str | None = None
    repository: str | None = None  # glob
    model: str | None = None  # glob

    def matches(
        self,
        *,
        labels: Collection[str] = (),
        team: str | None = None,
        repository: str | None = None,
        model: str | None = None,
    ) -> bool:
        if self.label is not None and self.label not in labels:
            return False
        if self.team is not None and self.team != team:
            return False
        if self.repository is not None and (
            repository is None or not _repository_matches(repository, self.repository)
        ):
            return False
        return self.model is None or (model is not None and fnmatchcase(model, self.model))


def _repository_matches(workspace: str, pattern: str) -> bool:
    """A ``repository`` glob against a workspace path: the whole path, or as many
    trailing directories as the pattern has parts (``acme/payments-*`` matches
    ``/home/ana/src/acme/payments-api``)."""
    if fnmatchcase(workspace, pattern):
        return True
    parts = workspace.rstrip("/").split("/")
    return fnmatchcase("/".join(parts[-(pattern.count("/") + 1):]), pattern)


@dataclass(frozen=True, slots=True)
class ModelsPolicy:
    upstreams: Mapping[str, Upstream] = field(default_factory=_empty)
    routes: tuple[Route, ...] = ()

    def upstream(self, name: str) -> Upstream | None:
        return self.upstreams.get(name)

    def select_route(
        self,
        *,
        labels: Collection[str] = (),
        team: str | None = None,
        repository: str | None = None,
        model: str | None = None,
    ) -> Route | None:
        """The first route that matches, in policy order (managed, user, project)."""
        for route in self.routes:
            if route.matches(labels=labels, team=team, repository=repository, model=model):
                return route
        return None


@dataclass(frozen=True, slots=True)
class DlpPolicy:
    """``actions`` maps a finding label to ``allow``, ``redact``, ``block`` or
    ``route:<upstream>``; a label not in it gets ``block``."""

    actions: Mapping[str, str] = field(default_factory=_empty)
    rules: tuple[CustomRule, ...] = ()
    dictionaries: tuple[Dictionary, ...] = ()
    allowlist: tuple[AllowEntry, ...] = ()

    def action_for(self, label: str) -> str:
        return self.actions.get(label, DLP_DEFAULT_ACTION)


@dataclass(frozen=True, slots=True)
class PostToolUsePolicy:
    dlp: str = "warn"
    injection: str = "warn"


@dataclass(frozen=True, slots=True)
class DependencyPolicy:
    """Action per verdict on a package the agent installs (allow|warn|ask|block)."""

    nonexistent: str = "block"
    typosquat: str = "block"
    malicious: str = "block"
    vulnerable: str = "ask"
    new: str = "warn"
    install_scripts: str = "warn"
    unverifiable: str = "ask"
    new_days: int = 30
    # no registry requests: cached answers only, else unverifiable
    offline: bool = False
    cache_ttl_hours: int = 24
    # ecosystem (pypi | npm | crates | go) -> registry base URL (a mirror);
    # managed/user only: a project must not choose who vouches for its packages
    registries: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class ToolsPolicy:
    default: str = "allow"
    deny_commands: tuple[str, ...] = ()
    ask_commands: tuple[str, ...] = ()
    protected_branches: tuple[str, ...] = ()
    # server -> allowed tool names ("*" = all)
    mcp: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    post_tool_use: PostToolUsePolicy = PostToolUsePolicy()
    dependencies: DependencyPolicy = DependencyPolicy()

    def mcp_action(self, server: str, tool: str) -> str:
        """``allow`` for a listed tool, ``deny`` for an unlisted tool of a
        listed server, else ``tools.default``."""
        allowed = self.mcp.get(server)
        if allowed is None:
            return self.default
        return "allow" if ("*" in allowed or tool in allowed) else "deny"


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    url: str | None = None  # None: the state directory's ledger.db
    content: str = "redacted"
    durability: str = "process"
    checkpoint_every: int = 1000


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    env_passthrough: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One layer that contributed to the policy."""

    kind: str  # "managed" | "user" | "default" | "project"
    file: str | None  # display path (./x, ~/x or absolute); None for the built-in default
    path: str | None = None  # absolute path of the file; None for the built-in default

    def __str__(self) -> str:
        return self.kind if self.file is None else f"{self.kind} {self.file}"


@dataclass(frozen=True, slots=True)
class Policy:
    """The effective policy.

    ``sources`` maps every dotted key (``network.allow``, ``network.allow[2]``,
    ``dlp.actions.secret``, ``models.upstreams.local`` ...) to where its value
    came from: ``"managed /etc/stockade/policy.yaml:12"``, ``"user
    ~/.config/stockade/policy.yaml:3"``, ``"project ./stockade.yaml:5"`` or
    ``"default"``.  ``digest`` (``sha256:<hex>``) identifies the effective
    policy (not its provenance) in ledger events.
    """

    identity: IdentityPolicy
    filesystem: FilesystemPolicy
    network: NetworkPolicy
    models: ModelsPolicy
    dlp: DlpPolicy
    tools: ToolsPolicy
    ledger: LedgerPolicy
    sandbox: SandboxPolicy
    workspace: str
    sources: Mapping[str, str] = field(default_factory=_empty)
    layers: tuple[LayerInfo, ...] = ()
    digest: str = ""

    # -- helpers other modules use -------------------------------------
    def network_allows(self, host: str, port: int | None = None) -> bool:
        """Pure domain match against ``network.allow`` (exact or ``*.suffix``)."""
        return self.network.allows(host, port)

    def dlp_action(self, label: str) -> str:
        """``allow`` | ``redact`` | ``block`` | ``route:<upstream>`` for a label."""
        return self.dlp.action_for(label)

    def is_read_denied(self, path: str | os.PathLike[str]) -> bool:
        """True when ``path`` (or what it resolves to) is at or under a
        ``filesystem.deny_read`` entry (or what that resolves to).

        Relative paths are taken relative to the workspace.  ``..`` is
        collapsed and symlinks followed; either form being under a denied
        path denies, and so does a path no file can have (a NUL byte).
        """
        try:
            forms = paths.candidates(path, base=self.workspace)
        except ValueError:
            return True
        for denied in self.filesystem.deny_read:
            real = _realpath(denied)
            for f in forms:
                if paths.is_under(f, denied) or paths.is_under(f, real):
                    return True
        return False

    def is_write_allowed(self, path: str | os.PathLike[str]) -> bool:
        """True when ``path``, with symlinks resolved, is at or under a
        ``filesystem.write`` entry (resolved when the policy was loaded) and
        not read-denied."""
        try:
            _, real = paths.candidates(path, base=self.workspace)
        except ValueError:
            return False
        if self.is_read_denied(path):
            return False
        # write entries were resolved at load: compare the resolved target only,
        # so a symlink inside the workspace cannot point a write outside it.
        return any(paths.is_under(real, w) for w in self.filesystem.write)

    def source_of(self, key: str) -> str:
        """Where the value at dotted ``key`` came from (nearest recorded parent)."""
        k = key
        while k:
            if k in self.sources:
                return self.sources[k]
            cut = max(k.rfind("."), k.rfind("["))
            k = k[:cut] if cut > 0 else ""
        return "default"

    def to_dict(self) -> dict[str, Any]:
        """The effective policy as plain JSON-safe data (the schema's shape)."""
        from stockade.config.render import policy_to_dict

        return policy_to_dict(self)


def _realpath(p: str) -> str:
    return os.path.realpath(p)

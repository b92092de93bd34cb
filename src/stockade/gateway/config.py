"""Gateway configuration: upstreams, routes, DLP actions, limits.  Frozen, validated once.

This is the gateway's own view of the policy (``models``, ``dlp.actions``,
``ledger``, ``identity``), built by :mod:`stockade.gateway.deps` from the
policy loader plus command-line overrides, so nothing below depends on the
loader's internals.

Routing seam (the translation issue builds on it): every upstream declares the
protocol it speaks.  :func:`choose_upstream` picks one from the client's
protocol, the findings' labels, the caller's team, the workspace and the
model; the pipeline then asks :func:`stockade.gateway.translate.translator_for`
for a translator between the client's protocol and the upstream's.  Today only
the identity translation exists, so a route across protocol families is
refused (fail closed) with a message saying so.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from stockade.errors import UsageError
from stockade.wire.exchange import Protocol

UpstreamProtocol = Literal["anthropic", "chat", "responses"]
ContentMode = Literal["full", "redacted", "hash", "none"]
ACTION_ORDER = {"allow": 0, "redact": 1, "route": 2, "block": 3}

DEFAULT_UPSTREAMS: dict[str, tuple[str, str | None, UpstreamProtocol]] = {
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY", "anthropic"),
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", "chat"),
}


@dataclass(frozen=True, slots=True)
class Upstream:
    """A model API the gateway may forward to.  ``url`` is the SDK-style base:
    no ``/v1`` for Anthropic, ending in ``/v1`` for OpenAI-compatible servers."""

    name: str
    url: str
    protocol: UpstreamProtocol
    key_env: str | None = None
    models: tuple[tuple[str, str], ...] = ()  # (glob, upstream model name), first match wins

    @property
    def family(self) -> str:
        return "anthropic" if self.protocol == "anthropic" else "openai"

    def target(self, client_path: str) -> tuple[str, str, int, str]:
        """(scheme, host, port, path) for a client request path like ``/v1/messages``."""
        parts = urlsplit(self.url)
        scheme = parts.scheme
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        base = parts.path.rstrip("/")
        # OpenAI-style bases already end in /v1; the client path starts with /v1.
        rest = client_path[3:] if base.endswith("/v1") and client_path.startswith("/v1") else client_path
        return scheme, host, port, base + rest

    def map_model(self, model: str | None) -> str | None:
        if model is None:
            return None
        for pattern, target in self.models:
            if fnmatch.fnmatchcase(model, pattern):
                return target
        return model


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of the ordered ``models.routes`` list.  Empty criteria match all."""

    upstream: str
    label: str | None = None
    team: str | None = None
    repository: str | None = None
    model: str | None = None

    def matches(self, *, labels: frozenset[str], team: str | None, repository: str | None,
                model: str | None) -> bool:
        if self.label is not None and self.label != "*" and self.label not in labels:
            return False
        if self.team is not None and self.team != team:
            return False
        if self.repository is not None and not (
                repository and fnmatch.fnmatchcase(repository, self.repository)):
            return False
        if self.model is not None and not (model and fnmatch.fnmatchcase(model, self.model)):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 64 * 1024
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 600.0  # vendors think for a long time before answering
    idle_timeout_s: float = 300.0  # between two chunks of a stream
    client_idle_timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    upstreams: dict[str, Upstream]
    routes: tuple[Route, ...] = ()
    actions: dict[str, str] = field(default_factory=lambda: {"secret": "redact", "pii": "redact"})
    ledger_content: ContentMode = "redacted"
    user: str | None = None
    team: str | None = None
    limits: Limits = Limits()

    def action_for(self, label: str) -> str:
        """``allow|redact|block|route:<upstream>``; labels the policy does not name block."""
        return self.actions.get(label, "block")

    def default_upstream(self, protocol: Protocol) -> Upstream | None:
        """The upstream a client protocol goes to when no route says otherwise:
        ``anthropic`` for Messages, ``openai`` for the OpenAI APIs, else the first
        upstream of the same family."""
        family = "anthropic" if protocol == "anthropic" else "openai"
        preferred = self.upstreams.get("anthropic" if family == "anthropic" else "openai")
        if preferred is not None and preferred.family == family:
            return preferred
        for up in self.upstreams.values():
            if up.family == family:
                return up
        return None


def parse_upstream_arg(text: str) -> Upstream:
    """``NAME=URL`` from ``--upstream``.  ``anthropic`` speaks Messages, others chat."""
    name, sep, url = text.partition("=")
    name = name.strip()
    if not sep or not name or not url:
        raise UsageError(f"--upstream {text!r}: expected NAME=URL",
                         hint="e.g. --upstream anthropic=https://api.anthropic.com")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--upstream {name}: {url!r} is not an http(s) URL")
    default = DEFAULT_UPSTREAMS.get(name)
    protocol: UpstreamProtocol = "anthropic" if name == "anthropic" else "chat"
    key_env = default[1] if default else None
    return Upstream(name=name, url=url.rstrip("/"), protocol=protocol, key_env=key_env)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
        if not 0 <= p <= 65535:
            raise ValueError
    except ValueError:
        raise UsageError(f"--listen {text!r}: the port must be a number 0-65535",
                         hint="e.g. --listen 127.0.0.1:8787") from None
    return host, p


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class RouteChoice:
    upstream: Upstream
    reason: str  # "default", "route[2]", "dlp.actions.pii"


class RoutingError(Exception):
    """No usable upstream: the request is refused (the message is user-facing)."""


def choose_upstream(
    cfg: GatewayConfig,
    *,
    protocol: Protocol,
    labels: frozenset[str],
    dlp_route: str | None,
    team: str | None,
    repository: str | None,
    model: str | None,
) -> RouteChoice:
    """Pick the upstream: a DLP ``route:<u>`` action first, then the ordered
    routes, then the protocol's default upstream."""
    if dlp_route is not None:
        up = cfg.upstreams.get(dlp_route)
        if up is None:
            raise RoutingError(f"the policy routes this request to upstream {dlp_route!r}, "
                               "which is not configured")
        return RouteChoice(up, f"dlp.actions -> route:{dlp_route}")
    for i, route in enumerate(cfg.routes):
        if route.matches(labels=labels, team=team, repository=repository, model=model):
            up = cfg.upstreams.get(route.upstream)
            if up is None:
                raise RoutingError(f"models.routes[{i}] names upstream {route.upstream!r}, "
                                   "which is not configured")
            return RouteChoice(up, f"models.routes[{i}]")
    up = cfg.default_upstream(protocol)
    if up is None:
        raise RoutingError(f"no upstream is configured for the {protocol} API")
    return RouteChoice(up, "default")

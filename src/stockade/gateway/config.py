"""Gateway configuration: upstreams, routes, DLP actions, limits.  Frozen, validated once.

This is the gateway's own view of the policy (``models``, ``dlp.actions``,
``ledger``, ``identity``), built by :mod:`stockade.gateway.deps` from the
policy loader plus command-line overrides.  Matching is the policy's own:
routes are :class:`stockade.config.model.Route`, actions go through
:meth:`~stockade.config.model.DlpPolicy.action_for`, and :class:`Upstream`
extends the policy's upstream with how to reach it.  A setting the gateway
cannot honour (unknown protocol or content mode, credentials in a URL) raises.

Routing: every upstream declares the protocol it speaks.  :func:`choose_upstream`
picks one from the findings' labels, the caller's team, the workspace and the
model; the pipeline then asks :func:`stockade.gateway.translate.translator_for`
for a translator between the client's protocol and the upstream's.  The order:

1. a DLP ``route:<upstream>`` action (shorthand for a route on that label);
2. ``--route`` entries from the command line, then the policy's
   ``models.routes``, first match wins, except that a command-line route never
   takes a request away from a policy route on one of its labels (data the
   policy keeps somewhere stays there);
3. the default upstream of the client's protocol family.

A data label the request carries may be *pinned* to an upstream (its
``route:`` action, else a matching route with that ``label``).  A pinned label
outranks every route without a label wherever it stands, a choice that lands
on the pinned upstream is pinned too and never falls back to another upstream
when its own is down, and labels pinned to different upstreams refuse the
request.  Other choices may fall back along the upstream's ``fallback`` list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from stockade.config.model import DlpPolicy, Route
from stockade.config.model import Upstream as PolicyUpstream
from stockade.errors import UsageError
from stockade.wire.exchange import PROTOCOLS, Protocol

UpstreamProtocol = Literal["anthropic", "chat", "responses"]
ContentMode = Literal["full", "redacted", "hash", "none"]
CONTENT_MODES: tuple[ContentMode, ...] = ("full", "redacted", "hash", "none")
ACTION_ORDER = {"allow": 0, "redact": 1, "route": 2, "block": 3}

DEFAULT_UPSTREAMS: dict[str, tuple[str, str | None, UpstreamProtocol]] = {
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY", "anthropic"),
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", "chat"),
}


class ConfigError(UsageError):
    """A gateway setting that cannot work (the message never holds a credential)."""


def check_upstream_url(name: str, url: str) -> None:
    """http(s), a host, and no ``user:password@``: the URL is printed at start-up
    and recorded; credentials belong in ``key_env``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"upstream {name}: the URL must be http(s)://HOST[:PORT][/PATH]")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"upstream {name}: the URL holds credentials (user:password@)",
                          hint="remove them from the URL and name the variable holding the "
                               "key in the upstream's key_env")
    if parts.query or parts.fragment:
        # `?api_key=...`: printed at start-up and kept in reprs; keys go in key_env
        raise ConfigError(f"upstream {name}: the URL has a query or fragment",
                          hint="give the base URL only (e.g. http://HOST:8000/v1); a key "
                               "belongs in the upstream's key_env")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"upstream {name}: the URL's port is not a number",
                          hint="http(s)://HOST[:PORT][/PATH]") from None


@dataclass(frozen=True, slots=True)
class Upstream(PolicyUpstream):
    """A model API the gateway may forward to: the policy's ``models.upstreams``
    entry (``map_model`` is the policy's) plus how to reach it.  ``url`` is the
    SDK-style base: no ``/v1`` for Anthropic, ending in ``/v1`` for OpenAI-compatible
    servers."""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"upstream {self.name}: unknown protocol {self.protocol!r}",
                              hint="use one of " + ", ".join(PROTOCOLS))
        check_upstream_url(self.name, self.url)

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


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 64 * 1024
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 600.0  # vendors think for a long time before answering
    idle_timeout_s: float = 300.0  # between two chunks of a stream
    client_idle_timeout_s: float = 120.0
    # a broken or hostile upstream must not fill the gateway's memory: a whole
    # (non-streamed) answer, and one event of a stream, past these are refused
    max_response_bytes: int = 64 * 1024 * 1024
    max_event_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    upstreams: dict[str, Upstream]
    routes: tuple[Route, ...] = ()  # the policy's models.routes, in order
    cli_routes: tuple[Route, ...] = ()  # --route LABEL=UPSTREAM, before the policy's
    workspace: str | None = None  # --workspace of a per-session gateway (`stockade run`)
    session: str | None = None  # every event's session (a per-session gateway of stockade run)
    actions: Mapping[str, str] = field(
        default_factory=lambda: {"secret": "redact", "pii": "redact"})
    ledger_content: ContentMode = "redacted"
    user: str | None = None
    team: str | None = None
    limits: Limits = Limits()
    dlp: DlpPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ledger_content not in CONTENT_MODES:
            raise ConfigError(f"ledger.content {self.ledger_content!r} is not one of "
                              + ", ".join(CONTENT_MODES))
        object.__setattr__(self, "dlp", DlpPolicy(actions=dict(self.actions)))
        for up in self.upstreams.values():
            for name in getattr(up, "fallback", ()):
                if name == up.name or name not in self.upstreams:
                    raise ConfigError(
                        f"upstream {up.name}: fallback {name!r} is not another configured "
                        "upstream", hint="list names from models.upstreams in fallback")
        for label, action in self.actions.items():
            kind, _, target = action.partition(":")
            if kind == "route" and target.strip() and target.strip() not in self.upstreams:
                # found at start-up, not on the first request carrying the label
                raise ConfigError(
                    f"dlp.actions.{label} routes to upstream {target.strip()!r}, which is not "
                    "configured", hint="configured: " + ", ".join(sorted(self.upstreams)))
        for src, routes in (("--route", self.cli_routes), ("models.routes", self.routes)):
            for i, r in enumerate(routes):
                if r.upstream not in self.upstreams:
                    raise ConfigError(
                        f"{src}[{i}] names upstream {r.upstream!r}, which is not configured",
                        hint="configured: " + ", ".join(sorted(self.upstreams)))

    def action_for(self, label: str) -> str:
        """``allow|redact|block|route:<upstream>``; labels the policy does not name block."""
        return self.dlp.action_for(label)

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
        raise UsageError("--upstream: expected NAME=URL",
                         hint="e.g. --upstream anthropic=https://api.anthropic.com")
    default = DEFAULT_UPSTREAMS.get(name)
    protocol: UpstreamProtocol = "anthropic" if name == "anthropic" else "chat"
    key_env = default[1] if default else None
    return Upstream(name=name, url=url.rstrip("/"), protocol=protocol, key_env=key_env)


def parse_route_arg(text: str) -> Route:
    """``LABEL=UPSTREAM`` from ``--route``; ``*=UPSTREAM`` routes everything."""
    label, sep, upstream = text.partition("=")
    label, upstream = label.strip(), upstream.strip()
    if not sep or not label or not upstream:
        raise UsageError(f"--route {text!r}: expected LABEL=UPSTREAM",
                         hint="e.g. --route secret=local, or --route '*=local' for everything")
    return Route(upstream=upstream, label=None if label == "*" else label)


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
    reason: str  # "default", "models.routes[2]", "--route[0]", "dlp.actions.pii"
    # why, for the ledger: the matching rule's criteria (label, team, repository, model)
    match: Mapping[str, str] = field(default_factory=dict)
    pinned: bool = False  # chosen for a data label: never falls back elsewhere

    def fallbacks(self, cfg: GatewayConfig) -> list[Upstream]:
        """Upstreams to try, in order, when this one cannot be reached."""
        if self.pinned:
            return []
        return [cfg.upstreams[n] for n in getattr(self.upstream, "fallback", ())
                if n in cfg.upstreams]


class RoutingError(Exception):
    """No usable upstream: the request is refused (the message is user-facing)."""


def _criteria(route: Route) -> dict[str, str]:
    return {k: v for k in ("label", "team", "repository", "model")
            if (v := getattr(route, k)) is not None}


@dataclass(frozen=True, slots=True)
class _Pin:
    upstream: str
    reason: str
    match: Mapping[str, str]


def _pins(cfg: GatewayConfig, labels: frozenset[str], hit: Callable[[Route], bool], *,
          dlp_route: str | None, dlp_label: str | None) -> dict[str, _Pin]:
    """Where the policy keeps each data label this request carries: its ``route:``
    action, else the first matching policy route on that label, else the first
    matching ``--route`` on it.  A label with none of these is not pinned."""
    pins: dict[str, _Pin] = {}
    if dlp_route is not None:
        reason = f"dlp.actions.{dlp_label}" if dlp_label else "dlp.actions"
        pins[dlp_label or ""] = _Pin(dlp_route, f"{reason} -> route:{dlp_route}",
                                     {"label": dlp_label} if dlp_label else {})
    for label in sorted(labels - pins.keys()):
        kind, _, target = cfg.action_for(label).partition(":")
        if kind == "route" and target.strip():
            pins[label] = _Pin(target.strip(), f"dlp.actions.{label} -> route:{target.strip()}",
                               {"label": label})
            continue
        for src, routes in (("models.routes", cfg.routes), ("--route", cfg.cli_routes)):
            found = next(((i, r) for i, r in enumerate(routes)
                          if r.label == label and hit(r)), None)
            if found is not None:
                pins[label] = _Pin(found[1].upstream, f"{src}[{found[0]}]", _criteria(found[1]))
                break
    return pins


def choose_upstream(
    cfg: GatewayConfig,
    *,
    protocol: Protocol,
    labels: frozenset[str],
    dlp_route: str | None,
    team: str | None,
    repository: str | None,
    model: str | None,
    dlp_label: str | None = None,
) -> RouteChoice:
    """Pick the upstream (the order is in this module's docstring).

    A data label the policy keeps on an upstream (its ``route:`` action or a route
    with ``label``) outranks every route without a label, wherever that route
    stands in the list and whoever wrote it: a ``model``/``team``/``repository``
    route or ``--route '*=...'`` cannot take pinned data elsewhere, and a choice
    that lands on the pinned upstream by another route is pinned too (no
    fallback).  Labels pinned to different upstreams refuse the request: no
    single destination keeps both."""
    def hit(route: Route) -> bool:
        return route.matches(labels=labels, team=team, repository=repository, model=model)

    pins = _pins(cfg, labels, hit, dlp_route=dlp_route, dlp_label=dlp_label)
    targets = sorted({p.upstream for p in pins.values()})
    if len(targets) > 1:
        where = ", ".join(f"{lb} -> {p.upstream}" for lb, p in sorted(pins.items()))
        raise RoutingError(f"the request carries data the policy keeps on different upstreams "
                           f"({where}); it was refused rather than sent to one of them")
    pin = next(iter(pins.values()), None)
    if pin is not None and pin.upstream not in cfg.upstreams:
        raise RoutingError(f"the policy routes this request to upstream {pin.upstream!r}, "
                           "which is not configured")
    if dlp_route is not None and pin is not None:
        return RouteChoice(cfg.upstreams[pin.upstream], pin.reason, pin.match, pinned=True)

    candidates = [("--route", i, r) for i, r in enumerate(cfg.cli_routes)] + \
                 [("models.routes", i, r) for i, r in enumerate(cfg.routes)]
    for src, i, route in candidates:
        if not hit(route):
            continue
        if pin is not None and pin.upstream != route.upstream:
            return RouteChoice(cfg.upstreams[pin.upstream], pin.reason, pin.match, pinned=True)
        up = cfg.upstreams.get(route.upstream)
        if up is None:
            raise RoutingError(f"{src}[{i}] names upstream {route.upstream!r}, "
                               "which is not configured")
        return RouteChoice(up, f"{src}[{i}]", _criteria(route), pinned=pin is not None)
    if pin is not None:
        return RouteChoice(cfg.upstreams[pin.upstream], pin.reason, pin.match, pinned=True)
    up = cfg.default_upstream(protocol)
    if up is None:
        raise RoutingError(f"no upstream is configured for the {protocol} API")
    return RouteChoice(up, "default")

"""Layering: default + managed + user + project -> the effective Policy.

Strength for bounding: managed > user > built-in default > project.  Managed
and user may loosen the default; user may only tighten what managed set; the
project layer (agent-writable) may only tighten the result of the others.
Every key has one merge kind (see ``KIND_OF``); a weaker layer that tries to
loosen is a PolicyError naming its file:line and the layer that bounds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from stockade.config import paths
from stockade.config.domains import parse_pattern, private_covers
from stockade.config.model import (
    DLP_DEFAULT_ACTION,
    DependencyPolicy,
    DlpPolicy,
    FilesystemPolicy,
    IdentityPolicy,
    LayerInfo,
    LedgerPolicy,
    ModelsPolicy,
    NetworkPolicy,
    Policy,
    PostToolUsePolicy,
    SandboxPolicy,
    ToolsPolicy,
    Upstream,
)
from stockade.config.schema import PolicyLayer, Setting
from stockade.config.shown import shown, shown_path
from stockade.errors import PolicyError

ALLOW = "allow-list"
DENY = "deny-list"
LEVEL = "level"
LOCKED = "locked"
ORDERED = "ordered"

_EXACT_KIND = {
    "filesystem.write": ALLOW,
    "filesystem.read": ALLOW,
    "network.allow": ALLOW,
    "network.allow_private": ALLOW,
    "sandbox.env_passthrough": ALLOW,
    "filesystem.deny_read": DENY,
    "tools.deny_commands": DENY,
    "tools.ask_commands": DENY,
    "tools.protected_branches": DENY,
    "dlp.rules": DENY,
    "dlp.dictionaries": DENY,
    "tools.default": LEVEL,
    "network.upstream_proxy": LOCKED,
    "dlp.allowlist": LOCKED,
    "models.upstreams": LOCKED,
    "models.routes": ORDERED,
}
_PREFIX_KIND = (
    ("tools.mcp.", ALLOW),
    ("dlp.actions.", LEVEL),
    ("tools.post_tool_use.", LEVEL),
    # who vouches that a package exists: not for an agent-writable layer
    ("tools.dependencies.registries.", LOCKED),
    ("tools.dependencies.", LEVEL),
    ("identity.", LOCKED),
    ("ledger.", LOCKED),
    ("models.upstreams.", LOCKED),
)


def kind_of(key: str) -> str:
    if key in _EXACT_KIND:
        return _EXACT_KIND[key]
    for prefix, kind in _PREFIX_KIND:
        if key.startswith(prefix):
            return kind
    raise KeyError(key)  # pragma: no cover - the schema only produces known keys


_DLP_RANK = {"allow": 0, "redact": 1, "block": 3}
_TOOL_RANK = {"allow": 0, "warn": 1, "ask": 2, "deny": 3, "block": 3}


def _rank(key: str, value: Any) -> int:
    if key == "tools.dependencies.new_days":
        return int(value)  # more days flagged as "new" is stricter
    if key == "tools.dependencies.offline":
        return int(value)  # a weaker layer may turn offline on, never off
    if key == "tools.dependencies.cache_ttl_hours":
        return -int(value)  # a shorter cache is stricter
    if key.startswith("dlp.actions."):
        return 2 if str(value).startswith("route:") else _DLP_RANK[value]
    return _TOOL_RANK[value]


def _order_text(key: str) -> str:
    if key.startswith("dlp.actions."):
        return "allow < redact < route:<upstream> < block"
    if key == "tools.default":
        return "allow < ask < deny"
    if key.startswith("tools.post_tool_use."):
        return "warn < block"
    if key == "tools.dependencies.new_days":
        return "a larger number is stricter"
    if key == "tools.dependencies.offline":
        return "false < true"
    if key == "tools.dependencies.cache_ttl_hours":
        return "a smaller number is stricter"
    return "allow < warn < ask < block"


# -- coverage for allow-lists ------------------------------------------------
def _covers_path(strong: str, weak: str) -> bool:
    return paths.is_under(weak, strong)


def _covers_domain(strong: str, weak: str) -> bool:
    return parse_pattern(strong).covers(parse_pattern(weak))


def _covers_tool(strong: str, weak: str) -> bool:
    return strong == "*" or strong == weak


def _covers_equal(strong: str, weak: str) -> bool:
    return strong == weak


def _coverer(key: str) -> Callable[[str, str], bool]:
    if key.startswith("filesystem."):
        return _covers_path
    if key == "network.allow":
        return _covers_domain
    if key == "network.allow_private":
        return private_covers
    if key.startswith("tools.mcp."):
        return _covers_tool
    return _covers_equal


@dataclass(slots=True)
class _Eff:
    """The effective value of one key while merging."""

    value: Any
    layer: PolicyLayer
    # For lists: (layer, index in that layer's list) per item.
    items: list[tuple[PolicyLayer, int]] = field(default_factory=list)
    # For deny-lists: every layer that set the key, in merge order.
    contributors: list[PolicyLayer] = field(default_factory=list)


def _describe(layer: PolicyLayer, key: str, index: int | None = None) -> str:
    if layer.kind == "default":
        return "the built-in default policy (see `stockade policy default`)"
    file, line = layer.location(key, index)
    loc = file if line is None else f"{file}:{line}"
    return f"the {layer.kind} policy ({loc})"


class _Merger:
    def __init__(self, default: PolicyLayer) -> None:
        self.eff: dict[str, _Eff] = {}
        self.routes: list[tuple[Any, PolicyLayer, int]] = []
        self.set_by: dict[str, dict[str, PolicyLayer]] = {}  # key -> kind -> layer
        self.default = default
        self.apply(default, bounded_by=None)

    def err(
        self, layer: PolicyLayer, key: str, message: str, hint: str | None, index: int | None = None
    ) -> PolicyError:
        file, line = layer.location(key, index)
        k = key if index is None else f"{key}[{index}]"
        return PolicyError(message, file=file, line=line, key=shown_path(k), hint=hint)

    def apply(self, layer: PolicyLayer, *, bounded_by: str | None) -> None:
        """Apply ``layer``.  ``bounded_by``: None (may loosen anything),
        ``"managed"`` (user: keys the managed layer set bound it) or ``"all"``
        (project: the effective value bounds it)."""
        for key, s in layer.settings.items():
            kind = kind_of(key)
            self.set_by.setdefault(key, {})
            prev = self.eff.get(key)
            binds = bounded_by == "all" or (
                bounded_by == "managed" and "managed" in self.set_by[key]
            )
            bound = prev if binds else None
            if kind == LOCKED and bounded_by == "all":
                raise self.err(
                    layer,
                    key,
                    "only the managed or user policy may set this",
                    f"remove it from {layer.file}; a project policy cannot change {key}",
                )
            if kind == DENY:
                self._add_items(key, s, layer)
            elif kind == ORDERED:
                self.routes.extend((r, layer, i) for i, r in enumerate(s.value))
            elif kind == LOCKED:
                self._locked(key, s, layer, bound)
            elif kind == ALLOW:
                self._allow(key, s, layer, bounded_by=bounded_by)
            else:
                self._level(key, s, layer, bound, bounded_by=bounded_by)
            self.set_by[key][layer.kind] = layer

    def _add_items(self, key: str, s: Setting, layer: PolicyLayer) -> None:
        cur = self.eff.get(key)
        if cur is None:
            cur = self.eff[key] = _Eff((), layer, [])
        cur.contributors.append(layer)
        values = list(cur.value)
        for i, v in enumerate(s.value):
            if v not in values:
                values.append(v)
                cur.items.append((layer, i))
        cur.value = tuple(values)

    def _locked(self, key: str, s: Setting, layer: PolicyLayer, bound: _Eff | None) -> None:
        if bound is not None:
            if key.startswith("identity."):
                return  # the managed identity wins over the user's
            if key == "models.upstreams":
                return  # checked name by name below
            if s.value != bound.value:
                raise self.err(
                    layer,
                    key,
                    f"{_describe(bound.layer, key)} sets this; "
                    f"the {layer.kind} policy cannot change it",
                    "remove it here, or ask whoever manages the managed policy",
                )
            return
        if (
            key.startswith("models.upstreams.")
            and layer.kind == "user"
            and "managed" in self.set_by.get("models.upstreams", {})
        ):
            managed = self.set_by["models.upstreams"]["managed"]
            prev = self.eff.get(key)
            if prev is None or prev.value != s.value:
                raise self.err(
                    layer,
                    key,
                    f"{_describe(managed, 'models.upstreams')} defines the upstreams; the user "
                    "policy cannot add or change one",
                    "remove it here, or ask for it in the managed policy",
                )
            return
        self.eff[key] = _Eff(s.value, layer, [(layer, i) for i in range(len(s.item_lines))])

    def _allow(self, key: str, s: Setting, layer: PolicyLayer, *, bounded_by: str | None) -> None:
        prev = self.eff.get(key)
        bounded = bounded_by == "all" or (bounded_by == "managed" and "managed" in self.set_by[key])
        strong: tuple[str, ...] | None = prev.value if (bounded and prev is not None) else None
        bound_layer = prev.layer if prev is not None else None
        if key.startswith("tools.mcp.") and prev is None:
            # A server no stronger layer lists gets tools.default: listing it is
            # a narrowing only when that default is allow.
            dflt = self.eff["tools.default"]
            dflt_binds = bounded_by == "all" or (
                bounded_by == "managed" and "managed" in self.set_by.get("tools.default", {})
            )
            if dflt_binds and dflt.value != "allow":
                raise self.err(
                    layer,
                    key,
                    f"unlisted MCP servers get tools.default={shown(dflt.value)} from "
                    f"{_describe(dflt.layer, 'tools.default')}; "
                    "listing tools here would allow them",
                    f"a {layer.kind} policy can only narrow tools.mcp; ask for the server upstream",
                )
        if strong is not None and bound_layer is not None:
            covers = _coverer(key)
            for i, weak in enumerate(s.value):
                if not any(covers(st, weak) for st in strong):
                    raise self.err(
                        layer,
                        key,
                        f"{shown(weak)} is not allowed by {_describe(bound_layer, key)}; "
                        f"a {layer.kind} policy can only narrow {key}",
                        f"remove it here, or add it to the {bound_layer.kind} policy"
                        if bound_layer.kind != "default"
                        else "remove it here, or allow it in the user policy "
                        "(~/.config/stockade/policy.yaml)",
                        index=i,
                    )
        self.eff[key] = _Eff(s.value, layer, [(layer, i) for i in range(len(s.value))])

    def _level(
        self,
        key: str,
        s: Setting,
        layer: PolicyLayer,
        bound: _Eff | None,
        *,
        bounded_by: str | None,
    ) -> None:
        if bound is None and bounded_by == "all" and key.startswith("dlp.actions."):
            bound = _Eff(DLP_DEFAULT_ACTION, self.default)  # a label no layer names: block
        if bound is not None:
            weak, strong = s.value, bound.value
            lowered = _rank(key, weak) < _rank(key, strong)
            rerouted = (
                key.startswith("dlp.actions.")
                and _rank(key, weak) == _rank(key, strong)
                and weak != strong
            )
            if lowered or rerouted:
                what = "lower" if lowered else "re-route"
                raise self.err(
                    layer,
                    key,
                    f"{shown(weak)} would {what} {shown(strong)} set by "
                    f"{_describe(bound.layer, key)}; "
                    f"a {layer.kind} policy can only raise it ({_order_text(key)})",
                    f"use {shown(strong)} or stricter here",
                )
        self.eff[key] = _Eff(s.value, layer)


def _source(layer: PolicyLayer, key: str, index: int | None = None) -> str:
    return layer.where(key, index)


def merge(
    *,
    default: PolicyLayer,
    managed: PolicyLayer | None,
    user: PolicyLayer | None,
    projects: tuple[PolicyLayer, ...] = (),
    workspace: str,
    login: str | None,
) -> Policy:
    """``projects``: the workspace's stockade.yaml, then any named policy file
    inside the workspace; each may only tighten what came before it."""
    m = _Merger(default)
    if managed is not None:
        m.apply(managed, bounded_by=None)
    if user is not None:
        m.apply(user, bounded_by="managed")
    for project in projects:
        m.apply(project, bounded_by="all")

    sources: dict[str, str] = {}
    for key, e in m.eff.items():
        if key == "models.upstreams":
            continue
        sources[key] = (
            " + ".join(_source(lay, key) for lay in e.contributors)
            if e.contributors
            else _source(e.layer, key)
        )
        for i, (lay, idx) in enumerate(e.items):
            sources[f"{key}[{i}]"] = _source(lay, key, idx)
    for i, (_, lay, idx) in enumerate(m.routes):
        sources[f"models.routes[{i}]"] = _source(lay, "models.routes", idx)
    if m.routes:
        sources["models.routes"] = _source(m.routes[0][1], "models.routes")

    def val(key: str) -> Any:
        return m.eff[key].value

    upstreams = {
        k[len("models.upstreams.") :]: e.value
        for k, e in m.eff.items()
        if k.startswith("models.upstreams.") and e.value is not None
    }
    _check_references(m, upstreams)
    _check_rule_ids(m)

    user_name = val("identity.user")
    if user_name is None and login:
        user_name = login
        sources["identity.user"] = "default ($USER)"

    def sub(prefix: str) -> dict[str, Any]:
        return {k[len(prefix) :]: e.value for k, e in m.eff.items() if k.startswith(prefix)}

    policy = Policy(
        identity=IdentityPolicy(user=user_name, team=val("identity.team")),
        filesystem=FilesystemPolicy(
            write=val("filesystem.write"),
            read=val("filesystem.read"),
            deny_read=val("filesystem.deny_read"),
        ),
        network=NetworkPolicy(
            allow=val("network.allow"),
            allow_private=val("network.allow_private"),
            upstream_proxy=val("network.upstream_proxy"),
        ),
        models=ModelsPolicy(
            upstreams=MappingProxyType(dict(sorted(upstreams.items()))),
            routes=tuple(r for r, _, _ in m.routes),
        ),
        dlp=DlpPolicy(
            actions=MappingProxyType(dict(sorted(sub("dlp.actions.").items()))),
            rules=val("dlp.rules"),
            dictionaries=val("dlp.dictionaries"),
            allowlist=val("dlp.allowlist"),
        ),
        tools=ToolsPolicy(
            default=val("tools.default"),
            deny_commands=val("tools.deny_commands"),
            ask_commands=val("tools.ask_commands"),
            protected_branches=val("tools.protected_branches"),
            mcp=MappingProxyType(dict(sorted(sub("tools.mcp.").items()))),
            post_tool_use=PostToolUsePolicy(**sub("tools.post_tool_use.")),
            dependencies=DependencyPolicy(
                **{k: v for k, v in sub("tools.dependencies.").items() if "." not in k},
                registries=MappingProxyType(
                    dict(sorted(sub("tools.dependencies.registries.").items()))
                ),
            ),
        ),
        ledger=LedgerPolicy(**sub("ledger.")),
        sandbox=SandboxPolicy(env_passthrough=val("sandbox.env_passthrough")),
        workspace=workspace,
        sources=MappingProxyType(dict(sorted(sources.items()))),
        layers=tuple(
            LayerInfo(kind=lay.kind, file=lay.file, path=lay.path)
            for lay in (managed, user, default, *projects)
            if lay is not None
        ),
    )
    from stockade.config.render import digest

    object.__setattr__(policy, "digest", digest(policy))
    return policy


def _check_references(m: _Merger, upstreams: Mapping[str, Upstream]) -> None:
    names = ", ".join(sorted(upstreams)) or "none"
    for route, layer, idx in m.routes:
        if route.upstream not in upstreams:
            raise m.err(
                layer,
                "models.routes",
                f"route to unknown upstream {shown(route.upstream)}",
                f"define it under models.upstreams (defined: {names})",
                index=idx,
            )
    for key, e in m.eff.items():
        if key.startswith("dlp.actions.") and str(e.value).startswith("route:"):
            target = str(e.value)[len("route:") :]
            if target not in upstreams:
                raise m.err(
                    e.layer,
                    key,
                    f"route to unknown upstream {shown(target)}",
                    f"define it under models.upstreams (defined: {names})",
                )


def _check_rule_ids(m: _Merger) -> None:
    rules = m.eff.get("dlp.rules")
    if rules is None:
        return
    seen: dict[str, tuple[Any, PolicyLayer, int]] = {}
    for rule, (layer, idx) in zip(rules.value, rules.items, strict=True):
        if rule.id in seen:
            _, first_layer, first_idx = seen[rule.id]
            raise m.err(
                layer,
                "dlp.rules",
                f"rule id {shown(rule.id)} is already defined differently by "
                f"{_describe(first_layer, 'dlp.rules', first_idx)}",
                "rename the rule here",
                index=idx,
            )
        seen[rule.id] = (rule, layer, idx)

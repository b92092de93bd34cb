"""The effective policy as plain data, its digest, and ``policy show`` output."""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from stockade.canonical import canonical_json

if TYPE_CHECKING:
    from stockade.config.model import Policy


def policy_to_dict(p: Policy) -> dict[str, Any]:
    """The effective policy in the policy file's own shape (JSON-safe)."""
    return {
        "version": 1,
        "identity": {"user": p.identity.user, "team": p.identity.team},
        "filesystem": {
            "write": list(p.filesystem.write),
            "read": list(p.filesystem.read),
            "deny_read": list(p.filesystem.deny_read),
        },
        "network": {
            "allow": list(p.network.allow),
            "allow_private": list(p.network.allow_private),
            "upstream_proxy": p.network.upstream_proxy,
        },
        "models": {
            "upstreams": {
                name: {
                    "url": u.url,
                    "key_env": u.key_env,
                    "protocol": u.protocol,
                    **({"models": dict(u.models)} if u.models else {}),
                    **({"fallback": list(u.fallback)} if u.fallback else {}),
                    **({"max_tokens": u.max_tokens} if u.max_tokens else {}),
                }
                for name, u in p.models.upstreams.items()
            },
            "routes": [
                {
                    k: v
                    for k, v in (
                        ("upstream", r.upstream),
                        ("label", r.label),
                        ("team", r.team),
                        ("repository", r.repository),
                        ("model", r.model),
                    )
                    if v is not None
                }
                for r in p.models.routes
            ],
        },
        "dlp": {
            "actions": dict(p.dlp.actions),
            "rules": [
                {
                    "id": r.id,
                    "label": r.label,
                    "regex": r.regex,
                    "keywords": list(r.keywords),
                    "validator": r.validator,
                    "confidence": r.confidence,
                }
                for r in p.dlp.rules
            ],
            "dictionaries": [
                {
                    "id": d.id,
                    "label": d.label,
                    "terms": list(d.terms),
                    "case_sensitive": d.case_sensitive,
                }
                for d in p.dlp.dictionaries
            ],
            "allowlist": [
                {
                    k: v
                    for k, v in (
                        ("rule", a.rule),
                        ("value_regex", a.value_regex),
                        ("path", a.path),
                        ("reason", a.reason),
                    )
                    if v is not None
                }
                for a in p.dlp.allowlist
            ],
        },
        "tools": {
            "default": p.tools.default,
            "deny_commands": list(p.tools.deny_commands),
            "ask_commands": list(p.tools.ask_commands),
            "protected_branches": list(p.tools.protected_branches),
            "mcp": {k: list(v) for k, v in p.tools.mcp.items()},
            "post_tool_use": {
                "dlp": p.tools.post_tool_use.dlp,
                "injection": p.tools.post_tool_use.injection,
            },
            "dependencies": {
                "nonexistent": p.tools.dependencies.nonexistent,
                "typosquat": p.tools.dependencies.typosquat,
                "malicious": p.tools.dependencies.malicious,
                "vulnerable": p.tools.dependencies.vulnerable,
                "new": p.tools.dependencies.new,
                "install_scripts": p.tools.dependencies.install_scripts,
                "unverifiable": p.tools.dependencies.unverifiable,
                "new_days": p.tools.dependencies.new_days,
                "offline": p.tools.dependencies.offline,
                "cache_ttl_hours": p.tools.dependencies.cache_ttl_hours,
                "registries": dict(p.tools.dependencies.registries),
            },
        },
        "ledger": {
            "url": p.ledger.url,
            "content": p.ledger.content,
            "durability": p.ledger.durability,
            "checkpoint_every": p.ledger.checkpoint_every,
        },
        "sandbox": {"env_passthrough": list(p.sandbox.env_passthrough)},
    }


def digest(p: Policy) -> str:
    """``sha256:<hex>`` of the canonical effective policy (provenance excluded)."""
    return "sha256:" + hashlib.sha256(canonical_json(policy_to_dict(p))).hexdigest()


# -- YAML with provenance comments -----------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_/~][A-Za-z0-9_./~@+-]*\Z")
_SPECIAL = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?)\Z"
)
# Entities whose fields share the entity's provenance (one comment per entity).
_ENTITY_PARENTS = (
    "models.upstreams",
    "models.routes",
    "dlp.rules",
    "dlp.dictionaries",
    "dlp.allowlist",
)


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if _PLAIN.match(s) and not _SPECIAL.match(s):
        return s
    return json.dumps(s, ensure_ascii=False)


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def render_yaml(p: Policy) -> str:
    """The effective policy as YAML, each value followed by ``# from <layer>``."""
    lines = [
        "# stockade effective policy",
        f"# workspace: {p.workspace}",
        f"# digest: {p.digest}",
        "# layers (strongest first): " + ", ".join(str(x) for x in p.layers),
    ]
    data = policy_to_dict(p)
    lines.append("version: 1")
    for section, body in data.items():
        if section == "version":
            continue
        lines.append(f"{section}:")
        _emit_map(p, lines, body, section, 1)
    return "\n".join(lines) + "\n"


def _comment(p: Policy, key: str) -> str:
    return f"   # from {p.source_of(key)}"


def _emit_map(p: Policy, out: list[str], body: dict[str, Any], path: str, depth: int) -> None:
    pad = "  " * depth
    for k, v in body.items():
        key = f"{path}.{k}"
        name = _scalar(k)
        if isinstance(v, dict) and v:
            if path in _ENTITY_PARENTS:
                out.append(f"{pad}{name}: {_flow(v)}{_comment(p, key)}")
            else:
                out.append(f"{pad}{name}:")
                _emit_map(p, out, v, key, depth + 1)
        elif isinstance(v, list) and v:
            out.append(f"{pad}{name}:{_comment(p, key)}")
            for i, item in enumerate(v):
                out.append(f"{pad}  - {_flow(item)}{_comment(p, f'{key}[{i}]')}")
        else:
            out.append(f"{pad}{name}: {_flow(v)}{_comment(p, key)}")

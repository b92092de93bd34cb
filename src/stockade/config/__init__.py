"""The policy file: loading, validation, layering and provenance.

Public API (stable; other modules code against it)::

    from stockade.config import load_policy, load_policy_file, Policy

    policy = load_policy(workspace=Path("."))        # every layer, merged
    policy.network_allows("pypi.org", 443)            # -> bool
    policy.dlp_action("secret")                      # -> "redact"
    policy.is_read_denied("~/.ssh/id_ed25519")       # -> True
    policy.is_write_allowed("./src/app.py")          # -> True
    policy.sources["network.allow[2]"]                # -> "user ~/.config/stockade/policy.yaml:4"
    policy.digest                                     # -> "sha256:..."

See docs/policy.md for the schema and the layering rules.

The names are loaded on first use (PEP 562): importing a leaf module
(``stockade.config.paths``, ``stockade.config.domains``, ``stockade.config.model``)
runs this file first, and must not pay for the YAML loader and the schema
(tens of milliseconds) that only :func:`load_policy` needs.
"""

from __future__ import annotations

import sys

# typing.TYPE_CHECKING without importing typing: this file runs before any
# leaf module, and the hooks count every millisecond of their start-up
TYPE_CHECKING = False
if TYPE_CHECKING:
    from stockade.config.loader import (
        MANAGED_POLICY_PATH,
        PROJECT_POLICY_NAME,
        load_policy,
        load_policy_file,
    )
    from stockade.config.model import (
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
        Route,
        SandboxPolicy,
        ToolsPolicy,
        Upstream,
    )
    from stockade.config.schema import PolicyLayer, Setting

# public name -> the module that defines it
_WHERE = {
    "MANAGED_POLICY_PATH": "loader",
    "PROJECT_POLICY_NAME": "loader",
    "load_policy": "loader",
    "load_policy_file": "loader",
    "DependencyPolicy": "model",
    "DlpPolicy": "model",
    "FilesystemPolicy": "model",
    "IdentityPolicy": "model",
    "LayerInfo": "model",
    "LedgerPolicy": "model",
    "ModelsPolicy": "model",
    "NetworkPolicy": "model",
    "Policy": "model",
    "PostToolUsePolicy": "model",
    "Route": "model",
    "SandboxPolicy": "model",
    "ToolsPolicy": "model",
    "Upstream": "model",
    "PolicyLayer": "schema",
    "Setting": "schema",
}

__all__ = [
    "MANAGED_POLICY_PATH",
    "PROJECT_POLICY_NAME",
    "DependencyPolicy",
    "DlpPolicy",
    "FilesystemPolicy",
    "IdentityPolicy",
    "LayerInfo",
    "LedgerPolicy",
    "ModelsPolicy",
    "NetworkPolicy",
    "Policy",
    "PolicyLayer",
    "PostToolUsePolicy",
    "Route",
    "SandboxPolicy",
    "Setting",
    "ToolsPolicy",
    "Upstream",
    "load_policy",
    "load_policy_file",
]


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'stockade.config' has no attribute {name!r}")
    module = f"stockade.config.{where}"
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})

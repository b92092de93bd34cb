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
"""

from __future__ import annotations

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

"""Agent presets: ``stockade run claude`` / ``codex`` / ``aider``.

A preset is chosen by the command's base name.  It shows the agent's own
state directories (its config files stay read-only through the guards in
:mod:`stockade.sandbox.layout`), hides its stored vendor credentials (model
traffic goes to the gateway with a session token instead), and sets the
environment that points it at the gateway and turns off telemetry and
self-update (which would otherwise be refused by the egress proxy, noisily).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from stockade.sandbox.layout import Extra


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class Preset(NamedTuple):
    name: str
    extras: tuple[Extra, ...] = ()
    hidden: tuple[str, ...] = ()
    env: Mapping[str, str] = MappingProxyType({})
    # env set only when a gateway is available: name -> "anthropic" | "openai" | "key"
    gateway_env: Mapping[str, str] = MappingProxyType({})


def _home_extras(home: str, items: tuple[tuple[str, str], ...]) -> tuple[Extra, ...]:
    return tuple(Extra(f"{home}/{rel}", "rw" if mode == "rw" else "ro") for rel, mode in items)


def preset_for(command: tuple[str, ...], *, home: str | None) -> Preset | None:
    if not command or not home:
        return None
    name = os.path.basename(command[0])
    if name == "claude":
        return Preset(
            "claude",
            extras=_home_extras(home, (
                (".claude", "rw"), (".claude.json", "rw"), (".claude/hooks", "ro"),
                (".claude/commands", "ro"), (".claude/agents", "ro"),
                (".local/share/claude", "ro"), (".npm-global", "ro"),
            )),
            hidden=(f"{home}/.claude/.credentials.json",),
            env={
                "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1", "DISABLE_BUG_COMMAND": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            },
            gateway_env={"ANTHROPIC_BASE_URL": "anthropic", "ANTHROPIC_AUTH_TOKEN": "key"},
        )
    if name == "codex":
        # ~/.codex itself is a guard (read-only); codex keeps its sessions and
        # logs in a throw-away CODEX_HOME on the sandbox's /tmp.
        return Preset(
            "codex",
            env={"CODEX_HOME": "/tmp/codex-home", "CODEX_DISABLE_UPDATE_CHECK": "1"},
            gateway_env={"OPENAI_BASE_URL": "openai", "OPENAI_API_KEY": "key"},
        )
    if name == "aider":
        return Preset(
            "aider",
            extras=_home_extras(home, (
                (".aider", "rw"), (".aider.conf.yml", "ro"), (".local/share/pipx/venvs", "ro"),
            )),
            env={"AIDER_ANALYTICS": "false", "AIDER_CHECK_UPDATE": "false",
                 "AIDER_SHOW_RELEASE_NOTES": "false"},
            gateway_env={"ANTHROPIC_BASE_URL": "anthropic", "ANTHROPIC_API_BASE": "anthropic",
                         "OPENAI_API_BASE": "openai", "ANTHROPIC_API_KEY": "key",
                         "OPENAI_API_KEY": "key"},
        )
    return None


__all__ = ["Preset", "preset_for"]

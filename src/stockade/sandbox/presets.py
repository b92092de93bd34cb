"""Agent presets: ``stockade run claude`` / ``codex`` / ``aider``.

A preset is chosen by the command's base name.  It shows the agent's own
state directories (its config files stay read-only through the guards in
:mod:`stockade.sandbox.layout`), and sets the environment that points it at
the gateway and turns off telemetry and self-update (which would otherwise be
refused by the egress proxy, noisily).

Stored vendor credentials depend on the gateway's mode.  Team mode (a vendor
key on the host, or ``$STOCKADE_GATEWAY_KEY``): the agent gets a session
token and its stored login stays hidden.  Personal mode: the gateway passes
the client's own credentials to their own vendor only, so the agent needs its
login - Claude Code's ``~/.claude/.credentials.json`` is shown read-only (the
one file, nothing else of the host's secrets; see docs/sandbox.md for what a
token refresh does then).
"""

from __future__ import annotations

import os
from types import MappingProxyType

from stockade.sandbox.layout import Extra

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NamedTuple
else:
    from stockade.lite import NamedTuple


# NamedTuple, not a dataclass: on `stockade run`'s start-up path (see seccomp.Insn)
class Preset(NamedTuple):
    name: str
    extras: tuple[Extra, ...] = ()
    hidden: tuple[str, ...] = ()
    env: Mapping[str, str] = MappingProxyType({})
    # env set only when a gateway is available: name -> "anthropic" | "openai" | "key"
    gateway_env: Mapping[str, str] = MappingProxyType({})
    # files shown writable as a copy made for the session and thrown away
    # after it (what the agent writes there never reaches the host): (path,
    # top-level JSON keys left out of the copy)
    copies: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _home_extras(home: str, items: tuple[tuple[str, str], ...]) -> tuple[Extra, ...]:
    return tuple(Extra(f"{home}/{rel}", "rw" if mode == "rw" else "ro") for rel, mode in items)


CLAUDE_CREDENTIALS = ".claude/.credentials.json"


def preset_for(command: tuple[str, ...], *, home: str | None,
               personal: bool = False) -> Preset | None:
    """``personal``: the gateway passes the agent's own login through (no
    session token), so the agent's stored login is shown read-only."""
    if not command or not home:
        return None
    name = os.path.basename(command[0])
    if name == "claude":
        login = (CLAUDE_CREDENTIALS, "ro") if personal else None
        return Preset(
            "claude",
            extras=_home_extras(home, (
                # hooks, commands, agents, skills, plugins ... under it are
                # guards (layout.HOME_BOUND_GUARDS): read-only even when absent
                (".claude", "rw"),
                (".local/share/claude", "ro"), (".npm-global", "ro"),
                *((login,) if login else ()),
            )),
            # team mode: Claude Code's backups of ~/.claude.json hold what the
            # copy leaves out
            hidden=() if personal else (f"{home}/{CLAUDE_CREDENTIALS}",
                                        f"{home}/.claude/backups"),
            # ~/.claude.json: Claude Code's state, rewritten all the time, but
            # also its user- and local-scope MCP servers (started by every
            # claude on the host, unasked) and per-project allowed tools; a
            # copy (tests/sandbox/test_rt_claude_json_copy.py).  Team mode:
            # without a key stored by `claude /login` (the gateway holds one).
            # ~/.claude/.config.json, where it exists, is that file under its
            # older name, read instead (absent: an inert guard in layout.py)
            copies=tuple((f"{home}/{rel}", () if personal else ("primaryApiKey",))
                         for rel in (".claude.json", ".claude/.config.json")),
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


def login_warning(preset: Preset | None, *, home: str | None, env: Mapping[str, str],
                  personal: bool, now: float) -> str | None:
    """What to tell the user before an agent starts that cannot log in: the
    common case must work on the first try, and when it cannot, say what to do.
    Reads only the login's expiry, never the token."""
    if preset is None or not home or not personal:
        return None
    if preset.name == "claude":
        if any(env.get(k) for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                    "CLAUDE_CODE_OAUTH_TOKEN")):
            return None
        path = f"{home}/{CLAUDE_CREDENTIALS}"
        if not os.path.isfile(path):
            return ("stockade: warning: claude has no credentials to use in the sandbox "
                    f"(no {path}, no ANTHROPIC_API_KEY)\n"
                    "  hint: log in with `claude login` outside the sandbox (a subscription), "
                    "or export ANTHROPIC_API_KEY (team mode: the session's gateway holds it)")
        expires = _claude_expiry(path)
        if expires is not None and expires < now:
            return ("stockade: warning: your Claude login's access token has expired, and the "
                    "sandbox cannot refresh it (its credentials file is read-only inside)\n"
                    "  hint: run `claude` once outside the sandbox (it refreshes the login), "
                    "then start the session again")
        return None
    if preset.name == "codex" and not env.get("OPENAI_API_KEY") \
            and os.path.isfile(f"{home}/.codex/auth.json"):
        return ("stockade: warning: codex's own login (~/.codex/auth.json) is not used in the "
                "sandbox: its model traffic must go through the stockade gateway\n"
                "  hint: export OPENAI_API_KEY before `stockade run codex` (the session's "
                "gateway holds it; codex gets a session key)")
    return None


def _claude_expiry(path: str) -> float | None:
    """``claudeAiOauth.expiresAt`` (ms) in seconds, or None when unreadable."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        ms = data["claudeAiOauth"]["expiresAt"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(ms) / 1000 if isinstance(ms, (int, float)) else None


__all__ = ["Preset", "login_warning", "preset_for"]

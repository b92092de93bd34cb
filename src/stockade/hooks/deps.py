"""The one place the hooks touch the rest of stockade: policy, ledger, DLP.

Every import of another package happens here, lazily, so the allow path of a
PreToolUse call loads neither the YAML loader, the ledger nor the DLP engine:

* the policy's hook view (:class:`HookPolicy`) is cached as JSON in the state
  directory, keyed by a digest of every policy file that could apply (path,
  size, mtime and content) and of stockade's version;
* ledger events go through :mod:`stockade.hooks.journal`;
* the DLP engine is imported only for PostToolUse / UserPromptSubmit.
"""

from __future__ import annotations

import os

from stockade.hooks import _fastjson as json
from stockade.hooks._record import Record
from stockade.hooks.view import HookPolicy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:  # the builtin module: importing hashlib loads OpenSSL, a few ms per call
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - other Python builds
        from hashlib import sha256

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from stockade.config import Policy
    from stockade.model import Finding

CACHE_FORMAT = 1
_MANAGED_DEFAULT = "/etc/stockade/policy.yaml"
_PROJECT_NAME = "stockade.yaml"
# Settings files the hooks themselves live in: an agent editing them could
# switch stockade off.
CLAUDE_MANAGED_SETTINGS = "/etc/claude-code/managed-settings.json"


class LedgerSettings(Record):
    url: str | None
    content: str
    durability: str
    checkpoint_every: int


class Loaded(Record):
    view: HookPolicy
    ledger: LedgerSettings
    from_cache: bool


def state_root(env: Mapping[str, str] | None = None) -> str:
    """Same rule as :func:`stockade.state.default_root`, without pathlib."""
    e = os.environ if env is None else env
    home = e.get("STOCKADE_HOME")
    if home:
        return os.path.abspath(os.path.expanduser(home))
    xdg = e.get("XDG_DATA_HOME")
    base = os.path.expanduser(xdg) if xdg else os.path.join(
        e.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return os.path.abspath(os.path.join(base, "stockade"))


def _home(env: Mapping[str, str]) -> str:
    return os.path.normpath(env.get("HOME") or os.path.expanduser("~"))


def policy_files(*, workspace: str, policy_file: str | None,
                 env: Mapping[str, str]) -> list[str]:
    """Every file whose content can change the effective policy."""
    managed = env.get("STOCKADE_MANAGED_POLICY") or _MANAGED_DEFAULT
    if policy_file:
        user = os.path.expanduser(policy_file)
    elif env.get("STOCKADE_POLICY"):
        user = os.path.expanduser(env["STOCKADE_POLICY"])
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        base = xdg if xdg else os.path.join(_home(env), ".config")
        user = os.path.join(base, "stockade", "policy.yaml")
    return [managed, user, os.path.join(workspace, _PROJECT_NAME)]


def protected_paths(*, workspace: str, env: Mapping[str, str],
                    files: list[str]) -> tuple[str, ...]:
    """stockade's own files the agent must never write: hook settings,
    policies, the state directory (ledger, keys, this cache)."""
    home = _home(env)
    codex_home = env.get("CODEX_HOME") or os.path.join(home, ".codex")
    out = [
        os.path.join(home, ".claude", "settings.json"),
        os.path.join(home, ".claude", "settings.local.json"),
        os.path.join(workspace, ".claude", "settings.json"),
        os.path.join(workspace, ".claude", "settings.local.json"),
        CLAUDE_MANAGED_SETTINGS,
        os.path.join(codex_home, "hooks.json"),
        os.path.join(codex_home, "config.toml"),
        os.path.join(workspace, ".codex"),
        os.path.dirname(files[0]) if files[0] == _MANAGED_DEFAULT else files[0],
        files[1],
        files[2],
        state_root(env),
    ]
    return tuple(dict.fromkeys(os.path.normpath(p) for p in out))


def _cache_key(files: list[str], *, workspace: str, env: Mapping[str, str]) -> str:
    from stockade import __version__

    h = sha256()
    h.update(f"v{CACHE_FORMAT}\0{__version__}\0{workspace}\0{_home(env)}\0".encode())
    for name in ("USER", "LOGNAME", "CODEX_HOME", "XDG_CONFIG_HOME", "STOCKADE_HOME"):
        h.update(f"{name}={env.get(name, '')}\0".encode())
    # the built-in default ships with the code: its loader's files count too
    try:
        import stockade.hooks as pkg

        cfg = os.path.join(os.path.dirname(os.path.dirname(pkg.__file__ or "")), "config")
        for fn in sorted(os.listdir(cfg)):
            st = os.stat(os.path.join(cfg, fn))
            h.update(f"{fn}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    except OSError:
        pass
    for path in files:
        h.update(path.encode() + b"\0")
        try:
            with open(path, "rb") as fh:
                h.update(sha256(fh.read(2 << 20)).digest())
        except FileNotFoundError:
            h.update(b"absent\0")
        except OSError as exc:
            h.update(f"error:{exc.errno}\0".encode())
    return h.hexdigest()[:32]


def load(*, workspace: str, policy_file: str | None = None,
         env: Mapping[str, str] | None = None, use_cache: bool = True) -> Loaded:
    """The hook view of the effective policy for ``workspace``."""
    e = os.environ if env is None else env
    ws = os.path.realpath(workspace)
    files = policy_files(workspace=ws, policy_file=policy_file, env=e)
    key = _cache_key(files, workspace=ws, env=e)
    cache = os.path.join(state_root(e), "cache", f"hook-policy-{key}.json")
    if use_cache:
        try:
            with open(cache, encoding="utf-8") as fh:
                data = json.loads(fh.read())
            return Loaded(HookPolicy.from_json(data["view"]), LedgerSettings(**data["ledger"]),
                          True)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    policy = full_policy(workspace=ws, policy_file=policy_file, env=e)
    view, ledger = view_of(policy, env=e, files=files)
    if use_cache:
        _write_cache(cache, {"view": view.to_json(), "ledger": _ledger_dict(ledger)})
    return Loaded(view, ledger, False)


def _ledger_dict(s: LedgerSettings) -> dict[str, Any]:
    return {"url": s.url, "content": s.content, "durability": s.durability,
            "checkpoint_every": s.checkpoint_every}


def _write_cache(path: str, data: dict[str, Any]) -> None:
    try:
        d = os.path.dirname(path)
        os.makedirs(d, mode=0o700, exist_ok=True)
        # drop stale entries so the cache does not grow without bound
        for old in os.listdir(d):
            if old.startswith("hook-policy-") and old != os.path.basename(path):
                try:
                    os.unlink(os.path.join(d, old))
                except OSError:
                    pass
        tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # no cache is slower, never wrong


def full_policy(*, workspace: str, policy_file: str | None = None,
                env: Mapping[str, str] | None = None) -> Policy:
    from pathlib import Path

    from stockade.config import load_policy

    return load_policy(policy_file=policy_file, workspace=Path(workspace), env=env)


def view_of(policy: Policy, *, env: Mapping[str, str],
            files: list[str]) -> tuple[HookPolicy, LedgerSettings]:
    fs = policy.filesystem
    tools = policy.tools
    ws = policy.workspace
    view = HookPolicy(
        workspace=ws,
        home=_home(env),
        write=tuple(fs.write),
        deny_read=tuple(fs.deny_read),
        network_allow=tuple(policy.network.allow),
        default_action=tools.default,
        deny_commands=tuple(tools.deny_commands),
        ask_commands=tuple(tools.ask_commands),
        protected_branches=tuple(tools.protected_branches),
        mcp={k: tuple(v) for k, v in tools.mcp.items()},
        post_dlp=tools.post_tool_use.dlp,
        post_injection=tools.post_tool_use.injection,
        protected=protected_paths(workspace=ws, env=env, files=files),
        identity_user=policy.identity.user,
        identity_team=policy.identity.team,
        digest=policy.digest,
    )
    lg = policy.ledger
    return view, LedgerSettings(lg.url, lg.content, lg.durability, lg.checkpoint_every)


# -- DLP ----------------------------------------------------------------------

def scan(text: str) -> list[Finding]:
    """DLP findings in ``text`` (the default engine)."""
    from stockade.dlp import Engine

    return list(Engine.default().scan(text))


def redact(text: str) -> tuple[str, list[Finding]]:
    """``text`` with every finding replaced by ``[REDACTED:<rule_id>]``."""
    findings = scan(text)
    out: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos:
            continue
        out.append(text[pos:f.start])
        out.append(f"[REDACTED:{f.rule_id}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out), findings


# -- ledger -------------------------------------------------------------------

def open_ledger(settings: LedgerSettings, *, env: Mapping[str, str] | None = None) -> Any:
    from pathlib import Path

    from stockade.ledger import open_ledger as _open
    from stockade.state import StateDir

    e = os.environ if env is None else env
    return _open(settings.url, state=StateDir(Path(state_root(e))), durability=settings.durability,
                 checkpoint_every=settings.checkpoint_every)


def actor(view: HookPolicy, *, agent: str) -> Any:
    from stockade.model import Actor

    return Actor(user=view.identity_user or os.environ.get("USER"), team=view.identity_team,
                 agent=agent, host=os.uname().nodename, process="stockade hook",
                 pid=os.getpid())


__all__ = ["LedgerSettings", "Loaded", "actor", "full_policy", "load", "open_ledger",
           "policy_files", "protected_paths", "redact", "scan", "state_root", "view_of"]

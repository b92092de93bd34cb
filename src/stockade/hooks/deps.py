"""The one place the hooks touch the rest of stockade: policy, ledger, DLP.

Every import of another package happens here, lazily, so the allow path of a
PreToolUse call loads neither the YAML loader, the ledger nor the DLP engine:

* the policy's hook view (:class:`HookPolicy`) is cached as JSON in the state
  directory, keyed by a digest of every policy file that could apply (path
  and content), of the environment that places them and of stockade's
  version, and authenticated with the state directory's HMAC key (a cache
  file that does not verify is rebuilt, never read);
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
    from hmac import compare_digest as _compare_digest
else:
    from _operator import _compare_digest

    try:  # the builtin module: importing hashlib loads OpenSSL, a few ms per call
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - other Python builds
        from hashlib import sha256

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from stockade.config import Policy
    from stockade.model import Finding

CACHE_FORMAT = 2
_MANAGED_DEFAULT = "/etc/stockade/policy.yaml"
_PROJECT_NAME = "stockade.yaml"
# Settings files the hooks themselves live in: an agent editing them could
# switch stockade off.
CLAUDE_MANAGED_SETTINGS = "/etc/claude-code/managed-settings.json"
# Where stockade.state.StateDir keeps the HMAC key (keys_dir / HMAC_KEY_FILE);
# read directly on the hot path, a test holds the two together.
_HMAC_KEY = ("keys", "fingerprint.key")
# Every variable that moves a file the cache key or the protected paths name.
_KEY_ENV = ("USER", "LOGNAME", "CODEX_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
            "STOCKADE_HOME", "CLAUDE_CONFIG_DIR", "STOCKADE_CLAUDE_MANAGED_SETTINGS")
_CONTENT_MODES = ("full", "redacted", "hash", "none")


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
    """:func:`stockade.state.default_root` for ``env``, as a string.

    The same rule, restated: importing :mod:`stockade.state` (pathlib,
    dataclasses, hashlib) costs a hook call more than its whole start-up
    budget, and every call needs this path for its spool.  A test checks the
    two agree."""
    e = os.environ if env is None else env
    home = e.get("STOCKADE_HOME")
    if home:
        return os.path.abspath(os.path.expanduser(home))
    xdg = e.get("XDG_DATA_HOME")
    base = os.path.expanduser(xdg) if xdg else os.path.join(
        e.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return os.path.abspath(os.path.join(base, "stockade"))


def claude_config_dir(env: Mapping[str, str]) -> str:
    """Claude Code's user settings directory: ``$CLAUDE_CONFIG_DIR``, else
    ``~/.claude`` (where ``stockade install`` writes the user-scope hooks)."""
    base = env.get("CLAUDE_CONFIG_DIR")
    return os.path.abspath(os.path.expanduser(base)) if base else os.path.join(_home(env),
                                                                              ".claude")


def claude_managed_settings(env: Mapping[str, str]) -> str:
    return env.get("STOCKADE_CLAUDE_MANAGED_SETTINGS") or CLAUDE_MANAGED_SETTINGS


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
    policies, the state directory (ledger, keys, this cache).  The settings
    paths follow the same rules as ``stockade install``."""
    home = _home(env)
    codex_home = env.get("CODEX_HOME") or os.path.join(home, ".codex")
    out = []
    for claude in dict.fromkeys((os.path.join(home, ".claude"), claude_config_dir(env))):
        out += [os.path.join(claude, "settings.json"),
                os.path.join(claude, "settings.local.json")]
    out += [
        os.path.join(workspace, ".claude", "settings.json"),
        os.path.join(workspace, ".claude", "settings.local.json"),
        CLAUDE_MANAGED_SETTINGS,
        claude_managed_settings(env),
        os.path.join(codex_home, "hooks.json"),
        os.path.join(codex_home, "config.toml"),
        os.path.join(workspace, ".codex"),
        os.path.dirname(files[0]) if files[0] == _MANAGED_DEFAULT else files[0],
        files[1],
        files[2],
        state_root(env),
    ]
    return tuple(dict.fromkeys(os.path.normpath(os.path.abspath(p)) for p in out))


def _cache_key(files: list[str], *, workspace: str, env: Mapping[str, str]) -> str:
    from stockade import __version__

    h = sha256()
    h.update(f"v{CACHE_FORMAT}\0{__version__}\0{workspace}\0{_home(env)}\0".encode())
    for name in _KEY_ENV:
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
    root = state_root(e)
    cache = os.path.join(root, "cache", f"hook-policy-{key}.json")
    if use_cache:
        hit = _read_cache(cache, key=key, root=root)
        if hit is not None:
            return hit
    policy = full_policy(workspace=ws, policy_file=policy_file, env=e)
    view, ledger = view_of(policy, env=e, files=files)
    # A file that changed while it was being loaded: what was loaded may be
    # either version, so it belongs under neither key.
    if use_cache and _cache_key(files, workspace=ws, env=e) == key:
        _write_cache(cache, key=key, root=root,
                     data={"view": view.to_json(), "ledger": ledger._asdict()})
    return Loaded(view, ledger, False)


def _mac(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 (RFC 2104) on the builtin sha256: the hmac module imports
    OpenSSL, a few ms per hook call.  A test checks it against hmac."""
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + data).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def _read_key(root: str) -> bytes | None:
    try:
        with open(os.path.join(root, *_HMAC_KEY), "rb") as fh:
            key = fh.read(4096)
    except OSError:
        return None
    return key if len(key) >= 32 else None


def _read_cache(path: str, *, key: str, root: str) -> Loaded | None:
    """The cached view, or None when there is none or it does not verify."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4 << 20)
    except OSError:
        return None
    mac, nl, body = raw.partition(b"\n")
    secret = _read_key(root) if nl else None
    if secret is None or not _compare_digest(mac, _mac(secret, key.encode() + b"\0" + body)
                                             .encode()):
        return None
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or set(data) != {"view", "ledger"}:
            return None
        return Loaded(HookPolicy.from_json(data["view"]), _ledger_from(data["ledger"]), True)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _ledger_from(d: Any) -> LedgerSettings:
    if not isinstance(d, dict) or set(d) != set(LedgerSettings._fields):
        raise ValueError("cached ledger settings have other fields")
    url, content, durability, every = d["url"], d["content"], d["durability"], \
        d["checkpoint_every"]
    if url is not None and not isinstance(url, str):
        raise ValueError("cached ledger url is not a string")
    if content not in _CONTENT_MODES or not isinstance(durability, str) or \
            type(every) is not int:
        raise ValueError("cached ledger settings have the wrong types")
    return LedgerSettings(url, content, durability, every)


def _write_cache(path: str, *, key: str, root: str, data: dict[str, Any]) -> None:
    try:
        from pathlib import Path

        from stockade.errors import StockadeError
        from stockade.state import StateDir

        try:
            secret = StateDir(Path(root)).ensure().hmac_key()
        except StockadeError:
            return  # no key, no cache: slower, never wrong
        body = json.dumps(data).encode("utf-8")
        mac = _mac(secret, key.encode() + b"\0" + body)
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
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as fh:
            fh.write(mac.encode() + b"\n" + body)
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
        default_explicit=policy.source_of("tools.default") != "default",
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


def redact(text: str, findings: list[Finding] | None = None) -> tuple[str, list[Finding]]:
    """``text`` with every finding (``findings``, else a scan's) replaced by
    a placeholder that names its kind (:func:`stockade.dlp.redact.redact`,
    which merges overlapping findings so no tail of a value is left)."""
    if findings is None:
        findings = scan(text)
    if not findings:
        return text, findings
    from stockade.dlp.redact import redact as _redact

    return _redact(text, findings)[0], findings


# -- ledger -------------------------------------------------------------------

def open_ledger(settings: LedgerSettings, *, env: Mapping[str, str] | None = None) -> Any:
    from pathlib import Path

    from stockade.ledger import open_ledger as _open
    from stockade.state import StateDir

    e = os.environ if env is None else env
    return _open(settings.url, state=StateDir(Path(state_root(e))), durability=settings.durability,
                 checkpoint_every=settings.checkpoint_every)


__all__ = ["LedgerSettings", "Loaded", "claude_config_dir", "claude_managed_settings",
           "full_policy", "load", "open_ledger", "policy_files", "protected_paths", "redact",
           "scan", "state_root", "view_of"]

"""An authenticated cache of the compiled :class:`~stockade.sandbox.deps.PolicyView`.

Loading the policy (YAML parser, schema, merge) costs more than the rest of a
``stockade run -- true`` start together.  The view it yields depends only on
the policy files' contents, the code that compiles them, a few environment
variables and the workspace, so it is kept on disk under a key made of all
of them:

* every candidate policy file (managed, user, project, a named one): its path,
  where it resolves to, and the SHA-256 of its content (policy files are a few
  kB: hashing is cheaper than a ``stat`` race is subtle);
* the ``stat`` (size, mtime, inode) of every module of ``stockade.config``, of
  this module and of ``deps`` and ``ledgerconf``, and stockade's version;
* the variables the loader reads, the workspace and the current directory
  (refusal texts name files relative to it).

The entry is an HMAC (the state directory's fingerprint key, which the agent
never sees) over key and body: a cache file the agent could not have written
anyway, but that a bug or another user must not be able to forge either.  A
miss, a bad MAC or a body of the wrong shape means "load the policy", never
"trust it".  Policies this cache cannot hold faithfully (custom DLP rules, a
ledger URL that may carry a password) are simply not cached.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:
        # the builtin SHA-256: hashlib would load OpenSSL first, a few ms of
        # every `stockade run` start for a few hashes
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - Python 3.12+ names it _sha2
        from hashlib import sha256

# hmac.compare_digest itself; the hmac module would import OpenSSL for nothing
from _operator import _compare_digest

FORMAT = 3  # 3: the body is marshal data (json and re were ~8 ms of every start)
PREFIX = "sandbox-view-"
KEY_ENV = ("HOME", "USER", "LOGNAME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "STOCKADE_HOME",
           "STOCKADE_POLICY", "STOCKADE_MANAGED_POLICY", "STOCKADE_LEDGER")
_MANAGED = "/etc/stockade/policy.yaml"
_FIELDS = ("source", "digest", "workspace", "write", "read", "deny_read", "env_passthrough",
           "network", "upstream_proxy", "model_hosts", "model_key_envs", "policy_files",
           "identity", "ledger")


def mac(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 (RFC 2104) on hashlib's sha256: the hmac module is not
    needed for one MAC.  tests/sandbox checks it against ``hmac``."""
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + data).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def candidate_files(*, policy_file: str | None, workspace: str,
                    env: Mapping[str, str]) -> list[str]:
    """Every file whose content can change the effective policy."""
    home = os.path.normpath(env.get("HOME") or os.path.expanduser("~"))
    files = [_MANAGED]
    if env.get("STOCKADE_MANAGED_POLICY"):
        files.append(os.path.expanduser(env["STOCKADE_MANAGED_POLICY"]))
    if policy_file:
        files.append(os.path.expanduser(policy_file))
    if env.get("STOCKADE_POLICY"):
        files.append(os.path.expanduser(env["STOCKADE_POLICY"]))
    xdg = env.get("XDG_CONFIG_HOME")
    files.append(os.path.join(xdg if xdg else os.path.join(home, ".config"),
                              "stockade", "policy.yaml"))
    files.append(os.path.join(workspace, "stockade.yaml"))
    return files


def _code_stamp(h: Any) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.dirname(here)
    paths = [os.path.join(here, "viewcache.py"), os.path.join(here, "deps.py"),
             os.path.join(pkg, "ledgerconf.py"), os.path.join(pkg, "__init__.py")]
    cfg = os.path.join(pkg, "config")
    try:
        paths += [os.path.join(cfg, n) for n in sorted(os.listdir(cfg)) if n.endswith(".py")]
    except OSError:
        h.update(b"no-config\0")
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\0".encode())
        except OSError as exc:
            h.update(f"{p}:error:{exc.errno}\0".encode())


def cache_key(*, policy_file: str | None, workspace: str, env: Mapping[str, str]) -> str:
    from stockade import __version__

    h = sha256(f"stockade-sandbox-view\0{FORMAT}\0{__version__}\0{workspace}\0".encode())
    try:
        h.update(os.getcwd().encode("utf-8", "surrogateescape") + b"\0")
    except OSError:
        h.update(b"no-cwd\0")
    h.update(repr(policy_file).encode("utf-8", "surrogateescape") + b"\0")
    for name in KEY_ENV:
        h.update(f"{name}={env.get(name)!r}\0".encode("utf-8", "surrogateescape"))
    _code_stamp(h)
    for path in candidate_files(policy_file=policy_file, workspace=workspace, env=env):
        h.update(path.encode("utf-8", "surrogateescape") + b"\0")
        h.update(os.path.realpath(path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            # O_NONBLOCK: a FIFO planted as a policy file must not hang start-up
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            h.update(b"absent\0")
            continue
        except OSError as exc:
            h.update(f"error:{exc.errno}\0".encode())
            continue
        try:
            st = os.fstat(fd)
            h.update(f"mode:{st.st_mode}:{st.st_size}:{st.st_ino}:{st.st_dev}\0".encode())
            if st.st_mode & 0o170000 == 0o100000:  # a regular file: hash what it says
                h.update(sha256(os.read(fd, (1 << 20) + 1)).digest())
        except OSError as exc:
            h.update(f"error:{exc.errno}\0".encode())
        finally:
            os.close(fd)
    return h.hexdigest()[:32]


def read_key(state: str) -> bytes | None:
    """The fingerprint key (``stockade.state.StateDir.hmac_key``'s file), or
    None when there is none yet or it is too short to trust."""
    try:
        with open(os.path.join(state, "keys", "fingerprint.key"), "rb") as fh:
            key = fh.read(4096)
    except OSError:
        return None
    return key if len(key) >= 32 else None


def entry_path(state: str, key: str) -> str:
    """Where the entry for ``key`` lives."""
    return os.path.join(state, "cache", f"{PREFIX}{key}.bin")


def read(state: str, key: str) -> dict[str, Any] | None:
    """The cached view's data, or None (absent, forged, or another shape)."""
    secret = read_key(state)
    if secret is None:
        return None
    raw = _read_own_file(entry_path(state, key))
    if raw is None:
        return None
    tag, nl, body = raw.partition(b"\n")
    if not nl or not _compare_digest(tag, mac(secret, key.encode() + b"\0" + body).encode()):
        return None
    try:
        # marshal, not json: the body is this interpreter's own data, and it
        # is read only once the MAC says this state directory's key wrote it
        data = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or tuple(sorted(data)) != tuple(sorted(_FIELDS)):
        return None
    return data


def _read_own_file(path: str) -> bytes | None:
    """The file's bytes if it is a regular file of ours that no one else can
    write; else None.  Never follows a symlink, never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o170000 != 0o100000 or st.st_uid != os.geteuid() \
                or st.st_mode & 0o022:
            return None
        chunks = []
        left = 4 << 20
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


_MAX_ENTRIES = 16


def _prune(folder: str, *, keep: str) -> None:
    """A few workspaces' entries, not a growing pile: the oldest go first."""
    entries = []
    for name in os.listdir(folder):
        if name.startswith(PREFIX) and name != keep:
            try:
                entries.append((os.stat(os.path.join(folder, name)).st_mtime_ns, name))
            except OSError:
                continue
    for _, name in sorted(entries)[:max(0, len(entries) - _MAX_ENTRIES + 1)]:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def write(state: str, key: str, data: Mapping[str, Any]) -> None:
    """Store ``data`` under ``key`` (best effort: no cache is slower, never wrong)."""
    secret = read_key(state)
    if secret is None:
        return
    try:
        body = marshal.dumps(dict(data))
    except ValueError:
        return  # something marshal cannot hold: no cache
    path = entry_path(state, key)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
        if st.st_mode & 0o170000 != 0o040000 or st.st_uid != os.geteuid():
            return  # not our own directory: write nothing there
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)
        _prune(folder, keep=os.path.basename(path))
        # a fresh name, created exclusively and never through a symlink: a
        # name planted in advance cannot redirect the write to another file
        tmp = f"{path}.{os.urandom(8).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            with open(fd, "wb") as fh:
                fh.write(mac(secret, key.encode() + b"\0" + body).encode() + b"\n" + body)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    except OSError:
        pass


__all__ = ["FORMAT", "KEY_ENV", "cache_key", "candidate_files", "entry_path", "mac", "read",
           "read_key", "sha256",
           "write"]

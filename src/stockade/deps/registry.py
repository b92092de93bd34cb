"""Registry look-ups (does the package exist, when was it first published,
does it run install scripts), through each registry's JSON API, with a
local cache.

Fail closed: a timeout, a refused connection, a 5xx or an unreadable answer
is *unverifiable*, never "exists".  Only an explicit 404/410 is
*nonexistent*.  Offline (``STOCKADE_DEPS_OFFLINE=1`` or ``--offline``) no
request is made: a cached answer of any age is used, or the package is
unverifiable.

Base URLs come from ``STOCKADE_DEPS_<ECOSYSTEM>_URL`` (tests point them at a
local fake registry), else the public registries.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import quote

from stockade.deps.names import host_of, normalise

DEFAULT_URLS = {
    "pypi": "https://pypi.org/pypi",
    "npm": "https://registry.npmjs.org",
    "crates": "https://crates.io/api/v1/crates",
    "go": "https://proxy.golang.org",
}
ENV_OFFLINE = "STOCKADE_DEPS_OFFLINE"
ENV_TIMEOUT = "STOCKADE_DEPS_TIMEOUT"
ENV_TTL = "STOCKADE_DEPS_CACHE_TTL"
DEFAULT_TIMEOUT_S = 4.0
DEFAULT_TTL_S = 24 * 3600
MISSING_TTL_S = 3600  # a name that does not exist yet may be registered soon
MAX_BODY = 64 << 20
_SCRIPT_HOOKS = ("preinstall", "install", "postinstall")


def env_url(ecosystem: str) -> str:
    return f"STOCKADE_DEPS_{ecosystem.upper()}_URL"


@dataclass(frozen=True, slots=True)
class Info:
    """What the registry says about one package."""

    exists: bool
    created: float | None = None  # first release, Unix time
    latest: str | None = None
    script_versions: tuple[str, ...] = ()  # npm versions with install scripts
    versions: int = 0


@dataclass(frozen=True, slots=True)
class Lookup:
    info: Info | None  # None: unverifiable
    how: str  # network | cache | stale-cache | none
    why: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    urls: Mapping[str, str]
    offline: bool
    timeout: float
    ttl: float
    cache_path: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, state_root: str | None = None,
                 offline: bool | None = None, policy: RegistryPolicy | None = None) -> Settings:
        """Precedence: argument, environment, policy (``registries``,
        ``offline``, ``cache_ttl_hours`` of ``tools.dependencies``), built-in
        default.  Offline from the policy cannot be switched off by the
        environment: the policy may forbid network look-ups."""
        e = os.environ if env is None else env
        p_urls = policy.registries if policy is not None else {}
        urls = {eco: (e.get(env_url(eco)) or p_urls.get(eco) or url).rstrip("/")
                for eco, url in DEFAULT_URLS.items()}
        if offline is None:
            offline = e.get(ENV_OFFLINE, "") not in ("", "0")
        offline = offline or (policy is not None and policy.offline)
        timeout = _float(e.get(ENV_TIMEOUT), DEFAULT_TIMEOUT_S)
        p_ttl = float(policy.cache_ttl_hours) * 3600 if policy is not None else DEFAULT_TTL_S
        ttl = _float(e.get(ENV_TTL), p_ttl, zero_ok=True)
        cache = os.path.join(state_root, "cache", "deps-registry.sqlite") if state_root else None
        return cls(urls, offline, timeout, ttl, cache)


def _float(text: str | None, default: float, *, zero_ok: bool = False) -> float:
    try:
        v = float(text) if text else default
    except ValueError:
        return default
    return v if v > 0 or (zero_ok and v == 0) else default


class RegistryPolicy(Protocol):
    """The part of :class:`stockade.config.DependencyPolicy` read here."""

    @property
    def registries(self) -> Mapping[str, str]: ...
    @property
    def offline(self) -> bool: ...
    @property
    def cache_ttl_hours(self) -> int: ...


class Registry:
    def __init__(self, settings: Settings, *, budget_s: float | None = None):
        """``budget_s``: network time for all look-ups together (a hook has a
        deadline of its own; what is left over is unverifiable)."""
        self.s = settings
        self._db: sqlite3.Connection | None = None
        self._deadline = None if budget_s is None else time.monotonic() + budget_s

    # -- cache -------------------------------------------------------------
    # Keyed by the registry's base URL as well as the name: an answer from a
    # mirror (or the tests' fake registry) never stands in for another's.
    def _cache(self) -> sqlite3.Connection | None:
        if self._db is None and self.s.cache_path:
            try:
                os.makedirs(os.path.dirname(self.s.cache_path), mode=0o700, exist_ok=True)
                db = sqlite3.connect(self.s.cache_path, timeout=0.5)  # a busy cache is a miss
                db.execute("CREATE TABLE IF NOT EXISTS answers_v2 (registry TEXT, ecosystem TEXT, "
                           "name TEXT, fetched REAL, info TEXT, "
                           "PRIMARY KEY (registry, ecosystem, name))")
                self._db = db
            except sqlite3.Error:
                return None  # no cache is slower, never wrong
        return self._db

    def _cached(self, eco: str, name: str) -> tuple[Info, float] | None:
        db = self._cache()
        if db is None:
            return None
        try:
            row = db.execute("SELECT fetched, info FROM answers_v2 WHERE registry=? AND "
                             "ecosystem=? AND name=?", (self.s.urls[eco], eco, name)).fetchone()
            if row is None:
                return None
            return _info_of(json.loads(row[1])), float(row[0])
        except (sqlite3.Error, ValueError, TypeError):
            return None  # an unreadable row is a miss, never an answer

    def _store(self, eco: str, name: str, info: Info) -> None:
        db = self._cache()
        if db is None:
            return
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO answers_v2 VALUES (?, ?, ?, ?, ?)",
                           (self.s.urls[eco], eco, name, time.time(), json.dumps(asdict(info))))
        except sqlite3.Error:
            pass

    # -- look-up -----------------------------------------------------------
    def lookup(self, eco: str, name: str) -> Lookup:
        # The registry's own notion of "the same name": PEP 503 on PyPI,
        # case and -/_ on crates.io.  npm (legacy names such as `JSONStream`
        # and `jsonstream` are two packages) and Go are case-sensitive.
        key = normalise(eco, name) if eco in ("pypi", "crates") else name
        hit = self._cached(eco, key)
        if hit is not None:
            info, fetched = hit
            ttl = self.s.ttl if info.exists else min(self.s.ttl, MISSING_TTL_S)
            if time.time() - fetched < ttl:
                return Lookup(info, "cache")
        if self.s.offline:
            if hit is not None:
                return Lookup(hit[0], "stale-cache")
            return Lookup(None, "none", "offline and no cached answer")
        timeout = self.s.timeout
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - time.monotonic())
            if timeout <= 0.05:
                return Lookup(None, "none", "no time left for registry look-ups")
        try:
            info = fetch(eco, name, base=self.s.urls[eco], timeout=timeout)
        except RegistryUnavailable as exc:
            return Lookup(None, "none", str(exc))
        self._store(eco, key, info)
        return Lookup(info, "network")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _info_of(d: Any) -> Info:
    """An :class:`Info` from its cached JSON, every field checked."""
    if not isinstance(d, dict) or set(d) != set(Info.__slots__):
        raise ValueError("cached answer has other fields")
    sv = d["script_versions"]
    ok = (isinstance(d["exists"], bool)
          and (d["created"] is None or isinstance(d["created"], (int, float)))
          and (d["latest"] is None or isinstance(d["latest"], str))
          and isinstance(sv, list) and all(isinstance(v, str) for v in sv)
          and isinstance(d["versions"], int))
    if not ok:
        raise ValueError("cached answer has a field of the wrong type")
    return Info(d["exists"], d["created"], d["latest"], tuple(sv), d["versions"])


class RegistryUnavailable(Exception):
    """The registry gave no usable answer (network, status, body)."""


def url_for(eco: str, name: str, base: str) -> str:
    if eco == "pypi":
        return f"{base}/{quote(name, safe='')}/json"
    if eco == "npm":
        return f"{base}/{quote(name, safe='@')}"  # @scope%2fname
    if eco == "crates":
        return f"{base}/{quote(name, safe='')}"
    # Go module proxy: upper case letters are written !lower (case-insensitive file systems)
    esc = "".join(f"!{c.lower()}" if c.isupper() else c for c in name)
    return f"{base}/{quote(esc, safe='/!')}/@v/list"


def fetch(eco: str, name: str, *, base: str, timeout: float) -> Info:
    """Ask the registry at ``base``.  ``timeout`` bounds the whole exchange
    (connect, headers and body), not each socket read: a registry (or
    something in the way) that trickles bytes cannot hold a hook past its
    deadline.  Redirects may not leave ``base``'s scheme and host."""
    import threading

    box: list[Info | BaseException] = []

    def work() -> None:
        try:
            box.append(_fetch(eco, name, base=base, deadline=time.monotonic() + timeout))
        except BaseException as exc:  # handed to the caller's thread
            box.append(exc)

    t = threading.Thread(target=work, name="stockade-deps-fetch", daemon=True)
    t.start()
    t.join(timeout + 0.25)
    if not box:
        raise RegistryUnavailable(f"{_host(base)} did not answer within {timeout:.1f} s")
    out = box[0]
    if isinstance(out, BaseException):
        if isinstance(out, RegistryUnavailable):
            raise RegistryUnavailable(str(out)) from None
        raise RegistryUnavailable(f"cannot ask {_host(base)} ({type(out).__name__})") from None
    return out


def _host(base: str) -> str:
    """The registry as messages name it: scheme and host, never a
    ``user:token@`` part or a path."""
    return host_of(base)


def _origin(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _opener(base: str) -> Any:
    import urllib.request

    class SameOrigin(urllib.request.HTTPRedirectHandler):
        # PyPI redirects a non-normalised name to its normal form (same
        # host); a redirect elsewhere (another host, http) is not an answer
        # from the registry that was configured.
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                             newurl: str) -> Any:
            if _origin(newurl) != _origin(base):
                raise RegistryUnavailable(f"{_host(base)} redirected to another host")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(SameOrigin)


def _fetch(eco: str, name: str, *, base: str, deadline: float) -> Info:
    import http.client
    import urllib.error
    import urllib.request

    from stockade import __version__

    url = url_for(eco, name, base)
    req = urllib.request.Request(url, headers={
        "User-Agent": f"stockade/{__version__} (dependency guard)", "Accept": "application/json"})
    host = _host(base)
    left = deadline - time.monotonic()
    if left <= 0:
        raise RegistryUnavailable(f"no time left to ask {host}")
    try:
        with _opener(base).open(req, timeout=left) as resp:
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise RegistryUnavailable(f"{host} answered too slowly")
                chunk = resp.read1(1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BODY:
                    raise RegistryUnavailable(f"{host} sent more than {MAX_BODY >> 20} MiB")
                chunks.append(chunk)
            body = b"".join(chunks)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return Info(False)
        raise RegistryUnavailable(f"{host} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryUnavailable(f"cannot reach {host} ({type(reason).__name__})") from None
    try:
        if eco == "go":
            return _go(body.decode("utf-8"))
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return PARSERS[eco](data)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise RegistryUnavailable(f"{host} sent an answer stockade cannot read") from None


def _ts(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _pypi(d: dict[str, Any]) -> Info:
    if not isinstance(d.get("info"), dict) or not isinstance(d.get("releases", {}), dict):
        raise ValueError("not PyPI's JSON API")
    releases = d.get("releases") or {}
    times = [t for files in releases.values() for f in files or ()
             if (t := _ts(f.get("upload_time_iso_8601") or f.get("upload_time"))) is not None]
    return Info(True, min(times) if times else None, str(d["info"].get("version") or "") or None,
                (), len(releases))


def _npm(d: dict[str, Any]) -> Info:
    if "versions" not in d and "name" not in d:
        raise ValueError("not a packument")
    versions = d.get("versions") or {}
    scripts = tuple(v for v, meta in versions.items() if isinstance(meta, dict) and (
        meta.get("hasInstallScript") or any(
            h in (meta.get("scripts") or {}) for h in _SCRIPT_HOOKS)))
    t = d.get("time") or {}
    created = _ts(t.get("created"))
    if created is None:
        stamps = [s for k, v in t.items() if k not in ("modified",) and (s := _ts(v)) is not None]
        created = min(stamps) if stamps else None
    latest = (d.get("dist-tags") or {}).get("latest")
    return Info(True, created, latest, scripts, len(versions))


def _crates(d: dict[str, Any]) -> Info:
    c = d["crate"]
    return Info(True, _ts(c.get("created_at")), c.get("max_stable_version") or c.get("max_version"),
                (), len(d.get("versions") or ()))


_GO_VERSION = re.compile(r"v\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?")


def _go(text: str) -> Info:
    # The proxy's list is one version per line (empty for a module with no
    # tags).  Anything else (an HTML page from a captive portal or a wrong
    # base URL answering 200) is not an answer, never "exists".
    versions = text.split()
    if any(_GO_VERSION.fullmatch(v) is None for v in versions):
        raise ValueError("not a Go module proxy version list")
    return Info(True, None, versions[-1] if versions else None, (), len(versions))


PARSERS = {"pypi": _pypi, "npm": _npm, "crates": _crates}

__all__ = ["DEFAULT_URLS", "Info", "Lookup", "Registry", "RegistryUnavailable", "Settings",
           "env_url", "fetch", "url_for"]

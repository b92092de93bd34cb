"""Package names: normalisation per registry and parsing of spec strings.

Pure.  ``normalise`` gives the key two names share when the registry treats
them as the same package (PEP 503 for PyPI, ``-``/``_`` for crates.io).
"""

from __future__ import annotations

import re

from stockade.deps.model import Spec
from stockade.errors import UsageError

_PEP503 = re.compile(r"[-_.]+")
# PEP 508 name, then extras, then the rest (version specifier, marker, URL)
_PY_SPEC = re.compile(r"^\s*([^\s\[\]<>=!~;@,()]+)\s*(\[[^\]]*\])?\s*(.*)$", re.DOTALL)
_PY_PIN = re.compile(r"^===?\s*([^\s,;*]+)\s*(?:;.*)?$")
_PY_BARE_OP = re.compile(r"^\s*(===|==|!=|<=|>=|~=|<|>)\s*$")
_PY_CLAUSE = re.compile(r"^\s*(===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*$")
_NPM_NAME = re.compile(r"^(@[^/@\s]+/)?[^/@\s]+$")
_PY_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


class BadSpec(UsageError):
    """A package spec stockade cannot read."""


def normalise(ecosystem: str, name: str) -> str:
    if ecosystem == "pypi":
        return _PEP503.sub("-", name).lower()
    if ecosystem == "crates":
        return name.lower().replace("_", "-")
    return name.lower()


def valid_name(ecosystem: str, name: str) -> bool:
    """Whether the registry could hold ``name`` at all (ASCII, its charset)."""
    if not name.isascii():
        return False
    if ecosystem == "pypi":
        return bool(_PY_NAME.match(name))
    if ecosystem == "npm":
        return bool(_NPM_NAME.match(name)) and len(name) <= 214
    if ecosystem == "crates":
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name))
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._~/-]*", name))


_LOCAL = (".", "/", "~", "file:", "link:", "workspace:", "portal:")
_REMOTE = ("git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:", "hg+", "svn+", "bzr+",
           "http:", "https:")


def _remote(text: str) -> bool:
    return text.startswith(_REMOTE) or "://" in text


def host_of(ref: str) -> str:
    """Where a direct reference points, for messages: scheme and host only
    (a URL may carry a token in its user part, path or query)."""
    from urllib.parse import urlsplit

    text = ref.split("+", 1)[1] if ref.startswith(_VCS) else ref
    if "://" not in text:
        return text.split(":", 1)[0] + ":"  # github:user/repo -> github:
    try:
        parts = urlsplit(text)
        return f"{parts.scheme}://{parts.hostname or '?'}"
    except ValueError:
        return "an unreadable URL"


def spec_shown(text: str) -> str:
    """A package spec as an error message may quote it: a URL as
    :func:`shown_ref`, a token-like run masked, anything else as written
    (a spec that cannot be read may still be a pasted credential)."""
    from stockade.config.shown import _TOKENISH, masked

    t = text.strip()[:80]
    if "://" in t:
        return repr(shown_ref(text.strip()))
    return masked(t) if _TOKENISH.search(t) else repr(t)


def shown_ref(ref: str) -> str:
    """A direct reference as output and the ledger may show it: scheme, host
    and the last path segment (``git+https://github.com/o/repo.git`` ->
    ``https://github.com/.../repo.git``).  The user part, query, fragment and
    the rest of the path may hold a token (``https://TOKEN@host``,
    Cloudsmith's ``/TOKEN/`` paths)."""
    if "://" not in ref:
        return ref[:200]  # github:user/repo, user/repo: no place for a secret
    from urllib.parse import urlsplit

    try:
        path = urlsplit(ref.split("+", 1)[1] if ref.startswith(_VCS) else ref).path
    except ValueError:
        path = ""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return f"{host_of(ref)}/.../{last}" if last else host_of(ref)


_VCS = ("git+", "hg+", "svn+", "bzr+")


def parse(ecosystem: str, text: str, *, source: str = "", line: int | None = None) -> Spec | None:
    """The :class:`Spec` of ``text`` as typed for ``ecosystem``; None for a
    local path (its code is already in the workspace).  A URL or VCS
    reference gives a spec with ``direct`` set: not a registry package, and
    never silently skipped."""
    raw = text.strip()
    if not raw:
        return None
    if raw.startswith(_LOCAL):
        return None
    if raw.startswith(_REMOTE) or ("://" in raw and ecosystem not in ("pypi", "npm")):
        return Spec(ecosystem, shown_ref(raw), None, source, line, shown_ref(raw), direct=raw)
    if ecosystem == "pypi":
        return _pypi(raw, source=source, line=line)
    if ecosystem == "npm":
        return _npm(raw, source=source, line=line)
    if ecosystem in ("crates", "go"):
        name, at, ver = raw.rpartition("@") if "@" in raw else (raw, "", "")
        if ecosystem == "crates" and not at and "=" in raw:  # cargo add serde@=1.0
            name = raw
        ver = ver.lstrip("=") if at else ""
        if ver in ("", "latest", "upgrade", "patch", "none"):
            ver = ""
        return Spec(ecosystem, name, ver or None, source, line, raw)
    raise BadSpec(f"unknown ecosystem {ecosystem!r}",
                  hint="use one of pypi, npm, crates, go")


def _pypi(raw: str, *, source: str, line: int | None) -> Spec | None:
    m = _PY_SPEC.match(raw)
    if m is None:
        where = f"{source}:{line}: " if source and line else ""
        raise BadSpec(f"{where}cannot read the requirement {spec_shown(raw)}",
                      hint="write it as NAME, NAME==VERSION or NAME>=VERSION (PEP 508)")
    name, _extras, rest = m.groups()
    rest = rest.strip()
    if rest.startswith("@"):  # PEP 508 `name @ URL`: a direct reference, not the index
        ref = rest[1:].split(";", 1)[0].strip()
        if ref.startswith(_LOCAL) or ref.startswith("file:"):
            return None
        return Spec("pypi", name, None, source, line, raw, direct=ref or raw)
    specifiers = rest.split(";", 1)[0].strip()
    if specifiers.startswith("(") and specifiers.endswith(")"):
        specifiers = specifiers[1:-1]  # PEP 508's older `name (>=1.0)`
    for clause in specifiers.split(",") if specifiers else ():
        if not _PY_CLAUSE.match(clause) and not _PY_BARE_OP.match(clause):
            # `requests,evil` or `requests evil`: only the first name would be
            # checked while the installer may read the rest as more packages
            where = f"{source}:{line}: " if source and line else ""
            raise BadSpec(f"{where}cannot read the requirement {spec_shown(raw)}",
                          hint="one package per argument: NAME, NAME==VERSION or NAME>=VERSION "
                               "(PEP 508)")
        if _PY_BARE_OP.match(clause):
            # `requests==`: pip refuses it; reading it as "any version" would check
            # something other than what was written
            where = f"{source}:{line}: " if source and line else ""
            raise BadSpec(f"{where}{name[:80]!r} has {clause.strip()!r} with no version after it",
                          hint=f"write a version after it (e.g. {name[:80]}==1.2.3) or drop "
                               "the operator to accept any version")
    pin = _PY_PIN.match(rest) if rest else None
    return Spec("pypi", name, pin.group(1) if pin else None, source, line, raw)


def _npm(raw: str, *, source: str, line: int | None, alias: int = 0) -> Spec | None:
    raw = raw.removeprefix("npm:")
    at = raw.find("@", 1)
    name, ver = (raw, "") if at < 0 else (raw[:at], raw[at + 1:])
    if ver.startswith("npm:"):
        # `x@npm:y@1`: an alias, npm installs `y` under the name `x`; `y` is
        # what must be checked (the alias name is only a directory name)
        if alias:
            raise BadSpec(f"{source + ': ' if source else ''}an npm alias of an alias "
                          f"{spec_shown(raw)}", hint="write the real package name after npm:")
        return _npm(ver, source=source, line=line, alias=1)
    if ver.startswith(_LOCAL):
        return None
    if _remote(ver) or "/" in ver:  # a URL, VCS or GitHub `user/repo` shorthand
        return Spec("npm", name, None, source, line, raw,
                    direct=ver if _remote(ver) else f"github:{ver}")
    if "/" in name and not name.startswith("@"):  # `npm i user/repo`: GitHub
        return Spec("npm", name, None, source, line, raw, direct=f"github:{name}")
    exact = re.fullmatch(r"=?v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)", ver)
    return Spec("npm", name, exact.group(1) if exact else None, source, line, raw)


__all__ = ["BadSpec", "host_of", "normalise", "parse", "shown_ref", "valid_name"]

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


def parse(ecosystem: str, text: str, *, source: str = "", line: int | None = None) -> Spec | None:
    """The :class:`Spec` of ``text`` as typed for ``ecosystem``; None for a
    local path, URL or VCS reference (not a registry package)."""
    raw = text.strip()
    if not raw:
        return None
    if raw.startswith((".", "/", "~", "git+", "file:")) or "://" in raw:
        return None
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
    if " @ " in raw:  # name @ URL: a direct reference, not the index
        return None
    m = _PY_SPEC.match(raw)
    if m is None:
        where = f"{source}:{line}: " if source and line else ""
        raise BadSpec(f"{where}cannot read the requirement {raw[:80]!r}",
                      hint="write it as NAME, NAME==VERSION or NAME>=VERSION (PEP 508)")
    name, _extras, rest = m.groups()
    pin = _PY_PIN.match(rest.strip()) if rest else None
    return Spec("pypi", name, pin.group(1) if pin else None, source, line, raw)


def _npm(raw: str, *, source: str, line: int | None) -> Spec | None:
    raw = raw.removeprefix("npm:")  # an alias target
    at = raw.find("@", 1)
    name, ver = (raw, "") if at < 0 else (raw[:at], raw[at + 1:])
    if ver.startswith(("git", "http", "file:", "link:", "workspace:")) or "/" in ver:
        return None
    exact = re.fullmatch(r"=?v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)", ver)
    return Spec("npm", name, exact.group(1) if exact else None, source, line, raw)


__all__ = ["BadSpec", "normalise", "parse", "valid_name"]

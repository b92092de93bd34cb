"""Dependencies declared in manifests, with the line that declares each.

Readers take the file's text (so ``--diff`` can read the version at a git
base too) and raise :class:`ManifestError` naming the file and line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stockade.deps.model import Spec
from stockade.deps.names import BadSpec, parse, spec_shown
from stockade.errors import UsageError

SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "env", "__pycache__", "target",
                       "vendor", "dist", "build", "site-packages", ".tox", ".nox", ".mypy_cache"})


class ManifestError(UsageError):
    """A manifest stockade cannot read."""


def kind_of(path: str) -> str | None:
    base = os.path.basename(path)
    if base.startswith("requirements") and base.endswith((".txt", ".in")):
        return "requirements"
    return {"pyproject.toml": "pyproject", "setup.cfg": "setupcfg", "Pipfile": "pipfile",
            "package.json": "packagejson", "go.mod": "gomod", "Cargo.toml": "cargo"}.get(base)


def find(root: Path) -> list[Path]:
    """The manifests under ``root`` (or ``root`` itself), sorted."""
    if root.is_file():
        if kind_of(root.name) is None:
            raise UsageError(f"{root}: not a manifest stockade reads",
                             hint="name a requirements*.txt, pyproject.toml, setup.cfg, Pipfile, "
                                  "package.json, go.mod or Cargo.toml, or a directory")
        return [root]
    if not root.exists():
        raise UsageError(f"{root}: no such file or directory",
                         hint="give a manifest (requirements.txt, pyproject.toml, package.json "
                              "...) or the project directory; with no PATH the current "
                              "directory is searched")
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        out += [Path(dirpath) / f for f in sorted(filenames) if kind_of(f)]
    return out


def read(path: Path, *, display: str | None = None) -> list[Spec]:
    if kind_of(path.name) == "requirements":
        return read_requirements(path, display=display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{display or path}: cannot read ({type(exc).__name__})") from None
    return parse_text(path.name, text, display=display or str(path))


def parse_text(filename: str, text: str, *, display: str) -> list[Spec]:
    kind = kind_of(filename)
    if kind is None:
        return []
    return READERS[kind](text, display)


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    """First line (1-based) at or after ``start`` naming ``needle`` as a word."""
    rx = re.compile(r"(?<![\w.-])" + re.escape(needle) + r"(?![\w-])", re.IGNORECASE)
    for k, line in enumerate(text.splitlines()[start:], start + 1):
        if rx.search(line):
            return k
    return None


def _spec(eco: str, text: str, *, source: str, line: int | None) -> Spec | None:
    try:
        return parse(eco, text, source=source, line=line)
    except BadSpec as exc:
        where = f"{source}:{line}" if line else source
        raise ManifestError(f"{where}: cannot read the dependency {spec_shown(text)}",
                            hint=exc.hint) from None


# -- Python ------------------------------------------------------------------

_REQ_INCLUDE = ("-r", "--requirement")
_REQ_EDITABLE = ("-e", "--editable")
_REQ_INDEX = ("-i", "--index-url", "--extra-index-url")
MAX_INCLUDE_DEPTH = 8


def _opt(line: str, names: tuple[str, ...]) -> str | None:
    """The value of ``line`` when it is one of the options ``names``
    (``-r x``, ``-rx``, ``--requirement=x``, ``--requirement x``)."""
    for n in names:
        if line == n:
            return ""
        if line.startswith(n + "=") or line.startswith(n + " ") or line.startswith(n + "\t"):
            return line[len(n) + 1:].strip()
        if len(n) == 2 and line.startswith(n) and not line.startswith("--"):
            return line[2:].strip()
    return None


_PER_REQ_OPTION = re.compile(
    r"\s+(?:--hash|--config-settings|-C|--global-option|--install-option)(?:=|\s+)\S+")


def _requirements(text: str, source: str, *,
                  include: Callable[[str, int], list[Spec]] | None = None) -> list[Spec]:
    """A requirements file.  ``-e`` specs are read like any other (a URL one
    is a direct reference); ``--index-url`` / ``--extra-index-url`` mark
    every spec of the file; ``-r FILE`` is read through ``include`` (None:
    the included file is not at hand, e.g. at a git base)."""
    out = []
    pending, first = "", 0
    index: str | None = None
    for k, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            first = k
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if not line:
            continue
        if line.startswith("-"):
            if (val := _opt(line, _REQ_INDEX)) is not None and val:
                index = val
            elif (val := _opt(line, _REQ_INCLUDE)) is not None and val and include is not None:
                out += include(val, first)
            elif (val := _opt(line, _REQ_EDITABLE)) is not None and val:
                s = _spec("pypi", val, source=source, line=first)
                if s is not None:
                    out.append(s)
            continue  # -c constraints add nothing; other options change no name
        # pip's per-requirement options (a hash-pinned lock file's --hash=...)
        # name no package; any other option stays, and the line is refused
        line = _PER_REQ_OPTION.sub("", line).strip()
        s = _spec("pypi", line, source=source, line=first)
        if s is not None:
            out.append(s)
    if index is not None:
        from dataclasses import replace

        out = [replace(s, index=index) if s.direct is None else s for s in out]
    return out


def read_requirements(path: Path, *, display: str | None = None, depth: int = 0) -> list[Spec]:
    """A requirements file from disk (whatever its name), following ``-r``
    includes relative to it."""
    shown = display or str(path)
    if depth > MAX_INCLUDE_DEPTH:
        raise ManifestError(f"{shown}: requirements files include each other more than "
                            f"{MAX_INCLUDE_DEPTH} deep", hint="look for an -r loop")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{shown}: cannot read ({type(exc).__name__})") from None

    def include(name: str, line: int) -> list[Spec]:
        target = path.parent / name
        try:
            return read_requirements(target, display=os.path.join(os.path.dirname(shown), name),
                                     depth=depth + 1)
        except ManifestError as exc:
            raise ManifestError(f"{shown}:{line}: -r {name}: {exc.message}",
                                hint=exc.hint) from None

    return _requirements(text, shown, include=include)


def _toml(text: str, source: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if m:
            where = f"{source}:{m.group(1)}:{m.group(2)}"
        else:  # "(at end of document)"
            where = f"{source}:{max(1, len(text.splitlines()))}"
        msg = str(exc).split(" (at ")[0]
        raise ManifestError(f"{where}: not valid TOML ({msg})",
                            hint="fix the TOML syntax at that line and column (Python's "
                                 "tomllib, which pip and uv also use, reads it the same way)") \
            from None


def _pep508_list(items: Any, text: str, source: str, key: str) -> list[Spec]:
    if not isinstance(items, list):
        raise ManifestError(f"{source}:{_line_of(text, key) or 1}: {key} must be a list of "
                            "requirement strings")
    out = []
    for item in items:
        if not isinstance(item, str):
            continue  # dependency-groups include-group tables
        name = re.split(r"[\s\[<>=!~;@(]", item.strip(), maxsplit=1)[0]
        s = _spec("pypi", item, source=source, line=_line_of(text, name))
        if s is not None:
            out.append(s)
    return out


def _pyproject(text: str, source: str) -> list[Spec]:
    d = _toml(text, source)
    out: list[Spec] = []
    project = d.get("project") or {}
    if "dependencies" in project:
        out += _pep508_list(project["dependencies"], text, source, "dependencies")
    for group in (project.get("optional-dependencies") or {}).values():
        out += _pep508_list(group, text, source, "optional-dependencies")
    for group in (d.get("dependency-groups") or {}).values():
        out += _pep508_list(group, text, source, "dependency-groups")
    poetry = (d.get("tool") or {}).get("poetry") or {}
    tables = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    tables += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    for table in tables:
        out += _table_deps("pypi", table, text, source, skip=("python",))
    return out


def _table_deps(eco: str, table: Any, text: str, source: str, *,
                skip: tuple[str, ...] = ()) -> list[Spec]:
    """``name = "version"`` / ``name = {version = ...}`` tables (Poetry, Pipfile, Cargo)."""
    out: list[Spec] = []
    if not isinstance(table, dict):
        return out
    for name, val in table.items():
        if name in skip:
            continue
        real = name
        if isinstance(val, dict):
            remote = val.get("git") or val.get("url")
            if isinstance(remote, str) and remote:
                # fetched from a repository or a URL: never silently skipped
                out.append(Spec(eco, str(val.get("package", name)), None, source,
                                _line_of(text, name), f"{name} = {remote}", direct=remote))
                continue
            if any(k in val for k in ("path", "file", "editable", "workspace")):
                continue
            real = str(val.get("package", name))
            val = val.get("version", "*")
        ver = str(val).strip() if val is not None else "*"
        line = _line_of(text, name)
        if eco == "pypi":
            req = real if ver in ("*", "") else (real + (ver if ver[0] in "<>=!~" else "==" + ver))
            req = re.sub(r"\^", ">=", req)
            s = _spec("pypi", req, source=source, line=line)
        else:
            exact = ver.lstrip("=") if ver.startswith("=") else None
            s = Spec(eco, real, exact, source, line, f"{real} = {ver}")
        if s is not None:
            out.append(s)
    return out


def _pipfile(text: str, source: str) -> list[Spec]:
    d = _toml(text, source)
    return (_table_deps("pypi", d.get("packages"), text, source)
            + _table_deps("pypi", d.get("dev-packages"), text, source))


def _setupcfg(text: str, source: str) -> list[Spec]:
    import configparser

    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read_string(text, source=source)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        raise ManifestError(f"{source}{':' + str(line) if line else ''}: not a valid setup.cfg "
                            f"({type(exc).__name__})") from None
    out: list[Spec] = []
    values = []
    if cp.has_option("options", "install_requires"):
        values.append(cp.get("options", "install_requires"))
    if cp.has_section("options.extras_require"):
        values += [v for _, v in cp.items("options.extras_require")]
    for value in values:
        for item in value.splitlines():
            item = item.split("#")[0].strip()
            if item:
                name = re.split(r"[\s\[<>=!~;@(]", item, maxsplit=1)[0]
                s = _spec("pypi", item, source=source, line=_line_of(text, name))
                if s is not None:
                    out.append(s)
    return out


# -- npm, Go, Cargo ----------------------------------------------------------

_NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def _packagejson(text: str, source: str) -> list[Spec]:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
                            hint="fix the syntax at that place (a trailing comma or a missing "
                                 "quote is the usual cause)") from None
    if not isinstance(d, dict):
        raise ManifestError(f"{source}:1: package.json must hold a JSON object")
    out = []
    for section in _NPM_SECTIONS:
        deps = d.get(section)
        if deps is None:
            continue
        start = (_line_of(text, f'"{section}"') or 1) - 1
        if not isinstance(deps, dict):
            raise ManifestError(f"{source}:{start + 1}: {section} must map package names to "
                                "versions")
        for name, rng in deps.items():
            line = _line_of(text, f'"{name}"', start)
            if not isinstance(rng, str):
                raise ManifestError(f"{source}:{line or start + 1}: the version of {name!r} "
                                    f"in {section} must be a string")
            s = _spec("npm", f"{name}@{rng}" if rng else name, source=source, line=line)
            if s is not None:
                out.append(s)
    return out


def _gomod(text: str, source: str) -> list[Spec]:
    """``require`` lines, and ``replace`` lines that substitute another
    module (``replace good => evil v1``: what is built is ``evil``); a
    replacement by a local directory is skipped."""
    out = []
    block: str | None = None
    for k, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//")[0].strip()
        if block:
            if line == ")":
                block = None
                continue
            verb, body = block, line
        elif line.startswith(("require", "replace")):
            verb, body = line[:7], line[7:].strip()
            if body == "(":
                block = verb
                continue
        else:
            continue
        if not body:
            continue
        parts = body.split()
        if verb == "replace":
            _, arrow, target = body.partition("=>")
            new = target.split()
            if not arrow or len(new) not in (1, 2):
                raise ManifestError(f"{source}:{k}: cannot read the replacement {spec_shown(body)}",
                                    hint="write it as `replace MODULE [VERSION] => TARGET "
                                         "[VERSION]`")
            if len(new) == 2:  # a module and version; one word is a local directory
                out.append(Spec("go", new[0], new[1], source, k, body))
            continue
        if len(parts) != 2:
            raise ManifestError(f"{source}:{k}: cannot read the requirement {spec_shown(body)}",
                                hint="write it as `require MODULE VERSION`")
        out.append(Spec("go", parts[0], parts[1], source, k, body))
    return out


def _cargo(text: str, source: str) -> list[Spec]:
    d = _toml(text, source)
    out: list[Spec] = []

    def tables(root: dict[str, Any]) -> Iterator[Any]:
        for key in ("dependencies", "dev-dependencies", "build-dependencies"):
            if key in root:
                yield root[key]

    out += [s for t in tables(d) for s in _table_deps("crates", t, text, source)]
    for tgt in (d.get("target") or {}).values():
        if isinstance(tgt, dict):
            out += [s for t in tables(tgt) for s in _table_deps("crates", t, text, source)]
    return out


READERS: dict[str, Callable[[str, str], list[Spec]]] = {
    "requirements": _requirements, "pyproject": _pyproject, "setupcfg": _setupcfg,
    "pipfile": _pipfile, "packagejson": _packagejson, "gomod": _gomod, "cargo": _cargo,
}

__all__ = ["ManifestError", "find", "kind_of", "parse_text", "read", "read_requirements"]

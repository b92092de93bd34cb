"""The seam for dependency checks on package installs.

Every install the hooks see (``pip install``, ``npm i``, ``cargo add``,
``go get``, ``npx`` ...) is sent here as (ecosystem, packages) before it is
allowed.  :func:`check_install` applies ``tools.dependencies`` from the
policy (nonexistent, typosquat, malicious, vulnerable, new, install
scripts, unverifiable; see :mod:`stockade.deps`) and records one
``deps.check`` ledger event per package.

Import cost: this module imports nothing beyond the hook's own records; the
dependency guard, the YAML policy loader and the registry client load only
when a command installs something.

A checker that raises is treated as a deny by the hook (fail closed).
"""

from __future__ import annotations

import os

from stockade.hooks._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    Ecosystem = Literal["pypi", "npm", "crates", "go", "rubygems"]

# Registry time for one hook call, all packages together: the hook's own
# deadline (stockade.hooks.runner.DEFAULT_TIMEOUT_S) must not be reached.
HOOK_REGISTRY_BUDGET_S = 8.0


class InstallVerdict(Record):
    """``action``: allow | warn | ask | deny.  ``reason`` names the package
    and the check that fired."""

    action: str
    reason: str = ""
    rule_id: str = "deps.allowed"


def check_install(ecosystem: str, packages: tuple[str, ...], *,
                  via: str = "hook") -> InstallVerdict:
    """Decide on installing ``packages`` (spec strings as typed, e.g.
    ``requests==2.32``, ``lodash@4``) from ``ecosystem``.

    An item starting with ``-`` is an installer option in ``--name=value``
    form, see :data:`OPTION_TOKENS`.  This form reads no file: no package at
    all (what the project's manifests list) is ``deps.unchecked``.  It is
    what ``stockade history`` uses for past sessions, whose files are gone;
    the hook calls :func:`check_packages` with its workspace, which reads
    the manifests and ``-r`` files."""
    if not any(not p.startswith("-") for p in packages) and \
            not any(p.partition("=")[0] in EDITABLE_OPTS for p in packages):
        return InstallVerdict("allow", "installs what the project's manifest or lock file lists "
                              "(`stockade deps check` checks those)", "deps.unchecked")
    return check_packages(ecosystem, packages, read_files=False, via=via)


# Installer options the shell analysis hands over as ``--name=value`` items:
# a requirements file to read, an editable spec, an index or registry other
# than the public one.  Other options are ignored.
REQUIREMENT_OPTS = ("--requirement", "-r")
EDITABLE_OPTS = ("--editable", "-e")
INDEX_OPTS = ("--index-url", "-i", "--extra-index-url", "--registry", "--find-links", "-f")
OPTION_TOKENS = REQUIREMENT_OPTS + EDITABLE_OPTS + INDEX_OPTS


def check_packages(ecosystem: str, packages: tuple[str, ...], *, via: str = "hook",
                   record: bool = True, cwd: str | None = None,
                   env: Any = None, read_files: bool = True,
                   files_dir: str | None = None) -> InstallVerdict:
    """:func:`check_install` with its context named: ``via`` is what the
    ledger events say asked (``history`` for an audit of past sessions),
    ``record=False`` writes none, ``cwd`` is the workspace whose policy
    applies and where ``-r`` files and manifests are read (default: the
    current directory).  ``files_dir``, when given, is where the install
    runs (``cd sub && npm install`` reads ``sub/package.json``) while the
    policy stays the workspace's.  No package named means the manifests
    there (``npm install``, ``npm ci``, ``pip install .``); none there is
    unverifiable."""
    e = os.environ if env is None else env
    return _check(ecosystem, packages, cwd=cwd or os.getcwd(), env=e, via=via, record=record,
                  read_files=read_files, files_dir=files_dir)


def _check(ecosystem: str, packages: tuple[str, ...], *, cwd: str, env: Any, via: str,
           record: bool, read_files: bool, files_dir: str | None = None) -> InstallVerdict:
    from stockade.hooks.deps import full_policy, state_root

    actions = full_policy(workspace=cwd, env=env).tools.dependencies
    if ecosystem not in ("pypi", "npm", "crates", "go"):
        from stockade.deps.service import decision

        action = decision(actions.unverifiable)
        shown = ", ".join(p for p in packages if not p.startswith("-")) or "this install"
        return InstallVerdict(action, f"{shown}: stockade cannot check {ecosystem} "
                              "packages (deps.unverifiable)", "deps.unverifiable")
    from stockade.deps.service import close, make_checker

    specs, unread = specs_of(ecosystem, packages,
                             cwd=(files_dir or cwd) if read_files else None)
    checker = make_checker(actions, state_root=state_root(env), env=env,
                           budget_s=HOOK_REGISTRY_BUDGET_S)
    try:
        results = checker.check_all(specs)
    finally:
        close(checker)
    if unread:
        from stockade.deps.model import Finding, Result, Spec

        action = "block" if actions.unverifiable == "deny" else actions.unverifiable
        results += [Result(Spec(ecosystem, what, source=via),
                           (Finding("unverifiable", action, why),)) for what, why in unread]
    if record:
        _record(results, env=env, via=via)
    return verdict_of(results)


def specs_of(ecosystem: str, packages: tuple[str, ...], *, cwd: str | None
             ) -> tuple[list[Any], list[tuple[str, str]]]:
    """The specs ``packages`` name, and (what, why) for each thing that
    would be installed but cannot be read (checked as unverifiable).
    ``cwd`` None: read no file (``-r`` and manifests are skipped)."""
    from stockade.deps import manifests
    from stockade.deps.names import parse
    from stockade.errors import UsageError as BadSpec  # BadSpec, ManifestError

    specs: list[Any] = []
    unread: list[tuple[str, str]] = []
    index: str | None = None
    named = False
    for item in packages:
        if not item.startswith("-"):
            continue
        opt, eq, val = item.partition("=")
        if not eq or not val:
            continue
        if opt in INDEX_OPTS:
            if "://" in val or opt not in ("--find-links", "-f"):  # a local dir is no index
                index = val
        elif opt in REQUIREMENT_OPTS:
            named = True
            if cwd is None:
                continue
            path = os.path.join(cwd, os.path.expanduser(val))
            try:
                # `-r FILE` is a requirements file whatever its name
                specs += [s for s in manifests.read_requirements(_as_path(path), display=val)
                          if s.ecosystem == ecosystem]
            except (BadSpec, OSError, ValueError) as exc:  # ValueError: a run-time value
                msg = exc.message if isinstance(exc, BadSpec) else type(exc).__name__
                unread.append((val, f"cannot read the requirements file `{val}` ({msg})"))
        elif opt in EDITABLE_OPTS:
            named = True
            try:
                s = parse(ecosystem, val, source="command")
            except BadSpec as exc:
                unread.append((val[:80], exc.message))
                continue
            if s is not None:
                specs.append(s)
    for item in packages:
        if item.startswith("-"):
            continue
        named = True
        try:
            s = parse(ecosystem, item, source="command")
        except BadSpec as exc:
            unread.append((item[:80], exc.message))
            continue
        if s is not None:
            specs.append(s)
        elif not _workspace_dir(item, cwd):
            # a local archive, or a directory outside the workspace: its code
            # (setup.py, npm scripts) would run, and no registry vouches for it
            unread.append((_local_shown(item), "a local archive or a path outside the "
                                               "workspace: stockade cannot check what it holds"))
    if not named and cwd is not None:
        # `npm install`, `npm ci`, `pip install .`: what the manifests here
        # list (this directory only: a hook must not walk a whole tree)
        found = [os.path.join(cwd, f) for f in sorted(_listdir(cwd))
                 if manifests.kind_of(f) is not None and os.path.isfile(os.path.join(cwd, f))]
        for path in found:
            try:
                specs += [s for s in manifests.read(_as_path(path), display=os.path.basename(path))
                          if s.ecosystem == ecosystem]
            except BadSpec as exc:
                unread.append((os.path.basename(path), exc.message))
        if not found:
            unread.append(("the project's dependencies",
                           f"no {ecosystem} manifest in {cwd}: cannot tell what this installs"))
    if index is not None:
        from dataclasses import replace

        specs = [replace(s, index=index) if s.direct is None else s for s in specs]
    return specs, unread


def _workspace_dir(item: str, cwd: str | None) -> bool:
    """``item`` (a local reference) is a directory inside ``cwd``: code the
    agent could already run; anything else is not vouched for."""
    if cwd is None:
        return False
    ref = item.split(":", 1)[1] if item.startswith(("file:", "link:")) else item
    try:
        path = os.path.realpath(os.path.join(cwd, os.path.expanduser(ref)))
        root = os.path.realpath(cwd)
        return os.path.isdir(path) and (path == root or path.startswith(root + os.sep))
    except (OSError, ValueError):
        return False


def _local_shown(item: str) -> str:
    """A local reference for messages: its last component only."""
    return os.path.basename(item.rstrip("/")) or item[:1]


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (OSError, ValueError):
        return []


def _as_path(path: str) -> Any:
    from pathlib import Path

    return Path(path)


def verdict_of(results: list[Any]) -> InstallVerdict:
    """The worst finding over ``results``, with every finding at that level
    in the reason."""
    from stockade.deps.model import RANK

    from stockade.deps.service import decision

    worst = max((r.action for r in results), key=RANK.__getitem__, default="allow")
    if worst == "allow":
        names = ", ".join(r.spec.display for r in results) or "nothing from a registry"
        notes = list(dict.fromkeys(n for r in results for n in r.notes))
        said = f" ({'; '.join(notes)})" if notes else ""
        return InstallVerdict("allow", f"{names}: no dependency check fired{said}",
                              "deps.allowed")
    top = [f for r in results for f in r.findings if f.action == worst]
    reason = "; ".join(dict.fromkeys(f"{f.reason} ({f.code})" for f in top))
    return InstallVerdict(decision(worst), reason, top[0].code)


def _record(results: list[Any], *, env: Any, via: str) -> None:
    """One ``deps.check`` event per package, through the hook's spool.  A
    spool that cannot be written raises: the hook then fails closed.

    The drain after a hook call takes the events that call names and
    "orphans" older than :data:`~stockade.hooks.journal.ORPHAN_S` (a wait
    that lets another writer add the tool input).  These events are complete
    when written (no input to add), so they are dated past that wait and go
    into the ledger with this call's own event."""
    import time

    from stockade.deps.service import LEDGER_KIND, decision, event_details
    from stockade.hooks import journal

    old = time.time() - journal.ORPHAN_S - 1
    for r in results:
        name = journal.spool({"kind": LEDGER_KIND, "session": None,
                              "decision": decision(r.action),
                              "details": event_details(r, via=via), "wants_content": False,
                              "actor": {"process": "stockade hook", "pid": os.getpid()}}, env=env)
        try:
            os.utime(os.path.join(journal.spool_dir(env), name), (old, old))
        except OSError:
            pass  # taken by the next drain instead


__all__ = ["InstallVerdict", "check_install", "check_packages", "verdict_of"]

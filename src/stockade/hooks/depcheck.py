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
_HOOK_ACTION = {"block": "deny", "ask": "ask", "warn": "warn", "allow": "allow"}


class InstallVerdict(Record):
    """``action``: allow | warn | ask | deny.  ``reason`` names the package
    and the check that fired."""

    action: str
    reason: str = ""
    rule_id: str = "deps.allowed"


def check_install(ecosystem: str, packages: tuple[str, ...]) -> InstallVerdict:
    """Decide on installing ``packages`` (spec strings as typed, e.g.
    ``requests==2.32``, ``lodash@4``) from ``ecosystem``.  An empty tuple
    means "whatever the project's manifest or lock file lists"."""
    return check_packages(ecosystem, packages)


def check_packages(ecosystem: str, packages: tuple[str, ...], *, via: str = "hook",
                   record: bool = True, cwd: str | None = None,
                   env: Any = None) -> InstallVerdict:
    """:func:`check_install` with its context named: ``via`` is what the
    ledger events say asked (``history`` for an audit of past sessions),
    ``record=False`` writes none, ``cwd`` is the workspace whose policy
    applies (default: the current directory)."""
    if not packages:
        return InstallVerdict("allow", "installs what the project's manifest or lock file lists "
                              "(`stockade deps check` checks those)", "deps.unchecked")
    e = os.environ if env is None else env
    return _check(ecosystem, packages, cwd=cwd or os.getcwd(), env=e, via=via, record=record)


def _check(ecosystem: str, packages: tuple[str, ...], *, cwd: str, env: Any, via: str,
           record: bool) -> InstallVerdict:
    from stockade.hooks.deps import full_policy, state_root

    actions = full_policy(workspace=cwd, env=env).tools.dependencies
    if ecosystem not in ("pypi", "npm", "crates", "go"):
        action = _HOOK_ACTION.get(actions.unverifiable, "deny")
        return InstallVerdict(action, f"{', '.join(packages)}: stockade cannot check {ecosystem} "
                              "packages (deps.unverifiable)", "deps.unverifiable")
    from stockade.deps.names import parse
    from stockade.deps.service import close, make_checker

    checker = make_checker(actions, state_root=state_root(env), env=env,
                           budget_s=HOOK_REGISTRY_BUDGET_S)
    try:
        specs = [s for p in packages if (s := parse(ecosystem, p, source="hook")) is not None]
        results = checker.check_all(specs)
    finally:
        close(checker)
    if record:
        _record(results, env=env, via=via)
    return verdict_of(results)


def verdict_of(results: list[Any]) -> InstallVerdict:
    """The worst finding over ``results``, with every finding at that level
    in the reason."""
    from stockade.deps.model import RANK

    worst = max((r.action for r in results), key=RANK.__getitem__, default="allow")
    if worst == "allow":
        names = ", ".join(r.spec.display for r in results) or "nothing from a registry"
        return InstallVerdict("allow", f"{names}: no dependency check fired", "deps.allowed")
    top = [f for r in results for f in r.findings if f.action == worst]
    reason = "; ".join(dict.fromkeys(f"{f.reason} ({f.code})" for f in top))
    return InstallVerdict(_HOOK_ACTION[worst], reason, top[0].code)


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

"""Glue for the CLI and the hook: a checker from the policy and the
environment, dependencies added since a git revision, ledger events."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stockade.deps.engine import Actions, Checker
from stockade.deps.model import Result, Spec
from stockade.deps.names import normalise
from stockade.errors import UsageError

LEDGER_KIND = "deps.check"


def make_checker(actions: Actions, *, state_root: str, env: Mapping[str, str] | None = None,
                 offline: bool | None = None, now: float | None = None,
                 budget_s: float | None = None) -> Checker:
    from stockade.deps.osv import Database
    from stockade.deps.registry import Registry, Settings

    settings = Settings.from_env(env, state_root=state_root, offline=offline, policy=actions)
    return Checker(actions, registry=Registry(settings, budget_s=budget_s),
                   osv=Database(state_root), now=now)


def close(checker: Checker) -> None:
    for part in (checker.registry, checker.osv):
        if part is not None:
            part.close()


def event_details(r: Result, *, via: str) -> dict[str, Any]:
    """What the ledger keeps of one verdict: public package data only."""
    return {"via": via, "ecosystem": r.spec.ecosystem, "package": r.spec.name,
            "version": r.spec.version, "action": r.action,
            "reason_codes": [f.code for f in r.findings],
            "reasons": [f.reason for f in r.findings],
            # what could not be checked (no OSV database, a registry down):
            # an allow with notes was not a full check, and the ledger says so
            **({"notes": list(r.notes)} if r.notes else {}),
            **({"source": r.spec.source, "line": r.spec.line} if r.spec.line else {})}


def decision(action: str) -> str:
    """A verdict's action as a hook/ledger decision; anything unknown is a deny."""
    return {"block": "deny", "ask": "ask", "warn": "warn", "allow": "allow"}.get(action, "deny")


def record(results: list[Result], *, via: str, workspace: Path) -> None:
    """Append one ``deps.check`` event per package to the ledger."""
    if not results:
        return
    from stockade.config import load_policy
    from stockade.ledger import NewEvent, open_ledger
    from stockade.ledgerconf import ledger_settings
    from stockade.state import StateDir

    state = StateDir.default().ensure()
    policy = load_policy(workspace=workspace, include_project=False)
    st = ledger_settings(policy=policy)
    st = st._replace(url=st.url or state.ledger_url)
    with open_ledger(st.url, state=state, durability=st.durability,
                     checkpoint_every=st.checkpoint_every) as ledger:
        ledger.append_many([NewEvent(kind=LEDGER_KIND, details=event_details(r, via=via),
                                     decision=decision(r.action)) for r in results])


# -- git -----------------------------------------------------------------------

def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=30, check=False)
    except FileNotFoundError:
        raise UsageError("--diff needs git, which is not installed") from None


def added_since(base: str, manifests: list[Path], specs: list[Spec], *, cwd: Path) -> list[Spec]:
    """``specs`` that are new, or pinned to another version, since git ``base``."""
    from stockade.deps.manifests import ManifestError, parse_text

    if base.startswith("-"):
        raise UsageError(f"--diff {base!r} is not a git revision")
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise UsageError(f"--diff needs a git repository; {cwd} is not in one",
                         hint="run it inside the repository's work tree, or drop --diff to "
                              "check every dependency")
    root = Path(top.stdout.strip())
    ok = _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], root)
    if ok.returncode != 0 and _git(["rev-parse", "--verify", "--quiet", "HEAD"],
                                   root).returncode != 0:
        # a repository with no commits: there is no base, so everything is new
        # (checking all of it is the safe reading of "added since")
        import sys

        print(f"stockade: --diff {base}: {root} has no commits yet; every dependency counts "
              "as added", file=sys.stderr)
        return list(specs)
    if ok.returncode != 0:
        raise UsageError(f"--diff {base}: no such commit in {root}",
                         hint="pass a branch, tag or commit, e.g. --diff origin/main")
    old: set[tuple[str, str, str | None, str | None, str | None]] = set()
    for m in manifests:
        rel = m.resolve().relative_to(root.resolve()).as_posix()
        shown = _git(["show", f"{base}:{rel}"], root)
        if shown.returncode != 0:
            continue  # the manifest is new: everything in it was added
        try:
            before = parse_text(m.name, shown.stdout, display=f"{base}:{rel}")
        except ManifestError:
            continue  # an unreadable old version: check everything now in it
        old |= {_diff_key(s) for s in before}
    return [s for s in specs if _diff_key(s) not in old]


def _diff_key(s: Spec) -> tuple[str, str, str | None, str | None, str | None]:
    """What makes a dependency "the same" across revisions: a new URL for a
    direct reference or a new index is a new dependency."""
    return (s.ecosystem, normalise(s.ecosystem, s.name), s.version, s.direct, s.index)


__all__ = ["LEDGER_KIND", "added_since", "close", "decision", "event_details", "make_checker",
           "record"]

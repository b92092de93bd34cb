"""Dependency guard: checks a package before an agent installs it.

Flow (one direction)::

    install command / manifest -> specs (names.py, manifests.py, installcmd.py)
        -> checks: typosquat (popular.py, local), registry (registry.py,
           cached), OSV advisories (osv.py, local SQLite)
        -> policy (engine.py): an action per check, worst wins
        -> output (report.py) and ledger

Each check has a stable reason code (:data:`stockade.deps.model.CHECKS`).
Nothing here is imported by a hook call unless it sees an install.
"""

from __future__ import annotations

from stockade.deps.model import CHECKS, Finding, Result, Spec

__all__ = ["CHECKS", "Finding", "Result", "Spec"]

"""The dependency verdicts of an audit of past sessions.

The hook's checker decides on installs as they happen; here it judges
installs that already ran.  Two things differ, so this is its own seam:

* offline unless asked (``--online``): an audit of months of transcripts
  must not send every package name a team installed to public registries
  by surprise.  Offline, the verdict comes from cached registry answers, the
  local OSV database and the bundled popular-name lists; a package never
  looked up reads ``unverifiable``.
* nothing goes through the hook's spool: the history run records its own
  event (``history.run``, with counts of verdicts) and nothing else.

Verdicts use the words of ``stockade deps``: block / ask / warn / allow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

# The hook speaks Claude Code's words (deny); reports speak the deps words.
_DEPS_WORD = {"deny": "block"}

Checker = Callable[[str, tuple[str, ...]], Any]


def checker(*, online: bool, env: Mapping[str, str] | None = None) -> Checker:
    """``(ecosystem, packages) -> verdict`` for :func:`stockade.history.audit.audit`."""
    base = dict(os.environ if env is None else env)
    # explicit both ways: --online overrides STOCKADE_DEPS_OFFLINE=1 in the
    # environment (a policy's `offline: true` still wins, see deps.registry)
    base["STOCKADE_DEPS_OFFLINE"] = "0" if online else "1"

    def check(ecosystem: str, packages: tuple[str, ...]) -> Any:
        from stockade.hooks.depcheck import EDITABLE_OPTS, InstallVerdict, check_packages

        if not any(not p.startswith("-") for p in packages) and \
                not any(p.partition("=")[0] in EDITABLE_OPTS for p in packages):
            # `npm ci`, `pip install -r x`: the files are gone, nothing to name
            return InstallVerdict("allow", "installed what the project's manifest or lock "
                                  "file listed (`stockade deps check` checks those)",
                                  "deps.unchecked")
        return check_packages(ecosystem, packages, via="history", record=False,
                              read_files=False, env=base)

    return check


def deps_word(action: str) -> str:
    return _DEPS_WORD.get(action, action)


__all__ = ["checker", "deps_word"]

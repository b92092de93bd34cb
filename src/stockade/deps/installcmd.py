"""The packages an install command would fetch, found by the same shell
analysis the hooks use (so ``sudo python -m pip install x``, ``bash -c
'npm i y'`` and ``uv pip install z`` read the same in both places)."""

from __future__ import annotations

import shlex

from stockade.errors import UsageError


def installs(argv: list[str], *, cwd: str, home: str) -> list[tuple[str, tuple[str, ...]]]:
    """(ecosystem, package specs as typed) for each install in ``argv``;
    an empty tuple means "what the manifest or lock file lists"."""
    from stockade.hooks.commands import analyse
    from stockade.hooks.depcheck import InstallVerdict
    from stockade.hooks.shellrules import check_command
    from stockade.hooks.view import HookPolicy

    if not argv:
        raise UsageError("no command given", hint="stockade deps check-command -- pip install NAME")
    text = argv[0] if len(argv) == 1 and " " in argv[0] else shlex.join(argv)
    seen: list[tuple[str, tuple[str, ...]]] = []

    def capture(eco: str, packages: tuple[str, ...]) -> InstallVerdict:
        seen.append((eco, packages))
        return InstallVerdict("allow")

    view = HookPolicy(workspace=cwd, home=home, write=(cwd,), deny_read=(), network_allow=())
    check_command(analyse(text, cwd=cwd, home=home, env={}), view, install_check=capture)
    if not seen:
        first = text.split(None, 1)[0][:40] if text.strip() else ""
        raise UsageError(f"the `{first}` command installs no package stockade knows of",
                         hint="pass an install command: pip/uv/poetry/pipx install|add, "
                              "npm/pnpm/yarn install|add, npx, cargo add, go get")
    return seen


__all__ = ["installs"]

"""`stockade deps`: check packages before an agent installs them.

    stockade deps check [--diff BASE] [PATH]       manifests under PATH (default .)
    stockade deps check-command -- pip install X   an install command
    stockade deps update-db --from FILE.zip        import an OSV export

Exit status: 0 nothing refused, 1 a package is ``block`` or ``ask`` under
``tools.dependencies``, 2 bad input (a manifest that cannot be read names
its file and line).  Every verdict goes to the ledger as ``deps.check``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stockade.errors import EXIT_FOUND, EXIT_OK, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from stockade.deps.engine import Actions
    from stockade.deps.model import Result, Spec


def build_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=("table", "json", "sarif"), default="table")
    common.add_argument("--offline", action="store_true",
                        help="no registry requests: cached answers only, else `unverifiable` "
                             "(also STOCKADE_DEPS_OFFLINE=1)")
    common.add_argument("--policy", metavar="FILE", help="policy file (tools.dependencies)")
    common.add_argument("--no-ledger", action="store_true",
                        help="do not record the verdicts in the ledger")
    c = sub.add_parser("check", parents=[common], help="check the dependencies in manifests")
    c.add_argument("path", nargs="?", default=".", metavar="PATH",
                   help="a manifest or a directory to search (default: .)")
    c.add_argument("--diff", metavar="BASE",
                   help="only dependencies added (or re-pinned) since git revision BASE")
    cc = sub.add_parser("check-command", parents=[common],
                        help="check the packages an install command would fetch")
    cc.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                    help="the install command, after --")
    u = sub.add_parser("update-db", help="import an OSV export (malicious and vulnerable)")
    u.add_argument("--from", dest="source", required=True, metavar="FILE.zip",
                   help="OSV's per-ecosystem export, e.g. PyPI/all.zip")


def run(args: argparse.Namespace) -> int:
    if args.action == "update-db":
        return _update_db(Path(args.source))
    from stockade.config import load_policy

    workspace = Path.cwd()
    policy = load_policy(policy_file=args.policy, workspace=workspace)
    if args.action == "check":
        specs = _manifest_specs(Path(args.path), diff=args.diff, cwd=workspace)
        via = "deps check"
        unread: list[tuple[str, str, str]] = []
    else:
        specs, unread = _command_specs(args.argv, cwd=workspace)
        via = "deps check-command"
    actions = policy.tools.dependencies
    results = _check(specs, actions, offline=args.offline or None)
    if unread:
        from stockade.deps.model import Finding, Result
        from stockade.deps.model import Spec as _Spec

        results += [Result(_Spec(eco, what, source="command"),
                           (Finding("unverifiable", actions.unverifiable, why),))
                    for eco, what, why in unread]
    _write(results, args.format)
    if not args.no_ledger:
        from stockade.deps.service import record

        record(results, via=via, workspace=workspace)
    return EXIT_FOUND if any(r.refused for r in results) else EXIT_OK


def _state_root() -> str:
    from stockade.state import default_root

    return str(default_root())


def _check(specs: list[Spec], actions: Actions, *, offline: bool | None) -> list[Result]:
    from stockade.deps.service import close, make_checker

    checker = make_checker(actions, state_root=_state_root(), offline=offline)
    try:
        return checker.check_all(specs)
    finally:
        close(checker)


def _manifest_specs(path: Path, *, diff: str | None, cwd: Path) -> list[Spec]:
    from stockade.deps import manifests

    found = manifests.find(path)
    if not found:
        print(f"stockade: no manifest under {path} (requirements*.txt, pyproject.toml, setup.cfg, "
              "Pipfile, package.json, go.mod, Cargo.toml)", file=sys.stderr)
    specs: list[Spec] = []
    for m in found:
        shown = os.path.relpath(m, cwd)
        specs += manifests.read(m, display=shown)
    if diff:
        from stockade.deps.service import added_since

        specs = added_since(diff, found, specs, cwd=cwd)
    return specs


def _command_specs(argv: list[str], *, cwd: Path
                   ) -> tuple[list[Spec], list[tuple[str, str, str]]]:
    """The specs an install command names, read as the hook reads them (so
    ``-r`` files, ``-e`` specs and index options count), and (what, why) for
    what it would install that cannot be read."""
    from stockade.deps import manifests
    from stockade.deps.installcmd import installs
    from stockade.hooks.depcheck import specs_of

    if argv[:1] == ["--"]:
        argv = argv[1:]
    home = os.environ.get("HOME") or str(Path.home())
    specs: list[Spec] = []
    unread: list[tuple[str, str, str]] = []
    for eco, packages in installs(argv, cwd=str(cwd), home=home):
        if eco not in ("pypi", "npm", "crates", "go"):
            raise UsageError(f"stockade cannot check {eco} packages",
                             hint="pip/uv/poetry/pipx, npm/pnpm/yarn/bun, cargo and go installs "
                                  "are checked")
        if not packages:
            # `npm ci`, `pip install .`: what the manifests here list
            for m in manifests.find(cwd):
                specs += [s for s in manifests.read(m, display=os.path.relpath(m, cwd))
                          if s.ecosystem == eco]
            continue
        got, bad = specs_of(eco, packages, cwd=str(cwd))
        specs += got
        unread += [(eco, what, why) for what, why in bad]
    return specs, unread


def _write(results: list[Result], fmt: str) -> None:
    from stockade.deps import report

    out = sys.stdout
    if fmt == "json":
        report.write_json(results, out)
    elif fmt == "sarif":
        report.write_sarif(results, out)
    else:
        report.write_table(results, out)
    out.flush()


def _update_db(source: Path) -> int:
    from stockade.deps.osv import import_zip
    from stockade.state import StateDir

    state = StateDir.default().ensure()
    counts = import_zip(source, state_root=str(state.root))
    for eco, n in sorted(counts.items()):
        print(f"{eco}: {n} advisories imported from {source.name}")
    return EXIT_OK

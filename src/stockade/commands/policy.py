"""`stockade policy check|show|default`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stockade.errors import EXIT_OK, EXIT_USAGE, PolicyError

_LAYER_CHOICES = ("managed", "user", "project")


def build_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = sub.add_parser(
        "check",
        help="validate policy files on their own",
        description="Validate each FILE: syntax, schema, values. A file named "
        "stockade.yaml is checked as a project policy (keys only managed/user may set are "
        "refused) unless --layer says otherwise. A project or user file is also checked "
        "against the stronger layers present here (managed, user, the built-in default), "
        "as every command that loads it does; any other file is checked on its own.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--layer",
        choices=_LAYER_CHOICES,
        help="check FILE as this layer (default: project for stockade.yaml)",
    )
    check.add_argument(
        "--workspace",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory that ${WORKSPACE} stands for (default: current directory)",
    )
    show = sub.add_parser(
        "show",
        help="print the effective policy and where each value came from",
        description="Merge every layer (managed, user, default, project) and print the result; "
        "each value is annotated with the layer file:line that set it.",
    )
    show.add_argument(
        "--policy",
        dest="policy_file",
        default=None,
        metavar="FILE",
        help="user policy file (default: $STOCKADE_POLICY or ~/.config/stockade/policy.yaml)",
    )
    show.add_argument(
        "--workspace",
        type=Path,
        default=None,
        metavar="DIR",
        help="project directory (default: current directory)",
    )
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")
    sub.add_parser(
        "default",
        help="print the built-in default policy, annotated",
        description="Print the built-in default policy; a good start for a policy file.",
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        return _check(args)
    if args.action == "show":
        return _show(args)
    from stockade.config.defaults import DEFAULT_POLICY_YAML

    sys.stdout.write(DEFAULT_POLICY_YAML)
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from stockade.config import load_policy_file
    from stockade.config.loader import check_layer_bounds

    failures = 0
    for name in args.files:
        kind = args.layer or ("project" if Path(name).name == "stockade.yaml" else "file")
        try:
            layer = load_policy_file(name, kind=kind, workspace=args.workspace)
            # The same bounds every other command applies when it loads the
            # file, so `check` never passes a file `run` would refuse.
            against = (check_layer_bounds(layer, workspace=args.workspace)
                       if kind in ("project", "user") else ())
        except PolicyError as exc:
            failures += 1
            if len(args.files) == 1:
                raise
            print(exc.diagnostic(), file=sys.stderr)
            continue
        if kind == "file":
            print(f"ok: {name} (checked on its own: no layer bounds; pass --layer project or "
                  "--layer user to check it against the stronger policies here)")
        elif kind == "managed":
            print(f"ok: {name} (as managed policy; nothing binds it)")
        else:
            print(f"ok: {name} (as {kind} policy, within the bounds of: {', '.join(against)})")
    return EXIT_USAGE if failures else EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from stockade.config import load_policy

    policy = load_policy(policy_file=args.policy_file, workspace=args.workspace)
    if args.format == "json":
        import json

        doc = {
            "digest": policy.digest,
            "workspace": policy.workspace,
            "layers": [{"kind": x.kind, "file": x.file} for x in policy.layers],
            "policy": policy.to_dict(),
            "sources": dict(policy.sources),
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        from stockade.config.render import render_yaml

        sys.stdout.write(render_yaml(policy))
    return EXIT_OK

import sys

if sys.argv[1:2] == ["hook"]:
    # Claude Code spawns the hook once per tool call: skip argparse and the CLI table.
    from stockade.commands.hook import main_fast

    raise SystemExit(main_fast(sys.argv[2:]))

from stockade.cli import main  # noqa: E402

raise SystemExit(main())

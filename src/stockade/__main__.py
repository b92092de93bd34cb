import sys


def _refuse(why: str) -> int:
    """The hook cannot even be loaded (a broken or half-upgraded install):
    refuse the way it would have.  Python's own exit code 1 is an error the
    client ignores while it runs the tool.  Standard library only."""
    import json

    reason = (f"stockade: the hook failed (it cannot be loaded: {why}); the call was refused "
              "to stay safe. Run `stockade doctor` to see what is wrong.")
    try:
        data = json.loads(sys.stdin.buffer.read())
        event = data.get("hook_event_name") if isinstance(data, dict) else None
    except Exception:  # noqa: BLE001 - unreadable input: refuse as for a tool call
        event = None
    sys.stderr.write(reason + "\n")
    if event in ("Stop", "SubagentStop", "SessionStart", "SessionEnd", "Notification",
                 "PreCompact"):
        return 0  # nothing to refuse; exit 2 on Stop would keep the agent from stopping
    if event in ("PostToolUse", "UserPromptSubmit"):
        answer: dict[str, object] = {"decision": "block", "reason": reason}
    else:
        answer = {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                         "permissionDecision": "deny",
                                         "permissionDecisionReason": reason}}
    sys.stdout.write(json.dumps(answer) + "\n")
    return 2


if sys.argv[1:2] == ["hook"]:
    # Claude Code spawns the hook once per tool call: skip argparse and the CLI table.
    try:
        from stockade.commands.hook import main_fast
    except BaseException as exc:  # noqa: BLE001 - whatever stops the import must refuse
        raise SystemExit(_refuse(type(exc).__name__)) from None
    raise SystemExit(main_fast(sys.argv[2:]))

from stockade.cli import main

raise SystemExit(main())

"""The hook wire protocols of Claude Code and Codex.  Pure: bytes in, an
:class:`Answer` (stdout, stderr, exit code) out.

Both clients send one JSON object on stdin (``hook_event_name``,
``session_id``, ``tool_name``, ``tool_input``, ``tool_use_id``, ...).  They
differ in what they accept back:

* Claude Code: PreToolUse ``hookSpecificOutput.permissionDecision``
  allow / deny / ask; PostToolUse ``decision: "block"`` + ``reason`` and
  ``hookSpecificOutput.additionalContext``; UserPromptSubmit
  ``decision: "block"``.
* Codex: the same shapes, but PreToolUse cannot ``ask`` (it would run the
  call), so ``ask`` becomes a deny that says a person must approve.  A deny is
  also given as exit code 2 with the reason on stderr, which every Codex
  version honours.
"""

from __future__ import annotations

from stockade.hooks import _fastjson as json
from stockade.hooks._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    Client = Literal["claude-code", "codex"]
    Action = Literal["allow", "ask", "deny", "warn", "block"]

CLIENTS: tuple[Client, ...] = ("claude-code", "codex")

PRE_TOOL_USE = "PreToolUse"
POST_TOOL_USE = "PostToolUse"
USER_PROMPT_SUBMIT = "UserPromptSubmit"
SESSION_START = "SessionStart"
SESSION_END = "SessionEnd"
STOP = "Stop"
EVENTS = (PRE_TOOL_USE, POST_TOOL_USE, USER_PROMPT_SUBMIT, SESSION_START, SESSION_END, STOP,
          "SubagentStop", "Notification", "PreCompact", "PermissionRequest")
MAX_INPUT = 32 * 1024 * 1024
PREFIX = "stockade: "


class HookInputError(ValueError):
    """The hook input is not what the client sends."""


class HookInput(Record):
    client: Client
    event: str
    session_id: str | None
    tool_use_id: str | None
    tool_name: str | None
    tool_input: dict[str, Any]
    tool_response: Any
    prompt: str | None
    cwd: str | None
    transcript_path: str | None
    turn_id: str | None = None
    extra: dict[str, Any] = {}  # never mutated


class Verdict(Record):
    """What stockade decided.  ``reason`` is shown to the model and the user
    and must never contain a protected value.  ``context`` is extra text for
    the model (PostToolUse / UserPromptSubmit warnings)."""

    action: Action
    reason: str = ""
    rule_ids: tuple[str, ...] = ()
    context: str | None = None


class Answer(Record):
    stdout: str
    stderr: str
    exit_code: int


def parse_input(raw: bytes | str, *, client: Client) -> HookInput:
    """Parse the JSON a client writes on the hook's stdin."""
    if len(raw) > MAX_INPUT:
        raise HookInputError(f"hook input is larger than {MAX_INPUT} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # where it broke, never what was there (the input may hold a secret)
        if isinstance(exc, UnicodeDecodeError):
            what = f"not UTF-8 (byte {exc.start})"
        elif isinstance(exc, RecursionError):
            what = "nested too deeply"
        elif hasattr(exc, "lineno"):
            what = f"not JSON (line {exc.lineno} column {getattr(exc, 'colno', '?')})"
        else:  # _fastjson's messages give a position only
            what = f"not JSON ({str(exc)[:60]})"
        raise HookInputError(f"hook input is {what}") from None
    if not isinstance(data, dict):
        raise HookInputError("hook input is not a JSON object")
    event = data.get("hook_event_name")
    if not isinstance(event, str) or not event:
        raise HookInputError("hook input has no hook_event_name")
    tool_input = data.get("tool_input")
    if tool_input is None:
        tool_input = {}
    if not isinstance(tool_input, dict):
        raise HookInputError("tool_input is not a JSON object")

    def text(key: str) -> str | None:
        v = data.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            raise HookInputError(f"{key} is not a string")
        return v

    known = {"hook_event_name", "session_id", "tool_use_id", "tool_name", "tool_input",
             "tool_response", "prompt", "cwd", "transcript_path", "turn_id"}
    return HookInput(
        client=client,
        event=event,
        session_id=text("session_id"),
        tool_use_id=text("tool_use_id"),
        tool_name=text("tool_name"),
        tool_input=tool_input,
        tool_response=data.get("tool_response"),
        prompt=text("prompt"),
        cwd=text("cwd"),
        transcript_path=text("transcript_path"),
        turn_id=text("turn_id"),
        extra={k: v for k, v in data.items() if k not in known},
    )


def _reason(text: str) -> str:
    return text if text.startswith(PREFIX) else PREFIX + text


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj) + "\n"


def render(client: Client, event: str, verdict: Verdict) -> Answer:
    """The client's answer for ``verdict`` on ``event``."""
    if event == PRE_TOOL_USE:
        return _pre_tool_use(client, verdict)
    if event == POST_TOOL_USE:
        return _post_tool_use(client, verdict)
    if event == USER_PROMPT_SUBMIT:
        return _user_prompt(client, verdict)
    if verdict.action in ("deny", "block"):
        # Other events cannot be refused usefully, and exit 2 on Stop would
        # keep the agent from stopping (a loop if it keeps failing): say why
        # on stderr only.
        return Answer("", _reason(verdict.reason) + "\n", 0)
    return Answer("", "", 0)


def _pre_tool_use(client: Client, verdict: Verdict) -> Answer:
    action = verdict.action
    if action == "block":
        action = "deny"
    if action == "warn":
        action = "allow"
    reason = _reason(verdict.reason) if verdict.reason else ""
    if action == "allow":
        # Say nothing: an explicit "allow" would also skip the client's own
        # permission prompt, which would loosen what the user configured.
        return Answer("", "", 0)
    if client == "codex":
        if action == "ask":
            reason = reason + " (Codex hooks cannot ask: approve it by running the command " \
                              "yourself or change the stockade policy)"
        out = {"hookSpecificOutput": {"hookEventName": PRE_TOOL_USE,
                                      "permissionDecision": "deny",
                                      "permissionDecisionReason": reason}}
        return Answer(_dump(out), reason + "\n", 2)
    spec: dict[str, Any] = {"hookEventName": PRE_TOOL_USE, "permissionDecision": action}
    if reason:
        spec["permissionDecisionReason"] = reason
    return Answer(_dump({"hookSpecificOutput": spec}), "", 0)


def _post_tool_use(client: Client, verdict: Verdict) -> Answer:
    out: dict[str, Any] = {}
    if verdict.action in ("deny", "block"):
        out["decision"] = "block"
        out["reason"] = _reason(verdict.reason)
    if verdict.context or verdict.action in ("warn", "deny", "block"):
        ctx = verdict.context or _reason(verdict.reason)
        out["hookSpecificOutput"] = {"hookEventName": POST_TOOL_USE, "additionalContext": ctx}
    if not out:
        return Answer("", "", 0)
    return Answer(_dump(out), "", 0)


def _user_prompt(client: Client, verdict: Verdict) -> Answer:
    out: dict[str, Any] = {}
    if verdict.action in ("deny", "block"):
        out["decision"] = "block"
        out["reason"] = _reason(verdict.reason)
    elif verdict.context:
        out["hookSpecificOutput"] = {"hookEventName": USER_PROMPT_SUBMIT,
                                     "additionalContext": verdict.context}
    if not out:
        return Answer("", "", 0)
    return Answer(_dump(out), "", 0)


_CLIENT_NAMES = {"claude-code": "Claude Code", "codex": "Codex"}


def fail_closed(client: Client, event: str | None, why: str) -> Answer:
    """The answer when stockade itself failed: deny, and say so."""
    return _refuse(client, event, _reason(
        f"the hook failed ({why}); the call was refused to stay safe. "
        "Run `stockade doctor` to see what is wrong."))


def bad_input(client: Client, event: str | None, why: str) -> Answer:
    """The answer to stdin that is not a hook event (``echo garbage | stockade hook
    claude-code``): the caller's mistake, not stockade's, but still a refusal, so a
    client that sent something odd cannot get a tool call through."""
    name = _CLIENT_NAMES.get(client, client)
    why = why.removeprefix("hook input is ").removeprefix("hook input ")
    return _refuse(client, event, _reason(
        f"bad hook input ({why}). Expected the JSON object {name} writes on a hook's stdin, "
        'e.g. {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": '
        '{"command": "ls"}}; the call was refused to stay safe.'))


def _refuse(client: Client, event: str | None, reason: str) -> Answer:
    ev = event or PRE_TOOL_USE
    if ev == PRE_TOOL_USE:
        ans = _pre_tool_use(client, Verdict("deny", reason))
        # exit 2 as well: a client that cannot read our JSON still blocks
        return Answer(ans.stdout, reason + "\n", 2)
    if ev in (POST_TOOL_USE, USER_PROMPT_SUBMIT):
        ans = render(client, ev, Verdict("block", reason))
        return Answer(ans.stdout, reason + "\n", 2 if ev == USER_PROMPT_SUBMIT else 0)
    return Answer("", reason + "\n", 0)


__all__ = [
    "CLIENTS",
    "Answer",
    "Client",
    "HookInput",
    "HookInputError",
    "Verdict",
    "bad_input",
    "fail_closed",
    "parse_input",
    "render",
]

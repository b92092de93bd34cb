"""The clients' wire formats: inputs shaped like the captured samples parse,
and every verdict renders as the client expects."""

from __future__ import annotations

import json

import pytest
from hooks_fixtures import claude_input, codex_input

from stockade.hooks.protocol import HookInputError, Verdict, fail_closed, parse_input, render

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]


@pytest.mark.parametrize("event", EVENTS)
def test_claude_samples_parse(event: str) -> None:
    extra = {"tool_name": "Bash", "tool_input": {"command": "echo hello > out.txt"}} \
        if "ToolUse" in event else {}
    if event == "PostToolUse":
        extra["tool_response"] = {"stdout": "", "stderr": "", "interrupted": False}
    if event == "UserPromptSubmit":
        extra["prompt"] = "Please write hello to out.txt"
    raw = claude_input(event, cwd="/tmp/p", session="sess-1", **extra)
    inp = parse_input(raw, client="claude-code")
    assert inp.event == event and inp.session_id == "sess-1" and inp.cwd == "/tmp/p"
    if "ToolUse" in event:
        assert inp.tool_name == "Bash" and inp.tool_use_id.startswith("toolu_")
        assert inp.tool_input["command"] == "echo hello > out.txt"
    if event == "UserPromptSubmit":
        assert inp.prompt == "Please write hello to out.txt"
    # unknown fields are kept, not rejected (clients add fields often)
    assert "transcript_path" not in inp.extra


@pytest.mark.parametrize("event", EVENTS[:-1])
def test_codex_samples_parse(event: str) -> None:
    extra = {"tool_name": "Bash", "tool_input": {"command": "ls"}} if "ToolUse" in event else {}
    if event == "PostToolUse":
        extra["tool_response"] = ""
    raw = codex_input(event, cwd="/tmp/p", session="sess-2", **extra)
    inp = parse_input(raw, client="codex")
    assert inp.event == event and inp.session_id == "sess-2"
    assert inp.extra["model"] == "fake-model"
    if event != "SessionStart":
        assert inp.turn_id


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"{}", b'{"hook_event_name": 3}',
                                 b'{"hook_event_name": "PreToolUse", "tool_input": []}',
                                 b'{"hook_event_name": "PreToolUse", "session_id": 1}'])
def test_malformed_input_is_rejected(raw: bytes) -> None:
    with pytest.raises(HookInputError):
        parse_input(raw, client="claude-code")


def test_claude_pre_tool_use_answers() -> None:
    assert render("claude-code", "PreToolUse", Verdict("allow")).stdout == ""
    for action in ("deny", "ask"):
        a = render("claude-code", "PreToolUse", Verdict(action, "blocked: x"))  # type: ignore[arg-type]
        out = json.loads(a.stdout)
        assert a.exit_code == 0
        assert out == {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                              "permissionDecision": action,
                                              "permissionDecisionReason": "stockade: blocked: x"}}


def test_codex_pre_tool_use_answers() -> None:
    assert render("codex", "PreToolUse", Verdict("allow")).stdout == ""
    a = render("codex", "PreToolUse", Verdict("deny", "stockade: no"))
    assert a.exit_code == 2 and a.stderr.strip() == "stockade: no"
    assert json.loads(a.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    a = render("codex", "PreToolUse", Verdict("ask", "needs approval: y"))
    assert json.loads(a.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


@pytest.mark.parametrize("client", ["claude-code", "codex"])
def test_post_tool_use_and_prompt_answers(client: str) -> None:
    warn = json.loads(render(client, "PostToolUse",  # type: ignore[arg-type]
                             Verdict("warn", "w", context="stockade: careful")).stdout)
    assert warn == {"hookSpecificOutput": {"hookEventName": "PostToolUse",
                                           "additionalContext": "stockade: careful"}}
    block = json.loads(render(client, "PostToolUse",  # type: ignore[arg-type]
                              Verdict("block", "stockade: no", context="stockade: no")).stdout)
    assert block["decision"] == "block" and block["reason"] == "stockade: no"
    prompt = json.loads(render(client, "UserPromptSubmit",  # type: ignore[arg-type]
                               Verdict("block", "secret")).stdout)
    assert prompt == {"decision": "block", "reason": "stockade: secret"}


@pytest.mark.parametrize("client", ["claude-code", "codex"])
@pytest.mark.parametrize("event", [None, "PreToolUse", "PostToolUse", "UserPromptSubmit"])
def test_fail_closed_always_refuses(client: str, event: str | None) -> None:
    a = fail_closed(client, event, "internal error KeyError")  # type: ignore[arg-type]
    assert "stockade: the hook failed (internal error KeyError)" in a.stderr
    if event in (None, "PreToolUse"):
        assert a.exit_code == 2
        assert json.loads(a.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    else:
        assert json.loads(a.stdout)["decision"] == "block"

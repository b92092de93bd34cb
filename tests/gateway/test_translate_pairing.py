"""Chat Completions servers refuse a ``tool`` message that answers no call and an
assistant ``tool_calls`` entry left without its ``tool`` message (a 400 from
vLLM, llama.cpp's templates, OpenAI).  Conversations carried over from the
Anthropic or Responses API do not always keep that rule: Codex history holding
``local_shell_call`` items, an interrupted turn, a message between a call and its
output.  The translated request always does."""

from __future__ import annotations

from typing import Any

from stockade.translate._common import NO_RESULT, ORPHAN_RESULT
from stockade.translate.anthropic_chat import messages_to_chat
from stockade.translate.responses_chat import responses_to_chat


def _check_paired(msgs: list[dict[str, Any]]) -> None:
    """The rule the servers enforce."""
    pending: list[str] = []
    for m in msgs:
        if m["role"] == "tool":
            assert m["tool_call_id"] in pending, m
            pending.remove(m["tool_call_id"])
            continue
        assert pending == [], f"calls without results before {m['role']}"
        if m["role"] == "assistant":
            pending = [c["id"] for c in m.get("tool_calls", [])]
    assert pending == []


def test_translate_codex_local_shell_history_keeps_its_output_paired() -> None:
    body = {"model": "m", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ls"}]},
        {"type": "local_shell_call", "id": "ls_1", "call_id": "call_ls", "status": "completed",
         "action": {"type": "exec", "command": ["ls", "-la"], "working_directory": "/w"}},
        {"type": "function_call_output", "call_id": "call_ls", "output": "a.txt"},
    ]}
    msgs = responses_to_chat(body)["messages"]
    _check_paired(msgs)
    call = msgs[1]["tool_calls"][0]
    assert call["function"]["name"] == "local_shell" and '"ls"' in call["function"]["arguments"]
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_ls", "content": "a.txt"}


def test_translate_an_output_of_an_unknown_call_becomes_user_text() -> None:
    body = {"model": "m", "input": [
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "function_call_output", "call_id": "call_gone", "output": "result text"},
        {"type": "message", "role": "user", "content": "go on"},
    ]}
    msgs = responses_to_chat(body)["messages"]
    _check_paired(msgs)
    assert msgs[0] == {"role": "user", "content": ORPHAN_RESULT + "result text"}


def test_translate_a_call_without_a_result_gets_a_placeholder_result() -> None:
    # Claude Code after an interrupted turn: two parallel calls, one answered,
    # then the user's next words
    body = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "check"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Running both."},
            {"type": "tool_use", "id": "toolu_a", "name": "Bash", "input": {"command": "ls"}},
            {"type": "tool_use", "id": "toolu_b", "name": "Read", "input": {"path": "x"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_b", "is_error": True,
             "content": [{"type": "text", "text": "no such file"}]},
            {"type": "text", "text": "stop, do something else"}]},
    ]}
    msgs = messages_to_chat(body)["messages"]
    _check_paired(msgs)
    assert [c["id"] for c in msgs[1]["tool_calls"]] == ["toolu_a", "toolu_b"]
    assert msgs[2] == {"role": "tool", "tool_call_id": "toolu_b",
                       "content": "Error: no such file"}
    assert msgs[3] == {"role": "tool", "tool_call_id": "toolu_a", "content": NO_RESULT}
    assert msgs[4] == {"role": "user", "content": "stop, do something else"}


def test_translate_codex_tool_types_other_than_function_are_dropped() -> None:
    # as Codex's own Chat Completions adapter does: only function tools go on
    body = {"model": "m", "input": "hi", "tool_choice": "auto", "parallel_tool_calls": True,
            "tools": [
                {"type": "function", "name": "exec_command", "strict": False,
                 "parameters": {"type": "object", "properties": {}}},
                {"type": "namespace", "name": "agents", "description": "d", "tools": [
                    {"type": "function", "name": "spawn", "parameters": {"type": "object"}}]},
                {"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}},
                {"type": "local_shell"},
                {"type": "web_search", "external_web_access": False}]}
    req = responses_to_chat(body)
    assert [t["function"]["name"] for t in req["tools"]] == ["exec_command"]
    assert req["tool_choice"] == "auto" and req["parallel_tool_calls"] is True

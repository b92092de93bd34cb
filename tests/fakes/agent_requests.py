"""Requests shaped like the ones real agents send, built at run time.

The shapes follow captured Claude Code 2.1 and Codex 0.169 requests (the
captures themselves are third-party text and stay outside the repository):

* Claude Code: ``system`` as text blocks (a billing-header block first, then
  blocks with ``cache_control``), ~25 tools with long descriptions and JSON
  schemas (~75 KB), a ``role: "system"`` message in the middle of ``messages``,
  ``tool_use`` / ``tool_result`` pairs (``cache_control`` on the last result),
  ``thinking``, ``context_management``, ``output_config``, ``metadata``;
  ~90 KB in all.
* Codex: ``input`` items (``developer`` and ``user`` messages of ``input_text``
  parts, ``function_call`` / ``function_call_output``, a ``reasoning`` item),
  function tools plus a built-in ``web_search`` tool, ``reasoning``,
  ``include``, ``store: false``, ``prompt_cache_key``, ``client_metadata``.
"""

from __future__ import annotations

import json
from typing import Any

_WORDS = ["the", "agent", "reads", "files", "edits", "code", "and", "runs", "commands", "in", "the", "workspace", "when", "asked", "use", "absolute", "paths", "prefer", "small", "diffs", "never", "guess", "report", "errors", "plainly"]


def _prose(n_words: int, seed: int) -> str:
    return " ".join(_WORDS[(seed * 7 + i * 3) % len(_WORDS)] for i in range(n_words))


def _schema(i: int) -> dict[str, Any]:
    return {"type": "object", "$schema": "https://json-schema.org/draft/2020-12/schema",
            "additionalProperties": False, "required": ["command"],
            "properties": {
                "command": {"type": "string", "description": _prose(30, i)},
                "timeout": {"type": "number", "description": "Optional timeout in ms"},
                "description": {"type": "string", "description": _prose(40, i + 1)},
                "run_in_background": {"type": "boolean"},
                "paths": {"type": "array", "items": {"type": "string"}},
            }}


CLAUDE_TOOLS = ("Agent", "Bash", "Edit", "Glob", "Grep", "NotebookEdit", "Read", "Skill",
                "TaskCreate", "TaskGet", "TaskList", "TaskOutput", "TaskStop", "TaskUpdate",
                "WebFetch", "WebSearch", "Write", "CronCreate", "CronDelete", "CronList",
                "EnterWorktree", "ExitWorktree", "SendMessage", "ScheduleWakeup", "Workflow")


def claude_code_request(*, turns: int = 1, stream: bool = True,
                        tool_words: int = 380) -> dict[str, Any]:
    """A Claude Code ``/v1/messages`` body; ``turns`` tool round trips so far."""
    tools = [{"name": name, "description": _prose(tool_words, i), "input_schema": _schema(i)}
             for i, name in enumerate(CLAUDE_TOOLS)]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\n" + _prose(120, 3) +
             "\n</system-reminder>"},
            {"type": "text", "text": "write hello to out.txt, then show it"}]},
        {"role": "system", "content": "Available agent types for the Agent tool: " +
         _prose(60, 5)},
    ]
    for t in range(turns):
        tid = f"toolu_{t:02d}" + "a1b2c3d4e5f6a7b8c9d0e1f2"[: 22]
        messages.append({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Plan the next step.", "signature": "c2lnbmF0dXJl"},
            {"type": "text", "text": f"Step {t + 1}."},
            {"type": "tool_use", "id": tid, "name": "Bash",
             "input": {"command": f"echo step {t} > out.txt", "description": "write"}}]})
        result: dict[str, Any] = {"tool_use_id": tid, "type": "tool_result",
                                  "content": f"(Bash completed with no output) {t}",
                                  "is_error": False}
        if t == turns - 1:
            result["cache_control"] = {"type": "ephemeral"}
        messages.append({"role": "user", "content": [result]})
    return {
        "model": "claude-opus-4-8",
        "messages": messages,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.0; "
                                     "cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are a Claude agent.",
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": _prose(1500, 11), "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools,
        "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "session_id": "s-1"})},
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": stream,
    }


def claude_title_request() -> dict[str, Any]:
    """Claude Code's side call asking for a session title as JSON (no tools)."""
    return {"model": "claude-haiku-4-5", "max_tokens": 512, "stream": False,
            "system": [{"type": "text", "text": "Generate a concise title."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "<session>x"}]}],
            "output_config": {"format": {"type": "json_schema", "schema": {
                "type": "object", "properties": {"title": {"type": "string"}},
                "required": ["title"], "additionalProperties": False}}}}


def codex_request(*, turns: int = 0, stream: bool = True) -> dict[str, Any]:
    """A Codex ``/v1/responses`` body; ``turns`` function-call round trips so far."""
    items: list[dict[str, Any]] = [
        {"type": "message", "role": "developer", "content": [
            {"type": "input_text", "text": "<permissions instructions>" + _prose(80, 2)}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "<environment_context>cwd=/work</environment_context>"}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "copy creds.txt to copy.txt"}]},
    ]
    for t in range(turns):
        items.append({"type": "reasoning", "id": f"rs_{t}", "summary": [],
                      "encrypted_content": "gAAAA" + "x" * 40})
        items.append({"type": "function_call", "id": f"fc_{t}", "call_id": f"call_{t}",
                      "name": "exec_command", "arguments": json.dumps({"cmd": f"ls {t}"})})
        items.append({"type": "function_call_output", "call_id": f"call_{t}",
                      "output": f"Process exited with code 0\nOutput:\nfile{t}\n"})
    tools: list[dict[str, Any]] = [
        {"type": "function", "name": name, "description": _prose(60, i), "strict": False,
         "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}},
                        "required": ["cmd"], "additionalProperties": False}}
        for i, name in enumerate(("exec_command", "write_stdin", "view_image", "update_plan"))]
    tools.append({"type": "web_search", "external_web_access": False})
    return {"model": "gpt-5-codex", "instructions": "You are a coding agent. " + _prose(200, 9),
            "input": items, "tools": tools, "tool_choice": "auto", "parallel_tool_calls": True,
            "reasoning": {"summary": "auto"}, "store": False,
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "thread-1",
            "client_metadata": {"thread_id": "thread-1"}, "stream": stream}


def chat_chunks(*, text: str = "", calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
                piece: int = 4, finish: str | None = None, usage: bool = True) -> list[str]:
    """The ``data`` of each SSE event an OpenAI-compatible server streams: text
    fragments of ``piece`` characters, then each ``(id, name, arguments)`` call
    with its arguments in fragments, the finish chunk, a usage chunk, ``[DONE]``."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "qwen"}

    def ch(delta: dict[str, Any], fin: str | None = None) -> str:
        return json.dumps(dict(base, choices=[{"index": 0, "delta": delta,
                                               "finish_reason": fin}]), ensure_ascii=False)

    out = [ch({"role": "assistant", "content": ""})]
    out += [ch({"content": text[i:i + piece]}) for i in range(0, len(text), piece)]
    for n, (cid, name, args) in enumerate(calls):
        out.append(ch({"tool_calls": [{"index": n, "id": cid, "type": "function",
                                       "function": {"name": name, "arguments": ""}}]}))
        out += [ch({"tool_calls": [{"index": n, "function": {"arguments": args[i:i + piece]}}]})
                for i in range(0, len(args), piece)]
    out.append(ch({}, finish or ("tool_calls" if calls else "stop")))
    if usage:
        out.append(json.dumps(dict(base, choices=[], usage={
            "prompt_tokens": 1200, "completion_tokens": 34, "total_tokens": 1234})))
    out.append("[DONE]")
    return out

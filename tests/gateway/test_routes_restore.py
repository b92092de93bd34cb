"""Redacted values come back to the agent after translation: in text and in
tool-call arguments, streamed (the placeholder split over many chunks, inside
JSON text) and whole, for Claude Code (Messages) and Codex (Responses) routed
to a Chat Completions upstream.  The upstream only ever sees placeholders."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gwsupport import FakeUpstream, make_config, sse_events, start_gateway

from stockade.config.model import Route

EMAIL = "ana.lima@customer.test"


def _body(client: str, stream: bool) -> tuple[str, dict[str, Any]]:
    text = f"write to {EMAIL}"
    if client == "anthropic":
        return "/v1/messages", {"model": "claude-opus-4-8", "max_tokens": 50, "stream": stream,
                                "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
                                "messages": [{"role": "user", "content": text}]}
    return "/v1/responses", {"model": "gpt-5-codex", "stream": stream, "input": text,
                             "tools": [{"type": "function", "name": "Bash",
                                        "parameters": {"type": "object"}}]}


def _arguments(client: str, stream: bool, out: bytes) -> dict[str, Any]:
    if not stream:
        body = json.loads(out)
        if client == "anthropic":
            return dict(next(b for b in body["content"] if b["type"] == "tool_use")["input"])
        return dict(json.loads(next(i for i in body["output"]
                                    if i["type"] == "function_call")["arguments"]))
    events = sse_events(out)
    if client == "anthropic":
        return dict(json.loads("".join(d["delta"].get("partial_json", "") for e, d in events
                                       if e == "content_block_delta")))
    deltas = "".join(d["delta"] for e, d in events
                     if e == "response.function_call_arguments.delta")
    done = next(d for e, d in events if e == "response.output_item.done"
                and d["item"]["type"] == "function_call")
    assert json.loads(done["item"]["arguments"]) == json.loads(deltas)  # both restored
    return dict(json.loads(deltas))


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("client", ["anthropic", "responses"])
def test_translate_restores_placeholders_in_tool_call_arguments(client: str,
                                                                stream: bool) -> None:
    with FakeUpstream() as vendor, FakeUpstream() as local:
        # the model repeats the placeholder it was given, in a tool call's JSON
        local.script = [{"tool_call": {"name": "Bash", "arguments": {"command": "mail $LAST"}}}]
        local.fragment = 3  # arguments in 3-character pieces: the placeholder is cut up
        g = start_gateway(make_config(anthropic=vendor.url, openai=vendor.url, local=local.url,
                                      routes=(Route(upstream="local"),)))
        try:
            path, body = _body(client, stream)
            st, _, out = g.request("POST", path, body, headers={"session-id": "s-restore"})
            assert st == 200, out
            assert _arguments(client, stream, out) == {"command": f"mail write to {EMAIL}"}
            (post,) = local.posts()
            assert EMAIL not in post["raw"].decode()
            assert "STOCKADE_REDACTED_PII" in post["raw"].decode()
        finally:
            g.stop()

"""Details of the Messages <-> Chat Completions mapping found in review: which
stop sequence ended an answer, a forced choice of a tool that was dropped, and
every stop sequence passed on."""

from __future__ import annotations

import json
from typing import Any

from stockade.translate.anthropic_chat import chat_to_message, messages_to_chat
from stockade.translate.anthropic_stream import ChatToAnthropicStream


def _req(**kw: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
            **kw}


def test_translate_the_stop_string_vllm_names_becomes_stop_sequence() -> None:
    body = {"choices": [{"message": {"content": "a"}, "finish_reason": "stop",
                         "stop_reason": "\n\nHuman:"}]}
    msg = chat_to_message(body, model="m")
    assert (msg["stop_reason"], msg["stop_sequence"]) == ("stop_sequence", "\n\nHuman:")
    # a token id (vLLM's stop_token_ids) or nothing: an ordinary end of turn
    for seq in (128009, None):
        body["choices"][0]["stop_reason"] = seq
        msg = chat_to_message(body, model="m")
        assert (msg["stop_reason"], msg["stop_sequence"]) == ("end_turn", None)
    tr = ChatToAnthropicStream(model="m", upstream="local")
    events = tr.feed(json.dumps({"choices": [{"delta": {"content": "a"}, "finish_reason": "stop",
                                              "stop_reason": "END"}]})) + tr.feed("[DONE]")
    delta = next(o for n, o in events if n == "message_delta")["delta"]
    assert delta == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_translate_forcing_a_dropped_server_tool_asks_for_any_tool() -> None:
    req = messages_to_chat(_req(
        tools=[{"type": "web_search_20250305", "name": "web_search"},
               {"name": "Bash", "input_schema": {"type": "object"}}],
        tool_choice={"type": "tool", "name": "web_search"}))
    # naming a function the server was not given is a 400 there
    assert [t["function"]["name"] for t in req["tools"]] == ["Bash"]
    assert req["tool_choice"] == "required"
    req = messages_to_chat(_req(tools=[{"name": "Bash", "input_schema": {"type": "object"}}],
                                tool_choice={"type": "tool", "name": "Bash"}))
    assert req["tool_choice"] == {"type": "function", "function": {"name": "Bash"}}


def test_translate_every_stop_sequence_is_passed_on() -> None:
    stops = [f"STOP{i}" for i in range(6)]
    assert messages_to_chat(_req(stop_sequences=stops))["stop"] == stops

"""A Chat Completions answer whose content is a list of parts (some servers
answer so) keeps its text in both translations: Codex got an empty
`completed` answer from the Responses one."""

from __future__ import annotations

from stockade.translate.anthropic_chat import chat_to_message
from stockade.translate.responses_chat import chat_to_response

ANSWER = {"id": "c1", "model": "m", "choices": [{"index": 0, "finish_reason": "stop", "message": {
    "role": "assistant", "content": [{"type": "text", "text": "Hello, "},
                                     {"type": "text", "text": "world"}]}}]}


def test_responses_keeps_the_text_of_parts() -> None:
    out = chat_to_response(ANSWER, model="m")
    texts = [c["text"] for item in out["output"] for c in item.get("content", [])
             if c.get("type") == "output_text"]
    assert texts == ["Hello, world"]


def test_messages_keeps_the_text_of_parts() -> None:
    out = chat_to_message(ANSWER, model="m")
    assert [b["text"] for b in out["content"] if b["type"] == "text"] == ["Hello, world"]

"""Helpers shared by the translators: defensive readers, ids, stop reasons."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

# (event name or None, JSON object) for one outgoing SSE event.
StreamOut = tuple[str | None, dict[str, Any]]


class TranslationError(ValueError):
    """A request the target API cannot express faithfully.  The message names the
    field, never a value."""


def as_dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def as_str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def as_int(x: Any) -> int:
    return x if isinstance(x, int) and not isinstance(x, bool) else 0


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def tool_id(x: Any, prefix: str) -> str:
    """An upstream's tool-call id as Anthropic accepts ids (``[A-Za-z0-9_-]+``): the
    conversation may go back to the vendor on a later turn with this id in it."""
    if isinstance(x, str) and x:
        return _ID_CHARS.sub("_", x)[:64]
    return new_id(prefix)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def parse_arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments as an object.  Small models do emit invalid JSON; it is
    handed over under ``_raw_arguments`` so the agent can report it back to the
    model instead of the answer being lost."""
    if not text.strip():
        return {}
    try:
        val = json.loads(text)
    except ValueError:
        return {"_raw_arguments": text}
    return val if isinstance(val, dict) else {"_value": val}


def split_surrogate(text: str) -> tuple[str, str]:
    """(text to send now, a trailing high surrogate to hold back).  A chunk may end
    in the first half of a ``\\ud83d\\ude00`` pair; sent alone it cannot be encoded."""
    if text and "\ud800" <= text[-1] <= "\udbff":
        return text[:-1], text[-1]
    return text, ""


def clean_text(text: str) -> str:
    """Surrogate halves decoded from two chunks are joined into one character; a
    lone one, which can never be completed, becomes U+FFFD."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def text_of_blocks(content: Any, *, sep: str = "\n") -> str:
    """The text of a string or of a list of ``{"type": "text"|"input_text"|..., "text"}``."""
    if isinstance(content, str):
        return content
    parts = [b["text"] for b in as_list(content)
             if isinstance(b, dict) and isinstance(b.get("text"), str)]
    return sep.join(parts)


# Chat Completions finish_reason -> Anthropic stop_reason.
CHAT_TO_ANTHROPIC_STOP = {
    "stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
    "function_call": "tool_use", "content_filter": "refusal",
}


def anthropic_stop(finish: str | None, *, saw_tool: bool) -> str:
    # Some servers (llama.cpp, Ollama) say "stop" after a tool call.
    if saw_tool and finish in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return CHAT_TO_ANTHROPIC_STOP.get(finish or "stop", "end_turn")


def json_schema_format(fmt: dict[str, Any]) -> dict[str, Any] | None:
    """An Anthropic ``output_config.format`` / Responses ``text.format`` -> a Chat
    Completions ``response_format`` (None: nothing to ask for)."""
    t = fmt.get("type")
    if t == "json_schema" and isinstance(fmt.get("schema"), dict):
        return {"type": "json_schema", "json_schema": {
            "name": as_str(fmt.get("name")) or "output", "schema": fmt["schema"],
            **({"strict": fmt["strict"]} if isinstance(fmt.get("strict"), bool) else {})}}
    if t == "json_object":
        return {"type": "json_object"}
    return None


def copy_sampling(src: dict[str, Any], dst: dict[str, Any]) -> None:
    for k in ("temperature", "top_p", "seed"):
        v = src.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            dst[k] = v

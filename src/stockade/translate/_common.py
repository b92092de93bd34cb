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


def tool_id(x: Any, prefix: str, taken: set[str] | None = None) -> str:
    """An upstream's tool-call id as Anthropic accepts ids (``[A-Za-z0-9_-]+``): the
    conversation may go back to the vendor on a later turn with this id in it.
    An id already used in the same answer (``taken``, updated here) gets a fresh
    one: two calls sharing an id would get their results mixed up."""
    tid = _ID_CHARS.sub("_", x)[:64] if isinstance(x, str) and x else new_id(prefix)
    if taken is not None:
        if tid in taken:
            tid = new_id(prefix)
        taken.add(tid)
    return tid


# The most text and tool-call arguments one translated answer may carry (characters);
# past it the stream ends with an error event: a broken or hostile upstream must not
# fill the gateway's memory (the Responses translator keeps the whole output).
MAX_ANSWER_CHARS = 32 * 1024 * 1024


def stream_error(obj: dict[str, Any]) -> str | None:
    """The message of an ``error`` object inside a stream chunk (None: no error;
    some servers send ``"error": null`` in every chunk)."""
    err = obj.get("error")
    if err is None or err is False or err == "" or err == {}:
        return None
    return as_str(as_dict(err).get("message")) or as_str(err) or "error"


def read_chunk(data: str) -> dict[str, Any] | str:
    """One Chat Completions stream chunk: the object, or why it cannot be
    relayed (the stream translators end the client's stream with that)."""
    try:
        obj = json.loads(data)
    except ValueError:
        return "sent a stream chunk that is not JSON"
    if not isinstance(obj, dict):
        return "sent a stream chunk that is not a JSON object"
    msg = stream_error(obj)
    return f"reported an error: {msg}" if msg is not None else obj


def first_choice(obj: dict[str, Any]) -> dict[str, Any]:
    """The first choice of a whole Chat Completions answer.  An answer without one
    (``choices`` missing or empty: a proxy's JSON, a server bug) is an error, not an
    empty reply the agent would take for the model's last word."""
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise TranslationError("answered without a choice (no Chat Completions answer)")
    return choices[0]


ORPHAN_RESULT = "[the result of a tool call that is not in this conversation]\n"
NO_RESULT = "[no result was recorded for this tool call]"


def pair_tool_messages(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions insists that each assistant ``tool_calls`` entry is answered
    by a ``tool`` message before the next other message, and that no ``tool``
    message answers nothing (vLLM's and llama.cpp's templates, OpenAI itself:
    a 400 otherwise).  A conversation carried over from another API need not keep
    that rule (a call item dropped, an interrupted turn, a message between a call
    and its output), so: a result answering no open call becomes user text, and a
    call left without a result gets a placeholder result."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []  # the last assistant message's calls still unanswered

    def close() -> None:
        out.extend({"role": "tool", "tool_call_id": t, "content": NO_RESULT} for t in pending)
        pending.clear()

    for m in msgs:
        if m.get("role") == "tool":
            tid = m.get("tool_call_id")
            if tid in pending:
                pending.remove(tid)
                out.append(m)
            else:
                content = m.get("content")
                out.append({"role": "user", "content": ORPHAN_RESULT + (
                    content if isinstance(content, str) else dumps(content))})
            continue
        close()
        if m.get("role") == "assistant":
            pending.extend(str(c.get("id")) for c in as_list(m.get("tool_calls"))
                           if isinstance(c, dict))
        out.append(m)
    close()
    return out


def answer_text(msg: dict[str, Any]) -> str:
    """A Chat Completions answer message's text: a string, or (some servers)
    a list of parts whose texts run together."""
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return text if isinstance(text, str) else ""


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

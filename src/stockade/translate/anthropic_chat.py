"""Anthropic Messages <-> OpenAI Chat Completions (requests and whole answers).

Request, Messages -> Chat:

* ``system`` (a string or text blocks) -> the first ``system`` message; a
  ``role: "system"`` message in the middle of ``messages`` stays a ``system``
  message where it is (Claude Code sends them).
* text blocks -> text; consecutive text blocks are joined, so a server that
  only takes string content gets a string; images (``base64`` or ``url``
  sources) -> ``image_url`` parts (a data URL for base64).
* ``tool_use`` blocks of an assistant turn -> that message's ``tool_calls``
  (``arguments`` is the input as JSON text); each ``tool_result`` -> a
  ``role: "tool"`` message right after it, before the rest of the user turn,
  as Chat Completions requires.  A result's images cannot go in a tool
  message: they follow in a user message.  ``is_error`` prefixes ``Error:``.
* ``tools`` (client tools with ``input_schema``) -> ``function`` tools;
  ``tool_choice`` auto/any/tool/none -> auto/required/function/none;
  ``disable_parallel_tool_use`` -> ``parallel_tool_calls: false``.
* ``max_tokens``, ``temperature``, ``top_p``, ``stop_sequences`` -> ``max_tokens``,
  ``temperature``, ``top_p``, ``stop``; ``output_config.format`` (a JSON schema,
  Claude Code's side calls) -> ``response_format``.
* Dropped on purpose (no Chat Completions equivalent): ``thinking`` and
  ``redacted_thinking`` blocks and the ``thinking`` setting, ``cache_control``,
  ``citations``, ``document`` blocks (replaced by a one-line note so the model
  knows something was there), server tools (``web_search_*`` and other typed
  tools without ``input_schema``), ``metadata``, ``context_management``,
  ``output_config.effort``, ``service_tier``, ``container``, ``mcp_servers``,
  ``top_k``.

Answer, Chat -> Messages: the first choice's text -> a text block, its
``tool_calls`` -> ``tool_use`` blocks (arguments parsed; invalid JSON is kept
under ``_raw_arguments``), ``finish_reason`` -> ``stop_reason``, usage
``prompt_tokens``/``completion_tokens`` -> ``input_tokens``/``output_tokens``.
An upstream error object becomes an Anthropic error object.
"""

from __future__ import annotations

from typing import Any

from stockade.translate._common import (
    TranslationError,
    answer_text,
    anthropic_stop,
    as_dict,
    as_int,
    as_list,
    as_str,
    copy_sampling,
    dumps,
    first_choice,
    json_schema_format,
    new_id,
    pair_tool_messages,
    parse_arguments,
    tool_id,
)

# Per-status Anthropic error types (what the SDKs switch on).
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 529: "overloaded_error"}
DOCUMENT_NOTE = "[a document was attached here; this model cannot read documents]"
IMAGE_NOTE = "[the tool result's image follows in the next message]"


def messages_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request body -> a Chat Completions request body."""
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        raise TranslationError("messages: expected a list")
    out: list[dict[str, Any]] = []
    system = _system_text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise TranslationError(f"messages[{i}]: expected an object")
        role = m.get("role")
        if role == "assistant":
            out.append(_assistant(m.get("content")))
        elif role == "user":
            out.extend(_user(m.get("content")))
        elif role == "system":
            text = _system_text(m.get("content"))
            if text:
                out.append({"role": "system", "content": text})
        else:
            raise TranslationError(f"messages[{i}].role: unknown role")
    req: dict[str, Any] = {"model": body.get("model"), "messages": pair_tool_messages(out)}
    tools = [_tool(t) for t in as_list(body.get("tools")) if _is_client_tool(t)]
    if tools:
        req["tools"] = tools
        choice, parallel = _tool_choice(as_dict(body.get("tool_choice")))
        if isinstance(choice, dict) and choice["function"]["name"] not in {
                t["function"]["name"] for t in tools}:
            choice = "required"  # the named tool was a server tool, dropped here
        if choice is not None:
            req["tool_choice"] = choice
        if parallel is not None:
            req["parallel_tool_calls"] = parallel
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        req["max_tokens"] = max_tokens
    copy_sampling(body, req)
    stops = [s for s in as_list(body.get("stop_sequences")) if isinstance(s, str)]
    if stops:
        req["stop"] = stops
    fmt = json_schema_format(as_dict(as_dict(body.get("output_config")).get("format")))
    if fmt is not None:
        req["response_format"] = fmt
    if body.get("stream") is True:
        req["stream"] = True
        req["stream_options"] = {"include_usage": True}
    return req


def _system_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] for b in as_list(content)
                     if isinstance(b, dict) and isinstance(b.get("text"), str))


def _image_part(block: dict[str, Any]) -> dict[str, Any] | None:
    src = as_dict(block.get("source"))
    if src.get("type") == "base64" and isinstance(src.get("data"), str):
        media = as_str(src.get("media_type")) or "image/png"
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{src['data']}"}}
    if src.get("type") == "url" and isinstance(src.get("url"), str):
        return {"type": "image_url", "image_url": {"url": src["url"]}}
    return None


def _parts(blocks: list[Any]) -> list[dict[str, Any]]:
    """Text / image blocks -> Chat content parts; adjacent texts are merged."""
    parts: list[dict[str, Any]] = []
    for b in blocks:
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        text: str | None = None
        if t == "text" and isinstance(b.get("text"), str):
            text = b["text"]
        elif t == "image":
            img = _image_part(b)
            if img is not None:
                parts.append(img)
        elif t == "document":
            text = DOCUMENT_NOTE
        if text is not None:
            if parts and parts[-1]["type"] == "text":
                parts[-1]["text"] += "\n" + text
            else:
                parts.append({"type": "text", "text": text})
    return parts


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A string when there is only text (every server takes that)."""
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _user(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    rest: list[Any] = []
    late_images: list[dict[str, Any]] = []
    for b in as_list(content):
        if isinstance(b, dict) and b.get("type") == "tool_result":
            text, images = _tool_result(b)
            out.append({"role": "tool", "tool_call_id": as_str(b.get("tool_use_id")) or "",
                        "content": text})
            late_images.extend(images)
        else:
            rest.append(b)
    parts = late_images + _parts(rest)
    if parts:
        out.append({"role": "user", "content": _content(parts)})
    return out


def _tool_result(block: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    content = block.get("content")
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        text = content
    else:
        texts = []
        for b in as_list(content):
            if not isinstance(b, dict):
                continue
            if isinstance(b.get("text"), str):
                texts.append(b["text"])
            elif b.get("type") == "image":
                img = _image_part(b)
                if img is not None:
                    images.append(img)
                    texts.append(IMAGE_NOTE)
            elif b.get("type") == "document":
                texts.append(DOCUMENT_NOTE)
        text = "\n".join(texts)
    if block.get("is_error") is True:
        text = "Error: " + text
    return text, images


def _assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for b in as_list(content):
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        if t == "text" and isinstance(b.get("text"), str):
            texts.append(b["text"])
        elif t in ("tool_use", "server_tool_use"):
            calls.append({"id": as_str(b.get("id")) or new_id("call_"), "type": "function",
                          "function": {"name": as_str(b.get("name")) or "",
                                       "arguments": dumps(b.get("input", {}))}})
        # thinking / redacted_thinking / *_tool_result of server tools: dropped
    # "" rather than null beside tool_calls: llama-cpp-python's server refuses null
    msg: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts)}
    if calls:
        msg["tool_calls"] = calls
    return msg


def _is_client_tool(t: Any) -> bool:
    return isinstance(t, dict) and isinstance(t.get("name"), str) and (
        "input_schema" in t or t.get("type") in (None, "custom"))


def _tool(t: dict[str, Any]) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": t["name"],
                          "parameters": t.get("input_schema") or {"type": "object",
                                                                  "properties": {}}}
    if isinstance(t.get("description"), str):
        fn["description"] = t["description"]
    return {"type": "function", "function": fn}


def _tool_choice(tc: dict[str, Any]) -> tuple[Any, bool | None]:
    parallel = False if tc.get("disable_parallel_tool_use") is True else None
    t = tc.get("type")
    if t == "any":
        return "required", parallel
    if t == "tool" and isinstance(tc.get("name"), str):
        return {"type": "function", "function": {"name": tc["name"]}}, parallel
    if t == "none":
        return "none", None
    if t == "auto":
        return "auto", parallel
    return None, parallel


# -- answers -------------------------------------------------------------------------


def chat_to_message(body: Any, *, model: str | None) -> dict[str, Any]:
    """A Chat Completions answer -> an Anthropic Messages answer."""
    obj = as_dict(body)
    choice = first_choice(obj)
    msg = as_dict(choice.get("message"))
    blocks: list[dict[str, Any]] = []
    text = answer_text(msg)
    if text:
        blocks.append({"type": "text", "text": text})
    calls = [c for c in as_list(msg.get("tool_calls")) if isinstance(c, dict)]
    ids: set[str] = set()
    for c in calls:
        fn = as_dict(c.get("function"))
        blocks.append({"type": "tool_use", "id": tool_id(c.get("id"), "toolu_", ids),
                       "name": as_str(fn.get("name")) or "",
                       "input": parse_arguments(as_str(fn.get("arguments")) or "")})
    usage = as_dict(obj.get("usage"))
    return {
        "id": "msg_" + (as_str(obj.get("id")) or new_id("")),
        "type": "message", "role": "assistant",
        "model": model or as_str(obj.get("model")) or "",
        "content": blocks,
        **stop_fields(choice, saw_tool=bool(calls)),
        "usage": anthropic_usage(usage),
    }


def stop_fields(choice: dict[str, Any], *, saw_tool: bool) -> dict[str, Any]:
    """``stop_reason`` and ``stop_sequence`` of a choice.  vLLM and SGLang name the
    stop string that ended the answer in a choice's ``stop_reason`` (a token id
    there is not a stop sequence); Anthropic clients expect ``stop_sequence``."""
    finish = as_str(choice.get("finish_reason"))
    seq = choice.get("stop_reason")
    if finish == "stop" and not saw_tool and isinstance(seq, str) and seq:
        return {"stop_reason": "stop_sequence", "stop_sequence": seq}
    return {"stop_reason": anthropic_stop(finish, saw_tool=saw_tool), "stop_sequence": None}


def anthropic_usage(usage: dict[str, Any]) -> dict[str, Any]:
    cached = as_int(as_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
    return {"input_tokens": as_int(usage.get("prompt_tokens")) - cached,
            "output_tokens": as_int(usage.get("completion_tokens")),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


def error_to_anthropic(status: int, body: Any, *, upstream: str) -> dict[str, Any]:
    """An OpenAI-style (or unknown) error body -> an Anthropic error body naming
    the upstream, so the user sees where it came from."""
    err = as_dict(as_dict(body).get("error"))
    detail = as_str(err.get("message")) or as_str(as_dict(body).get("detail")) \
        or as_str(as_dict(body).get("message")) or f"HTTP {status}"
    etype = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": etype,
                                       "message": f"upstream {upstream!r}: {detail}"}}


def estimate_tokens(body: dict[str, Any]) -> int:
    """``count_tokens`` for an upstream that has no such endpoint: an estimate
    (one token per 4 bytes of the translated prompt's JSON), documented as such.
    Claude Code uses it to decide when to compact; over-counting is the safe side."""
    req = messages_to_chat(body)
    size = len(dumps(req.get("messages", [])).encode("utf-8")) + len(
        dumps(req.get("tools", [])).encode("utf-8"))
    return max(1, (size + 3) // 4)

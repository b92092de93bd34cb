"""OpenAI Responses (Codex) <-> Chat Completions (requests and whole answers).

Request, Responses -> Chat:

* ``instructions`` -> the first ``system`` message; ``input`` as a string -> one
  user message; ``message`` items with role ``developer``/``system`` -> ``system``,
  ``user`` -> ``user``, ``assistant`` -> ``assistant`` (``input_text`` /
  ``output_text`` parts -> text, ``input_image`` -> ``image_url``).
* ``function_call`` items -> ``tool_calls`` of an assistant message (merged with
  the assistant text right before them); ``function_call_output`` -> a ``tool``
  message.  ``custom_tool_call`` (free-form tools) -> a function call whose
  arguments are ``{"input": ...}``, its output -> a ``tool`` message.
* ``tools`` of type ``function`` -> Chat ``function`` tools; ``tool_choice``,
  ``parallel_tool_calls``, ``max_output_tokens`` (-> ``max_tokens``),
  ``temperature``, ``top_p`` and ``text.format`` (-> ``response_format``) carry over.
* Dropped on purpose: ``reasoning`` items and settings (encrypted reasoning
  only the vendor can read), ``include``, ``store``, ``prompt_cache_key``,
  ``client_metadata``, ``truncation``, built-in tools (``web_search``,
  ``local_shell``, ``custom`` free-form tools, ``file_search`` ...) and their
  call items.  ``previous_response_id`` cannot be honoured (the conversation
  lives at the vendor): such a request is refused.

Answer, Chat -> Responses: the first choice's text -> a ``message`` output
item, each tool call -> a ``function_call`` item; ``finish_reason: "length"``
-> ``status: "incomplete"``; usage carried over.
"""

from __future__ import annotations

import time
from typing import Any

from stockade.translate._common import (
    TranslationError,
    answer_text,
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
    tool_id,
)

_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}


def responses_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses request body -> a Chat Completions request body."""
    if body.get("previous_response_id") not in (None, ""):
        raise TranslationError("previous_response_id: a self-hosted upstream has no stored "
                               "conversation; send the whole input (Codex: store = false)")
    out: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        out.append({"role": "user", "content": items})
    elif isinstance(items, list):
        for i, it in enumerate(items):
            if not isinstance(it, dict):
                raise TranslationError(f"input[{i}]: expected an object")
            _item(it, out)
    elif items is not None:
        raise TranslationError("input: expected a string or a list")
    req: dict[str, Any] = {"model": body.get("model"), "messages": pair_tool_messages(out)}
    tools = [_tool(t) for t in as_list(body.get("tools"))
             if isinstance(t, dict) and t.get("type") == "function"
             and isinstance(t.get("name"), str)]
    if tools:
        req["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            req["tool_choice"] = choice
        if isinstance(body.get("parallel_tool_calls"), bool):
            req["parallel_tool_calls"] = body["parallel_tool_calls"]
    mot = body.get("max_output_tokens")
    if isinstance(mot, int) and not isinstance(mot, bool):
        req["max_tokens"] = mot
    copy_sampling(body, req)
    fmt = json_schema_format(as_dict(as_dict(body.get("text")).get("format")))
    if fmt is not None:
        req["response_format"] = fmt
    if body.get("stream") is True:
        req["stream"] = True
        req["stream_options"] = {"include_usage": True}
    return req


def _text_parts(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for p in as_list(content):
        if not isinstance(p, dict):
            continue
        t = p.get("type")
        if t in ("input_text", "output_text", "text") and isinstance(p.get("text"), str):
            if parts and parts[-1]["type"] == "text":
                parts[-1]["text"] += "\n" + p["text"]
            else:
                parts.append({"type": "text", "text": p["text"]})
        elif t == "refusal" and isinstance(p.get("refusal"), str):
            parts.append({"type": "text", "text": p["refusal"]})
        elif t == "input_image":
            url = p.get("image_url")
            if isinstance(url, str):
                parts.append({"type": "image_url", "image_url": {"url": url}})
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _last_assistant(out: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant message tool calls attach to (a new one unless the last
    message is an assistant turn)."""
    if out and out[-1]["role"] == "assistant":
        return out[-1]
    msg: dict[str, Any] = {"role": "assistant", "content": ""}  # not null: see anthropic_chat
    out.append(msg)
    return msg


def _item(it: dict[str, Any], out: list[dict[str, Any]]) -> None:
    t = it.get("type", "message")
    if t == "message":
        role = _ROLES.get(as_str(it.get("role")) or "")
        if role is None:
            raise TranslationError("input[].role: unknown role")
        content = _text_parts(it.get("content"))
        if role == "system" and not isinstance(content, str):
            content = "\n".join(p.get("text", "") for p in content)
        out.append({"role": role, "content": content})
    elif t in ("function_call", "custom_tool_call", "local_shell_call"):
        msg = _last_assistant(out)
        if t == "function_call":
            name, args = as_str(it.get("name")) or "", as_str(it.get("arguments")) or "{}"
        elif t == "custom_tool_call":
            name, args = as_str(it.get("name")) or "", dumps({"input": it.get("input", "")})
        else:  # the built-in shell of codex-mini: its action is the call's arguments
            name, args = "local_shell", dumps(as_dict(it.get("action")))
        msg.setdefault("tool_calls", []).append({
            "id": as_str(it.get("call_id")) or as_str(it.get("id")) or new_id("call_"),
            "type": "function", "function": {"name": name, "arguments": args}})
    elif t in ("function_call_output", "custom_tool_call_output"):
        output = it.get("output")
        text = output if isinstance(output, str) else _flat(output)
        out.append({"role": "tool", "tool_call_id": as_str(it.get("call_id")) or "",
                    "content": text})
    # reasoning, web_search_call, local_shell_call ...: dropped (see the docstring)


def _flat(content: Any) -> str:
    parts = _text_parts(content)
    if isinstance(parts, str):
        return parts
    return "\n".join(p["text"] for p in parts if p["type"] == "text")


def _tool(t: dict[str, Any]) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": t["name"],
                          "parameters": t.get("parameters") or {"type": "object",
                                                                "properties": {}}}
    if isinstance(t.get("description"), str):
        fn["description"] = t["description"]
    if isinstance(t.get("strict"), bool):
        fn["strict"] = t["strict"]
    return {"type": "function", "function": fn}


def _tool_choice(tc: Any) -> Any:
    if tc in ("auto", "none", "required"):
        return tc
    d = as_dict(tc)
    if d.get("type") == "function" and isinstance(d.get("name"), str):
        return {"type": "function", "function": {"name": d["name"]}}
    return None


# -- answers -------------------------------------------------------------------------


def responses_usage(usage: dict[str, Any]) -> dict[str, Any]:
    inp, outp = as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))
    return {"input_tokens": inp,
            "input_tokens_details": {"cached_tokens": as_int(as_dict(
                usage.get("prompt_tokens_details")).get("cached_tokens"))},
            "output_tokens": outp, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": as_int(usage.get("total_tokens")) or inp + outp}


def response_envelope(*, rid: str, model: str, status: str, output: list[dict[str, Any]],
                      usage: dict[str, Any] | None, created: int | None = None,
                      finish: str | None = None) -> dict[str, Any]:
    env: dict[str, Any] = {"id": rid, "object": "response",
                           "created_at": created or int(time.time()), "status": status,
                           "model": model, "output": output, "usage": usage,
                           "error": None, "incomplete_details": None}
    if status == "incomplete":
        env["incomplete_details"] = {"reason": _INCOMPLETE.get(finish or "",
                                                               "max_output_tokens")}
    return env


def chat_to_response(body: Any, *, model: str | None) -> dict[str, Any]:
    """A Chat Completions answer -> a Responses answer."""
    obj = as_dict(body)
    choice = first_choice(obj)
    msg = as_dict(choice.get("message"))
    output: list[dict[str, Any]] = []
    text = answer_text(msg)
    if text:
        output.append(message_item(new_id("msg_"), text))
    ids: set[str] = set()
    for c in as_list(msg.get("tool_calls")):
        if isinstance(c, dict):
            fn = as_dict(c.get("function"))
            args = fn.get("arguments")
            output.append(call_item(
                new_id("fc_"), call_id=tool_id(c.get("id"), "call_", ids),
                name=as_str(fn.get("name")) or "",
                arguments=args if isinstance(args, str) else dumps(args or {})))
    finish = as_str(choice.get("finish_reason"))
    return response_envelope(rid="resp_" + (as_str(obj.get("id")) or new_id("")),
                             model=model or as_str(obj.get("model")) or "",
                             status=responses_status(finish), finish=finish,
                             output=output, usage=responses_usage(as_dict(obj.get("usage"))))


def responses_status(finish: str | None) -> str:
    """``finish_reason`` -> a Responses status: cut by the token limit or by a
    content filter is ``incomplete`` (with the reason), anything else completed."""
    return "incomplete" if finish in _INCOMPLETE else "completed"


_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def message_item(item_id: str, text: str, *, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": status,
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call_item(item_id: str, *, call_id: str, name: str, arguments: str,
              status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}


def error_to_responses(status: int, body: Any, *, upstream: str) -> dict[str, Any]:
    err = as_dict(as_dict(body).get("error"))
    detail = as_str(err.get("message")) or as_str(as_dict(body).get("detail")) \
        or as_str(as_dict(body).get("message")) or f"HTTP {status}"
    etype = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": f"upstream {upstream!r}: {detail}", "type": etype,
                      "param": None, "code": as_str(err.get("code")) or etype}}

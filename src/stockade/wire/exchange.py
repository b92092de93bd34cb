"""Request bodies of the three model APIs -> an :class:`Exchange` of text segments.

A segment is one JSON string leaf that can carry user or file content: system
prompts, tool definitions, every message, tool-call inputs and tool results.
Its ``path`` is the key path from the body's root, so a finding can be
reported as ``$.messages[3].content[0].content`` (never with its value) and a
redaction can be written back to exactly that leaf.

Protocols (the API the *client* speaks):

* ``anthropic``  Anthropic Messages (``/v1/messages``, ``/v1/messages/count_tokens``)
* ``chat``       OpenAI Chat Completions (``/v1/chat/completions``)
* ``responses``  OpenAI Responses (``/v1/responses``)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Protocol = Literal["anthropic", "chat", "responses"]
PROTOCOLS: tuple[Protocol, ...] = ("anthropic", "chat", "responses")

PathKey = str | int
Path = tuple[PathKey, ...]

# Keys whose string values are identifiers, enums or opaque blobs, not content.
_SKIP_KEYS = frozenset({
    "type", "role", "id", "tool_use_id", "call_id", "signature", "encrypted_content",
    "media_type", "cache_control", "status", "index", "model", "detail", "format",
})
# Top-level keys that hold content, per protocol.
_CONTENT_KEYS: dict[str, tuple[str, ...]] = {
    "anthropic": ("system", "tools", "messages"),
    "chat": ("messages", "tools", "functions"),
    "responses": ("instructions", "input", "tools"),
}

SegmentKind = Literal[
    "system", "tool_definition", "message", "tool_call_input", "tool_result"
]


class WireError(ValueError):
    """The body is not a request of the expected shape.  The message names the
    problem and the path, never a value."""


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path
    text: str
    kind: SegmentKind

    @property
    def location(self) -> str:
        return path_str(self.path)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One parsed request: what was asked of which model, and every text in it."""

    protocol: Protocol
    model: str | None
    stream: bool
    segments: tuple[Segment, ...]
    body: dict[str, Any]

    def texts(self) -> Iterator[tuple[str, str]]:
        for seg in self.segments:
            yield seg.location, seg.text


def path_str(path: Path) -> str:
    out = ["$"]
    for k in path:
        out.append(f"[{k}]" if isinstance(k, int) else f".{k}")
    return "".join(out)


def parse_request(protocol: Protocol, raw: bytes) -> Exchange:
    """Decode and index one request body.  Raises :class:`WireError` for
    invalid UTF-8, invalid JSON or a body that is not a JSON object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        body = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise WireError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(body, dict):
        raise WireError("request body must be a JSON object")
    return index_body(protocol, body)


def index_body(protocol: Protocol, body: dict[str, Any]) -> Exchange:
    model = body.get("model")
    segments: list[Segment] = []
    for key in _CONTENT_KEYS[protocol]:
        if key in body:
            top: SegmentKind | None = (
                "system" if key in ("system", "instructions")
                else "tool_definition" if key in ("tools", "functions") else None)
            _walk(body[key], (key,), top, "message", segments)
    return Exchange(
        protocol=protocol,
        model=model if isinstance(model, str) else None,
        stream=body.get("stream") is True,
        segments=tuple(segments),
        body=body,
    )


_CALL_TYPES = frozenset({"tool_use", "function_call", "custom_tool_call", "local_shell_call"})
_RESULT_TYPES = frozenset({"tool_result", "function_call_output", "custom_tool_call_output",
                           "local_shell_call_output"})


def _walk(node: Any, path: Path, fixed: SegmentKind | None, kind: SegmentKind,
          out: list[Segment]) -> None:
    """Collect string leaves.  ``fixed`` is the kind of a whole top-level section
    (system, tools); inside messages the kind follows the nearest role/type."""
    if isinstance(node, str):
        if node and not node.startswith("data:"):
            out.append(Segment(path, node, fixed or kind))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, (*path, i), fixed, kind, out)
    elif isinstance(node, dict):
        if fixed is None:
            role = node.get("role")
            typ = node.get("type")
            if role == "tool" or typ in _RESULT_TYPES:
                kind = "tool_result"
            elif typ in _CALL_TYPES or "tool_calls" in path[-1:]:
                kind = "tool_call_input"
            elif role in ("system", "developer") and kind == "message":
                kind = "system"
        base64_source = node.get("type") == "base64"
        for k, v in node.items():
            if k in _SKIP_KEYS or (base64_source and k == "data"):
                continue
            _walk(v, (*path, k), fixed,
                  "tool_call_input" if k == "tool_calls" and fixed is None else kind, out)


def apply_replacements(body: dict[str, Any], replacements: Mapping[Path, str]) -> dict[str, Any]:
    """Write new text into the given leaves (in place) and return ``body``."""
    for path, text in replacements.items():
        node: Any = body
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = text
    return body


def dump_body(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- errors in each API's own shape -------------------------------------------------------

_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
    429: "rate_limit_error", 529: "overloaded_error",
}
_OPENAI_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied",
    404: "not_found", 405: "invalid_request_error", 413: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def error_body(protocol: Protocol, *, status: int, message: str, code: str | None = None) -> bytes:
    """A JSON error the client's SDK parses and shows (``message`` verbatim)."""
    if protocol == "anthropic":
        etype = _ANTHROPIC_TYPES.get(status, "api_error")
        obj: dict[str, Any] = {"type": "error", "error": {"type": etype, "message": message}}
    else:
        etype = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        obj = {"error": {"message": message, "type": etype, "param": None, "code": code or etype}}
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def protocol_for_path(path: str) -> Protocol | None:
    """Which API a request path belongs to (query string already removed)."""
    if path in ("/v1/messages", "/v1/messages/count_tokens"):
        return "anthropic"
    if path == "/v1/chat/completions":
        return "chat"
    if path == "/v1/responses":
        return "responses"
    return None

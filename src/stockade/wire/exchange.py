"""Request bodies of the three model APIs -> an :class:`Exchange` of text segments.

Everything the vendor will receive is inspectable, so everything is a segment:
every JSON string in the body (at any depth, under any key, top-level request
options included), every object key that is not a fixed protocol or JSON
Schema name, and every large integer.  The only parts left out are whole
image/audio payloads (a base64 data URL, or a ``{"type": "base64"}`` source
holding an image or a PDF); they are counted in :attr:`Exchange.uninspected`
so the ledger says what was not looked at.  Text and JSON data URLs are
decoded and their text is a segment.

A segment's ``path`` is the key path from the body's root, so a finding can be
reported as ``$.messages[3].content[0].content`` (never with its value) and a
redaction can be written back to exactly that leaf.  Only ``part == "text"``
segments can be redacted in place; a finding in a key, a decoded data URL or
a number cannot be rewritten safely and the gateway blocks instead.

Bodies the gateway could not forward faithfully are refused with a
:class:`WireError`: invalid UTF-8 or JSON, a duplicated object key (Python
keeps the last value, an upstream parser may keep the first, and the gateway
forwards the client's bytes), or nesting deeper than :data:`MAX_DEPTH`.

Protocols (the API the *client* speaks):

* ``anthropic``  Anthropic Messages (``/v1/messages``, ``/v1/messages/count_tokens``)
* ``chat``       OpenAI Chat Completions (``/v1/chat/completions``)
* ``responses``  OpenAI Responses (``/v1/responses``)
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote, unquote_to_bytes

Protocol = Literal["anthropic", "chat", "responses"]
PROTOCOLS: tuple[Protocol, ...] = ("anthropic", "chat", "responses")

PathKey = str | int
Path = tuple[PathKey, ...]

SegmentKind = Literal[
    "system", "tool_definition", "message", "tool_call_input", "tool_result", "request_field"
]
# text: a JSON string, rewritable in place.  key: an object key.  decoded: the text of
# a data URL or base64 source.  number: a large integer.  Only "text" can be redacted.
Part = Literal["text", "key", "decoded", "number"]

MAX_DEPTH = 256  # JSON nesting; real requests stay under 30
_MIN_NUMBER_DIGITS = 7  # shorter integers cannot hold a card, account or phone number
_MAX_DATA_URL_NESTING = 3

# Top-level sections and the kind of segment they hold (None: from role / type).
_SECTIONS: dict[str, dict[str, SegmentKind | None]] = {
    "anthropic": {"system": "system", "tools": "tool_definition", "messages": None},
    "chat": {"messages": None, "tools": "tool_definition", "functions": "tool_definition"},
    "responses": {"instructions": "system", "input": None, "tools": "tool_definition"},
}
# Top-level settings whose number / bool / null value carries no content.  With any
# other value (a string, an object) they are walked like every other field.
_SCALAR_SETTINGS = frozenset({
    "stream", "max_tokens", "max_completion_tokens", "max_output_tokens", "temperature",
    "top_p", "top_k", "n", "seed", "presence_penalty", "frequency_penalty", "logprobs",
    "top_logprobs", "parallel_tool_calls", "store", "background", "max_tool_calls",
})
# Object keys that are fixed names of the three APIs or of JSON Schema: constants, so
# not worth a scan.  Every other key (tool-input fields, schema property names,
# metadata keys ...) is a segment.
_PROTOCOL_KEYS = frozenset({
    # Anthropic Messages
    "model", "messages", "system", "tools", "tool_choice", "role", "content", "type", "text",
    "id", "name", "input", "tool_use_id", "is_error", "cache_control", "ttl", "source",
    "media_type", "data", "url", "title", "context", "citations", "thinking", "signature",
    "budget_tokens", "metadata", "user_id", "description", "input_schema", "stop_sequences",
    "context_management", "edits", "output_config", "effort", "format", "container",
    "service_tier", "mcp_servers", "output_format", "disable_parallel_tool_use", "file_id",
    # OpenAI Chat Completions and Responses
    "tool_calls", "function", "arguments", "tool_call_id", "functions", "parameters", "strict",
    "image_url", "detail", "input_audio", "file", "file_data", "filename", "refusal", "audio",
    "response_format", "json_schema", "schema", "user", "stop", "logit_bias", "stream_options",
    "include_usage", "reasoning_effort", "prediction", "modalities", "instructions", "output",
    "call_id", "status", "encrypted_content", "summary", "reasoning", "include",
    "previous_response_id", "prompt_cache_key", "client_metadata", "truncation", "verbosity",
    "prompt", "variables", "version", "annotations", "action", "conversation",
    *_SCALAR_SETTINGS,
    # JSON Schema
    "$schema", "$ref", "$defs", "$id", "$comment", "definitions", "properties", "required",
    "items", "enum", "const", "default", "examples", "additionalProperties", "anyOf", "oneOf",
    "allOf", "not", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
    "propertyNames", "patternProperties", "nullable", "if", "then", "else",
})
# Subtrees whose shape the client (or the model) chooses: a {"type": "base64"} object
# in them is data like any other, never an image to skip.
_FREE_FORM_KEYS = frozenset({"input", "arguments", "input_schema", "parameters", "schema",
                             "properties", "variables", "metadata", "client_metadata"})

_OPAQUE_DATA_URL = re.compile(r"data:(image|audio)/([\w.+-]+);base64,[A-Za-z0-9+/=]*", re.ASCII)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*", re.ASCII)


class WireError(ValueError):
    """The body is not a request of the expected shape.  The message names the
    problem and the path, never a value or a free-form key."""


class Segment(NamedTuple):
    """Immutable like the other records; a NamedTuple because a Claude Code turn
    has ~500 of them and a frozen dataclass costs a microsecond each to build."""

    path: Path
    text: str
    kind: SegmentKind
    part: Part = "text"

    @property
    def location(self) -> str:
        """The path with every key shown: not for a ledger or a user when a key may hold
        a finding (the gateway renders locations with :meth:`Exchange.key_masks`)."""
        return path_str(self.path)

    @property
    def rewritable(self) -> bool:
        return self.part == "text"


# Builds a Segment from a full 4-tuple in C (the NamedTuple constructor is Python code).
_segment = tuple.__new__


@dataclass(frozen=True, slots=True)
class Exchange:
    """One parsed request: what was asked of which model, and every text in it."""

    protocol: Protocol
    model: str | None
    stream: bool
    segments: tuple[Segment, ...]
    body: dict[str, Any]
    uninspected: tuple[str, ...] = ()  # media types of the parts left out, one per part

    def key_masks(self, key_paths: Iterable[Path]) -> dict[Path, str]:
        """``<key#N>`` (N: the key's position in its object) for each key path given,
        to render locations without the key's text."""
        masks: dict[Path, str] = {}
        for path in key_paths:
            parent: Any = self.body
            for k in path[:-1]:
                parent = parent[k]
            masks[path] = f"<key#{list(parent).index(path[-1])}>"
        return masks


def path_str(path: Path, masks: Mapping[Path, str] | None = None) -> str:
    """``$.messages[3].content``.  Keys in ``masks`` are shown by their mask; keys
    that are not plain identifiers are quoted."""
    out = ["$"]
    for i, k in enumerate(path):
        if isinstance(k, int):
            out.append(f"[{k}]")
        elif masks and path[: i + 1] in masks:
            out.append("." + masks[path[: i + 1]])
        elif _IDENTIFIER.fullmatch(k):
            out.append(f".{k}")
        else:
            out.append(f"[{json.dumps(k)}]")
    return "".join(out)


def safe_path_str(path: Path) -> str:
    """A location for error messages about bodies that were not scanned: only
    protocol key names are shown, any other key is ``<key>``."""
    out = ["$"]
    for k in path:
        if isinstance(k, int):
            out.append(f"[{k}]")
        else:
            out.append(f".{k}" if k in _PROTOCOL_KEYS else ".<key>")
    return "".join(out)


# -- parsing ------------------------------------------------------------------------------

class _Duplicate(Exception):
    pass


class _DupDict(dict[str, Any]):
    """Marks, on the error path only, the object that repeated a key."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Duplicate
    return d


def _marking_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    return _DupDict(d) if len(d) != len(pairs) else d


def _find_marked(node: Any) -> Path | None:
    stack: list[tuple[Any, Path]] = [(node, ())]
    while stack:
        n, path = stack.pop()
        if isinstance(n, _DupDict):
            return path
        if isinstance(n, dict):
            stack.extend((v, (*path, k)) for k, v in reversed(list(n.items())))
        elif isinstance(n, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(n))))
    return None


def parse_request(protocol: Protocol, raw: bytes) -> Exchange:
    """Decode and index one request body.  Raises :class:`WireError` for invalid
    UTF-8, invalid JSON, a duplicated key, too deep nesting or a body that is not
    a JSON object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return index_body(protocol, {})
    try:
        body = json.loads(text, object_pairs_hook=_unique_pairs)
    except _Duplicate:
        try:
            where = _find_marked(json.loads(text, object_pairs_hook=_marking_pairs))
        except (ValueError, RecursionError):  # broken further on: name no place
            where = None
        raise WireError(f"duplicate key at {safe_path_str(where or ())}: an object may name "
                        "each key once") from None
    except json.JSONDecodeError as exc:
        raise WireError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise WireError(f"request body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # e.g. an integer over Python's 4300-digit conversion limit
        raise WireError("request body is not valid JSON: a number is too long") from None
    if not isinstance(body, dict):
        raise WireError("request body must be a JSON object")
    return index_body(protocol, body)


def index_body(protocol: Protocol, body: dict[str, Any]) -> Exchange:
    if protocol not in _SECTIONS:
        raise WireError(f"unknown protocol {protocol!r}")
    sections = _SECTIONS[protocol]
    w = _Walker()
    for key, value in body.items():
        if key not in _PROTOCOL_KEYS:
            w.segments.append(Segment((key,), key, "request_field", "key"))
        if key in _SCALAR_SETTINGS and (value is None or isinstance(value, (bool, int, float))):
            continue
        if key in sections:
            fixed = sections[key]
            w.walk(value, (key,), fixed, "message", free=False, depth=1)
        else:
            w.walk(value, (key,), "request_field", "request_field",
                   free=key in _FREE_FORM_KEYS, depth=1)
    model = body.get("model")
    return Exchange(
        protocol=protocol,
        model=model if isinstance(model, str) else None,
        stream=body.get("stream") is True,
        segments=tuple(w.segments),
        body=body,
        uninspected=tuple(w.uninspected),
    )


_CALL_TYPES = frozenset({"tool_use", "function_call", "custom_tool_call", "local_shell_call",
                         "server_tool_use", "mcp_tool_use"})
_RESULT_TYPES = frozenset({"tool_result", "function_call_output", "custom_tool_call_output",
                           "local_shell_call_output", "mcp_tool_result"})


class _Walker:
    __slots__ = ("segments", "uninspected")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.uninspected: list[str] = []

    def walk(self, node: Any, path: Path, fixed: SegmentKind | None, kind: SegmentKind, *,
             free: bool, depth: int) -> None:
        """Collect segments.  ``fixed`` is the kind of a whole section (system, tools,
        request fields); inside messages the kind follows the nearest role/type.
        ``free``: inside client-shaped data, where no shape means "binary"."""
        if not isinstance(node, (dict, list)):
            if isinstance(node, str):
                if node:
                    self.string(node, path, fixed or kind, "text", 0)
            elif isinstance(node, (int, float)) and not isinstance(node, bool):
                self.number(node, path, fixed or kind)
            return
        if depth > MAX_DEPTH:
            raise WireError(f"request body nests deeper than {MAX_DEPTH} levels")
        segments = self.segments
        if isinstance(node, list):
            here: SegmentKind = fixed or kind
            for i, item in enumerate(node):
                if type(item) is str:  # the common leaf, without a call
                    if item and item[:5].lower() != "data:":
                        segments.append(_segment(Segment, ((*path, i), item, here, "text")))
                    elif item:
                        self.string(item, (*path, i), here, "text", 0)
                else:
                    self.walk(item, (*path, i), fixed, kind, free=free, depth=depth + 1)
            return
        if fixed is None:
            role = node.get("role")
            typ = node.get("type")
            if role == "tool" or typ in _RESULT_TYPES:
                kind = "tool_result"
            elif typ in _CALL_TYPES:
                kind = "tool_call_input"
            elif role in ("system", "developer") and kind == "message":
                kind = "system"
        data_mode = None if free else self.binary_source(node)
        here = fixed or kind
        for k, v in node.items():
            if k not in _PROTOCOL_KEYS:
                segments.append(_segment(Segment, ((*path, k), k, here, "key")))
            if data_mode is not None and k == "data":
                if data_mode != "skip":
                    self.string(f"data:{data_mode};base64,{v}", (*path, k), here, "text", 0,
                                raw=v)
                continue
            if type(v) is str:  # the common leaf, without a call
                if v and v[:5].lower() != "data:":
                    segments.append(_segment(Segment, ((*path, k), v, here, "text")))
                elif v:
                    self.string(v, (*path, k), here, "text", 0)
                continue
            child_kind = "tool_call_input" if k == "tool_calls" and fixed is None else kind
            self.walk(v, (*path, k), fixed, child_kind,
                      free=free or k in _FREE_FORM_KEYS, depth=depth + 1)

    def binary_source(self, node: dict[str, Any]) -> str | None:
        """For a ``{"type": "base64", "media_type": ..., "data": ...}`` content source:
        "skip" for a real image or PDF (counted as uninspected), the media type for a
        text one (decode and scan), None otherwise (scan ``data`` as it stands)."""
        if node.get("type") != "base64":
            return None
        data, media = node.get("data"), node.get("media_type")
        if not isinstance(data, str) or not isinstance(media, str):
            return None
        media = media.strip().lower()
        if _is_textual(media):
            return media
        if (media.startswith("image/") or media == "application/pdf") and _BASE64.fullmatch(data):
            self.uninspected.append(media)
            return "skip"
        return None

    def number(self, n: float, path: Path, kind: SegmentKind) -> None:
        if isinstance(n, float):
            if not n.is_integer() or abs(n) >= 1e19:
                return
            n = int(n)
        text = str(abs(n))
        if len(text) >= _MIN_NUMBER_DIGITS:
            self.segments.append(Segment(path, text, kind, "number"))

    def string(self, s: str, path: Path, kind: SegmentKind, part: Part, nesting: int, *,
               raw: str | None = None) -> None:
        """One string; a data URL is skipped (image/audio), decoded (text) or scanned
        as it stands (anything else).  ``raw``: the string as it is in the body, when
        ``s`` was built from it."""
        if s[:5].lower() == "data:" and nesting < _MAX_DATA_URL_NESTING:
            m = _OPAQUE_DATA_URL.fullmatch(s)
            if m is not None and not _is_textual(f"{m[1]}/{m[2]}".lower()):
                self.uninspected.append(f"{m[1]}/{m[2]}".lower())
                return
            decoded = _decode_text_data_url(s)
            if decoded is not None:
                for text in decoded:
                    if text:
                        self.string(text, path, kind, "decoded", nesting + 1)
                return
        self.segments.append(Segment(path, s if raw is None else raw, kind, part))


def _is_textual(media: str) -> bool:
    return (media.startswith("text/") or media in ("application/json", "application/xml",
                                                   "application/javascript", "application/yaml",
                                                   "application/x-yaml", "image/svg+xml")
            or media.endswith(("+json", "+xml")))


def _decode_text_data_url(s: str) -> list[str] | None:
    """The text of a ``data:`` URL with a textual media type; None when it is not
    one (or does not decode), so the caller scans the string as it stands.  With a
    charset other than UTF-8 both readings are returned: the vendor may ignore it."""
    comma = s.find(",")
    if comma < 0:
        return None
    params = [p.strip() for p in s[5:comma].split(";")]
    media = params[0].lower() or "text/plain"
    if not _is_textual(media):
        return None
    charset = "utf-8"
    is_b64 = False
    for p in params[1:]:
        if p.lower() == "base64":
            is_b64 = True
        elif p.lower().startswith("charset="):
            charset = p[8:].strip().strip('"') or charset
    payload = s[comma + 1:]
    try:
        if is_b64:
            clean = "".join(unquote(payload).split()).replace("-", "+").replace("_", "/")
            clean = clean.rstrip("=")
            data = base64.b64decode(clean + "=" * (-len(clean) % 4), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
    texts = [data.decode("utf-8", "replace")]
    try:
        if codecs.lookup(charset).name not in ("utf-8", "ascii"):
            texts.append(data.decode(charset, "replace"))
    except (LookupError, ValueError, TypeError):
        pass  # not a text encoding: the UTF-8 reading stands
    return texts


# -- writing back -------------------------------------------------------------------------

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

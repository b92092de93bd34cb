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

Besides the body, the request headers the gateway forwards (credentials
excepted) and the query string are segments (``part`` ``header`` / ``query``),
and so is each string leaf under a free-form key read with its key
(``part == "context"``: ``"KEY: value"``), so that rules that need the name a
value is assigned to (``{"AWS_SECRET_ACCESS_KEY": "..."}`` in a tool input)
see it; the gateway maps those findings back onto the value's own segment.

Repeated parts: with a :class:`~stockade.wire.jsonbody.BlockMemo`, each
element of the large sections (``system``, ``tools``, ``messages`` /
``input``) is decoded and indexed once per distinct text and place, and
reused (see :mod:`stockade.wire.jsonbody`): a Claude Code turn that resends
~75 KB of system prompt and tool definitions costs a text comparison for
them.  The result is the same as without the memo.

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
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote, unquote_to_bytes

from stockade.wire.jsonbody import (
    Block,
    BlockMemo,
    Duplicate,
    Element,
    Unusual,
    decode_sections,
    freeze,
    json_float,
    unique_pairs,
    writable_path,
)

Protocol = Literal["anthropic", "chat", "responses"]
PROTOCOLS: tuple[Protocol, ...] = ("anthropic", "chat", "responses")

PathKey = str | int
Path = tuple[PathKey, ...]

SegmentKind = Literal[
    "system", "tool_definition", "message", "tool_call_input", "tool_result", "request_field",
    "request_header", "query"
]
# text: a JSON string, rewritable in place.  key: an object key.  decoded: the text of
# a data URL or base64 source.  number: a long number's digits.  context: "KEY: value"
# for a string under a free-form key (findings map back onto the value's text segment).
# header: "name: value" of a forwarded header.  query: the decoded query string.
# Only "text" can be redacted.
Part = Literal["text", "key", "decoded", "number", "context", "header", "query"]

MAX_DEPTH = 256  # JSON nesting; real requests stay under 30
_MIN_NUMBER_DIGITS = 7  # shorter numbers cannot hold a card, account or phone number
# How much of a value its "KEY: value" context segment holds: context rules match at
# the key and reach at most a few KB past it (the longest, an AWS session token, 3 KB).
CONTEXT_REACH = 4096
# Segment.path of a header (HEADER_ROOT, index) and of the query string (QUERY_ROOT,):
# not body paths; consumers tell them apart by ``part``, never by the path.
HEADER_ROOT = "@header"
QUERY_ROOT = "@query"
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
    # (block, index of its first segment in ``segments``), for blocks from a memo
    blocks: tuple[tuple[Block, int], ...] = ()

    def element_segments(self, section: str, index: int) -> tuple[Segment, ...]:
        """The segments of one element of a section list (a message), in order."""
        for block, _ in self.blocks:
            segs = block.segments
            if segs and segs[0].path[0] == section and segs[0].path[1] == index:
                return segs
        return tuple(s for s in self.segments
                     if len(s.path) > 1 and s.path[0] == section and s.path[1] == index)

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

class _DupDict(dict[str, Any]):
    """Marks, on the error path only, the object that repeated a key."""


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


def parse_request(protocol: Protocol, raw: bytes, *, memo: BlockMemo | None = None,
                  headers: Sequence[tuple[str, str]] = (), query: str = "") -> Exchange:
    """Decode and index one request body.  Raises :class:`WireError` for invalid
    UTF-8, invalid JSON, a duplicated key, too deep nesting or a body that is not
    a JSON object.

    ``headers`` (name, value) and ``query`` (the raw query string) are indexed as
    segments too: pass those that will be forwarded.  With a ``memo`` the large
    sections are indexed element by element and elements seen before are reused;
    the result is the same as without."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    if protocol not in _SECTIONS:
        raise WireError(f"unknown protocol {protocol!r}")
    if not text.strip():
        return index_body(protocol, {}, headers=headers, query=query)
    if memo is not None:
        try:
            body, elements = decode_sections(protocol, text, _SECTIONS[protocol], memo)
        except (Unusual, Duplicate, ValueError, RecursionError, IndexError):
            pass  # the reference path below refuses it with the right message (or takes it)
        else:
            return index_body(protocol, body, headers=headers, query=query,
                              elements=elements, memo=memo)
    try:
        body = json.loads(text, object_pairs_hook=unique_pairs, parse_float=json_float)
    except Duplicate:
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
    return index_body(protocol, body, headers=headers, query=query)


def index_body(protocol: Protocol, body: dict[str, Any], *,
               headers: Sequence[tuple[str, str]] = (), query: str = "",
               elements: Mapping[str, list[Element]] | None = None,
               memo: BlockMemo | None = None) -> Exchange:
    """Index a decoded body.  ``elements`` (from :func:`decode_sections`) gives each
    section list element as a memo Block or as (value, text); new ones are
    indexed and added to ``memo``."""
    if protocol not in _SECTIONS:
        raise WireError(f"unknown protocol {protocol!r}")
    sections = _SECTIONS[protocol]
    w = _Walker()
    segments = w.segments
    runs: list[tuple[Segment, ...]] = []  # finished runs of segments, in order
    blocks: list[tuple[Block, int]] = []
    at = 0  # segments in ``runs``
    for key, value in body.items():
        if key not in _PROTOCOL_KEYS:
            segments.append(Segment((key,), key, "request_field", "key"))
        if key in _SCALAR_SETTINGS and (value is None or isinstance(value, (bool, int, float))):
            # a number still carries digits (a card number as the seed:
            # tests/gateway/test_bypass_float_digits.py); short ones make no segment
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                w.number(value, (key,), "request_field")
            continue
        items = elements.get(key) if elements is not None else None
        if items is not None and memo is not None:
            fixed = sections[key]
            for i, item in enumerate(items):
                if isinstance(item, Block):
                    block = item
                else:
                    bw = _Walker()
                    bw.walk(item[0], (key, i), fixed, "message", free=False, depth=2)
                    block = Block(item[1], freeze(item[0]), tuple(bw.segments),
                                  tuple(bw.uninspected))
                    memo.put((protocol, key, i), block)
                if segments:
                    runs.append(tuple(segments))
                    at += len(segments)
                    segments.clear()
                blocks.append((block, at))
                runs.append(block.segments)
                at += len(block.segments)
                w.uninspected.extend(block.uninspected)
        elif key in sections:
            w.walk(value, (key,), sections[key], "message", free=False, depth=1)
        else:
            w.walk(value, (key,), "request_field", "request_field",
                   free=key in _FREE_FORM_KEYS, depth=1)
    segments.extend(_header_segments(headers, query))
    if runs:
        runs.append(tuple(segments))
        all_segments = tuple(itertools.chain.from_iterable(runs))
    else:
        all_segments = tuple(segments)
    model = body.get("model")
    return Exchange(
        protocol=protocol,
        model=model if isinstance(model, str) else None,
        stream=body.get("stream") is True,
        segments=all_segments,
        body=body,
        uninspected=tuple(w.uninspected),
        blocks=tuple(blocks),
    )


def _header_segments(headers: Sequence[tuple[str, str]], query: str) -> list[Segment]:
    out = [Segment((HEADER_ROOT, i), f"{name}: {value}", "request_header", "header")
           for i, (name, value) in enumerate(headers)]
    if query:
        # both readings: the vendor's server decodes it, a log keeps it as sent
        decoded = unquote(query.replace("+", " "))
        text = query if decoded == query else f"{query}\n{decoded}"
        out.append(Segment((QUERY_ROOT,), text, "query", "query"))
    return out


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
            # a list or object there is the client's mistake for the vendor to refuse;
            # it only decides the kind (everything under it is walked all the same)
            if type(role) is not str:
                role = None
            if type(typ) is not str:
                typ = None
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
                    if k not in _PROTOCOL_KEYS:  # the key names what the value is
                        segments.append(_segment(Segment, (
                            (*path, k), f"{k}: {v[:CONTEXT_REACH]}", here, "context")))
                elif v:
                    self.string(v, (*path, k), here, "text", 0)
                continue
            child_kind = "tool_call_input" if k == "tool_calls" and fixed is None else kind
            self.walk(v, (*path, k), fixed, child_kind,
                      free=free or k in _FREE_FORM_KEYS, depth=depth + 1)
        if "value" in node or "Value" in node:
            self.name_value(node, path, here)

    def name_value(self, node: dict[str, Any], path: Path, kind: SegmentKind) -> None:
        """``{"name": "AWS_SECRET_ACCESS_KEY", "value": "..."}`` (ECS, Kubernetes env,
        tags): the value read with its name, like a ``"KEY": value`` pair."""
        for vk in ("value", "Value"):
            v = node.get(vk)
            if type(v) is not str or not v or v[:5].lower() == "data:":
                continue
            for nk in ("name", "Name", "key", "Key"):
                name = node.get(nk)
                if type(name) is str and name:
                    self.segments.append(Segment((*path, vk), f"{name}: {v[:CONTEXT_REACH]}",
                                                 kind, "context"))

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
            # as written, and as a re-serialised body writes it (repr): a body
            # that is redacted, mapped or translated goes out as the latter
            # (4111111111111110.9999999 is sent as 4111111111111111.0)
            readings = {_float_digits(n), _float_digits(float(repr(float(n))))}
            text = "\n".join(sorted(r for r in readings if r)) or None
        else:
            text = str(abs(n))
        if text is not None and sum(c.isdigit() for c in text) >= _MIN_NUMBER_DIGITS:
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


def _float_digits(n: float) -> str | None:
    """A JSON float's digits as the vendor reads them: the integer, or the whole
    part, the fraction and both run together (``6222022914177764.5`` holds a card
    number whichever way it is read).  From the body's text, not the float."""
    raw = getattr(n, "raw", None) or repr(n)
    try:
        d = abs(Decimal(raw))
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if not -64 <= d.adjusted() <= 64:  # 1e300: its digits as written
        return raw.lstrip("-")
    if d == d.to_integral_value():
        return str(int(d))
    whole, _, frac = format(d, "f").partition(".")
    # one reading per line: rules for spaced card numbers would read "w f" as one
    return frac if whole == "0" else f"{whole}\n{frac}\n{whole}{frac}"


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
    """Write new text into the given leaves and return ``body``.  ``body`` is
    changed in place; parts it shares with other requests are copied first."""
    for path, text in replacements.items():
        writable_path(body, path)[path[-1]] = text
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

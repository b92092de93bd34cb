"""JSON request bodies: strict decoding, and a memo of the parts every turn repeats.

Strict: an object that names a key twice is refused (Python keeps the last
value, an upstream parser may keep the first, and the gateway forwards the
client's bytes), and a float keeps the text it was written with (the vendor
reads ``6222022914177764.5``, a float holds fewer digits).

The memo: Claude Code resends ~75 KB of system prompt and tool definitions on
every turn, and the conversation so far.  :func:`decode_sections` decodes the
elements of the large section lists one by one; an element whose text the
:class:`BlockMemo` holds at the same place is neither decoded nor checked
again, its :class:`Block` (decoded value, index, scan results kept by the
caller) is reused.  The text comparison is exact (``str.startswith``, not a
digest): a different text can never match.

Shared values are read-only (:class:`FrozenDict`, :class:`FrozenList`):
two requests may hold the same tool definition object, and a write into one
would change what the next request forwards without being inspected.  A
writer copies the containers on its path first (:func:`writable_path`); any
other write raises ``TypeError``, which the gateway answers with a 500
(fail closed).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from stockade.wire.exchange import Segment

# Candidates remembered per (protocol, section, index): a gateway serving several
# conversations sees different messages at the same index.
_PER_PLACE = 8


class Duplicate(Exception):
    """An object names a key twice."""


class Unusual(Exception):
    """Something the fast path does not handle: decode the whole body instead."""


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise Duplicate
    return d


class JSONFloat(float):
    """A float that keeps its text."""

    __slots__ = ("raw",)
    raw: str


def json_float(text: str) -> JSONFloat:
    f = JSONFloat(text)
    f.raw = text
    return f


CHECKED = json.JSONDecoder(object_pairs_hook=unique_pairs, parse_float=json_float)
_PLAIN = json.JSONDecoder(parse_float=json_float)  # only for texts checked once already
_WS = re.compile(r"[ \t\n\r]*")


_WS_CHARS = " \t\n\r"


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is not JSON whitespace."""
    m = _WS.match(text, i)
    return m.end() if m is not None else i  # never None: the pattern matches ""


# -- read-only shared values ----------------------------------------------------------------

def _read_only(*_: object, **__: object) -> NoReturn:
    raise TypeError("this part of a request body is shared between requests and read-only; "
                    "copy it first (stockade.wire.jsonbody.writable_path)")


class FrozenDict(dict[str, Any]):
    """A decoded JSON object shared between requests.  Serialises like a dict;
    copies (``copy``, ``dict(d)``) are ordinary dicts."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def copy(self) -> dict[str, Any]:
        return dict(self)


class FrozenList(list[Any]):
    """A decoded JSON array shared between requests (see :class:`FrozenDict`)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = reverse = sort = clear = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))

    def copy(self) -> list[Any]:
        return list(self)


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList([freeze(v) for v in value])
    return value


def writable_path(body: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    """The container that holds ``path``'s leaf, made writable: every shared
    container on the way is replaced (in its already writable parent) by a
    shallow copy.  ``body`` itself must be writable."""
    node: Any = body
    for k in path[:-1]:
        child = node[k]
        if isinstance(child, FrozenDict):
            child = node[k] = dict(child)
        elif isinstance(child, FrozenList):
            child = node[k] = list(child)
        node = child
    return node


# -- the memo --------------------------------------------------------------------------------

class Block:
    """One element of a section list, indexed once per distinct text and place.
    Compared by identity: the memo hands out one Block per text.  ``found`` is a
    scanner's results for it, tagged with the scanner's cache (see
    :meth:`stockade.gateway.inspect.ScanCache.block`): kept on the Block so they
    live exactly as long as the memo keeps the Block."""

    __slots__ = ("text", "value", "segments", "uninspected", "cost", "found", "held_at")

    def __init__(self, text: str, value: Any, segments: tuple[Segment, ...],
                 uninspected: tuple[str, ...]) -> None:
        self.text = text  # the element's exact JSON text
        self.value = value  # decoded, read-only
        self.segments = segments
        self.uninspected = uninspected
        self.cost = block_cost(text, segments)
        self.found: tuple[object, Any] | None = None
        self.held_at: Place | None = None  # where a memo holds it (its cost counted)

    def __repr__(self) -> str:  # never the text
        return f"<Block {len(self.segments)} segments, {len(self.text)} chars>"


# What keeping one object costs, in bytes (CPython 3.11, 64-bit), rounded up: a
# budget in characters let ~50 bytes of memory per character through for an
# element of many one-letter keys (each a key, a text and a "KEY: value" segment,
# their path tuples and a dict entry).
_SEGMENT_BYTES = 208  # the Segment tuple, its path tuple, a list slot
_CONTAINER_BYTES = 96  # an empty dict / list and its slot in the parent
_ITEM_BYTES = 48  # a dict entry or list slot, a small str or int
_ENTRY_BYTES = 160  # an LRU entry: OrderedDict node, key str header, result tuple
# a Finding kept as a scan result (measured ~390 with its preview; a fingerprint or
# a finding moved off a context segment costs more): a text of short e-mail
# addresses holds one per ~25 characters, 16 bytes per character uncounted
FINDING_BYTES = 512
_SHARED_PARTS = frozenset({"text", "key"})  # their text is the decoded value's own string


def block_cost(text: str, segments: tuple[Segment, ...]) -> int:
    """An upper estimate of the bytes a memo entry keeps alive: its text (the
    decoded strings cost about as much again), a container per opening bracket
    and an item per comma or colon (those inside strings are counted too: over,
    never under), and every segment with the text it made (a ``"KEY: value"``
    context segment is a new string).  Runs once per element first seen: four
    ``str.count`` passes, ~2% of indexing it."""
    containers = text.count("{") + text.count("[")
    items = text.count(",") + text.count(":")
    made = sum([len(s[1]) for s in segments if s[3] not in _SHARED_PARTS])  # (text, part)
    return (2 * len(text) + containers * _CONTAINER_BYTES + items * _ITEM_BYTES
            + len(segments) * _SEGMENT_BYTES + made)


def entry_cost(text: str, findings: int) -> int:
    """What one text -> findings LRU entry keeps alive, in bytes (see block_cost)."""
    return len(text) + _ENTRY_BYTES + findings * FINDING_BYTES


Place = tuple[str, str, int]  # protocol, section, index


class BlockMemo:
    """Blocks by place and text: an LRU bounded by an estimate of the bytes its
    entries keep alive (:func:`block_cost`), with the most recent few per place
    found by a text comparison."""

    def __init__(self, *, max_bytes: int = 128 * 1024 * 1024) -> None:
        self._max = max_bytes
        self._held = 0
        self._lru: OrderedDict[tuple[Place, str], Block] = OrderedDict()
        self._at: dict[Place, list[Block]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def held_bytes(self) -> int:
        return self._held

    def __len__(self) -> int:
        return len(self._lru)

    def match(self, place: Place, text: str, pos: int) -> Block | None:
        """The block whose text is at ``pos`` of ``text`` (followed by a delimiter,
        which the caller checks), if one of the recent ones at ``place`` is."""
        with self._lock:
            for block in self._at.get(place, ()):
                if text.startswith(block.text, pos):
                    self._lru.move_to_end((place, block.text))
                    self.hits += 1
                    return block
        return None

    def get(self, place: Place, text: str) -> Block | None:
        with self._lock:
            block = self._lru.get((place, text))
            if block is not None:
                self._lru.move_to_end((place, text))
                self._remember(place, block)
                self.hits += 1
            return block

    def put(self, place: Place, block: Block) -> None:
        key = (place, block.text)
        with self._lock:
            self.misses += 1
            if block.cost > self._max // 4 or key in self._lru or block.held_at is not None:
                return
            self._lru[key] = block
            block.held_at = place
            self._held += block.cost
            self._remember(place, block)
            self._evict()

    def charge(self, block: Block, extra: int) -> None:
        """Add ``extra`` bytes (the findings a scanner keeps on it) to ``block``'s
        cost, counted against the budget while the memo holds it."""
        if extra <= 0:
            return
        with self._lock:
            block.cost += extra
            if block.held_at is not None:
                self._held += extra
                self._evict()

    def _evict(self) -> None:
        while self._held > self._max and self._lru:
            (old_place, _), old = self._lru.popitem(last=False)
            self._held -= old.cost
            old.held_at = None
            recent = self._at.get(old_place)
            if recent is not None and old in recent:
                recent.remove(old)
                if not recent:
                    del self._at[old_place]

    def _remember(self, place: Place, block: Block) -> None:
        recent = self._at.setdefault(place, [])
        if recent and recent[0] is block:
            return
        if block in recent:
            recent.remove(block)
        recent.insert(0, block)
        del recent[_PER_PLACE:]


# -- decoding --------------------------------------------------------------------------------

# One element of a section list: a Block from the memo, or (decoded value, its text).
Element = Block | tuple[Any, str]


def decode_sections(protocol: str, text: str, sections: Collection[str],
                    memo: BlockMemo) -> tuple[dict[str, Any], dict[str, list[Element]]]:
    """The body, with the elements of each section list decoded one by one (or
    found in the memo).  Every object is checked for duplicate keys, except in
    element texts the memo holds (checked when first seen).  Raises
    :class:`Unusual`, :class:`Duplicate`, ``ValueError`` or ``RecursionError``:
    the caller then decodes the whole body the reference way, which reports the
    error precisely (or, for :class:`Unusual`, may accept the body)."""
    i = _skip(text, 0)
    if text[i] != "{":
        raise Unusual
    i += 1
    if text[i] in _WS_CHARS:  # (tested first: compact JSON has no whitespace to skip)
        i = _skip(text, i)
    body: dict[str, Any] = {}
    elements: dict[str, list[Element]] = {}
    if text[i] == "}":
        i += 1
    else:
        while True:
            if text[i] != '"':
                raise Unusual
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            if key in body:
                raise Duplicate
            if text[i] in _WS_CHARS:
                i = _skip(text, i)
            if text[i] != ":":
                raise Unusual
            i += 1
            if text[i] in _WS_CHARS:
                i = _skip(text, i)
            if key in sections and text[i] == "[":
                body[key], elements[key], i = _decode_list(protocol, key, text, i, memo)
            else:
                body[key], i = CHECKED.raw_decode(text, i)
            if text[i] in _WS_CHARS:
                i = _skip(text, i)
            if text[i] == ",":
                i += 1
                if text[i] in _WS_CHARS:
                    i = _skip(text, i)
            elif text[i] == "}":
                i += 1
                break
            else:
                raise Unusual
    if _skip(text, i) != len(text):
        raise Unusual
    return body, elements


def _decode_list(protocol: str, key: str, text: str, i: int,
                 memo: BlockMemo) -> tuple[list[Any], list[Element], int]:
    items: list[Any] = []
    elements: list[Element] = []
    i += 1
    if text[i] in _WS_CHARS:
        i = _skip(text, i)
    if text[i] == "]":
        return items, elements, i + 1
    while True:
        place = (protocol, key, len(items))
        block = memo.match(place, text, i)
        if block is not None:
            end = i + len(block.text)
            if text[end] in _WS_CHARS:
                end = _skip(text, end)
            if text[end] not in ",]":  # a longer value that starts the same way
                block = None
        if block is not None:
            items.append(block.value)
            elements.append(block)
            i += len(block.text)
        else:
            value, end = _PLAIN.raw_decode(text, i)
            span = text[i:end]
            known = memo.get(place, span)
            if known is not None:
                items.append(known.value)
                elements.append(known)
            else:
                CHECKED.raw_decode(span)  # the duplicate-key check (raises Duplicate)
                items.append(value)
                elements.append((value, span))
            i = end
        if text[i] in _WS_CHARS:
            i = _skip(text, i)
        if text[i] == ",":
            i += 1
            if text[i] in _WS_CHARS:
                i = _skip(text, i)
        elif text[i] == "]":
            return items, elements, i + 1
        else:
            raise Unusual

"""Reading transcripts line by line, with bounded memory and no trust.

A line longer than :data:`MAX_LINE` is skipped (and reported) without ever
being held whole; a line that is not JSON, or not a JSON object, is a skip
with its line number, and its text is still handed to the caller to be
scanned (a session killed mid-write leaves its largest tool result on a cut
line).  Nothing of a bad line's content is quoted in a reason: transcripts
hold secrets.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Iterator
from typing import IO, Any

from stockade.history.records import Skip

MAX_LINE = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
# Base64 payloads that are not text (a screenshot, a PDF): they cannot be
# scanned as text, so they are counted instead of silently dropped.
# Only a string that is a data URL from end to end counts: text that merely
# starts like one is scanned, or a secret could hide behind such a prefix.
_DATA_URL = re.compile(r"data:(?P<media>[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+)?(?:;[^,;]{1,100})*;base64,"
                       r"(?P<data>[A-Za-z0-9+/=\s]*)", re.IGNORECASE)
_OPAQUE_TYPES = frozenset({"image", "input_image", "output_image", "image_url", "input_file",
                           "input_audio", "audio"})


class NotRegular(OSError):
    """A transcript path that is (now) a link, a FIFO or a device."""


def safe_name(value: object) -> str:
    """A line type fit to print in a reason: short and plain, else ``?``."""
    return value if isinstance(value, str) and _NAME.fullmatch(value) else "?"


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def open_regular(path: str) -> IO[bytes]:
    """``path`` opened for reading only if it is a regular file, checked on
    the open file itself: a transcript swapped for a symbolic link or a FIFO
    after discovery must neither be followed nor hang the audit."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(0, "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def raw_lines(fh: Any, path: str, skips: list[Skip]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of each line of a binary file object."""
    n = 0
    while True:
        raw = fh.readline(MAX_LINE + 1)
        if not raw:
            return
        n += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # drain the rest of the line in bounded pieces
                more = fh.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            size = f"{MAX_LINE >> 20} MiB" if MAX_LINE >= 1 << 20 else f"{MAX_LINE} bytes"
            skips.append(Skip(path, n, f"line longer than {size}"))
            continue
        yield n, raw


def json_lines(fh: Any, path: str, skips: list[Skip],
               bad: list[tuple[int, str]] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON-object line; the rest become skips,
    and, when ``bad`` is given, (line number, text) there to be scanned raw.
    Invalid UTF-8 does not lose a line: the bad bytes become U+FFFD."""
    loads = json.loads
    for n, raw in raw_lines(fh, path, skips):
        if not raw.strip():
            continue
        reason = None
        try:
            obj = loads(raw)
        except UnicodeDecodeError:
            try:
                obj = loads(raw.decode("utf-8", "replace"))
            except RecursionError:
                reason = "JSON nested too deeply"
            except ValueError:
                reason = "not valid JSON"
        except RecursionError:
            reason = "JSON nested too deeply"
        except ValueError:
            reason = "not valid JSON"
        if reason is None and not isinstance(obj, dict):
            reason = "not a JSON object"
        if reason is not None:
            skips.append(Skip(path, n, reason))
            if bad is not None:
                bad.append((n, raw.decode("utf-8", "replace")))
            continue
        yield n, obj


def strings(value: object, out: list[str]) -> int:
    """Every string inside a JSON value, keys included (they reach the vendor
    too), at any depth: the walk is iterative, so a deeply nested tool call
    cannot hide a value below a recursion limit.  Returns how many opaque
    items (base64 images, files, audio) were met and not scanned."""
    opaque = 0
    stack: list[object] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if v:
                decoded = _data_url(v)
                if decoded is None:
                    out.append(v)
                elif decoded:
                    out.append(decoded)
                else:
                    opaque += 1
        elif isinstance(v, dict):
            if _is_opaque(v):
                decoded = _text_payload(v)
                if decoded is not None:
                    out.append(decoded)
                elif any(isinstance(v.get(k), str) for k in _BINARY_KEYS):
                    opaque += 1
                # its other fields (a URL, a file name, a note) reach the vendor too
                for k, x in reversed(list(v.items())):
                    if k in _BINARY_KEYS or k == "type":
                        continue
                    if isinstance(x, dict) and not _is_opaque(x) and \
                            any(isinstance(x.get(b), str) for b in _BINARY_KEYS):
                        opaque += 1  # {"input_audio": {"data": ..., "format": ...}}
                        x = {b: y for b, y in x.items() if b not in _BINARY_KEYS}
                    stack.append(x)
                continue
            items = list(v.items())
            for k, x in reversed(items):  # reversed: popped in document order
                if isinstance(x, str):
                    # "name: value" keeps the context rules see in files
                    # (AWS_SECRET_ACCESS_KEY: ...) and the key itself.
                    if x and _data_url(x) is not None:
                        stack.append(x)  # decoded or counted when popped
                        if isinstance(k, str) and k:
                            stack.append(k)
                    elif x or k:
                        stack.append(f"{k}: {x}" if isinstance(k, str) else x)
                else:
                    stack.append(x)
                    if isinstance(k, str) and k:
                        stack.append(k)
        elif isinstance(v, list):
            stack.extend(reversed(v))
    return opaque


def _data_url(value: str) -> str | None:
    """None if ``value`` is not wholly a base64 data URL; else its decoded
    text when the media type is text, or "" (opaque: counted, not scanned)."""
    if not value.startswith(("data:", "DATA:", "Data:")):
        return None
    m = _DATA_URL.fullmatch(value)
    if m is None:
        return None
    media = (m.group("media") or "").lower()
    if media.startswith("text/") or media == "application/json":
        return _text_payload({"type": "base64", "media_type": media, "data": m.group("data")}) or ""
    return ""


# where an opaque block keeps its bytes (base64, or a data: URL of them)
_BINARY_KEYS = frozenset({"data", "file_data", "image_data", "b64_json", "bytes"})


def _is_opaque(block: dict[Any, Any]) -> bool:
    """An image / file block, or a base64 ``source`` (``{"type": "base64",
    "media_type", "data"}``)."""
    kind = block.get("type")
    return kind in _OPAQUE_TYPES or (kind == "base64" and isinstance(block.get("data"), str))


def _text_payload(block: dict[Any, Any]) -> str | None:
    """The text of a base64 source whose media type is text (a .txt or .csv
    document), else None: that one is decoded and scanned, not counted."""
    media = block.get("media_type")
    data = block.get("data")
    if block.get("type") != "base64" or not isinstance(media, str) or not isinstance(data, str) \
            or not media.startswith(("text/", "application/json")):
        return None
    try:
        return base64.b64decode(data, validate=False).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return None

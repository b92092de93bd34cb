"""Reading transcripts line by line, with bounded memory and no trust.

A line longer than :data:`MAX_LINE` is skipped (and reported) without ever
being held whole; a line that is not JSON, or not a JSON object, is a skip
with its line number.  Nothing of a bad line's content is quoted in a reason:
transcripts hold secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stockade.history.records import Skip

MAX_LINE = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


def safe_name(value: object) -> str:
    """A line type fit to print in a reason: short and plain, else ``?``."""
    return value if isinstance(value, str) and _NAME.fullmatch(value) else "?"


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


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


def json_lines(fh: Any, path: str, skips: list[Skip]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON-object line; the rest become skips."""
    loads = json.loads
    for n, raw in raw_lines(fh, path, skips):
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
        except (ValueError, RecursionError):
            skips.append(Skip(path, n, "not valid JSON"))
            continue
        if not isinstance(obj, dict):
            skips.append(Skip(path, n, "not a JSON object"))
            continue
        yield n, obj


def strings(value: object, out: list[str], *, depth: int = 0) -> None:
    """Every string inside a JSON value, keys included: they reach the vendor too."""
    if isinstance(value, str):
        if value:
            out.append(value)
    elif isinstance(value, dict):
        if depth > 64:
            return
        for k, v in value.items():
            if isinstance(v, str):
                # "name: value" keeps the context rules see in files
                # (AWS_SECRET_ACCESS_KEY: ...) and the key itself.
                if v or k:
                    out.append(f"{k}: {v}" if isinstance(k, str) else v)
            else:
                if isinstance(k, str) and k:
                    out.append(k)
                strings(v, out, depth=depth + 1)
    elif isinstance(value, list):
        if depth > 64:
            return
        for v in value:
            strings(v, out, depth=depth + 1)

"""Aider chat histories: ``.aider.chat.history.md`` in a project folder.

Markdown appended as the chat goes: ``# aider chat started at <local time>``
opens a session; ``#### `` lines are what the user typed; ``> `` lines are
aider's own output (files added, edits applied, commands run, their output);
everything else is the model's reply.  The history does not hold the content
of files added with ``/add``, only that they were: those appear as
``file_shared`` actions, so an auditor knows which files went out.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator

from stockade.history import actions
from stockade.history.records import (
    SOURCE_ASSISTANT,
    SOURCE_PROMPT,
    SOURCE_TOOL_OUTPUT,
    Act,
    Meta,
    Piece,
    Skip,
)

AGENT = "aider"
FILE_NAME = ".aider.chat.history.md"
MAX_BLOCK = 1 << 20  # characters: a longer block of prompt / tool lines is scanned in pieces
CHUNK = 4 << 20  # bytes read at a time
_SPECIAL = re.compile(r"^(?:####|>|# aider chat started at ).*$", re.MULTILINE)
_STARTED = re.compile(r"^# aider chat started at (\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})")
_MODEL = re.compile(r"^(?:Main model|Model): (\S+)")
_APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
_ADDED = re.compile(r"^Added (.+?) to the chat\.?\s*$")
_RUNNING = re.compile(r"^Running (.+?)\s*$")

Record = Meta | Piece | Act | Skip


class _Session:
    def __init__(self, sid: str, ts: str | None):
        self.sid = sid
        self.ts = ts


def read(path: str, *, home: str) -> Iterator[Record]:
    """Special lines (``####``, ``>``, the session header) are found with one
    regular expression per chunk; the text between them is the model's reply,
    taken as one piece without a per-line loop (most of a history is replies)."""
    project = os.path.dirname(os.path.abspath(path))
    tag = hashlib.sha256(os.path.abspath(path).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    sess = _Session(f"aider-{tag}-0", None)
    yield Meta(sess.sid, None, project)
    kind: str | None = None  # prompt | tool: the block of special lines being gathered
    block: list[str] = []
    size = 0
    start_line = last_line = 0

    def flush() -> Iterator[Record]:
        nonlocal block, size, kind
        if block and kind is not None:
            body = "\n".join(block)
            if body.strip():
                src = SOURCE_PROMPT if kind == "prompt" else SOURCE_TOOL_OUTPUT
                yield Piece(sess.sid, src, sess.ts, None, body, start_line, True)
        block, size, kind = [], 0, None

    # The model's reply at the end of a chunk is carried into the next one
    # (up to MAX_BLOCK): a private key or a `KEY:\n  value` block that
    # straddles a chunk boundary must be scanned whole.
    carry, carry_line = "", 0
    for chunk, line in _chunks(path):
        if isinstance(chunk, Skip):
            yield chunk
            continue
        if carry:
            chunk, line, carry = carry + chunk, carry_line, ""
        pos = 0
        for m in _SPECIAL.finditer(chunk):
            gap = chunk[pos:m.start()]
            if gap.strip():
                yield from flush()
                lead = len(gap) - len(gap.lstrip("\n"))
                yield Piece(sess.sid, SOURCE_ASSISTANT, sess.ts, None, gap.strip("\n"), line + lead, True)
            line += gap.count("\n")
            text = m.group(0).rstrip("\r")
            pos = m.end()
            started = _STARTED.match(text)
            if started:
                yield from flush()
                stamp = f"{started.group(1)}T{started.group(2)}"
                sess = _Session(f"aider-{tag}-{stamp.replace(':', '').replace('-', '')}", stamp)
                yield Meta(sess.sid, stamp, project)
                continue
            if text.startswith("####"):
                this, body = "prompt", text[4:].removeprefix(" ").rstrip()
                yield from _typed(body, line, sess=sess, project=project, home=home)
            else:
                this, body = "tool", text[1:].removeprefix(" ").rstrip()
                yield from _said(body, line, sess=sess)
            if this != kind or size > MAX_BLOCK:
                yield from flush()
                kind = this
                start_line = line
            elif line > last_line + 1:  # blank lines inside the block: kept, so lines count true
                block.extend([""] * (line - last_line - 1))
            block.append(body)
            last_line = line
            size += len(body) + 1
        tail = chunk[pos:]
        if tail.strip():
            if len(tail) < MAX_BLOCK:
                carry, carry_line = tail, line
                continue
            yield from flush()
            lead = len(tail) - len(tail.lstrip("\n"))
            yield Piece(sess.sid, SOURCE_ASSISTANT, sess.ts, None, tail.strip("\n"), line + lead, True)
    yield from flush()
    if carry.strip():
        lead = len(carry) - len(carry.lstrip("\n"))
        yield Piece(sess.sid, SOURCE_ASSISTANT, sess.ts, None, carry.strip("\n"), carry_line + lead,
                    True)


def _chunks(path: str) -> Iterator[tuple[str, int] | tuple[Skip, int]]:
    """(text, line number of its first line): line-aligned pieces of at most
    about :data:`CHUNK` bytes.  A line longer than MAX_LINE, or one holding NUL
    bytes, is a skip."""
    from stockade.history import lines

    line = 1
    carry = b""
    with lines.open_regular(path) as fh:
        while True:
            data = fh.read(CHUNK)
            buf = carry + data
            if not data:
                if buf:
                    yield from _decoded(buf, line, path)
                return
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                if len(buf) > lines.MAX_LINE:
                    yield Skip(path, line, "line longer than the limit"), line
                    while True:  # drain the rest of that line
                        data = fh.read(CHUNK)
                        nl = data.find(b"\n")
                        if not data or nl >= 0:
                            carry = data[nl + 1:] if nl >= 0 else b""
                            break
                    line += 1
                    continue
                carry = buf
                continue
            carry = buf[cut:]
            yield from _decoded(buf[:cut], line, path)
            line += buf.count(b"\n", 0, cut)


def _decoded(raw: bytes, line: int, path: str) -> Iterator[tuple[str, int] | tuple[Skip, int]]:
    if b"\x00" not in raw:
        yield raw.decode("utf-8", "replace"), line
        return
    kept: list[bytes] = []
    for i, ln in enumerate(raw.split(b"\n")):
        if b"\x00" in ln:
            yield Skip(path, line + i, "binary data in a text history"), line + i
            kept.append(b"")  # keep the line count
        else:
            kept.append(ln)
    yield b"\n".join(kept).decode("utf-8", "replace"), line


def _typed(body: str, n: int, *, sess: _Session, project: str, home: str) -> Iterator[Act]:
    """Commands typed in the chat: ``/run CMD``, ``!CMD``."""
    cmd = None
    if body.startswith("/run "):
        cmd = body[5:].strip()
    elif body.startswith("!"):
        cmd = body[1:].strip()
    if cmd:
        yield from actions.from_command(cmd, sid=sess.sid, ts=sess.ts, line=n, cwd=project, home=home)


def _said(body: str, n: int, *, sess: _Session) -> Iterator[Record]:
    m = _MODEL.match(body)
    if m:
        yield Meta(sess.sid, None, None, None, m.group(1))
        return
    m = _APPLIED.match(body)
    if m:
        yield Act(sess.sid, "file_written", sess.ts, m.group(1), n, via="aider edit")
        return
    m = _ADDED.match(body)
    if m:
        yield Act(sess.sid, "file_shared", sess.ts, m.group(1), n, via="aider /add")
        return
    m = _RUNNING.match(body)
    if m:
        yield Act(sess.sid, "command", sess.ts, m.group(1), n, via="aider")

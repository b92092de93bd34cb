"""Claude Code transcripts: ``<config>/projects/<cwd, / as ->/<session>.jsonl``.

One JSON object a line: ``type`` user | assistant | attachment | system |
summary | ... with ``message``, ``timestamp``, ``cwd``, ``sessionId`` and
``gitBranch``.  What went to the vendor is ``message.content``: user prompts,
``tool_result`` blocks (a file the Read tool returned, a command's output),
the model's text and tool calls (sent back on every later turn), and
attachments.  ``toolUseResult`` is Claude Code's local copy of a tool result
(never sent as such): it is not scanned, so one read is not counted twice.
``progress`` lines are UI state, except a subagent's messages
(``data.message``), which went to the vendor and are scanned.

Any content block of a kind this reader does not know is scanned whole
(every string in it); images and other base64 payloads, which cannot be
scanned as text, are counted in ``skipped``.  A line that is not JSON is
counted and its raw text scanned.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from stockade.history import actions
from stockade.history.lines import json_lines, open_regular, safe_name, strings, text
from stockade.history.records import (
    SOURCE_ASSISTANT,
    SOURCE_CONTEXT,
    SOURCE_FILE_READ,
    SOURCE_PROMPT,
    SOURCE_TOOL_CALL,
    SOURCE_TOOL_OUTPUT,
    SOURCE_UNPARSED,
    Act,
    Meta,
    Piece,
    Skip,
)

AGENT = "claude-code"
# Line types that carry nothing sent to the vendor (queue bookkeeping, UI state).
_QUIET = frozenset({
    "queue-operation", "last-prompt", "file-history-snapshot", "progress", "custom-title",
    "agent-name", "permission-mode", "tag", "pr-link", "mode", "worktree-state",
})
_READ_TOOLS = frozenset({"Read", "NotebookRead"})
_TOOL_USES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Encrypted by the vendor, or markers: nothing of the user's in them.
_OPAQUE_ASSISTANT = frozenset({"redacted_thinking"})
_WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})

Record = Meta | Piece | Act | Skip


def read(path: str, *, home: str) -> Iterator[Record]:
    skips: list[Skip] = []
    bad: list[tuple[int, str]] = []
    last_ts: str | None = None
    default_sid = os.path.basename(path).removesuffix(".jsonl")
    sid = default_sid
    tools: dict[str, tuple[str, str | None]] = {}  # tool_use id -> (tool name, path or URL)

    def pending() -> Iterator[Record]:
        yield from skips
        skips.clear()
        for n, raw in bad:  # not JSON, but it may still be what went out
            yield Piece(sid, SOURCE_UNPARSED, last_ts, None, raw, n)
        bad.clear()

    with open_regular(path) as fh:
        for n, obj in json_lines(fh, path, skips, bad):
            yield from pending()
            # a cut line is dated by the line before it (its own stamp is unreadable)
            last_ts = text(obj.get("timestamp")) or last_ts
            sid = text(obj.get("sessionId")) or sid
            try:
                yield from _line(obj, n, path=path, home=home, sid_default=default_sid, tools=tools)
            except Exception as exc:  # noqa: BLE001 - one odd line must not end the file
                yield Skip(path, n, f"line could not be read ({type(exc).__name__})")
    yield from pending()


def _whole(value: object, n: int, *, path: str, sid: str, ts: str | None,
           source: str) -> Iterator[Record]:
    """Every string in ``value`` as one piece (images counted)."""
    parts: list[str] = []
    yield from _opaque(path, n, strings(value, parts))
    if parts:
        yield Piece(sid, source, ts, None, "\n".join(parts), n)


def _opaque(path: str, n: int, count: int) -> Iterator[Skip]:
    if count:
        yield Skip(path, n, f"{count} image or binary attachment{'s' if count != 1 else ''} "
                            "not scanned")


def _line(obj: dict[str, Any], n: int, *, path: str, home: str, sid_default: str,
          tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    typ = obj.get("type")
    typ = typ if isinstance(typ, str) else None
    sid = text(obj.get("sessionId")) or sid_default
    ts = text(obj.get("timestamp"))
    cwd = text(obj.get("cwd"))
    message = obj.get("message")
    model = None
    if isinstance(message, dict):
        m = text(message.get("model"))
        model = m if m and not m.startswith("<") else None
    if ts or cwd or model:
        yield Meta(sid, ts, cwd, text(obj.get("gitBranch")), model)
    if typ == "user":
        if not isinstance(message, dict):
            yield Skip(path, n, "user line without a message object")
            return
        meta = obj.get("isMeta") is True
        yield from _user(message.get("content"), n, path=path, sid=sid, ts=ts, meta=meta,
                         tools=tools)
    elif typ == "assistant":
        if not isinstance(message, dict):
            yield Skip(path, n, "assistant line without a message object")
            return
        yield from _assistant(message.get("content"), n, path=path, sid=sid, ts=ts,
                              cwd=cwd or home, home=home, tools=tools)
    elif typ == "progress":
        yield from _progress(obj.get("data"), n, path=path, sid=sid, ts=ts, cwd=cwd or home,
                             home=home, tools=tools)
    elif typ == "attachment":
        att = obj.get("attachment")
        parts: list[str] = []
        yield from _opaque(path, n, strings(att, parts))
        where = None
        if isinstance(att, dict):
            where = text(att.get("filename")) or text(att.get("path")) or text(att.get("filePath"))
        if parts:
            yield Piece(sid, SOURCE_FILE_READ if where else SOURCE_CONTEXT, ts, where,
                        "\n".join(parts), n)
    elif typ == "summary":
        yield from _whole(obj.get("summary"), n, path=path, sid=sid, ts=ts, source=SOURCE_CONTEXT)
    elif typ == "system":
        yield from _whole(obj.get("content"), n, path=path, sid=sid, ts=ts, source=SOURCE_CONTEXT)
    elif typ in _QUIET:
        return
    else:
        yield Skip(path, n, f"unknown line type {safe_name(typ)}")


def _progress(data: object, n: int, *, path: str, sid: str, ts: str | None, cwd: str, home: str,
              tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    """A subagent's message, relayed while it runs: what it sent went out."""
    if not isinstance(data, dict):
        return
    inner = data.get("message")
    if not isinstance(inner, dict):
        return
    msg = inner.get("message")
    if not isinstance(msg, dict):
        return
    role = inner.get("type")
    if role == "user":
        yield from _user(msg.get("content"), n, path=path, sid=sid, ts=ts, meta=False, tools=tools)
    elif role == "assistant":
        yield from _assistant(msg.get("content"), n, path=path, sid=sid, ts=ts, cwd=cwd,
                              home=home, tools=tools)


def _user(content: object, n: int, *, path: str, sid: str, ts: str | None, meta: bool,
          tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    source = SOURCE_CONTEXT if meta else SOURCE_PROMPT
    if isinstance(content, str):
        if content:
            yield Piece(sid, source, ts, None, content, n)
        return
    if not isinstance(content, list):  # an object, or a shape of a later version: all of it
        yield from _whole(content, n, path=path, sid=sid, ts=ts, source=source)
        return
    for block in content:
        if not isinstance(block, dict):
            yield from _whole(block, n, path=path, sid=sid, ts=ts, source=source)
            continue
        kind = block.get("type")
        if kind == "text":
            t = text(block.get("text"))
            if t:
                yield Piece(sid, source, ts, None, t, n)
        elif kind == "tool_result":
            name, where = tools.get(str(block.get("tool_use_id")), ("", None))
            parts: list[str] = []
            body = block.get("content")
            if isinstance(body, list):  # text blocks, images, anything else whole
                opaque = 0
                for b in body:
                    if isinstance(b, dict) and b.get("type") == "text":
                        t = text(b.get("text"))
                        if t:
                            parts.append(t)
                    else:
                        opaque += strings(b, parts)
                yield from _opaque(path, n, opaque)
            else:
                yield from _opaque(path, n, strings(body, parts))
            if parts:
                src = SOURCE_FILE_READ if name in _READ_TOOLS else SOURCE_TOOL_OUTPUT
                yield Piece(sid, src, ts, where, "\n".join(parts), n)
        elif kind == "document":
            parts = []
            yield from _opaque(path, n, strings(block.get("source"), parts))
            if parts:
                yield Piece(sid, SOURCE_FILE_READ, ts, text(block.get("title")), "\n".join(parts), n)
        else:  # images, search results, kinds added later: every string in them
            parts = []
            yield from _opaque(path, n, strings(block, parts))
            if parts:
                yield Piece(sid, source, ts, None, "\n".join(parts), n)


def _assistant(content: object, n: int, *, path: str, sid: str, ts: str | None, cwd: str,
               home: str, tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    if isinstance(content, str):
        if content:
            yield Piece(sid, SOURCE_ASSISTANT, ts, None, content, n)
        return
    if not isinstance(content, list):
        yield from _whole(content, n, path=path, sid=sid, ts=ts, source=SOURCE_ASSISTANT)
        return
    for block in content:
        if not isinstance(block, dict):
            yield from _whole(block, n, path=path, sid=sid, ts=ts, source=SOURCE_ASSISTANT)
            continue
        kind = block.get("type")
        if kind == "text":
            t = text(block.get("text"))
            if t:
                yield Piece(sid, SOURCE_ASSISTANT, ts, None, t, n)
        elif kind == "thinking":
            t = text(block.get("thinking"))
            if t:
                yield Piece(sid, SOURCE_ASSISTANT, ts, None, t, n)
        elif kind in _TOOL_USES:
            name = text(block.get("name")) or "?"
            inp = block.get("input")
            inp = inp if isinstance(inp, dict) else {}
            where = text(inp.get("file_path")) or text(inp.get("notebook_path")) \
                or text(inp.get("path")) or text(inp.get("url"))
            tools[str(block.get("id"))] = (name, where)
            parts: list[str] = []
            yield from _opaque(path, n, strings(block.get("input"), parts))
            if parts:
                yield Piece(sid, SOURCE_TOOL_CALL, ts, where if name in _WRITE_TOOLS else None,
                            "\n".join(parts), n)
            yield from _tool_actions(name, inp, n, sid=sid, ts=ts, cwd=cwd, home=home)
        elif kind in _OPAQUE_ASSISTANT:
            continue
        else:  # server tool results (web fetch, search), kinds added later: scanned whole
            parts = []
            yield from _opaque(path, n, strings(block, parts))
            if parts:
                yield Piece(sid, SOURCE_TOOL_OUTPUT, ts, None, "\n".join(parts), n)


def _tool_actions(name: str, inp: dict[str, Any], n: int, *, sid: str, ts: str | None,
                  cwd: str, home: str) -> Iterator[Act]:
    if name == "Bash":
        cmd = text(inp.get("command"))
        if cmd:
            yield from actions.from_command(cmd, sid=sid, ts=ts, line=n, cwd=cwd, home=home)
    elif name in _WRITE_TOOLS:
        p = text(inp.get("file_path")) or text(inp.get("notebook_path"))
        if p:
            yield Act(sid, "file_written", ts, p, n, via=name)
    elif name == "WebFetch":
        url = text(inp.get("url"))
        if url:
            yield Act(sid, "network", ts, url, n, via="WebFetch")

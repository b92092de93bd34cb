"""Claude Code transcripts: ``<config>/projects/<cwd, / as ->/<session>.jsonl``.

One JSON object a line: ``type`` user | assistant | attachment | system |
summary | ... with ``message``, ``timestamp``, ``cwd``, ``sessionId`` and
``gitBranch``.  What went to the vendor is ``message.content``: user prompts,
``tool_result`` blocks (a file the Read tool returned, a command's output),
the model's text and tool calls (sent back on every later turn), and
attachments.  ``toolUseResult`` is Claude Code's local copy of a tool result
(never sent as such): it is not scanned, so one read is not counted twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from stockade.history import actions
from stockade.history.lines import json_lines, safe_name, strings, text
from stockade.history.records import (
    SOURCE_ASSISTANT,
    SOURCE_CONTEXT,
    SOURCE_FILE_READ,
    SOURCE_PROMPT,
    SOURCE_TOOL_CALL,
    SOURCE_TOOL_OUTPUT,
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
_WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})

Record = Meta | Piece | Act | Skip


def read(path: str, *, home: str) -> Iterator[Record]:
    skips: list[Skip] = []
    default_sid = os.path.basename(path).removesuffix(".jsonl")
    tools: dict[str, tuple[str, str | None]] = {}  # tool_use id -> (tool name, path or URL)
    with open(path, "rb") as fh:
        for n, obj in json_lines(fh, path, skips):
            yield from skips
            skips.clear()
            try:
                yield from _line(obj, n, path=path, home=home, sid_default=default_sid, tools=tools)
            except Exception as exc:  # noqa: BLE001 - one odd line must not end the file
                yield Skip(path, n, f"line could not be read ({type(exc).__name__})")
    yield from skips


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
        yield from _user(message.get("content"), n, sid=sid, ts=ts, meta=meta, tools=tools)
    elif typ == "assistant":
        if not isinstance(message, dict):
            yield Skip(path, n, "assistant line without a message object")
            return
        yield from _assistant(message.get("content"), n, sid=sid, ts=ts, cwd=cwd or home,
                              home=home, tools=tools)
    elif typ == "attachment":
        att = obj.get("attachment")
        parts: list[str] = []
        strings(att, parts)
        where = None
        if isinstance(att, dict):
            where = text(att.get("filename")) or text(att.get("path")) or text(att.get("filePath"))
        if parts:
            yield Piece(sid, SOURCE_FILE_READ if where else SOURCE_CONTEXT, ts, where,
                        "\n".join(parts), n)
    elif typ == "summary":
        s = text(obj.get("summary"))
        if s:
            yield Piece(sid, SOURCE_CONTEXT, ts, None, s, n)
    elif typ == "system":
        s = text(obj.get("content"))
        if s:
            yield Piece(sid, SOURCE_CONTEXT, ts, None, s, n)
    elif typ in _QUIET:
        return
    else:
        yield Skip(path, n, f"unknown line type {safe_name(typ)}")


def _user(content: object, n: int, *, sid: str, ts: str | None, meta: bool,
          tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    source = SOURCE_CONTEXT if meta else SOURCE_PROMPT
    if isinstance(content, str):
        if content:
            yield Piece(sid, source, ts, None, content, n)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, dict):
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
            if isinstance(body, list):  # text blocks; images are not text
                for b in body:
                    if isinstance(b, dict) and b.get("type") == "text":
                        strings(b.get("text"), parts)
            else:
                strings(body, parts)
            if parts:
                src = SOURCE_FILE_READ if name in _READ_TOOLS else SOURCE_TOOL_OUTPUT
                yield Piece(sid, src, ts, where, "\n".join(parts), n)
        elif kind == "document":
            parts = []
            strings(block.get("source"), parts)
            if parts:
                yield Piece(sid, SOURCE_FILE_READ, ts, text(block.get("title")), "\n".join(parts), n)


def _assistant(content: object, n: int, *, sid: str, ts: str | None, cwd: str, home: str,
               tools: dict[str, tuple[str, str | None]]) -> Iterator[Record]:
    if isinstance(content, str):
        if content:
            yield Piece(sid, SOURCE_ASSISTANT, ts, None, content, n)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, dict):
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
        elif kind in ("tool_use", "server_tool_use"):
            name = text(block.get("name")) or "?"
            inp = block.get("input")
            inp = inp if isinstance(inp, dict) else {}
            where = text(inp.get("file_path")) or text(inp.get("notebook_path")) \
                or text(inp.get("path")) or text(inp.get("url"))
            tools[str(block.get("id"))] = (name, where)
            parts: list[str] = []
            strings(inp, parts)
            if parts:
                yield Piece(sid, SOURCE_TOOL_CALL, ts, where if name in _WRITE_TOOLS else None,
                            "\n".join(parts), n)
            yield from _tool_actions(name, inp, n, sid=sid, ts=ts, cwd=cwd, home=home)


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

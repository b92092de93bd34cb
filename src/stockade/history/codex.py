"""Codex CLI session logs: ``<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-*.jsonl``.

Lines are ``{timestamp, type, payload}``.  What went to the vendor is the
``response_item`` stream (messages, function calls and their outputs,
reasoning summaries) plus ``compacted`` summaries; ``event_msg`` lines repeat
the same items for the UI and are not scanned again.  ``session_meta`` and
``turn_context`` give the session id, working directory, git branch and model;
the instructions they carry (AGENTS.md, developer instructions) went out too
and are scanned.  Rollouts of early Codex versions have no envelope (the
items are the lines, after a ``{id, timestamp, instructions}`` header): they
are read the same way.  A line that is not JSON is counted and its raw text
scanned; images are counted in ``skipped``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
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

AGENT = "codex"
_QUIET = frozenset({"event_msg", "world_state", "token_usage_record"})
_QUIET_ITEMS = frozenset({"ghost_snapshot", "other"})
_ITEMS = frozenset({"message", "function_call", "custom_tool_call", "local_shell_call",
                    "function_call_output", "custom_tool_call_output", "reasoning",
                    "web_search_call"}) | _QUIET_ITEMS
# Fields of session_meta / turn_context whose text is sent with every request.
_INSTRUCTIONS = ("instructions", "base_instructions", "user_instructions",
                 "developer_instructions")
_SHELL_TOOLS = frozenset({"exec_command", "shell", "container.exec", "local_shell", "shell_command"})
_READERS = frozenset({"cat", "head", "tail", "nl", "less", "more", "bat"})
_UUID_TAIL = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)
# Context Codex injects in user-role messages (not typed by the user).
_INJECTED = ("<environment_context>", "<user_instructions>", "# AGENTS.md", "<permissions",
             "<user_shell_command>", "<turn_aborted>")

Record = Meta | Piece | Act | Skip


class _State:
    def __init__(self, sid: str, home: str):
        self.sid = sid
        self.home = home
        self.cwd: str | None = None
        self.calls: dict[str, str | None] = {}  # call_id -> path a read command read
        self.started = False


def read(path: str, *, home: str) -> Iterator[Record]:
    m = _UUID_TAIL.search(os.path.basename(path))
    st = _State(m.group(1) if m else os.path.basename(path).removesuffix(".jsonl"), home)
    skips: list[Skip] = []
    bad: list[tuple[int, str]] = []
    last_ts: str | None = None

    def pending() -> Iterator[Record]:
        yield from skips
        skips.clear()
        for n, raw in bad:  # not JSON, but it may still be what went out
            yield Piece(st.sid, SOURCE_UNPARSED, last_ts, None, raw, n)
        bad.clear()

    with open_regular(path) as fh:
        for n, obj in json_lines(fh, path, skips, bad):
            yield from pending()
            # a cut line is dated by the line before it (its own stamp is unreadable)
            last_ts = text(obj.get("timestamp")) or last_ts
            try:
                yield from _line(obj, n, path=path, st=st)
            except Exception as exc:  # noqa: BLE001 - one odd line must not end the file
                yield Skip(path, n, f"line could not be read ({type(exc).__name__})")
    yield from pending()


def _instructions(p: dict[str, Any], n: int, *, ts: str | None, st: _State) -> Iterator[Piece]:
    parts: list[str] = []
    for key in _INSTRUCTIONS:
        strings(p.get(key), parts)
    if parts:
        yield Piece(st.sid, SOURCE_CONTEXT, ts, None, "\n".join(parts), n)


def _legacy(obj: dict[str, Any], n: int, *, path: str, st: _State) -> Iterator[Record] | None:
    """A line of an early rollout (no ``payload`` envelope), or None."""
    if "payload" in obj:
        return None
    if "record_type" in obj:
        return iter(())  # state snapshots
    kind = obj.get("type")
    if isinstance(kind, str) and kind in _ITEMS:
        return _item(obj, n, path=path, ts=text(obj.get("timestamp")), st=st)
    if kind is None and n == 1 and text(obj.get("id")):
        return _legacy_header(obj, n, st=st)
    return None


def _legacy_header(obj: dict[str, Any], n: int, *, st: _State) -> Iterator[Record]:
    st.sid = text(obj.get("id")) or st.sid
    git = obj.get("git")
    branch = text(git.get("branch")) if isinstance(git, dict) else None
    yield Meta(st.sid, text(obj.get("timestamp")), None, branch, text(obj.get("model")))
    yield from _instructions(obj, n, ts=text(obj.get("timestamp")), st=st)


def _line(obj: dict[str, Any], n: int, *, path: str, st: _State) -> Iterator[Record]:
    typ = obj.get("type")
    typ = typ if isinstance(typ, str) else None
    ts = text(obj.get("timestamp"))
    p = obj.get("payload")
    if typ in _QUIET:
        return
    legacy = _legacy(obj, n, path=path, st=st)
    if legacy is not None:
        yield from legacy
        return
    if not isinstance(p, dict):
        yield Skip(path, n, f"{safe_name(typ)} line without a payload object")
        return
    if typ == "session_meta":
        sid = text(p.get("id")) or text(p.get("session_id"))
        if sid and not st.started:
            st.sid = sid
        st.cwd = text(p.get("cwd")) or st.cwd
        git = p.get("git")
        branch = text(git.get("branch")) if isinstance(git, dict) else None
        yield Meta(st.sid, text(p.get("timestamp")) or ts, st.cwd, branch, text(p.get("model")))
        yield from _instructions(p, n, ts=ts, st=st)
        return
    st.started = True
    if typ == "turn_context":
        st.cwd = text(p.get("cwd")) or st.cwd
        yield Meta(st.sid, ts, st.cwd, None, text(p.get("model")))
        yield from _instructions(p, n, ts=ts, st=st)
    elif typ == "response_item":
        if ts and isinstance(p.get("type"), str) and p.get("type") in _ITEMS:  # an unknown item's time is not trusted either
            yield Meta(st.sid, ts)
        yield from _item(p, n, path=path, ts=ts, st=st)
    elif typ == "compacted":
        parts: list[str] = []
        opaque = strings(p.get("message"), parts) + strings(p.get("replacement_history"), parts)
        if opaque:
            yield _opaque(path, n, opaque)
        if parts:
            yield Piece(st.sid, SOURCE_CONTEXT, ts, None, "\n".join(parts), n)
    else:
        yield Skip(path, n, f"unknown line type {safe_name(typ)}")


def _item(p: dict[str, Any], n: int, *, path: str, ts: str | None, st: _State) -> Iterator[Record]:
    kind = p.get("type")
    kind = kind if isinstance(kind, str) else None
    sid = st.sid
    if kind == "message":
        role = p.get("role")
        parts: list[str] = []
        content = p.get("content")
        opaque = 0
        if isinstance(content, list):
            for c in content:
                t = text(c.get("text")) if isinstance(c, dict) else None
                if t:
                    parts.append(t)
                else:  # an image, a file, a kind added later
                    opaque += strings(c, parts)
        elif isinstance(content, str) and content:
            parts.append(content)
        else:  # an object, or a shape of a later version: all of it
            opaque += strings(content, parts)
        if opaque:
            yield _opaque(path, n, opaque)
        for t in parts:
            if role == "assistant":
                src = SOURCE_ASSISTANT
            elif role == "user" and not t.lstrip().startswith(_INJECTED):
                src = SOURCE_PROMPT
            else:
                src = SOURCE_CONTEXT
            yield Piece(sid, src, ts, None, t, n)
    elif kind in ("function_call", "custom_tool_call", "local_shell_call"):
        name = text(p.get("name")) or ("local_shell" if kind == "local_shell_call" else "?")
        raw = p.get("arguments") if kind == "function_call" else p.get("input")
        args: object = raw
        if isinstance(raw, str) and kind == "function_call":
            try:
                args = json.loads(raw)
            except (ValueError, RecursionError):
                args = raw
        if kind == "local_shell_call":
            args = p.get("action")
        parts = []
        if opaque := strings(args, parts):
            yield _opaque(path, n, opaque)
        if parts:
            yield Piece(sid, SOURCE_TOOL_CALL, ts, None, "\n".join(parts), n)
        yield from _call_actions(name, args, n, ts=ts, st=st, call_id=str(p.get("call_id")))
    elif kind in ("function_call_output", "custom_tool_call_output"):
        parts = []
        out = p.get("output")
        # Some versions wrap the output as a JSON string {"output": ..., "metadata": ...}.
        if isinstance(out, str) and out.startswith('{"output"'):
            try:
                out = json.loads(out)
            except (ValueError, RecursionError):
                pass
        if opaque := strings(out, parts):
            yield _opaque(path, n, opaque)
        if parts:
            where = st.calls.get(str(p.get("call_id")))
            src = SOURCE_FILE_READ if where else SOURCE_TOOL_OUTPUT
            yield Piece(sid, src, ts, where, "\n".join(parts), n)
    elif kind == "reasoning":
        parts = []
        strings(p.get("summary"), parts)
        strings(p.get("content"), parts)
        if parts:
            yield Piece(sid, SOURCE_ASSISTANT, ts, None, "\n".join(parts), n)
    elif kind == "web_search_call":
        action = p.get("action")
        if isinstance(action, dict):
            url = text(action.get("url"))
            if url:
                yield Act(sid, "network", ts, url, n, via="web_search")
            parts = []  # query, queries, pattern: all of it was sent
            strings(action, parts)
            if parts:
                yield Piece(sid, SOURCE_TOOL_CALL, ts, None, "\n".join(parts), n)
    elif kind in _QUIET_ITEMS:
        return
    else:
        yield Skip(path, n, f"unknown response_item type {safe_name(kind)}")


def _opaque(path: str, n: int, count: int) -> Skip:
    return Skip(path, n, f"{count} image or binary attachment{'s' if count != 1 else ''} not scanned")


def _command_text(args: object) -> str | None:
    if isinstance(args, dict):
        cmd = args.get("cmd", args.get("command"))
        if isinstance(cmd, str):
            return cmd or None
        if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
            # ["bash", "-lc", "script"] is the script; anything else is an argv
            if len(cmd) == 3 and cmd[1] in ("-lc", "-c") and os.path.basename(cmd[0]) in (
                    "bash", "sh", "zsh"):
                return str(cmd[2])
            return shlex.join(str(c) for c in cmd)
    return None


def _call_actions(name: str, args: object, n: int, *, ts: str | None, st: _State,
                  call_id: str) -> Iterator[Act]:
    sid = st.sid
    if name in _SHELL_TOOLS:
        cmd = _command_text(args)
        if cmd is None:
            return
        cwd = st.cwd or st.home
        if isinstance(args, dict):
            cwd = text(args.get("workdir")) or cwd
        st.calls[call_id] = _read_path(cmd, cwd)
        yield from actions.from_command(cmd, sid=sid, ts=ts, line=n, cwd=cwd, home=st.home)
    elif name == "apply_patch":
        patch = args if isinstance(args, str) else None
        if isinstance(args, dict):
            patch = text(args.get("input")) or text(args.get("patch"))
        if patch:
            for m in _PATCH_FILE.finditer(patch):
                yield Act(sid, "file_written", ts, m.group(1).strip(), n, via="apply_patch")


def _read_path(cmd: str, cwd: str) -> str | None:
    """The file a plain `cat FILE` / `sed -n 1,80p FILE` shows, else None."""
    if any(ch in cmd for ch in "|;&><`$("):
        return None
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    if not words:
        return None
    prog = os.path.basename(words[0])
    operands = [w for w in words[1:] if not w.startswith("-")]
    if prog == "sed" and len(operands) == 2 and "-n" in words:
        operands = operands[1:]
    elif prog not in _READERS:
        return None
    if len(operands) != 1:
        return None
    return os.path.normpath(os.path.join(cwd, operands[0]))

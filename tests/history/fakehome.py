"""Realistic fake homes with Claude Code, Codex and Aider logs.

Lines have the shapes of the real ones (see ../shared/agents/examples and
Aider's io.py); secrets and personal data are made at run time with
:func:`stockade.dlp.fakes.sample`, and each planted value is recorded as a
:class:`Planted` so a test can check it is reported once, in its session.
Used by tests/history and bench/history.py.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stockade.dlp.fakes import sample


@dataclass(frozen=True)
class Planted:
    rule_id: str
    value: str
    session_id: str
    source: str
    agent: str


@dataclass
class Clock:
    now: datetime

    def tick(self, seconds: float = 7.0) -> str:
        self.now += timedelta(seconds=seconds)
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"


@dataclass
class Plants:
    items: list[Planted] = field(default_factory=list)

    def plant(self, rng: random.Random, rule_id: str, *, session: str, source: str,
              agent: str) -> tuple[str, str]:
        """(text to put in a log, value) for ``rule_id``; recorded as planted."""
        s = sample(rule_id, rng)
        self.items.append(Planted(rule_id, s.value, session, source, agent))
        return s.text, s.value


def _dump(lines: list[Any]) -> str:
    return "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines)


# -- Claude Code ---------------------------------------------------------------

class ClaudeSession:
    def __init__(self, home: Path, cwd: str, *, clock: Clock, rng: random.Random,
                 branch: str = "main", model: str = "claude-opus-4-8", config_dir: Path | None = None):
        self.id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.cwd = cwd
        self.branch = branch
        self.model = model
        self.clock = clock
        self.rng = rng
        base = config_dir if config_dir is not None else home / ".claude"
        self.path = base / "projects" / cwd.replace("/", "-").replace("_", "-")[:120] / f"{self.id}.jsonl"
        self.lines: list[Any] = []
        self.parent: str | None = None

    def _common(self) -> dict[str, Any]:
        u = str(uuid.UUID(int=self.rng.getrandbits(128)))
        d = {"parentUuid": self.parent, "isSidechain": False, "uuid": u, "timestamp": self.clock.tick(),
             "userType": "external", "entrypoint": "cli", "cwd": self.cwd, "sessionId": self.id,
             "version": "2.1.197", "gitBranch": self.branch}
        self.parent = u
        return d

    def prompt(self, text: str) -> None:
        self.lines.append({"type": "queue-operation", "operation": "enqueue",
                           "timestamp": self.clock.tick(0), "sessionId": self.id, "content": text})
        self.lines.append({**self._common(), "type": "user", "promptId": str(uuid.uuid4()),
                           "message": {"role": "user", "content": text}, "permissionMode": "default"})

    def say(self, text: str) -> None:
        self.lines.append({**self._common(), "type": "assistant", "message": {
            "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": self.model, "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 19177, "output_tokens": 20}}})

    def tool(self, name: str, inp: dict[str, Any], result: str, *, result_meta: Any = None) -> None:
        tid = "toolu_" + uuid.uuid4().hex[:24]
        self.lines.append({**self._common(), "type": "assistant", "message": {
            "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": self.model, "content": [{"type": "tool_use", "id": tid, "name": name, "input": inp}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 19091, "output_tokens": 20}}})
        self.lines.append({**self._common(), "type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": tid, "type": "tool_result", "content": result, "is_error": False}]},
            "toolUseResult": result_meta if result_meta is not None else {"stdout": result, "stderr": ""}})

    def read_file(self, path: str, content: str) -> None:
        numbered = "".join(f"{i + 1:6d}\t{ln}\n" for i, ln in enumerate(content.splitlines()))
        self.tool("Read", {"file_path": path}, numbered, result_meta={
            "type": "text", "file": {"filePath": path, "content": content,
                                     "numLines": content.count("\n") + 1, "startLine": 1}})

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def write(self) -> Path:
        self.lines.append({"type": "last-prompt", "lastPrompt": "...", "sessionId": self.id})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(_dump(self.lines))
        return self.path


# -- Codex -----------------------------------------------------------------------

class CodexSession:
    def __init__(self, home: Path, cwd: str, *, clock: Clock, rng: random.Random,
                 branch: str = "main", model: str = "gpt-5-codex"):
        self.id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.cwd = cwd
        self.clock = clock
        day = clock.now
        self.path = (home / ".codex" / "sessions" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
                     / f"rollout-{day:%Y-%m-%dT%H-%M-%S}-{self.id}.jsonl")
        self.lines: list[Any] = []
        self.n = 0
        self.line("session_meta", {"id": self.id, "session_id": self.id, "timestamp": clock.tick(0),
                                   "cwd": cwd, "originator": "codex_cli_rs", "cli_version": "0.169.0",
                                   "source": "cli", "model_provider": "openai",
                                   "git": {"commit_hash": uuid.uuid4().hex, "branch": branch,
                                           "repository_url": "git@github.com:acme/infra.git"},
                                   "base_instructions": {"text": "You are a coding agent running in the Codex CLI."}})
        self.line("turn_context", {"cwd": cwd, "approval_policy": "never", "model": model,
                                   "sandbox_policy": {"type": "workspace-write"}})
        self.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text":
                   f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>"}]})

    def line(self, typ: str, payload: dict[str, Any]) -> None:
        self.lines.append({"timestamp": self.clock.tick(), "ordinal": self.n, "type": typ, "payload": payload})
        self.n += 1

    def item(self, payload: dict[str, Any]) -> None:
        self.line("response_item", payload)

    def prompt(self, text: str) -> None:
        self.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
        self.line("event_msg", {"type": "user_message", "message": text})  # the UI's copy

    def say(self, text: str) -> None:
        self.item({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
        self.line("event_msg", {"type": "agent_message", "message": text})

    def run(self, cmd: str, output: str) -> None:
        call = "call_" + uuid.uuid4().hex[:24]
        self.item({"type": "function_call", "name": "exec_command", "arguments": json.dumps({"cmd": cmd}),
                   "call_id": call})
        self.line("event_msg", {"type": "item_completed", "item": {
            "type": "CommandExecution", "id": call, "command": ["/bin/bash", "-lc", cmd],
            "aggregated_output": output, "exit_code": 0}})
        self.item({"type": "function_call_output", "call_id": call, "output":
                   "Chunk ID: 8fedb6\nWall time: 0.0000 seconds\nProcess exited with code 0\nOutput:\n" + output})

    def patch(self, path: str, body: str) -> None:
        call = "call_" + uuid.uuid4().hex[:24]
        patch = f"*** Begin Patch\n*** Add File: {path}\n" + "".join(f"+{ln}\n" for ln in body.splitlines()) \
            + "*** End Patch\n"
        self.item({"type": "custom_tool_call", "name": "apply_patch", "input": patch, "call_id": call})
        self.item({"type": "custom_tool_call_output", "call_id": call, "output": "Success. Updated: A " + path})

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def write(self) -> Path:
        self.line("event_msg", {"type": "task_complete", "last_agent_message": "done"})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(_dump(self.lines), encoding="utf-8")
        return self.path


# -- Aider -----------------------------------------------------------------------

class AiderHistory:
    """Appends to ``<project>/.aider.chat.history.md`` as aider's io.py does."""

    def __init__(self, project: Path):
        self.path = project / ".aider.chat.history.md"
        self.parts: list[str] = []

    def start(self, when: datetime, model: str = "openai/gpt-4o") -> str:
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        self.parts.append(f"\n# aider chat started at {stamp}\n\n")
        self.tool(f"/usr/local/bin/aider --model {model}")
        self.tool("Aider v0.86.2")
        self.tool(f"Main model: {model} with whole edit format")
        self.tool("Git repo: .git with 12 files")
        self.tool("Repo-map: using 1024 tokens, auto refresh")
        return stamp

    def user(self, text: str) -> None:
        self.parts.append("\n#### " + "  \n#### ".join(text.splitlines()) + "  \n")

    def tool(self, text: str) -> None:
        self.parts.append("> " + text.strip() + "  \n")

    def assistant(self, text: str) -> None:
        self.parts.append("\n" + text.strip() + "\n\n")

    def raw(self, text: str) -> None:
        self.parts.append(text)

    def write(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(self.parts))
        self.parts = []
        return self.path


def aider_session_id(path: Path, stamp: str) -> str:
    import hashlib
    import os

    tag = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:10]
    return f"aider-{tag}-{stamp.replace(' ', 'T').replace(':', '').replace('-', '')}"


__all__ = ["AiderHistory", "ClaudeSession", "Clock", "CodexSession", "Planted", "Plants",
           "aider_session_id"]


def recent(days: float = 2.0) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)

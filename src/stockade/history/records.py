"""Plain data passed from the readers to the reports.  No value is ever held:
an exposure carries a rule id, a label and a masked preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

AGENTS = ("claude-code", "codex", "aider")

# Where a text came from, as the vendor saw it.
SOURCE_PROMPT = "prompt"            # typed by the user
SOURCE_FILE_READ = "file_read"      # a file's content the agent read (path known)
SOURCE_TOOL_OUTPUT = "tool_output"  # a command's or tool's output
SOURCE_TOOL_CALL = "tool_call"      # the arguments of a tool call the model made
SOURCE_ASSISTANT = "assistant"      # the model's own text (sent back every turn)
SOURCE_CONTEXT = "context"          # attachments, summaries, injected context
SOURCE_UNPARSED = "unparsed"        # a line that is not valid JSON, scanned as raw text


# -- what a reader yields ------------------------------------------------------

class Meta(NamedTuple):
    """Something learnt about a session (any field may be None)."""

    session: str
    timestamp: str | None = None
    project: str | None = None
    branch: str | None = None
    model: str | None = None


class Piece(NamedTuple):
    """A text that went to the vendor.  ``verbatim``: the text is the file's
    own lines from ``line`` on (aider), so a finding's line is counted in it."""

    session: str
    source: str
    timestamp: str | None
    path: str | None
    text: str
    line: int
    verbatim: bool = False


class Act(NamedTuple):
    """Something the agent did: ``kind`` is command, file_written, file_shared,
    network or package; ``target`` the command, path or URL (masked later)."""

    session: str
    kind: str
    timestamp: str | None
    target: str
    line: int
    ecosystem: str | None = None
    packages: tuple[str, ...] = ()
    via: str | None = None


class Skip(NamedTuple):
    file: str
    line: int
    reason: str


# -- what a worker returns -------------------------------------------------------

@dataclass(slots=True)
class Session:
    id: str
    agent: str
    file: str
    user: str | None = None
    project: str | None = None
    branch: str | None = None
    start: str | None = None
    end: str | None = None
    models: list[str] = field(default_factory=list)

    def see(self, meta: Meta) -> None:
        if meta.project and not self.project:
            self.project = meta.project
        if meta.branch and not self.branch:
            self.branch = meta.branch
        if meta.model and meta.model not in self.models:
            self.models.append(meta.model)
        self.seen_at(meta.timestamp)

    def seen_at(self, ts: str | None) -> None:
        # ISO 8601 UTC stamps compare as text; a stamp that is not one is ignored
        # rather than allowed to become the session's start or end.
        if not ts or len(ts) < 10 or not ts[:4].isdigit():
            return
        if self.start is None or ts < self.start:
            self.start = ts
        if self.end is None or ts > self.end:
            self.end = ts

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "project": self.project,
                "branch": self.branch, "user": self.user, "start": self.start,
                "end": self.end, "models": list(self.models), "transcript": self.file}


@dataclass(frozen=True, slots=True)
class Exposure:
    session_id: str
    rule_id: str
    label: str
    timestamp: str | None
    source: str
    path: str | None
    preview: str
    transcript: str  # file:line where it was first seen
    # Keyed with a key that lives for one run only: matches the same value
    # across lines and files of a session, never written anywhere.
    fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "rule_id": self.rule_id, "label": self.label,
                "timestamp": self.timestamp, "source": self.source, "path": self.path,
                "preview": self.preview, "transcript": self.transcript}


@dataclass(slots=True)
class Action:
    session_id: str
    kind: str
    timestamp: str | None
    target: str  # masked
    transcript: str
    ecosystem: str | None = None
    packages: tuple[str, ...] = ()
    verdict: str | None = None
    reason: str | None = None
    count: int = 1  # the same action repeated in a session is listed once

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"session_id": self.session_id, "kind": self.kind,
                             "timestamp": self.timestamp, "target": self.target,
                             "transcript": self.transcript, "count": self.count}
        if self.kind == "package":
            d.update(ecosystem=self.ecosystem, packages=list(self.packages),
                     verdict=self.verdict, reason=self.reason)
        return d


@dataclass(slots=True)
class FileResult:
    """Everything one transcript file gave."""

    file: str
    agent: str
    bytes: int = 0
    sessions: dict[str, Session] = field(default_factory=dict)
    exposures: list[Exposure] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    pieces: int = 0

"""Ledger events: validation, canonical bytes, parsing.  Pure; no I/O.

An event's stored form is the canonical JSON of the whole event (keys sorted,
no whitespace, UTF-8, no NaN).  It is produced once, when the event is
appended, and verification hashes those stored bytes as they are: nothing is
ever re-serialised to be checked.

To keep the write path short, an event is prepared before its sequence number
and time are known (:class:`PendingEvent`).  Both are given when the event is
sealed, inside the write transaction, so that ``ts`` never goes backwards along
the chain.  The keys sort as actor, decision, details, kind, seq, session, ts,
so the canonical text is ``head + str(seq) + tail + ts + '"}'``.
``tests/ledger/test_ledger_event.py`` checks that this equals
:func:`canonical_json` of the whole event.
"""

from __future__ import annotations

import os
import sys
import time
from _collections_abc import Mapping  # collections.abc's, without the collections package

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from typing import Any, NamedTuple, NoReturn
else:
    from stockade.lite import NamedTuple

from stockade.actor import Actor
from stockade.canonical import canonical_json as canonical_json  # re-exported
from stockade.canonical import dumps as _dumps
from stockade.canonical import loads as _loads_canonical
from stockade.errors import LedgerError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

# datetime is imported where times are parsed or formatted for queries, and
# Event is no dataclass: appending needs neither (the sandbox's recorder and
# every hook call append, and start-up is most of their time).

_KIND_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz")
_KIND_REST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _dotted_kind(kind: str) -> bool:
    r"""``re.fullmatch(r"[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+", kind)``,
    without importing re (tests/ledger holds the two equal)."""
    parts = kind.split(".")
    return len(parts) >= 2 and all(
        p and p[0] in _KIND_FIRST and _KIND_REST.issuperset(p) for p in parts)
MAX_KIND = 128
MAX_LABEL = 256  # session ids, decisions
MAX_DETAILS = 1 << 20  # bytes of canonical JSON

_ACTOR_FIELDS = ("user", "team", "agent", "host", "process", "pid")


def _str_json(value: str | None) -> str:
    """JSON for an optional string, without the encoder's per-call overhead."""
    return "null" if value is None else _dumps(value)


def _loads(raw: str | bytes) -> Any:
    """json.loads, imported when something is read (the write path, which the
    recorder and the hooks load, does without json and the re under it)."""
    import json

    return json.loads(raw)


def format_ts(moment: datetime) -> str:
    """RFC 3339, UTC, microseconds, ``Z``: sorts as text in time order."""
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# (unix second, its formatted text), swapped as one tuple so threads never mix
# the two: strftime per event would cost more than the rest of an append.
_second: tuple[int, str] = (-1, "")


def now_ts() -> str:
    global _second
    sec, us = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return f"{cached[1]}.{us:06d}Z"


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 time; a time without a zone is taken as UTC."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"{text!r} is not a time",
            hint="use RFC 3339, e.g. 2026-01-31T12:00:00Z, or a duration such as 30m, 2h, 7d",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


_valid_kinds: set[str] = set()  # kinds already checked; there are few


def validate_kind(kind: object) -> str:
    if not isinstance(kind, str) or len(kind) > MAX_KIND or not _dotted_kind(kind):
        short = isinstance(kind, str) and len(kind) <= MAX_KIND
        shown = kind if short else "<too long or not text>"
        raise UsageError(
            f"event kind {shown!r} is not a dotted lowercase name",
            hint="use names like llm.request, tool.call or myapp.deploy (a-z, 0-9, _ and -, "
            "at least one dot)",
        )
    return kind


def _validate_label(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_LABEL:
        raise UsageError(
            f"event {name} must be a non-empty string of at most {MAX_LABEL} characters")
    return value


def _details_json(details: object) -> str:
    if not isinstance(details, dict):
        if not isinstance(details, Mapping):
            raise UsageError("event details must be a JSON object (a mapping of names to values)")
        details = dict(details)
    try:
        text = _dumps(details)
        # Characters <= bytes <= 4 x characters: only encode when it could matter.
        size = len(text) if len(text) * 4 <= MAX_DETAILS else len(text.encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        # The exception text may quote the value; name only the problem.
        raise UsageError(
            f"event details cannot be stored as JSON ({type(exc).__name__})",
            hint="use only strings, numbers, booleans, null, lists and objects with string keys; "
            "no NaN or infinity, no unpaired surrogates",
        ) from exc
    if size > MAX_DETAILS:
        raise UsageError(f"event details are {size} bytes; the limit is {MAX_DETAILS}")
    return text


def actor_json(actor: Actor) -> str:
    return _dumps(actor.to_dict())


def actor_from_dict(data: Mapping[str, Any]) -> Actor:
    pid = data.get("pid")
    return Actor(
        user=_str_or_none(data.get("user")),
        team=_str_or_none(data.get("team")),
        agent=_str_or_none(data.get("agent")),
        host=_str_or_none(data.get("host")),
        process=_str_or_none(data.get("process")),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _process_name() -> str:
    try:
        with open("/proc/self/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        return name or "python"


def _login_name() -> str | None:
    """``getpass.getuser()`` without importing getpass (and termios) on every
    appending process's start: the same variables in the same order, then the
    password database."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None


def default_actor(*, team: str | None = None, agent: str | None = None) -> Actor:
    """Who is appending, as far as this process can tell."""
    try:
        user = _login_name()
    except OSError:
        user = None
    return Actor(
        user=user,
        team=team,
        agent=agent,
        # socket.gethostname() without the socket module: both are the kernel's
        # nodename (glibc implements gethostname with uname)
        host=os.uname().nodename or None,
        process=_process_name(),
        pid=os.getpid(),
    )


class Event:
    """One stored event.  ``raw`` is exactly what the chain hashes.

    Immutable.  Compared (and hashed) by every field but ``raw``, which its
    repr leaves out too: what ``@dataclass(frozen=True, slots=True)`` with
    ``field(repr=False, compare=False)`` made, written out (see the top of the
    module).
    """

    __slots__ = ("actor", "decision", "details", "kind", "raw", "seq", "session", "ts")
    __match_args__ = ("seq", "ts", "session", "actor", "kind", "decision", "details", "raw")
    seq: int
    ts: str
    session: str | None
    actor: Actor
    kind: str
    decision: str | None
    details: Mapping[str, Any]
    raw: bytes

    def __init__(self, seq: int, ts: str, session: str | None, actor: Actor, kind: str,
                 decision: str | None, details: Mapping[str, Any], raw: bytes) -> None:
        put = object.__setattr__
        put(self, "seq", seq)
        put(self, "ts", ts)
        put(self, "session", session)
        put(self, "actor", actor)
        put(self, "kind", kind)
        put(self, "decision", decision)
        put(self, "details", details)
        put(self, "raw", raw)

    def _key(self) -> tuple[Any, ...]:
        return (self.seq, self.ts, self.session, self.actor, self.kind, self.decision,
                self.details)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, Event):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())  # TypeError for a dict of details, as a dataclass's

    def __repr__(self) -> str:
        return (f"{type(self).__qualname__}(seq={self.seq!r}, ts={self.ts!r}, "
                f"session={self.session!r}, actor={self.actor!r}, kind={self.kind!r}, "
                f"decision={self.decision!r}, details={self.details!r})")

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Event], tuple[Any, ...]]:
        return type(self), (*self._key(), self.raw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.to_dict(),
            "decision": self.decision,
            "details": dict(self.details),
            "kind": self.kind,
            "seq": self.seq,
            "session": self.session,
            "ts": self.ts,
        }

    @classmethod
    def from_bytes(cls, raw: bytes) -> Event:
        """Parse stored bytes.  Raises LedgerError if they are not an event."""
        try:
            data = _loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            actor = data.get("actor") or {}
            details = data.get("details")
            seq = data["seq"]
            if not (isinstance(seq, int) and isinstance(details, dict)
                    and isinstance(actor, dict)):
                raise ValueError("bad field types")
            return cls(
                seq=seq,
                ts=str(data["ts"]),
                session=_str_or_none(data.get("session")),
                actor=actor_from_dict(actor),
                kind=str(data["kind"]),
                decision=_str_or_none(data.get("decision")),
                details=details,
                raw=bytes(raw),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerError(
                "a stored ledger event is not valid event JSON",
                hint="run `stockade ledger verify` to find which one",
            ) from exc


class PendingEvent(NamedTuple):
    """A validated event waiting for its sequence number and time.

    The canonical text is ``head + str(seq) + tail + ts + '"}'`` (:meth:`text`).  A
    NamedTuple rather than a frozen dataclass: it is made once per event on the
    hot path, and builds several times faster.
    """

    head: str
    tail: str
    session: str | None
    actor: Actor
    kind: str
    decision: str | None
    details_json: str

    def text(self, seq: int, ts: str) -> str:
        return f'{self.head}{seq}{self.tail}{ts}"}}'

    def stored(self, seq: int, ts: str, raw: bytes) -> Event:
        return Event(
            seq=seq,
            ts=ts,
            session=self.session,
            actor=self.actor,
            kind=self.kind,
            decision=self.decision,
            details=_loads_canonical(self.details_json),  # what dumps made: no json import
            raw=raw,
        )


def prepare(
    kind: str,
    *,
    details: Mapping[str, Any],
    session: str | None,
    decision: str | None,
    actor: Actor,
    actor_text: str | None = None,
) -> PendingEvent:
    """Validate an event and render everything but its sequence number and time."""
    if kind not in _valid_kinds:
        validate_kind(kind)
        if len(_valid_kinds) < 4096:
            _valid_kinds.add(kind)
    if session is not None:
        _validate_label("session id", session)
    if decision is not None:
        _validate_label("decision", decision)
    details_text = _details_json(details)
    if actor_text is None:
        actor_text = actor_json(actor)
    # kind is validated and needs no escaping.
    head = (
        f'{{"actor":{actor_text},"decision":{_str_json(decision)},"details":{details_text},'
        f'"kind":"{kind}","seq":'
    )
    tail = f',"session":{_str_json(session)},"ts":"'
    if not (head.isascii() and tail.isascii()):
        try:
            # Refuse what UTF-8 cannot hold now, not half-way through a transaction.
            head.encode("utf-8")
            tail.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(
                "event text contains unpaired surrogates; it cannot be stored as UTF-8"
            ) from exc
    return PendingEvent(head, tail, session, actor, kind, decision, details_text)
